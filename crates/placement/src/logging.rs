//! Logging: `tracing` events written where oslo.log's `[DEFAULT]` options
//! say, so an operator's `placement.conf` keeps its meaning.
//!
//! - `debug` lowers the level to DEBUG; `default_log_levels`
//!   (`module=LEVEL`, oslo's format) then sets targets' levels. A target is
//!   a Rust module path (`placement_http::keystone`, `sqlx`); dots are read
//!   as `::`, and the Python names upstream's list uses for the libraries
//!   we replaced are mapped to ours (`sqlalchemy` → `sqlx`,
//!   `keystonemiddleware` → `placement_http::keystone`, `oslo_policy` →
//!   `placement_http::policy`). `RUST_LOG`, when set, overrides all of it.
//! - `log_file` / `log_dir` name a file (oslo's rules: `log_dir/log_file`,
//!   or `log_dir/<program>.log`), opened for appending; `use_stderr` logs
//!   to stderr as well. NOTE(upstream): with no file oslo.log writes to
//!   stdout; we keep stderr, so the commands' own output on stdout stays
//!   clean.
//! - `use_json`: one JSON object per line (with the request's span and its
//!   `request_id`), for log shippers.
//! - The file is reopened on SIGHUP ([`LogHandle::reopen`], for
//!   logrotate's `postrotate`), and with `watch_log_file` whenever it was
//!   moved or removed (checked before each line, as oslo's
//!   `WatchedFileHandler` does).
//!
//! Every line written inside a request carries its `request_id` (the
//! request span), in text and JSON alike.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::Directive;
use tracing_subscriber::fmt::format::{DefaultFields, JsonFields, Writer};
use tracing_subscriber::fmt::{FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::LoggingSection;

/// Python module names in upstream's `default_log_levels` and the targets
/// that do their job here.
const TARGET_ALIASES: &[(&str, &str)] = &[
    ("sqlalchemy", "sqlx"),
    ("keystonemiddleware", "placement_http::keystone"),
    ("oslo_policy", "placement_http::policy"),
    ("oslo::policy", "placement_http::policy"),
];

/// What the binary keeps after setting logging up: the log file, to reopen
/// on SIGHUP.
#[derive(Debug, Clone, Default)]
pub struct LogHandle {
    file: Option<Arc<LogFile>>,
}

impl LogHandle {
    /// Reopens the log file by name (after logrotate moved it away); false
    /// when there is no file.
    ///
    /// # Errors
    /// When the file cannot be opened; logging keeps the old one then.
    pub fn reopen(&self) -> io::Result<bool> {
        match &self.file {
            Some(file) => file.reopen().map(|()| true),
            None => Ok(false),
        }
    }

    /// The file logs go to, if any.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|f| f.path.as_path())
    }
}

/// Installs the global subscriber for `program` (`placement-api`, …).
/// Safe to call once per process; a second call changes nothing.
///
/// # Errors
/// When the log file cannot be opened.
pub fn init(debug: bool, options: &LoggingSection, program: &str) -> io::Result<LogHandle> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| filter(debug, options));
    let file = match options.log_path(program) {
        Some(path) => Some(Arc::new(LogFile::open(path, options.watch_log_file)?)),
        None => None,
    };
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = Vec::new();
    if let Some(file) = &file {
        layers.push(layer(options.use_json, false, FileWriter(Arc::clone(file))));
    }
    if file.is_none() || options.use_stderr {
        let ansi = !options.use_json && io::IsTerminal::is_terminal(&io::stderr());
        layers.push(if file.is_some() {
            second_layer(options.use_json, ansi, io::stderr)
        } else {
            layer(options.use_json, ansi, io::stderr)
        });
    }
    let _ = tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .try_init();
    Ok(LogHandle { file })
}

/// One output's formatting layer.
fn layer<W>(json: bool, ansi: bool, writer: W) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(ansi)
            .with_writer(writer)
            .boxed()
    }
}

/// A second output's layer. Each formatter keeps a span's recorded fields
/// in the span, keyed by its field formatter's type; two outputs with the
/// same type would both append to one copy and print every field recorded
/// later (`user_id`, `project_id`) twice. This one's fields are kept apart.
fn second_layer<W>(json: bool, ansi: bool, writer: W) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .fmt_fields(SecondFields(JsonFields::new()))
            .with_writer(writer)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(ansi)
            .fmt_fields(SecondFields(DefaultFields::new()))
            .with_writer(writer)
            .boxed()
    }
}

/// A field formatter of a type of its own: see [`second_layer`].
struct SecondFields<F>(F);

impl<'w, F: FormatFields<'w>> FormatFields<'w> for SecondFields<F> {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> std::fmt::Result {
        self.0.format_fields(writer, fields)
    }
}

/// The level filter `debug` and `default_log_levels` describe.
fn filter(debug: bool, options: &LoggingSection) -> EnvFilter {
    let mut filter = EnvFilter::new(if debug { "debug" } else { "info" });
    for (target, level) in &options.default_log_levels {
        match directive(target, level) {
            Some(directive) => filter = filter.add_directive(directive),
            None => eprintln!("ignoring default_log_levels item {target}={level}"),
        }
    }
    filter
}

/// `target=LEVEL` in oslo's spelling as a tracing directive.
fn directive(target: &str, level: &str) -> Option<Directive> {
    let level = match level.to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" | "WARNING" => "warn",
        "ERROR" | "CRITICAL" | "FATAL" => "error",
        _ => return None,
    };
    let target = target.trim().replace('.', "::");
    let target = TARGET_ALIASES
        .iter()
        .find(|(python, _)| *python == target)
        .map_or(target.as_str(), |(_, ours)| ours);
    if target.is_empty()
        || !target
            .chars()
            .all(|c| c.is_alphanumeric() || "_:-".contains(c))
    {
        return None;
    }
    Directive::from_str(&format!("{target}={level}")).ok()
}

/// The open log file and how to notice it was rotated.
#[derive(Debug)]
struct LogFile {
    path: PathBuf,
    watch: bool,
    state: Mutex<Opened>,
}

#[derive(Debug)]
struct Opened {
    file: File,
    /// The file's device and inode, to tell whether `path` still names it.
    identity: Option<(u64, u64)>,
}

impl LogFile {
    fn open(path: PathBuf, watch: bool) -> io::Result<Self> {
        let opened = Self::open_path(&path)?;
        Ok(Self {
            path,
            watch,
            state: Mutex::new(opened),
        })
    }

    fn open_path(path: &Path) -> io::Result<Opened> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let identity = identity(&file.metadata()?);
        Ok(Opened { file, identity })
    }

    fn reopen(&self) -> io::Result<()> {
        let fresh = Self::open_path(&self.path)?;
        *self.lock() = fresh;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Opened> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The file to write the next line to: with `watch`, reopened first if
    /// the path no longer names it (moved or removed).
    fn for_writing(&self) -> MutexGuard<'_, Opened> {
        let mut opened = self.lock();
        if self.watch {
            let current = std::fs::metadata(&self.path)
                .ok()
                .and_then(|m| identity(&m));
            if current.is_none() || current != opened.identity {
                if let Ok(fresh) = Self::open_path(&self.path) {
                    *opened = fresh;
                }
            }
        }
        opened
    }
}

#[cfg(unix)]
fn identity(metadata: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn identity(_metadata: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// Hands the formatter the log file, one line at a time.
struct FileWriter(Arc<LogFile>);

/// The log file, locked while one line is written.
struct FileGuard<'a>(MutexGuard<'a, Opened>);

impl Write for FileGuard<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.file.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.file.flush()
    }
}

impl<'a> MakeWriter<'a> for FileWriter {
    type Writer = FileGuard<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        FileGuard(self.0.for_writing())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oslo_levels_and_python_names_become_directives() {
        let d = |t: &str, l: &str| directive(t, l).map(|d| d.to_string());
        assert_eq!(d("sqlalchemy", "WARN").as_deref(), Some("sqlx=warn"));
        assert_eq!(
            d("placement_http.keystone", "DEBUG").as_deref(),
            Some("placement_http::keystone=debug")
        );
        assert_eq!(
            d("keystonemiddleware", "CRITICAL").as_deref(),
            Some("placement_http::keystone=error")
        );
        assert_eq!(d("sqlx", "verbose"), None);
        assert_eq!(d("bad target[x]", "INFO"), None);
    }
}
