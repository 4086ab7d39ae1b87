//! The error envelope, the route table's 404 and 405, and the 500.

use axum::http::{Method, StatusCode};
use placement_http::AuthStrategy;

use crate::helpers::{capture_logs, TestApp};

#[tokio::test]
async fn an_unknown_path_is_a_json_404_with_version_header_and_request_id() {
    let response = TestApp::new()
        .await
        .get("/barnabas")
        .token("admin")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let id = response.request_id();
    assert_eq!(
        response.body,
        format!(
            "{{\"errors\": [{{\"status\": 404, \"title\": \"Not Found\", \"detail\": \"The \
             resource could not be found.\\n\\n   \", \"request_id\": \"{id}\"}}]}}"
        )
    );
    assert_eq!(
        response.header("openstack-api-version"),
        Some("placement 1.0")
    );
    // Raised before dispatch: upstream sends no Vary with it.
    assert_eq!(response.header("vary"), None);
}

#[tokio::test]
async fn the_error_code_appears_from_1_23_only() {
    let app = TestApp::new().await;

    let at_1_22 = app
        .get("/barnabas")
        .token("admin")
        .version("1.22")
        .send()
        .await;
    assert!(at_1_22.error().get("code").is_none(), "{}", at_1_22.body);

    let at_1_23 = app
        .get("/barnabas")
        .token("admin")
        .version("1.23")
        .send()
        .await;
    assert_eq!(at_1_23.error()["code"], "placement.undefined_code");
    assert_eq!(
        at_1_23.header("openstack-api-version"),
        Some("placement 1.23")
    );
}

#[tokio::test]
async fn a_specific_code_is_shown_from_1_23() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;

    let response = app
        .get("/probe/conflict")
        .token("admin")
        .version("latest")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    let error = response.error();
    assert_eq!(error["code"], "placement.concurrent_update");
    assert_eq!(
        error["detail"],
        "There was a conflict when trying to complete your request.\n\n generation mismatch  "
    );
    // Handler errors come back through the handler, so they vary.
    assert_eq!(response.header("vary"), Some("openstack-api-version"));

    let response = app
        .get("/probe/conflict")
        .token("admin")
        .version("1.22")
        .send()
        .await;
    assert!(response.error().get("code").is_none());
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let response = TestApp::new().await.call(Method::POST, "/").send().await;

    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), Some("GET"));
    let id = response.request_id();
    assert_eq!(
        response.body,
        format!(
            "{{\"errors\": [{{\"status\": 405, \"title\": \"Method Not Allowed\", \"detail\": \
             \"The method POST is not allowed for this resource. \\n\\n The method specified is \
             not allowed for this resource.\", \"request_id\": \"{id}\"}}]}}"
        )
    );
    assert_eq!(
        response.header("openstack-api-version"),
        Some("placement 1.0")
    );
    assert_eq!(response.header("vary"), Some("openstack-api-version"));
}

#[tokio::test]
async fn the_405_names_the_method_used() {
    let response = TestApp::new()
        .await
        .call(Method::OPTIONS, "/")
        .version("1.23")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    let error = response.error();
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .starts_with("The method OPTIONS is not allowed for this resource."),
        "{error}"
    );
    assert_eq!(error["code"], "placement.undefined_code");
}

#[tokio::test]
async fn errors_are_plain_text_when_neither_json_nor_html_is_accepted() {
    let response = TestApp::new()
        .await
        .get("/barnabas")
        .token("admin")
        .header("accept", "image/png")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(
        response.body,
        "404 Not Found\n\nThe resource could not be found.\n\n   "
    );
}

#[tokio::test]
async fn a_star_accept_means_json() {
    let response = TestApp::new()
        .await
        .get("/barnabas")
        .token("admin")
        .header("accept", "*/*")
        .send()
        .await;

    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.error()["title"], "Not Found");
}

#[tokio::test]
async fn a_bare_error_from_inside_is_wrapped_in_the_envelope() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;
    let response = app.get("/probe/bare-error").token("admin").send().await;

    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let error = response.error();
    assert_eq!(error["title"], "Unprocessable Entity");
    assert_eq!(
        error["detail"],
        "Unable to process the contained instructions\n\n Failed to parse the body  "
    );
    assert_eq!(error["request_id"], response.request_id());
}

#[tokio::test]
async fn a_500_hides_its_cause_and_logs_it_once_with_the_request_id() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;
    let (logs, _guard) = capture_logs();

    let response = app.get("/probe/internal").token("admin").send().await;

    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    let error = response.error();
    assert_eq!(error["title"], "Internal Server Error");
    assert_eq!(
        error["detail"],
        "The server has either erred or is incapable of performing the requested \
         operation.\n\n   "
    );
    assert_eq!(error["request_id"], response.request_id());
    assert!(!response.body.contains("hunter2"));

    let logs = logs.contents();
    assert_eq!(logs.matches("database exploded").count(), 1, "{logs}");
    let line = logs
        .lines()
        .find(|line| line.contains("database exploded"))
        .unwrap();
    assert!(line.contains(response.request_id()), "{line}");
}

#[tokio::test]
async fn a_panicking_handler_becomes_a_500_in_the_envelope() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;
    let response = app.get("/probe/panic").token("admin").send().await;

    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.error()["status"], 500);
    assert!(!response.body.contains("kaboom"));
    assert!(crate::helpers::is_local_request_id(response.request_id()));
}

#[tokio::test]
async fn a_route_not_yet_available_at_the_version_is_a_bare_404() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;

    let response = app
        .get("/probe/since-1-2")
        .token("admin")
        .version("1.1")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(
        response.error()["detail"],
        "The resource could not be found.\n\n   "
    );
    assert_eq!(response.header("vary"), Some("openstack-api-version"));

    let response = app
        .get("/probe/since-1-2")
        .token("admin")
        .version("1.2")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn errors_raised_before_routing_carry_no_allow_header() {
    let app = TestApp::new().await;

    let refused_version = app.call(Method::DELETE, "/").version("1.40").send().await;
    assert_eq!(refused_version.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(refused_version.header("allow"), None);

    let body_without_type = app.call(Method::POST, "/").body("abc").send().await;
    assert_eq!(body_without_type.status, StatusCode::BAD_REQUEST);
    assert_eq!(body_without_type.header("allow"), None);
}
