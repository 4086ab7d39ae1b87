//! The schema-error corpus (`tests/corpus/schema-errors.jsonl`, recorded
//! from upstream 16.0.0 by `tools/schema-corpus/record.py`) replayed
//! against the router: every invalid body and query string must get
//! upstream's status, error code and detail, byte for byte.
//!
//! `GET /allocation_candidates` lines are checked against the schema alone
//! by the crate's unit tests until the route exists.

use axum::http::Method;

use crate::helpers::TestApp;

const CORPUS: &str = include_str!("../corpus/schema-errors.jsonl");

#[tokio::test]
async fn every_recorded_schema_error_is_answered_as_upstream_answers_it() {
    let app = TestApp::new().await;
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (number, line) in CORPUS.lines().enumerate() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        let path = entry["path"].as_str().unwrap();
        if path.starts_with("/allocation_candidates") {
            continue;
        }
        let method = Method::from_bytes(entry["method"].as_str().unwrap().as_bytes()).unwrap();
        let version = entry["version"].as_str().unwrap();
        let mut call = app
            .call(method.clone(), path)
            .token("admin")
            .header("x-roles", "admin,service,member,reader")
            .header("accept", "application/json")
            .version(version);
        if let Some(body) = entry["body"].as_str() {
            call = call.header("content-type", "application/json").body(body);
        }
        let response = call.send().await;
        replayed += 1;
        let want_status = entry["status"].as_u64().unwrap();
        let got_status = u64::from(response.status.as_u16());
        let label = format!("line {}: {method} {path} @{version}", number + 1);
        if entry["setup"].as_bool() == Some(true) {
            assert_eq!(got_status, want_status, "{label}: {}", response.body);
            continue;
        }
        let error = response.error();
        let got = (got_status, error["code"].clone(), error["detail"].clone());
        let want = (want_status, entry["code"].clone(), entry["detail"].clone());
        if got != want {
            failures.push(format!(
                "{label} body {}\n  want {want:?}\n  got  {got:?}",
                entry["body"]
            ));
        }
    }
    assert!(replayed > 400, "the corpus lost its lines: {replayed}");
    assert!(
        failures.is_empty(),
        "{} of {replayed} corpus lines differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
