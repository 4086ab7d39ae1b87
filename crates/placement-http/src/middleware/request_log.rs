//! The outermost layer (upstream's `RequestLog`, a subclass of oslo's
//! `RequestId`, plus `FaultWrapper`'s safety net):
//! - gives each request its id `req-<uuid4>` and a tracing span carrying it,
//!   so every log line of the request names it; a well-formed inbound
//!   `X-Openstack-Request-Id` is recorded as the global request id;
//! - makes a missing or `*/*` `Accept` mean JSON, so clients that do not ask
//!   get JSON errors;
//! - turns a panic into a 500;
//! - has the envelope write error bodies;
//! - sends `x-openstack-request-id` on every response, errors included;
//! - logs one line per request with method, path, status, length,
//!   microversion and duration.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use axum::body::HttpBody;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use placement_core::microversion::Microversion;
use tracing::Instrument;
use uuid::Uuid;

use crate::context::RequestIds;
use crate::envelope::{self, RequestFacts};
use crate::error::ApiError;
use crate::wsgi::header_text;

/// The header carrying request ids, inbound (global) and outbound (local).
pub(crate) const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-openstack-request-id");

/// A handler panicked; the payload's message, if it had one.
#[derive(Debug, thiserror::Error)]
#[error("handler panicked: {0}")]
struct Panicked(String);

/// Runs the request inside its span; see the module docs.
pub(crate) async fn request_log(mut request: Request, next: Next) -> Response {
    let request_id = format!("req-{}", Uuid::new_v4());
    let global_request_id =
        header_text(request.headers(), &REQUEST_ID_HEADER).filter(|id| is_request_id(id));
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        global_request_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
        project_id = tracing::field::Empty,
    );
    if let Some(global) = &global_request_id {
        span.record("global_request_id", tracing::field::display(global));
    }

    let accept = header_text(request.headers(), &header::ACCEPT);
    if accept.as_deref().is_none_or(|a| a.is_empty() || a == "*/*") {
        request
            .headers_mut()
            .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    }
    let facts = RequestFacts {
        method: request.method().clone(),
        accept: header_text(request.headers(), &header::ACCEPT),
        content_type: header_text(request.headers(), &header::CONTENT_TYPE),
        request_id: request_id.clone(),
    };
    let uri = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), ToString::to_string);
    let remote_addr = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "-".to_owned(), |info| info.0.ip().to_string());
    request.extensions_mut().insert(RequestIds {
        request_id: request_id.clone(),
        global_request_id,
    });

    async move {
        let started = Instant::now();
        tracing::debug!(%remote_addr, method = %facts.method, %uri, "starting request");
        let response = match AssertUnwindSafe(next.run(request)).catch_unwind().await {
            Ok(response) => response,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                ApiError::internal(Panicked(message)).into_response()
            }
        };
        let mut response = envelope::finish(response, &facts).await;
        if !response.headers().contains_key(&REQUEST_ID_HEADER) {
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
        }
        let microversion = response
            .extensions()
            .get::<Microversion>()
            .map_or_else(|| "-".to_owned(), ToString::to_string);
        let len = response
            .body()
            .size_hint()
            .exact()
            .map_or_else(|| "-".to_owned(), |len| len.to_string());
        tracing::info!(
            %remote_addr,
            method = %facts.method,
            path = %uri,
            status = response.status().as_u16(),
            %len,
            %microversion,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        response
    }
    .instrument(span)
    .await
}

/// oslo.middleware's test for an inbound id: `req-` and a lower-case,
/// hyphenated UUID.
fn is_request_id(id: &str) -> bool {
    let Some(uuid) = id.strip_prefix("req-") else {
        return false;
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, len)| {
            group.len() == len
                && group
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inbound_id_must_be_req_and_a_lower_case_uuid() {
        assert!(is_request_id("req-12345678-1234-1234-1234-123456789abc"));
        assert!(!is_request_id("req-12345678-1234-1234-1234-123456789ABC"));
        assert!(!is_request_id("12345678-1234-1234-1234-123456789abc"));
        assert!(!is_request_id("req-12345678123412341234123456789abc"));
        assert!(!is_request_id("req-12345678-1234-1234-1234-123456789abcd"));
        assert!(!is_request_id("req-"));
    }
}
