//! Runs our schema sync and standard class/trait sync against a database,
//! then prints the recorded revision: the Rust side of the manual interop
//! check in which upstream's `placement-manage db version` and API read a
//! database our code built.
//!
//! Usage: `cargo run -p placement-store --example schema-sync -- <url>`

use std::process::ExitCode;

use placement_store::ops;
use placement_store::{Database, DatabaseUrl, PoolSettings};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: schema-sync <database-url>");
        return ExitCode::from(2);
    };
    match run(&url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("schema-sync: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let url = DatabaseUrl::parse(url)?;
    let db = Database::connect(&url, &PoolSettings::default()).await?;
    let report = ops::schema::sync(&db).await?;
    println!("from {:?}, applied {:?}", report.from, report.applied);
    let standard = ops::standard::sync(&db).await?;
    println!(
        "added {} resource classes, {} traits",
        standard.resource_classes_added, standard.traits_added
    );
    println!("version {:?}", ops::schema::version(&db).await?);
    db.close().await;
    Ok(())
}
