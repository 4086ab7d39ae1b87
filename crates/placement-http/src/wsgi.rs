//! Request headers as upstream's WSGI stack sees them: values are Latin-1
//! text, and repeated header lines arrive folded into one value joined by
//! commas (as gunicorn and mod_wsgi present them). Every place that compares
//! or echoes a header value goes through here, so the texts match upstream.

use axum::http::{HeaderMap, HeaderName};

/// The folded value of a header, or `None` when the request has none.
pub(crate) fn header_text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let mut text = String::new();
    for (index, value) in values.enumerate() {
        if index > 0 {
            text.push(',');
        }
        text.extend(value.as_bytes().iter().map(|&byte| char::from(byte)));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, HeaderValue};

    #[test]
    fn repeated_lines_are_folded_with_commas() {
        let mut headers = HeaderMap::new();
        headers.append(header::ACCEPT, HeaderValue::from_static("text/plain"));
        headers.append(header::ACCEPT, HeaderValue::from_static("text/html"));
        assert_eq!(
            header_text(&headers, &header::ACCEPT).as_deref(),
            Some("text/plain,text/html")
        );
        assert_eq!(header_text(&headers, &header::CONTENT_TYPE), None);
    }

    #[test]
    fn bytes_outside_ascii_are_read_as_latin_1() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_bytes(b"caf\xe9").unwrap());
        assert_eq!(
            header_text(&headers, &header::ACCEPT).as_deref(),
            Some("caf\u{e9}")
        );
    }
}
