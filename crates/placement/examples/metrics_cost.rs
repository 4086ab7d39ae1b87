//! In-process A/B of what metrics add to one request, for
//! `bench/metrics-ab.sh`: two routers over one SQLite database, one with
//! metrics and one without, driven on a single-threaded runtime with no
//! network in between, in alternating batches of `GET
//! /allocations/{consumer}`. Single-threaded, a batch's wall time is the
//! request path's own time (plus whatever preempts the thread, which hits
//! both sides alike); the minimum per side over many batches is the
//! figure least disturbed by a busy machine.
//!
//! Usage: `metrics_cost [batches] [requests-per-batch] [path]` (default
//! `/allocations/{consumer}`; `/` measures the request path without the
//! database, where the layer's own cost is easiest to see); prints one
//! JSON line with each side's minimum and median microseconds per request.

use std::error::Error;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use placement_http::{AppState, AuthStrategy, HttpSettings};
use placement_store::testing::TestDb;
use tower::ServiceExt;

const RP: &str = "11111111-2222-3333-4444-555555555555";
const CONSUMER: &str = "00000000-0000-0000-0000-000000000001";

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<StatusCode, Box<dyn Error>> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("x-auth-token", "admin")
        .header("openstack-api-version", "placement 1.39");
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .header("content-length", body.len().to_string());
    }
    let request = request.body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok(status)
}

/// Microseconds per request of one batch of `GET path`.
async fn batch(app: &axum::Router, path: &str, n: usize) -> Result<f64, Box<dyn Error>> {
    let started = Instant::now();
    for _ in 0..n {
        let status = call(app, "GET", path, None).await?;
        if status != StatusCode::OK {
            return Err(format!("GET answered {status}").into());
        }
    }
    Ok(started.elapsed().as_secs_f64() * 1e6 / n as f64)
}

fn stats(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    (samples[0], samples[samples.len() / 2])
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let batches: usize = args.next().map_or(Ok(20), |a| a.parse())?;
    let per_batch: usize = args.next().map_or(Ok(2000), |a| a.parse())?;
    let path = args
        .next()
        .unwrap_or_else(|| format!("/allocations/{CONSUMER}"));
    let db = TestDb::sqlite().await;
    placement_store::ops::schema::sync(db.database()).await?;
    placement_store::ops::standard::sync(db.database()).await?;
    let settings = || HttpSettings::new(AuthStrategy::NoAuth2);
    let off = placement_http::router(AppState::new(settings(), db.database().clone()));
    let on =
        placement_http::router(AppState::new(settings(), db.database().clone()).with_metrics());
    call(
        &off,
        "POST",
        "/resource_providers",
        Some(&format!(r#"{{"name": "bench", "uuid": "{RP}"}}"#)),
    )
    .await?;
    call(
        &off,
        "PUT",
        &format!("/resource_providers/{RP}/inventories"),
        Some(r#"{"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 64}}}"#),
    )
    .await?;
    let write = format!(
        r#"{{"allocations": {{"{RP}": {{"resources": {{"VCPU": 1}}}}}}, "project_id": "p", "user_id": "u", "consumer_generation": null, "consumer_type": "INSTANCE"}}"#
    );
    let status = call(
        &off,
        "PUT",
        &format!("/allocations/{CONSUMER}"),
        Some(&write),
    )
    .await?;
    if status != StatusCode::NO_CONTENT {
        return Err(format!("allocation write answered {status}").into());
    }
    // Warm both.
    batch(&off, &path, per_batch / 4).await?;
    batch(&on, &path, per_batch / 4).await?;
    let (mut off_us, mut on_us) = (Vec::new(), Vec::new());
    for i in 0..batches {
        // Alternate which side goes first, so neither always follows the other.
        if i % 2 == 0 {
            off_us.push(batch(&off, &path, per_batch).await?);
            on_us.push(batch(&on, &path, per_batch).await?);
        } else {
            on_us.push(batch(&on, &path, per_batch).await?);
            off_us.push(batch(&off, &path, per_batch).await?);
        }
    }
    let (off_min, off_median) = stats(off_us);
    let (on_min, on_median) = stats(on_us);
    println!(
        "{{\"path\": \"{path}\", \"batches\": {batches}, \"requests_per_batch\": {per_batch}, \
         \"off_min_us\": {off_min:.2}, \"off_median_us\": {off_median:.2}, \
         \"on_min_us\": {on_min:.2}, \"on_median_us\": {on_median:.2}, \
         \"ratio_min\": {:.4}, \"ratio_median\": {:.4}}}",
        on_min / off_min,
        on_median / off_median
    );
    Ok(())
}
