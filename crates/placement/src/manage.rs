//! `placement-manage`: schema and data maintenance, as upstream's
//! `placement-manage db sync | version | stamp | online_data_migrations`,
//! and `policy sample`, what `oslopolicy-sample-generator --namespace
//! placement` prints for upstream's operators.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use placement_core::consumer::MigrationCount;
use placement_store::ops::{consumer, maintenance, schema};
use placement_store::Database;

use crate::cli::ConfigArgs;
use crate::config::Config;
use crate::table::Table;

/// Command line of `placement-manage`.
#[derive(Debug, Parser)]
#[command(
    name = "placement-manage",
    version,
    about = "Placement database management"
)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Database commands.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Policy commands.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Print every registered policy rule with its default check string, as
    /// a commented YAML policy file.
    Sample,
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Sync the database to the current version.
    Sync,
    /// Report the current database version.
    Version,
    /// Stamp the revision table with the given version.
    Stamp {
        /// The version to stamp (a revision id or `head`).
        version: String,
    },
    /// Run the online data migrations.
    #[command(name = "online_data_migrations")]
    OnlineDataMigrations {
        /// Maximum number of objects to consider.
        #[arg(long = "max-count", value_name = "<number>")]
        max_count: Option<String>,
    },
}

/// Entry point of the `placement-manage` binary.
pub fn main() -> ExitCode {
    let args = Args::parse();
    // The defaults are compiled in: no configuration or database needed.
    if let Command::Policy {
        command: PolicyCommand::Sample,
    } = args.command
    {
        print!("{}", placement_core::policy::sample_yaml());
        return ExitCode::SUCCESS;
    }
    let config = match args.config.load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("placement-manage: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = crate::logging::init(config.debug, &config.logging, "placement-manage") {
        eprintln!("placement-manage: cannot open the log file: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("placement-manage: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args.command, &config)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("placement-manage: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: &Config) -> anyhow::Result<u8> {
    let command = match command {
        Command::Db { command } => command,
        Command::Policy { .. } => return Ok(0),
    };
    match command {
        DbCommand::Sync => {
            let db = crate::cli::open_database(config).await?;
            schema::sync(&db).await.context("db sync failed")?;
            db.close().await;
            Ok(0)
        }
        DbCommand::Version => {
            let db = crate::cli::open_database(config).await?;
            let version = schema::version(&db).await?;
            println!("{}", version.as_deref().unwrap_or("None"));
            db.close().await;
            Ok(0)
        }
        DbCommand::Stamp { version } => {
            let db = crate::cli::open_database(config).await?;
            schema::stamp(&db, &version)
                .await
                .context("db stamp failed")?;
            db.close().await;
            Ok(0)
        }
        DbCommand::OnlineDataMigrations { max_count } => {
            let limit = match max_count {
                Some(text) => match text.trim().parse::<i64>() {
                    Ok(n) if n >= 1 => Some(n.unsigned_abs()),
                    _ => {
                        println!("Must supply a positive value for max_count");
                        return Ok(127);
                    }
                },
                None => None,
            };
            let db = crate::cli::open_database(config).await?;
            let code = online_data_migrations(&db, config, limit).await;
            db.close().await;
            Ok(code)
        }
    }
}

/// The migrations, in upstream's order and with upstream's names.
const MIGRATIONS: [&str; 2] = ["set_root_provider_ids", "create_incomplete_consumers"];

async fn run_one(
    db: &Database,
    config: &Config,
    name: &str,
    count: u64,
) -> placement_store::Result<MigrationCount> {
    match name {
        "set_root_provider_ids" => maintenance::set_root_provider_ids(db, count).await,
        _ => {
            consumer::create_incomplete_consumers(
                db,
                &config.placement.incomplete_consumer_project_id,
                &config.placement.incomplete_consumer_user_id,
                count,
            )
            .await
        }
    }
}

/// Runs batches as upstream does: exit 0 when nothing (more) can be done, 1
/// when `--max-count` was given and work was done, 2 when migrations failed
/// and nothing else progressed.
async fn online_data_migrations(db: &Database, config: &Config, limit: Option<u64>) -> u8 {
    let (batch, limited) = match limit {
        Some(n) => (n, true),
        None => {
            println!("Running batches of 50 until complete");
            (50, false)
        }
    };
    let mut totals: Vec<(&str, u64, u64)> = Vec::new();
    loop {
        let mut ran = 0u64;
        let mut exceptions = false;
        for name in MIGRATIONS {
            let count = batch - ran.min(batch);
            let (found, done) = match run_one(db, config, name, count).await {
                Ok(c) => (c.found, c.done),
                Err(e) => {
                    println!("Error attempting to run {name}");
                    tracing::error!("online data migration {name} failed: {e}");
                    exceptions = true;
                    (0, 0)
                }
            };
            if found > 0 {
                println!("{found} rows matched query {name}, {done} migrated");
            }
            match totals.iter_mut().find(|(n, _, _)| *n == name) {
                Some(entry) => {
                    entry.1 += found;
                    entry.2 += done;
                }
                None => totals.push((name, found, done)),
            }
            ran += done;
            if ran >= batch {
                break;
            }
        }
        if limited || ran == 0 {
            let mut table = Table::new(&["Migration", "Total Found", "Completed"]);
            for (name, found, done) in &totals {
                table.add_row(vec![
                    (*name).to_owned(),
                    found.to_string(),
                    done.to_string(),
                ]);
            }
            println!("{}", table.render());
            if exceptions && !(limited && ran > 0) {
                println!("Some migrations failed unexpectedly. Check log for details.");
                return 2;
            }
            return u8::from(ran > 0);
        }
    }
}
