//! `GET /healthcheck`: the probe load balancers and orchestrators use, in
//! oslo.middleware's `Healthcheck` format, so the tooling operators point
//! at other OpenStack services works unchanged.
//!
//! The answer is the list of the configured checks' results: oslo's file
//! backends (`disable_by_file`, `disable_by_files_ports`, `enable_by_files`)
//! in the configured order, then ours, the database. Any failed check makes
//! it a 503. Formats follow oslo: plain text (each result's reason on a
//! line), HTML, or JSON (`{"detailed": false, "reasons": [...]}`, or with
//! `detailed` each reason as `{"reason", "details", "class"}`), chosen by
//! `Accept` (plain text when nothing matches); HEAD answers 204 or 503
//! without a body.
//!
//! The route sits outside the whole middleware stack, as oslo's app sits
//! in front of the paste pipeline: no authentication, no microversion, no
//! request id, no access log line, and not counted in request metrics.
//!
//! # Cost
//! The database check is one `SELECT 1` on a pooled connection, bounded by
//! [`HealthSettings::database_timeout`] (the wait for a connection
//! included). Probes are single-flight: one probe at a time asks the
//! database, the others wait for its answer, and an answer is reused for
//! [`HealthSettings::reuse_for`]. So a flood of probes costs at most one
//! connection and about one query per reuse window, and cannot starve the
//! API of its pool.
//!
//! NOTE(upstream): oslo's `allowed_source_ranges` and
//! `ignore_proxied_requests` are not honoured, nor its Python-specific
//! detail (garbage collector, thread stacks): a detailed answer carries the
//! results, the time and the platform.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use placement_store::Database;
use serde_json::{json, Value};

use crate::accept::Accept;
use crate::settings::UrlPrefix;
use crate::wsgi::header_text;

/// oslo.middleware's healthcheck backends placement-rs honours, each
/// configured from `[healthcheck]` as oslo configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthBackend {
    /// `disable_by_file`: unhealthy while `disable_by_file_path` exists
    /// (for draining a node).
    DisableByFile(Option<PathBuf>),
    /// `disable_by_files_ports`: unhealthy while the file listed for the
    /// port the API listens on exists (`disable_by_file_paths`,
    /// `port:path` items).
    DisableByFilesPorts(Vec<(u16, PathBuf)>),
    /// `enable_by_files`: unhealthy while any of `enable_by_file_paths` is
    /// missing.
    EnableByFiles(Vec<PathBuf>),
}

/// `[healthcheck]`: what the probe checks and how it answers.
#[derive(Debug, Clone)]
pub struct HealthSettings {
    /// `path` (oslo's former option, default `/healthcheck`): where the
    /// probe answers, relative to the host root and, under a URL prefix,
    /// relative to the mount as well.
    pub path: String,
    /// `detailed`: JSON and HTML answers carry each result's details.
    pub detailed: bool,
    /// `backends`, in order.
    pub backends: Vec<HealthBackend>,
    /// The port the API listens on, for `disable_by_files_ports`.
    pub server_port: Option<u16>,
    /// `database_timeout` (placement-rs's own): how long the database may
    /// take to hand out a connection and answer `SELECT 1`.
    pub database_timeout: Duration,
    /// How long one database answer is reused for later probes.
    pub reuse_for: Duration,
}

impl Default for HealthSettings {
    /// oslo's defaults (no backend, not detailed, `/healthcheck`), and a
    /// database check bounded at 2 s whose answer is reused for 1 s.
    fn default() -> Self {
        Self {
            path: "/healthcheck".to_owned(),
            detailed: false,
            backends: Vec::new(),
            server_port: None,
            database_timeout: Duration::from_secs(2),
            reuse_for: Duration::from_secs(1),
        }
    }
}

/// One check's outcome: oslo's `HealthcheckResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CheckResult {
    available: bool,
    reason: String,
    details: String,
}

impl CheckResult {
    fn ok(details: impl Into<String>) -> Self {
        Self {
            available: true,
            reason: "OK".to_owned(),
            details: details.into(),
        }
    }

    fn failed(reason: &str, details: impl Into<String>) -> Self {
        Self {
            available: false,
            reason: reason.to_owned(),
            details: details.into(),
        }
    }
}

/// The database check, single-flight with a reused answer.
struct DatabaseProbe {
    store: Database,
    timeout: Duration,
    reuse_for: Duration,
    last: tokio::sync::Mutex<Option<(Instant, CheckResult)>>,
}

/// The reason a failed database check gives.
const DATABASE_UNAVAILABLE: &str = "DATABASE UNAVAILABLE";

impl DatabaseProbe {
    async fn check(&self) -> CheckResult {
        // Whoever holds the lock is asking the database; the rest queue
        // here and take its answer, so a flood asks once.
        let Ok(mut last) = tokio::time::timeout(self.timeout, self.last.lock()).await else {
            return CheckResult::failed(
                DATABASE_UNAVAILABLE,
                format!("no database answer within {} ms", self.timeout.as_millis()),
            );
        };
        if let Some((at, result)) = last.as_ref() {
            if at.elapsed() < self.reuse_for {
                return result.clone();
            }
        }
        let started = Instant::now();
        let result = match tokio::time::timeout(
            self.timeout,
            placement_store::ops::health::ping(&self.store),
        )
        .await
        {
            Ok(Ok(())) => CheckResult::ok(format!(
                "database answered in {:.1} ms",
                started.elapsed().as_secs_f64() * 1000.0
            )),
            Ok(Err(error)) => {
                tracing::warn!(%error, "healthcheck: the database did not answer");
                CheckResult::failed(DATABASE_UNAVAILABLE, error.to_string())
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = self.timeout.as_millis(),
                    "healthcheck: no database answer in time"
                );
                CheckResult::failed(
                    DATABASE_UNAVAILABLE,
                    format!("no database answer within {} ms", self.timeout.as_millis()),
                )
            }
        };
        *last = Some((Instant::now(), result.clone()));
        result
    }
}

/// What the route handler needs.
#[derive(Clone)]
pub(crate) struct Health {
    settings: Arc<HealthSettings>,
    database: Arc<DatabaseProbe>,
}

impl Health {
    pub(crate) fn new(settings: &HealthSettings, store: Database) -> Self {
        Self {
            database: Arc::new(DatabaseProbe {
                store,
                timeout: settings.database_timeout,
                reuse_for: settings.reuse_for,
                last: tokio::sync::Mutex::new(None),
            }),
            settings: Arc::new(settings.clone()),
        }
    }

    /// The paths the probe answers on: its path, and under a prefix the
    /// same path inside the mount (where a proxy in front sends it).
    pub(crate) fn paths(&self, prefix: &UrlPrefix) -> Vec<String> {
        let path = if self.settings.path.starts_with('/') {
            self.settings.path.clone()
        } else {
            format!("/{}", self.settings.path)
        };
        let mut paths = vec![path.clone()];
        if !prefix.as_str().is_empty() {
            paths.push(format!("{}{path}", prefix.as_str()));
        }
        paths
    }

    async fn results(&self) -> Vec<CheckResult> {
        let mut results: Vec<CheckResult> = self
            .settings
            .backends
            .iter()
            .map(|backend| file_check(backend, self.settings.server_port))
            .collect();
        results.push(self.database.check().await);
        results
    }
}

/// oslo's file backends, with oslo's reasons and details.
fn file_check(backend: &HealthBackend, server_port: Option<u16>) -> CheckResult {
    match backend {
        HealthBackend::DisableByFile(None) => {
            CheckResult::ok("No 'disable_by_file_path' configuration value specified")
        }
        HealthBackend::DisableByFile(Some(path)) => {
            if path.exists() {
                CheckResult::failed(
                    "DISABLED BY FILE",
                    format!("Path '{}' was found", path.display()),
                )
            } else {
                CheckResult::ok(format!("Path '{}' was not found", path.display()))
            }
        }
        HealthBackend::DisableByFilesPorts(paths) => {
            let path = server_port
                .and_then(|port| paths.iter().find(|(p, _)| *p == port))
                .map(|(_, path)| path);
            match path {
                Some(path) if path.exists() => CheckResult::failed("DISABLED BY FILE", ""),
                _ => CheckResult::ok(""),
            }
        }
        HealthBackend::EnableByFiles(paths) => match paths.iter().find(|path| !path.exists()) {
            Some(missing) => CheckResult::failed(
                "FILE PATH MISSING",
                format!("File path {} is missing", missing.display()),
            ),
            None => CheckResult::ok("Specified file paths are available"),
        },
    }
}

/// oslo's formats, in its order of preference for ties.
const OFFERS: [&str; 3] = ["text/plain", "text/html", "application/json"];

/// Answers a probe; see the module docs.
pub(crate) async fn healthcheck(State(health): State<Health>, request: Request) -> Response {
    let results = health.results().await;
    let healthy = results.iter().all(|r| r.available);
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if request.method() == Method::HEAD {
        let status = if healthy {
            StatusCode::NO_CONTENT
        } else {
            status
        };
        return plain(status, "text/plain", Body::empty());
    }
    let accept = header_text(request.headers(), &header::ACCEPT);
    let offer = Accept::parse(accept.as_deref())
        .acceptable_offers(&OFFERS)
        .first()
        .copied()
        .unwrap_or("text/plain");
    let detailed = health.settings.detailed;
    match offer {
        "application/json" => plain(
            status,
            "application/json",
            Body::from(json_body(&results, detailed)),
        ),
        "text/html" => plain(
            status,
            "text/html",
            Body::from(html_body(&results, detailed)),
        ),
        _ => plain(status, "text/plain", Body::from(text_body(&results))),
    }
}

fn plain(status: StatusCode, content_type: &'static str, body: Body) -> Response {
    let content_type = match content_type {
        // webob adds the charset to textual types, not to JSON.
        "application/json" => HeaderValue::from_static("application/json"),
        "text/html" => HeaderValue::from_static("text/html; charset=UTF-8"),
        _ => HeaderValue::from_static("text/plain; charset=UTF-8"),
    };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Each non-empty reason on its own line.
fn text_body(results: &[CheckResult]) -> String {
    results
        .iter()
        .filter(|r| !r.reason.is_empty())
        .map(|r| r.reason.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// JSON as oslo writes it: keys sorted, indented by four spaces.
fn json_body(results: &[CheckResult], detailed: bool) -> String {
    let body = if detailed {
        json!({
            "detailed": true,
            "now": chrono::Utc::now().naive_utc().to_string(),
            "platform": format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            "reasons": results.iter().map(|r| json!({
                "reason": r.reason,
                "details": r.details,
                "class": "HealthcheckResult",
            })).collect::<Vec<Value>>(),
        })
    } else {
        json!({
            "detailed": false,
            "reasons": results.iter().map(|r| r.reason.as_str()).collect::<Vec<_>>(),
        })
    };
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    match serde::Serialize::serialize(&body, &mut serializer) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(_) => body.to_string(),
    }
}

/// oslo's HTML table of results (without its Python server status).
fn html_body(results: &[CheckResult], detailed: bool) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&#34;")
            .replace('\'', "&#39;")
    };
    let mut html = String::from("<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n");
    html.push_str(&format!("<H2>Result of {} checks:</H2>\n", results.len()));
    html.push_str("<TABLE bgcolor=\"#ffffff\" border=\"1\">\n<TBODY>\n<TR>\n");
    if detailed {
        html.push_str("<TH>\nKind\n</TH>\n<TH>\nReason\n</TH>\n<TH>\nDetails\n</TH>\n");
    } else {
        html.push_str("<TH>\nReason\n</TH>\n");
    }
    html.push_str("</TR>\n");
    for result in results.iter().filter(|r| !r.reason.is_empty()) {
        html.push_str("<TR>\n");
        if detailed {
            html.push_str("    <TD>HealthcheckResult</TD>\n");
        }
        html.push_str(&format!("    <TD>{}</TD>\n", escape(&result.reason)));
        if detailed {
            html.push_str(&format!("    <TD>{}</TD>\n", escape(&result.details)));
        }
        html.push_str("</TR>\n");
    }
    html.push_str("</TBODY>\n</TABLE>\n<HR></HR>\n</BODY>\n</HTML>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_written_as_python_json_dumps_with_indent_4_and_sorted_keys() {
        let body = json_body(&[CheckResult::ok("x")], false);
        assert_eq!(
            body,
            "{\n    \"detailed\": false,\n    \"reasons\": [\n        \"OK\"\n    ]\n}"
        );
    }

    #[test]
    fn plain_text_lists_each_reason_on_a_line() {
        let results = [
            CheckResult::failed("DISABLED BY FILE", "Path '/x' was found"),
            CheckResult::ok("fine"),
        ];
        assert_eq!(text_body(&results), "DISABLED BY FILE\nOK");
    }

    #[test]
    fn file_backends_answer_with_oslos_reasons() {
        let missing = PathBuf::from("/nonexistent/placement-health");
        let present = std::env::temp_dir();
        assert!(file_check(&HealthBackend::DisableByFile(Some(missing.clone())), None).available);
        let disabled = file_check(&HealthBackend::DisableByFile(Some(present.clone())), None);
        assert_eq!(disabled.reason, "DISABLED BY FILE");
        assert!(!disabled.available);
        let by_port = HealthBackend::DisableByFilesPorts(vec![(8778, present.clone())]);
        assert!(!file_check(&by_port, Some(8778)).available);
        assert!(file_check(&by_port, Some(9999)).available);
        let enable = file_check(&HealthBackend::EnableByFiles(vec![present, missing]), None);
        assert_eq!(enable.reason, "FILE PATH MISSING");
    }
}
