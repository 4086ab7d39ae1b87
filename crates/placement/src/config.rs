//! `placement.conf`, read the way oslo.config reads it.
//!
//! Operators switch implementations without touching their configuration, so
//! this module follows oslo.config's rules: INI files with `[section]`
//! headers, `key = value` (or `key: value`) lines, `#`/`;` comments, indented
//! continuation lines, values optionally quoted; later files override earlier
//! ones; `--config-dir` adds every `*.conf` in the directory in sorted order;
//! `OS_<SECTION>__<KEY>` environment variables override files (the gate uses
//! `OS_PLACEMENT_DATABASE__CONNECTION`). Unknown sections and keys are ignored
//! as oslo.config ignores them; a known key with a bad value stops startup
//! with an error naming the file, section and key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use placement_core::candidates::model::GenerationStrategy;
use placement_core::consumer::DEFAULT_INCOMPLETE_CONSUMER_ID;
use placement_store::db::PoolSettings;
use placement_store::DatabaseUrl;

/// The project name oslo.config derives default file locations from.
const PROJECT: &str = "placement";

/// Where a setting came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A configuration file.
    File(PathBuf),
    /// An `OS_<SECTION>__<KEY>` environment variable.
    Env(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Env(v) => write!(f, "environment variable {v}"),
        }
    }
}

/// A configuration problem that stops the process before it serves anything.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not INI.
    #[error("{path}:{line}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A known key has a value we cannot use.
    #[error("{origin}: [{section}] {key}: {message}")]
    Value {
        /// Where the value came from.
        origin: Origin,
        /// The section.
        section: String,
        /// The key.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// A required setting is absent.
    #[error("[{section}] {key} is required (files read: {files})")]
    Missing {
        /// The section.
        section: String,
        /// The key.
        key: String,
        /// The files that were read, for the operator to check.
        files: String,
    },
    /// `--config-dir` is not a directory.
    #[error("config dir {0} is not a readable directory")]
    BadDir(PathBuf),
}

/// `[api] auth_strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStrategy {
    /// Keystone tokens (upstream's default).
    Keystone,
    /// Testing mode: `X-Auth-Token: user[:project]`, `admin` is admin.
    NoAuth2,
}

/// `[placement_database]`.
#[derive(Debug, Clone)]
pub struct DatabaseSection {
    /// `connection`; `None` only in the embedded default.
    pub connection: Option<DatabaseUrl>,
    /// `sync_on_startup`: let the API process create or upgrade the schema.
    pub sync_on_startup: bool,
    /// `max_pool_size` (SQLAlchemy's pool_size; default 5).
    pub max_pool_size: Option<u32>,
    /// `max_overflow` (default 10 on top of the pool size).
    pub max_overflow: Option<u32>,
    /// `pool_timeout` in seconds (default 30).
    pub pool_timeout: Option<u64>,
    /// `connection_recycle_time` in seconds (default 3600).
    pub connection_recycle_time: u64,
}

impl DatabaseSection {
    /// The pool settings these options mean.
    pub fn pool_settings(&self) -> PoolSettings {
        let defaults = PoolSettings::default();
        let size = self.max_pool_size.unwrap_or(5);
        let overflow = self.max_overflow.unwrap_or(10);
        PoolSettings {
            max_connections: size.saturating_add(overflow).max(1),
            max_lifetime: Duration::from_secs(self.connection_recycle_time.max(1)),
            acquire_timeout: self
                .pool_timeout
                .map_or(defaults.acquire_timeout, Duration::from_secs),
            ..defaults
        }
    }
}

/// `[placement]`.
#[derive(Debug, Clone)]
pub struct PlacementSection {
    /// Owner project of allocations written without one.
    pub incomplete_consumer_project_id: String,
    /// Owner user of allocations written without one.
    pub incomplete_consumer_user_id: String,
    /// How often an allocation write that lost a provider-generation race is
    /// retried server-side.
    pub allocation_conflict_retry_count: u32,
    /// `max_allocation_candidates`: a cap on the candidates one request
    /// generates; negative means none (upstream's default, -1).
    pub max_allocation_candidates: i64,
    /// `allocation_candidates_generation_strategy`: which candidates the cap
    /// keeps.
    pub allocation_candidates_generation_strategy: GenerationStrategy,
    /// `randomize_allocation_candidates`: sample and shuffle instead of the
    /// documented deterministic order.
    pub randomize_allocation_candidates: bool,
}

/// `[workarounds]`.
#[derive(Debug, Clone, Default)]
pub struct WorkaroundsSection {
    /// `optimize_for_wide_provider_trees`: accepted so upstream's files load;
    /// our engine always prunes, and never at the cost of a wrong answer.
    pub optimize_for_wide_provider_trees: bool,
}

/// `[oslo_policy]`.
#[derive(Debug, Clone)]
pub struct OsloPolicySection {
    /// `policy_file` (default `policy.yaml`), found as oslo.config's
    /// `find_file` finds it: see [`Config::search_dirs`].
    pub policy_file: String,
    /// `policy_dirs` (default `policy.d`): directories whose files are
    /// applied after `policy_file`, in name order.
    pub policy_dirs: Vec<String>,
    /// `enforce_new_defaults` (default true); false ORs each rule's
    /// deprecated check string into its default.
    pub enforce_new_defaults: bool,
    /// `policy_default_rule` (default `default`): the rule consulted for
    /// names no rule defines.
    pub policy_default_rule: String,
}

/// `[keystone_authtoken] auth_type`: the plugin keystonemiddleware loads
/// for its own credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeystoneAuthType {
    /// `password` (or `v3password`), the only one placement-rs supports.
    Password,
    /// Anything else; refused at placement-api startup under keystone.
    Other(String, Origin),
}

/// `[keystone_authtoken]`: the keystonemiddleware options placement-rs
/// honours (others are ignored, as unknown options are). Parsed for every
/// binary, checked by placement-api only
/// ([`Config::keystone_password_auth`]), so `placement-manage` runs with a
/// config whose auth section it does not need.
#[derive(Clone)]
pub struct KeystoneAuthtokenSection {
    /// `auth_type`.
    pub auth_type: Option<KeystoneAuthType>,
    /// `auth_url`.
    pub auth_url: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `password`; never shown by `Debug`.
    pub password: Option<String>,
    /// `user_id`.
    pub user_id: Option<String>,
    /// `user_domain_id`.
    pub user_domain_id: Option<String>,
    /// `user_domain_name`.
    pub user_domain_name: Option<String>,
    /// `project_id`.
    pub project_id: Option<String>,
    /// `project_name`.
    pub project_name: Option<String>,
    /// `project_domain_id`.
    pub project_domain_id: Option<String>,
    /// `project_domain_name`.
    pub project_domain_name: Option<String>,
    /// `system_scope` (`all`).
    pub system_scope: Option<String>,
    /// `www_authenticate_uri`.
    pub www_authenticate_uri: Option<String>,
    /// `interface` (default `internal`).
    pub interface: String,
    /// `region_name`.
    pub region_name: Option<String>,
    /// `cafile`.
    pub cafile: Option<PathBuf>,
    /// `certfile`.
    pub certfile: Option<PathBuf>,
    /// `keyfile`.
    pub keyfile: Option<PathBuf>,
    /// `insecure` (default false).
    pub insecure: bool,
    /// `http_connect_timeout` in seconds (default none).
    pub http_connect_timeout: Option<u32>,
    /// `http_request_max_retries` (default 3).
    pub http_request_max_retries: u32,
    /// `delay_auth_decision` (default false).
    pub delay_auth_decision: bool,
    /// `include_service_catalog` (default true).
    pub include_service_catalog: bool,
    /// `token_cache_time` in seconds (default 300); `None` for `-1`, which
    /// disables the cache.
    pub token_cache_time: Option<u32>,
    /// `service_token_roles` (default `service`).
    pub service_token_roles: Vec<String>,
    /// `service_token_roles_required` (default true).
    pub service_token_roles_required: bool,
    /// `service_type`, for application credentials' access rules.
    pub service_type: Option<String>,
}

impl fmt::Debug for KeystoneAuthtokenSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeystoneAuthtokenSection")
            .field("auth_type", &self.auth_type)
            .field("auth_url", &self.auth_url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("user_id", &self.user_id)
            .field("project_name", &self.project_name)
            .field("project_id", &self.project_id)
            .field("system_scope", &self.system_scope)
            .field("www_authenticate_uri", &self.www_authenticate_uri)
            .field("interface", &self.interface)
            .field("region_name", &self.region_name)
            .field("insecure", &self.insecure)
            .field("http_connect_timeout", &self.http_connect_timeout)
            .field("http_request_max_retries", &self.http_request_max_retries)
            .field("delay_auth_decision", &self.delay_auth_decision)
            .field("include_service_catalog", &self.include_service_catalog)
            .field("token_cache_time", &self.token_cache_time)
            .field("service_token_roles", &self.service_token_roles)
            .field(
                "service_token_roles_required",
                &self.service_token_roles_required,
            )
            .finish_non_exhaustive()
    }
}

/// oslo.log's options from `[DEFAULT]` that placement-rs honours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggingSection {
    /// `log_file`: the file to log to (joined to `log_dir` when both are
    /// set).
    pub log_file: Option<PathBuf>,
    /// `log_dir`: with `log_file`, its directory; alone, the directory of
    /// `<program>.log`.
    pub log_dir: Option<PathBuf>,
    /// `use_stderr`: log to stderr as well as to the file.
    pub use_stderr: bool,
    /// `use_json`: one JSON object per line instead of text.
    pub use_json: bool,
    /// `watch_log_file`: reopen the file when it is moved or removed
    /// (oslo's `WatchedFileHandler`), for logrotate without a signal.
    pub watch_log_file: bool,
    /// `default_log_levels`: `target=LEVEL` pairs, in order, as oslo lists
    /// them (`module=LEVEL`).
    pub default_log_levels: Vec<(String, String)>,
}

/// placement-rs's own defaults for `default_log_levels`: what oslo's list
/// does for the libraries placement uses (`sqlalchemy=WARN` becomes
/// `sqlx=WARN`), plus quiet HTTP plumbing.
pub const DEFAULT_LOG_LEVELS: &[(&str, &str)] = &[
    ("sqlx", "WARN"),
    ("hyper", "INFO"),
    ("h2", "INFO"),
    ("tower", "INFO"),
    ("reqwest", "INFO"),
    ("rustls", "INFO"),
];

impl LoggingSection {
    /// The file to log to, as oslo.log's `_get_log_file_path` computes it
    /// for `program`.
    pub fn log_path(&self, program: &str) -> Option<PathBuf> {
        match (&self.log_file, &self.log_dir) {
            (Some(file), None) => Some(file.clone()),
            (Some(file), Some(dir)) => Some(dir.join(file)),
            (None, Some(dir)) => Some(dir.join(format!("{program}.log"))),
            (None, None) => None,
        }
    }
}

/// `[healthcheck]`: oslo.middleware's healthcheck options placement-rs
/// honours, plus its database check's timeout.
#[derive(Debug, Clone)]
pub struct HealthcheckSection {
    /// `path` (default `/healthcheck`).
    pub path: String,
    /// `detailed` (default false).
    pub detailed: bool,
    /// `backends` with their options, in order.
    pub backends: Vec<placement_http::HealthBackend>,
    /// `database_timeout` (placement-rs's own, default 2 s): how long the
    /// database may take to answer a probe.
    pub database_timeout: Duration,
}

/// `[metrics]`: Prometheus metrics, placement-rs's own section.
#[derive(Debug, Clone, Default)]
pub struct MetricsSection {
    /// `bind`: the address of the metrics listener; unset (the default)
    /// means no metrics at all.
    pub bind: Option<std::net::SocketAddr>,
}

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[DEFAULT] debug`.
    pub debug: bool,
    /// `[DEFAULT]`'s other oslo.log options.
    pub logging: LoggingSection,
    /// `[healthcheck]`.
    pub healthcheck: HealthcheckSection,
    /// `[metrics]`.
    pub metrics: MetricsSection,
    /// `[api] auth_strategy`.
    pub auth_strategy: AuthStrategy,
    /// `[placement_database]`.
    pub database: DatabaseSection,
    /// `[placement]`.
    pub placement: PlacementSection,
    /// `[workarounds]`.
    pub workarounds: WorkaroundsSection,
    /// `[oslo_policy]`.
    pub oslo_policy: OsloPolicySection,
    /// `[cors]`, with placement's defaults.
    pub cors: placement_http::CorsSettings,
    /// `[keystone_authtoken]`.
    pub keystone_authtoken: KeystoneAuthtokenSection,
    /// `--config-dir`s given, for oslo.config's file search.
    pub config_dirs: Vec<PathBuf>,
    /// The files that were read, in order.
    pub files: Vec<PathBuf>,
    /// True when no file was found and the embedded defaults apply.
    pub embedded_default: bool,
}

/// Where to look for configuration, from the command line.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `--config-file`, repeatable, in order.
    pub config_files: Vec<PathBuf>,
    /// `--config-dir`, repeatable.
    pub config_dirs: Vec<PathBuf>,
}

/// The file name of the embedded default's SQLite database.
pub const EMBEDDED_SQLITE: &str = "placement.sqlite";

#[derive(Debug, Default)]
struct Raw {
    /// section (lower-case, `DEFAULT` kept) → key → (value, origin)
    values: BTreeMap<String, BTreeMap<String, (String, Origin)>>,
}

impl Raw {
    fn set(&mut self, section: &str, key: &str, value: String, origin: Origin) {
        self.values
            .entry(section.to_owned())
            .or_default()
            .insert(key.to_owned(), (value, origin));
    }

    fn get(&self, section: &str, key: &str) -> Option<&(String, Origin)> {
        self.values.get(section).and_then(|s| s.get(key))
    }
}

/// Parses one INI file's text into `raw`.
fn parse_ini(path: &Path, text: &str, raw: &mut Raw) -> Result<(), ConfigError> {
    let mut section: Option<String> = None;
    let mut last_key: Option<String> = None;
    for (idx, line) in text.lines().enumerate() {
        let lineno = idx + 1;
        let syntax = |message: &str| ConfigError::Syntax {
            path: path.to_owned(),
            line: lineno,
            message: message.to_owned(),
        };
        if line.trim().is_empty() {
            last_key = None;
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // Continuation of the previous value.
            let (Some(sec), Some(key)) = (&section, &last_key) else {
                return Err(syntax("unexpected continuation line"));
            };
            if let Some(entry) = raw.values.get_mut(sec).and_then(|s| s.get_mut(key)) {
                entry.0.push('\n');
                entry.0.push_str(trimmed.trim_end());
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let name = rest
                .trim_end()
                .strip_suffix(']')
                .ok_or_else(|| syntax("section header without closing ']'"))?
                .trim();
            if name.is_empty() {
                return Err(syntax("empty section name"));
            }
            section = Some(name.to_owned());
            last_key = None;
            continue;
        }
        let Some(sec) = &section else {
            return Err(syntax("value outside any [section]"));
        };
        let split_at = line
            .find(['=', ':'])
            .ok_or_else(|| syntax("expected 'key = value'"))?;
        let key = line[..split_at].trim();
        if key.is_empty() {
            return Err(syntax("empty key"));
        }
        let mut value = line[split_at + 1..].trim().to_owned();
        if value.len() >= 2
            && ((value.starts_with('"') && value.ends_with('"'))
                || (value.starts_with('\'') && value.ends_with('\'')))
        {
            value = value[1..value.len() - 1].to_owned();
        }
        raw.set(sec, key, value, Origin::File(path.to_owned()));
        last_key = Some(key.to_owned());
    }
    Ok(())
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// oslo.config's default file search for project `placement`.
fn default_files() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(h) = home() {
        dirs.push(h.join(format!(".{PROJECT}")));
        dirs.push(h);
    }
    dirs.push(PathBuf::from(format!("/etc/{PROJECT}")));
    dirs.push(PathBuf::from("/etc"));
    let name = format!("{PROJECT}.conf");
    dirs.into_iter()
        .map(|d| d.join(&name))
        .filter(|p| p.is_file())
        .take(1)
        .collect()
}

fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|_| ConfigError::BadDir(dir.to_owned()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "conf") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

impl Config {
    /// Resolves the files to read and loads them: `--config-file`s (else
    /// `$OS_PLACEMENT_CONFIG_DIR/placement.conf`, else oslo.config's default
    /// locations), then every `--config-dir`, then environment overrides.
    /// With no file at all, the embedded default applies.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, section and key at fault.
    pub fn load(sources: &Sources) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::load_with_env(sources, &env)
    }

    /// [`Config::load`] with an explicit environment (for tests).
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn load_with_env(
        sources: &Sources,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let mut files: Vec<PathBuf> = if !sources.config_files.is_empty() {
            sources.config_files.clone()
        } else if let Some(dir) = env
            .get("OS_PLACEMENT_CONFIG_DIR")
            .map(|d| d.trim())
            .filter(|d| !d.is_empty())
        {
            vec![Path::new(dir).join(format!("{PROJECT}.conf"))]
        } else {
            default_files()
        };
        for dir in &sources.config_dirs {
            files.extend(dir_files(dir)?);
        }
        let mut raw = Raw::default();
        for path in &files {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            parse_ini(path, &text, &mut raw)?;
        }
        for (name, value) in env {
            if let Some(rest) = name.strip_prefix("OS_") {
                if let Some((section, key)) = rest.split_once("__") {
                    let section = if section == "DEFAULT" {
                        "DEFAULT".to_owned()
                    } else {
                        section.to_ascii_lowercase()
                    };
                    raw.set(
                        &section,
                        &key.to_ascii_lowercase(),
                        value.clone(),
                        Origin::Env(name.clone()),
                    );
                }
            }
        }
        let embedded_default =
            files.is_empty() && raw.get("placement_database", "connection").is_none();
        let mut config = Self::from_raw(&raw, files, embedded_default)?;
        config.config_dirs = sources.config_dirs.clone();
        Ok(config)
    }

    /// Where oslo.config's `find_file` looks for a relative file name such
    /// as `policy.yaml`, in order: the `--config-dir`s, the directories of
    /// the files read (last file first), then `~/.placement`, `~`,
    /// `/etc/placement` and `/etc`.
    pub fn search_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self.config_dirs.clone();
        for file in self.files.iter().rev() {
            if let Some(parent) = file.parent() {
                let parent = if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                };
                if !dirs.contains(&parent) {
                    dirs.push(parent);
                }
            }
        }
        if let Some(h) = home() {
            dirs.push(h.join(format!(".{PROJECT}")));
            dirs.push(h);
        }
        dirs.push(PathBuf::from(format!("/etc/{PROJECT}")));
        dirs.push(PathBuf::from("/etc"));
        dirs
    }

    fn from_raw(raw: &Raw, files: Vec<PathBuf>, embedded: bool) -> Result<Config, ConfigError> {
        let v = Values { raw };
        let connection = match v.get("placement_database", "connection") {
            Some((text, origin)) if !text.trim().is_empty() => {
                Some(DatabaseUrl::parse(text).map_err(|e| ConfigError::Value {
                    origin: origin.clone(),
                    section: "placement_database".into(),
                    key: "connection".into(),
                    message: e.to_string(),
                })?)
            }
            _ if embedded => Some(
                DatabaseUrl::parse(&format!("sqlite:///{EMBEDDED_SQLITE}")).map_err(|e| {
                    ConfigError::Value {
                        origin: Origin::Env("(embedded default)".into()),
                        section: "placement_database".into(),
                        key: "connection".into(),
                        message: e.to_string(),
                    }
                })?,
            ),
            _ => {
                return Err(ConfigError::Missing {
                    section: "placement_database".into(),
                    key: "connection".into(),
                    files: if files.is_empty() {
                        "none".into()
                    } else {
                        files
                            .iter()
                            .map(|f| f.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                })
            }
        };
        let auth_strategy = match v.get("api", "auth_strategy") {
            None => {
                if embedded {
                    AuthStrategy::NoAuth2
                } else {
                    AuthStrategy::Keystone
                }
            }
            Some((s, origin)) => match s.trim() {
                "keystone" => AuthStrategy::Keystone,
                "noauth2" => AuthStrategy::NoAuth2,
                other => {
                    return Err(ConfigError::Value {
                        origin: origin.clone(),
                        section: "api".into(),
                        key: "auth_strategy".into(),
                        message: format!(
                            "invalid value {other:?}: expected one of keystone, noauth2"
                        ),
                    })
                }
            },
        };
        let text_or = |section: &str, key: &str, default: &str| {
            v.get(section, key)
                .map_or_else(|| default.to_owned(), |(s, _)| s.trim().to_owned())
        };
        Ok(Config {
            debug: v.bool("DEFAULT", "debug")?.unwrap_or(false),
            logging: logging_section(&v)?,
            healthcheck: healthcheck_section(&v)?,
            metrics: metrics_section(&v)?,
            auth_strategy,
            database: DatabaseSection {
                connection,
                sync_on_startup: v
                    .bool("placement_database", "sync_on_startup")?
                    .unwrap_or(embedded),
                max_pool_size: v.int("placement_database", "max_pool_size", 1)?,
                max_overflow: v.int("placement_database", "max_overflow", 0)?,
                pool_timeout: v
                    .int("placement_database", "pool_timeout", 1)?
                    .map(u64::from),
                connection_recycle_time: v
                    .int("placement_database", "connection_recycle_time", 1)?
                    .map_or(3600, u64::from),
            },
            placement: PlacementSection {
                incomplete_consumer_project_id: text_or(
                    "placement",
                    "incomplete_consumer_project_id",
                    DEFAULT_INCOMPLETE_CONSUMER_ID,
                ),
                incomplete_consumer_user_id: text_or(
                    "placement",
                    "incomplete_consumer_user_id",
                    DEFAULT_INCOMPLETE_CONSUMER_ID,
                ),
                allocation_conflict_retry_count: v
                    .int("placement", "allocation_conflict_retry_count", 0)?
                    .unwrap_or(10),
                max_allocation_candidates: v
                    .signed_int("placement", "max_allocation_candidates")?
                    .unwrap_or(-1),
                allocation_candidates_generation_strategy: match v
                    .choice(
                        "placement",
                        "allocation_candidates_generation_strategy",
                        &["depth-first", "breadth-first"],
                    )?
                    .as_deref()
                {
                    Some("breadth-first") => GenerationStrategy::BreadthFirst,
                    _ => GenerationStrategy::DepthFirst,
                },
                randomize_allocation_candidates: v
                    .bool("placement", "randomize_allocation_candidates")?
                    .unwrap_or(false),
            },
            workarounds: WorkaroundsSection {
                optimize_for_wide_provider_trees: v
                    .bool("workarounds", "optimize_for_wide_provider_trees")?
                    .unwrap_or(false),
            },
            oslo_policy: OsloPolicySection {
                policy_file: text_or("oslo_policy", "policy_file", "policy.yaml"),
                policy_dirs: v
                    .list("oslo_policy", "policy_dirs")
                    .unwrap_or_else(|| vec!["policy.d".to_owned()]),
                enforce_new_defaults: v
                    .bool("oslo_policy", "enforce_new_defaults")?
                    .unwrap_or(true),
                policy_default_rule: text_or("oslo_policy", "policy_default_rule", "default"),
            },
            cors: cors_section(&v)?,
            keystone_authtoken: keystone_authtoken_section(&v)?,
            config_dirs: Vec::new(),
            files,
            embedded_default: embedded,
        })
    }
}

/// `[DEFAULT]`'s oslo.log options.
fn logging_section(v: &Values<'_>) -> Result<LoggingSection, ConfigError> {
    let path = |key: &str| {
        v.get("DEFAULT", key)
            .map(|(value, _)| value.trim())
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    let default_log_levels = match v.get("DEFAULT", "default_log_levels") {
        None => DEFAULT_LOG_LEVELS
            .iter()
            .map(|(target, level)| ((*target).to_owned(), (*level).to_owned()))
            .collect(),
        Some((_, origin)) => {
            let mut pairs = Vec::new();
            for item in v.list("DEFAULT", "default_log_levels").unwrap_or_default() {
                let Some((target, level)) = item.split_once('=') else {
                    return Err(Values::bad(
                        origin,
                        "DEFAULT",
                        "default_log_levels",
                        format!("invalid item {item:?}: expected module=LEVEL"),
                    ));
                };
                let level = level.trim().to_ascii_uppercase();
                if !LOG_LEVELS.contains(&level.as_str()) {
                    return Err(Values::bad(
                        origin,
                        "DEFAULT",
                        "default_log_levels",
                        format!(
                            "invalid level {level:?} in {item:?}: expected one of {}",
                            LOG_LEVELS.join(", ")
                        ),
                    ));
                }
                pairs.push((target.trim().to_owned(), level));
            }
            pairs
        }
    };
    Ok(LoggingSection {
        log_file: path("log_file"),
        log_dir: path("log_dir"),
        use_stderr: v.bool("DEFAULT", "use_stderr")?.unwrap_or(false),
        use_json: v.bool("DEFAULT", "use_json")?.unwrap_or(false),
        watch_log_file: v.bool("DEFAULT", "watch_log_file")?.unwrap_or(false),
        default_log_levels,
    })
}

/// The level names Python's logging (and so oslo.log) accepts.
pub const LOG_LEVELS: &[&str] = &[
    "TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL",
];

/// oslo.middleware's backend names, in the order oslo documents them.
const HEALTH_BACKENDS: &[&str] = &[
    "disable_by_file",
    "disable_by_files_ports",
    "enable_by_files",
];

/// `[healthcheck]`, with oslo.middleware's defaults.
fn healthcheck_section(v: &Values<'_>) -> Result<HealthcheckSection, ConfigError> {
    const SECTION: &str = "healthcheck";
    let defaults = placement_http::HealthSettings::default();
    let path = match v.get(SECTION, "path") {
        None => defaults.path.clone(),
        Some((text, origin)) => {
            let text = text.trim();
            let plain = text.len() > 1
                && placement_http::UrlPrefix::new(text).is_ok_and(|p| p.as_str() == text);
            if !plain {
                return Err(Values::bad(
                    origin,
                    SECTION,
                    "path",
                    format!("invalid path {text:?}: expected a plain path such as /healthcheck"),
                ));
            }
            text.to_owned()
        }
    };
    let names = v.list(SECTION, "backends").unwrap_or_default();
    let origin = v.get(SECTION, "backends").map(|(_, origin)| origin.clone());
    let bad_backends = |message: String| {
        Values::bad(
            origin.as_ref().unwrap_or(&Origin::Env("(default)".into())),
            SECTION,
            "backends",
            message,
        )
    };
    if names.iter().any(|n| n == "disable_by_file") && names.iter().any(|n| n == "enable_by_files")
    {
        return Err(bad_backends(
            "disable_by_file and enable_by_files cannot be enabled at the same time".to_owned(),
        ));
    }
    let text = |key: &str| {
        v.get(SECTION, key)
            .map(|(value, _)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let mut backends = Vec::new();
    for name in &names {
        backends.push(match name.as_str() {
            "disable_by_file" => placement_http::HealthBackend::DisableByFile(
                text("disable_by_file_path").map(PathBuf::from),
            ),
            "disable_by_files_ports" => {
                let mut pairs = Vec::new();
                for item in v.list(SECTION, "disable_by_file_paths").unwrap_or_default() {
                    let parsed = item
                        .split_once(':')
                        .and_then(|(port, path)| Some((port.trim().parse::<u16>().ok()?, path)));
                    let Some((port, path)) = parsed else {
                        let origin = v
                            .get(SECTION, "disable_by_file_paths")
                            .map(|(_, o)| o.clone())
                            .unwrap_or(Origin::Env("(default)".into()));
                        return Err(Values::bad(
                            &origin,
                            SECTION,
                            "disable_by_file_paths",
                            format!("invalid item {item:?}: expected port:path"),
                        ));
                    };
                    pairs.push((port, PathBuf::from(path.trim())));
                }
                placement_http::HealthBackend::DisableByFilesPorts(pairs)
            }
            "enable_by_files" => placement_http::HealthBackend::EnableByFiles(
                v.list(SECTION, "enable_by_file_paths")
                    .unwrap_or_default()
                    .into_iter()
                    .map(PathBuf::from)
                    .collect(),
            ),
            other => {
                return Err(bad_backends(format!(
                    "unknown backend {other:?}: expected one of {}",
                    HEALTH_BACKENDS.join(", ")
                )))
            }
        });
    }
    let database_timeout = match v.get(SECTION, "database_timeout") {
        None => defaults.database_timeout,
        Some((text, origin)) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| {
                Values::bad(
                    origin,
                    SECTION,
                    "database_timeout",
                    format!("invalid value {text:?}: expected seconds above 0"),
                )
            })?,
    };
    Ok(HealthcheckSection {
        path,
        detailed: v.bool(SECTION, "detailed")?.unwrap_or(false),
        backends,
        database_timeout,
    })
}

/// `[metrics]`.
fn metrics_section(v: &Values<'_>) -> Result<MetricsSection, ConfigError> {
    let bind = match v.get("metrics", "bind") {
        None => None,
        Some((text, _)) if text.trim().is_empty() => None,
        Some((text, origin)) => Some(text.trim().parse().map_err(|_| {
            Values::bad(
                origin,
                "metrics",
                "bind",
                format!("invalid address {text:?}: expected IP:PORT such as 127.0.0.1:9778"),
            )
        })?),
    };
    Ok(MetricsSection { bind })
}

/// `[cors]` over placement's defaults for the header and method lists.
fn cors_section(v: &Values<'_>) -> Result<placement_http::CorsSettings, ConfigError> {
    let defaults = placement_http::CorsSettings::default();
    Ok(placement_http::CorsSettings {
        allowed_origin: v.list("cors", "allowed_origin").unwrap_or_default(),
        allow_credentials: v
            .bool("cors", "allow_credentials")?
            .unwrap_or(defaults.allow_credentials),
        expose_headers: v
            .list("cors", "expose_headers")
            .unwrap_or(defaults.expose_headers),
        max_age: v.int("cors", "max_age", 0)?.unwrap_or(defaults.max_age),
        allow_methods: v
            .list("cors", "allow_methods")
            .unwrap_or(defaults.allow_methods),
        allow_headers: v
            .list("cors", "allow_headers")
            .unwrap_or(defaults.allow_headers),
    })
}

/// `[keystone_authtoken]`, with keystonemiddleware 13.0.1's defaults.
fn keystone_authtoken_section(v: &Values<'_>) -> Result<KeystoneAuthtokenSection, ConfigError> {
    const SECTION: &str = "keystone_authtoken";
    let text = |key: &str| {
        v.get(SECTION, key)
            .map(|(value, _)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let auth_type = v
        .get(SECTION, "auth_type")
        .filter(|(value, _)| !value.trim().is_empty())
        .map(|(value, origin)| match value.trim() {
            "password" | "v3password" => KeystoneAuthType::Password,
            other => KeystoneAuthType::Other(other.to_owned(), origin.clone()),
        });
    let token_cache_time = match v.get(SECTION, "token_cache_time") {
        None => Some(300),
        Some((value, origin)) => match value.trim().parse::<i64>() {
            Ok(-1) => None,
            Ok(seconds) => Some(u32::try_from(seconds).map_err(|_| {
                Values::bad(
                    origin,
                    SECTION,
                    "token_cache_time",
                    format!("invalid value {seconds}: expected seconds, or -1 to disable"),
                )
            })?),
            Err(_) => {
                return Err(Values::bad(
                    origin,
                    SECTION,
                    "token_cache_time",
                    format!("invalid value {value:?}: expected an integer"),
                ))
            }
        },
    };
    Ok(KeystoneAuthtokenSection {
        auth_type,
        auth_url: text("auth_url"),
        username: text("username"),
        // A password is taken as written, spaces included.
        password: v
            .get(SECTION, "password")
            .map(|(value, _)| value.clone())
            .filter(|value| !value.is_empty()),
        user_id: text("user_id"),
        user_domain_id: text("user_domain_id"),
        user_domain_name: text("user_domain_name"),
        project_id: text("project_id"),
        project_name: text("project_name"),
        project_domain_id: text("project_domain_id"),
        project_domain_name: text("project_domain_name"),
        system_scope: text("system_scope"),
        www_authenticate_uri: text("www_authenticate_uri"),
        interface: text("interface").unwrap_or_else(|| "internal".to_owned()),
        region_name: text("region_name"),
        cafile: text("cafile").map(PathBuf::from),
        certfile: text("certfile").map(PathBuf::from),
        keyfile: text("keyfile").map(PathBuf::from),
        insecure: v.bool(SECTION, "insecure")?.unwrap_or(false),
        http_connect_timeout: v.int(SECTION, "http_connect_timeout", 0)?,
        http_request_max_retries: v.int(SECTION, "http_request_max_retries", 0)?.unwrap_or(3),
        delay_auth_decision: v.bool(SECTION, "delay_auth_decision")?.unwrap_or(false),
        include_service_catalog: v.bool(SECTION, "include_service_catalog")?.unwrap_or(true),
        token_cache_time,
        service_token_roles: v
            .list(SECTION, "service_token_roles")
            .unwrap_or_else(|| vec!["service".to_owned()]),
        service_token_roles_required: v
            .bool(SECTION, "service_token_roles_required")?
            .unwrap_or(true),
        service_type: text("service_type"),
    })
}

impl Config {
    /// `[keystone_authtoken]` checked for what placement-api needs under
    /// `auth_strategy = keystone`: the `password` plugin with an `auth_url`,
    /// a password, and a user by id or by name with its domain.
    ///
    /// # Errors
    /// [`ConfigError`] naming the missing or unsupported option.
    pub fn keystone_password_auth(&self) -> Result<&KeystoneAuthtokenSection, ConfigError> {
        const SECTION: &str = "keystone_authtoken";
        let section = &self.keystone_authtoken;
        let missing = |key: &str| ConfigError::Missing {
            section: SECTION.to_owned(),
            key: format!("{key} (needed with [api] auth_strategy = keystone)"),
            files: if self.files.is_empty() {
                "none".into()
            } else {
                self.files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        };
        match &section.auth_type {
            Some(KeystoneAuthType::Password) => {}
            Some(KeystoneAuthType::Other(name, origin)) => {
                return Err(Values::bad(
                    origin,
                    SECTION,
                    "auth_type",
                    format!("unsupported auth plugin {name:?}: only password is supported"),
                ))
            }
            None => return Err(missing("auth_type")),
        }
        if section.auth_url.is_none() {
            return Err(missing("auth_url"));
        }
        if section.password.is_none() {
            return Err(missing("password"));
        }
        if section.user_id.is_none() {
            if section.username.is_none() {
                return Err(missing("username"));
            }
            if section.user_domain_id.is_none() && section.user_domain_name.is_none() {
                return Err(missing("user_domain_name"));
            }
        }
        if section.project_id.is_none()
            && section.project_name.is_some()
            && section.project_domain_id.is_none()
            && section.project_domain_name.is_none()
        {
            return Err(missing("project_domain_name"));
        }
        Ok(section)
    }
}

struct Values<'a> {
    raw: &'a Raw,
}

impl Values<'_> {
    fn get(&self, section: &str, key: &str) -> Option<&(String, Origin)> {
        self.raw.get(section, key)
    }

    fn bad(origin: &Origin, section: &str, key: &str, message: String) -> ConfigError {
        ConfigError::Value {
            origin: origin.clone(),
            section: section.to_owned(),
            key: key.to_owned(),
            message,
        }
    }

    /// oslo.config's `ListOpt`: comma-separated, each item trimmed, empty
    /// items dropped; `None` when the key is absent.
    fn list(&self, section: &str, key: &str) -> Option<Vec<String>> {
        self.get(section, key).map(|(text, _)| {
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }

    /// oslo.config's boolean spellings.
    fn bool(&self, section: &str, key: &str) -> Result<Option<bool>, ConfigError> {
        let Some((text, origin)) = self.get(section, key) else {
            return Ok(None);
        };
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Some(true)),
            "false" | "0" | "no" | "off" => Ok(Some(false)),
            other => Err(Self::bad(
                origin,
                section,
                key,
                format!("invalid value {other:?}: expected a boolean (true/false)"),
            )),
        }
    }

    /// oslo.config's `IntOpt` without bounds.
    fn signed_int(&self, section: &str, key: &str) -> Result<Option<i64>, ConfigError> {
        let Some((text, origin)) = self.get(section, key) else {
            return Ok(None);
        };
        text.trim().parse().map(Some).map_err(|_| {
            Self::bad(
                origin,
                section,
                key,
                format!("invalid value {text:?}: expected an integer"),
            )
        })
    }

    /// oslo.config's `StrOpt` with `choices`: anything else stops startup.
    fn choice(
        &self,
        section: &str,
        key: &str,
        choices: &[&str],
    ) -> Result<Option<String>, ConfigError> {
        let Some((text, origin)) = self.get(section, key) else {
            return Ok(None);
        };
        let value = text.trim();
        if choices.contains(&value) {
            Ok(Some(value.to_owned()))
        } else {
            Err(Self::bad(
                origin,
                section,
                key,
                format!(
                    "invalid value {value:?}: expected one of {}",
                    choices.join(", ")
                ),
            ))
        }
    }

    fn int(&self, section: &str, key: &str, min: u32) -> Result<Option<u32>, ConfigError> {
        let Some((text, origin)) = self.get(section, key) else {
            return Ok(None);
        };
        let n: u32 = text.trim().parse().map_err(|_| {
            Self::bad(
                origin,
                section,
                key,
                format!("invalid value {text:?}: expected a non-negative integer"),
            )
        })?;
        if n < min {
            return Err(Self::bad(
                origin,
                section,
                key,
                format!("invalid value {n}: must be at least {min}"),
            ));
        }
        Ok(Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn tmpdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("placement-conf-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn load(sources: &Sources, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut e: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        // Keep the developer's real HOME out of default-file discovery.
        e.entry("HOME".into())
            .or_insert_with(|| "/nonexistent".into());
        Config::load_with_env(sources, &e)
    }

    #[test]
    fn a_full_upstream_style_file_is_read() {
        let d = tmpdir();
        let f = write(
            &d,
            "placement.conf",
            "[DEFAULT]\ndebug = True\n# comment\n; other comment\n\
             [api]\nauth_strategy = noauth2\n\
             [placement_database]\nconnection = mysql+pymysql://p:pw@db/placement?charset=utf8\n\
             sync_on_startup = yes\nmax_pool_size = 7\nmax_overflow = 3\nconnection_recycle_time = 60\n\
             [placement]\nincomplete_consumer_project_id = ip\nincomplete_consumer_user_id = 'iu'\n\
             allocation_conflict_retry_count = 4\n\
             [keystone_authtoken]\nwhatever = ignored\n",
        );
        let c = load(
            &Sources {
                config_files: vec![f],
                ..Sources::default()
            },
            &[],
        )
        .unwrap();
        assert!(c.debug);
        assert_eq!(c.auth_strategy, AuthStrategy::NoAuth2);
        assert!(c.database.sync_on_startup);
        assert_eq!(c.database.pool_settings().max_connections, 10);
        assert_eq!(
            c.database.pool_settings().max_lifetime,
            Duration::from_secs(60)
        );
        assert_eq!(
            c.database
                .connection
                .as_ref()
                .unwrap()
                .query_param("charset"),
            Some("utf8")
        );
        assert_eq!(c.placement.incomplete_consumer_project_id, "ip");
        assert_eq!(c.placement.incomplete_consumer_user_id, "iu");
        assert_eq!(c.placement.allocation_conflict_retry_count, 4);
        assert!(!c.embedded_default);
    }

    #[test]
    fn candidate_options_default_as_upstream_and_take_every_spelling() {
        let c = load(&Sources::default(), &[]).unwrap();
        assert_eq!(c.placement.max_allocation_candidates, -1);
        assert_eq!(
            c.placement.allocation_candidates_generation_strategy,
            GenerationStrategy::DepthFirst
        );
        assert!(!c.placement.randomize_allocation_candidates);
        assert!(!c.workarounds.optimize_for_wide_provider_trees);

        let d = tmpdir();
        let f = write(
            &d,
            "p.conf",
            "[placement_database]\nconnection = sqlite://\n\
             [placement]\nmax_allocation_candidates = 100000\n\
             allocation_candidates_generation_strategy = breadth-first\n\
             randomize_allocation_candidates = yes\n\
             [workarounds]\noptimize_for_wide_provider_trees = true\n",
        );
        let c = load(
            &Sources {
                config_files: vec![f],
                ..Sources::default()
            },
            &[],
        )
        .unwrap();
        assert_eq!(c.placement.max_allocation_candidates, 100_000);
        assert_eq!(
            c.placement.allocation_candidates_generation_strategy,
            GenerationStrategy::BreadthFirst
        );
        assert!(c.placement.randomize_allocation_candidates);
        assert!(c.workarounds.optimize_for_wide_provider_trees);
    }

    #[test]
    fn bad_candidate_options_stop_startup_naming_the_key() {
        for (text, expected) in [
            (
                "[placement]\nmax_allocation_candidates = lots\n",
                "[placement] max_allocation_candidates",
            ),
            (
                "[placement]\nallocation_candidates_generation_strategy = sideways\n",
                "[placement] allocation_candidates_generation_strategy",
            ),
            (
                "[workarounds]\noptimize_for_wide_provider_trees = maybe\n",
                "[workarounds] optimize_for_wide_provider_trees",
            ),
        ] {
            let d = tmpdir();
            let f = write(
                &d,
                "p.conf",
                &format!("[placement_database]\nconnection = sqlite://\n{text}"),
            );
            let err = load(
                &Sources {
                    config_files: vec![f],
                    ..Sources::default()
                },
                &[],
            )
            .unwrap_err();
            assert!(err.to_string().contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn no_file_at_all_means_the_embedded_default() {
        let c = load(&Sources::default(), &[]).unwrap();
        assert!(c.embedded_default);
        assert_eq!(c.auth_strategy, AuthStrategy::NoAuth2);
        assert!(c.database.sync_on_startup);
        assert_eq!(
            c.database.connection.as_ref().unwrap().to_url_string(),
            "sqlite:///placement.sqlite"
        );
    }

    #[test]
    fn a_file_without_connection_is_an_error_not_the_default() {
        let d = tmpdir();
        let f = write(&d, "p.conf", "[api]\nauth_strategy = keystone\n");
        let err = load(
            &Sources {
                config_files: vec![f],
                ..Sources::default()
            },
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("[placement_database] connection is required"),
            "{err}"
        );
    }

    #[test]
    fn later_files_and_config_dirs_override_earlier_ones() {
        let d = tmpdir();
        let a = write(
            &d,
            "a.conf",
            "[placement_database]\nconnection = sqlite:////tmp/a.db\n",
        );
        let sub = d.join("conf.d");
        std::fs::create_dir_all(&sub).unwrap();
        write(
            &sub,
            "20-b.conf",
            "[placement_database]\nconnection = sqlite:////tmp/b.db\n",
        );
        write(&sub, "10-x.conf", "[DEFAULT]\ndebug = true\n");
        write(&sub, "ignored.txt", "[DEFAULT]\ndebug = nonsense\n");
        let c = load(
            &Sources {
                config_files: vec![a],
                config_dirs: vec![sub],
            },
            &[],
        )
        .unwrap();
        assert_eq!(
            c.database.connection.unwrap().to_url_string(),
            "sqlite:////tmp/b.db"
        );
        assert!(c.debug);
    }

    #[test]
    fn os_placement_config_dir_names_the_file() {
        let d = tmpdir();
        write(
            &d,
            "placement.conf",
            "[placement_database]\nconnection = sqlite:////tmp/env.db\n",
        );
        let c = load(
            &Sources::default(),
            &[("OS_PLACEMENT_CONFIG_DIR", d.to_str().unwrap())],
        )
        .unwrap();
        assert_eq!(
            c.database.connection.unwrap().to_url_string(),
            "sqlite:////tmp/env.db"
        );
    }

    #[test]
    fn environment_overrides_win_over_files() {
        let d = tmpdir();
        let f = write(
            &d,
            "p.conf",
            "[placement_database]\nconnection = sqlite:////tmp/file.db\n",
        );
        let c = load(
            &Sources {
                config_files: vec![f],
                ..Sources::default()
            },
            &[("OS_PLACEMENT_DATABASE__CONNECTION", "postgresql://u@h/db")],
        )
        .unwrap();
        assert_eq!(c.database.connection.unwrap().database(), Some("db"));
    }

    #[test]
    fn bad_values_name_file_section_and_key() {
        let d = tmpdir();
        let f = write(
            &d,
            "bad.conf",
            "[placement_database]\nconnection = sqlite://\nmax_pool_size = lots\n",
        );
        let err = load(
            &Sources {
                config_files: vec![f.clone()],
                ..Sources::default()
            },
            &[],
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&f.display().to_string()), "{text}");
        assert!(
            text.contains("[placement_database] max_pool_size"),
            "{text}"
        );

        let f = write(
            &d,
            "bad2.conf",
            "[placement_database]\nconnection = sqlite://\n[api]\nauth_strategy = ldap\n",
        );
        let err = load(
            &Sources {
                config_files: vec![f],
                ..Sources::default()
            },
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("[api] auth_strategy"), "{err}");

        let f = write(
            &d,
            "bad3.conf",
            "[DEFAULT]\ndebug = maybe\n[placement_database]\nconnection = sqlite://\n",
        );
        let err = load(
            &Sources {
                config_files: vec![f],
                ..Sources::default()
            },
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("[DEFAULT] debug"), "{err}");

        let f = write(
            &d,
            "bad4.conf",
            "[placement_database]\nconnection = oracle://x/y\n",
        );
        let err = load(
            &Sources {
                config_files: vec![f],
                ..Sources::default()
            },
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("[placement_database] connection"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_give_the_line() {
        let d = tmpdir();
        let f = write(&d, "syn.conf", "connection = x\n");
        let err = load(
            &Sources {
                config_files: vec![f],
                ..Sources::default()
            },
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains(":1:"), "{err}");
        let missing = d.join("absent.conf");
        let err = load(
            &Sources {
                config_files: vec![missing],
                ..Sources::default()
            },
            &[],
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
    }

    #[test]
    fn continuation_lines_extend_the_value() {
        let d = tmpdir();
        let f = write(
            &d,
            "c.conf",
            "[placement_database]\nconnection = sqlite://\n[placement]\nincomplete_consumer_user_id = a\n  b\n",
        );
        let c = load(
            &Sources {
                config_files: vec![f],
                ..Sources::default()
            },
            &[],
        )
        .unwrap();
        assert_eq!(c.placement.incomplete_consumer_user_id, "a\nb");
    }

    fn keystone_conf(extra: &str) -> Config {
        let d = tmpdir();
        let f = write(
            &d,
            "k.conf",
            &format!("[placement_database]\nconnection = sqlite://\n[keystone_authtoken]\n{extra}"),
        );
        load(
            &Sources {
                config_files: vec![f],
                ..Sources::default()
            },
            &[],
        )
        .unwrap()
    }

    #[test]
    fn keystone_authtoken_has_keystonemiddlewares_defaults() {
        let c = keystone_conf("");
        let k = &c.keystone_authtoken;
        assert_eq!(k.auth_type, None);
        assert_eq!(k.interface, "internal");
        assert!(!k.insecure);
        assert_eq!(k.http_connect_timeout, None);
        assert_eq!(k.http_request_max_retries, 3);
        assert!(!k.delay_auth_decision);
        assert!(k.include_service_catalog);
        assert_eq!(k.token_cache_time, Some(300));
        assert_eq!(k.service_token_roles, ["service"]);
        assert!(k.service_token_roles_required);
    }

    #[test]
    fn keystone_authtoken_options_are_read() {
        let c = keystone_conf(
            "auth_type = password\nauth_url = http://ks:5000/v3\nusername = placement\n\
             password = s3cret \nproject_name = service\nuser_domain_name = Default\n\
             project_domain_name = Default\nwww_authenticate_uri = http://public/v3\n\
             interface = public\nregion_name = RegionTwo\ncafile = /ca.pem\ninsecure = true\n\
             http_connect_timeout = 5\nhttp_request_max_retries = 0\ndelay_auth_decision = True\n\
             include_service_catalog = false\ntoken_cache_time = -1\n\
             service_token_roles = service, nova\nservice_token_roles_required = false\n\
             memcached_servers = ignored:11211\n",
        );
        let k = c.keystone_password_auth().unwrap();
        assert_eq!(k.auth_type, Some(KeystoneAuthType::Password));
        assert_eq!(k.auth_url.as_deref(), Some("http://ks:5000/v3"));
        assert_eq!(k.password.as_deref(), Some("s3cret"));
        assert_eq!(k.interface, "public");
        assert_eq!(k.region_name.as_deref(), Some("RegionTwo"));
        assert_eq!(k.cafile.as_deref(), Some(Path::new("/ca.pem")));
        assert!(k.insecure);
        assert_eq!(k.http_connect_timeout, Some(5));
        assert_eq!(k.http_request_max_retries, 0);
        assert!(k.delay_auth_decision);
        assert!(!k.include_service_catalog);
        assert_eq!(k.token_cache_time, None);
        assert_eq!(k.service_token_roles, ["service", "nova"]);
        assert!(!k.service_token_roles_required);
        assert!(!format!("{k:?}").contains("s3cret"));
    }

    #[test]
    fn keystone_needs_the_password_plugin_and_its_options() {
        let full = "auth_type = password\nauth_url = http://ks/v3\nusername = p\npassword = pw\n\
                    user_domain_name = Default\nproject_name = service\nproject_domain_id = default\n";
        assert!(keystone_conf(full).keystone_password_auth().is_ok());
        let cases = [
            (
                "auth_type = token\n",
                "[keystone_authtoken] auth_type: unsupported",
            ),
            ("", "[keystone_authtoken] auth_type"),
            ("auth_type = password\n", "[keystone_authtoken] auth_url"),
            ("auth_type = password\nauth_url = http://ks\n", "password"),
            (
                "auth_type = password\nauth_url = http://ks\npassword = x\n",
                "username",
            ),
            (
                "auth_type = password\nauth_url = http://ks\npassword = x\nusername = u\n",
                "user_domain_name",
            ),
            (
                "auth_type = password\nauth_url = http://ks\npassword = x\nuser_id = u\n\
                 project_name = service\n",
                "project_domain_name",
            ),
        ];
        for (text, expected) in cases {
            let err = keystone_conf(text).keystone_password_auth().unwrap_err();
            assert!(err.to_string().contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn keystone_authtoken_bad_numbers_name_the_key() {
        let d = tmpdir();
        for (text, key) in [
            ("token_cache_time = soon", "token_cache_time"),
            ("token_cache_time = -2", "token_cache_time"),
            ("http_request_max_retries = -1", "http_request_max_retries"),
            ("insecure = maybe", "insecure"),
        ] {
            let f = write(
                &d,
                "bad.conf",
                &format!(
                    "[placement_database]\nconnection = sqlite://\n[keystone_authtoken]\n{text}\n"
                ),
            );
            let err = load(
                &Sources {
                    config_files: vec![f],
                    ..Sources::default()
                },
                &[],
            )
            .unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("[keystone_authtoken] {key}")),
                "{text}: {err}"
            );
        }
    }

    fn conf(extra: &str) -> Result<Config, ConfigError> {
        let d = tmpdir();
        let f = write(
            &d,
            "o.conf",
            &format!("[placement_database]\nconnection = sqlite://\n{extra}"),
        );
        load(
            &Sources {
                config_files: vec![f],
                ..Sources::default()
            },
            &[],
        )
    }

    #[test]
    fn operations_options_default_to_off_and_oslos_defaults() {
        let c = conf("").unwrap();
        assert_eq!(c.metrics.bind, None);
        assert_eq!(c.healthcheck.path, "/healthcheck");
        assert!(!c.healthcheck.detailed);
        assert!(c.healthcheck.backends.is_empty());
        assert_eq!(c.healthcheck.database_timeout, Duration::from_secs(2));
        assert_eq!(c.logging.log_path("placement-api"), None);
        assert!(!c.logging.use_stderr && !c.logging.use_json && !c.logging.watch_log_file);
        assert_eq!(
            c.logging.default_log_levels[0],
            ("sqlx".into(), "WARN".into())
        );
    }

    #[test]
    fn operations_options_are_read() {
        let c = conf(
            "[DEFAULT]\nlog_file = api.log\nlog_dir = /var/log/placement\nuse_stderr = true\n\
             use_json = yes\nwatch_log_file = 1\ndefault_log_levels = sqlalchemy=WARN, placement_http=debug\n\
             [metrics]\nbind = 127.0.0.1:9778\n\
             [healthcheck]\npath = /health\ndetailed = true\n\
             backends = disable_by_file, disable_by_files_ports\n\
             disable_by_file_path = /run/placement/drain\n\
             disable_by_file_paths = 8778:/run/a, 8779:/run/b\ndatabase_timeout = 0.5\n",
        )
        .unwrap();
        assert_eq!(
            c.logging.log_path("placement-api"),
            Some(PathBuf::from("/var/log/placement/api.log"))
        );
        assert!(c.logging.use_stderr && c.logging.use_json && c.logging.watch_log_file);
        assert_eq!(
            c.logging.default_log_levels,
            [
                ("sqlalchemy".to_owned(), "WARN".to_owned()),
                ("placement_http".to_owned(), "DEBUG".to_owned())
            ]
        );
        assert_eq!(c.metrics.bind, Some("127.0.0.1:9778".parse().unwrap()));
        assert_eq!(c.healthcheck.path, "/health");
        assert!(c.healthcheck.detailed);
        assert_eq!(
            c.healthcheck.backends,
            [
                placement_http::HealthBackend::DisableByFile(Some("/run/placement/drain".into())),
                placement_http::HealthBackend::DisableByFilesPorts(vec![
                    (8778, "/run/a".into()),
                    (8779, "/run/b".into())
                ]),
            ]
        );
        assert_eq!(c.healthcheck.database_timeout, Duration::from_millis(500));
        let dir_only = conf("[DEFAULT]\nlog_dir = /var/log/placement\n").unwrap();
        assert_eq!(
            dir_only.logging.log_path("placement-api"),
            Some(PathBuf::from("/var/log/placement/placement-api.log"))
        );
    }

    #[test]
    fn bad_operations_options_name_the_key() {
        for (text, key) in [
            ("[metrics]\nbind = localhost\n", "[metrics] bind"),
            ("[healthcheck]\nbackends = ping\n", "[healthcheck] backends"),
            (
                "[healthcheck]\nbackends = disable_by_file, enable_by_files\n",
                "[healthcheck] backends",
            ),
            ("[healthcheck]\npath = /{x}\n", "[healthcheck] path"),
            (
                "[healthcheck]\ndatabase_timeout = 0\n",
                "[healthcheck] database_timeout",
            ),
            (
                "[healthcheck]\nbackends = disable_by_files_ports\ndisable_by_file_paths = x:/a\n",
                "[healthcheck] disable_by_file_paths",
            ),
            (
                "[DEFAULT]\ndefault_log_levels = sqlx\n",
                "[DEFAULT] default_log_levels",
            ),
            (
                "[DEFAULT]\ndefault_log_levels = sqlx=LOUD\n",
                "[DEFAULT] default_log_levels",
            ),
            ("[DEFAULT]\nuse_json = perhaps\n", "[DEFAULT] use_json"),
        ] {
            let err = conf(text).unwrap_err();
            assert!(err.to_string().contains(key), "{text}: {err}");
        }
    }
}
