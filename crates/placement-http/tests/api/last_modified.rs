//! `Last-Modified` of a provider after each kind of write: upstream stamps
//! `resource_providers.updated_at` on every UPDATE of the row, so every
//! generation bump (inventories, allocations, traits, aggregates) and every
//! update moves the time `GET /resource_providers/{uuid}` answers with.
//!
//! The provider's timestamps are first moved far into the past, so a write
//! that stamps the row shows within the same second.

use axum::http::{Method, StatusCode};
use placement_store::params;
use serde_json::{json, Value};

use crate::helpers::{send, TestApp, TestResponse};

/// What `Last-Modified` says for the backdated timestamps.
const BACKDATED: &str = "Sat, 03 Feb 2001 04:05:06 GMT";

async fn create(app: &TestApp, name: &str, parent: Option<&str>) -> String {
    let mut body = json!({"name": name});
    if let Some(parent) = parent {
        body["parent_provider_uuid"] = json!(parent);
    }
    let created = send(app, Method::POST, "/resource_providers", "1.20", Some(body)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    created.json()["uuid"].as_str().unwrap().to_owned()
}

/// Moves every provider's `created_at` (and `updated_at`, where set) to
/// [`BACKDATED`].
async fn backdate(app: &TestApp) {
    let mut tx = app.database().begin().await.unwrap();
    tx.execute(
        "UPDATE resource_providers SET created_at = '2001-02-03 04:05:06.000000'",
        params![],
    )
    .await
    .unwrap();
    tx.execute(
        "UPDATE resource_providers SET updated_at = '2001-02-03 04:05:06.000000'
         WHERE updated_at IS NOT NULL",
        params![],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn show(app: &TestApp, rp: &str) -> TestResponse {
    let shown = send(
        app,
        Method::GET,
        &format!("/resource_providers/{rp}"),
        "1.15",
        None,
    )
    .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    shown
}

async fn generation(app: &TestApp, rp: &str) -> i64 {
    show(app, rp).await.json()["generation"].as_i64().unwrap()
}

/// Asserts the provider's `Last-Modified` is the time of a write made now,
/// not the backdated creation.
async fn assert_modified_now(app: &TestApp, rp: &str, after: &str) {
    let shown = show(app, rp).await;
    let stamp = shown.header("last-modified");
    assert!(stamp.is_some(), "no Last-Modified after {after}");
    assert_ne!(stamp, Some(BACKDATED), "Last-Modified kept after {after}");
}

async fn put(app: &TestApp, path: &str, version: &str, body: Value) -> TestResponse {
    let response = send(app, Method::PUT, path, version, Some(body)).await;
    assert!(response.status.is_success(), "{path}: {}", response.body);
    response
}

async fn set_inventory(app: &TestApp, rp: &str) {
    let generation = generation(app, rp).await;
    put(
        app,
        &format!("/resource_providers/{rp}/inventories"),
        "1.15",
        json!({
            "resource_provider_generation": generation,
            "inventories": {"VCPU": {"total": 8}}
        }),
    )
    .await;
}

#[tokio::test]
async fn an_inventory_write_moves_the_provider_last_modified() {
    let app = TestApp::new().await;
    let rp = create(&app, "rp", None).await;
    backdate(&app).await;
    assert_eq!(
        show(&app, &rp).await.header("last-modified"),
        Some(BACKDATED)
    );

    set_inventory(&app, &rp).await;
    assert_modified_now(&app, &rp, "PUT inventories").await;

    backdate(&app).await;
    let generation = generation(&app, &rp).await;
    put(
        &app,
        &format!("/resource_providers/{rp}/inventories/VCPU"),
        "1.15",
        json!({"resource_provider_generation": generation, "total": 16}),
    )
    .await;
    assert_modified_now(&app, &rp, "PUT one inventory").await;

    backdate(&app).await;
    let deleted = send(
        &app,
        Method::DELETE,
        &format!("/resource_providers/{rp}/inventories"),
        "1.15",
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_modified_now(&app, &rp, "DELETE inventories").await;
}

#[tokio::test]
async fn an_allocation_write_moves_its_providers_last_modified() {
    let app = TestApp::new().await;
    let rp = create(&app, "rp", None).await;
    set_inventory(&app, &rp).await;
    backdate(&app).await;

    put(
        &app,
        &format!("/allocations/{}", uuid::Uuid::new_v4()),
        "1.28",
        json!({
            "allocations": {rp.clone(): {"resources": {"VCPU": 1}}},
            "project_id": uuid::Uuid::new_v4().to_string(),
            "user_id": uuid::Uuid::new_v4().to_string(),
            "consumer_generation": null
        }),
    )
    .await;
    assert_modified_now(&app, &rp, "PUT allocations").await;
}

#[tokio::test]
async fn trait_and_aggregate_writes_move_the_provider_last_modified() {
    let app = TestApp::new().await;
    let rp = create(&app, "rp", None).await;
    backdate(&app).await;
    let generation = generation(&app, &rp).await;
    put(
        &app,
        &format!("/resource_providers/{rp}/traits"),
        "1.15",
        json!({"resource_provider_generation": generation, "traits": ["HW_CPU_X86_AVX"]}),
    )
    .await;
    assert_modified_now(&app, &rp, "PUT traits").await;

    backdate(&app).await;
    let generation = self::generation(&app, &rp).await;
    put(
        &app,
        &format!("/resource_providers/{rp}/aggregates"),
        "1.19",
        json!({
            "resource_provider_generation": generation,
            "aggregates": [uuid::Uuid::new_v4().to_string()]
        }),
    )
    .await;
    assert_modified_now(&app, &rp, "PUT aggregates").await;
}

#[tokio::test]
async fn a_provider_update_answers_the_time_read_before_it_and_stamps_the_row() {
    let app = TestApp::new().await;
    let rp = create(&app, "rp", None).await;
    backdate(&app).await;
    let renamed = put(
        &app,
        &format!("/resource_providers/{rp}"),
        "1.15",
        json!({"name": "renamed"}),
    )
    .await;
    // Upstream answers with the updated_at it loaded before saving.
    assert_eq!(renamed.header("last-modified"), Some(BACKDATED));
    assert_modified_now(&app, &rp, "PUT resource_provider").await;
}

#[tokio::test]
async fn a_child_written_through_its_generation_answers_an_update_with_last_modified() {
    let app = TestApp::new().await;
    let root = create(&app, "root", None).await;
    // A child is inserted with its root already known: no second write,
    // so no updated_at and no Last-Modified on an update yet.
    let child = create(&app, "child", Some(&root)).await;
    let path = format!("/resource_providers/{child}");
    let first = put(&app, &path, "1.15", json!({"name": "child-1"})).await;
    assert_eq!(first.header("last-modified"), None);

    let fresh = create(&app, "fresh-child", Some(&root)).await;
    set_inventory(&app, &fresh).await;
    let updated = put(
        &app,
        &format!("/resource_providers/{fresh}"),
        "1.15",
        json!({"name": "fresh-child-1"}),
    )
    .await;
    assert!(updated.header("last-modified").is_some());
}
