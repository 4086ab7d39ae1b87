//! A small closed-loop HTTP load generator for the bench scripts: `C`
//! concurrent clients send requests back to back for `S` seconds, then it
//! prints one JSON line with requests per second and latency percentiles.
//!
//! Usage: `loadgen <url> [concurrency] [seconds] [header: value]… [options]`
//!
//! By default every request is `GET <url>` and any 2xx answer counts as a
//! success. Options turn the URL into a request template:
//!
//! * `--method M`: the HTTP method (default `GET`).
//! * `--body JSON`: the request body; `content-type: application/json` is
//!   sent unless a `content-type` header is given.
//! * `--expect STATUS`: the only status that counts as a success (default:
//!   any 2xx). Other answers and transport failures are errors; the first few
//!   are printed to stderr and all are counted by status in the JSON line.
//! * `--uuids FILE`: `{uuid}` takes the next line of FILE (cycling) instead
//!   of a fresh random (v4) uuid per request.
//! * `--var NAME=a,b,…`: `{NAME}` takes the values in turn.
//! * `--record FILE`: write the `{uuid}` of every successful request to FILE,
//!   one a line (e.g. the consumers a `PUT /allocations/{uuid}` run created).
//!
//! Placeholders are replaced in the URL and the body. Only successful
//! requests count towards the throughput and the latency percentiles.
//! Only ever point it at a server on this machine (loopback).

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Method, StatusCode};

const USAGE: &str = "usage: loadgen <url> [concurrency] [seconds] [header: value]… \
     [--method M] [--body JSON] [--expect STATUS] [--uuids FILE] [--var NAME=a,b,…] \
     [--record FILE]";

/// How many unexpected answers are printed to stderr (all are counted).
const SHOWN_ERRORS: usize = 5;

/// What each client sends, with its placeholders.
struct Template {
    method: Method,
    url: String,
    body: Option<String>,
    expect: Option<StatusCode>,
    /// Values for `{uuid}`; empty means a fresh random uuid per request.
    uuids: Vec<String>,
    vars: Vec<(String, Vec<String>)>,
}

impl Template {
    /// The uuid and the rendered URL and body of request number `n`.
    fn render(&self, n: usize) -> (String, String, Option<String>) {
        let uuid = if self.uuids.is_empty() {
            uuid::Uuid::new_v4().to_string()
        } else {
            self.uuids[n % self.uuids.len()].clone()
        };
        let fill = |s: &str| {
            let mut s = s.replace("{uuid}", &uuid);
            for (name, values) in &self.vars {
                s = s.replace(&format!("{{{name}}}"), &values[n % values.len()]);
            }
            s
        };
        let url = fill(&self.url);
        let body = self.body.as_deref().map(fill);
        (uuid, url, body)
    }

    fn success(&self, status: StatusCode) -> bool {
        self.expect
            .map_or_else(|| status.is_success(), |expect| status == expect)
    }
}

/// What one client saw.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    /// Errors by status code, or "transport" for failed requests.
    errors: BTreeMap<String, u64>,
    recorded: Vec<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut positional = Vec::new();
    let mut method = Method::GET;
    let mut body = None;
    let mut expect = None;
    let mut uuids = Vec::new();
    let mut vars = Vec::new();
    let mut record = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--method" => method = Method::from_bytes(value()?.as_bytes())?,
            "--body" => body = Some(value()?),
            "--expect" => expect = Some(StatusCode::from_u16(value()?.parse()?)?),
            "--uuids" => {
                uuids = std::fs::read_to_string(value()?)?
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect();
                if uuids.is_empty() {
                    return Err("--uuids: the file lists no uuids".into());
                }
            }
            "--var" => {
                let v = value()?;
                let (name, values) = v.split_once('=').ok_or("--var is NAME=a,b,…")?;
                let values: Vec<String> = values.split(',').map(String::from).collect();
                if name.is_empty() || values.iter().any(String::is_empty) {
                    return Err(format!("--var {v}: empty name or value").into());
                }
                vars.push((name.to_owned(), values));
            }
            "--record" => record = Some(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}\n{USAGE}").into()),
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let url = positional.next().ok_or(USAGE)?;
    let concurrency: usize = positional.next().map_or(Ok(8), |s| s.parse())?;
    let seconds: u64 = positional.next().map_or(Ok(5), |s| s.parse())?;
    let mut headers = HeaderMap::new();
    for h in positional {
        let (k, v) = h.split_once(':').ok_or("headers are 'name: value'")?;
        headers.insert(
            HeaderName::from_bytes(k.trim().as_bytes())?,
            HeaderValue::from_str(v.trim())?,
        );
    }
    if body.is_some() && !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let template = Arc::new(Template {
        method,
        url,
        body,
        expect,
        uuids,
        vars,
    });
    let recording = record.is_some();

    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()?;
    let counter = Arc::new(AtomicUsize::new(0));
    let shown = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let template = Arc::clone(&template);
        let counter = Arc::clone(&counter);
        let shown = Arc::clone(&shown);
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let (uuid, url, body) = template.render(counter.fetch_add(1, Ordering::Relaxed));
                let mut request = client.request(template.method.clone(), &url);
                if let Some(body) = body {
                    request = request.body(body);
                }
                let start = Instant::now();
                let (key, detail) = match request.send().await {
                    Ok(r) => {
                        let status = r.status();
                        let answer = r.bytes().await;
                        if template.success(status) && answer.is_ok() {
                            tally.latencies.push(start.elapsed());
                            if recording {
                                tally.recorded.push(uuid);
                            }
                            continue;
                        }
                        let text = answer.map_or_else(
                            |e| e.to_string(),
                            |b| String::from_utf8_lossy(&b[..b.len().min(300)]).replace('\n', " "),
                        );
                        (status.as_u16().to_string(), text)
                    }
                    Err(e) => ("transport".to_owned(), e.to_string()),
                };
                if shown.fetch_add(1, Ordering::Relaxed) < SHOWN_ERRORS {
                    eprintln!("loadgen: {} {url}: {key} {detail}", template.method);
                }
                *tally.errors.entry(key).or_default() += 1;
            }
            tally
        }));
    }
    let mut all = Vec::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut recorded = Vec::new();
    for t in tasks {
        let tally = t.await?;
        all.extend(tally.latencies);
        for (k, n) in tally.errors {
            *errors.entry(k).or_default() += n;
        }
        recorded.extend(tally.recorded);
    }
    if let Some(path) = record {
        let mut text = recorded.join("\n");
        text.push('\n');
        std::fs::write(path, text)?;
    }
    all.sort();
    let pct = |p: f64| {
        let idx = ((all.len() as f64 - 1.0) * p).round() as usize;
        all.get(idx).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let by_status = errors
        .iter()
        .map(|(k, n)| format!("\"{k}\": {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "{{\"requests\": {}, \"errors\": {}, \"rps\": {:.1}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"errors_by_status\": {{{}}}}}",
        all.len(),
        errors.values().sum::<u64>(),
        all.len() as f64 / seconds as f64,
        pct(0.5),
        pct(0.99),
        by_status
    );
    Ok(())
}
