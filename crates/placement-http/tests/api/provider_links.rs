//! `/resource_providers/{uuid}/traits` and `/resource_providers/{uuid}/aggregates`:
//! read, replace and clear, at the microversions where their behaviour
//! changes (1.1, 1.6, 1.15, 1.19), with every status and error text
//! upstream answers.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{send, TestApp};

const AGG_A: &str = "11111111-1111-1111-1111-111111111111";
const AGG_B: &str = "22222222-2222-2222-2222-222222222222";
const MISSING: &str = "99999999-9999-9999-9999-999999999999";

/// Creates a provider and returns its uuid.
async fn create(app: &TestApp, name: &str) -> String {
    let response = send(
        app,
        Method::POST,
        "/resource_providers",
        "1.20",
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json()["uuid"].as_str().unwrap().to_owned()
}

fn traits_path(uuid: &str) -> String {
    format!("/resource_providers/{uuid}/traits")
}

fn aggregates_path(uuid: &str) -> String {
    format!("/resource_providers/{uuid}/aggregates")
}

#[tokio::test]
async fn provider_traits_are_listed_replaced_and_cleared_with_generation_bumps() {
    let app = TestApp::new().await;
    let uuid = create(&app, "cn").await;
    let path = traits_path(&uuid);

    let empty = send(&app, Method::GET, &path, "1.6", None).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(
        empty.json(),
        json!({"traits": [], "resource_provider_generation": 0})
    );
    assert_eq!(empty.header("cache-control"), None);

    let body =
        json!({"traits": ["HW_CPU_X86_SSE", "HW_CPU_X86_AVX"], "resource_provider_generation": 0});
    let set = send(&app, Method::PUT, &path, "1.15", Some(body)).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(
        set.json(),
        json!({"traits": ["HW_CPU_X86_AVX", "HW_CPU_X86_SSE"], "resource_provider_generation": 1})
    );
    assert_eq!(set.header("cache-control"), Some("no-cache"));
    assert!(set.header("last-modified").is_some());

    let read = send(&app, Method::GET, &path, "1.15", None).await;
    assert_eq!(read.json()["resource_provider_generation"], 1);
    assert_eq!(read.header("cache-control"), Some("no-cache"));

    let deleted = send(&app, Method::DELETE, &path, "1.6", None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.body, "");
    let after = send(&app, Method::GET, &path, "1.6", None).await;
    assert_eq!(
        after.json(),
        json!({"traits": [], "resource_provider_generation": 2})
    );
}

#[tokio::test]
async fn provider_traits_refuse_bad_bodies_stale_generations_and_unknown_names() {
    let app = TestApp::new().await;
    let uuid = create(&app, "cn").await;
    let path = traits_path(&uuid);

    let old = send(&app, Method::GET, &path, "1.5", None).await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);

    let no_generation = send(&app, Method::PUT, &path, "1.6", Some(json!({"traits": []}))).await;
    assert_eq!(no_generation.status, StatusCode::BAD_REQUEST);
    assert!(no_generation.error()["detail"]
        .as_str()
        .unwrap()
        .contains("'resource_provider_generation' is a required property"));

    let bad_type = send(
        &app,
        Method::PUT,
        &path,
        "1.6",
        Some(json!({"traits": "HW_CPU_X86_AVX", "resource_provider_generation": 0})),
    )
    .await;
    assert_eq!(bad_type.status, StatusCode::BAD_REQUEST);
    assert!(bad_type.error()["detail"]
        .as_str()
        .unwrap()
        .contains("'HW_CPU_X86_AVX' is not of type 'array'"));

    let bad_generation = send(
        &app,
        Method::PUT,
        &path,
        "1.6",
        Some(json!({"traits": [], "resource_provider_generation": "0"})),
    )
    .await;
    assert_eq!(bad_generation.status, StatusCode::BAD_REQUEST);
    assert!(bad_generation.error()["detail"]
        .as_str()
        .unwrap()
        .contains("'0' is not of type 'integer'"));

    let stale = send(
        &app,
        Method::PUT,
        &path,
        "1.23",
        Some(json!({"traits": [], "resource_provider_generation": 5})),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    // Error codes appear from 1.23.
    assert_eq!(stale.error()["code"], "placement.concurrent_update");
    assert!(stale.error()["detail"].as_str().unwrap().contains(
        "Resource provider's generation already changed. Please update the generation and try again."
    ));

    let unknown = send(
        &app,
        Method::PUT,
        &path,
        "1.6",
        Some(json!({"traits": ["CUSTOM_NOPE"], "resource_provider_generation": 0})),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.error()["detail"]
        .as_str()
        .unwrap()
        .contains("No such trait CUSTOM_NOPE"));

    let missing = traits_path(MISSING);
    let get = send(&app, Method::GET, &missing, "1.6", None).await;
    assert_eq!(get.status, StatusCode::NOT_FOUND);
    assert!(get.error()["detail"].as_str().unwrap().contains(&format!(
        "No resource provider with uuid {MISSING} found: No resource provider with uuid {MISSING} found"
    )));
    let put = send(
        &app,
        Method::PUT,
        &missing,
        "1.6",
        Some(json!({"traits": [], "resource_provider_generation": 0})),
    )
    .await;
    assert_eq!(put.status, StatusCode::NOT_FOUND);
    let delete = send(&app, Method::DELETE, &missing, "1.6", None).await;
    assert_eq!(delete.status, StatusCode::NOT_FOUND);
    assert!(delete.error()["detail"]
        .as_str()
        .unwrap()
        .contains(&format!("No resource provider with uuid {MISSING} found")));
}

#[tokio::test]
async fn aggregates_take_a_bare_list_before_1_19_and_a_generation_after() {
    let app = TestApp::new().await;
    let uuid = create(&app, "cn").await;
    let path = aggregates_path(&uuid);

    let old = send(&app, Method::GET, &path, "1.0", None).await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);

    let empty = send(&app, Method::GET, &path, "1.1", None).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.json(), json!({"aggregates": []}));

    let legacy = send(&app, Method::PUT, &path, "1.1", Some(json!([AGG_A, AGG_B]))).await;
    assert_eq!(legacy.status, StatusCode::OK, "{}", legacy.body);
    assert_eq!(legacy.json(), json!({"aggregates": [AGG_A, AGG_B]}));

    // The legacy form leaves the generation alone.
    let read = send(&app, Method::GET, &path, "1.19", None).await;
    assert_eq!(read.json()["resource_provider_generation"], 0);
    assert_eq!(read.header("cache-control"), Some("no-cache"));

    let new = send(
        &app,
        Method::PUT,
        &path,
        "1.19",
        Some(json!({"aggregates": [AGG_B], "resource_provider_generation": 0})),
    )
    .await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);
    assert_eq!(
        new.json(),
        json!({"aggregates": [AGG_B], "resource_provider_generation": 1})
    );

    let stale = send(
        &app,
        Method::PUT,
        &path,
        "1.23",
        Some(json!({"aggregates": [], "resource_provider_generation": 0})),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    // Error codes appear from 1.23.
    assert_eq!(stale.error()["code"], "placement.concurrent_update");
    assert!(stale.error()["detail"]
        .as_str()
        .unwrap()
        .contains("Resource provider's generation already changed."));
}

#[tokio::test]
async fn aggregates_refuse_bad_bodies_and_unknown_providers() {
    let app = TestApp::new().await;
    let uuid = create(&app, "cn").await;
    let path = aggregates_path(&uuid);

    for (version, body, text) in [
        (
            "1.19",
            json!([AGG_A]),
            "[\'11111111-1111-1111-1111-111111111111\'] is not of type \'object\'",
        ),
        (
            "1.1",
            json!({"aggregates": [AGG_A], "resource_provider_generation": 0}),
            "is not of type \'array\'",
        ),
        ("1.1", json!([AGG_A, AGG_A]), "has non-unique elements"),
        (
            "1.1",
            json!(["not-a-uuid"]),
            "\'not-a-uuid\' is not a \'uuid\'",
        ),
        (
            "1.19",
            json!({"aggregates": []}),
            "\'resource_provider_generation\' is a required property",
        ),
    ] {
        let response = send(&app, Method::PUT, &path, version, Some(body)).await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{}",
            response.body
        );
        let detail = response.error()["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains(text), "{detail}");
    }

    let missing = aggregates_path(MISSING);
    let get = send(&app, Method::GET, &missing, "1.1", None).await;
    assert_eq!(get.status, StatusCode::NOT_FOUND);
    assert!(get.error()["detail"]
        .as_str()
        .unwrap()
        .contains(&format!("No resource provider with uuid {MISSING} found")));
    // The provider is read before the body: a bad body still gets the 404.
    let put = send(&app, Method::PUT, &missing, "1.1", Some(json!("junk"))).await;
    assert_eq!(put.status, StatusCode::NOT_FOUND);
}
