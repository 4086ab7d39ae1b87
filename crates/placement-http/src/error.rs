//! The one error type handlers and middleware return, and the closed table of
//! error codes placement puts in it.
//!
//! An [`ApiError`] turns into a response that carries only its status and
//! extra headers; the body is written at the outermost layer (the
//! `envelope` module), which knows what the request asked for (microversion,
//! `Accept`, method) and can therefore produce exactly what upstream's webob
//! exceptions and `json_error_formatter` produce.

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use placement_core::microversion::MicroversionError;

/// The `code` of an error object (from microversion 1.23): one variant per
/// constant in upstream's `errors.py`, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorCode {
    /// `placement.undefined_code`: every error without a specific code.
    #[default]
    Default,
    /// `placement.inventory.inuse`: inventory cannot change while allocated.
    InventoryInuse,
    /// `placement.concurrent_update`: a generation did not match.
    ConcurrentUpdate,
    /// `placement.duplicate_name`: a provider name is taken.
    DuplicateName,
    /// `placement.resource_provider.inuse`: a provider with allocations.
    ProviderInUse,
    /// `placement.resource_provider.cannot_delete_parent`: a provider with
    /// children.
    ProviderCannotDeleteParent,
    /// `placement.resource_provider.not_found`: a provider named in a body
    /// does not exist (reshaper).
    ResourceProviderNotFound,
    /// `placement.query.duplicate_key`: a query parameter given twice where
    /// only once is allowed.
    IllegalDuplicateQueryparam,
    /// `placement.query.bad_value`: a query parameter's value is invalid.
    QueryparamBadValue,
    /// `placement.query.missing_value`: a required query parameter is missing.
    QueryparamMissingValue,
}

impl ErrorCode {
    /// The wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Default => "placement.undefined_code",
            Self::InventoryInuse => "placement.inventory.inuse",
            Self::ConcurrentUpdate => "placement.concurrent_update",
            Self::DuplicateName => "placement.duplicate_name",
            Self::ProviderInUse => "placement.resource_provider.inuse",
            Self::ProviderCannotDeleteParent => "placement.resource_provider.cannot_delete_parent",
            Self::ResourceProviderNotFound => "placement.resource_provider.not_found",
            Self::IllegalDuplicateQueryparam => "placement.query.duplicate_key",
            Self::QueryparamBadValue => "placement.query.bad_value",
            Self::QueryparamMissingValue => "placement.query.missing_value",
        }
    }
}

/// Which body format an error is written in. Placement's own errors use the
/// API-WG envelope; the 401s of the auth middleware come from outside
/// placement's formatter upstream and keep their own shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `{"errors": [{"status", "title", "detail", …}]}`.
    Placement,
    /// webob's built-in JSON: `{"message", "code": "401 Unauthorized", "title"}`.
    Webob,
    /// keystonemiddleware's fixed 401 body.
    Keystone,
}

/// An error response: status, error code and the specific detail message.
///
/// `detail` is the message upstream passes to the webob exception
/// (`"No resource provider with uuid … found"`); the envelope adds webob's
/// explanation for the status around it, as upstream does.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The error code, shown from microversion 1.23.
    pub code: ErrorCode,
    /// The specific message; may be empty (a bare webob exception).
    pub detail: String,
    /// Extra response headers, such as `Allow` on a 405; boxed because
    /// they are rare and the error travels in every handler's `Result`.
    headers: Option<Box<HeaderMap>>,
    style: Style,
    /// Whether the microversion middleware adds `Vary`: upstream adds it to
    /// every response that came back from a handler, but not to errors raised
    /// before dispatch (the route-level 404, the content-length 400).
    pub(crate) vary: bool,
    /// The hidden cause of a 500, logged once by the envelope.
    pub(crate) cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    /// An error with the given status and detail and the default code.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: ErrorCode::Default,
            detail: detail.into(),
            headers: None,
            style: Style::Placement,
            vary: true,
            cause: None,
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 403 Forbidden, as policy refusals are.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// 404 Not Found.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 409 Conflict.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    /// 500 Internal Server Error. The cause is logged once, with the request
    /// id, and never shown to the client.
    // NOTE(upstream): fault_wrap.py puts str(exception) in the detail; we do
    // not leak internals.
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        let mut error = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "");
        error.cause = Some(Arc::new(cause));
        error
    }

    /// The same error with a specific code.
    #[must_use]
    pub fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = code;
        self
    }

    /// The 405 for a path whose route table entry allows `allow`
    /// (upstream's `handle_405`).
    pub(crate) fn method_not_allowed(allow: &str) -> Self {
        let mut error = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "The method specified is not allowed for this resource.",
        );
        if let Ok(value) = HeaderValue::from_str(allow) {
            let mut headers = HeaderMap::new();
            headers.insert(header::ALLOW, value);
            error.headers = Some(Box::new(headers));
        }
        error
    }

    /// The 400 or 406 for a version the client cannot have.
    pub(crate) fn from_microversion(error: &MicroversionError) -> Self {
        let status = match error {
            MicroversionError::Malformed { .. } => StatusCode::BAD_REQUEST,
            MicroversionError::Unacceptable { .. } => StatusCode::NOT_ACCEPTABLE,
        };
        Self::new(status, format!("Invalid microversion: {error}"))
    }

    /// The bare 401 webob produces for auth failures inside placement's
    /// middleware (noauth2 without a token, a context without a user).
    pub(crate) fn unauthorized() -> Self {
        Self {
            style: Style::Webob,
            ..Self::new(StatusCode::UNAUTHORIZED, "")
        }
    }

    /// The 401 keystonemiddleware returns for a request without a valid
    /// token.
    pub(crate) fn keystone_unauthorized() -> Self {
        Self {
            style: Style::Keystone,
            ..Self::new(StatusCode::UNAUTHORIZED, "")
        }
    }

    /// The 503 keystonemiddleware returns when Keystone cannot be asked
    /// about a token (webob's `HTTPServiceUnavailable`, rendered as webob
    /// renders it). The cause is logged once by the envelope.
    pub(crate) fn keystone_unavailable(
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            style: Style::Webob,
            cause: Some(Arc::new(cause)),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The Keystone service is temporarily unavailable.",
            )
        }
    }

    /// Marks an error raised before dispatch, which upstream returns without
    /// `Vary`.
    #[must_use]
    pub(crate) fn before_dispatch(mut self) -> Self {
        self.vary = false;
        self
    }

    pub(crate) fn style(&self) -> Style {
        self.style
    }
}

/// Upstream's global mapping of what a handler lets escape: its dispatcher
/// answers a `NotFound` with 404 and the exception's text (outside the
/// handler, so without `Vary`); anything else is a 500, logged and hidden.
/// Every other store failure is mapped where it is handled, because
/// upstream words and codes the same failure differently per route.
impl From<placement_store::Error> for ApiError {
    fn from(error: placement_store::Error) -> Self {
        if error.is_not_found() {
            ApiError::not_found(error.to_string()).before_dispatch()
        } else {
            ApiError::internal(error)
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.detail)
    }
}

impl IntoResponse for ApiError {
    /// A placeholder with status and headers; the envelope middleware writes
    /// the body from the error kept in the extensions.
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        if let Some(headers) = &self.headers {
            response.headers_mut().extend((**headers).clone());
        }
        response.extensions_mut().insert(self);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_upstreams_wire_string() {
        let all = [
            (ErrorCode::Default, "placement.undefined_code"),
            (ErrorCode::InventoryInuse, "placement.inventory.inuse"),
            (ErrorCode::ConcurrentUpdate, "placement.concurrent_update"),
            (ErrorCode::DuplicateName, "placement.duplicate_name"),
            (
                ErrorCode::ProviderInUse,
                "placement.resource_provider.inuse",
            ),
            (
                ErrorCode::ProviderCannotDeleteParent,
                "placement.resource_provider.cannot_delete_parent",
            ),
            (
                ErrorCode::ResourceProviderNotFound,
                "placement.resource_provider.not_found",
            ),
            (
                ErrorCode::IllegalDuplicateQueryparam,
                "placement.query.duplicate_key",
            ),
            (ErrorCode::QueryparamBadValue, "placement.query.bad_value"),
            (
                ErrorCode::QueryparamMissingValue,
                "placement.query.missing_value",
            ),
        ];
        for (code, wire) in all {
            assert_eq!(code.as_str(), wire);
        }
    }

    #[test]
    fn microversion_errors_map_to_400_and_406() {
        let malformed = MicroversionError::Malformed {
            value: "foo".into(),
            reason: "r".into(),
        };
        let unacceptable = MicroversionError::Unacceptable {
            value: "1.40".into(),
        };
        assert_eq!(
            ApiError::from_microversion(&malformed).status,
            StatusCode::BAD_REQUEST
        );
        let error = ApiError::from_microversion(&unacceptable);
        assert_eq!(error.status, StatusCode::NOT_ACCEPTABLE);
        assert_eq!(
            error.detail,
            "Invalid microversion: Unacceptable version header: 1.40"
        );
    }

    #[test]
    fn the_placeholder_response_carries_status_headers_and_the_error() {
        let response = ApiError::method_not_allowed("GET, POST").into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET, POST");
        assert!(response.extensions().get::<ApiError>().is_some());
    }
}
