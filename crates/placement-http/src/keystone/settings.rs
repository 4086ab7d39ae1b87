//! What the token validator is configured with: the HTTP layer's view of
//! `[keystone_authtoken]`, already checked by the binary.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The service user's identity for keystoneauth's `password` plugin: who
/// placement is when it asks Keystone about other people's tokens.
#[derive(Clone, Default)]
pub struct PasswordCredentials {
    /// `user_id`; wins over `username` when both are set, as in keystoneauth.
    pub user_id: Option<String>,
    /// `username`, which needs a user domain.
    pub username: Option<String>,
    /// `user_domain_id`.
    pub user_domain_id: Option<String>,
    /// `user_domain_name`.
    pub user_domain_name: Option<String>,
    /// `password`; never shown by `Debug`.
    pub password: String,
}

impl fmt::Debug for PasswordCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordCredentials")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .field("user_domain_id", &self.user_domain_id)
            .field("user_domain_name", &self.user_domain_name)
            .field("password", &"***")
            .finish()
    }
}

/// What the service user's own token is scoped to. Keystone's
/// `identity:validate_token` allows a project-scoped `service` or `admin`
/// role, or a system reader, so an unscoped token is useless in practice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ServiceScope {
    /// `system_scope` (keystoneauth sends `{"system": {"all": true}}` for
    /// `all`).
    System(String),
    /// `project_id`, or `project_name` with `project_domain_id` /
    /// `project_domain_name`.
    Project {
        /// `project_id`.
        id: Option<String>,
        /// `project_name`.
        name: Option<String>,
        /// `project_domain_id`.
        domain_id: Option<String>,
        /// `project_domain_name`.
        domain_name: Option<String>,
    },
    /// No scope options at all.
    #[default]
    Unscoped,
}

/// TLS towards Keystone: keystoneauth's session options.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// `cafile`: PEM bundle of the only roots trusted (as `requests`'
    /// `verify=<file>`); the built-in roots otherwise.
    pub cafile: Option<PathBuf>,
    /// `certfile`: client certificate (PEM), with `keyfile`.
    pub certfile: Option<PathBuf>,
    /// `keyfile`: the client certificate's private key (PEM).
    pub keyfile: Option<PathBuf>,
    /// `insecure`: accept any server certificate.
    pub insecure: bool,
}

/// `[keystone_authtoken]` as the validator uses it.
///
/// The binary validates the options (required ones present, numbers in
/// range) and builds this; [`super::TokenValidator::new`] only reads the TLS
/// files.
#[derive(Debug, Clone)]
pub struct KeystoneSettings {
    /// `auth_url`: where the service user logs in and versions are
    /// discovered; versioned (`…/v3`) or not.
    pub auth_url: String,
    /// The service user.
    pub credentials: PasswordCredentials,
    /// The service user's scope.
    pub scope: ServiceScope,
    /// `www_authenticate_uri`: what 401s point clients at. Unset, the
    /// identity endpoint found from `auth_url` is used.
    pub www_authenticate_uri: Option<String>,
    /// `interface` (default `internal`): which catalog endpoint of the
    /// identity service tokens are validated at; `internalURL` style names
    /// are accepted too.
    pub interface: String,
    /// `region_name`: the catalog region to take that endpoint from.
    pub region_name: Option<String>,
    /// TLS options.
    pub tls: TlsSettings,
    /// `http_connect_timeout`: as keystoneauth's session `timeout`, it
    /// bounds connecting and each read. None waits as long as the OS does.
    pub http_connect_timeout: Option<Duration>,
    /// `http_request_max_retries` (default 3): retries after a connection
    /// failure or timeout, with keystoneauth's backoff (0.5 s, doubling).
    pub http_request_max_retries: u32,
    /// `delay_auth_decision`: never reject here; mark the identity invalid
    /// and let the application decide (placement then answers 401).
    pub delay_auth_decision: bool,
    /// `include_service_catalog` (default true): ask Keystone for the
    /// catalog and pass it on in `X-Service-Catalog`.
    pub include_service_catalog: bool,
    /// `token_cache_time` (default 300 s): how long a validation is reused;
    /// `None` (`-1` in the file) disables the cache.
    pub token_cache_time: Option<Duration>,
    /// `service_token_roles` (default `service`): a service token must carry
    /// one of these.
    pub service_token_roles: Vec<String>,
    /// `service_token_roles_required` (default true): a service token
    /// without such a role is invalid (otherwise it is only refused the
    /// right to vouch for expired user tokens).
    pub service_token_roles_required: bool,
    /// `service_type`: this service's catalog type, needed to honour
    /// application credentials restricted by access rules (without it such
    /// tokens are refused).
    pub service_type: Option<String>,
}

impl KeystoneSettings {
    /// keystonemiddleware's defaults for everything but the login.
    pub fn new(auth_url: impl Into<String>, credentials: PasswordCredentials) -> Self {
        Self {
            auth_url: auth_url.into(),
            credentials,
            scope: ServiceScope::Unscoped,
            www_authenticate_uri: None,
            interface: "internal".to_owned(),
            region_name: None,
            tls: TlsSettings::default(),
            http_connect_timeout: None,
            http_request_max_retries: 3,
            delay_auth_decision: false,
            include_service_catalog: true,
            token_cache_time: Some(Duration::from_secs(300)),
            service_token_roles: vec!["service".to_owned()],
            service_token_roles_required: true,
            service_type: None,
        }
    }
}
