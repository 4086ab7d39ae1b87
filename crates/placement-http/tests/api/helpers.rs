//! `TestApp`: the application driven in process, one request at a time.

use std::io;
use std::sync::{Arc, Mutex, Once};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt;
use placement_http::{
    AcceptJson, ApiError, AppState, AuthStrategy, ErrorCode, HttpSettings, JsonContent,
    RequestContext, UrlPrefix, WantVersion,
};
use placement_store::testing::TestDb;
use placement_store::Backend;
use tower::ServiceExt;

pub struct TestApp {
    router: Router,
    /// The app's metrics when they were turned on.
    metrics: Option<placement_http::metrics::Metrics>,
    /// The scratch database behind the router; dropped with the app.
    _db: TestDb,
}

/// Names the backend the in-process HTTP tests run on: `sqlite` (the
/// default), `postgresql` or `mysql`; the server ones also need
/// `PLACEMENT_TEST_POSTGRES_URL` / `PLACEMENT_TEST_MYSQL_URL`.
/// `scripts/test --all-backends` runs this suite once per backend.
pub const BACKEND_ENV: &str = "PLACEMENT_TEST_HTTP_BACKEND";

/// A fresh database with upstream's schema and standard data, on the
/// backend [`BACKEND_ENV`] names.
async fn store() -> TestDb {
    let db = match std::env::var(BACKEND_ENV).as_deref() {
        Err(_) | Ok("" | "sqlite") => TestDb::sqlite().await,
        Ok("postgresql") => TestDb::on(Backend::Postgres).await,
        Ok("mysql") => TestDb::on(Backend::MySql).await,
        Ok(other) => panic!("{BACKEND_ENV}={other}: expected sqlite, postgresql or mysql"),
    };
    placement_store::ops::schema::sync(db.database())
        .await
        .unwrap();
    placement_store::ops::standard::sync(db.database())
        .await
        .unwrap();
    db
}

impl TestApp {
    /// The production router with noauth2 at the root of the host.
    pub async fn new() -> Self {
        Self::with_settings(HttpSettings::new(AuthStrategy::NoAuth2)).await
    }

    pub async fn with_settings(settings: HttpSettings) -> Self {
        init_logging();
        let db = store().await;
        Self {
            router: placement_http::router(AppState::new(settings, db.database().clone())),
            metrics: None,
            _db: db,
        }
    }

    /// The production router with metrics turned on, as `[metrics] bind`
    /// does in the binary.
    pub async fn with_metrics(settings: HttpSettings) -> Self {
        init_logging();
        let db = store().await;
        let state = AppState::new(settings, db.database().clone()).with_metrics();
        let metrics = state.metrics.clone();
        Self {
            router: placement_http::router(state),
            metrics,
            _db: db,
        }
    }

    /// `GET /metrics` on the app's metrics listener: (content type, body).
    pub async fn scrape(&self) -> (String, String) {
        self.scrape_as(None).await
    }

    /// [`TestApp::scrape`] with an `Accept` header.
    pub async fn scrape_as(&self, accept: Option<&str>) -> (String, String) {
        let metrics = self.metrics.clone().expect("metrics are on");
        let mut request = Request::get("/metrics");
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let response = placement_http::metrics::router(metrics)
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (content_type, String::from_utf8(body.to_vec()).unwrap())
    }

    /// noauth2 with the given policy enforcer.
    pub async fn with_policy(
        settings: HttpSettings,
        policy: placement_http::policy::Enforcer,
    ) -> Self {
        init_logging();
        let db = store().await;
        Self {
            router: placement_http::router(AppState::with_policy(
                settings,
                db.database().clone(),
                policy,
            )),
            metrics: None,
            _db: db,
        }
    }

    pub async fn with_prefix(auth_strategy: AuthStrategy, prefix: &str) -> Self {
        Self::with_settings(HttpSettings {
            url_prefix: UrlPrefix::new(prefix).unwrap(),
            ..HttpSettings::new(auth_strategy)
        })
        .await
    }

    /// Probe routes inside the production middleware stack, to exercise
    /// extractors and error paths no real route reaches yet.
    pub async fn with_probes(auth_strategy: AuthStrategy) -> Self {
        init_logging();
        let routes =
            Router::new()
                .route("/probe/context", get(context_as_json))
                .route(
                    "/probe/accept-json",
                    get(|_: AcceptJson| async { StatusCode::NO_CONTENT }),
                )
                .route(
                    "/probe/json-content",
                    post(|_: JsonContent| async { StatusCode::NO_CONTENT }),
                )
                .route(
                    "/probe/internal",
                    get(|| async {
                        ApiError::internal(io::Error::other("database exploded: password=hunter2"))
                    }),
                )
                .route("/probe/panic", get(panicking))
                .route(
                    "/probe/conflict",
                    get(|| async {
                        ApiError::conflict("generation mismatch")
                            .with_code(ErrorCode::ConcurrentUpdate)
                    }),
                )
                .route(
                    "/probe/bare-error",
                    get(|| async {
                        (StatusCode::UNPROCESSABLE_ENTITY, "Failed to parse the body")
                    }),
                )
                .route(
                    "/probe/since-1-2",
                    get(|mv: WantVersion| async move {
                        mv.require(1, 2).map(|_| StatusCode::NO_CONTENT)
                    }),
                );
        let db = store().await;
        let state = AppState::new(HttpSettings::new(auth_strategy), db.database().clone());
        Self {
            router: placement_http::middleware::apply(routes, state),
            metrics: None,
            _db: db,
        }
    }

    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            app: self,
            request: Request::builder().method(method).uri(path),
            body: Body::empty(),
        }
    }

    pub fn get(&self, path: &str) -> Call<'_> {
        self.call(Method::GET, path)
    }

    /// The database behind the router, for rows no route writes yet.
    pub fn database(&self) -> &placement_store::Database {
        self._db.database()
    }
}

async fn panicking() -> StatusCode {
    panic!("kaboom")
}

async fn context_as_json(context: RequestContext) -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "user_id": context.user_id,
        "project_id": context.project_id,
        "roles": context.roles,
        "is_admin": context.is_admin,
        "system_scope": context.system_scope,
        "global_request_id": context.global_request_id,
        "request_id": context.request_id,
    }))
}

/// One request as an admin at `version`, with `body` sent as JSON.
pub async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    version: &str,
    body: Option<serde_json::Value>,
) -> TestResponse {
    let mut call = app.call(method, path).token("admin").version(version);
    if let Some(body) = body {
        call = call
            .header("content-type", "application/json")
            .body(&body.to_string());
    }
    call.send().await
}

pub struct Call<'a> {
    app: &'a TestApp,
    request: axum::http::request::Builder,
    body: Body,
}

impl Call<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    /// An OpenStack-API-Version header for placement.
    pub fn version(self, version: &str) -> Self {
        self.header("openstack-api-version", &format!("placement {version}"))
    }

    /// A noauth2 token.
    pub fn token(self, token: &str) -> Self {
        self.header("x-auth-token", token)
    }

    /// A body with its Content-Length (set by hand: in-process requests have
    /// no server to count it).
    pub fn body(mut self, body: &str) -> Self {
        self.request = self
            .request
            .header(header::CONTENT_LENGTH, body.len().to_string());
        self.body = Body::from(body.to_owned());
        self
    }

    pub async fn send(self) -> TestResponse {
        let request = self.request.body(self.body).unwrap();
        let response = self.app.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        TestResponse {
            status,
            headers,
            body: String::from_utf8(body).unwrap(),
        }
    }
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// The first error object of an envelope.
    pub fn error(&self) -> serde_json::Value {
        self.json()["errors"][0].clone()
    }

    pub fn request_id(&self) -> &str {
        self.header("x-openstack-request-id")
            .expect("every response has a request id")
    }
}

/// Whether `id` is `req-` and a lower-case version-4 UUID.
pub fn is_local_request_id(id: &str) -> bool {
    id.strip_prefix("req-")
        .and_then(|uuid| uuid::Uuid::parse_str(uuid).ok())
        .is_some_and(|uuid| {
            uuid.get_version_num() == 4 && id == format!("req-{}", uuid.hyphenated())
        })
}

/// Logs to the terminal when TEST_LOG is set; quiet otherwise.
fn init_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter("debug")
                .with_test_writer()
                .try_init();
        } else {
            // A global subscriber that wants everything up to DEBUG and
            // writes nowhere: with none, a callsite first hit on a thread
            // without a captured log caches "never", and a test capturing
            // logs on another thread then loses that span or event.
            let _ = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_writer(std::io::sink)
                .try_init();
        }
    });
}

/// Captures this thread's log output while the guard lives (the tests run
/// on a current-thread runtime, so the request is handled on this thread).
pub fn capture_logs() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    let buffer = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(buffer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    // Another test thread may have registered a callsite (the request span)
    // while no subscriber wanted it, caching "never" for it; recompute every
    // callsite's interest now that this one is installed.
    tracing::callsite::rebuild_interest_cache();
    (buffer, guard)
}

#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn contents(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
