//! `/resource_providers/{uuid}/usages` and `/usages`: provider sums over
//! inventory classes, project/user sums, the 1.38 consumer-type grouping,
//! query validation texts and the 1.15 cache headers.

use axum::http::{Method, StatusCode};
use placement_store::params;
use serde_json::{json, Value};

use crate::helpers::{send, TestApp, TestResponse};

async fn get(app: &TestApp, path: &str, version: &str) -> TestResponse {
    send(app, Method::GET, path, version, None).await
}

/// A new provider with `inventory` ({class: total}); returns its uuid.
async fn provider(app: &TestApp, inventory: Value) -> String {
    let response = send(
        app,
        Method::POST,
        "/resource_providers",
        "1.20",
        Some(json!({"name": uuid::Uuid::new_v4().to_string()})),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let uuid = response.json()["uuid"].as_str().unwrap().to_owned();
    let mut inventories = serde_json::Map::new();
    for (class, total) in inventory.as_object().unwrap() {
        inventories.insert(class.clone(), json!({"total": total}));
    }
    let response = send(
        app,
        Method::PUT,
        &format!("/resource_providers/{uuid}/inventories"),
        "1.20",
        Some(json!({"resource_provider_generation": 0, "inventories": inventories})),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    uuid
}

/// Who holds an allocation written straight into the tables.
struct Holder<'a> {
    project: &'a str,
    user: &'a str,
    consumer_type: Option<&'a str>,
}

/// Writes a consumer owned by `holder` holding `amounts` ({class: used}) of
/// provider `rp`, through the store (allocation writes over HTTP belong to
/// another module's tests). Returns the consumer uuid.
async fn allocate(app: &TestApp, rp: &str, holder: &Holder<'_>, amounts: Value) -> String {
    use placement_core::consumer::NewConsumer;
    use placement_core::ids::ConsumerUuid;
    use placement_store::ops::consumer as consumers;

    let db = app.database();
    let project = consumers::ensure_project(db, holder.project).await.unwrap();
    let user = consumers::ensure_user(db, holder.user).await.unwrap();
    let consumer_type_id = match holder.consumer_type {
        Some(name) => Some(consumers::ensure_consumer_type(db, name).await.unwrap().id),
        None => None,
    };
    let uuid = ConsumerUuid::new_v4();
    consumers::create_consumer(
        db,
        &NewConsumer {
            uuid,
            project_id: project.id,
            user_id: user.id,
            consumer_type_id,
        },
    )
    .await
    .unwrap();
    let mut tx = db.begin().await.unwrap();
    for (class, used) in amounts.as_object().unwrap() {
        tx.execute(
            "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used)
             SELECT rp.id, ?, rc.id, ? FROM resource_providers rp, resource_classes rc
             WHERE rp.uuid = ? AND rc.name = ?",
            params![uuid.to_string(), used.as_i64().unwrap(), rp, class.as_str()],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    uuid.to_string()
}

fn detail(response: &TestResponse) -> String {
    response.error()["detail"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn provider_usages_cover_every_inventory_class_and_404_names_the_uuid() {
    let app = TestApp::new().await;
    let missing = "fae14fa3-4b43-498c-a33c-4a1d00edb577";
    let response = get(
        &app,
        &format!("/resource_providers/{missing}/usages"),
        "1.0",
    )
    .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(
        detail(&response).contains(&format!(
            "No resource provider with uuid {missing} found: No resource provider with uuid \
             {missing} found"
        )),
        "{}",
        response.body
    );

    let rp = provider(&app, json!({"VCPU": 8, "DISK_GB": 100})).await;
    let path = format!("/resource_providers/{rp}/usages");
    let response = get(&app, &path, "1.0").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(
        response.json(),
        json!({"resource_provider_generation": 1, "usages": {"VCPU": 0, "DISK_GB": 0}})
    );
    assert!(response.header("last-modified").is_none());
    assert!(response.header("cache-control").is_none());

    let holder = Holder {
        project: "p1",
        user: "u1",
        consumer_type: None,
    };
    allocate(&app, &rp, &holder, json!({"VCPU": 2})).await;
    allocate(&app, &rp, &holder, json!({"VCPU": 3, "DISK_GB": 10})).await;
    let response = get(&app, &path, "1.15").await;
    assert_eq!(response.json()["usages"], json!({"VCPU": 5, "DISK_GB": 10}));
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    let modified = response.header("last-modified").unwrap();
    assert!(modified.ends_with(" GMT"), "{modified}");
}

#[tokio::test]
async fn total_usages_need_1_9_and_a_valid_query() {
    let app = TestApp::new().await;
    assert_eq!(
        get(&app, "/usages?project_id=p", "1.8").await.status,
        StatusCode::NOT_FOUND
    );
    let cases: [(&str, &str); 5] = [
        ("/usages", "'project_id' is a required property"),
        ("/usages?project_id=", "'' should be non-empty"),
        (
            "/usages?project_id=p&user_id=",
            "Failed validating 'minLength'",
        ),
        (
            "/usages?project_id=p&dummy=1",
            "Additional properties are not allowed ('dummy' was unexpected)",
        ),
        (
            "/usages?project_id=p&consumer_type=INSTANCE",
            "'consumer_type' was unexpected",
        ),
    ];
    for (path, expected) in cases {
        let response = get(&app, path, "1.9").await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{path}");
        let text = detail(&response);
        assert!(text.contains("Invalid query string parameters: "), "{text}");
        assert!(text.contains(expected), "{path}: {text}");
    }
    let long = "x".repeat(256);
    let response = get(&app, &format!("/usages?project_id={long}"), "1.9").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(detail(&response).contains("Failed validating 'maxLength'"));
    let response = get(&app, "/usages?project_id=p&consumer_type=bad-type", "1.38").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(
        detail(&response).contains("'bad-type' does not match '^[A-Z0-9_]+$|^all|^unknown$'"),
        "{}",
        response.body
    );
}

#[tokio::test]
async fn total_usages_sum_a_project_or_one_of_its_users() {
    let app = TestApp::new().await;
    let rp1 = provider(&app, json!({"VCPU": 8, "MEMORY_MB": 4096})).await;
    let rp2 = provider(&app, json!({"VCPU": 8})).await;
    let alice = Holder {
        project: "proj",
        user: "alice",
        consumer_type: None,
    };
    let bob = Holder {
        project: "proj",
        user: "bob",
        consumer_type: None,
    };
    let other = Holder {
        project: "other",
        user: "alice",
        consumer_type: None,
    };
    allocate(&app, &rp1, &alice, json!({"VCPU": 1, "MEMORY_MB": 512})).await;
    allocate(&app, &rp2, &alice, json!({"VCPU": 2})).await;
    allocate(&app, &rp1, &bob, json!({"VCPU": 4})).await;
    allocate(&app, &rp1, &other, json!({"VCPU": 1})).await;

    let response = get(&app, "/usages?project_id=proj", "1.9").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(
        response.json(),
        json!({"usages": {"VCPU": 7, "MEMORY_MB": 512}})
    );
    assert!(response.header("cache-control").is_none());
    let response = get(&app, "/usages?project_id=proj&user_id=alice", "1.15").await;
    assert_eq!(
        response.json(),
        json!({"usages": {"VCPU": 3, "MEMORY_MB": 512}})
    );
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    assert!(response.header("last-modified").is_some());
    let response = get(&app, "/usages?project_id=nobody", "1.9").await;
    assert_eq!(response.json(), json!({"usages": {}}));
}

#[tokio::test]
async fn from_1_38_usages_are_grouped_by_consumer_type_with_distinct_counts() {
    let app = TestApp::new().await;
    let rp = provider(
        &app,
        json!({"VCPU": 64, "MEMORY_MB": 65536, "DISK_GB": 1000}),
    )
    .await;
    let instance = Holder {
        project: "proj",
        user: "alice",
        consumer_type: Some("INSTANCE"),
    };
    let migration = Holder {
        project: "proj",
        user: "bob",
        consumer_type: Some("MIGRATION"),
    };
    let untyped = Holder {
        project: "proj",
        user: "alice",
        consumer_type: None,
    };
    // A consumer holding two classes counts once.
    allocate(&app, &rp, &instance, json!({"VCPU": 2, "MEMORY_MB": 1024})).await;
    allocate(&app, &rp, &instance, json!({"VCPU": 1, "MEMORY_MB": 512})).await;
    allocate(&app, &rp, &migration, json!({"VCPU": 4})).await;
    allocate(&app, &rp, &untyped, json!({"DISK_GB": 10})).await;

    let response = get(&app, "/usages?project_id=proj", "1.38").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(
        response.json(),
        json!({"usages": {
            "INSTANCE": {"VCPU": 3, "MEMORY_MB": 1536, "consumer_count": 2},
            "MIGRATION": {"VCPU": 4, "consumer_count": 1},
            "unknown": {"DISK_GB": 10, "consumer_count": 1},
        }})
    );
    let response = get(&app, "/usages?project_id=proj&consumer_type=all", "1.38").await;
    assert_eq!(
        response.json(),
        json!({"usages": {"all": {
            "VCPU": 7, "MEMORY_MB": 1536, "DISK_GB": 10, "consumer_count": 4
        }}})
    );
    let response = get(
        &app,
        "/usages?project_id=proj&consumer_type=unknown",
        "1.38",
    )
    .await;
    assert_eq!(
        response.json(),
        json!({"usages": {"unknown": {"DISK_GB": 10, "consumer_count": 1}}})
    );
    let response = get(
        &app,
        "/usages?project_id=proj&user_id=bob&consumer_type=MIGRATION",
        "1.38",
    )
    .await;
    assert_eq!(
        response.json(),
        json!({"usages": {"MIGRATION": {"VCPU": 4, "consumer_count": 1}}})
    );
    let response = get(
        &app,
        "/usages?project_id=proj&user_id=alice&consumer_type=MIGRATION",
        "1.38",
    )
    .await;
    assert_eq!(response.json(), json!({"usages": {}}));
    let response = get(&app, "/usages?project_id=nobody&consumer_type=all", "1.38").await;
    assert_eq!(response.json(), json!({"usages": {}}));
    // Before 1.38 the same data is one flat sum.
    let response = get(&app, "/usages?project_id=proj", "1.37").await;
    assert_eq!(
        response.json(),
        json!({"usages": {"VCPU": 7, "MEMORY_MB": 1536, "DISK_GB": 10}})
    );
}
