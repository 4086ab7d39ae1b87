//! `auth_strategy = keystone` against a real Keystone 30.0.0: placement-api
//! processes validating real tokens, as keystonemiddleware does for
//! upstream.
//!
//! These run when `PLACEMENT_TEST_KEYSTONE_DIR` names a directory prepared
//! by `tools/keystone.sh setup DIR` (`scripts/test --all-backends` does
//! that); without it each test prints a notice and passes. When it is set,
//! anything unusable fails loudly.
//!
//! One Keystone instance is shared by every test (started once, stopped
//! when the test process exits: its watcher script stops it when its
//! standard input closes). Tokens take ~0.6 s each to issue (bcrypt), so
//! one token per identity is issued and reused; tests that spend a token
//! (revocation) issue their own. A second instance issues 3-second tokens
//! for the expiry tests, a third is stopped and restarted by the outage
//! test. All instances share the database and keys, so any token is valid
//! on every instance.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{free_port, tmpdir, Server};

/// Names a directory set up by `tools/keystone.sh setup`.
const DIR_ENV: &str = "PLACEMENT_TEST_KEYSTONE_DIR";

/// keystonemiddleware's 401 body, byte for byte.
const KEYSTONE_401: &str = "{\"error\": {\"code\": 401, \"title\": \"Unauthorized\", \"message\": \
     \"The request you have made requires authentication.\"}}";

/// keystonemiddleware's 503 as webob renders it for placement's JSON
/// `Accept` default, and as plain text.
const KEYSTONE_503_JSON: &str = "{\"message\": \"The server is currently unavailable. Please try \
     again at a later time.<br /><br />\\nThe Keystone service is temporarily unavailable.\\n\\n\", \
     \"code\": \"503 Service Unavailable\", \"title\": \"Service Unavailable\"}";
const KEYSTONE_503_TEXT: &str = "503 Service Unavailable\n\nThe server is currently unavailable. \
     Please try again at a later time.\n\n The Keystone service is temporarily unavailable.  ";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/keystone.sh")
}

/// The set-up directory and its identities, or `None` (with a notice) when
/// the tests are not asked for.
fn setup() -> Option<&'static Setup> {
    static SETUP: OnceLock<Option<Setup>> = OnceLock::new();
    let setup = SETUP.get_or_init(|| {
        let dir = std::env::var_os(DIR_ENV)?;
        let dir = std::fs::canonicalize(&dir)
            .unwrap_or_else(|e| panic!("{DIR_ENV}={}: {e}", Path::new(&dir).display()));
        let env = std::fs::read_to_string(dir.join("identities.env")).unwrap_or_else(|e| {
            panic!(
                "{DIR_ENV}={}: no identities.env ({e}); run tools/keystone.sh setup {0}",
                dir.display()
            )
        });
        let identities = env
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Some(Setup { dir, identities })
    });
    if setup.is_none() {
        eprintln!("skipping keystone test: {DIR_ENV} is not set (see tools/keystone.sh)");
    }
    setup.as_ref()
}

struct Setup {
    dir: PathBuf,
    identities: HashMap<String, String>,
}

impl Setup {
    fn get(&self, key: &str) -> &str {
        self.identities
            .get(key)
            .unwrap_or_else(|| panic!("identities.env has no {key}"))
    }
}

/// A Keystone instance run by `tools/keystone.sh serve … --watch-stdin`;
/// it stops when its stdin closes: when this is dropped, or when the test
/// process exits.
struct Keystone {
    port: u16,
    watcher: Child,
    stdin: Option<ChildStdin>,
}

impl Keystone {
    fn start(setup: &Setup, port: u16, expiration: Option<u32>) -> Keystone {
        let log_path = std::env::temp_dir().join(format!("keystone-serve-{port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = Command::new("bash");
        command
            .arg(script())
            .args(["serve", setup.dir.to_str().unwrap(), &port.to_string()])
            .arg("--watch-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log);
        if let Some(seconds) = expiration {
            command.args(["--expiration", &seconds.to_string()]);
        }
        let mut watcher = command.spawn().expect("cannot run tools/keystone.sh");
        let stdout = watcher.stdout.take().unwrap();
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("ready ") {
                    let _ = ready_tx.send(());
                }
            }
        });
        if ready_rx.recv_timeout(Duration::from_secs(120)).is_err() {
            let _ = watcher.kill();
            panic!(
                "keystone on port {port} did not start: {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        let stdin = watcher.stdin.take();
        Keystone {
            port,
            watcher,
            stdin,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Closes the watcher's stdin and waits until it has stopped Keystone.
    fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        drop(self.stdin.take());
        let _ = self.watcher.wait();
    }
}

impl Drop for Keystone {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// The instance most tests share.
fn main_keystone(setup: &'static Setup) -> &'static Keystone {
    static MAIN: OnceLock<Keystone> = OnceLock::new();
    MAIN.get_or_init(|| Keystone::start(setup, free_port(), None))
}

/// An instance whose tokens expire 3 s after issue.
fn short_keystone(setup: &'static Setup) -> &'static Keystone {
    static SHORT: OnceLock<Keystone> = OnceLock::new();
    SHORT.get_or_init(|| Keystone::start(setup, free_port(), Some(3)))
}

/// Who a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    /// `admin` on project `admin` (admin, manager, member, reader).
    Admin,
    /// `admin` scoped to the system.
    SystemAdmin,
    /// `placement`: service and admin on `service`.
    Placement,
    /// `demo-service`: service on `service`, no admin.
    DemoService,
    /// `demo-reader`: reader on `demo`.
    Reader,
    /// `demo-member`: member (and so reader) on `demo`.
    Member,
}

async fn issue_token(setup: &Setup, keystone: &Keystone, who: Who) -> String {
    let (user, password, scope) = match who {
        Who::Admin => ("admin", "ADMIN_PASSWORD", Some("admin")),
        Who::SystemAdmin => ("admin", "ADMIN_PASSWORD", None),
        Who::Placement => ("placement", "PLACEMENT_PASSWORD", Some("service")),
        Who::DemoService => ("demo-service", "DEMO_SERVICE_PASSWORD", Some("service")),
        Who::Reader => ("demo-reader", "DEMO_READER_PASSWORD", Some("demo")),
        Who::Member => ("demo-member", "DEMO_MEMBER_PASSWORD", Some("demo")),
    };
    let scope = match scope {
        Some(project) => json!({"project": {"name": project, "domain": {"name": "Default"}}}),
        None => json!({"system": {"all": true}}),
    };
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": setup.get(password)}}},
        "scope": scope}});
    let response = reqwest::Client::new()
        .post(format!("{}/v3/auth/tokens", keystone.url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "token for {who:?}");
    response.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// One token per identity from the main instance, issued once.
async fn token(setup: &'static Setup, who: Who) -> String {
    static TOKENS: tokio::sync::Mutex<Option<HashMap<Who, String>>> =
        tokio::sync::Mutex::const_new(None);
    let mut tokens = TOKENS.lock().await;
    let tokens = tokens.get_or_insert_with(HashMap::new);
    if let Some(token) = tokens.get(&who) {
        return token.clone();
    }
    let keystone = main_keystone(setup);
    let token = issue_token(setup, keystone, who).await;
    tokens.insert(who, token.clone());
    token
}

/// A placement-api with `auth_strategy = keystone` validating at
/// `keystone`, with `extra` lines appended to `[keystone_authtoken]`.
async fn placement(setup: &Setup, keystone: &Keystone, extra: &str) -> Server {
    let dir = tmpdir();
    let conf = dir.join("placement.conf");
    std::fs::write(
        &conf,
        format!(
            "[DEFAULT]\ndebug = True\n[api]\nauth_strategy = keystone\n\
             [placement_database]\nconnection = sqlite:///placement.sqlite\nsync_on_startup = True\n\
             [keystone_authtoken]\nauth_type = password\nauth_url = {url}/v3\n\
             username = placement\npassword = {password}\nproject_name = service\n\
             user_domain_name = Default\nproject_domain_name = Default\n\
             region_name = port-{port}\nwww_authenticate_uri = {url}/v3\n\
             http_request_max_retries = 0\nhttp_connect_timeout = 5\n{extra}\n",
            url = keystone.url(),
            port = keystone.port,
            password = setup.get("PLACEMENT_PASSWORD"),
        ),
    )
    .unwrap();
    Server::start(&["--config-file", conf.to_str().unwrap()], &dir).await
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

async fn call(server: &Server, method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", server.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(server: &Server, path: &str, token: &str) -> Answer {
    call(server, Method::GET, path, &[("x-auth-token", token)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_a_bogus_one_is_keystonemiddlewares_401() {
    let Some(setup) = setup() else { return };
    let keystone = main_keystone(setup);
    let server = placement(setup, keystone, "").await;
    for headers in [
        vec![],
        vec![("x-auth-token", "bogus")],
        vec![("x-auth-token", "gAAAAABnotafernettoken")],
    ] {
        let answer = call(&server, Method::GET, "/resource_providers", &headers).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(answer.body, KEYSTONE_401);
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert_eq!(
            answer.header("www-authenticate"),
            Some(format!("Keystone uri=\"{}/v3\"", keystone.url()).as_str())
        );
        assert_eq!(answer.header("openstack-api-version"), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_needs_no_token_and_ignores_a_bogus_one() {
    let Some(setup) = setup() else { return };
    let server = placement(setup, main_keystone(setup), "").await;
    let answer = call(&server, Method::GET, "/", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = call(&server, Method::GET, "/", &[("x-auth-token", "bogus")]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains("\"max_version\""), "{}", answer.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_and_service_tokens_list_providers_readers_and_members_may_not() {
    let Some(setup) = setup() else { return };
    let server = placement(setup, main_keystone(setup), "").await;
    for who in [Who::Admin, Who::Placement, Who::DemoService] {
        let answer = get(&server, "/resource_providers", &token(setup, who).await).await;
        assert_eq!(answer.status, StatusCode::OK, "{who:?}: {}", answer.body);
        assert_eq!(answer.body, "{\"resource_providers\": []}");
    }
    for who in [Who::Reader, Who::Member, Who::SystemAdmin] {
        let answer = get(&server, "/resource_providers", &token(setup, who).await).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{who:?}: {}",
            answer.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_sees_the_usages_of_its_own_project_only() {
    let Some(setup) = setup() else { return };
    let server = placement(setup, main_keystone(setup), "").await;
    let reader = token(setup, Who::Reader).await;
    let own = format!("/usages?project_id={}", setup.get("DEMO_PROJECT_ID"));
    let other = format!("/usages?project_id={}", setup.get("SERVICE_PROJECT_ID"));
    let version = ("openstack-api-version", "placement 1.9");
    let answer = call(
        &server,
        Method::GET,
        &own,
        &[("x-auth-token", &reader), version],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, "{\"usages\": {}}");
    let answer = call(
        &server,
        Method::GET,
        &other,
        &[("x-auth-token", &reader), version],
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_identity_headers_do_not_raise_a_reader() {
    let Some(setup) = setup() else { return };
    let server = placement(setup, main_keystone(setup), "").await;
    let reader = token(setup, Who::Reader).await;
    let service_project = setup.get("SERVICE_PROJECT_ID");
    let spoofed = [
        ("x-auth-token", reader.as_str()),
        ("x-identity-status", "Confirmed"),
        ("x-roles", "admin,service"),
        ("x-role", "admin"),
        ("x-project-id", service_project),
        ("x-tenant-id", service_project),
        ("x-user-id", "admin"),
        ("openstack-system-scope", "all"),
        ("x-is-admin-project", "True"),
        ("x-service-roles", "service"),
        ("x-service-identity-status", "Confirmed"),
        ("openstack-api-version", "placement 1.9"),
    ];
    let answer = call(&server, Method::GET, "/resource_providers", &spoofed).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    let answer = call(
        &server,
        Method::GET,
        &format!("/usages?project_id={service_project}"),
        &spoofed,
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    // Without a token the same headers are simply refused.
    let answer = call(&server, Method::GET, "/resource_providers", &spoofed[1..]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused_unless_a_service_token_vouches_for_it() {
    let Some(setup) = setup() else { return };
    let server = placement(setup, main_keystone(setup), "").await;
    let short = short_keystone(setup);
    let reader = issue_token(setup, short, Who::Reader).await;
    let admin = issue_token(setup, short, Who::Admin).await;
    tokio::time::sleep(Duration::from_secs(4)).await;

    let answer = get(&server, "/resource_providers", &admin).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(answer.body, KEYSTONE_401);

    let service = token(setup, Who::Placement).await;
    let answer = call(
        &server,
        Method::GET,
        "/resource_providers",
        &[("x-auth-token", &admin), ("x-service-token", &service)],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    // The identity is the user's: the reader's own project, not the
    // service's.
    let version = ("openstack-api-version", "placement 1.9");
    for (project, expected) in [
        ("DEMO_PROJECT_ID", StatusCode::OK),
        ("SERVICE_PROJECT_ID", StatusCode::FORBIDDEN),
    ] {
        let answer = call(
            &server,
            Method::GET,
            &format!("/usages?project_id={}", setup.get(project)),
            &[
                ("x-auth-token", &reader),
                ("x-service-token", &service),
                version,
            ],
        )
        .await;
        assert_eq!(answer.status, expected, "{project}: {}", answer.body);
    }
    // Once cached, the expired token alone is still refused.
    let answer = get(&server, "/resource_providers", &admin).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_or_roleless_service_token_refuses_a_good_user_token() {
    let Some(setup) = setup() else { return };
    let server = placement(setup, main_keystone(setup), "").await;
    let admin = token(setup, Who::Admin).await;
    let reader = token(setup, Who::Reader).await;
    for service in ["bogus", reader.as_str()] {
        let answer = call(
            &server,
            Method::GET,
            "/resource_providers",
            &[("x-auth-token", &admin), ("x-service-token", service)],
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
        assert_eq!(answer.body, KEYSTONE_401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_works_until_its_validation_ages_out_of_the_cache() {
    let Some(setup) = setup() else { return };
    let keystone = main_keystone(setup);
    // Unversioned auth_url, public interface, no www_authenticate_uri.
    let server = placement(
        setup,
        keystone,
        &format!(
            "token_cache_time = 2\ninterface = public\nauth_url = {}\nwww_authenticate_uri =",
            keystone.url()
        ),
    )
    .await;
    let doomed = issue_token(setup, keystone, Who::Admin).await;
    let answer = get(&server, "/resource_providers", &doomed).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    let revoked = reqwest::Client::new()
        .delete(format!("{}/v3/auth/tokens", keystone.url()))
        .header("x-auth-token", token(setup, Who::Admin).await)
        .header("x-subject-token", &doomed)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);

    let answer = get(&server, "/resource_providers", &doomed).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "still cached: {}",
        answer.body
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let answer = get(&server, "/resource_providers", &doomed).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    // Discovery has run: 401s name the v3 endpoint Keystone announced.
    assert_eq!(
        answer.header("www-authenticate"),
        Some(format!("Keystone uri=\"{}/v3/\"", keystone.url()).as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_endpoint_missing_from_the_catalog_falls_back_to_auth_url() {
    let Some(setup) = setup() else { return };
    let server = placement(setup, main_keystone(setup), "region_name = nowhere").await;
    let answer = get(
        &server,
        "/resource_providers",
        &token(setup, Who::Admin).await,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        server.log().contains("validating tokens at auth_url"),
        "{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_delay_auth_decision_placement_refuses_the_invalid_identity_itself() {
    let Some(setup) = setup() else { return };
    let keystone = main_keystone(setup);
    let server = placement(setup, keystone, "delay_auth_decision = true").await;
    let answer = call(
        &server,
        Method::GET,
        "/resource_providers",
        &[
            ("x-auth-token", "bogus"),
            ("x-user-id", "admin"),
            ("x-roles", "admin"),
            ("openstack-system-scope", "all"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert!(
        answer
            .body
            .starts_with("{\"message\": \"This server could not verify"),
        "{}",
        answer.body
    );
    assert_eq!(
        answer.header("www-authenticate"),
        Some(format!("Keystone uri=\"{}/v3\"", keystone.url()).as_str())
    );
    let answer = get(
        &server,
        "/resource_providers",
        &token(setup, Who::Admin).await,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_down_is_503_and_placement_recovers_when_it_returns() {
    let Some(setup) = setup() else { return };
    let port = free_port();
    let keystone = Keystone::start(setup, port, None);
    let server = placement(setup, &keystone, "").await;
    let admin = token(setup, Who::Admin).await;
    let answer = get(&server, "/resource_providers", &admin).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    keystone.stop();
    let service = token(setup, Who::DemoService).await;
    let answer = get(&server, "/resource_providers", &service).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.body, KEYSTONE_503_JSON);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let answer = call(
        &server,
        Method::GET,
        "/resource_providers",
        &[("x-auth-token", &service), ("accept", "text/plain")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.body, KEYSTONE_503_TEXT);
    // A validation still cached needs no Keystone.
    let answer = get(&server, "/resource_providers", &admin).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    let keystone = Keystone::start(setup, port, None);
    let answer = get(&server, "/resource_providers", &service).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    drop(keystone);
}
