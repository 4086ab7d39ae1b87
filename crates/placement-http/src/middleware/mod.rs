//! The middleware stack, in upstream's order of effect, outermost first:
//!
//! 0. `metrics::track`, only when metrics are on: counts and times every
//!    request, whatever answered it;
//! 1. `request_log`: request id and span, `Accept` default, panics, the
//!    error envelope, `x-openstack-request-id`, the request log line;
//! 2. `cors`, only when an origin is allowed: preflights and CORS headers,
//!    outside auth as upstream's, so 401s carry them too;
//! 3. `auth`: the strategy's check and the request context (its 401s
//!    come before, and so without, microversion headers, as upstream's);
//! 4. `microversion`: negotiation and the version headers;
//! 5. `checks`: what upstream's `PlacementHandler` checks before dispatch;
//! 6. the route table, with its 404 and 405.

use std::sync::Arc;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;
use tower::ServiceBuilder;

use crate::settings::AppState;

pub(crate) mod auth;
pub(crate) mod checks;
pub mod cors;
pub(crate) mod microversion;
pub(crate) mod request_log;

/// Wraps `routes` in placement's middleware stack and binds the state.
///
/// The stack wraps the routed application as a whole, not each route, so
/// that what it answers itself (a refused microversion, a 401) is not
/// decorated by the router (axum would add `Allow` to those on known paths).
///
/// [`crate::router`] applies it to the route table; it is public so that
/// tests can mount probe routes with exactly the production stack around
/// them.
pub fn apply(routes: Router<AppState>, state: AppState) -> Router {
    let cors = state
        .settings
        .cors
        .enabled()
        .then(|| from_fn_with_state(Arc::new(state.settings.cors.clone()), cors::cors));
    let metrics = state
        .metrics
        .clone()
        .map(|metrics| from_fn_with_state(metrics, crate::metrics::track));
    let stack = ServiceBuilder::new()
        .option_layer(metrics)
        .layer(from_fn(request_log::request_log))
        .option_layer(cors)
        .layer(from_fn_with_state(state.clone(), auth::authenticate))
        .layer(from_fn(microversion::negotiate))
        .layer(from_fn(checks::content_type_with_body))
        .service(routes.with_state(state));
    Router::new().fallback_service(stack)
}
