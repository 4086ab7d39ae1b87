//! `GET /allocation_candidates`: the response shape at each microversion
//! boundary, cache headers, capacity with existing usage, `limit`, lazy
//! name errors, and the `[placement]` candidate options.

use axum::http::{Method, StatusCode};
use placement_http::{AuthStrategy, CandidatesSettings, HttpSettings};
use serde_json::{json, Value};

use crate::helpers::{send, TestApp, TestResponse};

async fn get(app: &TestApp, query: &str, version: &str) -> TestResponse {
    send(
        app,
        Method::GET,
        &format!("/allocation_candidates?{query}"),
        version,
        None,
    )
    .await
}

/// A provider named `name` under `parent`, with `inventory` ({class:
/// total}) and `traits`; returns its uuid.
async fn provider(
    app: &TestApp,
    name: &str,
    parent: Option<&str>,
    inventory: Value,
    traits: &[&str],
) -> String {
    let mut body = json!({"name": name});
    if let Some(parent) = parent {
        body["parent_provider_uuid"] = json!(parent);
    }
    let r = send(app, Method::POST, "/resource_providers", "1.20", Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let uuid = r.json()["uuid"].as_str().unwrap().to_owned();
    let mut generation = 0;
    if !inventory.as_object().unwrap().is_empty() {
        let inventories: serde_json::Map<String, Value> = inventory
            .as_object()
            .unwrap()
            .iter()
            .map(|(class, total)| (class.clone(), json!({"total": total})))
            .collect();
        let r = send(
            app,
            Method::PUT,
            &format!("/resource_providers/{uuid}/inventories"),
            "1.20",
            Some(json!({"resource_provider_generation": generation, "inventories": inventories})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        generation = r.json()["resource_provider_generation"].as_i64().unwrap();
    }
    if !traits.is_empty() {
        for t in traits.iter().filter(|t| t.starts_with("CUSTOM_")) {
            let r = send(app, Method::PUT, &format!("/traits/{t}"), "1.6", None).await;
            assert!(r.status.is_success(), "{}", r.body);
        }
        let r = send(
            app,
            Method::PUT,
            &format!("/resource_providers/{uuid}/traits"),
            "1.6",
            Some(json!({"resource_provider_generation": generation, "traits": traits})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    uuid
}

/// Two computes: cn1 (VCPU 8, MEMORY_MB 2048) with a NUMA child holding
/// CUSTOM_PCI 2; cn2 (VCPU 8, MEMORY_MB 2048, CUSTOM_FAST).
struct Deployment {
    cn1: String,
    numa1: String,
    cn2: String,
}

async fn deployment(app: &TestApp) -> Deployment {
    let r = send(
        app,
        Method::PUT,
        "/resource_classes/CUSTOM_PCI",
        "1.7",
        None,
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
    let cn1 = provider(app, "cn1", None, json!({"VCPU": 8, "MEMORY_MB": 2048}), &[]).await;
    let numa1 = provider(app, "numa1", Some(&cn1), json!({"CUSTOM_PCI": 2}), &[]).await;
    let cn2 = provider(
        app,
        "cn2",
        None,
        json!({"VCPU": 8, "MEMORY_MB": 2048}),
        &["CUSTOM_FAST"],
    )
    .await;
    Deployment { cn1, numa1, cn2 }
}

fn request_providers(body: &Value) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = body["allocation_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ar| {
            let mut rps: Vec<String> = ar["allocations"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            rps.sort();
            rps
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn the_route_starts_at_1_10() {
    let app = TestApp::new().await;
    let r = get(&app, "resources=VCPU:1", "1.9").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = get(&app, "resources=VCPU:1", "1.10").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"allocation_requests": [], "provider_summaries": {}})
    );
}

#[tokio::test]
async fn before_1_12_requests_are_lists_and_summaries_hold_only_requested_classes() {
    let app = TestApp::new().await;
    let d = deployment(&app).await;
    let r = get(&app, "resources=VCPU:2", "1.10").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.header("cache-control").is_none());
    let body = r.json();
    let mut requests = body["allocation_requests"].as_array().unwrap().clone();
    requests.sort_by_key(|ar| ar["allocations"][0]["resource_provider"]["uuid"].to_string());
    let mut want = vec![
        json!({"allocations": [{"resource_provider": {"uuid": d.cn1}, "resources": {"VCPU": 2}}]}),
        json!({"allocations": [{"resource_provider": {"uuid": d.cn2}, "resources": {"VCPU": 2}}]}),
    ];
    want.sort_by_key(|ar| ar["allocations"][0]["resource_provider"]["uuid"].to_string());
    assert_eq!(requests, want);
    // The nested filter below 1.29 keeps only the providers used.
    assert_eq!(
        body["provider_summaries"],
        json!({
            d.cn1.clone(): {"resources": {"VCPU": {"capacity": 8, "used": 0}}},
            d.cn2.clone(): {"resources": {"VCPU": {"capacity": 8, "used": 0}}},
        })
    );
}

#[tokio::test]
async fn each_microversion_adds_its_fields() {
    let app = TestApp::new().await;
    let d = deployment(&app).await;

    let r = get(&app, "resources=VCPU:1,MEMORY_MB:512", "1.12").await;
    let body = r.json();
    assert_eq!(
        body["allocation_requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|ar| ar["allocations"].get(&d.cn2).is_some())
            .unwrap(),
        &json!({"allocations": {d.cn2.clone(): {"resources": {"VCPU": 1, "MEMORY_MB": 512}}}})
    );

    let r = get(&app, "resources=VCPU:1", "1.15").await;
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert!(r.header("last-modified").is_some());

    let r = get(&app, "resources=VCPU:1&required=CUSTOM_FAST", "1.17").await;
    let body = r.json();
    assert_eq!(request_providers(&body), vec![vec![d.cn2.clone()]]);
    assert_eq!(
        body["provider_summaries"],
        json!({d.cn2.clone(): {"resources": {"VCPU": {"capacity": 8, "used": 0}}, "traits": ["CUSTOM_FAST"]}})
    );

    let r = get(&app, "resources=VCPU:1&required=CUSTOM_FAST", "1.27").await;
    assert_eq!(
        r.json()["provider_summaries"][&d.cn2]["resources"],
        json!({"VCPU": {"capacity": 8, "used": 0}, "MEMORY_MB": {"capacity": 2048, "used": 0}})
    );

    // From 1.29 whole trees are summarized, with parent and root.
    let r = get(&app, "resources=VCPU:1,CUSTOM_PCI:1", "1.29").await;
    let body = r.json();
    assert_eq!(
        request_providers(&body),
        vec![{
            let mut v = vec![d.cn1.clone(), d.numa1.clone()];
            v.sort();
            v
        }]
    );
    assert_eq!(
        body["provider_summaries"][&d.numa1],
        json!({
            "resources": {"CUSTOM_PCI": {"capacity": 2, "used": 0}},
            "traits": [],
            "parent_provider_uuid": d.cn1,
            "root_provider_uuid": d.cn1,
        })
    );
    assert_eq!(
        body["provider_summaries"][&d.cn1]["parent_provider_uuid"],
        Value::Null
    );
    assert!(body["allocation_requests"][0].get("mappings").is_none());

    let r = get(&app, "resources=VCPU:1&resources1=CUSTOM_PCI:1", "1.34").await;
    let body = r.json();
    assert_eq!(
        body["allocation_requests"],
        json!([{
            "allocations": {
                d.cn1.clone(): {"resources": {"VCPU": 1}},
                d.numa1.clone(): {"resources": {"CUSTOM_PCI": 1}},
            },
            "mappings": {"": [d.cn1], "1": [d.numa1]},
        }])
    );
}

#[tokio::test]
async fn below_1_29_a_request_needing_two_providers_of_one_tree_has_no_candidates() {
    let app = TestApp::new().await;
    deployment(&app).await;
    let r = get(&app, "resources=VCPU:1,CUSTOM_PCI:1", "1.28").await;
    assert_eq!(
        r.json(),
        json!({"allocation_requests": [], "provider_summaries": {}})
    );
}

#[tokio::test]
async fn existing_usage_takes_capacity_away() {
    let app = TestApp::new().await;
    let d = deployment(&app).await;
    let consumer = uuid::Uuid::new_v4();
    let r = send(
        &app,
        Method::PUT,
        &format!("/allocations/{consumer}"),
        "1.28",
        Some(json!({
            "allocations": {d.cn1.clone(): {"resources": {"VCPU": 7}}},
            "project_id": "p", "user_id": "u", "consumer_generation": null,
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = get(&app, "resources=VCPU:2", "1.29").await;
    let body = r.json();
    assert_eq!(request_providers(&body), vec![vec![d.cn2.clone()]]);
    let r = get(&app, "resources=VCPU:1", "1.29").await;
    let body = r.json();
    assert_eq!(request_providers(&body).len(), 2);
    assert_eq!(
        body["provider_summaries"][&d.cn1]["resources"]["VCPU"],
        json!({"capacity": 8, "used": 7})
    );
}

#[tokio::test]
async fn limit_keeps_the_first_candidates_and_only_their_summaries() {
    let app = TestApp::new().await;
    let d = deployment(&app).await;
    let r = get(&app, "resources=VCPU:1&limit=1", "1.29").await;
    let body = r.json();
    let rps = request_providers(&body);
    assert_eq!(rps.len(), 1);
    // Deterministic: the first root by id (cn1 was created first), every
    // provider of its tree summarized.
    assert_eq!(rps[0], vec![d.cn1.clone()]);
    let mut summarized: Vec<&String> = body["provider_summaries"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    summarized.sort();
    let mut want = vec![&d.cn1, &d.numa1];
    want.sort();
    assert_eq!(summarized, want);
}

#[tokio::test]
async fn an_unknown_class_is_a_400_unless_an_earlier_group_matched_nothing() {
    let app = TestApp::new().await;
    deployment(&app).await;
    let r = get(&app, "resources=CUSTOM_NOPE:1", "1.25").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(
        r.error()["detail"],
        "The server could not comply with the request since it is either malformed or \
         otherwise incorrect.\n\n Invalid resource class in resources parameter: No such \
         resource class CUSTOM_NOPE.  "
    );
    let r = get(
        &app,
        "resources1=VCPU:100&resources2=CUSTOM_NOPE:1&group_policy=none",
        "1.25",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["allocation_requests"], json!([]));
    let r = get(&app, "resources=VCPU:1&required=CUSTOM_NOPE", "1.17").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.error()["detail"]
            .as_str()
            .unwrap()
            .contains("No such trait(s): CUSTOM_NOPE."),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn two_suffixed_groups_need_a_group_policy_with_its_code() {
    let app = TestApp::new().await;
    let r = get(&app, "resources1=VCPU:1&resources2=MEMORY_MB:1", "1.25").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.error()["detail"].as_str().unwrap().contains(
        "The \"group_policy\" parameter is required when specifying more than one \
         \"resources{N}\" parameter."
    ));
    let r = get(&app, "required=CUSTOM_X", "1.36").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.error()["code"], "placement.query.missing_value");
}

#[tokio::test]
async fn a_first_limit_python_cannot_read_is_a_400_not_a_500() {
    let app = TestApp::new().await;
    let r = get(&app, "resources=VCPU:1&limit=cow&limit=1", "1.16").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
}

fn settings(candidates: CandidatesSettings) -> HttpSettings {
    let mut s = HttpSettings::new(AuthStrategy::NoAuth2);
    s.candidates = candidates;
    s
}

#[tokio::test]
async fn max_allocation_candidates_caps_generation() {
    let app = TestApp::with_settings(settings(CandidatesSettings {
        max_allocation_candidates: 1,
        ..CandidatesSettings::default()
    }))
    .await;
    deployment(&app).await;
    let r = get(&app, "resources=VCPU:1", "1.29").await;
    assert_eq!(request_providers(&r.json()).len(), 1);
}

#[tokio::test]
async fn randomized_answers_spread_over_trees() {
    let app = TestApp::with_settings(settings(CandidatesSettings {
        randomize: true,
        ..CandidatesSettings::default()
    }))
    .await;
    let d = deployment(&app).await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let r = get(&app, "resources=VCPU:1&limit=1", "1.29").await;
        let rps = request_providers(&r.json());
        assert_eq!(rps.len(), 1);
        seen.insert(rps[0][0].clone());
    }
    // With two equally good computes, 40 draws all landing on one has
    // probability 2^-39.
    assert_eq!(seen, [d.cn1, d.cn2].into_iter().collect());
}
