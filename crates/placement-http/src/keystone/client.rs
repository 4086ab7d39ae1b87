//! Talking to Keystone: the service user's login, version discovery and
//! token validation, as keystoneauth's session and password plugin and
//! keystoneclient's `tokens.validate` do it on keystonemiddleware's behalf.
//!
//! - The service user logs in lazily, on the first token to validate, so
//!   placement starts while Keystone is down. Its token is kept with its
//!   expiry and renewed when less than keystoneauth's two minutes remain
//!   (or half its lifetime, for very short-lived tokens). Logins are
//!   single-flight: one login runs at a time and callers that waited for it
//!   share its outcome, failure included, so a down Keystone is not hit by
//!   one login per waiting request.
//! - `auth_url` is discovered once (`GET auth_url`); a versioned `auth_url`
//!   is used as is when discovery fails.
//! - Tokens are validated at the identity endpoint of the service user's
//!   catalog for `interface` and `region_name`, else at the discovered
//!   `auth_url` endpoint.
//! - Connection failures and timeouts are retried
//!   `http_request_max_retries` times with keystoneauth's backoff (0.5 s,
//!   doubling, at most 60 s). A 401 to the service token renews it once.
//!
//! Tokens never appear in logs or errors; requests carry them in headers
//! only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::{Mutex, OnceCell};

use super::endpoint::v3_from_discovery;
use super::endpoint::{identity_endpoint, is_v3_url, normalize_interface, tokens_url};
use super::settings::{KeystoneSettings, PasswordCredentials, ServiceScope};
use super::token::TokenData;
use super::KeystoneSetupError;

const X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
const X_SUBJECT_TOKEN: HeaderName = HeaderName::from_static("x-subject-token");
const ACCESS_RULES: HeaderName = HeaderName::from_static("openstack-identity-access-rules");

/// keystoneauth renews a token this long before it expires.
const MIN_TOKEN_LIFE: Duration = Duration::from_secs(120);

/// The longest wait between two connection attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

/// Keystone could not answer the question: unreachable, timing out, an
/// error status, or refusing the service user. Requests get a 503.
#[derive(Debug, Clone, thiserror::Error)]
#[error("keystone unavailable: {0}")]
pub(crate) struct Unavailable(pub(crate) String);

/// What Keystone said about a user or service token.
#[derive(Debug)]
pub(crate) enum Validation {
    /// 200: the token and what it grants.
    Valid(Box<TokenData>),
    /// 404: unknown, expired or revoked.
    NotFound,
    /// 200 with an answer that cannot be read: the token is not accepted.
    Unreadable(String),
}

/// The service user's current token.
struct ServiceAuth {
    token: HeaderValue,
    expires_at: DateTime<Utc>,
    renew_at: DateTime<Utc>,
    /// `…/v3/auth/tokens` where user tokens are validated.
    validate_url: String,
}

#[derive(Default)]
struct ServiceState {
    current: Option<Arc<ServiceAuth>>,
    /// When the last login failed, and why: callers that were already
    /// waiting share that answer instead of trying again.
    last_failure: Option<(Instant, Unavailable)>,
}

/// See the module docs.
pub(crate) struct IdentityClient {
    http: reqwest::Client,
    auth_url: String,
    /// The login request body; holds the password, so never logged.
    login_body: Vec<u8>,
    interface: String,
    region_name: Option<String>,
    retries: u32,
    include_catalog: bool,
    /// `auth_url`'s v3 endpoint, once discovered.
    auth_v3: OnceCell<String>,
    service: Mutex<ServiceState>,
}

impl std::fmt::Debug for IdentityClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityClient")
            .field("auth_url", &self.auth_url)
            .field("interface", &self.interface)
            .field("region_name", &self.region_name)
            .finish_non_exhaustive()
    }
}

impl IdentityClient {
    /// Builds the HTTP client (reading the TLS files) and the login body.
    pub(crate) fn new(settings: &KeystoneSettings) -> Result<Self, KeystoneSetupError> {
        Ok(Self {
            http: http_client(settings)?,
            auth_url: settings.auth_url.trim().to_owned(),
            login_body: login_body(&settings.credentials, &settings.scope),
            interface: normalize_interface(&settings.interface),
            region_name: settings.region_name.clone(),
            retries: settings.http_request_max_retries,
            include_catalog: settings.include_service_catalog,
            auth_v3: OnceCell::new(),
            service: Mutex::new(ServiceState::default()),
        })
    }

    /// The identity endpoint `auth_url` leads to, for `WWW-Authenticate`
    /// when `www_authenticate_uri` is unset: `auth_url` itself when it is
    /// versioned, else its discovered v3 endpoint, else (not discovered yet)
    /// `auth_url` (keystoneauth answers so in each case).
    pub(crate) fn auth_identity_uri(&self) -> &str {
        if is_v3_url(&self.auth_url) {
            return &self.auth_url;
        }
        self.auth_v3.get().map_or(&self.auth_url, String::as_str)
    }

    /// Asks Keystone about `token` (`GET /v3/auth/tokens`).
    pub(crate) async fn validate(
        &self,
        token: &str,
        allow_expired: bool,
    ) -> Result<Validation, Unavailable> {
        let subject = HeaderValue::from_str(token)
            .map_err(|_| ())
            .map(|mut value| {
                value.set_sensitive(true);
                value
            });
        let Ok(subject) = subject else {
            // Keystone could not have issued it; it cannot be sent anyway.
            return Ok(Validation::NotFound);
        };
        let mut query = Vec::new();
        if !self.include_catalog {
            query.push("nocatalog");
        }
        if allow_expired {
            query.push("allow_expired=1");
        }
        let mut renewed = false;
        loop {
            let auth = self.service_auth().await?;
            let url = if query.is_empty() {
                auth.validate_url.clone()
            } else {
                format!("{}?{}", auth.validate_url, query.join("&"))
            };
            let response = self
                .send("token validation", || {
                    self.http
                        .get(&url)
                        .header(ACCEPT, "application/json")
                        .header(X_AUTH_TOKEN, auth.token.clone())
                        .header(X_SUBJECT_TOKEN, subject.clone())
                        .header(ACCESS_RULES, "1")
                })
                .await?;
            let status = response.status();
            match status {
                StatusCode::OK => {
                    let body = read_body(response).await?;
                    return Ok(match TokenData::parse(&body) {
                        Ok(data) => Validation::Valid(Box::new(data)),
                        Err(error) => Validation::Unreadable(error.to_string()),
                    });
                }
                StatusCode::NOT_FOUND => return Ok(Validation::NotFound),
                StatusCode::UNAUTHORIZED if !renewed => {
                    tracing::info!("identity server rejected the service token; logging in again");
                    self.forget(&auth).await;
                    renewed = true;
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(Unavailable(
                        "identity server rejected authorization necessary to fetch token data"
                            .to_owned(),
                    ))
                }
                other => {
                    return Err(Unavailable(format!(
                        "bad response code while validating token: {other}"
                    )))
                }
            }
        }
    }

    /// The service user's token, logging in when there is none or it is
    /// about to expire.
    async fn service_auth(&self) -> Result<Arc<ServiceAuth>, Unavailable> {
        let asked = Instant::now();
        let mut state = self.service.lock().await;
        let now = Utc::now();
        if let Some(current) = state.current.as_ref().filter(|auth| now < auth.renew_at) {
            return Ok(Arc::clone(current));
        }
        if let Some((failed, error)) = &state.last_failure {
            if *failed >= asked {
                return Err(error.clone());
            }
        }
        match self.login().await {
            Ok(auth) => {
                state.last_failure = None;
                let auth = Arc::new(auth);
                state.current = Some(Arc::clone(&auth));
                Ok(auth)
            }
            Err(error) => {
                state.last_failure = Some((Instant::now(), error.clone()));
                // A renewal that failed while the old token still works
                // keeps the service going on the old token.
                if let Some(current) = state
                    .current
                    .as_ref()
                    .filter(|auth| now + chrono::Duration::seconds(5) < auth.expires_at)
                {
                    tracing::warn!(%error, "renewing the service token failed; using the current one");
                    return Ok(Arc::clone(current));
                }
                state.current = None;
                Err(error)
            }
        }
    }

    /// Drops `stale` (if still current) so that the next caller logs in.
    async fn forget(&self, stale: &Arc<ServiceAuth>) {
        let mut state = self.service.lock().await;
        if state
            .current
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, stale))
        {
            state.current = None;
        }
    }

    /// keystoneauth's password plugin: `POST {v3}/auth/tokens`.
    async fn login(&self) -> Result<ServiceAuth, Unavailable> {
        let v3 = self.auth_v3().await?;
        let url = tokens_url(&v3);
        let response = self
            .send("service user login", || {
                self.http
                    .post(&url)
                    .header(ACCEPT, "application/json")
                    .header(CONTENT_TYPE, "application/json")
                    .body(self.login_body.clone())
            })
            .await?;
        let status = response.status();
        if !status.is_success() {
            return Err(Unavailable(format!(
                "the service user could not log in at {url}: {status}"
            )));
        }
        let Some(mut token) = response.headers().get(X_SUBJECT_TOKEN).cloned() else {
            return Err(Unavailable(format!(
                "the login at {url} answered without X-Subject-Token"
            )));
        };
        token.set_sensitive(true);
        let body = read_body(response).await?;
        let data = TokenData::parse(&body)
            .map_err(|error| Unavailable(format!("the login at {url} answered: {error}")))?;
        let validate_base = match data.catalog.as_deref().and_then(|catalog| {
            identity_endpoint(catalog, &self.interface, self.region_name.as_deref())
        }) {
            Some(url) => {
                tracing::info!(
                    endpoint = url,
                    interface = %self.interface,
                    region = self.region_name.as_deref().unwrap_or("(any)"),
                    "validating tokens at the identity endpoint of the service catalog"
                );
                self.versioned(url).await
            }
            None => {
                tracing::warn!(
                    endpoint = %v3,
                    interface = %self.interface,
                    region = self.region_name.as_deref().unwrap_or("(any)"),
                    "the service catalog has no identity endpoint for this interface and region; \
                     validating tokens at auth_url"
                );
                v3
            }
        };
        let lifetime = data
            .issued_at
            .map(|issued| data.expires_at - issued)
            .unwrap_or_else(|| chrono::Duration::seconds(2 * MIN_TOKEN_LIFE.as_secs() as i64));
        let margin = lifetime
            .checked_div(2)
            .unwrap_or_default()
            .min(chrono::Duration::seconds(MIN_TOKEN_LIFE.as_secs() as i64))
            .max(chrono::Duration::zero());
        Ok(ServiceAuth {
            token,
            expires_at: data.expires_at,
            renew_at: data.expires_at - margin,
            validate_url: tokens_url(&validate_base),
        })
    }

    /// `auth_url`'s v3 endpoint, discovered once. A versioned `auth_url`
    /// whose discovery document is unusable is taken as is; when Keystone
    /// cannot be reached nothing is cached, so the next login asks again.
    async fn auth_v3(&self) -> Result<String, Unavailable> {
        self.auth_v3
            .get_or_try_init(|| async {
                match self.discover(&self.auth_url).await? {
                    Some(v3) => Ok(v3),
                    None if is_v3_url(&self.auth_url) => {
                        tracing::warn!(
                            auth_url = %self.auth_url,
                            "version discovery found no v3 API; using auth_url as given"
                        );
                        Ok(self.auth_url.clone())
                    }
                    None => Err(Unavailable(format!(
                        "no identity v3 API found at {}",
                        self.auth_url
                    ))),
                }
            })
            .await
            .cloned()
    }

    /// A catalog URL made into a v3 endpoint: as is when versioned, else
    /// discovered there, else with `/v3` appended.
    async fn versioned(&self, url: &str) -> String {
        if is_v3_url(url) {
            return url.to_owned();
        }
        match self.discover(url).await {
            Ok(Some(v3)) => v3,
            _ => format!("{}/v3", url.trim_end_matches('/')),
        }
    }

    /// `GET url` and the v3 endpoint the version document offers there.
    async fn discover(&self, url: &str) -> Result<Option<String>, Unavailable> {
        let response = self
            .send("version discovery", || {
                self.http.get(url).header(ACCEPT, "application/json")
            })
            .await?;
        let status = response.status();
        if !(status.is_success() || status == StatusCode::MULTIPLE_CHOICES) {
            tracing::warn!(url, %status, "version discovery answered with an error");
            return Ok(None);
        }
        let body = read_body(response).await?;
        Ok(v3_from_discovery(&body))
    }

    /// Sends a request, retrying connection failures and timeouts.
    async fn send(
        &self,
        what: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Unavailable> {
        let mut delay = Duration::from_millis(500);
        let mut retries_left = self.retries;
        loop {
            match request().send().await {
                Ok(response) => return Ok(response),
                Err(error) if (error.is_connect() || error.is_timeout()) && retries_left > 0 => {
                    tracing::warn!(
                        what,
                        error = %error_chain(&error),
                        retries_left,
                        delay_ms = delay.as_millis() as u64,
                        "keystone request failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                    retries_left -= 1;
                }
                Err(error) => {
                    return Err(Unavailable(format!(
                        "{what} failed: {}",
                        error_chain(&error)
                    )))
                }
            }
        }
    }
}

async fn read_body(response: reqwest::Response) -> Result<bytes::Bytes, Unavailable> {
    response.bytes().await.map_err(|error| {
        Unavailable(format!(
            "reading keystone's answer failed: {}",
            error_chain(&error)
        ))
    })
}

/// An error with its causes, which is where reqwest says what went wrong.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The reqwest client keystoneauth's session options describe.
fn http_client(settings: &KeystoneSettings) -> Result<reqwest::Client, KeystoneSetupError> {
    let tls = &settings.tls;
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(concat!("placement-rs/", env!("CARGO_PKG_VERSION")))
        .danger_accept_invalid_certs(tls.insecure);
    if let Some(timeout) = settings.http_connect_timeout {
        builder = builder.connect_timeout(timeout).read_timeout(timeout);
    }
    if let Some(cafile) = &tls.cafile {
        let pem = read(cafile)?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| {
            KeystoneSetupError::Pem {
                path: cafile.clone(),
                source,
            }
        })?;
        if roots.is_empty() {
            return Err(KeystoneSetupError::NoCertificate(cafile.clone()));
        }
        // As requests' `verify=<cafile>`: only these roots are trusted.
        builder = builder.tls_built_in_root_certs(false);
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
    }
    if let Some(certfile) = &tls.certfile {
        let mut pem = read(certfile)?;
        if let Some(keyfile) = &tls.keyfile {
            pem.push(b'\n');
            pem.extend(read(keyfile)?);
        }
        let identity =
            reqwest::Identity::from_pem(&pem).map_err(|source| KeystoneSetupError::Pem {
                path: certfile.clone(),
                source,
            })?;
        builder = builder.identity(identity);
    }
    builder.build().map_err(KeystoneSetupError::Client)
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, KeystoneSetupError> {
    std::fs::read(path).map_err(|source| KeystoneSetupError::Read {
        path: path.to_owned(),
        source,
    })
}

/// keystoneauth's v3 password plugin request body.
fn login_body(credentials: &PasswordCredentials, scope: &ServiceScope) -> Vec<u8> {
    let mut user = serde_json::Map::new();
    if let Some(id) = &credentials.user_id {
        user.insert("id".into(), json!(id));
    } else if let Some(name) = &credentials.username {
        user.insert("name".into(), json!(name));
    }
    if credentials.user_id.is_none() {
        if let Some(domain) = domain(&credentials.user_domain_id, &credentials.user_domain_name) {
            user.insert("domain".into(), domain);
        }
    }
    user.insert("password".into(), json!(credentials.password));
    let mut auth = json!({
        "identity": {"methods": ["password"], "password": {"user": user}},
    });
    let scope = match scope {
        ServiceScope::System(system) if system == "all" => Some(json!({"system": {"all": true}})),
        ServiceScope::System(system) => Some(json!({"system": {system: true}})),
        ServiceScope::Project { id: Some(id), .. } => Some(json!({"project": {"id": id}})),
        ServiceScope::Project {
            name: Some(name),
            domain_id,
            domain_name,
            ..
        } => {
            let mut project = serde_json::Map::new();
            project.insert("name".into(), json!(name));
            if let Some(domain) = domain(domain_id, domain_name) {
                project.insert("domain".into(), domain);
            }
            Some(json!({ "project": project }))
        }
        ServiceScope::Project { .. } | ServiceScope::Unscoped => None,
    };
    if let (Some(scope), Some(auth)) = (scope, auth.as_object_mut()) {
        auth.insert("scope".into(), scope);
    }
    serde_json::to_vec(&json!({ "auth": auth })).unwrap_or_default()
}

fn domain(id: &Option<String>, name: &Option<String>) -> Option<serde_json::Value> {
    match (id, name) {
        (Some(id), _) => Some(json!({ "id": id })),
        (None, Some(name)) => Some(json!({ "name": name })),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> PasswordCredentials {
        PasswordCredentials {
            username: Some("placement".to_owned()),
            user_domain_name: Some("Default".to_owned()),
            password: "secret".to_owned(),
            ..PasswordCredentials::default()
        }
    }

    fn body(scope: &ServiceScope, credentials: &PasswordCredentials) -> serde_json::Value {
        serde_json::from_slice(&login_body(credentials, scope)).unwrap()
    }

    #[test]
    fn the_login_is_project_scoped_by_name_and_domain() {
        let scope = ServiceScope::Project {
            id: None,
            name: Some("service".to_owned()),
            domain_id: None,
            domain_name: Some("Default".to_owned()),
        };
        assert_eq!(
            body(&scope, &credentials()),
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "placement", "domain": {"name": "Default"}, "password": "secret"}}},
                "scope": {"project": {"name": "service", "domain": {"name": "Default"}}}}})
        );
    }

    #[test]
    fn ids_win_over_names_and_system_scope_is_all() {
        let credentials = PasswordCredentials {
            user_id: Some("u1".to_owned()),
            ..credentials()
        };
        let project = ServiceScope::Project {
            id: Some("p1".to_owned()),
            name: Some("ignored".to_owned()),
            domain_id: Some("d".to_owned()),
            domain_name: None,
        };
        let login = body(&project, &credentials);
        assert_eq!(
            login["auth"]["identity"]["password"]["user"],
            json!({"id": "u1", "password": "secret"})
        );
        assert_eq!(login["auth"]["scope"], json!({"project": {"id": "p1"}}));
        let system = body(&ServiceScope::System("all".to_owned()), &credentials);
        assert_eq!(system["auth"]["scope"], json!({"system": {"all": true}}));
        let unscoped = body(&ServiceScope::Unscoped, &credentials);
        assert!(unscoped["auth"].get("scope").is_none());
    }
}
