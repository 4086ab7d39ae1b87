//! Placement's HTTP API: the route table, the middleware stack, the error
//! envelope and the handlers, wire-compatible with upstream placement 16.0.0
//! (microversions 1.0–1.39). No SQL here: handlers call the store's `ops`.
//!
//! # Layout
//! - [`router`]: the whole application, built from [`AppState`]; the binary
//!   serves it.
//! - [`settings`]: [`HttpSettings`] (auth strategy, mount prefix) and the
//!   shared [`AppState`].
//! - [`health`]: `GET /healthcheck` in oslo.middleware's format, outside
//!   the stack (no auth), single-flight on the database.
//! - [`keystone`]: Keystone token validation for the `keystone` strategy,
//!   as keystonemiddleware's `auth_token` does it.
//! - [`metrics`]: Prometheus metrics of one application, off unless asked
//!   for, served on a listener of their own.
//! - [`middleware`]: the stack in upstream's order — request id, span and
//!   log line; auth; microversion negotiation; pre-dispatch checks.
//! - `routes`: the one route table in upstream's order, the JSON 404 and the
//!   405 with `Allow`.
//! - `handlers`: one module per upstream handler module.
//! - [`extract`]: extractors for the microversion ([`WantVersion`]) and the
//!   per-handler `Accept`/`Content-Type` checks; [`context`] for the
//!   [`RequestContext`].
//! - [`error`]: [`ApiError`] and the closed [`ErrorCode`] table; `envelope`
//!   writes every error body exactly as upstream's webob exceptions do.
//! - `request_groups`: the microversion's capabilities for core's
//!   request-group parser, and its errors as 400s.
//! - `query`: query strings read and validated as upstream's `req.GET` and
//!   `validate_query_params` do.
//! - [`json`]: JSON bodies formatted byte for byte like Python's
//!   `json.dumps`.
//! - `accept`, `wsgi`: header semantics as webob and WSGI servers have them.
//! - `body`: request bodies parsed with the texts of Python's `json` and
//!   schema-checked, as upstream's `extract_json` reports.
//! - `schema`: upstream's JSON schemas written once as data (one module per
//!   `placement/schemas/*.py`, composed by copy-then-edit per
//!   microversion), the one validator for bodies and query strings, and the
//!   one printer of `jsonschema`'s error text (Python `repr`/`pprint`);
//!   `tests/corpus/schema-errors.jsonl` holds upstream's answers to check
//!   it against.
//!
//! # Serving
//! ```no_run
//! use std::net::SocketAddr;
//!
//! use placement_http::{AppState, AuthStrategy, HttpSettings, UrlPrefix};
//!
//! async fn serve(store: placement_store::Database) -> Result<(), Box<dyn std::error::Error>> {
//!     let settings = HttpSettings {
//!         url_prefix: UrlPrefix::new("/placement")?,
//!         ..HttpSettings::new(AuthStrategy::Keystone)
//!     };
//!     let app = placement_http::router(AppState::new(settings, store));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8778").await?;
//!     axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//!     Ok(())
//! }
//! ```
//! With connect info the request log names the client address.
#![forbid(unsafe_code)]

mod accept;
mod body;
pub mod context;
mod envelope;
pub mod error;
pub mod extract;
mod handlers;
pub mod health;
pub mod json;
pub mod keystone;
pub mod metrics;
pub mod middleware;
pub mod policy;
mod query;
mod request_groups;
mod routes;
mod schema;
pub mod settings;
mod wsgi;

pub use context::RequestContext;
pub use error::{ApiError, ErrorCode};
pub use extract::{AcceptJson, JsonContent, WantVersion};
pub use health::{HealthBackend, HealthSettings};
pub use middleware::cors::CorsSettings;
pub use settings::{AppState, AuthStrategy, CandidatesSettings, HttpSettings, UrlPrefix};

/// The placement application: the route table inside the middleware stack,
/// mounted under the configured prefix, with the health probe in front of
/// the stack.
pub fn router(state: AppState) -> axum::Router {
    let routes = routes::build(&state.settings.url_prefix);
    let health = health::Health::new(&state.settings.healthcheck, state.store.clone());
    let paths = health.paths(&state.settings.url_prefix);
    let prefix_root = state.settings.url_prefix.clone();
    let app = middleware::apply(routes, state);
    let mut front = axum::Router::new();
    for path in paths {
        // The probe is matched before the API, so a path naming an API
        // route would hide it: never the version document at the root (an
        // operator who names another route gets the probe there, as oslo's
        // paste pipeline would).
        if prefix_root
            .path_info(&path)
            .is_some_and(|p| p == "/" || p.is_empty())
        {
            continue;
        }
        front = front.route(&path, axum::routing::any(health::healthcheck));
    }
    front.with_state(health).fallback_service(app)
}

/// A layer the code relies on did not run: a wiring bug, answered with a 500.
#[derive(Debug, thiserror::Error)]
#[error("the {0} middleware did not run")]
pub(crate) struct MissingLayer(pub(crate) &'static str);
