//! Logging: structured `tracing` events to stderr.
//!
//! `[DEFAULT] debug = True` lowers the level to DEBUG as in upstream;
//! `RUST_LOG` overrides both for targeted debugging.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Safe to call once per process; a second
/// call is ignored.
pub fn init(debug: bool) {
    let default = if debug {
        "debug,sqlx=info,hyper=info,h2=info,tower=info"
    } else {
        "info,sqlx=warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
