//! Prometheus metrics: a known sequence of requests, then a scrape whose
//! counters and histogram counts must be exactly what the sequence made.
//! Each app has its own registry, so tests running side by side in this
//! process never see each other's requests.

use axum::http::{Method, StatusCode};
use placement_http::{AuthStrategy, HttpSettings};
use serde_json::{json, Value};

use crate::allocations::{provider_with, send, CONSUMER};
use crate::helpers::TestApp;

/// The value of the sample `series` (name and labels exactly as exposed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        rest.strip_prefix(' ')?.parse().ok()
    })
}

fn expect(text: &str, series: &str, value: f64) {
    assert_eq!(sample(text, series), Some(value), "{series} in\n{text}");
}

fn request_series(name: &str, route: &str, method: &str, mv: &str, status: u16) -> String {
    format!(
        "{name}{{route=\"{route}\",method=\"{method}\",microversion=\"{mv}\",status=\"{status}\"}}"
    )
}

fn body(rp: &str, vcpu: u32, generation: Value) -> Value {
    json!({
        "allocations": {rp: {"resources": {"VCPU": vcpu}}},
        "project_id": "p1",
        "user_id": "u1",
        "consumer_generation": generation,
    })
}

#[tokio::test]
async fn a_scrape_counts_exactly_the_requests_made() {
    let app = TestApp::with_metrics(HttpSettings::new(AuthStrategy::NoAuth2)).await;
    let (_, empty) = app.scrape().await;
    expect(&empty, "placement_http_requests_in_flight", 0.0);
    // Every cause is there before anything happened.
    expect(
        &empty,
        "placement_allocation_write_retries_total{cause=\"provider_generation\"}",
        0.0,
    );
    expect(
        &empty,
        "placement_allocation_write_conflicts_total{cause=\"capacity\"}",
        0.0,
    );

    // POST /resource_providers and PUT inventories, at 1.20.
    let rp = provider_with(&app, json!({"VCPU": 4})).await;
    let alloc = format!("/allocations/{CONSUMER}");
    let put = |generation: Value, vcpu: u32| {
        send(
            &app,
            Method::PUT,
            &alloc,
            "1.28",
            Some(body(&rp, vcpu, generation)),
        )
    };
    assert_eq!(put(Value::Null, 1).await.status, StatusCode::NO_CONTENT);
    assert_eq!(put(json!(1), 2).await.status, StatusCode::NO_CONTENT);
    // A stale consumer generation, then more than the provider holds.
    assert_eq!(put(json!(1), 1).await.status, StatusCode::CONFLICT);
    assert_eq!(put(json!(2), 5).await.status, StatusCode::CONFLICT);
    for _ in 0..3 {
        let r = send(&app, Method::GET, &alloc, "1.28", None).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    // Refused before negotiation: no microversion, but still its route.
    let anonymous = app.get(&alloc).send().await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let candidates = send(
        &app,
        Method::GET,
        "/allocation_candidates?resources=VCPU:1",
        "1.39",
        None,
    )
    .await;
    assert_eq!(candidates.status, StatusCode::OK);
    let nowhere = send(&app, Method::GET, "/no/such/thing", "1.39", None).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    // Probes are not API requests.
    assert_eq!(app.get("/healthcheck").send().await.status, StatusCode::OK);

    let (content_type, text) = app.scrape().await;
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let route = "/allocations/{consumer_uuid}";
    for (name, method, mv, status, n) in [
        ("/resource_providers", "POST", "1.20", 200, 1.0),
        (
            "/resource_providers/{uuid}/inventories",
            "PUT",
            "1.20",
            200,
            1.0,
        ),
        (route, "PUT", "1.28", 204, 2.0),
        (route, "PUT", "1.28", 409, 2.0),
        (route, "GET", "1.28", 200, 3.0),
        (route, "GET", "none", 401, 1.0),
        ("/allocation_candidates", "GET", "1.39", 200, 1.0),
        ("unmatched", "GET", "1.39", 404, 1.0),
    ] {
        for metric in [
            "placement_http_requests_total",
            "placement_http_request_duration_seconds_count",
        ] {
            expect(&text, &request_series(metric, name, method, mv, status), n);
        }
    }
    let counted: f64 = text
        .lines()
        .filter(|l| l.starts_with("placement_http_requests_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(counted, 12.0, "nothing else was counted:\n{text}");
    expect(&text, "placement_http_requests_in_flight", 0.0);

    expect(
        &text,
        "placement_allocation_write_conflicts_total{cause=\"consumer_generation\"}",
        1.0,
    );
    expect(
        &text,
        "placement_allocation_write_conflicts_total{cause=\"capacity\"}",
        1.0,
    );
    expect(
        &text,
        "placement_allocation_write_conflicts_total{cause=\"provider_generation\"}",
        0.0,
    );
    expect(
        &text,
        "placement_allocation_write_retries_total{cause=\"provider_generation\"}",
        0.0,
    );

    expect(&text, "placement_allocation_candidates_requests_total", 1.0);
    expect(&text, "placement_allocation_candidates_returned_count", 1.0);
    expect(&text, "placement_allocation_candidates_returned_sum", 1.0);
    expect(
        &text,
        "placement_allocation_candidates_provider_summaries_sum",
        1.0,
    );

    // Pool gauges are read at scrape time; the wait histogram saw every
    // connection the requests above took (at least one each that reached
    // the database).
    assert!(sample(&text, "placement_db_pool_max_connections").unwrap() >= 1.0);
    assert!(sample(&text, "placement_db_pool_connections").is_some());
    assert!(sample(&text, "placement_db_pool_idle_connections").is_some());
    let acquired = sample(&text, "placement_db_pool_acquire_wait_seconds_count").unwrap();
    assert!(acquired >= 9.0, "{acquired}");
    // noauth2: no token cache to report.
    assert!(!text.contains("placement_keystone_token_cache"));
}

#[tokio::test]
async fn openmetrics_is_served_to_scrapers_that_ask_for_it() {
    let app = TestApp::with_metrics(HttpSettings::new(AuthStrategy::NoAuth2)).await;
    assert_eq!(app.get("/").send().await.status, StatusCode::OK);
    let (content_type, text) = app
        .scrape_as(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
        ))
        .await;
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    expect(
        &text,
        &request_series("placement_http_requests_total", "/", "GET", "1.0", 200),
        1.0,
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[tokio::test]
async fn two_apps_in_one_process_count_apart() {
    let a = TestApp::with_metrics(HttpSettings::new(AuthStrategy::NoAuth2)).await;
    let b = TestApp::with_metrics(HttpSettings::new(AuthStrategy::NoAuth2)).await;
    for _ in 0..2 {
        a.get("/").send().await;
    }
    b.get("/").send().await;
    let series = request_series("placement_http_requests_total", "/", "GET", "1.0", 200);
    expect(&a.scrape().await.1, &series, 2.0);
    expect(&b.scrape().await.1, &series, 1.0);
}
