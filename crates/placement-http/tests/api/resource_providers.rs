//! `/resource_providers` and `/resource_providers/{uuid}`: create, show,
//! update, delete and list with filters, at the microversions where their
//! behaviour changes, with every status and error text upstream answers.

use axum::http::{Method, StatusCode};
use placement_store::params;
use serde_json::{json, Value};

use crate::helpers::{send, TestApp, TestResponse};

async fn post(app: &TestApp, version: &str, body: Value) -> TestResponse {
    send(
        app,
        Method::POST,
        "/resource_providers",
        version,
        Some(body),
    )
    .await
}

/// Creates a provider at 1.20 and returns its body.
async fn create(app: &TestApp, name: &str, parent: Option<&str>) -> Value {
    let mut body = json!({"name": name});
    if let Some(parent) = parent {
        body["parent_provider_uuid"] = json!(parent);
    }
    let response = post(app, "1.20", body).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json()
}

async fn list(app: &TestApp, version: &str, query: &str) -> TestResponse {
    send(
        app,
        Method::GET,
        &format!("/resource_providers{query}"),
        version,
        None,
    )
    .await
}

fn names(response: &TestResponse) -> Vec<String> {
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json()["resource_providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rp| rp["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The detail as the handler wrote it, without webob's title paragraph
/// and trailing spaces around it.
fn detail(response: &TestResponse) -> String {
    let full = response.error()["detail"].as_str().unwrap().to_owned();
    let (_, own) = full.split_once("\n\n ").unwrap_or(("", &full));
    own.trim_end_matches(' ').to_owned()
}

fn uuid_of(rp: &Value) -> String {
    rp["uuid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn create_answers_201_without_body_before_1_20_and_200_with_it_after() {
    let app = TestApp::new().await;
    let old = post(
        &app,
        "1.0",
        json!({"name": "old", "uuid": "{6F1C2E9A-1D4B-4C3E-9F00-0123456789AB}"}),
    )
    .await;
    assert_eq!(old.status, StatusCode::CREATED, "{}", old.body);
    assert_eq!(old.body, "");
    assert_eq!(old.header("content-type"), None);
    assert!(old
        .header("location")
        .unwrap()
        .ends_with("/resource_providers/6f1c2e9a-1d4b-4c3e-9f00-0123456789ab"));

    let new = post(&app, "1.20", json!({"name": "new"})).await;
    assert_eq!(new.status, StatusCode::OK);
    assert_eq!(new.header("cache-control"), Some("no-cache"));
    assert!(new.header("last-modified").is_some());
    let body = new.json();
    assert_eq!(body["generation"], 0);
    assert_eq!(body["root_provider_uuid"], body["uuid"]);
    assert_eq!(body["parent_provider_uuid"], Value::Null);
    assert!(new.header("location").unwrap().ends_with(&uuid_of(&body)));
}

#[tokio::test]
async fn create_refuses_bad_bodies_duplicates_and_missing_parents() {
    let app = TestApp::new().await;
    let rp = create(&app, "disk", None).await;

    let dup = post(&app, "1.23", json!({"name": "disk"})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&dup),
        "Conflicting resource provider name: disk already exists."
    );
    assert_eq!(dup.error()["code"], "placement.duplicate_name");
    let dup = post(&app, "1.23", json!({"name": "other", "uuid": uuid_of(&rp)})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&dup),
        format!(
            "Conflicting resource provider uuid: {} already exists.",
            uuid_of(&rp)
        )
    );

    let long = post(&app, "1.0", json!({"name": "x".repeat(201)})).await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    assert!(detail(&long).starts_with("JSON does not validate: "));
    let bad_uuid = post(&app, "1.0", json!({"name": "x", "uuid": "foo"})).await;
    // webob folds the detail's line breaks into spaces.
    assert_eq!(
        detail(&bad_uuid),
        "JSON does not validate: 'foo' is not a 'uuid'\n\nFailed validating 'format' in \
         schema['properties']['uuid']:\n    {'type': 'string', 'format': 'uuid'}\n\nOn \
         instance['uuid']:\n    'foo'"
            .replace('\n', " ")
    );
    let bad_parent = post(
        &app,
        "1.14",
        json!({"name": "x", "parent_provider_uuid": "foo"}),
    )
    .await;
    assert_eq!(
        detail(&bad_parent),
        "JSON does not validate: 'foo' is not a 'uuid'\n\nFailed validating 'format' in \
         schema[0]:\n    {'type': 'string', 'format': 'uuid'}\n\nOn instance:\n    'foo'"
            .replace('\n', " ")
    );
    let nameless = post(&app, "1.14", json!({"parent_provider_uuid": "foo"})).await;
    assert!(
        detail(&nameless).starts_with("JSON does not validate: 'name' is a required property"),
        "the shallower error wins over the anyOf: {}",
        nameless.body
    );
    let number_parent = post(
        &app,
        "1.14",
        json!({"name": "x", "parent_provider_uuid": 5}),
    )
    .await;
    assert!(detail(&number_parent)
        .starts_with("JSON does not validate: 5 is not valid under any of the given schemas"));
    let too_early = post(
        &app,
        "1.13",
        json!({"name": "x", "parent_provider_uuid": uuid_of(&rp)}),
    )
    .await;
    assert_eq!(too_early.status, StatusCode::BAD_REQUEST);

    let missing = uuid::Uuid::new_v4().to_string();
    let child_uuid = uuid::Uuid::new_v4().to_string();
    let orphan = post(
        &app,
        "1.14",
        json!({"name": "child", "uuid": child_uuid, "parent_provider_uuid": missing}),
    )
    .await;
    assert_eq!(orphan.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&orphan),
        format!(
            "Unable to create resource provider \"child\", {child_uuid}: Object action create \
             failed because: parent provider UUID does not exist."
        )
    );
    let empty = post(&app, "1.0", json!({"name": ""})).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert!(detail(&empty).ends_with("Object action create failed because: name is required"));
}

#[tokio::test]
async fn show_grows_links_and_tree_fields_with_the_microversion() {
    let app = TestApp::new().await;
    let root = create(&app, "root", None).await;
    let child = create(&app, "child", Some(&uuid_of(&root))).await;
    let path = format!("/resource_providers/{}", uuid_of(&child));
    let rels = |r: &TestResponse| -> Vec<String> {
        r.json()["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["rel"].as_str().unwrap().to_owned())
            .collect()
    };
    let v10 = send(&app, Method::GET, &path, "1.0", None).await;
    assert_eq!(rels(&v10), ["self", "inventories", "usages"]);
    assert!(v10.json().get("root_provider_uuid").is_none());
    assert_eq!(v10.header("cache-control"), None);
    let v114 = send(&app, Method::GET, &path, "1.14", None).await;
    assert_eq!(
        rels(&v114),
        [
            "self",
            "inventories",
            "usages",
            "aggregates",
            "traits",
            "allocations"
        ]
    );
    assert_eq!(v114.json()["parent_provider_uuid"], root["uuid"]);
    assert_eq!(v114.json()["root_provider_uuid"], root["uuid"]);
    let v115 = send(&app, Method::GET, &path, "1.15", None).await;
    assert_eq!(v115.header("cache-control"), Some("no-cache"));
    assert!(v115.header("last-modified").is_some());

    let missing = uuid::Uuid::new_v4();
    let gone = send(
        &app,
        Method::GET,
        &format!("/resource_providers/{missing}"),
        "1.0",
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        detail(&gone),
        format!("No resource provider with uuid {missing} found")
    );
}

#[tokio::test]
async fn update_renames_and_moves_providers_as_the_microversion_allows() {
    let app = TestApp::new().await;
    let a = create(&app, "a", None).await;
    let b = create(&app, "b", None).await;
    let child = create(&app, "child", None).await;
    let path = format!("/resource_providers/{}", uuid_of(&child));
    let put = |version: &'static str, body: Value| {
        let app = &app;
        let path = path.clone();
        async move { send(app, Method::PUT, &path, version, Some(body)).await }
    };

    let renamed = put("1.15", json!({"name": "renamed"})).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.json()["generation"], 0);
    assert!(renamed.header("last-modified").is_some());
    let taken = put("1.23", json!({"name": "a"})).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&taken),
        "Conflicting resource provider a already exists."
    );
    assert_eq!(taken.error()["code"], "placement.duplicate_name");
    let with_uuid = put("1.0", json!({"name": "x", "uuid": uuid_of(&a)})).await;
    assert_eq!(with_uuid.status, StatusCode::BAD_REQUEST);

    let adopted = put(
        "1.14",
        json!({"name": "child", "parent_provider_uuid": uuid_of(&a)}),
    )
    .await;
    assert_eq!(adopted.status, StatusCode::OK, "{}", adopted.body);
    assert_eq!(adopted.json()["root_provider_uuid"], a["uuid"]);
    let moved = put(
        "1.36",
        json!({"name": "child", "parent_provider_uuid": uuid_of(&b)}),
    )
    .await;
    assert_eq!(moved.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&moved),
        format!(
            "Unable to save resource provider {}: Object action update failed because: \
             re-parenting a provider is not currently allowed.",
            uuid_of(&child)
        )
    );
    let freed = put(
        "1.36",
        json!({"name": "child", "parent_provider_uuid": null}),
    )
    .await;
    assert!(detail(&freed).contains("un-parenting a provider is not currently allowed."));
    let moved = put(
        "1.37",
        json!({"name": "child", "parent_provider_uuid": uuid_of(&b)}),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK);
    assert_eq!(moved.json()["root_provider_uuid"], b["uuid"]);
    let looped = put(
        "1.37",
        json!({"name": "child", "parent_provider_uuid": uuid_of(&child)}),
    )
    .await;
    assert!(detail(&looped).contains("creating loop in the provider tree is not allowed."));
    let freed = put(
        "1.37",
        json!({"name": "child", "parent_provider_uuid": null}),
    )
    .await;
    assert_eq!(freed.json()["root_provider_uuid"], child["uuid"]);

    let missing = format!("/resource_providers/{}", uuid::Uuid::new_v4());
    let gone = send(&app, Method::PUT, &missing, "1.0", Some(json!({"bad": 1}))).await;
    assert_eq!(
        gone.status,
        StatusCode::NOT_FOUND,
        "the provider is read before the body"
    );
}

#[tokio::test]
async fn delete_answers_204_404_and_both_409s() {
    let app = TestApp::new().await;
    let parent = create(&app, "parent", None).await;
    let child = create(&app, "child", Some(&uuid_of(&parent))).await;
    let del = |uuid: String| {
        let app = &app;
        async move {
            send(
                app,
                Method::DELETE,
                &format!("/resource_providers/{uuid}"),
                "1.23",
                None,
            )
            .await
        }
    };
    let refused = del(uuid_of(&parent)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&refused),
        format!(
            "Unable to delete parent resource provider {}: It has child resource providers.",
            uuid_of(&parent)
        )
    );
    assert_eq!(
        refused.error()["code"],
        "placement.resource_provider.cannot_delete_parent"
    );

    let mut tx = app.database().begin().await.unwrap();
    tx.execute(
        "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used) \
         SELECT id, ?, 0, 1 FROM resource_providers WHERE uuid = ?",
        params![uuid::Uuid::new_v4().to_string(), uuid_of(&child)],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let in_use = del(uuid_of(&child)).await;
    assert_eq!(in_use.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&in_use),
        format!(
            "Unable to delete resource provider {}: Resource provider has allocations.",
            uuid_of(&child)
        )
    );
    assert_eq!(in_use.error()["code"], "placement.resource_provider.inuse");

    let mut tx = app.database().begin().await.unwrap();
    tx.execute("DELETE FROM allocations", params![])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(del(uuid_of(&child)).await.status, StatusCode::NO_CONTENT);
    let gone = del(uuid_of(&child)).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        detail(&gone),
        format!(
            "No resource provider with uuid {} found for delete",
            uuid_of(&child)
        )
    );
}

#[tokio::test]
async fn list_filters_and_refuses_bad_queries_as_upstream() {
    let app = TestApp::new().await;
    let a = create(&app, "a", None).await;
    create(&app, "a1", Some(&uuid_of(&a))).await;
    create(&app, "b", None).await;

    assert_eq!(names(&list(&app, "1.0", "").await), ["a", "a1", "b"]);
    assert_eq!(names(&list(&app, "1.0", "?name=b").await), ["b"]);
    let by_uuid = list(&app, "1.0", &format!("?uuid={}", uuid_of(&a))).await;
    assert_eq!(names(&by_uuid), ["a"]);
    let tree = list(&app, "1.14", &format!("?in_tree={}", uuid_of(&a))).await;
    assert_eq!(names(&tree), ["a", "a1"]);

    let unknown = list(&app, "1.0", "?in_tree=x").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(detail(&unknown).starts_with(
        "Invalid query string parameters: Additional properties are not allowed ('in_tree' \
         was unexpected)"
    ));
    let bad_uuid = list(&app, "1.0", "?uuid=foo").await;
    assert!(detail(&bad_uuid).starts_with("Invalid query string parameters: 'foo' is not a 'uuid'"));

    let agg = uuid::Uuid::new_v4();
    let two = list(&app, "1.23", &format!("?member_of={agg}&member_of={agg}")).await;
    assert_eq!(
        detail(&two),
        "Multiple member_of parameters are not supported"
    );
    let forbidden = list(&app, "1.31", &format!("?member_of=!{agg}")).await;
    assert_eq!(
        detail(&forbidden),
        "Forbidden member_of parameters are not supported in the specified microversion"
    );
    assert_eq!(
        names(&list(&app, "1.32", &format!("?member_of=!{agg}")).await).len(),
        3
    );
    assert!(names(&list(&app, "1.3", &format!("?member_of=in:{agg}")).await).is_empty());

    let bad_trait = list(&app, "1.18", "?required=CUSTOM_NOPE").await;
    assert_eq!(
        detail(&bad_trait),
        "Invalid trait(s) in \"required\" parameter: No such trait(s): CUSTOM_NOPE."
    );
    let early_forbidden = list(&app, "1.21", "?required=!HW_CPU_X86_AVX").await;
    assert_eq!(
        detail(&early_forbidden),
        "Invalid query string parameters: Expected 'required' parameter value of the form: \
         HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: !HW_CPU_X86_AVX"
    );
    let early_in = list(&app, "1.38", "?required=in:HW_CPU_X86_AVX").await;
    assert!(detail(&early_in).contains("only supported since microversion 1.39"));
    assert_eq!(
        names(&list(&app, "1.22", "?required=!HW_CPU_X86_AVX").await).len(),
        3
    );

    let bad_rc = list(&app, "1.4", "?resources=CUSTOM_NOPE:1").await;
    assert_eq!(
        detail(&bad_rc),
        "Invalid resource class in resources parameter: No such resource class CUSTOM_NOPE."
    );
    let huge = list(&app, "1.4", "?resources=VCPU:9223372036854775808").await;
    assert_eq!(huge.status, StatusCode::BAD_REQUEST);
    let negative = list(&app, "1.4", "?resources=VCPU:-2").await;
    assert_eq!(
        detail(&negative),
        "Requested resource VCPU requires amount >= 1. Got: -2."
    );
    let malformed = list(&app, "1.4", "?resources=VCPU").await;
    assert_eq!(
        detail(&malformed),
        "Badly formed resources parameter. Expected resources query string parameter in \
         form: ?resources=VCPU:2,MEMORY_MB:1024. Got: VCPU."
    );
    assert!(names(&list(&app, "1.4", "?resources=VCPU:1").await).is_empty());

    let cached = list(&app, "1.15", "").await;
    assert_eq!(cached.header("cache-control"), Some("no-cache"));
    assert!(cached.header("last-modified").is_some());
}

#[tokio::test]
async fn the_item_route_allows_upstreams_methods_in_upstreams_order() {
    let app = TestApp::new().await;
    let response = send(
        &app,
        Method::PATCH,
        &format!("/resource_providers/{}", uuid::Uuid::new_v4()),
        "1.0",
        None,
    )
    .await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), Some("GET, DELETE, PUT"));
}
