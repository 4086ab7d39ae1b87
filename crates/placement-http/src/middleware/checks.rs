//! The check upstream's `PlacementHandler` makes on every request before
//! dispatch, so even for unknown paths: a body (Content-Length > 0) needs a
//! Content-Type. Errors raised here carry the microversion header but no
//! `Vary`, as upstream's do.
//!
//! The content-type and accept checks that upstream applies per handler
//! live in [`crate::extract`] as extractors, so each handler keeps
//! upstream's order of checks.

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::wsgi::header_text;

/// Refuses a body without a content type, or a content length that is not
/// an integer.
pub(crate) async fn content_type_with_body(request: Request, next: Next) -> Response {
    let length = header_text(request.headers(), &header::CONTENT_LENGTH);
    if let Some(length) = length.filter(|length| !length.is_empty()) {
        let Some(positive) = python_int_is_positive(&length) else {
            return ApiError::bad_request("content-length header must be an integer")
                .before_dispatch()
                .into_response();
        };
        let content_type = header_text(request.headers(), &header::CONTENT_TYPE);
        if positive && content_type.is_none_or(|content_type| content_type.is_empty()) {
            return ApiError::bad_request("content-type header required when content-length > 0")
                .before_dispatch()
                .into_response();
        }
    }
    next.run(request).await
}

/// Whether Python's `int(text) > 0`, or `None` where `int()` would raise:
/// surrounding whitespace and a sign are allowed, as are single underscores
/// between digits.
fn python_int_is_positive(text: &str) -> Option<bool> {
    let text = text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c));
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut nonzero = false;
    let mut previous_was_digit = false;
    for byte in digits.bytes() {
        match byte {
            b'0'..=b'9' => {
                nonzero |= byte != b'0';
                previous_was_digit = true;
            }
            b'_' if previous_was_digit => previous_was_digit = false,
            _ => return None,
        }
    }
    previous_was_digit.then_some(nonzero && !negative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_is_read_like_python_int() {
        assert_eq!(python_int_is_positive("12"), Some(true));
        assert_eq!(python_int_is_positive(" 1_2 "), Some(true));
        assert_eq!(python_int_is_positive("0"), Some(false));
        assert_eq!(python_int_is_positive("-3"), Some(false));
        assert_eq!(python_int_is_positive("+00"), Some(false));
        assert_eq!(python_int_is_positive("hi mom"), None);
        assert_eq!(python_int_is_positive("1__2"), None);
        assert_eq!(python_int_is_positive(""), None);
    }
}
