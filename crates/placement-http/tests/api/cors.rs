//! CORS as oslo.middleware answers for upstream placement.

use axum::http::{Method, StatusCode};
use placement_http::{AuthStrategy, CorsSettings, HttpSettings};

use crate::helpers::TestApp;

const ORIGIN: &str = "http://valid.example.com";

async fn app_with_cors() -> TestApp {
    TestApp::with_settings(HttpSettings {
        cors: CorsSettings {
            allowed_origin: vec![ORIGIN.to_owned()],
            ..CorsSettings::default()
        },
        ..HttpSettings::new(AuthStrategy::NoAuth2)
    })
    .await
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_without_a_token() {
    let app = app_with_cors().await;
    let response = app
        .call(Method::OPTIONS, "/resource_providers")
        .header("origin", ORIGIN)
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "X-Auth-Token, openstack-api-version",
        )
        .send()
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, "");
    assert_eq!(response.header("content-type"), None);
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(response.header("access-control-max-age"), Some("3600"));
    assert_eq!(response.header("access-control-allow-methods"), Some("GET"));
    assert_eq!(
        response.header("access-control-allow-headers"),
        Some("X-Auth-Token,openstack-api-version")
    );
    assert_eq!(response.header("vary"), Some("Origin"));
}

#[tokio::test]
async fn a_preflight_that_asks_too_much_gets_a_bare_200() {
    let app = app_with_cors().await;
    for (origin, method, headers) in [
        ("http://invalid.example.com", "GET", ""),
        (ORIGIN, "TRACE", ""),
        (ORIGIN, "get", ""),
        (ORIGIN, "GET", "X-Not-Allowed"),
    ] {
        let mut call = app
            .call(Method::OPTIONS, "/")
            .header("origin", origin)
            .header("access-control-request-method", method);
        if !headers.is_empty() {
            call = call.header("access-control-request-headers", headers);
        }
        let response = call.send().await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{origin} {method} {headers}"
        );
        assert_eq!(response.header("access-control-allow-origin"), None);
    }
    // Without an origin at all, OPTIONS is still 200 while CORS is on.
    let bare = app.call(Method::OPTIONS, "/traits").send().await;
    assert_eq!(bare.status, StatusCode::OK);
}

#[tokio::test]
async fn actual_requests_from_an_allowed_origin_get_cors_headers_even_on_errors() {
    let app = app_with_cors().await;
    let ok = app
        .get("/resource_providers")
        .token("admin")
        .header("origin", ORIGIN)
        .version("1.20")
        .send()
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(ok.header("vary"), Some("openstack-api-version,Origin"));
    assert_eq!(
        ok.header("access-control-expose-headers"),
        Some("X-Auth-Token,X-Openstack-Request-Id,X-Subject-Token,X-Service-Token,OpenStack-API-Version")
    );
    let unauthorized = app
        .get("/resource_providers")
        .header("origin", ORIGIN)
        .send()
        .await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unauthorized.header("access-control-allow-origin"),
        Some(ORIGIN)
    );
    let other = app
        .get("/")
        .header("origin", "http://invalid.example.com")
        .send()
        .await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn a_wildcard_origin_answers_star_for_unlisted_origins() {
    let app = TestApp::with_settings(HttpSettings {
        cors: CorsSettings {
            allowed_origin: vec!["*".to_owned()],
            ..CorsSettings::default()
        },
        ..HttpSettings::new(AuthStrategy::NoAuth2)
    })
    .await;
    let response = app
        .get("/")
        .header("origin", "http://any.example")
        .send()
        .await;
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn without_cors_options_is_a_405() {
    let app = TestApp::new().await;
    let response = app
        .call(Method::OPTIONS, "/")
        .header("origin", ORIGIN)
        .header("access-control-request-method", "GET")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    let get = app.get("/").header("origin", ORIGIN).send().await;
    assert_eq!(get.header("access-control-allow-origin"), None);
}
