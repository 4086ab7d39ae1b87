//! `POST /reshaper`: moving inventory and allocations between providers in
//! one write, and every refusal with upstream's status, code and text.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::allocations::{detail, provider_with, send, CONSUMER, OTHER};
use crate::helpers::{TestApp, TestResponse};

/// `POST /reshaper` as a service: the only role upstream's default policy
/// lets reshape.
async fn reshape(app: &TestApp, version: &str, body: Value) -> TestResponse {
    app.call(Method::POST, "/reshaper")
        .token("nova")
        .header("x-roles", "service")
        .version(version)
        .header("content-type", "application/json")
        .body(&body.to_string())
        .send()
        .await
}

async fn generation(app: &TestApp, rp: &str) -> i64 {
    let read = send(
        app,
        Method::GET,
        &format!("/resource_providers/{rp}"),
        "1.30",
        None,
    )
    .await;
    read.json()["generation"].as_i64().unwrap()
}

/// A child of `parent` without inventory.
async fn child_of(app: &TestApp, parent: &str) -> String {
    let created = send(
        app,
        Method::POST,
        "/resource_providers",
        "1.20",
        Some(json!({"name": uuid::Uuid::new_v4().to_string(), "parent_provider_uuid": parent})),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    created.json()["uuid"].as_str().unwrap().to_owned()
}

fn owned(allocations: Value, generation: Value) -> Value {
    json!({"allocations": allocations, "project_id": "p1", "user_id": "u1", "consumer_generation": generation})
}

/// A parent with VCPU and DISK_GB, CONSUMER holding some of each.
async fn parent_with_allocation(app: &TestApp) -> String {
    let parent = provider_with(app, json!({"VCPU": 8, "DISK_GB": 100})).await;
    let written = send(
        app,
        Method::PUT,
        &format!("/allocations/{CONSUMER}"),
        "1.28",
        Some(owned(
            json!({parent.clone(): {"resources": {"VCPU": 2, "DISK_GB": 10}}}),
            Value::Null,
        )),
    )
    .await;
    assert_eq!(written.status, StatusCode::NO_CONTENT, "{}", written.body);
    parent
}

#[tokio::test]
async fn the_route_exists_from_1_30_for_post_only() {
    let app = TestApp::new().await;
    let early = reshape(&app, "1.29", json!({})).await;
    assert_eq!(early.status, StatusCode::NOT_FOUND);
    let wrong = send(&app, Method::GET, "/reshaper", "1.30", None).await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.header("allow"), Some("POST"));
    let not_json = app
        .call(Method::POST, "/reshaper")
        .token("admin")
        .version("1.30")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn inventory_and_allocations_move_to_a_child_in_one_write() {
    let app = TestApp::new().await;
    let parent = parent_with_allocation(&app).await;
    let child = child_of(&app, &parent).await;
    let parent_gen = generation(&app, &parent).await;
    let body = json!({
        "inventories": {
            parent.clone(): {"resource_provider_generation": parent_gen, "inventories": {"DISK_GB": {"total": 100}}},
            child.clone(): {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8, "allocation_ratio": 2.0}}},
        },
        "allocations": {
            CONSUMER: owned(json!({
                parent.clone(): {"resources": {"DISK_GB": 10}},
                child.clone(): {"resources": {"VCPU": 2}},
            }), json!(1)),
        },
    });
    let moved = reshape(&app, "1.30", body).await;
    assert_eq!(moved.status, StatusCode::NO_CONTENT, "{}", moved.body);
    assert!(moved.body.is_empty());
    let read = send(
        &app,
        Method::GET,
        &format!("/allocations/{CONSUMER}"),
        "1.28",
        None,
    )
    .await
    .json();
    assert_eq!(
        read["allocations"][&parent]["resources"],
        json!({"DISK_GB": 10})
    );
    assert_eq!(read["allocations"][&child]["resources"], json!({"VCPU": 2}));
    assert_eq!(read["consumer_generation"], 2);
    let inventory = send(
        &app,
        Method::GET,
        &format!("/resource_providers/{child}/inventories"),
        "1.30",
        None,
    )
    .await
    .json();
    assert_eq!(inventory["inventories"]["VCPU"]["total"], 8);
    assert_eq!(inventory["inventories"]["VCPU"]["allocation_ratio"], 2.0);
    assert_eq!(inventory["inventories"]["VCPU"]["max_unit"], 2_147_483_647);
    let parent_inventory = send(
        &app,
        Method::GET,
        &format!("/resource_providers/{parent}/inventories"),
        "1.30",
        None,
    )
    .await
    .json();
    assert!(parent_inventory["inventories"].get("VCPU").is_none());
}

#[tokio::test]
async fn the_body_schema_follows_the_microversion() {
    let app = TestApp::new().await;
    let parent = provider_with(&app, json!({"VCPU": 8})).await;
    let very_invalid = reshape(&app, "1.30", json!({"cows": "moo"})).await;
    assert_eq!(very_invalid.status, StatusCode::BAD_REQUEST);
    // Of the three errors at the top, jsonschema shows the first in the
    // schema's key order.
    assert!(
        detail(&very_invalid).starts_with(
            "JSON does not validate: 'inventories' is a required property  Failed validating 'required' in schema:"
        ),
        "{}",
        detail(&very_invalid)
    );
    let inventories = json!({parent.clone(): {"resource_provider_generation": 1, "inventories": {"VCPU": {"total": 1}}}});
    let missing = reshape(&app, "1.30", json!({"inventories": inventories})).await;
    assert!(detail(&missing)
        .starts_with("JSON does not validate: 'allocations' is a required property"));
    let none = reshape(&app, "1.30", json!({"inventories": {}, "allocations": {}})).await;
    assert!(detail(&none).starts_with("JSON does not validate: {} should be non-empty  Failed validating 'minProperties' in schema['properties']['inventories']:"));
    let bad_record = reshape(
        &app,
        "1.30",
        json!({"inventories": {parent.clone(): {"resource_provider_generation": 1, "inventories": {"VCPU": {"total": 0}}}}, "allocations": {}}),
    )
    .await;
    assert!(
        detail(&bad_record).starts_with("JSON does not validate: 0 is less than the minimum of 1")
    );

    let mut entry = owned(
        json!({parent.clone(): {"resources": {"VCPU": 1}}}),
        Value::Null,
    );
    entry["mappings"] = json!({"a": [parent.clone()]});
    let early_mappings = reshape(
        &app,
        "1.33",
        json!({"inventories": inventories, "allocations": {CONSUMER: entry.clone()}}),
    )
    .await;
    assert!(detail(&early_mappings).contains("'mappings' was unexpected"));
    entry["consumer_type"] = json!("INSTANCE");
    let early_type = reshape(
        &app,
        "1.37",
        json!({"inventories": inventories, "allocations": {CONSUMER: entry.clone()}}),
    )
    .await;
    assert!(detail(&early_type).contains("'consumer_type' was unexpected"));
    let mut untyped = entry.clone();
    untyped.as_object_mut().unwrap().remove("consumer_type");
    let late = reshape(
        &app,
        "1.38",
        json!({"inventories": inventories, "allocations": {CONSUMER: untyped}}),
    )
    .await;
    assert!(
        detail(&late).starts_with("JSON does not validate: 'consumer_type' is a required property")
    );
    let typed = reshape(
        &app,
        "1.38",
        json!({"inventories": inventories, "allocations": {CONSUMER: entry}}),
    )
    .await;
    assert_eq!(typed.status, StatusCode::NO_CONTENT, "{}", typed.body);
    let read = send(
        &app,
        Method::GET,
        &format!("/allocations/{CONSUMER}"),
        "1.38",
        None,
    )
    .await
    .json();
    assert_eq!(read["consumer_type"], "INSTANCE");
}

#[tokio::test]
async fn providers_must_exist_at_the_generation_the_client_read() {
    let app = TestApp::new().await;
    let parent = parent_with_allocation(&app).await;
    let ghost = "be8b9cba-e7db-4a12-a386-99b4242167fe";
    let unknown = reshape(
        &app,
        "1.30",
        json!({"inventories": {ghost: {"resource_provider_generation": 0, "inventories": {}}}, "allocations": {}}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&unknown),
        format!("Resource provider {ghost} in inventories not found: No resource provider with uuid {ghost} found")
    );
    assert_eq!(
        unknown.error()["code"],
        "placement.resource_provider.not_found"
    );
    let stale = reshape(
        &app,
        "1.30",
        json!({"inventories": {parent.clone(): {"resource_provider_generation": 0, "inventories": {}}}, "allocations": {}}),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&stale),
        format!("resource provider generation conflict for provider {parent}: actual: 2, given: 0")
    );
    assert_eq!(stale.error()["code"], "placement.concurrent_update");
}

#[tokio::test]
async fn refusals_of_the_write_carry_upstreams_texts_and_codes() {
    let app = TestApp::new().await;
    let parent = parent_with_allocation(&app).await;
    let gen = generation(&app, &parent).await;
    let inventories = |inv: Value| json!({parent.clone(): {"resource_provider_generation": gen, "inventories": inv}});

    let in_use = reshape(
        &app,
        "1.30",
        json!({"inventories": inventories(json!({"DISK_GB": {"total": 100}})), "allocations": {}}),
    )
    .await;
    assert_eq!(in_use.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&in_use),
        format!("update conflict: Inventory for 'VCPU' on resource provider '{parent}' in use.")
    );
    assert_eq!(in_use.error()["code"], "placement.inventory.inuse");

    let no_room = reshape(
        &app,
        "1.30",
        json!({
            "inventories": inventories(json!({"VCPU": {"total": 8}, "DISK_GB": {"total": 100}})),
            "allocations": {OTHER: owned(json!({parent.clone(): {"resources": {"VCPU": 7}}}), Value::Null)},
        }),
    )
    .await;
    assert_eq!(no_room.status, StatusCode::CONFLICT);
    assert!(
        detail(&no_room)
            .starts_with("Unable to allocate inventory: Unable to create allocation for 'VCPU'"),
        "{}",
        detail(&no_room)
    );

    let bad_consumer_gen = reshape(
        &app,
        "1.30",
        json!({
            "inventories": inventories(json!({"VCPU": {"total": 8}, "DISK_GB": {"total": 100}})),
            "allocations": {OTHER: owned(json!({parent.clone(): {"resources": {"VCPU": 1}}}), json!(99))},
        }),
    )
    .await;
    assert_eq!(bad_consumer_gen.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&bad_consumer_gen),
        "consumer generation conflict - expected null but got 99"
    );
    assert_eq!(
        bad_consumer_gen.error()["code"],
        "placement.concurrent_update"
    );

    let unknown_class = reshape(
        &app,
        "1.30",
        json!({"inventories": inventories(json!({"VCPU": {"total": 8}, "DISK_GB": {"total": 100}, "CUSTOM_NOPE": {"total": 1}})), "allocations": {}}),
    )
    .await;
    assert_eq!(unknown_class.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&unknown_class),
        "malformed reshaper data: No such resource class CUSTOM_NOPE."
    );

    let ghost = "be8b9cba-e7db-4a12-a386-99b4242167fe";
    let no_rp = reshape(
        &app,
        "1.30",
        json!({
            "inventories": inventories(json!({"VCPU": {"total": 8}, "DISK_GB": {"total": 100}})),
            "allocations": {OTHER: owned(json!({ghost: {"resources": {"VCPU": 1}}}), Value::Null)},
        }),
    )
    .await;
    assert_eq!(no_rp.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&no_rp),
        format!("Allocation for resource provider '{ghost}' that does not exist.")
    );

    // Nothing was written by the refusals.
    assert_eq!(generation(&app, &parent).await, gen);
}
