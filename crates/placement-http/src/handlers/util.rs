//! Response pieces every handler renders the same way as upstream's
//! `placement/util.py` and webob do: absolute `Location` headers and the
//! 1.15 cache headers.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue};
use chrono::NaiveDateTime;
use placement_core::policy::Target;

use crate::context::RequestContext;
use crate::error::ApiError;
use crate::policy::Denial;
use crate::settings::AppState;

/// The largest request body read. Upstream sets none; the biggest real
/// bodies (`POST /allocations`, `/reshaper` for large trees) are far below
/// this, and without a cap one request could exhaust memory.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The whole request body; one that cannot be read (or is over
/// [`MAX_BODY_BYTES`]) is reported as unreadable JSON, as upstream reports a
/// body it cannot decode.
pub(crate) async fn read_body(body: Body) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| ApiError::bad_request(format!("Malformed JSON: {e}")))
}

/// A path segment (`{uuid}`, `{name}`, `{resource_class}`); one axum cannot
/// decode matches no route, so it is the dispatcher's 404.
pub(crate) fn path_item<T>(path: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    path.map(|Path(item)| item)
        .map_err(|_| ApiError::not_found("").before_dispatch())
}

/// upstream's `context.can(action)`: the caller's own project and user are
/// the target. Handlers call it after the microversion, `Accept` and
/// `Content-Type` checks and before reading the body, the query or the
/// database, as upstream's handlers do.
pub(crate) fn authorize(
    state: &AppState,
    context: &RequestContext,
    action: &'static str,
) -> Result<(), ApiError> {
    let target = Target(BTreeMap::from([
        ("project_id".to_owned(), context.project_id.clone()),
        ("user_id".to_owned(), context.user_id.clone()),
    ]));
    authorize_target(state, context, action, &target)
}

/// [`authorize`] for handlers that take the request apart themselves (to
/// run upstream's checks in its decorator order).
pub(crate) async fn authorize_parts(
    state: &AppState,
    parts: &mut axum::http::request::Parts,
    action: &'static str,
) -> Result<(), ApiError> {
    use axum::extract::FromRequestParts;
    let context = RequestContext::from_request_parts(parts, state).await?;
    authorize(state, &context, action)
}

/// [`authorize`] against an explicit target (`/usages` checks the project
/// named in its query).
pub(crate) fn authorize_target(
    state: &AppState,
    context: &RequestContext,
    action: &'static str,
    target: &Target,
) -> Result<(), ApiError> {
    match state
        .policy
        .authorize(action, target, &context.credentials())
    {
        Ok(()) => Ok(()),
        // upstream raises PolicyNotAuthorized with the action alone on a
        // scope mismatch, and its own wording otherwise.
        Err(Denial::Forbidden) => Err(ApiError::forbidden(format!(
            "Policy does not allow {action} to be performed."
        ))),
        Err(Denial::Scope) => Err(ApiError::forbidden(action)),
        Err(Denial::Unregistered) => Err(ApiError::internal(UnregisteredPolicy(action))),
    }
}

/// A handler asked about an action no rule is registered for: a bug.
#[derive(Debug, thiserror::Error)]
#[error("policy rule {0} is not registered")]
struct UnregisteredPolicy(&'static str);

/// "Now", where upstream's `pick_last_modified` falls back to `utcnow()`.
pub(crate) fn utcnow() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// `Cache-Control: no-cache`, and `Last-Modified` when known (1.15 onwards;
/// callers check the microversion).
pub(crate) fn set_cache_headers(headers: &mut HeaderMap, last_modified: Option<NaiveDateTime>) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(when) = last_modified {
        let when = std::time::SystemTime::from(when.and_utc());
        if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(when)) {
            headers.insert(header::LAST_MODIFIED, value);
        }
    }
}

/// `Location` as webob sends it: absolute, on the host the request came in
/// on (port 80 left out), tabs and line breaks removed, characters sent as
/// Latin-1 bytes as WSGI carries them.
// NOTE(upstream): the scheme is always http, as upstream's WSGI servers
// report it unless proxy-header parsing is configured.
pub(crate) fn absolute_location(headers: &HeaderMap, path: &str) -> Option<HeaderValue> {
    let path: String = path
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let url = match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) => {
            let host = match host.rsplit_once(':') {
                Some((name, "80")) if !host.ends_with(']') => name,
                _ => host,
            };
            format!("http://{host}{path}")
        }
        None => path,
    };
    let bytes: Vec<u8> = url
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect();
    HeaderValue::from_bytes(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_is_absolute_on_the_request_host_without_port_80() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("example.com:80"));
        assert_eq!(
            absolute_location(&headers, "/traits/CUSTOM_A\n").unwrap(),
            "http://example.com/traits/CUSTOM_A"
        );
        headers.insert(header::HOST, HeaderValue::from_static("[::1]:80"));
        assert_eq!(absolute_location(&headers, "/x").unwrap(), "http://[::1]/x");
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8778"));
        assert_eq!(
            absolute_location(&headers, "/p/traits/CUSTOM_A").unwrap(),
            "http://127.0.0.1:8778/p/traits/CUSTOM_A"
        );
        assert_eq!(
            absolute_location(&HeaderMap::new(), "/traits/CUSTOM_A").unwrap(),
            "/traits/CUSTOM_A"
        );
    }

    #[tokio::test]
    async fn bodies_up_to_the_cap_are_read_and_larger_ones_refused() {
        let at_cap = read_body(Body::from(vec![b' '; MAX_BODY_BYTES]))
            .await
            .unwrap();
        assert_eq!(at_cap.len(), MAX_BODY_BYTES);
        let err = read_body(Body::from(vec![b' '; MAX_BODY_BYTES + 1]))
            .await
            .unwrap_err();
        assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn cache_headers_always_say_no_cache() {
        let mut headers = HeaderMap::new();
        set_cache_headers(&mut headers, None);
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        assert!(!headers.contains_key(header::LAST_MODIFIED));
        set_cache_headers(&mut headers, Some(chrono::DateTime::UNIX_EPOCH.naive_utc()));
        assert_eq!(
            headers[header::LAST_MODIFIED],
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }
}
