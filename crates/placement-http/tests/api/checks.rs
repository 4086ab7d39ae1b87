//! The generic request checks: a body needs a content type (before
//! dispatch), and the per-handler content-type and accept checks.

use axum::http::{Method, StatusCode};
use placement_http::AuthStrategy;

use crate::helpers::TestApp;

#[tokio::test]
async fn a_body_without_a_content_type_is_400_even_on_an_unknown_path() {
    let response = TestApp::new()
        .await
        .call(Method::POST, "/barnabas")
        .token("admin")
        .body("I want a resource provider please")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let id = response.request_id();
    assert_eq!(
        response.body,
        format!(
            "{{\"errors\": [{{\"status\": 400, \"title\": \"Bad Request\", \"detail\": \"The \
             server could not comply with the request since it is either malformed or \
             otherwise incorrect.\\n\\n content-type header required when content-length > 0  \
             \", \"request_id\": \"{id}\"}}]}}"
        )
    );
    assert_eq!(
        response.header("openstack-api-version"),
        Some("placement 1.0")
    );
    assert_eq!(response.header("vary"), None);
}

#[tokio::test]
async fn an_empty_content_type_counts_as_none() {
    let response = TestApp::new()
        .await
        .call(Method::POST, "/")
        .header("content-type", "")
        .body("abc")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn with_a_content_type_the_request_goes_on_to_routing() {
    let response = TestApp::new()
        .await
        .call(Method::POST, "/")
        .header("content-type", "text/plain")
        .body("abc")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_non_integer_content_length_is_400() {
    let response = TestApp::new()
        .await
        .call(Method::POST, "/")
        .header("content-type", "application/json")
        .header("content-length", "hi mom")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(
        response.error()["detail"]
            .as_str()
            .unwrap()
            .ends_with("content-length header must be an integer  "),
        "{}",
        response.body
    );
}

#[tokio::test]
async fn a_non_json_body_is_415_naming_the_type() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;
    let response = app
        .call(Method::POST, "/probe/json-content")
        .token("admin")
        .header("content-type", "text/plain; charset=utf-8")
        .body("abc")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        response.error()["detail"],
        "The request media type text/plain; charset=utf-8 is not supported by this server. \
         \n\n The media type text/plain is not supported, use application/json"
    );
    assert_eq!(response.error()["title"], "Unsupported Media Type");
}

#[tokio::test]
async fn a_missing_content_type_is_415_naming_none() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;
    let response = app
        .call(Method::POST, "/probe/json-content")
        .token("admin")
        .version("1.23")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let error = response.error();
    assert_eq!(
        error["detail"],
        "The request media type None is not supported by this server. \n\n The media type None \
         is not supported, use application/json"
    );
    assert_eq!(error["code"], "placement.undefined_code");
}

#[tokio::test]
async fn json_with_parameters_is_accepted_as_json() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;
    let response = app
        .call(Method::POST, "/probe/json-content")
        .token("admin")
        .header("content-type", "application/json; charset=UTF-8")
        .body("{}")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_accept_without_json_is_406_in_the_format_it_asked_for() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;
    let response = app
        .get("/probe/accept-json")
        .token("admin")
        .header("accept", "text/plain")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::NOT_ACCEPTABLE);
    // Upstream answers in plain text here, as webob negotiates error bodies.
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(
        response.body,
        "406 Not Acceptable\n\nThe resource could not be generated that was acceptable to your \
         browser (content of type text/plain. \n\n Only application/json is provided"
    );
    assert_eq!(
        response.header("openstack-api-version"),
        Some("placement 1.0")
    );
}

#[tokio::test]
async fn accept_headers_that_allow_json_pass() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;
    for accept in [
        "application/json",
        "*/*",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        // Invalid headers are ignored, as webob ignores them.
        "application/json;q=2",
        "foo",
    ] {
        let response = app
            .get("/probe/accept-json")
            .token("admin")
            .header("accept", accept)
            .send()
            .await;
        assert_eq!(response.status, StatusCode::NO_CONTENT, "{accept}");
    }
}

#[tokio::test]
async fn a_browser_accept_without_a_wildcard_is_refused() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;
    let response = app
        .get("/probe/accept-json")
        .token("admin")
        .header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9",
        )
        .send()
        .await;

    assert_eq!(response.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=UTF-8")
    );
    assert!(response.body.contains("Only application/json is provided"));
}
