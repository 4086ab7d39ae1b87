//! `/resource_providers/{uuid}/inventories[/{resource_class}]`: every
//! method at the microversions where behaviour changes, with upstream's
//! statuses, codes and error texts.

use axum::http::{Method, StatusCode};
use placement_store::params;
use serde_json::json;

use crate::helpers::{send, TestApp, TestResponse};

/// A new provider's uuid.
async fn provider(app: &TestApp) -> String {
    let response = send(
        app,
        Method::POST,
        "/resource_providers",
        "1.20",
        Some(json!({"name": uuid::Uuid::new_v4().to_string()})),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json()["uuid"].as_str().unwrap().to_owned()
}

/// The handler's own text inside webob's wrapping.
fn detail(response: &TestResponse) -> String {
    let full = response.error()["detail"].as_str().unwrap().to_owned();
    let (_, own) = full.split_once("\n\n ").unwrap_or(("", &full));
    own.trim_end_matches(' ').to_owned()
}

fn inv_path(uuid: &str) -> String {
    format!("/resource_providers/{uuid}/inventories")
}

#[tokio::test]
async fn post_creates_with_defaults_location_and_a_bumped_generation() {
    let app = TestApp::new().await;
    let rp = provider(&app).await;
    let response = send(
        &app,
        Method::POST,
        &inv_path(&rp),
        "1.15",
        Some(json!({"resource_class": "VCPU", "total": 8, "allocation_ratio": 16})),
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    // upstream echoes the numbers as sent (16, not 16.0); reads show what
    // is stored.
    assert!(response
        .header("location")
        .unwrap()
        .ends_with(&format!("/resource_providers/{rp}/inventories/VCPU")));
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    assert!(response.header("last-modified").is_some());
    assert_eq!(
        response.body,
        r#"{"total": 8, "reserved": 0, "min_unit": 1, "max_unit": 2147483647, "step_size": 1, "allocation_ratio": 16, "resource_provider_generation": 1}"#
    );
    let list = send(&app, Method::GET, &inv_path(&rp), "1.14", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json()["resource_provider_generation"], 1);
    assert_eq!(list.json()["inventories"]["VCPU"]["allocation_ratio"], 16.0);
    assert!(list.header("cache-control").is_none());
    let one = send(
        &app,
        Method::GET,
        &format!("{}/VCPU", inv_path(&rp)),
        "1.23",
        None,
    )
    .await;
    assert_eq!(one.json()["resource_provider_generation"], 1);
    assert_eq!(one.json()["total"], 8);
}

#[tokio::test]
async fn post_refusals_carry_upstreams_texts() {
    let app = TestApp::new().await;
    let rp = provider(&app).await;
    let path = inv_path(&rp);
    let body = json!({"resource_class": "DISK_GB", "total": 10});
    let first = send(&app, Method::POST, &path, "1.23", Some(body.clone())).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let dup = send(&app, Method::POST, &path, "1.23", Some(body)).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.error()["code"], "placement.concurrent_update");
    assert!(!dup.body.contains("INSERT"), "{}", dup.body);

    let unknown = send(
        &app,
        Method::POST,
        &path,
        "1.23",
        Some(json!({"resource_class": "CUSTOM_NOPE", "total": 1})),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&unknown),
        format!("Unable to create inventory for resource provider {rp}: No such resource class CUSTOM_NOPE.")
    );

    let too_big = send(
        &app,
        Method::POST,
        &path,
        "1.23",
        Some(json!({"resource_class": "VCPU", "total": 2_147_483_648_i64})),
    )
    .await;
    assert_eq!(too_big.status, StatusCode::BAD_REQUEST);
    assert!(too_big
        .body
        .contains("2147483648 is greater than the maximum of 2147483647"));

    let zero = send(
        &app,
        Method::POST,
        &path,
        "1.23",
        Some(json!({"resource_class": "VCPU", "total": 0})),
    )
    .await;
    assert!(
        zero.body.contains("0 is less than the minimum of 1"),
        "{}",
        zero.body
    );

    let reserved_all = send(
        &app,
        Method::POST,
        &path,
        "1.25",
        Some(json!({"resource_class": "VCPU", "total": 4, "reserved": 4})),
    )
    .await;
    assert_eq!(reserved_all.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&reserved_all),
        format!("Unable to create inventory for resource provider {rp}: Invalid inventory for 'VCPU' on resource provider '{rp}'. The reserved value is greater than or equal to total.")
    );
    let float_total = send(
        &app,
        Method::POST,
        &path,
        "1.26",
        Some(json!({"resource_class": "VCPU", "total": 4.0, "reserved": 4})),
    )
    .await;
    assert_eq!(
        float_total.status,
        StatusCode::CREATED,
        "{}",
        float_total.body
    );
    assert!(float_total
        .body
        .starts_with(r#"{"total": 4.0, "reserved": 4,"#));

    // NOTE(upstream): a NaN ratio is a 500 upstream; a 400 here.
    let nan = app
        .call(Method::POST, &path)
        .token("admin")
        .header("content-type", "application/json")
        .body(r#"{"resource_class": "MEMORY_MB", "total": 1, "allocation_ratio": NaN}"#)
        .send()
        .await;
    assert_eq!(nan.status, StatusCode::BAD_REQUEST, "{}", nan.body);

    let missing = send(
        &app,
        Method::POST,
        &inv_path(&uuid::Uuid::new_v4().to_string()),
        "1.23",
        Some(json!({"resource_class": "VCPU", "total": 1})),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn put_all_and_put_one_check_the_generation() {
    let app = TestApp::new().await;
    let rp = provider(&app).await;
    let path = inv_path(&rp);
    let stale = send(
        &app,
        Method::PUT,
        &path,
        "1.23",
        Some(json!({"resource_provider_generation": 5, "inventories": {"VCPU": {"total": 2}}})),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.error()["code"], "placement.concurrent_update");
    assert_eq!(detail(&stale), "resource provider generation conflict");

    let set = send(
        &app,
        Method::PUT,
        &path,
        "1.23",
        Some(json!({"resource_provider_generation": 0,
                    "inventories": {"VCPU": {"total": 2}, "DISK_GB": {"total": 3}}})),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    // Fields in upstream's order, classes in the request's order.
    assert!(
        set.body.starts_with(
            r#"{"resource_provider_generation": 1, "inventories": {"DISK_GB": {"total": 3, "reserved": 0, "min_unit": 1, "#
        ),
        "{}",
        set.body
    );
    assert_eq!(set.json()["inventories"]["DISK_GB"]["total"], 3);

    let unknown = send(
        &app,
        Method::PUT,
        &path,
        "1.23",
        Some(json!({"resource_provider_generation": 1, "inventories": {"CUSTOM_NOPE": {"total": 2}}})),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&unknown),
        format!("Unknown resource class in inventory for resource provider {rp}: No such resource class CUSTOM_NOPE.")
    );

    let one = format!("{path}/VCPU");
    let stale_one = send(
        &app,
        Method::PUT,
        &one,
        "1.23",
        Some(json!({"resource_provider_generation": 0, "total": 9})),
    )
    .await;
    assert_eq!(stale_one.status, StatusCode::CONFLICT);
    let updated = send(
        &app,
        Method::PUT,
        &one,
        "1.23",
        Some(json!({"resource_provider_generation": 1, "total": 9})),
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.json()["resource_provider_generation"], 2);
    assert_eq!(updated.json()["total"], 9);
    let absent = send(
        &app,
        Method::PUT,
        &format!("{path}/MEMORY_MB"),
        "1.23",
        Some(json!({"resource_provider_generation": 2, "total": 9})),
    )
    .await;
    assert_eq!(absent.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&absent),
        format!("No inventory record with resource class for resource provider {rp}: No inventory of class MEMORY_MB found.")
    );
}

/// Writes an allocation of `class` on the provider directly.
async fn allocate(app: &TestApp, rp: &str, class: &str) {
    let mut tx = app.database().begin().await.unwrap();
    tx.execute(
        "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used)
         SELECT rp.id, ?, rc.id, 1 FROM resource_providers rp, resource_classes rc
         WHERE rp.uuid = ? AND rc.name = ?",
        params![uuid::Uuid::new_v4().to_string(), rp, class],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn deletes_refuse_inventory_in_use_and_delete_all_needs_1_5() {
    let app = TestApp::new().await;
    let rp = provider(&app).await;
    let path = inv_path(&rp);
    let set = send(
        &app,
        Method::PUT,
        &path,
        "1.23",
        Some(json!({"resource_provider_generation": 0,
                    "inventories": {"VCPU": {"total": 2}, "DISK_GB": {"total": 3}}})),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK);
    allocate(&app, &rp, "VCPU").await;

    let old = send(&app, Method::DELETE, &path, "1.4", None).await;
    assert_eq!(old.status, StatusCode::METHOD_NOT_ALLOWED);

    let all = send(&app, Method::DELETE, &path, "1.23", None).await;
    assert_eq!(all.status, StatusCode::CONFLICT);
    assert_eq!(all.error()["code"], "placement.inventory.inuse");
    assert_eq!(
        detail(&all),
        format!("Inventory for 'VCPU' on resource provider '{rp}' in use.")
    );

    let replace = send(
        &app,
        Method::PUT,
        &path,
        "1.23",
        Some(json!({"resource_provider_generation": 1, "inventories": {"DISK_GB": {"total": 3}}})),
    )
    .await;
    assert_eq!(replace.status, StatusCode::CONFLICT);
    assert_eq!(replace.error()["code"], "placement.inventory.inuse");

    let one = send(&app, Method::DELETE, &format!("{path}/VCPU"), "1.23", None).await;
    assert_eq!(one.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&one),
        format!("Unable to delete inventory of class VCPU: Inventory for 'VCPU' on resource provider '{rp}' in use.")
    );

    let disk = send(
        &app,
        Method::DELETE,
        &format!("{path}/DISK_GB"),
        "1.23",
        None,
    )
    .await;
    assert_eq!(disk.status, StatusCode::NO_CONTENT);
    let again = send(
        &app,
        Method::DELETE,
        &format!("{path}/DISK_GB"),
        "1.23",
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(
        detail(&again),
        "No inventory of class DISK_GB found for delete: No inventory of class DISK_GB found for delete"
    );
    let list = send(&app, Method::GET, &path, "1.23", None).await;
    assert_eq!(list.json()["resource_provider_generation"], 2);
}

#[tokio::test]
async fn gets_answer_404_for_missing_providers_and_classes() {
    let app = TestApp::new().await;
    let rp = provider(&app).await;
    let missing = uuid::Uuid::new_v4().to_string();
    let none = send(&app, Method::GET, &inv_path(&missing), "1.23", None).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!(
        detail(&none),
        format!("No resource provider with uuid {missing} found : No resource provider with uuid {missing} found")
    );
    let class = send(
        &app,
        Method::GET,
        &format!("{}/VCPU", inv_path(&rp)),
        "1.23",
        None,
    )
    .await;
    assert_eq!(class.status, StatusCode::NOT_FOUND);
    assert_eq!(
        detail(&class),
        format!("No inventory of class VCPU for {rp}")
    );
    let empty = send(&app, Method::GET, &inv_path(&rp), "1.15", None).await;
    assert_eq!(
        empty.body,
        r#"{"resource_provider_generation": 0, "inventories": {}}"#
    );
    assert_eq!(empty.header("cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn delete_all_from_1_5_empties_and_bumps_the_generation() {
    let app = TestApp::new().await;
    let rp = provider(&app).await;
    let path = inv_path(&rp);
    let set = send(
        &app,
        Method::PUT,
        &path,
        "1.5",
        Some(json!({"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 2}}})),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK);
    let deleted = send(&app, Method::DELETE, &path, "1.5", None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.body.is_empty());
    let list = send(&app, Method::GET, &path, "1.5", None).await;
    assert_eq!(list.json()["resource_provider_generation"], 2);
    assert_eq!(list.json()["inventories"], json!({}));
}
