//! The error envelope: every error response's body is written here, once,
//! at the outermost layer, where the request's microversion, `Accept`
//! header, method and request id are all known.
//!
//! Upstream's errors are webob exceptions rendered through
//! `util.json_error_formatter`; this module reproduces their bodies:
//! - the `detail` is webob's explanation for the status, a blank line and the
//!   specific message, with webob's markup stripped (`"The resource could not
//!   be found.\n\n No such thing  "`); 405, 406 and 415 use their own
//!   templates that name the method, the `Accept` header or the content type;
//! - `code` appears from microversion 1.23; a 406 raised before a
//!   microversion was chosen carries `min_version`/`max_version`;
//! - the format follows `Accept` like webob does: JSON, HTML, or plain text
//!   when neither is acceptable. The request-log middleware turns a missing
//!   or `*/*` `Accept` into JSON first, so clients that do not ask get JSON.
//!
//! A response with an error status that did not come from an [`ApiError`]
//! (an extractor rejection, say) is wrapped too, so no bare text escapes.
//! A 5xx is logged here, once, with its hidden cause.

use std::borrow::Cow;

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use placement_core::microversion::Microversion;
use serde::Serialize;

use crate::accept::Accept;
use crate::error::{ApiError, Style};

/// The microversion from which error objects carry `code`.
const ERROR_CODE_MICROVERSION: (u16, u16) = (1, 23);

/// The most of a stray error body kept as the detail.
const STRAY_BODY_LIMIT: usize = 64 * 1024;

const JSON: &str = "application/json";
const HTML_UTF8: &str = "text/html; charset=UTF-8";
const PLAIN_UTF8: &str = "text/plain; charset=UTF-8";

/// What the envelope needs to know about the request, captured on the way in
/// (the request itself is gone by the time the response comes back).
#[derive(Debug, Clone)]
pub(crate) struct RequestFacts {
    /// The request method, named by the 405 template.
    pub(crate) method: Method,
    /// `Accept` after the request log's rewrite; chooses the format and is
    /// echoed by the 406 template.
    pub(crate) accept: Option<String>,
    /// The raw `Content-Type`, echoed by the 415 template.
    pub(crate) content_type: Option<String>,
    /// The local request id, shown in every placement error object.
    pub(crate) request_id: String,
}

/// Gives an error response its body; passes other responses through.
pub(crate) async fn finish(response: Response, facts: &RequestFacts) -> Response {
    let (mut parts, body) = response.into_parts();
    let error = match parts.extensions.remove::<ApiError>() {
        Some(error) => error,
        None if parts.status.is_client_error() || parts.status.is_server_error() => {
            let detail = match axum::body::to_bytes(body, STRAY_BODY_LIMIT).await {
                Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
                Err(_) => String::new(),
            };
            tracing::debug!(status = parts.status.as_u16(), %detail, "wrapping a bare error response");
            ApiError::new(parts.status, detail)
        }
        None => return Response::from_parts(parts, body),
    };
    if error.status.is_server_error() {
        match &error.cause {
            Some(cause) => tracing::error!(
                status = error.status.as_u16(),
                error = %cause,
                "placement API unexpected error"
            ),
            None => tracing::error!(
                status = error.status.as_u16(),
                detail = %error.detail,
                "placement API server error"
            ),
        }
    }
    let microversion = parts.extensions.get::<Microversion>().copied();
    let (content_type, body) = render(&error, microversion, facts);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if facts.method == Method::HEAD {
        // webob states the length of the body it did not send: none for its
        // generated error pages, the fixed body's for keystonemiddleware's.
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        return Response::from_parts(parts, Body::empty());
    } else {
        parts.headers.remove(header::CONTENT_LENGTH);
    }
    Response::from_parts(parts, Body::from(body))
}

/// The content type and body webob would send for `error`.
fn render(
    error: &ApiError,
    microversion: Option<Microversion>,
    facts: &RequestFacts,
) -> (&'static str, Vec<u8>) {
    if error.style() == Style::Keystone {
        // keystonemiddleware sends a fixed JSON body whatever was accepted.
        let body = KeystoneBody {
            error: KeystoneError {
                code: error.status.as_u16(),
                title: webob_status(error.status).0,
                message: "The request you have made requires authentication.",
            },
        };
        // Its webob response is built with a body, so HEAD states the
        // body's length too.
        return (JSON, to_json(&body));
    }
    if facts.method == Method::HEAD {
        // webob answers HEAD with its default (HTML) content type and no body.
        return (HTML_UTF8, Vec::new());
    }
    let (title, _) = webob_status(error.status);
    let status_line = format!("{} {}", error.status.as_u16(), title);
    let accept = Accept::parse(facts.accept.as_deref());
    match accept.acceptable_offers(&["text/html", JSON]).first() {
        Some(&"text/html") => {
            let body = make_body(error, facts, html_escape);
            let page = format!(
                "<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n  \
                 <h1>{status_line}</h1>\n  {body}\n </body>\n</html>"
            );
            (HTML_UTF8, page.into_bytes())
        }
        Some(_) => {
            let body = make_body(error, facts, no_escape);
            let json = match error.style() {
                Style::Webob => to_json(&WebobBody {
                    message: &body,
                    code: &status_line,
                    title,
                }),
                _ => to_json(&placement_envelope(
                    error,
                    title,
                    strip_tags(&body),
                    microversion,
                    facts,
                )),
            };
            (JSON, json)
        }
        None => {
            let body = strip_tags(&make_body(error, facts, no_escape));
            (PLAIN_UTF8, format!("{status_line}\n\n{body}").into_bytes())
        }
    }
}

/// upstream's `json_error_formatter`.
fn placement_envelope<'a>(
    error: &'a ApiError,
    title: &'a str,
    detail: String,
    microversion: Option<Microversion>,
    facts: &'a RequestFacts,
) -> Envelope<'a> {
    let code = microversion
        .filter(|mv| mv.matches(ERROR_CODE_MICROVERSION.0, ERROR_CODE_MICROVERSION.1))
        .map(|_| error.code.as_str());
    // A 406 before a microversion was chosen is the microversion's own
    // refusal: tell the client what it can have.
    let range = (error.status == StatusCode::NOT_ACCEPTABLE && microversion.is_none())
        .then(|| (Microversion::MAX.to_string(), Microversion::MIN.to_string()));
    let (max_version, min_version) = range.unzip();
    Envelope {
        errors: [ErrorObject {
            status: error.status.as_u16(),
            title,
            detail,
            code,
            request_id: &facts.request_id,
            max_version,
            min_version,
        }],
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    errors: [ErrorObject<'a>; 1],
}

#[derive(Serialize)]
struct ErrorObject<'a> {
    status: u16,
    title: &'a str,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    request_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_version: Option<String>,
}

#[derive(Serialize)]
struct WebobBody<'a> {
    message: &'a str,
    code: &'a str,
    title: &'a str,
}

#[derive(Serialize)]
struct KeystoneBody {
    error: KeystoneError,
}

#[derive(Serialize)]
struct KeystoneError {
    code: u16,
    title: &'static str,
    message: &'static str,
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    crate::json::to_vec(value).unwrap_or_else(|error| {
        tracing::error!(%error, "cannot serialize an error body");
        Vec::new()
    })
}

/// webob's body template for the error's status, filled with `escape`d
/// values. The comment slot of the generic template is always empty because
/// upstream moves the comment into the error code.
fn make_body(error: &ApiError, facts: &RequestFacts, escape: fn(&str) -> Cow<'_, str>) -> String {
    let detail = escape(&error.detail);
    match error.status.as_u16() {
        405 => format!(
            "The method {} is not allowed for this resource. <br /><br />\n{detail}",
            escape(facts.method.as_str())
        ),
        406 => format!(
            "The resource could not be generated that was acceptable to your browser\n\
             (content of type {}. <br /><br />\n{detail}",
            escape(facts.accept.as_deref().unwrap_or("${HTTP_ACCEPT}"))
        ),
        415 => format!(
            "The request media type {} is not supported by this server.\n<br /><br />\n{detail}",
            escape(&content_type_for_415(facts.content_type.as_deref()))
        ),
        501 => format!(
            "\nThe request method {} is not implemented for this server. <br /><br />\n{detail}",
            escape(facts.method.as_str())
        ),
        _ => {
            let (_, explanation) = webob_status(error.status);
            format!("{}<br /><br />\n{detail}\n\n", escape(explanation))
        }
    }
}

/// The content type the 415 template shows: upstream's `require_content`
/// replaces a missing one with `None` (keeping any parameters) before
/// raising.
fn content_type_for_415(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or("");
    match raw.split_once(';') {
        Some(("", params)) => format!("None;{params}"),
        None if raw.is_empty() => "None".to_owned(),
        _ => raw.to_owned(),
    }
}

/// webob's title and (whitespace-normalized) explanation for a status.
fn webob_status(status: StatusCode) -> (&'static str, &'static str) {
    const BAD_REQUEST: &str =
        "The server could not comply with the request since it is either malformed or \
         otherwise incorrect.";
    const SERVER_ERROR: &str =
        "The server has either erred or is incapable of performing the requested operation.";
    match status.as_u16() {
        400 => ("Bad Request", BAD_REQUEST),
        401 => (
            "Unauthorized",
            "This server could not verify that you are authorized to access the document you \
             requested. Either you supplied the wrong credentials (e.g., bad password), or your \
             browser does not understand how to supply the credentials required.",
        ),
        402 => (
            "Payment Required",
            "Access was denied for financial reasons.",
        ),
        403 => ("Forbidden", "Access was denied to this resource."),
        404 => ("Not Found", "The resource could not be found."),
        405 => ("Method Not Allowed", BAD_REQUEST),
        406 => ("Not Acceptable", BAD_REQUEST),
        407 => (
            "Proxy Authentication Required",
            "Authentication with a local proxy is needed.",
        ),
        408 => (
            "Request Timeout",
            "The server has waited too long for the request to be sent by the client.",
        ),
        409 => (
            "Conflict",
            "There was a conflict when trying to complete your request.",
        ),
        410 => (
            "Gone",
            "This resource is no longer available. No forwarding address is given.",
        ),
        411 => ("Length Required", "Content-Length header required."),
        412 => ("Precondition Failed", "Request precondition failed."),
        413 => (
            "Request Entity Too Large",
            "The body of your request was too large for this server.",
        ),
        414 => (
            "Request-URI Too Long",
            "The request URI was too long for this server.",
        ),
        415 => ("Unsupported Media Type", BAD_REQUEST),
        416 => (
            "Request Range Not Satisfiable",
            "The Range requested is not available.",
        ),
        417 => ("Expectation Failed", "Expectation failed."),
        422 => (
            "Unprocessable Entity",
            "Unable to process the contained instructions",
        ),
        423 => ("Locked", "The resource is locked"),
        424 => (
            "Failed Dependency",
            "The method could not be performed because the requested action dependended on \
             another action and that action failed",
        ),
        428 => (
            "Precondition Required",
            "This request is required to be conditional",
        ),
        429 => (
            "Too Many Requests",
            "The client has sent too many requests in a given amount of time",
        ),
        431 => (
            "Request Header Fields Too Large",
            "The request header fields were too large",
        ),
        451 => (
            "Unavailable For Legal Reasons",
            "The resource is not available due to legal reasons.",
        ),
        500 => ("Internal Server Error", SERVER_ERROR),
        501 => ("Not Implemented", SERVER_ERROR),
        502 => ("Bad Gateway", "Bad gateway."),
        503 => (
            "Service Unavailable",
            "The server is currently unavailable. Please try again at a later time.",
        ),
        504 => ("Gateway Timeout", "The gateway has timed out."),
        505 => (
            "HTTP Version Not Supported",
            "The HTTP version is not supported.",
        ),
        507 => (
            "Insufficient Storage",
            "There was not enough space to save the resource",
        ),
        511 => (
            "Network Authentication Required",
            "Network authentication is required",
        ),
        _ => (status.canonical_reason().unwrap_or("Unknown Status"), ""),
    }
}

/// webob's `strip_tags`, pass by pass: newlines become spaces, carriage
/// returns go, `<br…>` becomes a newline, comment markers go, other tags go.
fn strip_tags(text: &str) -> String {
    let text = text.replace('\n', " ").replace('\r', "");
    let text = replace_tags(&text, |tag| {
        tag.get(..3)
            .is_some_and(|start| start.eq_ignore_ascii_case("<br"))
            .then_some("\n")
    });
    let text = text.replace("<!--", "").replace("-->", "");
    replace_tags(&text, |_| Some(""))
}

/// Replaces each shortest `<…>` run for which `with` gives a replacement,
/// scanning left to right like `re.sub`.
fn replace_tags(text: &str, with: impl Fn(&str) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let candidate = &rest[open..];
        let replacement = candidate
            .find('>')
            .and_then(|close| with(&candidate[..=close]).map(|r| (close, r)));
        match replacement {
            Some((close, replacement)) => {
                out.push_str(&rest[..open]);
                out.push_str(replacement);
                rest = &candidate[close + 1..];
            }
            None => {
                out.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// webob's `no_escape`, for JSON and plain text.
fn no_escape(text: &str) -> Cow<'_, str> {
    Cow::Borrowed(text)
}

/// webob's `html_escape`: `html.escape(quote=True)`, then non-ASCII as
/// decimal character references.
fn html_escape(text: &str) -> Cow<'_, str> {
    if text.chars().all(|c| c.is_ascii() && !"&<>\"'".contains(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c if c.is_ascii() => out.push(c),
            c => out.push_str(&format!("&#{};", u32::from(c))),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    fn facts(accept: &str) -> RequestFacts {
        RequestFacts {
            method: Method::GET,
            accept: Some(accept.to_owned()),
            content_type: None,
            request_id: "req-x".to_owned(),
        }
    }

    fn rendered(
        error: &ApiError,
        mv: Option<Microversion>,
        accept: &str,
    ) -> (&'static str, String) {
        let (content_type, body) = render(error, mv, &facts(accept));
        (content_type, String::from_utf8(body).unwrap())
    }

    #[test]
    fn strip_tags_turns_br_into_newlines_and_drops_other_markup() {
        assert_eq!(
            strip_tags("Expl.<br /><br />\ndetail\n\n"),
            "Expl.\n\n detail  "
        );
        assert_eq!(strip_tags("a <b>bold</b> <!-- c --> d\r"), "a bold  c  d");
        assert_eq!(strip_tags("x < y"), "x < y");
        assert_eq!(strip_tags("<BR>"), "\n");
    }

    #[test]
    fn html_escape_escapes_markup_quotes_and_non_ascii() {
        assert_eq!(html_escape("plain"), "plain");
        assert_eq!(
            html_escape("<a href=\"x\">'é'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&#233;&#x27;&lt;/a&gt;"
        );
    }

    #[test]
    fn a_generic_error_detail_is_explanation_blank_line_and_message() {
        let error = ApiError::not_found("No resource provider with uuid x found");
        let (content_type, body) = rendered(&error, Some(Microversion::MIN), JSON);
        assert_eq!(content_type, JSON);
        assert_eq!(
            body,
            "{\"errors\": [{\"status\": 404, \"title\": \"Not Found\", \"detail\": \"The \
             resource could not be found.\\n\\n No resource provider with uuid x found  \", \
             \"request_id\": \"req-x\"}]}"
        );
    }

    #[test]
    fn the_code_appears_from_1_23() {
        let error = ApiError::conflict("x").with_code(crate::ErrorCode::ConcurrentUpdate);
        let (_, before) = rendered(&error, Some(Microversion::new(1, 22)), JSON);
        let (_, after) = rendered(&error, Some(Microversion::new(1, 23)), JSON);
        assert!(!before.contains("\"code\""), "{before}");
        assert!(
            after.contains("\"code\": \"placement.concurrent_update\""),
            "{after}"
        );
    }

    #[test]
    fn only_a_406_before_negotiation_carries_the_version_range() {
        let refused = ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "Only application/json is provided",
        );
        let (_, negotiated) = rendered(&refused, Some(Microversion::MIN), JSON);
        assert!(!negotiated.contains("max_version"), "{negotiated}");
        let (_, unnegotiated) = rendered(&refused, None, JSON);
        assert!(
            unnegotiated.ends_with("\"max_version\": \"1.39\", \"min_version\": \"1.0\"}]}"),
            "{unnegotiated}"
        );
    }

    #[test]
    fn html_is_chosen_when_accepted_and_escapes_the_values() {
        let error = ApiError::bad_request("bad <thing>");
        let (content_type, body) = rendered(&error, None, "text/html");
        assert_eq!(content_type, HTML_UTF8);
        assert_eq!(
            body,
            "<html>\n <head>\n  <title>400 Bad Request</title>\n </head>\n <body>\n  \
             <h1>400 Bad Request</h1>\n  The server could not comply with the request since it \
             is either malformed or otherwise incorrect.<br /><br />\nbad &lt;thing&gt;\n\n\n \
             </body>\n</html>"
        );
    }

    #[test]
    fn plain_text_is_the_fallback_when_neither_format_is_accepted() {
        let error = ApiError::conflict("taken");
        let (content_type, body) = rendered(&error, None, "image/png");
        assert_eq!(content_type, PLAIN_UTF8);
        assert_eq!(
            body,
            "409 Conflict\n\nThere was a conflict when trying to complete your request.\n\n \
             taken  "
        );
    }

    #[test]
    fn the_415_template_names_the_content_type_or_none() {
        assert_eq!(content_type_for_415(None), "None");
        assert_eq!(content_type_for_415(Some("")), "None");
        assert_eq!(content_type_for_415(Some(";charset=x")), "None;charset=x");
        assert_eq!(content_type_for_415(Some("text/plain")), "text/plain");
    }

    #[test]
    fn the_webob_style_keeps_its_markup_in_the_message() {
        let (_, body) = rendered(&ApiError::unauthorized(), None, JSON);
        assert!(
            body.starts_with("{\"message\": \"This server could not verify"),
            "{body}"
        );
        assert!(
            body.ends_with(
                "credentials required.<br /><br />\\n\\n\\n\", \"code\": \"401 Unauthorized\", \
                 \"title\": \"Unauthorized\"}"
            ),
            "{body}"
        );
    }

    #[tokio::test]
    async fn keystones_401_is_plain_json_and_head_states_its_length() {
        let error = ApiError::keystone_unauthorized();
        let (content_type, body) = rendered(&error, None, "text/html");
        assert_eq!(content_type, "application/json");
        assert_eq!(
            body,
            "{\"error\": {\"code\": 401, \"title\": \"Unauthorized\", \"message\": \"The \
             request you have made requires authentication.\"}}"
        );
        let head = RequestFacts {
            method: Method::HEAD,
            ..facts(JSON)
        };
        let response = finish(error.into_response(), &head).await;
        assert_eq!(response.headers()[header::CONTENT_LENGTH], "114");
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert!(bytes.is_empty());
    }

    #[test]
    fn the_keystone_503_is_webobs_in_every_format() {
        let error = ApiError::keystone_unavailable(std::io::Error::other("refused"));
        let (content_type, body) = rendered(&error, None, JSON);
        assert_eq!(content_type, JSON);
        assert_eq!(
            body,
            "{\"message\": \"The server is currently unavailable. Please try again at a later \
             time.<br /><br />\\nThe Keystone service is temporarily unavailable.\\n\\n\", \
             \"code\": \"503 Service Unavailable\", \"title\": \"Service Unavailable\"}"
        );
        let (content_type, body) = rendered(&error, None, "text/plain");
        assert_eq!(content_type, PLAIN_UTF8);
        assert_eq!(
            body,
            "503 Service Unavailable\n\nThe server is currently unavailable. Please try again \
             at a later time.\n\n The Keystone service is temporarily unavailable.  "
        );
    }
}
