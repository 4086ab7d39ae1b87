//! `GET /healthcheck`: oslo.middleware's formats, no authentication, the
//! file backends, and one database question for a flood of probes.
//! (The database-down answer is tested against a stopped private server in
//! the binary's tests, `crates/placement/tests/cli/ops.rs`.)

use std::path::PathBuf;

use axum::http::{Method, StatusCode};
use placement_http::{AuthStrategy, HealthBackend, HealthSettings, HttpSettings, UrlPrefix};
use serde_json::json;

use crate::helpers::TestApp;

/// Keystone without a validator refuses every API request: the probe must
/// answer all the same.
fn locked_down(healthcheck: HealthSettings) -> HttpSettings {
    HttpSettings {
        healthcheck,
        ..HttpSettings::new(AuthStrategy::Keystone)
    }
}

fn scratch_file() -> PathBuf {
    std::env::temp_dir().join(format!("placement-health-{}", uuid::Uuid::new_v4()))
}

#[tokio::test]
async fn a_reachable_database_answers_ok_in_plain_text_without_credentials() {
    let app = TestApp::with_settings(locked_down(HealthSettings::default())).await;
    let r = app.get("/healthcheck").send().await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, "OK");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=UTF-8"));
    // In front of the API's stack: no request id, no microversion.
    assert!(r.header("x-openstack-request-id").is_none());
    assert!(r.header("openstack-api-version").is_none());
    // The API itself stays locked.
    let api = app.get("/resource_providers").send().await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn head_answers_no_content_and_any_method_is_a_probe() {
    let app = TestApp::with_settings(locked_down(HealthSettings::default())).await;
    let head = app.call(Method::HEAD, "/healthcheck").send().await;
    assert_eq!(head.status, StatusCode::NO_CONTENT);
    assert_eq!(head.body, "");
    let post = app.call(Method::POST, "/healthcheck").send().await;
    assert_eq!(post.status, StatusCode::OK);
    assert_eq!(post.body, "OK");
}

#[tokio::test]
async fn json_is_oslos_shape_plain_or_detailed() {
    let app = TestApp::with_settings(locked_down(HealthSettings::default())).await;
    let r = app
        .get("/healthcheck")
        .header("accept", "application/json")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.body,
        "{\n    \"detailed\": false,\n    \"reasons\": [\n        \"OK\"\n    ]\n}"
    );

    let app = TestApp::with_settings(locked_down(HealthSettings {
        detailed: true,
        ..HealthSettings::default()
    }))
    .await;
    let r = app
        .get("/healthcheck")
        .header("accept", "application/json")
        .send()
        .await;
    let body = r.json();
    assert_eq!(body["detailed"], true);
    assert!(body["now"].is_string());
    let reasons = body["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1);
    assert_eq!(reasons[0]["reason"], "OK");
    assert_eq!(reasons[0]["class"], "HealthcheckResult");
    assert!(
        reasons[0]["details"]
            .as_str()
            .unwrap()
            .starts_with("database answered in "),
        "{body}"
    );
    // text/html is oslo's second format; a plain browser Accept gets it.
    let html = app
        .get("/healthcheck")
        .header("accept", "text/html")
        .send()
        .await;
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=UTF-8")
    );
    assert!(
        html.body.contains("<TD>HealthcheckResult</TD>"),
        "{}",
        html.body
    );
}

#[tokio::test]
async fn the_disable_file_drains_the_node_while_it_exists() {
    let file = scratch_file();
    let app = TestApp::with_settings(locked_down(HealthSettings {
        backends: vec![HealthBackend::DisableByFile(Some(file.clone()))],
        detailed: true,
        ..HealthSettings::default()
    }))
    .await;
    let r = app.get("/healthcheck").send().await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, "OK\nOK");

    std::fs::write(&file, "").unwrap();
    let r = app.get("/healthcheck").send().await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body, "DISABLED BY FILE\nOK");
    let r = app
        .get("/healthcheck")
        .header("accept", "application/json")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.json()["reasons"][0],
        json!({
            "reason": "DISABLED BY FILE",
            "details": format!("Path '{}' was found", file.display()),
            "class": "HealthcheckResult",
        })
    );
    let head = app.call(Method::HEAD, "/healthcheck").send().await;
    assert_eq!(head.status, StatusCode::SERVICE_UNAVAILABLE);

    std::fs::remove_file(&file).unwrap();
    let r = app.get("/healthcheck").send().await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn under_a_prefix_it_answers_inside_and_outside_the_mount() {
    let app = TestApp::with_settings(HttpSettings {
        url_prefix: UrlPrefix::new("/placement").unwrap(),
        ..locked_down(HealthSettings::default())
    })
    .await;
    for path in ["/healthcheck", "/placement/healthcheck"] {
        let r = app.get(path).send().await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.body, "OK", "{path}");
    }
    // The configured path moves it.
    let app = TestApp::with_settings(locked_down(HealthSettings {
        path: "/status/health".to_owned(),
        ..HealthSettings::default()
    }))
    .await;
    assert_eq!(
        app.get("/status/health").send().await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/healthcheck").send().await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_probes_asks_the_database_once() {
    let app = TestApp::with_metrics(locked_down(HealthSettings {
        reuse_for: std::time::Duration::from_secs(60),
        ..HealthSettings::default()
    }))
    .await;
    let before = acquires(&app).await;
    let probes = (0..64).map(|_| app.get("/healthcheck").send());
    let answers = futures::future::join_all(probes).await;
    assert!(answers.iter().all(|r| r.status == StatusCode::OK));
    // One connection was taken for the whole flood.
    assert_eq!(acquires(&app).await, before + 1);
}

/// How many pooled connections the app has asked for.
async fn acquires(app: &TestApp) -> u64 {
    let (_, text) = app.scrape().await;
    text.lines()
        .find_map(|line| line.strip_prefix("placement_db_pool_acquire_wait_seconds_count "))
        .expect("the acquire histogram is exposed")
        .parse()
        .unwrap()
}
