//! Request ids: the local one on every response, the inbound global one in
//! the context and in every log line.

use axum::http::{Method, StatusCode};
use placement_http::AuthStrategy;

use crate::helpers::{capture_logs, is_local_request_id, TestApp};

const GLOBAL_ID: &str = "req-12345678-1234-1234-1234-123456789abc";

#[tokio::test]
async fn every_response_has_a_fresh_local_request_id() {
    let app = TestApp::new().await;
    let responses = [
        app.get("/").send().await,
        app.get("/").send().await,
        app.get("/barnabas").token("admin").send().await,
        app.get("/barnabas").send().await,
        app.get("/").version("foo").send().await,
        app.call(Method::PUT, "/").send().await,
    ];
    for response in &responses {
        assert!(
            is_local_request_id(response.request_id()),
            "{} {}",
            response.status,
            response.request_id()
        );
    }
    assert_ne!(responses[0].request_id(), responses[1].request_id());
}

#[tokio::test]
async fn a_well_formed_inbound_id_becomes_the_global_request_id() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;
    let response = app
        .get("/probe/context")
        .token("admin")
        .header("x-openstack-request-id", GLOBAL_ID)
        .send()
        .await;

    assert_eq!(response.status, StatusCode::OK);
    let context = response.json();
    assert_eq!(context["global_request_id"], GLOBAL_ID);
    // The response still names this request's own id.
    assert_ne!(response.request_id(), GLOBAL_ID);
    assert_eq!(context["request_id"], response.request_id());
}

#[tokio::test]
async fn a_malformed_inbound_id_is_ignored() {
    let app = TestApp::with_probes(AuthStrategy::NoAuth2).await;
    for inbound in [
        "req-not-a-uuid",
        "12345678-1234-1234-1234-123456789abc",
        "req-12345678-1234-1234-1234-123456789ABC",
    ] {
        let context = app
            .get("/probe/context")
            .token("admin")
            .header("x-openstack-request-id", inbound)
            .send()
            .await
            .json();
        assert_eq!(
            context["global_request_id"],
            serde_json::Value::Null,
            "{inbound}"
        );
    }
}

#[tokio::test]
async fn the_request_log_line_names_both_ids_and_the_outcome() {
    let app = TestApp::new().await;
    let (logs, _guard) = capture_logs();

    let response = app
        .get("/barnabas?x=1")
        .token("admin")
        .version("1.23")
        .header("x-openstack-request-id", GLOBAL_ID)
        .send()
        .await;

    let logs = logs.contents();
    let line = logs
        .lines()
        .find(|line| line.contains(" INFO ") && line.contains("status="))
        .map(ToOwned::to_owned);
    let line = line.unwrap_or_else(|| panic!("no request line in:\n{logs}"));
    assert!(
        line.contains(&format!("request_id={}", response.request_id())),
        "{line}"
    );
    assert!(
        line.contains(&format!("global_request_id={GLOBAL_ID}")),
        "{line}"
    );
    assert!(line.contains("method=GET"), "{line}");
    assert!(line.contains("path=/barnabas?x=1"), "{line}");
    assert!(line.contains("status=404"), "{line}");
    assert!(line.contains("microversion=1.23"), "{line}");
    assert!(line.contains("duration_ms="), "{line}");
    assert!(line.contains("user_id=admin"), "{line}");
}
