//! GET / and the bare mount prefix: the version document.

use axum::http::{Method, StatusCode};
use placement_http::AuthStrategy;

use crate::helpers::TestApp;

/// Upstream's body, byte for byte.
const VERSION_DOCUMENT: &str = "{\"versions\": [{\"id\": \"v1.0\", \"max_version\": \"1.39\", \
     \"min_version\": \"1.0\", \"status\": \"CURRENT\", \"links\": [{\"rel\": \"self\", \
     \"href\": \"\"}]}]}";

#[tokio::test]
async fn root_without_a_version_header_is_served_at_1_0() {
    let response = TestApp::new().await.get("/").send().await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, VERSION_DOCUMENT);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.header("openstack-api-version"),
        Some("placement 1.0")
    );
    assert_eq!(response.header("vary"), Some("openstack-api-version"));
    assert_eq!(response.header("cache-control"), None);
    assert_eq!(response.header("last-modified"), None);
}

#[tokio::test]
async fn root_at_1_14_has_no_cache_headers() {
    let response = TestApp::new().await.get("/").version("1.14").send().await;

    assert_eq!(
        response.header("openstack-api-version"),
        Some("placement 1.14")
    );
    assert_eq!(response.header("cache-control"), None);
    assert_eq!(response.header("last-modified"), None);
}

#[tokio::test]
async fn root_at_1_15_has_cache_control_and_a_current_last_modified() {
    let response = TestApp::new().await.get("/").version("1.15").send().await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, VERSION_DOCUMENT);
    assert_eq!(
        response.header("openstack-api-version"),
        Some("placement 1.15")
    );
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    let last_modified = response.header("last-modified").expect("last-modified");
    let when = httpdate::parse_http_date(last_modified).expect("an HTTP date");
    let age = std::time::SystemTime::now()
        .duration_since(when)
        .unwrap_or_default();
    assert!(age.as_secs() < 60, "{last_modified}");
}

#[tokio::test]
async fn root_at_latest_is_served_at_1_39() {
    let response = TestApp::new().await.get("/").version("latest").send().await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, VERSION_DOCUMENT);
    assert_eq!(
        response.header("openstack-api-version"),
        Some("placement 1.39")
    );
    assert_eq!(response.header("vary"), Some("openstack-api-version"));
    assert_eq!(response.header("cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn root_needs_no_credentials_with_either_strategy() {
    for strategy in [AuthStrategy::NoAuth2, AuthStrategy::Keystone] {
        let app = TestApp::with_settings(placement_http::HttpSettings::new(strategy)).await;
        let response = app.get("/").send().await;
        assert_eq!(response.status, StatusCode::OK, "{strategy:?}");
    }
}

#[tokio::test]
async fn head_on_root_is_not_allowed_and_has_no_body() {
    let response = TestApp::new().await.call(Method::HEAD, "/").send().await;

    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), Some("GET"));
    assert_eq!(response.body, "");
    assert_eq!(
        response.header("openstack-api-version"),
        Some("placement 1.0")
    );
}

#[tokio::test]
async fn under_a_prefix_both_the_bare_prefix_and_its_slash_are_the_root() {
    let app = TestApp::with_prefix(AuthStrategy::Keystone, "/placement").await;
    for path in ["/placement", "/placement/"] {
        let response = app.get(path).version("1.15").send().await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
        assert_eq!(response.body, VERSION_DOCUMENT, "{path}");
        assert_eq!(response.header("cache-control"), Some("no-cache"), "{path}");
    }
}

#[tokio::test]
async fn under_a_prefix_the_host_root_is_not_placement() {
    let app = TestApp::with_prefix(AuthStrategy::NoAuth2, "/placement").await;
    let response = app.get("/").token("admin").send().await;

    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.error()["title"], "Not Found");
}

#[tokio::test]
async fn under_a_prefix_a_wrong_method_on_the_bare_prefix_is_405() {
    let app = TestApp::with_prefix(AuthStrategy::Keystone, "/placement").await;
    let response = app.call(Method::DELETE, "/placement").send().await;

    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), Some("GET"));
}
