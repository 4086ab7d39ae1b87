//! Extractors for what upstream's handlers get from decorators and the WSGI
//! environment: the negotiated microversion (`want_version`), and the
//! per-handler `check_accept` and `require_content` checks.
//!
//! The checks are extractors rather than middleware because upstream applies
//! them per handler, in an order that varies with the handler (some check
//! the microversion first, some the `Accept` header); a handler lists its
//! extractors in the same order as upstream's decorators.

use std::ops::Deref;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use placement_core::microversion::Microversion;

use crate::accept::Accept;
use crate::error::ApiError;
use crate::wsgi::header_text;

/// The only media type placement reads and writes.
const JSON: &str = "application/json";

/// The microversion negotiated for this request.
///
/// ```
/// use placement_http::WantVersion;
///
/// async fn handler(WantVersion(mv): WantVersion) -> &'static str {
///     if mv.matches(1, 15) { "with cache headers" } else { "without" }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WantVersion(pub Microversion);

impl WantVersion {
    /// Refuses the request with a bare 404 below `major.minor`, as upstream's
    /// `version_handler(min_ver)` does for a route that does not exist yet at
    /// the requested version.
    ///
    /// # Errors
    /// The 404 when the version is older.
    pub fn require(self, major: u16, minor: u16) -> Result<Microversion, ApiError> {
        if self.0.matches(major, minor) {
            Ok(self.0)
        } else {
            Err(ApiError::not_found(""))
        }
    }
}

impl Deref for WantVersion {
    type Target = Microversion;

    fn deref(&self) -> &Microversion {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WantVersion {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Microversion>()
            .copied()
            .map(Self)
            .ok_or_else(|| ApiError::internal(crate::MissingLayer("microversion")))
    }
}

/// upstream's `check_accept('application/json')`: a valid `Accept` header
/// that does not accept JSON gets a 406. An absent or invalid header passes,
/// as in webob.
#[derive(Debug, Clone, Copy)]
pub struct AcceptJson;

impl<S: Send + Sync> FromRequestParts<S> for AcceptJson {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let accept = Accept::parse(header_text(&parts.headers, &header::ACCEPT).as_deref());
        if accept.is_valid() && accept.acceptable_offers(&[JSON]).is_empty() {
            return Err(ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                format!("Only {JSON} is provided"),
            ));
        }
        Ok(Self)
    }
}

/// upstream's `require_content('application/json')`: the request's media
/// type (parameters such as `charset` ignored) must be exactly
/// `application/json`, else 415.
#[derive(Debug, Clone, Copy)]
pub struct JsonContent;

impl<S: Send + Sync> FromRequestParts<S> for JsonContent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let raw = header_text(&parts.headers, &header::CONTENT_TYPE).unwrap_or_default();
        let media_type = raw.split(';').next().unwrap_or_default();
        if media_type == JSON {
            return Ok(Self);
        }
        let shown = if media_type.is_empty() {
            "None"
        } else {
            media_type
        };
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("The media type {shown} is not supported, use {JSON}"),
        ))
    }
}
