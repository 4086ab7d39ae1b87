//! Cross-origin resource sharing, as oslo.middleware's `CORS` does it for
//! upstream placement: installed only when `[cors] allowed_origin` names an
//! origin, between the request log and authentication, so that preflights
//! need no token and 401s carry CORS headers too.
//!
//! - An `OPTIONS` request still goes down the stack (placement routes none,
//!   so it gets a 401, 404 or 405 there); any answer that is not 2xx is
//!   replaced by an empty 200 without a content type. The preflight headers
//!   are added only for an allowed origin that names an allowed method and
//!   only allowed (or simple) headers.
//! - Any other request from an allowed origin gets `Vary: Origin` (appended
//!   to an existing `Vary`), `Access-Control-Allow-Origin` and, as
//!   configured, `-Allow-Credentials` and `-Expose-Headers`.
//! - A response that already has `Access-Control-Allow-Origin` is left as
//!   it is.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::wsgi::header_text;

/// `[cors]` as the binary validated it, with placement's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsSettings {
    /// `allowed_origin`: origins as `<scheme>://<host>[:<port>]`, or `*`.
    /// CORS is off when this is empty.
    pub allowed_origin: Vec<String>,
    /// `allow_credentials` (default true).
    pub allow_credentials: bool,
    /// `expose_headers`: response headers a browser script may read.
    pub expose_headers: Vec<String>,
    /// `max_age` in seconds (default 3600); 0 sends none.
    pub max_age: u32,
    /// `allow_methods`: compared with the preflight's method as written.
    pub allow_methods: Vec<String>,
    /// `allow_headers`: compared without regard to case.
    pub allow_headers: Vec<String>,
}

impl Default for CorsSettings {
    /// oslo.middleware's option defaults as placement overrides them
    /// (`_set_middleware_defaults`), with no origin allowed.
    fn default() -> Self {
        let list = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        Self {
            allowed_origin: Vec::new(),
            allow_credentials: true,
            expose_headers: list(&[
                "X-Auth-Token",
                "X-Openstack-Request-Id",
                "X-Subject-Token",
                "X-Service-Token",
                "OpenStack-API-Version",
            ]),
            max_age: 3600,
            allow_methods: list(&["GET", "PUT", "POST", "DELETE", "PATCH"]),
            allow_headers: list(&[
                "X-Auth-Token",
                "X-Openstack-Request-Id",
                "X-Identity-Status",
                "X-Roles",
                "X-Service-Catalog",
                "X-User-Id",
                "X-Tenant-Id",
                "OpenStack-API-Version",
            ]),
        }
    }
}

impl CorsSettings {
    /// Whether the middleware is installed at all.
    pub fn enabled(&self) -> bool {
        !self.allowed_origin.is_empty()
    }

    /// The origin to answer with: the request's own when listed, `*` when
    /// only the wildcard matches, `None` when the origin is not allowed.
    fn answer_origin(&self, origin: &str) -> Option<String> {
        if self.allowed_origin.iter().any(|o| o == origin) {
            Some(origin.to_owned())
        } else if self.allowed_origin.iter().any(|o| o == "*") {
            Some("*".to_owned())
        } else {
            tracing::debug!(origin, "cors request from an origin not permitted");
            None
        }
    }
}

/// Headers a browser may always send, whatever `allow_headers` says.
const SIMPLE_HEADERS: [&str; 8] = [
    "Accept",
    "Accept-Language",
    "Content-Type",
    "Cache-Control",
    "Content-Language",
    "Expires",
    "Last-Modified",
    "Pragma",
];

const REQUEST_METHOD: HeaderName = HeaderName::from_static("access-control-request-method");
const REQUEST_HEADERS: HeaderName = HeaderName::from_static("access-control-request-headers");

/// The CORS layer; see the module docs.
pub(crate) async fn cors(
    State(settings): State<Arc<CorsSettings>>,
    request: Request,
    next: Next,
) -> Response {
    let origin = header_text(request.headers(), &header::ORIGIN);
    let is_options = request.method() == Method::OPTIONS;
    let preflight = is_options.then(|| Preflight::read(request.headers()));
    let response = next.run(request).await;
    if response
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        return response;
    }
    match preflight {
        Some(preflight) => preflight_response(&settings, origin.as_deref(), &preflight, response),
        None => {
            let mut response = response;
            if let Some(origin) = origin.as_deref() {
                apply_request_headers(&settings, origin, response.headers_mut());
            }
            response
        }
    }
}

/// What a preflight asks for.
struct Preflight {
    method: Option<String>,
    headers: Vec<String>,
}

impl Preflight {
    fn read(headers: &HeaderMap) -> Self {
        let requested = header_text(headers, &REQUEST_HEADERS)
            .map(|value| {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Self {
            method: header_text(headers, &REQUEST_METHOD),
            headers: requested,
        }
    }
}

/// oslo's `_apply_cors_preflight_headers`.
fn preflight_response(
    settings: &CorsSettings,
    origin: Option<&str>,
    preflight: &Preflight,
    response: Response,
) -> Response {
    let mut response = if response.status().is_success() {
        response
    } else {
        let mut ok = Response::new(Body::empty());
        *ok.status_mut() = StatusCode::OK;
        ok.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        ok
    };
    let Some(origin) = origin.and_then(|o| settings.answer_origin(o)) else {
        return response;
    };
    let Some(method) = &preflight.method else {
        tracing::debug!("cors preflight without Access-Control-Request-Method");
        return response;
    };
    if !settings.allow_methods.iter().any(|m| m == method) {
        tracing::debug!(method, "cors preflight method not permitted");
        return response;
    }
    let permitted = |wanted: &str| {
        settings
            .allow_headers
            .iter()
            .map(String::as_str)
            .chain(SIMPLE_HEADERS)
            .any(|h| h.eq_ignore_ascii_case(wanted))
    };
    if let Some(refused) = preflight.headers.iter().find(|h| !permitted(h)) {
        tracing::debug!(header = %refused, "cors preflight header not permitted");
        return response;
    }
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    set(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
    if settings.allow_credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if settings.max_age > 0 {
        set(
            headers,
            header::ACCESS_CONTROL_MAX_AGE,
            &settings.max_age.to_string(),
        );
    }
    set(headers, header::ACCESS_CONTROL_ALLOW_METHODS, method);
    if !preflight.headers.is_empty() {
        set(
            headers,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            &preflight.headers.join(","),
        );
    }
    response
}

/// oslo's `_apply_cors_request_headers`.
fn apply_request_headers(settings: &CorsSettings, origin: &str, headers: &mut HeaderMap) {
    let Some(origin) = settings.answer_origin(origin) else {
        return;
    };
    let vary = match header_text(headers, &header::VARY) {
        Some(existing) => format!("{existing},Origin"),
        None => "Origin".to_owned(),
    };
    set(headers, header::VARY, &vary);
    set(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
    if settings.allow_credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if !settings.expose_headers.is_empty() {
        set(
            headers,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            &settings.expose_headers.join(","),
        );
    }
}

/// Sets a header from text that came from a header or the configuration;
/// text that cannot be a header value (it came in as one, so only a
/// misconfiguration could do it) is left out rather than failing the
/// request.
fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(value) => {
            headers.insert(name, value);
        }
        Err(_) => tracing::warn!(header = %name, "cors header value is not valid; left out"),
    }
}
