//! `/resource_classes` at every microversion: each status code and error
//! text upstream's handler produces.

use axum::http::{Method, StatusCode};
use placement_http::AuthStrategy;
use placement_store::params;

use crate::helpers::{TestApp, TestResponse};

const JSON: &str = "application/json";

async fn post(app: &TestApp, version: &str, body: &str) -> TestResponse {
    app.call(Method::POST, "/resource_classes")
        .token("admin")
        .version(version)
        .header("content-type", JSON)
        .header("host", "placement.test")
        .body(body)
        .send()
        .await
}

async fn put(app: &TestApp, version: &str, name: &str, body: Option<&str>) -> TestResponse {
    let call = app
        .call(Method::PUT, &format!("/resource_classes/{name}"))
        .token("admin")
        .version(version)
        .header("content-type", JSON)
        .header("host", "placement.test");
    match body {
        Some(body) => call.body(body),
        None => call,
    }
    .send()
    .await
}

async fn get(app: &TestApp, version: &str, path: &str) -> TestResponse {
    app.get(path).token("admin").version(version).send().await
}

async fn delete(app: &TestApp, version: &str, name: &str) -> TestResponse {
    app.call(Method::DELETE, &format!("/resource_classes/{name}"))
        .token("admin")
        .version(version)
        .send()
        .await
}

/// The `detail` upstream's envelope shows for a 400 with this message.
fn bad_request_detail(message: &str) -> String {
    format!(
        "The server could not comply with the request since it is either malformed or \
         otherwise incorrect.\n\n {}  ",
        message.replace('\n', " ")
    )
}

#[tokio::test]
async fn every_route_is_a_404_before_1_2_even_with_a_wrong_content_type() {
    let app = TestApp::new().await;
    let responses = [
        get(&app, "1.1", "/resource_classes").await,
        get(&app, "1.1", "/resource_classes/VCPU").await,
        app.call(Method::POST, "/resource_classes")
            .token("admin")
            .version("1.1")
            .header("content-type", "text/plain")
            .body("data")
            .send()
            .await,
        put(&app, "1.1", "CUSTOM_A", Some(r#"{"name": "CUSTOM_B"}"#)).await,
        delete(&app, "1.1", "VCPU").await,
    ];
    for response in responses {
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{}", response.body);
        assert_eq!(response.error()["title"], "Not Found");
    }
}

#[tokio::test]
async fn the_list_holds_the_standard_classes_with_links_in_pythons_layout() {
    let app = TestApp::new().await;
    let response = get(&app, "1.2", "/resource_classes").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), Some(JSON));
    assert!(
        response.body.starts_with(
            "{\"resource_classes\": [{\"name\": \"VCPU\", \"links\": [{\"rel\": \"self\", \
             \"href\": \"/resource_classes/VCPU\"}]}, {\"name\": \"MEMORY_MB\""
        ),
        "{}",
        response.body
    );
    assert_eq!(
        response.json()["resource_classes"]
            .as_array()
            .unwrap()
            .len(),
        21
    );
    assert_eq!(response.header("last-modified"), None);
    assert_eq!(response.header("cache-control"), None);
}

#[tokio::test]
async fn gets_carry_last_modified_and_no_cache_from_1_15_only() {
    let app = TestApp::new().await;
    post(&app, "1.2", r#"{"name": "CUSTOM_A"}"#).await;
    for path in [
        "/resource_classes",
        "/resource_classes/VCPU",
        "/resource_classes/CUSTOM_A",
    ] {
        let at_1_14 = get(&app, "1.14", path).await;
        assert_eq!(at_1_14.header("last-modified"), None, "{path}");
        assert_eq!(at_1_14.header("cache-control"), None, "{path}");
        let at_1_15 = get(&app, "1.15", path).await;
        assert_eq!(at_1_15.header("cache-control"), Some("no-cache"), "{path}");
        let stamp = at_1_15.header("last-modified").unwrap();
        assert!(httpdate::parse_http_date(stamp).is_ok(), "{path}: {stamp}");
    }
}

#[tokio::test]
async fn a_wrong_accept_is_a_406_on_the_gets() {
    let app = TestApp::new().await;
    for path in ["/resource_classes", "/resource_classes/VCPU"] {
        let response = app
            .get(path)
            .token("admin")
            .version("1.2")
            .header("accept", "text/plain")
            .send()
            .await;
        assert_eq!(response.status, StatusCode::NOT_ACCEPTABLE, "{path}");
    }
}

#[tokio::test]
async fn post_creates_with_an_absolute_location_and_no_body() {
    let app = TestApp::new().await;
    let response = post(&app, "1.2", r#"{"name": "CUSTOM_NFV_FOO"}"#).await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(
        response.header("location"),
        Some("http://placement.test/resource_classes/CUSTOM_NFV_FOO")
    );
    assert_eq!(response.header("content-type"), None);
    assert_eq!(response.body, "");

    let shown = get(&app, "1.2", "/resource_classes/CUSTOM_NFV_FOO").await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(
        shown.body,
        "{\"name\": \"CUSTOM_NFV_FOO\", \"links\": [{\"rel\": \"self\", \"href\": \
         \"/resource_classes/CUSTOM_NFV_FOO\"}]}"
    );
    let listed = get(&app, "1.2", "/resource_classes").await;
    assert_eq!(
        listed.json()["resource_classes"].as_array().unwrap().len(),
        22
    );
}

#[tokio::test]
async fn post_of_an_existing_class_is_a_409() {
    let app = TestApp::new().await;
    post(&app, "1.2", r#"{"name": "CUSTOM_A"}"#).await;
    let response = post(&app, "1.2", r#"{"name": "CUSTOM_A"}"#).await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_eq!(
        response.error()["detail"],
        "There was a conflict when trying to complete your request.\n\n Conflicting \
         resource class already exists: CUSTOM_A  "
    );
}

#[tokio::test]
async fn post_needs_json_content() {
    let app = TestApp::new().await;
    let response = app
        .call(Method::POST, "/resource_classes")
        .token("admin")
        .version("1.2")
        .header("content-type", "text/plain")
        .body("data")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn post_bodies_fail_with_pythons_json_and_jsonschema_texts() {
    let app = TestApp::new().await;
    let malformed = post(&app, "1.2", r#"{"foo": }"#).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        malformed.error()["detail"],
        bad_request_detail("Malformed JSON: Expecting value: line 1 column 9 (char 8)")
    );

    let bad_name = post(&app, "1.2", r#"{"name": "FOO"}"#).await;
    assert_eq!(bad_name.status, StatusCode::BAD_REQUEST);
    // Byte for byte what upstream's webob envelope renders for this body.
    assert_eq!(
        bad_name.error()["detail"],
        concat!(
            "The server could not comply with the request since it is either malformed or ",
            "otherwise incorrect.\n\n JSON does not validate: 'FOO' does not match ",
            "'^CUSTOM_[A-Z0-9_]+$'  Failed validating 'pattern' in schema['properties']['name']:",
            "     {'type': 'string', 'pattern': '^CUSTOM_[A-Z0-9_]+$', 'maxLength': 255}  On ",
            "instance['name']:     'FOO'  "
        )
    );

    let too_long = format!(r#"{{"name": "CUSTOM_{}"}}"#, "S".repeat(249));
    let response = post(&app, "1.2", &too_long).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let detail = response.error()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("is too long"), "{detail}");
    assert!(detail.contains("Failed validating 'maxLength'"), "{detail}");

    let extra = post(&app, "1.2", r#"{"name": "CUSTOM_A", "additional": "x"}"#).await;
    assert_eq!(
        extra.error()["detail"],
        bad_request_detail(concat!(
            "JSON does not validate: Additional properties are not allowed ",
            "('additional' was unexpected)\n\nFailed validating 'additionalProperties' ",
            "in schema:\n    {'type': 'object',\n     'properties': {'name': {'type': ",
            "'string',\n                             'pattern': '^CUSTOM_[A-Z0-9_]+$',\n",
            "                             'maxLength': 255}},\n     'required': ['name'],",
            "\n     'additionalProperties': False}\n\nOn instance:\n    {'name': ",
            "'CUSTOM_A', 'additional': 'x'}"
        ))
    );

    let missing = post(&app, "1.2", "{}").await;
    assert!(
        missing.error()["detail"]
            .as_str()
            .unwrap()
            .contains("JSON does not validate: 'name' is a required property"),
        "{}",
        missing.body
    );
}

#[tokio::test]
async fn a_missing_class_is_a_404_naming_it_without_vary() {
    let app = TestApp::new().await;
    let response = get(&app, "1.2", "/resource_classes/CUSTOM_NOPE").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(
        response.error()["detail"],
        "The resource could not be found.\n\n No such resource class CUSTOM_NOPE.  "
    );
    // Raised by upstream's dispatcher, outside the handler.
    assert_eq!(response.header("vary"), None);
}

#[tokio::test]
async fn put_before_1_7_renames_a_custom_class() {
    let app = TestApp::new().await;
    post(&app, "1.2", r#"{"name": "CUSTOM_A"}"#).await;
    let response = put(&app, "1.6", "CUSTOM_A", Some(r#"{"name": "CUSTOM_B"}"#)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), Some(JSON));
    assert_eq!(
        response.body,
        "{\"name\": \"CUSTOM_B\", \"links\": [{\"rel\": \"self\", \"href\": \
         \"/resource_classes/CUSTOM_B\"}]}"
    );
    assert_eq!(response.header("last-modified"), None);
    let old = get(&app, "1.6", "/resource_classes/CUSTOM_A").await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn put_before_1_7_refuses_standard_taken_missing_and_bodiless() {
    let app = TestApp::new().await;
    post(&app, "1.2", r#"{"name": "CUSTOM_A"}"#).await;
    post(&app, "1.2", r#"{"name": "CUSTOM_B"}"#).await;

    let standard = put(&app, "1.6", "VCPU", Some(r#"{"name": "CUSTOM_V"}"#)).await;
    assert_eq!(standard.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        standard.error()["detail"],
        bad_request_detail("Cannot update standard resource class VCPU")
    );

    let taken = put(&app, "1.6", "CUSTOM_A", Some(r#"{"name": "CUSTOM_B"}"#)).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(
        taken.error()["detail"]
            .as_str()
            .unwrap()
            .ends_with("Resource class already exists: CUSTOM_B  "),
        "{}",
        taken.body
    );

    let missing = put(&app, "1.6", "CUSTOM_NOPE", Some(r#"{"name": "CUSTOM_C"}"#)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let to_standard = put(&app, "1.6", "CUSTOM_A", Some(r#"{"name": "VCPU"}"#)).await;
    assert_eq!(to_standard.status, StatusCode::BAD_REQUEST);

    let bodiless = put(&app, "1.6", "CUSTOM_COW", None).await;
    assert_eq!(bodiless.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bodiless.error()["detail"],
        bad_request_detail("Malformed JSON: Expecting value: line 1 column 1 (char 0)")
    );

    let wrong_type = app
        .call(Method::PUT, "/resource_classes/CUSTOM_A")
        .token("admin")
        .version("1.6")
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn put_from_1_7_creates_then_verifies_with_location() {
    let app = TestApp::new().await;
    let created = put(&app, "1.7", "CUSTOM_COW", None).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.header("location"),
        Some("http://placement.test/resource_classes/CUSTOM_COW")
    );
    assert_eq!(created.header("content-type"), None);
    assert_eq!(created.header("last-modified"), None);

    let verified = put(&app, "1.7", "CUSTOM_COW", None).await;
    assert_eq!(verified.status, StatusCode::NO_CONTENT);
    assert_eq!(
        verified.header("location"),
        Some("http://placement.test/resource_classes/CUSTOM_COW")
    );

    // No require_content from 1.7: any content type will do.
    let any_type = app
        .call(Method::PUT, "/resource_classes/CUSTOM_PIG")
        .token("admin")
        .version("1.7")
        .header("content-type", "text/plain")
        .body("ignored")
        .send()
        .await;
    assert_eq!(any_type.status, StatusCode::CREATED);
}

#[tokio::test]
async fn put_from_1_7_validates_the_name_as_upstream_does() {
    let app = TestApp::new().await;
    let standard = put(&app, "1.7", "VCPU", None).await;
    assert_eq!(standard.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        standard.error()["detail"],
        bad_request_detail(
            "JSON does not validate: 'VCPU' does not match '^CUSTOM_[A-Z0-9_]+$'\n\nFailed \
             validating 'pattern' in schema['properties']['name']:\n    {'type': 'string', \
             'pattern': '^CUSTOM_[A-Z0-9_]+$', 'maxLength': 255}\n\nOn instance['name']:\n    \
             'VCPU'"
        )
    );
    let long = put(&app, "1.7", &format!("CUSTOM_{}", "S".repeat(249)), None).await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    assert!(long.body.contains("Failed validating 'maxLength'"));
    // A quote in the name breaks the JSON document upstream builds from it.
    let quoted = put(&app, "1.7", "CUSTOM_A%22", None).await;
    assert_eq!(quoted.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        quoted.error()["detail"],
        bad_request_detail("Malformed JSON: Expecting ',' delimiter: line 1 column 20 (char 19)")
    );
    // An escape that the document decodes into a valid name still leaves the
    // path's own name invalid.
    let escaped = put(&app, "1.7", "CUSTOM_%5Cu0041", None).await;
    assert_eq!(escaped.status, StatusCode::BAD_REQUEST);
    assert!(escaped.body.contains("does not match"), "{}", escaped.body);
}

#[tokio::test]
async fn delete_removes_custom_classes_only() {
    let app = TestApp::new().await;
    post(&app, "1.2", r#"{"name": "CUSTOM_A"}"#).await;
    let deleted = delete(&app, "1.2", "CUSTOM_A").await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.header("content-type"), None);
    assert_eq!(deleted.body, "");

    let again = delete(&app, "1.2", "CUSTOM_A").await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(
        again.error()["detail"],
        "The resource could not be found.\n\n No such resource class CUSTOM_A.  "
    );

    let standard = delete(&app, "1.2", "VCPU").await;
    assert_eq!(standard.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        standard.error()["detail"],
        bad_request_detail(
            "Error in delete resource class: Cannot delete standard resource class VCPU."
        )
    );
}

#[tokio::test]
async fn delete_of_a_class_with_inventory_is_a_409() {
    let app = TestApp::new().await;
    post(&app, "1.2", r#"{"name": "CUSTOM_USED"}"#).await;
    let mut tx = app.database().begin().await.unwrap();
    tx.execute(
        "INSERT INTO resource_providers (id, uuid, name, generation) VALUES (?, ?, ?, ?)",
        params![1_i64, uuid::Uuid::new_v4().to_string(), "rp", 0_i64],
    )
    .await
    .unwrap();
    tx.execute(
        "INSERT INTO inventories (resource_provider_id, resource_class_id, total, reserved, \
         min_unit, max_unit, step_size, allocation_ratio) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![1_i64, 10_000_i64, 4_i64, 0_i64, 1_i64, 4_i64, 1_i64, 1.0_f64],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let response = delete(&app, "1.2", "CUSTOM_USED").await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_eq!(
        response.error()["detail"],
        "There was a conflict when trying to complete your request.\n\n Error in delete \
         resource class: Cannot delete resource class CUSTOM_USED. Class is in use in \
         inventory.  "
    );
}

#[tokio::test]
async fn links_and_locations_live_under_the_mount_prefix() {
    let app = TestApp::with_prefix(AuthStrategy::NoAuth2, "/placement").await;
    let created = app
        .call(Method::PUT, "/placement/resource_classes/CUSTOM_COW")
        .token("admin")
        .version("1.7")
        .header("host", "example.org:80")
        .send()
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.header("location"),
        Some("http://example.org/placement/resource_classes/CUSTOM_COW")
    );
    let shown = get(&app, "1.7", "/placement/resource_classes/CUSTOM_COW").await;
    assert_eq!(
        shown.json()["links"][0]["href"],
        "/placement/resource_classes/CUSTOM_COW"
    );
}
