//! `/allocations/{consumer_uuid}`, `POST /allocations` and
//! `/resource_providers/{uuid}/allocations`: every body shape and error path
//! at the microversions where behaviour changes, with upstream's statuses,
//! codes and texts.

use axum::http::{Method, StatusCode};
use placement_http::{AuthStrategy, HttpSettings};
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestResponse};

pub(crate) const CONSUMER: &str = "599ffd2d-526a-4b2e-8683-f13ad25f9958";
pub(crate) const OTHER: &str = "7a1d8c12-1c7f-4f55-a9b4-0a6cb3c6d0e2";
const INCOMPLETE: &str = "00000000-0000-0000-0000-000000000000";

pub(crate) async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    version: &str,
    body: Option<Value>,
) -> TestResponse {
    let mut call = app.call(method, path).token("admin").version(version);
    if let Some(body) = body {
        call = call
            .header("content-type", "application/json")
            .body(&body.to_string());
    }
    call.send().await
}

/// A new provider with `inventory` (`{class: total}`), returning its uuid.
pub(crate) async fn provider_with(app: &TestApp, inventory: Value) -> String {
    let created = send(
        app,
        Method::POST,
        "/resource_providers",
        "1.20",
        Some(json!({"name": uuid::Uuid::new_v4().to_string()})),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let uuid = created.json()["uuid"].as_str().unwrap().to_owned();
    let mut inventories = serde_json::Map::new();
    for (class, total) in inventory.as_object().unwrap() {
        inventories.insert(class.clone(), json!({"total": total}));
    }
    let set = send(
        app,
        Method::PUT,
        &format!("/resource_providers/{uuid}/inventories"),
        "1.20",
        Some(json!({"resource_provider_generation": 0, "inventories": inventories})),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    uuid
}

/// The handler's own text inside webob's wrapping.
pub(crate) fn detail(response: &TestResponse) -> String {
    let full = response.error()["detail"].as_str().unwrap().to_owned();
    let (_, own) = full.split_once("\n\n ").unwrap_or(("", &full));
    own.trim_end_matches(' ').to_owned()
}

fn path(consumer: &str) -> String {
    format!("/allocations/{consumer}")
}

async fn get(app: &TestApp, consumer: &str, version: &str) -> TestResponse {
    send(app, Method::GET, &path(consumer), version, None).await
}

async fn put(app: &TestApp, consumer: &str, version: &str, body: Value) -> TestResponse {
    send(app, Method::PUT, &path(consumer), version, Some(body)).await
}

async fn post(app: &TestApp, version: &str, body: Value) -> TestResponse {
    send(app, Method::POST, "/allocations", version, Some(body)).await
}

/// A 1.28 dict body for `rp` with the owners upstream's tests use.
fn body_1_28(rp: &str, resources: Value, generation: Value) -> Value {
    json!({
        "allocations": {rp: {"resources": resources}},
        "project_id": "p1",
        "user_id": "u1",
        "consumer_generation": generation,
    })
}

async fn consumer_generation(app: &TestApp, consumer: &str) -> Value {
    get(app, consumer, "1.28").await.json()["consumer_generation"].clone()
}

#[tokio::test]
async fn an_unknown_consumer_has_an_empty_dict_with_cache_headers_from_1_15() {
    let app = TestApp::new().await;
    let old = get(&app, CONSUMER, "1.14").await;
    assert_eq!(old.status, StatusCode::OK);
    assert_eq!(old.body, r#"{"allocations": {}}"#);
    assert!(old.header("cache-control").is_none());
    assert!(old.header("last-modified").is_none());
    let new = get(&app, CONSUMER, "1.38").await;
    assert_eq!(new.body, r#"{"allocations": {}}"#);
    assert_eq!(new.header("cache-control"), Some("no-cache"));
    assert!(new.header("last-modified").is_some());
    let refused = app
        .get(&path(CONSUMER))
        .token("admin")
        .header("accept", "text/plain")
        .send()
        .await;
    assert_eq!(refused.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn the_list_format_before_1_8_charges_the_incomplete_consumer() {
    let app = TestApp::new().await;
    let rp = provider_with(&app, json!({"VCPU": 8, "DISK_GB": 100})).await;
    let body = json!({"allocations": [
        {"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}},
        {"resource_provider": {"uuid": rp}, "resources": {"VCPU": 2, "DISK_GB": 10}},
    ]});
    let written = put(&app, CONSUMER, "1.0", body).await;
    assert_eq!(written.status, StatusCode::NO_CONTENT, "{}", written.body);
    assert!(written.body.is_empty());
    // A provider listed twice keeps its last resources, as upstream's dict.
    let old = get(&app, CONSUMER, "1.11").await;
    assert_eq!(
        old.body,
        format!(
            r#"{{"allocations": {{"{rp}": {{"resources": {{"VCPU": 2, "DISK_GB": 10}}, "generation": 2}}}}}}"#
        )
    );
    let owned = get(&app, CONSUMER, "1.12").await;
    assert_eq!(owned.json()["project_id"], INCOMPLETE);
    assert_eq!(owned.json()["user_id"], INCOMPLETE);
    assert!(owned.json().get("consumer_generation").is_none());

    let empty = put(&app, CONSUMER, "1.7", json!({"allocations": []})).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert!(
        detail(&empty).starts_with("JSON does not validate: [] should be non-empty  Failed validating 'minItems' in schema['properties']['allocations']:"),
        "{}",
        detail(&empty)
    );
    let owners = json!({"allocations": [{"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}}], "project_id": "p", "user_id": "u"});
    let refused = put(&app, CONSUMER, "1.7", owners.clone()).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(detail(&refused).starts_with(
        "JSON does not validate: Additional properties are not allowed ('project_id', 'user_id' were unexpected)"
    ));
    let accepted = put(&app, CONSUMER, "1.8", owners).await;
    assert_eq!(accepted.status, StatusCode::NO_CONTENT, "{}", accepted.body);
    assert_eq!(get(&app, CONSUMER, "1.12").await.json()["project_id"], "p");
}

#[tokio::test]
async fn the_incomplete_consumer_comes_from_the_settings() {
    let app = TestApp::with_settings(HttpSettings {
        incomplete_consumer_project_id: "ip".into(),
        incomplete_consumer_user_id: "iu".into(),
        ..HttpSettings::new(AuthStrategy::NoAuth2)
    })
    .await;
    let rp = provider_with(&app, json!({"VCPU": 8})).await;
    let body =
        json!({"allocations": [{"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}}]});
    assert_eq!(
        put(&app, CONSUMER, "1.7", body).await.status,
        StatusCode::NO_CONTENT
    );
    let read = get(&app, CONSUMER, "1.12").await.json();
    assert_eq!(
        (read["project_id"].as_str(), read["user_id"].as_str()),
        (Some("ip"), Some("iu"))
    );
}

#[tokio::test]
async fn owners_are_required_and_bounded_from_1_8() {
    let app = TestApp::new().await;
    let rp = provider_with(&app, json!({"VCPU": 8})).await;
    let list = json!([{"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}}]);
    let missing = put(
        &app,
        CONSUMER,
        "1.8",
        json!({"allocations": list, "user_id": "u"}),
    )
    .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(detail(&missing).starts_with("JSON does not validate: 'project_id' is a required property  Failed validating 'required' in schema:"));
    let empty = put(
        &app,
        CONSUMER,
        "1.8",
        json!({"allocations": list, "project_id": "", "user_id": "u"}),
    )
    .await;
    assert!(detail(&empty).starts_with(
        "JSON does not validate: '' should be non-empty  Failed validating 'minLength' in schema['properties']['project_id']:     {'type': 'string', 'minLength': 1, 'maxLength': 255}  On instance['project_id']:     ''"
    ), "{}", detail(&empty));
    let long = put(
        &app,
        CONSUMER,
        "1.8",
        json!({"allocations": list, "project_id": "p", "user_id": "u".repeat(256)}),
    )
    .await;
    assert!(
        detail(&long).contains("Failed validating 'maxLength' in schema['properties']['user_id']")
    );
}

#[tokio::test]
async fn the_dict_format_from_1_12_reads_back_exactly() {
    let app = TestApp::new().await;
    let rp1 = provider_with(&app, json!({"VCPU": 8, "DISK_GB": 100})).await;
    let rp2 = provider_with(&app, json!({"DISK_GB": 100})).await;
    let body = json!({
        "allocations": {rp1.clone(): {"resources": {"VCPU": 2, "DISK_GB": 4}, "generation": 99}, rp2.clone(): {"resources": {"DISK_GB": 6}}},
        "project_id": "p1",
        "user_id": "u1",
    });
    let written = put(&app, CONSUMER, "1.12", body).await;
    assert_eq!(written.status, StatusCode::NO_CONTENT, "{}", written.body);
    let read = get(&app, CONSUMER, "1.12").await;
    let alloc = read.json();
    assert_eq!(
        alloc["allocations"][&rp1]["resources"],
        json!({"VCPU": 2, "DISK_GB": 4})
    );
    assert_eq!(alloc["allocations"][&rp1]["generation"], 2);
    assert_eq!(
        alloc["allocations"][&rp2]["resources"],
        json!({"DISK_GB": 6})
    );
    assert_eq!(alloc["project_id"], "p1");
    assert_eq!(alloc["user_id"], "u1");
    assert!(
        read.body
            .ends_with(r#", "project_id": "p1", "user_id": "u1"}"#),
        "{}",
        read.body
    );

    // Provider uuids must look like uuids; resources must not be empty.
    let bad_key = put(
        &app,
        CONSUMER,
        "1.12",
        json!({"allocations": {"not-a-uuid": {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u"}),
    )
    .await;
    assert_eq!(bad_key.status, StatusCode::BAD_REQUEST);
    assert!(detail(&bad_key).starts_with(
        "JSON does not validate: 'not-a-uuid' does not match any of the regexes: '^[0-9a-fA-F-]{36}$'"
    ), "{}", detail(&bad_key));
    let no_resources = put(
        &app,
        CONSUMER,
        "1.12",
        json!({"allocations": {rp1.clone(): {"resources": {}}}, "project_id": "p", "user_id": "u"}),
    )
    .await;
    assert!(detail(&no_resources).starts_with("JSON does not validate: {} should be non-empty  Failed validating 'minProperties' in schema['properties']['allocations']['patternProperties']['^[0-9a-fA-F-]{36}$']['properties']['resources']:"), "{}", detail(&no_resources));
    let zero = put(
        &app,
        CONSUMER,
        "1.12",
        json!({"allocations": {rp1.clone(): {"resources": {"VCPU": 0}}}, "project_id": "p", "user_id": "u"}),
    )
    .await;
    assert!(detail(&zero).starts_with("JSON does not validate: 0 is less than the minimum of 1"));
    let empty = put(
        &app,
        CONSUMER,
        "1.27",
        json!({"allocations": {}, "project_id": "p", "user_id": "u"}),
    )
    .await;
    assert!(detail(&empty).starts_with("JSON does not validate: {} should be non-empty"));
}

#[tokio::test]
async fn consumer_generations_guard_writes_from_1_28() {
    let app = TestApp::new().await;
    let rp = provider_with(&app, json!({"VCPU": 8})).await;
    let missing = put(
        &app,
        CONSUMER,
        "1.28",
        json!({"allocations": {rp.clone(): {"resources": {"VCPU": 1}}}, "project_id": "p1", "user_id": "u1"}),
    )
    .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(detail(&missing)
        .starts_with("JSON does not validate: 'consumer_generation' is a required property"));
    let wrong_type = put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 1}), json!("1")),
    )
    .await;
    assert!(detail(&wrong_type)
        .starts_with("JSON does not validate: '1' is not of type 'integer', 'null'"));

    let not_new = put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 1}), json!(5)),
    )
    .await;
    assert_eq!(not_new.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&not_new),
        "consumer generation conflict - expected null but got 5"
    );
    assert_eq!(not_new.error()["code"], "placement.concurrent_update");

    let created = put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 1}), Value::Null),
    )
    .await;
    assert_eq!(created.status, StatusCode::NO_CONTENT, "{}", created.body);
    let generation = consumer_generation(&app, CONSUMER).await;
    assert_eq!(generation, 1);

    let stale = put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 2}), Value::Null),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&stale),
        "consumer generation conflict - expected 1 but got None"
    );
    assert_eq!(stale.error()["code"], "placement.concurrent_update");

    let updated = put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 2}), generation),
    )
    .await;
    assert_eq!(updated.status, StatusCode::NO_CONTENT, "{}", updated.body);
    assert_eq!(consumer_generation(&app, CONSUMER).await, 2);

    // Before 1.28 no generation is asked for, and existing ones are kept.
    let unchecked = put(
        &app,
        CONSUMER,
        "1.27",
        json!({"allocations": {rp.clone(): {"resources": {"VCPU": 3}}}, "project_id": "p1", "user_id": "u1"}),
    )
    .await;
    assert_eq!(
        unchecked.status,
        StatusCode::NO_CONTENT,
        "{}",
        unchecked.body
    );

    // An empty dict removes the allocations and the consumer: the next
    // write starts again from null.
    let generation = consumer_generation(&app, CONSUMER).await;
    let cleared = put(&app, CONSUMER, "1.28", json!({"allocations": {}, "project_id": "p1", "user_id": "u1", "consumer_generation": generation})).await;
    assert_eq!(cleared.status, StatusCode::NO_CONTENT, "{}", cleared.body);
    assert_eq!(
        get(&app, CONSUMER, "1.28").await.body,
        r#"{"allocations": {}}"#
    );
    let again = put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 1}), Value::Null),
    )
    .await;
    assert_eq!(again.status, StatusCode::NO_CONTENT, "{}", again.body);
    assert_eq!(consumer_generation(&app, CONSUMER).await, 1);
}

#[tokio::test]
async fn mappings_are_checked_from_1_34_and_not_stored() {
    let app = TestApp::new().await;
    let rp = provider_with(&app, json!({"VCPU": 8})).await;
    let mut body = body_1_28(&rp, json!({"VCPU": 1}), Value::Null);
    body["mappings"] = json!({"alpha": [rp.clone()]});
    let early = put(&app, CONSUMER, "1.33", body.clone()).await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    assert!(detail(&early).starts_with(
        "JSON does not validate: Additional properties are not allowed ('mappings' was unexpected)"
    ));
    let accepted = put(&app, CONSUMER, "1.34", body.clone()).await;
    assert_eq!(accepted.status, StatusCode::NO_CONTENT, "{}", accepted.body);
    assert!(get(&app, CONSUMER, "1.38")
        .await
        .json()
        .get("mappings")
        .is_none());

    body["consumer_generation"] = json!(1);
    body["mappings"] = json!({"alpha": [rp.clone()], "beta": rp.clone()});
    let bad = put(&app, CONSUMER, "1.34", body.clone()).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        detail(&bad).starts_with(&format!(
            "JSON does not validate: '{rp}' is not of type 'array'"
        )),
        "{}",
        detail(&bad)
    );
    body["mappings"] = json!({});
    let empty = put(&app, CONSUMER, "1.34", body.clone()).await;
    assert!(detail(&empty).starts_with("JSON does not validate: {} should be non-empty"));
    body["mappings"] = json!({"alpha": ["not-a-uuid"]});
    let not_uuid = put(&app, CONSUMER, "1.34", body).await;
    assert!(detail(&not_uuid).starts_with("JSON does not validate: 'not-a-uuid' is not a 'uuid'"));
}

#[tokio::test]
async fn consumer_types_are_required_from_1_38_and_unknown_before() {
    let app = TestApp::new().await;
    let rp = provider_with(&app, json!({"VCPU": 8})).await;
    let mut body = body_1_28(&rp, json!({"VCPU": 1}), Value::Null);
    let missing = put(&app, CONSUMER, "1.38", body.clone()).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(detail(&missing)
        .starts_with("JSON does not validate: 'consumer_type' is a required property"));
    body["consumer_type"] = json!("instance");
    let lower = put(&app, CONSUMER, "1.38", body.clone()).await;
    assert!(detail(&lower)
        .starts_with("JSON does not validate: 'instance' does not match '^[A-Z0-9_]+$'"));
    body["consumer_type"] = json!("INSTANCE");
    let early = put(&app, CONSUMER, "1.37", body.clone()).await;
    assert!(detail(&early).contains("'consumer_type' was unexpected"));
    let typed = put(&app, CONSUMER, "1.38", body).await;
    assert_eq!(typed.status, StatusCode::NO_CONTENT, "{}", typed.body);
    let read = get(&app, CONSUMER, "1.38").await;
    assert!(
        read.body
            .ends_with(r#""consumer_generation": 1, "consumer_type": "INSTANCE"}"#),
        "{}",
        read.body
    );
    assert!(get(&app, CONSUMER, "1.37")
        .await
        .json()
        .get("consumer_type")
        .is_none());

    let untyped = put(
        &app,
        OTHER,
        "1.37",
        body_1_28(&rp, json!({"VCPU": 1}), Value::Null),
    )
    .await;
    assert_eq!(untyped.status, StatusCode::NO_CONTENT, "{}", untyped.body);
    assert_eq!(
        get(&app, OTHER, "1.38").await.json()["consumer_type"],
        "unknown"
    );
}

#[tokio::test]
async fn the_consumer_in_the_path_must_look_like_a_uuid_and_is_normalised() {
    let app = TestApp::new().await;
    let rp = provider_with(&app, json!({"VCPU": 8})).await;
    let malformed = put(
        &app,
        "not-a-uuid",
        "1.28",
        body_1_28(&rp, json!({"VCPU": 1}), Value::Null),
    )
    .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(detail(&malformed), "Malformed consumer_uuid: not-a-uuid");
    let upper = CONSUMER.to_uppercase().replace('-', "");
    let written = put(
        &app,
        &upper,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 1}), Value::Null),
    )
    .await;
    assert_eq!(written.status, StatusCode::NO_CONTENT, "{}", written.body);
    assert_eq!(
        get(&app, CONSUMER, "1.12").await.json()["allocations"][&rp]["resources"]["VCPU"],
        1
    );
    // Reads and deletes use the path as given, as upstream does.
    assert_eq!(
        get(&app, &upper, "1.12").await.body,
        r#"{"allocations": {}}"#
    );
}

#[tokio::test]
async fn writes_refuse_unknown_providers_classes_and_what_does_not_fit() {
    let app = TestApp::new().await;
    let rp = provider_with(&app, json!({"VCPU": 2})).await;
    let ghost = "be8b9cba-e7db-4a12-a386-99b4242167fe";
    let no_rp = put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(ghost, json!({"VCPU": 1}), Value::Null),
    )
    .await;
    assert_eq!(no_rp.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&no_rp),
        format!("Allocation for resource provider '{ghost}' that does not exist.")
    );
    let no_class = put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"COWS": 1}), Value::Null),
    )
    .await;
    assert_eq!(no_class.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&no_class),
        format!(
            "Unable to allocate inventory for consumer {CONSUMER}: No such resource class COWS."
        )
    );
    let no_inventory = put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"DISK_GB": 1}), Value::Null),
    )
    .await;
    assert_eq!(no_inventory.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&no_inventory),
        format!("Unable to allocate inventory: Inventory for 'DISK_GB' on resource provider '{rp}' invalid.")
    );
    let too_much = put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 3}), Value::Null),
    )
    .await;
    assert_eq!(too_much.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&too_much),
        format!("Unable to allocate inventory: Unable to create allocation for 'VCPU' on resource provider '{rp}'. The requested amount would exceed the capacity.")
    );
    assert_eq!(too_much.error()["code"], "placement.undefined_code");
    // Nothing was left behind by the failures: the consumer is still new.
    let ok = put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 2}), Value::Null),
    )
    .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.body);

    let not_json = app
        .call(Method::PUT, &path(CONSUMER))
        .token("admin")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let garbage = app
        .call(Method::PUT, &path(CONSUMER))
        .token("admin")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert!(detail(&garbage)
        .starts_with("Malformed JSON: Expecting property name enclosed in double quotes"));
}

#[tokio::test]
async fn delete_removes_everything_once_then_404s() {
    let app = TestApp::new().await;
    let rp = provider_with(&app, json!({"VCPU": 8})).await;
    put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 1}), Value::Null),
    )
    .await;
    let deleted = send(&app, Method::DELETE, &path(CONSUMER), "1.0", None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.body.is_empty());
    assert_eq!(
        get(&app, CONSUMER, "1.28").await.body,
        r#"{"allocations": {}}"#
    );
    let again = send(&app, Method::DELETE, &path(CONSUMER), "1.0", None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(
        detail(&again),
        format!("No allocations for consumer '{CONSUMER}'")
    );
    // The consumer went with its allocations: a new write sends null.
    let fresh = put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 1}), Value::Null),
    )
    .await;
    assert_eq!(fresh.status, StatusCode::NO_CONTENT, "{}", fresh.body);
}

#[tokio::test]
async fn a_providers_allocations_are_grouped_by_consumer() {
    let app = TestApp::new().await;
    let ghost = "fcfa516a-abbe-45d1-8152-d5225d82e596";
    let missing = send(
        &app,
        Method::GET,
        &format!("/resource_providers/{ghost}/allocations"),
        "1.0",
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        detail(&missing),
        format!(
            "Resource provider '{ghost}' not found: No resource provider with uuid {ghost} found"
        )
    );
    let rp = provider_with(&app, json!({"VCPU": 8, "DISK_GB": 100})).await;
    let rp_path = format!("/resource_providers/{rp}/allocations");
    let empty = send(&app, Method::GET, &rp_path, "1.15", None).await;
    assert_eq!(
        empty.body,
        r#"{"allocations": {}, "resource_provider_generation": 1}"#
    );
    assert_eq!(empty.header("cache-control"), Some("no-cache"));
    assert!(empty.header("last-modified").is_some());

    put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 1, "DISK_GB": 5}), Value::Null),
    )
    .await;
    put(
        &app,
        OTHER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 2}), Value::Null),
    )
    .await;
    let old = send(&app, Method::GET, &rp_path, "1.14", None).await;
    assert!(old.header("cache-control").is_none());
    assert!(old.header("last-modified").is_none());
    let old = old.json();
    assert_eq!(old["resource_provider_generation"], 3);
    assert_eq!(
        old["allocations"][CONSUMER],
        json!({"resources": {"VCPU": 1, "DISK_GB": 5}})
    );
    assert_eq!(old["allocations"][OTHER], json!({"resources": {"VCPU": 2}}));
    let new = send(&app, Method::GET, &rp_path, "1.28", None).await.json();
    assert_eq!(new["allocations"][CONSUMER]["consumer_generation"], 1);
    assert_eq!(
        new["allocations"][OTHER],
        json!({"resources": {"VCPU": 2}, "consumer_generation": 1})
    );
}

#[tokio::test]
async fn get_carries_last_modified_from_1_15() {
    let app = TestApp::new().await;
    let rp = provider_with(&app, json!({"VCPU": 8})).await;
    put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 1}), Value::Null),
    )
    .await;
    let read = get(&app, CONSUMER, "1.15").await;
    assert_eq!(read.header("cache-control"), Some("no-cache"));
    let when = read.header("last-modified").unwrap();
    assert!(when.ends_with(" GMT"), "{when}");
    assert!(get(&app, CONSUMER, "1.14")
        .await
        .header("last-modified")
        .is_none());
}

#[tokio::test]
async fn post_exists_from_1_13_and_allows_only_post() {
    let app = TestApp::new().await;
    let early = post(&app, "1.12", json!({})).await;
    assert_eq!(early.status, StatusCode::NOT_FOUND);
    let wrong = send(&app, Method::GET, "/allocations", "1.13", None).await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.header("allow"), Some("POST"));
    let item = send(&app, Method::POST, &path(CONSUMER), "1.13", Some(json!({}))).await;
    assert_eq!(item.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(item.header("allow"), Some("GET, PUT, DELETE"));
    let empty = post(&app, "1.13", json!({})).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert!(detail(&empty).starts_with("JSON does not validate: {} should be non-empty  Failed validating 'minProperties' in schema:"));
    let bad_key = post(&app, "1.13", json!({"nope": {}})).await;
    assert!(detail(&bad_key).starts_with(
        "JSON does not validate: 'nope' does not match any of the regexes: '^[0-9a-fA-F-]{36}$'"
    ));
    let not_json = app
        .call(Method::POST, "/allocations")
        .token("admin")
        .version("1.13")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn post_moves_allocations_between_consumers_atomically() {
    let app = TestApp::new().await;
    let rp = provider_with(&app, json!({"VCPU": 4})).await;
    put(
        &app,
        CONSUMER,
        "1.28",
        body_1_28(&rp, json!({"VCPU": 4}), Value::Null),
    )
    .await;
    // The provider is full: moving the allocation only fits in one write.
    let moved = post(
        &app,
        "1.28",
        json!({
            CONSUMER: {"allocations": {}, "project_id": "p1", "user_id": "u1", "consumer_generation": 1},
            OTHER: {"allocations": {rp.clone(): {"resources": {"VCPU": 4}}}, "project_id": "p1", "user_id": "u1", "consumer_generation": null},
        }),
    )
    .await;
    assert_eq!(moved.status, StatusCode::NO_CONTENT, "{}", moved.body);
    assert_eq!(
        get(&app, CONSUMER, "1.28").await.body,
        r#"{"allocations": {}}"#
    );
    assert_eq!(
        get(&app, OTHER, "1.28").await.json()["allocations"][&rp]["resources"]["VCPU"],
        4
    );

    // A failure in one consumer leaves every consumer as it was.
    let failed = post(
        &app,
        "1.28",
        json!({
            OTHER: {"allocations": {rp.clone(): {"resources": {"VCPU": 1}}}, "project_id": "p1", "user_id": "u1", "consumer_generation": 1},
            CONSUMER: {"allocations": {rp.clone(): {"resources": {"VCPU": 4}}}, "project_id": "p1", "user_id": "u1", "consumer_generation": null},
        }),
    )
    .await;
    assert_eq!(failed.status, StatusCode::CONFLICT);
    assert!(
        detail(&failed)
            .starts_with("Unable to allocate inventory: Unable to create allocation for 'VCPU'"),
        "{}",
        detail(&failed)
    );
    assert_eq!(
        get(&app, OTHER, "1.28").await.json()["allocations"][&rp]["resources"]["VCPU"],
        4
    );
    assert_eq!(
        get(&app, CONSUMER, "1.28").await.body,
        r#"{"allocations": {}}"#
    );

    let stale = post(
        &app,
        "1.28",
        json!({OTHER: {"allocations": {}, "project_id": "p1", "user_id": "u1", "consumer_generation": 7}}),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&stale),
        "consumer generation conflict - expected 1 but got 7"
    );
    assert_eq!(stale.error()["code"], "placement.concurrent_update");
}

#[tokio::test]
async fn post_words_its_own_errors_and_follows_the_microversion() {
    let app = TestApp::new().await;
    let rp = provider_with(&app, json!({"VCPU": 4})).await;
    let entry = |resources: Value| json!({"allocations": {rp.clone(): {"resources": resources}}, "project_id": "p1", "user_id": "u1"});
    let no_class = post(
        &app,
        "1.13",
        json!({CONSUMER: entry(json!({"CUSTOM_PONY": 1}))}),
    )
    .await;
    assert_eq!(no_class.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&no_class),
        "Unable to allocate inventory No such resource class CUSTOM_PONY."
    );
    let ghost = "be8b9cba-e7db-4a12-a386-99b4242167fe";
    let no_rp = post(
        &app,
        "1.13",
        json!({CONSUMER: {"allocations": {ghost: {"resources": {"VCPU": 1}}}, "project_id": "p1", "user_id": "u1"}}),
    )
    .await;
    assert_eq!(
        detail(&no_rp),
        format!("Allocation for resource provider '{ghost}' that does not exist.")
    );
    // Without a generation before 1.28; required from it.
    let unchecked = post(&app, "1.27", json!({CONSUMER: entry(json!({"VCPU": 1}))})).await;
    assert_eq!(
        unchecked.status,
        StatusCode::NO_CONTENT,
        "{}",
        unchecked.body
    );
    let missing = post(&app, "1.28", json!({CONSUMER: entry(json!({"VCPU": 1}))})).await;
    assert!(detail(&missing)
        .starts_with("JSON does not validate: 'consumer_generation' is a required property"));
    let mut typed = entry(json!({"VCPU": 1}));
    typed["consumer_generation"] = json!(1);
    typed["mappings"] = json!({"": [rp.clone()]});
    // The group pattern is unanchored: a name without a group character is
    // simply not validated.
    let odd_group = post(&app, "1.34", json!({CONSUMER: typed.clone()})).await;
    assert_eq!(
        odd_group.status,
        StatusCode::NO_CONTENT,
        "{}",
        odd_group.body
    );
    typed["consumer_generation"] = json!(2);
    let untyped = post(&app, "1.38", json!({CONSUMER: typed.clone()})).await;
    assert!(detail(&untyped)
        .starts_with("JSON does not validate: 'consumer_type' is a required property"));
    typed["consumer_type"] = json!("MIGRATION");
    let with_type = post(&app, "1.38", json!({CONSUMER: typed})).await;
    assert_eq!(
        with_type.status,
        StatusCode::NO_CONTENT,
        "{}",
        with_type.body
    );
    assert_eq!(
        get(&app, CONSUMER, "1.38").await.json()["consumer_type"],
        "MIGRATION"
    );
}
