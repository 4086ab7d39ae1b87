//! Loader and meter for `bench/candidates.sh`, the allocation-candidates
//! benchmark: it builds upstream's performance-job provider shapes through
//! the HTTP API, many at a time, and measures one `GET` URL at a fixed
//! concurrency.
//!
//! Usage:
//!
//! * `candload load <base-url> flat <count> [--concurrency N]`: `count`
//!   compute nodes shaped like upstream's perfload job (the placeload tool):
//!   VCPU 32 (max_unit 16), MEMORY_MB 8192 (min_unit 128), DISK_GB 8192
//!   (min_unit 5); in turn 1, 2 or 3 of three fixed aggregates and 1, 2 or 3
//!   of the traits HW_CPU_X86_AVX2, HW_CPU_X86_SSE2, STORAGE_DISK_SSD, so
//!   every provider is in the first aggregate and has AVX2.
//! * `candload load <base-url> nested <trees> [--concurrency N]`: `trees`
//!   trees of 7 providers as upstream's nested-perfload gabbit builds them:
//!   a compute node (DISK_GB 20480, COMPUTE_VOLUME_MULTI_ATTACH) with two
//!   NUMA nodes (VCPU 4 and MEMORY_MB 2048, HW_NUMA_ROOT; the second also
//!   CUSTOM_FOO), under the first an FPGA:1 and a VGPU:8 provider, under the
//!   second two FPGA:1 providers.
//! * `candload load <base-url> wide <roots> <children> <units> [--concurrency N]`:
//!   the wide trees of upstream's candidate-explosion tests: each root has
//!   VCPU 8, MEMORY_MB 4096 and DISK_GB 500, and `children` child providers
//!   with `units` of CUSTOM_VF each (max_unit = total throughout).
//! * `candload measure <url> [--concurrency 10] [--seconds 15] [--timeout 60]`:
//!   one request first (it must answer 200; it gives the candidate count),
//!   then a closed loop: `concurrency` clients send the request back to back
//!   until `seconds` have passed; each request gives up after `timeout`.
//!   When the first request alone takes longer than `seconds`, the loop is
//!   skipped and only that latency is reported.
//!
//! Every command prints one JSON line. `load` exits non-zero when any call
//! answers another status than expected. Requests carry `x-auth-token:
//! admin` and microversion 1.39 (upstream's `latest`). Only ever point it at
//! a server on this machine (loopback).

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

const USAGE: &str = "usage: candload load <base-url> flat <count> | nested <trees> | \
     wide <roots> <children> <units> [--concurrency N]\n       \
     candload measure <url> [--concurrency N] [--seconds S] [--timeout T]";

/// The three aggregates of upstream's perfload job; its query asks for the first.
const AGGREGATES: [&str; 3] = [
    "14a5c8a3-5a99-4e8f-88be-00d85fcb1c17",
    "66d98e7c-3c25-485d-a0dc-1cea651884de",
    "a59dbb28-fd98-4c6e-9ec5-ae5f3d04b0aa",
];

/// The perfload job's traits; its query requires the first.
const TRAITS: [&str; 3] = ["HW_CPU_X86_AVX2", "HW_CPU_X86_SSE2", "STORAGE_DISK_SSD"];

/// How many failed calls of a load are printed to stderr (all are counted).
const SHOWN_ERRORS: usize = 5;

type BoxError = Box<dyn Error + Send + Sync>;

/// Which shape `load` builds, one unit (provider or tree) at a time.
#[derive(Clone, Copy)]
enum Shape {
    Flat,
    Nested,
    Wide { children: usize, units: u64 },
}

impl Shape {
    fn providers_per_unit(self) -> usize {
        match self {
            Self::Flat => 1,
            Self::Nested => 7,
            Self::Wide { children, .. } => 1 + children,
        }
    }
}

/// An HTTP client bound to one server, failing on any unexpected status.
struct Api {
    client: Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expect: &[u16],
    ) -> Result<(), BoxError> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let answer = request.send().await?;
        let status = answer.status().as_u16();
        if expect.contains(&status) {
            return Ok(());
        }
        // The first 300 characters (not bytes: a cut must not split one).
        let text: String = answer
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        Err(format!("{method} {path} answered {status}: {text}").into())
    }

    async fn post(&self, path: &str, body: Value) -> Result<(), BoxError> {
        self.call(Method::POST, path, Some(body), &[200]).await
    }

    async fn put(&self, path: &str, body: Value) -> Result<(), BoxError> {
        self.call(Method::PUT, path, Some(body), &[200]).await
    }

    /// Creates a provider and sets its inventories (generation 0 → 1).
    async fn provider(
        &self,
        name: String,
        parent: Option<&str>,
        inventories: Value,
    ) -> Result<String, BoxError> {
        let uuid = uuid::Uuid::new_v4().to_string();
        let mut body = json!({"uuid": uuid, "name": format!("{name}-{uuid}")});
        if let Some(parent) = parent {
            body["parent_provider_uuid"] = json!(parent);
        }
        self.post("/resource_providers", body).await?;
        self.put(
            &format!("/resource_providers/{uuid}/inventories"),
            json!({"resource_provider_generation": 0, "inventories": inventories}),
        )
        .await?;
        Ok(uuid)
    }

    async fn traits(&self, uuid: &str, generation: u64, traits: &[&str]) -> Result<(), BoxError> {
        self.put(
            &format!("/resource_providers/{uuid}/traits"),
            json!({"resource_provider_generation": generation, "traits": traits}),
        )
        .await
    }

    /// Builds unit number `n` of `shape`.
    async fn unit(&self, shape: Shape, n: usize) -> Result<(), BoxError> {
        match shape {
            Shape::Flat => {
                let inventories = json!({
                    "MEMORY_MB": {"total": 8192, "min_unit": 128, "max_unit": 8192},
                    "DISK_GB": {"total": 8192, "min_unit": 5, "max_unit": 8192},
                    "VCPU": {"total": 32, "min_unit": 1, "max_unit": 16},
                });
                let rp = self.provider(format!("cn{n}"), None, inventories).await?;
                let take = n % 3 + 1;
                self.put(
                    &format!("/resource_providers/{rp}/aggregates"),
                    json!({"resource_provider_generation": 1, "aggregates": &AGGREGATES[..take]}),
                )
                .await?;
                self.traits(&rp, 2, &TRAITS[..take]).await
            }
            Shape::Nested => {
                let cn = self
                    .provider(format!("cn{n}"), None, json!({"DISK_GB": {"total": 20480}}))
                    .await?;
                self.traits(&cn, 1, &["COMPUTE_VOLUME_MULTI_ATTACH"])
                    .await?;
                let numa0 = self
                    .provider(
                        format!("numa0-{n}"),
                        Some(&cn),
                        json!({
                            "VCPU": {"total": 4, "reserved": 2},
                            "MEMORY_MB": {"total": 2048, "min_unit": 512, "step_size": 256},
                        }),
                    )
                    .await?;
                self.traits(&numa0, 1, &["HW_NUMA_ROOT"]).await?;
                self.provider(
                    format!("fpga0-0-{n}"),
                    Some(&numa0),
                    json!({"FPGA": {"total": 1}}),
                )
                .await?;
                self.provider(
                    format!("pgpu0-0-{n}"),
                    Some(&numa0),
                    json!({"VGPU": {"total": 8}}),
                )
                .await?;
                let numa1 = self
                    .provider(
                        format!("numa1-{n}"),
                        Some(&cn),
                        json!({
                            "VCPU": {"total": 4},
                            "MEMORY_MB": {"total": 2048, "min_unit": 256, "max_unit": 1024},
                        }),
                    )
                    .await?;
                self.traits(&numa1, 1, &["HW_NUMA_ROOT", "CUSTOM_FOO"])
                    .await?;
                for i in 0..2 {
                    self.provider(
                        format!("fpga1-{i}-{n}"),
                        Some(&numa1),
                        json!({"FPGA": {"total": 1}}),
                    )
                    .await?;
                }
                Ok(())
            }
            Shape::Wide { children, units } => {
                let root = self
                    .provider(
                        format!("compute{n}"),
                        None,
                        json!({
                            "VCPU": {"total": 8, "max_unit": 8},
                            "MEMORY_MB": {"total": 4096, "max_unit": 4096},
                            "DISK_GB": {"total": 500, "max_unit": 500},
                        }),
                    )
                    .await?;
                for j in 0..children {
                    self.provider(
                        format!("compute{n}-pf{j}"),
                        Some(&root),
                        json!({"CUSTOM_VF": {"total": units, "max_unit": units}}),
                    )
                    .await?;
                }
                Ok(())
            }
        }
    }
}

fn client(timeout: Option<Duration>) -> Result<Client, BoxError> {
    let mut headers = HeaderMap::new();
    headers.insert("x-auth-token", HeaderValue::from_static("admin"));
    headers.insert(
        "openstack-api-version",
        HeaderValue::from_static("placement 1.39"),
    );
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut builder = Client::builder().default_headers(headers);
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    Ok(builder.build()?)
}

async fn load(
    base: String,
    shape: Shape,
    count: usize,
    concurrency: usize,
) -> Result<(), BoxError> {
    let api = Arc::new(Api {
        client: client(None)?,
        base: base.trim_end_matches('/').to_owned(),
    });
    let start = Instant::now();
    match shape {
        Shape::Nested => {
            api.call(Method::PUT, "/traits/CUSTOM_FOO", None, &[201, 204])
                .await?;
        }
        Shape::Wide { .. } => {
            api.call(
                Method::PUT,
                "/resource_classes/CUSTOM_VF",
                None,
                &[201, 204],
            )
            .await?;
        }
        Shape::Flat => {}
    }
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (api, next, failed) = (Arc::clone(&api), Arc::clone(&next), Arc::clone(&failed));
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    break;
                }
                if let Err(e) = api.unit(shape, n).await {
                    if failed.fetch_add(1, Ordering::Relaxed) < SHOWN_ERRORS {
                        eprintln!("candload: unit {n}: {e}");
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let failed = failed.load(Ordering::Relaxed);
    println!(
        "{{\"units\": {count}, \"providers\": {}, \"failed_units\": {failed}, \"seconds\": {:.1}}}",
        count * shape.providers_per_unit(),
        start.elapsed().as_secs_f64()
    );
    if failed > 0 {
        return Err(format!("{failed} of {count} units failed").into());
    }
    Ok(())
}

/// What a closed-loop client saw.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: u64,
    timeouts: u64,
}

async fn measure(
    url: String,
    concurrency: usize,
    seconds: u64,
    timeout: u64,
) -> Result<(), BoxError> {
    let client = client(Some(Duration::from_secs(timeout)))?;
    let start = Instant::now();
    let first = match client.get(&url).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            println!("{{\"status\": \"timeout\", \"timeout_s\": {timeout}}}");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let status = first.status();
    let body = match first.bytes().await {
        Ok(b) => b,
        Err(e) if e.is_timeout() => {
            println!("{{\"status\": \"timeout\", \"timeout_s\": {timeout}}}");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let first_ms = start.elapsed().as_secs_f64() * 1000.0;
    if status != StatusCode::OK {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).replace(['\n', '"'], " ");
        println!(
            "{{\"status\": {}, \"detail\": \"{text}\"}}",
            status.as_u16()
        );
        return Ok(());
    }
    let answer: Value = serde_json::from_slice(&body)?;
    let count = |key: &str| match &answer[key] {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        _ => 0,
    };
    let (candidates, summaries) = (count("allocation_requests"), count("provider_summaries"));
    let head = format!(
        "\"status\": 200, \"first_ms\": {first_ms:.1}, \"candidates\": {candidates}, \"summaries\": {summaries}, \"body_bytes\": {}",
        body.len()
    );
    if first_ms > seconds as f64 * 1000.0 {
        println!("{{{head}, \"loop\": \"skipped\"}}");
        return Ok(());
    }

    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut clients = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, url) = (client.clone(), url.clone());
        clients.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let outcome = match client.get(&url).send().await {
                    Ok(r) if r.status() == StatusCode::OK => r.bytes().await.map(|_| true),
                    Ok(r) => r.bytes().await.map(|_| false),
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(true) => tally.latencies.push(sent.elapsed()),
                    Ok(false) => tally.errors += 1,
                    Err(e) if e.is_timeout() => tally.timeouts += 1,
                    Err(_) => tally.errors += 1,
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for c in clients {
        let t = c.await?;
        all.latencies.extend(t.latencies);
        all.errors += t.errors;
        all.timeouts += t.timeouts;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.latencies.sort();
    let pct = |p: f64| {
        let idx = ((all.latencies.len() as f64 - 1.0) * p).round() as usize;
        all.latencies
            .get(idx)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{{{head}, \"requests\": {}, \"errors\": {}, \"timeouts\": {}, \"seconds\": {elapsed:.1}, \"rps\": {:.2}, \"p50_ms\": {:.1}, \"p99_ms\": {:.1}}}",
        all.latencies.len(),
        all.errors,
        all.timeouts,
        all.latencies.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99)
    );
    Ok(())
}

fn parse<T: std::str::FromStr>(value: Option<String>, what: &str) -> Result<T, BoxError> {
    let value = value.ok_or_else(|| format!("missing {what}\n{USAGE}"))?;
    value
        .parse()
        .map_err(|_| format!("{what}: not a number: {value}").into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let mut positional = Vec::new();
    let mut concurrency = None;
    let mut seconds = 15;
    let mut timeout = 60;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--concurrency" => concurrency = Some(parse(args.next(), "--concurrency")?),
            "--seconds" => seconds = parse(args.next(), "--seconds")?,
            "--timeout" => timeout = parse(args.next(), "--timeout")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}\n{USAGE}").into()),
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    match positional.next().as_deref() {
        Some("load") => {
            let base = positional.next().ok_or(USAGE)?;
            let kind = positional.next().ok_or(USAGE)?;
            let count = parse(positional.next(), "count")?;
            let shape = match kind.as_str() {
                "flat" => Shape::Flat,
                "nested" => Shape::Nested,
                "wide" => Shape::Wide {
                    children: parse(positional.next(), "children")?,
                    units: parse(positional.next(), "units")?,
                },
                other => return Err(format!("unknown shape {other}\n{USAGE}").into()),
            };
            load(base, shape, count, concurrency.unwrap_or(16)).await
        }
        Some("measure") => {
            let url = positional.next().ok_or(USAGE)?;
            measure(url, concurrency.unwrap_or(10), seconds, timeout).await
        }
        _ => Err(USAGE.into()),
    }
}
