//! The settings the HTTP layer runs with, and the shared state handlers see.
//!
//! The binary reads `placement.conf`, validates it once, and hands the HTTP
//! part here; nothing in this crate reads configuration itself.

use std::sync::Arc;

use placement_core::allocation::AllocationWriteOptions;
use placement_core::candidates::model::GenerationStrategy;
use placement_core::consumer::DEFAULT_INCOMPLETE_CONSUMER_ID;
use placement_store::Database;

use crate::health::HealthSettings;
use crate::keystone::TokenValidator;
use crate::metrics::Metrics;
use crate::middleware::cors::CorsSettings;
use crate::policy::Enforcer;

/// How requests are authenticated: upstream's `[api] auth_strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthStrategy {
    /// `noauth2`, for testing: `X-Auth-Token: user[:project]` is believed as
    /// is; user `admin` gets role `admin` unless `X-Roles` is sent.
    NoAuth2,
    /// `keystone`, upstream's default: `X-Auth-Token` is validated with
    /// Keystone by [`HttpSettings::keystone`], as keystonemiddleware's
    /// `auth_token` does, and the identity comes from Keystone's answer
    /// only (identity headers sent by clients are removed first). Without a
    /// validator configured every request outside the root is refused.
    #[default]
    Keystone,
}

/// The path placement is mounted under, such as `/placement` (upstream's
/// `SCRIPT_NAME`); empty when it serves the root of the host.
///
/// Both the bare prefix and the prefix with a slash answer the version
/// document, and links in responses will be built under it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlPrefix(String);

/// A prefix that cannot be used as a mount point.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid URL prefix {0:?}: expected a path such as /placement made of letters, \
     digits and -._~ with no empty segment"
)]
pub struct InvalidUrlPrefix(pub String);

impl UrlPrefix {
    /// Validates a mount path. `""` and `"/"` mean the root; a trailing slash
    /// is dropped, so `/placement/` and `/placement` are the same mount.
    ///
    /// # Errors
    /// [`InvalidUrlPrefix`] when the path does not start with `/`, has an
    /// empty segment, or holds characters that are not unreserved in a URL
    /// (which could also be mistaken for route syntax).
    pub fn new(raw: &str) -> Result<Self, InvalidUrlPrefix> {
        let trimmed = raw.strip_suffix('/').unwrap_or(raw);
        if trimmed.is_empty() {
            return Ok(Self::default());
        }
        let invalid = || InvalidUrlPrefix(raw.to_owned());
        let rest = trimmed.strip_prefix('/').ok_or_else(invalid)?;
        let segments_ok = rest.split('/').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        });
        if segments_ok {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(invalid())
        }
    }

    /// The prefix, empty for the root, never ending in `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The request path relative to the mount point (upstream's `PATH_INFO`):
    /// `""` for the bare prefix, `"/…"` otherwise; `None` for a path outside
    /// the mount.
    pub fn path_info<'a>(&self, path: &'a str) -> Option<&'a str> {
        let rest = path.strip_prefix(self.0.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }
}

/// Everything the HTTP layer needs to know about its deployment.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// How requests are authenticated.
    pub auth_strategy: AuthStrategy,
    /// Where placement is mounted.
    pub url_prefix: UrlPrefix,
    /// `[placement] incomplete_consumer_project_id`: the project that
    /// allocations written before microversion 1.8 (which cannot name one)
    /// are charged to.
    pub incomplete_consumer_project_id: String,
    /// `[placement] incomplete_consumer_user_id`: the user such allocations
    /// are charged to.
    pub incomplete_consumer_user_id: String,
    /// `[placement] allocation_conflict_retry_count`: how often an
    /// allocation write that lost a provider-generation race is retried
    /// before the client gets a 409.
    pub allocation_conflict_retry_count: u32,
    /// `[placement]`'s allocation-candidates knobs.
    pub candidates: CandidatesSettings,
    /// `[cors]`: off unless an origin is allowed.
    pub cors: CorsSettings,
    /// `[keystone_authtoken]`'s token validator, used when the strategy is
    /// [`AuthStrategy::Keystone`]; shared, as it holds the token cache and
    /// the service user's login.
    pub keystone: Option<Arc<TokenValidator>>,
    /// `[healthcheck]`: the unauthenticated probe's checks and formats.
    pub healthcheck: HealthSettings,
}

impl HttpSettings {
    /// Settings for a deployment at the root of the host, with upstream's
    /// defaults for everything else.
    pub fn new(auth_strategy: AuthStrategy) -> Self {
        Self {
            auth_strategy,
            url_prefix: UrlPrefix::default(),
            incomplete_consumer_project_id: DEFAULT_INCOMPLETE_CONSUMER_ID.to_owned(),
            incomplete_consumer_user_id: DEFAULT_INCOMPLETE_CONSUMER_ID.to_owned(),
            allocation_conflict_retry_count: AllocationWriteOptions::default().conflict_retry_count,
            candidates: CandidatesSettings::default(),
            cors: CorsSettings::default(),
            keystone: None,
            healthcheck: HealthSettings::default(),
        }
    }

    /// The configured knobs of an allocation write.
    pub fn allocation_write_options(&self) -> AllocationWriteOptions {
        AllocationWriteOptions {
            conflict_retry_count: self.allocation_conflict_retry_count,
        }
    }
}

impl Default for HttpSettings {
    /// Keystone at the root of the host, upstream's defaults.
    fn default() -> Self {
        Self::new(AuthStrategy::default())
    }
}

/// `[placement]`'s options for `GET /allocation_candidates`.
#[derive(Debug, Clone, Copy)]
pub struct CandidatesSettings {
    /// `max_allocation_candidates`: negative means no cap. Upstream stops
    /// once the set holds at least this many, so 0 behaves as 1.
    pub max_allocation_candidates: i64,
    /// `allocation_candidates_generation_strategy`.
    pub strategy: GenerationStrategy,
    /// `randomize_allocation_candidates`.
    pub randomize: bool,
}

impl Default for CandidatesSettings {
    /// Upstream's defaults: no cap, depth-first, deterministic order.
    fn default() -> Self {
        Self {
            max_allocation_candidates: -1,
            strategy: GenerationStrategy::DepthFirst,
            randomize: false,
        }
    }
}

impl CandidatesSettings {
    /// The cap as the engine takes it.
    pub fn cap(&self) -> Option<usize> {
        // NOTE(upstream): the check `len(areqs) >= max` runs after an
        // insert, so a cap of 0 still yields one candidate.
        usize::try_from(self.max_allocation_candidates)
            .ok()
            .map(|n| n.max(1))
    }
}

/// What every handler can reach, cloned cheaply per request.
#[derive(Clone)]
pub struct AppState {
    /// Deployment settings, shared.
    pub settings: Arc<HttpSettings>,
    /// The store handle: handlers pass it to one `placement_store::ops`
    /// function each and never see a connection or SQL.
    pub store: Database,
    /// The policy enforcer every handler asks before acting (upstream's
    /// `context.can`).
    pub policy: Arc<Enforcer>,
    /// This application's metrics, when turned on ([`AppState::with_metrics`]);
    /// `None` costs the request path nothing but a branch.
    pub metrics: Option<Metrics>,
}

impl AppState {
    /// State for the given settings, serving the given database, with the
    /// registered default policy and no policy files.
    pub fn new(settings: HttpSettings, store: Database) -> Self {
        Self::with_policy(settings, store, Enforcer::defaults())
    }

    /// State with an enforcer built from the operator's policy settings.
    pub fn with_policy(settings: HttpSettings, store: Database, policy: Enforcer) -> Self {
        Self {
            settings: Arc::new(settings),
            store,
            policy: Arc::new(policy),
            metrics: None,
        }
    }

    /// This state with Prometheus metrics turned on: requests are counted
    /// and timed, and the store handle reports connection waits, retries
    /// and conflicts to them. Serve them with [`crate::metrics::router`]
    /// over [`AppState::metrics`], on a listener of their own.
    #[must_use]
    pub fn with_metrics(mut self) -> Self {
        let metrics = Metrics::new(
            &self.store,
            &self.settings.url_prefix,
            self.settings.keystone.clone(),
        );
        self.store = self.store.with_observer(metrics.store_observer());
        self.metrics = Some(metrics);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_upstreams_incomplete_consumer_and_retry_count() {
        let settings = HttpSettings::new(AuthStrategy::NoAuth2);
        assert_eq!(
            settings.incomplete_consumer_project_id,
            "00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(
            settings.incomplete_consumer_user_id,
            settings.incomplete_consumer_project_id
        );
        assert_eq!(settings.allocation_write_options().conflict_retry_count, 10);
        assert_eq!(
            HttpSettings::default().auth_strategy,
            AuthStrategy::Keystone
        );
    }

    #[test]
    fn the_root_prefix_is_empty_however_it_is_written() {
        assert_eq!(UrlPrefix::new("").unwrap().as_str(), "");
        assert_eq!(UrlPrefix::new("/").unwrap().as_str(), "");
    }

    #[test]
    fn a_trailing_slash_is_dropped() {
        assert_eq!(
            UrlPrefix::new("/placement/").unwrap().as_str(),
            "/placement"
        );
        assert_eq!(UrlPrefix::new("/a/b").unwrap().as_str(), "/a/b");
    }

    #[test]
    fn prefixes_that_are_not_plain_paths_are_refused() {
        for raw in ["placement", "/a//b", "/{id}", "/a b", "/*rest", "//"] {
            assert!(UrlPrefix::new(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn path_info_is_what_follows_the_prefix() {
        let prefix = UrlPrefix::new("/placement").unwrap();
        assert_eq!(prefix.path_info("/placement"), Some(""));
        assert_eq!(prefix.path_info("/placement/"), Some("/"));
        assert_eq!(prefix.path_info("/placement/traits"), Some("/traits"));
        assert_eq!(prefix.path_info("/placementx"), None);
        assert_eq!(prefix.path_info("/other"), None);
        assert_eq!(UrlPrefix::default().path_info("/"), Some("/"));
    }
}
