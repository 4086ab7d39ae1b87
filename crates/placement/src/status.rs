//! `placement-status upgrade check`: upstream's pre-upgrade checks, with
//! oslo.upgradecheck's output and exit codes (0 success, 1 warning,
//! 2 failure, 255 when a check could not run).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use placement_store::ops::{consumer, maintenance};
use placement_store::Database;
use serde::Serialize;

use crate::cli::ConfigArgs;
use crate::config::Config;
use crate::table::Table;

/// Command line of `placement-status`.
#[derive(Debug, Parser)]
#[command(
    name = "placement-status",
    version,
    about = "Placement upgrade status checks"
)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Upgrade commands.
    Upgrade {
        #[command(subcommand)]
        command: UpgradeCommand,
    },
}

#[derive(Debug, Subcommand)]
enum UpgradeCommand {
    /// Check for upgrade readiness.
    Check {
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The outcome of one check, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(into = "u8")]
pub enum Code {
    /// Nothing to do.
    Success = 0,
    /// Something to look at, not blocking.
    Warning = 1,
    /// Blocking: fix before upgrading.
    Failure = 2,
}

impl From<Code> for u8 {
    fn from(c: Code) -> u8 {
        c as u8
    }
}

impl Code {
    fn label(self) -> &'static str {
        match self {
            Code::Success => "Success",
            Code::Warning => "Warning",
            Code::Failure => "Failure",
        }
    }
}

#[derive(Debug, Serialize)]
struct CheckResult {
    check: &'static str,
    result: Code,
    details: Option<String>,
}

/// Entry point of the `placement-status` binary.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let config = match args.config.load() {
        Ok(c) => c,
        Err(e) => {
            println!("Error:\n{e}");
            return ExitCode::from(255);
        }
    };
    if let Err(e) = crate::logging::init(config.debug, &config.logging, "placement-status") {
        println!("Error:\ncannot open the log file: {e}");
        return ExitCode::from(255);
    }
    let Command::Upgrade {
        command: UpgradeCommand::Check { json },
    } = args.command;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            println!("Error:\n{e}");
            return ExitCode::from(255);
        }
    };
    match runtime.block_on(check(&config)) {
        Ok(results) => {
            print_results(&results, json);
            let worst = results
                .iter()
                .map(|r| r.result)
                .max()
                .unwrap_or(Code::Success);
            ExitCode::from(u8::from(worst))
        }
        Err(e) => {
            println!("Error:\n{e:#}");
            ExitCode::from(255)
        }
    }
}

async fn check(config: &Config) -> anyhow::Result<Vec<CheckResult>> {
    let db = crate::cli::open_database(config).await?;
    let results = vec![
        root_provider_ids(&db).await?,
        incomplete_consumers(&db).await?,
        policy_json(config),
    ];
    db.close().await;
    Ok(results)
}

async fn root_provider_ids(db: &Database) -> anyhow::Result<CheckResult> {
    let missing = maintenance::count_missing_root_provider_ids(db).await?;
    Ok(CheckResult {
        check: "Missing Root Provider IDs",
        result: if missing > 0 {
            Code::Failure
        } else {
            Code::Success
        },
        details: (missing > 0).then(|| {
            "There is at least one resource provider table record which misses its root \
             provider id. Run the \"placement-manage db online_data_migrations\" command."
                .to_owned()
        }),
    })
}

async fn incomplete_consumers(db: &Database) -> anyhow::Result<CheckResult> {
    let missing = consumer::count_incomplete_consumers(db).await?;
    Ok(CheckResult {
        check: "Incomplete Consumers",
        result: if missing > 0 {
            Code::Warning
        } else {
            Code::Success
        },
        details: (missing > 0).then(|| {
            format!(
                "There are {missing} incomplete consumers table records for existing \
                 allocations. Run the \"placement-manage db online_data_migrations\" command."
            )
        }),
    })
}

/// `[oslo_policy] policy_file` (default `policy.yaml`), looked up next to the
/// config files read, as oslo.config's `find_file` does.
fn policy_json(config: &Config) -> CheckResult {
    let failing = find_policy_file(config).is_some_and(|p| is_json(&p));
    CheckResult {
        check: "Policy File JSON to YAML Migration",
        result: if failing { Code::Failure } else { Code::Success },
        details: failing.then(|| {
            "Your policy file is JSON-formatted which is deprecated. You need to switch to \
             YAML-formatted file. Use the ``oslopolicy-convert-json-to-yaml`` tool to convert \
             the existing JSON-formatted files to YAML in a backwards-compatible manner: \
             https://docs.openstack.org/oslo.policy/latest/cli/oslopolicy-convert-json-to-yaml.html."
                .to_owned()
        }),
    }
}

fn find_policy_file(config: &Config) -> Option<PathBuf> {
    let name = config.oslo_policy.policy_file.as_str();
    let path = Path::new(name);
    if path.is_absolute() {
        return path.is_file().then(|| path.to_owned());
    }
    config
        .search_dirs()
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn is_json(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some()
}

fn print_results(results: &[CheckResult], json: bool) {
    if json {
        let out = serde_json::json!({ "name": "Upgrade Check Results", "checks": results });
        println!("{out}");
        return;
    }
    let mut table = Table::new(&["Upgrade Check Results"])
        .left_aligned()
        .rule_every_row();
    for r in results {
        let details = r
            .details
            .as_deref()
            .map_or_else(|| "None".to_owned(), wrap_details);
        table.add_row(vec![format!(
            "Check: {}\nResult: {}\nDetails: {}",
            r.check,
            r.result.label(),
            details
        )]);
    }
    println!("{}", table.render());
}

/// oslo.upgradecheck wraps details at 60 columns, indenting continuation
/// lines under "Details: ".
fn wrap_details(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let limit = if lines.is_empty() { 60 } else { 51 };
        if !current.is_empty() && current.len() + 1 + word.len() > limit {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines.join(&format!("\n{}", " ".repeat(9)))
}
