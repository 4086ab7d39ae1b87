//! The validator against a small in-process fake Keystone on a loopback
//! port: error mapping, re-login, caching, coalescing and the service-token
//! rules. The real-Keystone tests of the binary crate remain the authority
//! on Keystone's behaviour; this fake only answers the way they observed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::*;

#[derive(Default)]
struct Fake {
    addr: Option<SocketAddr>,
    /// Token → (user name, project, roles, expired).
    tokens: HashMap<String, (&'static str, &'static str, Vec<&'static str>, bool)>,
    service_token: Option<String>,
    logins: usize,
    validations: usize,
    /// Answer every validation with this status.
    fail_with: Option<StatusCode>,
    /// Refuse the current service token once (as after a key rotation).
    reject_service_token_once: bool,
    /// Always refuse the service token.
    reject_service_token: bool,
    /// Pause before answering a validation.
    delay: Duration,
    queries: Vec<String>,
}

type Shared = Arc<Mutex<Fake>>;

fn versions(addr: SocketAddr) -> serde_json::Value {
    serde_json::json!({"versions": {"values": [{"id": "v3.14", "status": "stable",
        "links": [{"rel": "self", "href": format!("http://{addr}/v3/")}]}]}})
}

fn token_body(
    addr: SocketAddr,
    user: &str,
    project: &str,
    roles: &[&str],
    expired: bool,
) -> serde_json::Value {
    let expires_at = if expired {
        "2000-01-01T00:00:00.000000Z".to_owned()
    } else {
        (chrono::Utc::now() + chrono::Duration::hours(1))
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string()
    };
    serde_json::json!({"token": {
        "expires_at": expires_at,
        "issued_at": "2000-01-01T00:00:00.000000Z",
        "user": {"id": format!("{user}-id"), "name": user, "domain": {"id": "default", "name": "Default"}},
        "project": {"id": format!("{project}-id"), "name": project, "domain": {"id": "default", "name": "Default"}},
        "roles": roles.iter().map(|name| serde_json::json!({"id": "x", "name": name})).collect::<Vec<_>>(),
        "catalog": [{"type": "identity", "name": "keystone", "endpoints": [
            {"interface": "internal", "region": "RegionOne", "region_id": "RegionOne",
             "url": format!("http://{addr}/v3")}]}]}})
}

async fn root(State(fake): State<Shared>) -> Response {
    let addr = fake.lock().unwrap().addr.unwrap();
    (StatusCode::MULTIPLE_CHOICES, axum::Json(versions(addr))).into_response()
}

async fn login(State(fake): State<Shared>) -> Response {
    let mut fake = fake.lock().unwrap();
    fake.logins += 1;
    let token = format!("service-token-{}", fake.logins);
    fake.service_token = Some(token.clone());
    let body = token_body(
        fake.addr.unwrap(),
        "placement",
        "service",
        &["service", "admin"],
        false,
    );
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert("x-subject-token", HeaderValue::from_str(&token).unwrap());
    response
}

async fn validate(
    State(fake): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let delay = fake.lock().unwrap().delay;
    tokio::time::sleep(delay).await;
    let mut fake = fake.lock().unwrap();
    fake.validations += 1;
    let mut keys: Vec<_> = query.keys().cloned().collect();
    keys.sort();
    fake.queries.push(keys.join("&"));
    if let Some(status) = fake.fail_with {
        return status.into_response();
    }
    let service = headers
        .get("x-auth-token")
        .map(|v| v.to_str().unwrap().to_owned());
    if fake.reject_service_token || service != fake.service_token {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if fake.reject_service_token_once {
        fake.reject_service_token_once = false;
        fake.service_token = None;
        return StatusCode::UNAUTHORIZED.into_response();
    }
    assert_eq!(headers["openstack-identity-access-rules"], "1");
    let subject = headers["x-subject-token"].to_str().unwrap();
    match fake.tokens.get(subject) {
        Some((_, _, _, true)) if !query.contains_key("allow_expired") => {
            StatusCode::NOT_FOUND.into_response()
        }
        Some((user, project, roles, expired)) => {
            let body = token_body(fake.addr.unwrap(), user, project, roles, *expired);
            axum::Json(body).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            r#"{"error":{"code":404,"message":"Could not recognize Fernet token","title":"Not Found"}}"#,
        )
            .into_response(),
    }
}

async fn start_fake() -> (Shared, String) {
    let fake: Shared = Arc::default();
    {
        let mut state = fake.lock().unwrap();
        state.tokens.insert(
            "admin-token".into(),
            ("admin", "admin", vec!["admin", "member", "reader"], false),
        );
        state.tokens.insert(
            "reader-token".into(),
            ("reader", "demo", vec!["reader"], false),
        );
        state.tokens.insert(
            "expired-token".into(),
            ("reader", "demo", vec!["reader"], true),
        );
        state.tokens.insert(
            "nova-token".into(),
            ("nova", "service", vec!["service"], false),
        );
        state.tokens.insert(
            "member-token".into(),
            ("member", "demo", vec!["member"], false),
        );
    }
    let app = Router::new()
        .route("/", get(root))
        .route("/v3/auth/tokens", get(validate).post(login))
        .with_state(Arc::clone(&fake));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    fake.lock().unwrap().addr = Some(addr);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{addr}"))
}

fn settings(auth_url: &str) -> KeystoneSettings {
    let credentials = PasswordCredentials {
        username: Some("placement".to_owned()),
        user_domain_name: Some("Default".to_owned()),
        password: "pw".to_owned(),
        ..PasswordCredentials::default()
    };
    KeystoneSettings {
        http_request_max_retries: 0,
        www_authenticate_uri: Some("http://public/v3".to_owned()),
        ..KeystoneSettings::new(auth_url, credentials)
    }
}

async fn validator() -> (Shared, TokenValidator) {
    let (fake, url) = start_fake().await;
    (fake, TokenValidator::new(settings(&url)).unwrap())
}

fn request(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

async fn run(validator: &TokenValidator, headers: &mut HeaderMap) -> Decision {
    validator
        .process(headers, &Method::GET, "/resource_providers")
        .await
}

fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn a_valid_token_sets_the_identity_and_is_cached() {
    let (fake, validator) = validator().await;
    for _ in 0..3 {
        let mut headers = request(&[("x-auth-token", "reader-token"), ("x-roles", "admin")]);
        assert!(matches!(
            run(&validator, &mut headers).await,
            Decision::Proceed
        ));
        assert_eq!(text(&headers, "x-identity-status"), Some("Confirmed"));
        assert_eq!(text(&headers, "x-user-id"), Some("reader-id"));
        assert_eq!(text(&headers, "x-project-id"), Some("demo-id"));
        assert_eq!(text(&headers, "x-roles"), Some("reader"));
        assert!(text(&headers, "x-service-catalog").is_some());
    }
    let fake = fake.lock().unwrap();
    assert_eq!((fake.logins, fake.validations), (1, 1));
    assert_eq!(fake.queries, [""]);
}

#[tokio::test]
async fn cache_hits_and_misses_are_counted_and_scraped() {
    let (fake, validator) = validator().await;
    let validator = Arc::new(validator);
    for token in [
        "reader-token",
        "bogus",
        "reader-token",
        "bogus",
        "reader-token",
    ] {
        let mut headers = request(&[("x-auth-token", token)]);
        run(&validator, &mut headers).await;
    }
    assert_eq!(fake.lock().unwrap().validations, 2);
    assert_eq!(
        validator.cache_counts(),
        TokenCacheCounts { hits: 3, misses: 2 }
    );
    let db = placement_store::testing::TestDb::sqlite().await;
    let metrics = crate::metrics::Metrics::new(
        db.database(),
        &crate::UrlPrefix::default(),
        Some(Arc::clone(&validator)),
    );
    let text = metrics.render(false).unwrap();
    for series in [
        "placement_keystone_token_cache_lookups_total{result=\"hit\"} 3",
        "placement_keystone_token_cache_lookups_total{result=\"miss\"} 2",
    ] {
        assert!(text.lines().any(|l| l == series), "{series} in\n{text}");
    }
}

#[tokio::test]
async fn no_token_or_an_unknown_one_is_rejected_and_rejections_are_remembered() {
    let (fake, validator) = validator().await;
    let mut headers = request(&[("x-identity-status", "Confirmed"), ("x-user-id", "u")]);
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Reject
    ));
    assert_eq!(fake.lock().unwrap().logins, 0, "nothing to ask keystone");
    for _ in 0..3 {
        let mut headers = request(&[("x-auth-token", "bogus")]);
        assert!(matches!(
            run(&validator, &mut headers).await,
            Decision::Reject
        ));
    }
    assert_eq!(fake.lock().unwrap().validations, 1);
    assert_eq!(
        validator.www_authenticate().unwrap(),
        "Keystone uri=\"http://public/v3\""
    );
}

#[tokio::test]
async fn keystone_errors_make_the_service_unavailable() {
    for status in [
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::FORBIDDEN,
        StatusCode::BAD_GATEWAY,
    ] {
        let (fake, validator) = validator().await;
        fake.lock().unwrap().fail_with = Some(status);
        let mut headers = request(&[("x-auth-token", "reader-token")]);
        let decision = run(&validator, &mut headers).await;
        assert!(
            matches!(decision, Decision::Unavailable(_)),
            "{status}: {decision:?}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_keystone_makes_the_service_unavailable_then_recovers() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);
    let validator = TokenValidator::new(settings(&format!("http://{closed}"))).unwrap();
    let mut headers = request(&[("x-auth-token", "reader-token")]);
    let decision = run(&validator, &mut headers).await;
    assert!(matches!(decision, Decision::Unavailable(_)), "{decision:?}");
    // Without www_authenticate_uri the undiscovered auth_url is named.
    let mut unset = settings(&format!("http://{closed}/v3"));
    unset.www_authenticate_uri = None;
    let validator = TokenValidator::new(unset).unwrap();
    assert_eq!(
        validator.www_authenticate().unwrap(),
        format!("Keystone uri=\"http://{closed}/v3\"").as_str()
    );
}

#[tokio::test]
async fn the_discovered_endpoint_names_itself_in_www_authenticate() {
    let (fake, url) = start_fake().await;
    let mut unset = settings(&url);
    unset.www_authenticate_uri = None;
    let validator = TokenValidator::new(unset).unwrap();
    assert_eq!(
        validator.www_authenticate().unwrap(),
        format!("Keystone uri=\"{url}\"").as_str()
    );
    let mut headers = request(&[("x-auth-token", "reader-token")]);
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Proceed
    ));
    let addr = fake.lock().unwrap().addr.unwrap();
    assert_eq!(
        validator.www_authenticate().unwrap(),
        format!("Keystone uri=\"http://{addr}/v3/\"").as_str()
    );
}

#[tokio::test]
async fn a_refused_service_token_is_renewed_once() {
    let (fake, validator) = validator().await;
    let mut headers = request(&[("x-auth-token", "reader-token")]);
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Proceed
    ));
    fake.lock().unwrap().reject_service_token_once = true;
    let mut headers = request(&[("x-auth-token", "admin-token")]);
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Proceed
    ));
    assert_eq!(fake.lock().unwrap().logins, 2);

    fake.lock().unwrap().reject_service_token = true;
    let mut headers = request(&[("x-auth-token", "member-token")]);
    let decision = run(&validator, &mut headers).await;
    assert!(matches!(decision, Decision::Unavailable(_)), "{decision:?}");
    assert_eq!(fake.lock().unwrap().logins, 3, "one renewal, then give up");
}

#[tokio::test]
async fn a_service_token_vouches_for_an_expired_user_token() {
    let (fake, validator) = validator().await;
    let mut headers = request(&[
        ("x-auth-token", "expired-token"),
        ("x-service-token", "nova-token"),
    ]);
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Proceed
    ));
    assert_eq!(text(&headers, "x-user-id"), Some("reader-id"));
    assert_eq!(text(&headers, "x-roles"), Some("reader"));
    assert_eq!(
        text(&headers, "x-service-identity-status"),
        Some("Confirmed")
    );
    assert_eq!(text(&headers, "x-service-user-id"), Some("nova-id"));
    assert_eq!(text(&headers, "x-service-roles"), Some("service"));
    assert!(fake
        .lock()
        .unwrap()
        .queries
        .contains(&"allow_expired".to_owned()));

    // Alone, the same (now cached) expired token is refused.
    let mut headers = request(&[("x-auth-token", "expired-token")]);
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Reject
    ));
}

#[tokio::test]
async fn an_expired_token_is_refused_and_does_not_block_a_vouched_retry() {
    let (_fake, validator) = validator().await;
    let mut headers = request(&[("x-auth-token", "expired-token")]);
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Reject
    ));
    let mut headers = request(&[
        ("x-auth-token", "expired-token"),
        ("x-service-token", "nova-token"),
    ]);
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Proceed
    ));
}

#[tokio::test]
async fn a_bad_or_roleless_service_token_rejects_a_good_user_token() {
    let (_fake, validator) = validator().await;
    for service in ["bogus", "reader-token"] {
        let mut headers = request(&[
            ("x-auth-token", "admin-token"),
            ("x-service-token", service),
        ]);
        assert!(
            matches!(run(&validator, &mut headers).await, Decision::Reject),
            "{service}"
        );
    }
}

#[tokio::test]
async fn a_roleless_service_token_is_tolerated_when_roles_are_not_required() {
    let (_fake, url) = start_fake().await;
    let mut lenient = settings(&url);
    lenient.service_token_roles_required = false;
    let validator = TokenValidator::new(lenient).unwrap();
    let mut headers = request(&[
        ("x-auth-token", "admin-token"),
        ("x-service-token", "reader-token"),
    ]);
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Proceed
    ));
    assert_eq!(text(&headers, "x-service-roles"), Some("reader"));
    // …but it cannot vouch for an expired token.
    let mut headers = request(&[
        ("x-auth-token", "expired-token"),
        ("x-service-token", "reader-token"),
    ]);
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Reject
    ));
}

#[tokio::test]
async fn delay_auth_decision_passes_invalid_identities_on() {
    let (fake, url) = start_fake().await;
    let mut delayed = settings(&url);
    delayed.delay_auth_decision = true;
    let validator = TokenValidator::new(delayed).unwrap();
    let mut headers = request(&[
        ("x-auth-token", "bogus"),
        ("openstack-system-scope", "all"),
        ("x-user-id", "mallory"),
    ]);
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Proceed
    ));
    assert_eq!(text(&headers, "x-identity-status"), Some("Invalid"));
    assert!(!headers.contains_key("x-user-id"));
    assert!(!headers.contains_key("openstack-system-scope"));

    fake.lock().unwrap().fail_with = Some(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = request(&[("x-auth-token", "admin-token")]);
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Proceed
    ));
    assert_eq!(text(&headers, "x-identity-status"), Some("Invalid"));
}

#[tokio::test]
async fn without_the_catalog_option_nocatalog_is_asked_and_no_header_set() {
    let (fake, url) = start_fake().await;
    let mut bare = settings(&url);
    bare.include_service_catalog = false;
    let validator = TokenValidator::new(bare).unwrap();
    let mut headers = request(&[
        ("x-auth-token", "reader-token"),
        ("x-service-catalog", "[]"),
    ]);
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Proceed
    ));
    assert!(!headers.contains_key("x-service-catalog"));
    assert_eq!(fake.lock().unwrap().queries, ["nocatalog"]);
}

#[tokio::test]
async fn concurrent_requests_share_one_login_and_one_validation_per_token() {
    let (fake, validator) = validator().await;
    fake.lock().unwrap().delay = Duration::from_millis(200);
    let validator = Arc::new(validator);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let validator = Arc::clone(&validator);
        let token = if i % 2 == 0 {
            "reader-token"
        } else {
            "admin-token"
        };
        tasks.push(tokio::spawn(async move {
            let mut headers = request(&[("x-auth-token", token)]);
            matches!(run(&validator, &mut headers).await, Decision::Proceed)
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap());
    }
    let fake = fake.lock().unwrap();
    assert_eq!(fake.logins, 1);
    assert_eq!(fake.validations, 2);
}

#[tokio::test]
async fn access_rules_need_service_type_and_a_matching_rule() {
    let (fake, url) = start_fake().await;
    let validator = TokenValidator::new(settings(&url)).unwrap();
    let addr = fake.lock().unwrap().addr.unwrap();
    let mut body = token_body(addr, "app", "demo", &["reader"], false);
    body["token"]["application_credential"] = serde_json::json!({"id": "a",
        "access_rules": [{"method": "GET", "path": "/resource_providers", "service": "placement"}]});
    body["token"]["catalog"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"type": "placement", "endpoints": []}));
    let data = Arc::new(token::TokenData::parse(body.to_string().as_bytes()).unwrap());
    let get = Method::GET;
    assert!(validator
        .check_access_rules(&data, &get, "/resource_providers", false)
        .is_err());
    let mut typed = settings(&url);
    typed.service_type = Some("placement".to_owned());
    let validator = TokenValidator::new(typed).unwrap();
    assert!(validator
        .check_access_rules(&data, &get, "/resource_providers", false)
        .is_ok());
    assert!(validator
        .check_access_rules(&data, &get, "/traits", false)
        .is_err());
    assert!(validator
        .check_access_rules(&data, &Method::POST, "/resource_providers", false)
        .is_err());
    assert!(validator
        .check_access_rules(&data, &get, "/traits", true)
        .is_ok());
}

/// Not a test of behaviour: prints what a cached-token check costs. Run
/// with `cargo test -p placement-http --release cached_token_cost --
/// --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn cached_token_cost() {
    let (_fake, validator) = validator().await;
    let token = "gAAAAABrETnunYPiruKS9qtKzZfoCpFWzQmxko1byR4r0WZSv5TfmGT0MteVoPScio-xa1W0-vpokXV8L4CojxSJBwHLNPOI1ganilanjE4ywSOjnZJ-GcfI3eNAzfaE-7PL5JXmHGANfk_8prxkXJmhRFHwnobrwQnx7LyBTbPlWYWObROFEK8";
    fake_token(&_fake, token);
    let template = request(&[
        ("x-auth-token", token),
        ("accept", "application/json"),
        ("openstack-api-version", "placement 1.39"),
        ("user-agent", "python-placementclient"),
    ]);
    let mut headers = template.clone();
    assert!(matches!(
        run(&validator, &mut headers).await,
        Decision::Proceed
    ));
    let rounds = 200_000;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        let mut headers = template.clone();
        let _ = run(&validator, &mut headers).await;
    }
    let per = started.elapsed() / rounds;
    println!("cached-token check: {per:?} per request (header clone included)");
}

fn fake_token(fake: &Shared, token: &str) {
    fake.lock()
        .unwrap()
        .tokens
        .insert(token.to_owned(), ("reader", "demo", vec!["reader"], false));
}
