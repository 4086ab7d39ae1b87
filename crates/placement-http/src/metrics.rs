//! Prometheus metrics: what the monitoring stack scrapes to see the
//! scheduler's health (latency, errors and conflicts per route, the
//! database pool, candidates, the token cache).
//!
//! Off unless the binary turns them on ([`AppState::with_metrics`]); then
//! [`router`] serves them on a listener of their own, so the API's port
//! never exposes them. The registry belongs to one application, not to the
//! process: two applications in one process (tests) count separately, and
//! nothing is global.
//!
//! When off, no layer is installed and every other recording site is a
//! branch on a `None`, so the cost is nothing measurable.
//!
//! # Metrics
//! - `placement_http_requests_total` and
//!   `placement_http_request_duration_seconds` (histogram), by `route` (the
//!   route table's template, such as `/allocations/{consumer_uuid}`, or
//!   `unmatched`), `method`, `microversion` (`none` when refused before
//!   negotiation) and `status`. Requests refused before routing (a 401, a
//!   406) still get their route's template, from the same table.
//! - `placement_http_requests_in_flight`.
//! - `placement_db_pool_connections`, `placement_db_pool_idle_connections`,
//!   `placement_db_pool_max_connections`, read at scrape time, and
//!   `placement_db_pool_acquire_wait_seconds` (histogram).
//! - `placement_allocation_write_retries_total` and
//!   `placement_allocation_write_conflicts_total`, by `cause`
//!   ([`RetryCause`], [`ConflictCause`]).
//! - `placement_allocation_candidates_requests_total`, and per answer
//!   `placement_allocation_candidates_returned` and
//!   `placement_allocation_candidates_provider_summaries` (histograms). The
//!   engine stops generating at `min(limit, max_allocation_candidates)`, so
//!   the candidates generated are the candidates returned.
//! - `placement_keystone_token_cache_lookups_total` by `result` (`hit`,
//!   `miss`), under `auth_strategy = keystone`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use placement_core::microversion::Microversion;
use placement_store::{ConflictCause, Database, RetryCause, StoreObserver};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::keystone::TokenValidator;
use crate::settings::UrlPrefix;

/// Request latency buckets, in seconds: from a cached read (sub-millisecond)
/// to a candidates request over a large cloud.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Connection wait buckets, in seconds: an idle connection arrives in
/// microseconds; a saturated pool makes requests wait up to `pool_timeout`.
const ACQUIRE_BUCKETS: [f64; 14] = [
    0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0,
];

/// Candidates (or providers) per answer.
const COUNT_BUCKETS: [f64; 12] = [
    0.0, 1.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0, 50000.0, 100000.0,
];

/// The labels of a request's metrics: all `Copy`, so counting a request
/// allocates nothing.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    microversion: VersionLabel,
    status: u16,
}

/// The negotiated microversion, `none` when the request was answered
/// before negotiation; formatted only when scraped.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
struct VersionLabel(Option<Microversion>);

impl EncodeLabelValue for VersionLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        match self.0 {
            Some(version) => write!(encoder, "{version}"),
            None => encoder.write_str("none"),
        }
    }
}

/// The label of a retry or conflict.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    cause: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The metric handles the recording sites touch.
#[derive(Debug)]
struct Instruments {
    requests: Family<RequestLabels, Counter>,
    request_duration: HistogramFamily<RequestLabels>,
    in_flight: Gauge,
    acquire_wait: Histogram,
    retries: Family<CauseLabels, Counter>,
    conflicts: Family<CauseLabels, Counter>,
    candidates_requests: Counter,
    candidates_returned: Histogram,
    candidates_summaries: Histogram,
}

/// One application's metrics: cheap to clone, shared by the request layer,
/// the store observer and the scrape endpoint.
#[derive(Clone)]
pub struct Metrics {
    instruments: Arc<Instruments>,
    registry: Arc<Registry>,
    routes: Arc<RouteTemplates>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Metrics for an application serving `store` under `prefix`, with the
    /// token validator whose cache is to be counted, if any. The pool's
    /// gauges and the cache's counts are read from them at scrape time.
    pub(crate) fn new(
        store: &Database,
        prefix: &UrlPrefix,
        keystone: Option<Arc<TokenValidator>>,
    ) -> Self {
        let instruments = Instruments {
            requests: Family::default(),
            request_duration: Family::new_with_constructor(latency_histogram),
            in_flight: Gauge::default(),
            acquire_wait: Histogram::new(ACQUIRE_BUCKETS),
            retries: Family::default(),
            conflicts: Family::default(),
            candidates_requests: Counter::default(),
            candidates_returned: Histogram::new(COUNT_BUCKETS),
            candidates_summaries: Histogram::new(COUNT_BUCKETS),
        };
        // Every cause shows from the first scrape, at zero, so a rate over
        // a cause that has not happened yet is 0 and not absent.
        for cause in RetryCause::ALL {
            let _ = instruments.retries.get_or_create(&CauseLabels {
                cause: cause.as_str(),
            });
        }
        for cause in ConflictCause::ALL {
            let _ = instruments.conflicts.get_or_create(&CauseLabels {
                cause: cause.as_str(),
            });
        }
        let mut registry = Registry::default();
        registry.register(
            "placement_http_requests",
            "HTTP requests answered, by route template, method, microversion and status",
            instruments.requests.clone(),
        );
        registry.register_with_unit(
            "placement_http_request_duration",
            "Time to answer an HTTP request, by route template, method, microversion and status",
            Unit::Seconds,
            instruments.request_duration.clone(),
        );
        registry.register(
            "placement_http_requests_in_flight",
            "HTTP requests being answered now",
            instruments.in_flight.clone(),
        );
        registry.register_with_unit(
            "placement_db_pool_acquire_wait",
            "Time a unit of work waited for a pooled database connection",
            Unit::Seconds,
            instruments.acquire_wait.clone(),
        );
        registry.register(
            "placement_allocation_write_retries",
            "Allocation write attempts run again, by cause",
            instruments.retries.clone(),
        );
        registry.register(
            "placement_allocation_write_conflicts",
            "Allocation writes that ended in a 409, by cause",
            instruments.conflicts.clone(),
        );
        registry.register(
            "placement_allocation_candidates_requests",
            "GET /allocation_candidates requests answered with candidates (200)",
            instruments.candidates_requests.clone(),
        );
        registry.register(
            "placement_allocation_candidates_returned",
            "Allocation candidates per answer (the engine generates no more than it returns)",
            instruments.candidates_returned.clone(),
        );
        registry.register(
            "placement_allocation_candidates_provider_summaries",
            "Provider summaries per allocation candidates answer",
            instruments.candidates_summaries.clone(),
        );
        registry.register_collector(Box::new(PoolCollector {
            store: store.clone(),
        }));
        if let Some(validator) = keystone {
            registry.register_collector(Box::new(TokenCacheCollector { validator }));
        }
        Self {
            instruments: Arc::new(instruments),
            registry: Arc::new(registry),
            routes: Arc::new(RouteTemplates::new(prefix)),
        }
    }

    /// The observer to attach to the store handle, so connection waits,
    /// retries and conflicts are counted here.
    pub(crate) fn store_observer(&self) -> Arc<dyn StoreObserver> {
        Arc::new(StoreMetrics {
            instruments: Arc::clone(&self.instruments),
        })
    }

    /// Records one `GET /allocation_candidates` answer.
    pub(crate) fn candidates_answered(&self, candidates: usize, summaries: usize) {
        let i = &self.instruments;
        i.candidates_requests.inc();
        i.candidates_returned.observe(candidates as f64);
        i.candidates_summaries.observe(summaries as f64);
    }

    /// The exposition: Prometheus' text format 0.0.4, or OpenMetrics text
    /// when `openmetrics` (what a scraper asking for it by `Accept` gets).
    ///
    /// # Errors
    /// Only if formatting into a string fails, which it does not.
    pub fn render(&self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        }
        Ok(text)
    }
}

/// The store's events, counted.
struct StoreMetrics {
    instruments: Arc<Instruments>,
}

impl StoreObserver for StoreMetrics {
    fn connection_acquired(&self, wait: Duration) {
        self.instruments.acquire_wait.observe(wait.as_secs_f64());
    }

    fn allocation_write_retried(&self, cause: RetryCause) {
        self.instruments
            .retries
            .get_or_create(&CauseLabels {
                cause: cause.as_str(),
            })
            .inc();
    }

    fn allocation_write_conflicted(&self, cause: ConflictCause) {
        self.instruments
            .conflicts
            .get_or_create(&CauseLabels {
                cause: cause.as_str(),
            })
            .inc();
    }
}

/// The pool's gauges, read when scraped.
#[derive(Debug)]
struct PoolCollector {
    store: Database,
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.store.pool_stats();
        for (name, help, value) in [
            (
                "placement_db_pool_connections",
                "Database connections open (idle or in use)",
                stats.size,
            ),
            (
                "placement_db_pool_idle_connections",
                "Database connections open and idle",
                stats.idle,
            ),
            (
                "placement_db_pool_max_connections",
                "The most database connections the pool opens (max_pool_size + max_overflow)",
                stats.max,
            ),
        ] {
            let gauge = ConstGauge::new(i64::from(value));
            let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}

/// The token cache's hit and miss counts, read when scraped.
#[derive(Debug)]
struct TokenCacheCollector {
    validator: Arc<TokenValidator>,
}

impl Collector for TokenCacheCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counts = self.validator.cache_counts();
        let mut family = encoder.encode_descriptor(
            "placement_keystone_token_cache_lookups",
            "Token validations answered from the cache (hit) or not (miss)",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (result, value) in [("hit", counts.hits), ("miss", counts.misses)] {
            let labels = [("result", result)];
            let metric = family.encode_family(&labels)?;
            ConstCounter::new(value).encode(metric)?;
        }
        Ok(())
    }
}

/// The route table's templates, to label a request by the route it is for
/// (whether or not it got past authentication to the router) and never by
/// its raw path, whose UUIDs would make every consumer a time series.
#[derive(Debug)]
struct RouteTemplates {
    prefix: UrlPrefix,
    router: matchit::Router<&'static str>,
}

/// The label of a path outside every route.
const UNMATCHED: &str = "unmatched";

impl RouteTemplates {
    fn new(prefix: &UrlPrefix) -> Self {
        let mut router = matchit::Router::new();
        for template in crate::routes::templates() {
            if template.is_empty() {
                continue;
            }
            // The table is the router's own: a template it accepted is one
            // matchit accepts, and duplicates do not occur.
            let _ = router.insert(template, template);
        }
        Self {
            prefix: prefix.clone(),
            router,
        }
    }

    fn template(&self, path: &str) -> &'static str {
        match self.prefix.path_info(path) {
            // The bare mount prefix is the root route.
            Some("") => "/",
            Some(relative) => self
                .router
                .at(relative)
                .map_or(UNMATCHED, |matched| *matched.value),
            None => UNMATCHED,
        }
    }
}

/// The method as a label: the standard ones by name, anything else lumped
/// together so a client cannot mint series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::PUT => "PUT",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Lowers the in-flight gauge when the request ends, also when its future
/// is dropped (the client went away).
struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The outermost layer when metrics are on: counts and times every request
/// with the labels the module docs list.
pub(crate) async fn track(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let i = &metrics.instruments;
    i.in_flight.inc();
    let _in_flight = InFlight(&i.in_flight);
    let started = Instant::now();
    let route = metrics.routes.template(request.uri().path());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    let labels = RequestLabels {
        route,
        method,
        microversion: VersionLabel(response.extensions().get::<Microversion>().copied()),
        status: response.status().as_u16(),
    };
    i.requests.get_or_create(&labels).inc();
    i.request_duration.get_or_create(&labels).observe(elapsed);
    response
}

/// The metrics listener's application: `GET /metrics`, nothing else.
pub fn router(metrics: Metrics) -> axum::Router {
    axum::Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

/// The OpenMetrics media type, for scrapers that ask for it.
const OPENMETRICS: &str = "application/openmetrics-text";

async fn scrape(State(metrics): State<Metrics>, headers: axum::http::HeaderMap) -> Response {
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(OPENMETRICS));
    match metrics.render(openmetrics) {
        Ok(text) => {
            let content_type = if openmetrics {
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            } else {
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE
            };
            (
                [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
                text,
            )
                .into_response()
        }
        Err(error) => {
            let mut text = String::new();
            let _ = write!(text, "cannot encode metrics: {error}");
            (StatusCode::INTERNAL_SERVER_ERROR, text).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_labelled_by_their_route_template() {
        let routes = RouteTemplates::new(&UrlPrefix::default());
        assert_eq!(
            routes.template("/allocations/0a8c5f1e-4a39-4d0a-9b53-0f6f3c1b2a11"),
            "/allocations/{consumer_uuid}"
        );
        assert_eq!(routes.template("/"), "/");
        assert_eq!(routes.template("/traits"), "/traits");
        assert_eq!(routes.template("/no/such/thing"), UNMATCHED);
    }

    #[test]
    fn under_a_prefix_the_template_is_relative_to_the_mount() {
        let routes = RouteTemplates::new(&UrlPrefix::new("/placement").unwrap_or_default());
        assert_eq!(routes.template("/placement"), "/");
        assert_eq!(routes.template("/placement/"), "/");
        assert_eq!(
            routes.template("/placement/resource_providers/x/inventories"),
            "/resource_providers/{uuid}/inventories"
        );
        assert_eq!(routes.template("/resource_providers"), UNMATCHED);
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        let odd = Method::from_bytes(b"BREW").unwrap_or(Method::GET);
        assert_eq!(method_label(&odd), "other");
    }
}
