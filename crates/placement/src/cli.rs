//! Options shared by every command, spelled as oslo.config spells them.

use std::path::PathBuf;

use crate::config::{Config, ConfigError, Sources};

/// `--config-file` and `--config-dir`, accepted by all three commands.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// Path to a config file to use. Multiple config files can be specified;
    /// values in later files take precedence.
    #[arg(long = "config-file", value_name = "PATH")]
    pub config_file: Vec<PathBuf>,
    /// Path to a config directory to pull `*.conf` files from, in sorted
    /// order, after any --config-file.
    #[arg(long = "config-dir", value_name = "DIR")]
    pub config_dir: Vec<PathBuf>,
}

impl ConfigArgs {
    /// Loads and validates the configuration these options point at.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, section and key at fault.
    pub fn load(&self) -> Result<Config, ConfigError> {
        Config::load(&Sources {
            config_files: self.config_file.clone(),
            config_dirs: self.config_dir.clone(),
        })
    }
}

/// Opens the configured database with the configured pool settings; every
/// command starts here.
///
/// # Errors
/// When no connection is configured or the server cannot be reached (the
/// message names the URL without its password).
pub async fn open_database(config: &Config) -> anyhow::Result<placement_store::Database> {
    use anyhow::Context as _;
    let url = config
        .database
        .connection
        .as_ref()
        .context("[placement_database] connection is not set")?;
    placement_store::Database::connect(url, &config.database.pool_settings())
        .await
        .with_context(|| format!("cannot open database {url}"))
}
