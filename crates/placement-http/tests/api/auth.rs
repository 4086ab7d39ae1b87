//! noauth2, and the keystone strategy without Keystone (validation against
//! a real Keystone is tested with the binaries).

use axum::http::StatusCode;
use placement_http::{AuthStrategy, HttpSettings};

use crate::helpers::TestApp;

/// webob's own 401 body, which upstream's NoAuthMiddleware returns.
const NOAUTH_401: &str = "{\"message\": \"This server could not verify that you are authorized \
     to access the document you requested. Either you supplied the wrong credentials (e.g., \
     bad password), or your browser does not understand how to supply the credentials \
     required.<br /><br />\\n\\n\\n\", \"code\": \"401 Unauthorized\", \"title\": \
     \"Unauthorized\"}";

#[tokio::test]
async fn noauth2_without_a_token_is_401_in_webobs_format() {
    let app = TestApp::new().await;
    for path in ["/resource_providers", "/barnabas"] {
        let response = app.get(path).version("1.40").send().await;

        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(response.body, NOAUTH_401, "{path}");
        assert_eq!(response.header("content-type"), Some("application/json"));
        // Auth runs before the microversion is even parsed.
        assert_eq!(response.header("openstack-api-version"), None);
        assert!(crate::helpers::is_local_request_id(response.request_id()));
    }
}

#[tokio::test]
async fn noauth2_with_a_token_passes_on_to_routing() {
    let response = TestApp::new()
        .await
        .get("/barnabas")
        .token("user")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn noauth2_builds_the_context_from_the_token() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;

    let admin = app.get("/probe/context").token("admin").send().await.json();
    assert_eq!(admin["user_id"], "admin");
    assert_eq!(admin["project_id"], "admin");
    assert_eq!(admin["roles"], serde_json::json!(["admin"]));
    assert_eq!(admin["is_admin"], true);

    let user = app
        .get("/probe/context")
        .token("alice:p1")
        .header("x-roles", "reader,member")
        .send()
        .await
        .json();
    assert_eq!(user["user_id"], "alice");
    assert_eq!(user["project_id"], "p1");
    assert_eq!(user["roles"], serde_json::json!(["reader", "member"]));
    assert_eq!(user["is_admin"], false);
}

#[tokio::test]
async fn noauth2_still_asks_for_a_token_on_the_bare_prefix_as_upstream_does() {
    // Upstream's NoAuthMiddleware exempts only PATH_INFO "/", not "".
    let app = TestApp::with_prefix(AuthStrategy::NoAuth2, "/placement").await;

    let response = app.get("/placement").send().await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);

    let response = app.get("/placement/").send().await;
    assert_eq!(response.status, StatusCode::OK);

    let response = app.get("/placement").token("admin").send().await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn keystone_without_a_confirmed_identity_is_401_in_keystonemiddlewares_format() {
    let app = TestApp::with_settings(HttpSettings::new(AuthStrategy::Keystone)).await;
    let response = app
        .get("/resource_providers")
        .token("some-token")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.body,
        "{\"error\": {\"code\": 401, \"title\": \"Unauthorized\", \"message\": \"The request \
         you have made requires authentication.\"}}"
    );
    assert_eq!(response.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn keystone_never_trusts_identity_headers_sent_by_the_client() {
    let app = TestApp::with_probes(AuthStrategy::Keystone).await;
    let response = app
        .get("/probe/context")
        .header("x-identity-status", "Confirmed")
        .header("x-user-id", "u1")
        .header("x-project-id", "p1")
        .header("x-roles", "Admin, member")
        .send()
        .await;

    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        response.body
    );
}

#[tokio::test]
async fn keystone_refuses_unconfirmed_identities() {
    let app = TestApp::with_probes(AuthStrategy::Keystone).await;
    let response = app
        .get("/probe/context")
        .header("x-identity-status", "Invalid")
        .header("x-user-id", "u1")
        .header("x-project-id", "p1")
        .header("x-roles", "member")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
}
