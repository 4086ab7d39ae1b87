//! Microversion negotiation (microversion-parse's `MicroversionMiddleware`):
//! reads `OpenStack-API-Version`, refuses what cannot be served (400/406,
//! before anything else runs), and stamps the chosen version on every
//! response that gets past it, errors included:
//! `openstack-api-version: placement X.Y`, plus `vary: openstack-api-version`
//! unless the error was raised before dispatch (upstream adds `Vary` only to
//! responses that come back, not to exceptions that propagate).
//!
//! The version goes into the request's extensions for
//! [`crate::WantVersion`] and into the response's for the envelope (the
//! error `code` from 1.23) and the request log.

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use placement_core::microversion::{Microversion, SERVICE_TYPE};

use crate::error::ApiError;
use crate::wsgi::header_text;

/// The standard header, in the lower case upstream sends it.
pub(crate) const OPENSTACK_API_VERSION: HeaderName =
    HeaderName::from_static("openstack-api-version");

/// Negotiates the version and stamps the response; see the module docs.
pub(crate) async fn negotiate(mut request: Request, next: Next) -> Response {
    let requested = header_text(request.headers(), &OPENSTACK_API_VERSION);
    let microversion = match Microversion::from_header(requested.as_deref()) {
        Ok(microversion) => microversion,
        Err(error) => return ApiError::from_microversion(&error).into_response(),
    };
    request.extensions_mut().insert(microversion);
    let mut response = next.run(request).await;
    let vary = response
        .extensions()
        .get::<ApiError>()
        .is_none_or(|error| error.vary);
    if let Ok(value) = HeaderValue::from_str(&format!("{SERVICE_TYPE} {microversion}")) {
        response.headers_mut().append(OPENSTACK_API_VERSION, value);
    }
    if vary {
        response.headers_mut().append(
            header::VARY,
            HeaderValue::from_static("openstack-api-version"),
        );
    }
    response.extensions_mut().insert(microversion);
    response
}
