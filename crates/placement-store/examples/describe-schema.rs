//! Prints the schema of a database as `placement_store::schema::describe`
//! reads it, as pretty JSON on stdout.
//!
//! `tools/capture-upstream-schema.sh` runs this against databases that
//! upstream's `placement-manage db sync` built, to make the fixtures the
//! schema tests compare our migrations with.
//!
//! Usage: `cargo run -p placement-store --example describe-schema -- <url>`
//! where `<url>` is a SQLAlchemy-style URL as `placement.conf` holds it.

use std::process::ExitCode;

use placement_store::{schema, Database, DatabaseUrl, PoolSettings};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: describe-schema <database-url>");
        return ExitCode::from(2);
    };
    match run(&url).await {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("describe-schema: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(url: &str) -> Result<String, Box<dyn std::error::Error>> {
    let url = DatabaseUrl::parse(url)?;
    let db = Database::connect(&url, &PoolSettings::default()).await?;
    let description = schema::describe(&db).await?;
    db.close().await;
    Ok(serde_json::to_string_pretty(&description)?)
}
