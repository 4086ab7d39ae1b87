//! [`TokenValidator`]: keystonemiddleware's `AuthProtocol.process_request`
//! for one request.
//!
//! In order: remove the client's identity headers; validate the service
//! token (`X-Service-Token`), if any; validate the user token
//! (`X-Auth-Token`, else `X-Storage-Token`), letting an expired one through
//! when a valid service token with a service role vouches for it; write the
//! headers of the valid tokens; then decide. Each token is looked up in the
//! cache first; concurrent lookups of the same uncached token share one call
//! to Keystone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use chrono::Utc;
use futures::future::{BoxFuture, FutureExt, Shared, WeakShared};

use super::cache::{short_hash, token_key, Cached, TokenCache, TokenKey};
use super::client::{IdentityClient, Unavailable, Validation};
use super::headers::{
    set_service_catalog_header, set_service_headers, set_status, set_user_headers,
    strip_identity_headers, X_IDENTITY_STATUS, X_SERVICE_IDENTITY_STATUS,
};
use super::settings::KeystoneSettings;
use super::token::{AccessRule, TokenData};
use super::KeystoneSetupError;

const X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
const X_STORAGE_TOKEN: HeaderName = HeaderName::from_static("x-storage-token");
const X_SERVICE_TOKEN: HeaderName = HeaderName::from_static("x-service-token");

/// Past this many lookups in flight, abandoned ones are swept out.
const IN_FLIGHT_SWEEP: usize = 1024;

/// What the middleware does with the request after validation.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Go on: the identity headers say who is asking (or, with
    /// `delay_auth_decision`, that nobody valid is).
    Proceed,
    /// Answer keystonemiddleware's 401.
    Reject,
    /// Keystone could not be asked: answer 503.
    Unavailable(Unavailable),
}

/// Why a token was not accepted (logged, never shown).
#[derive(Debug, Clone, thiserror::Error)]
pub(super) enum Refusal {
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Unavailable(Unavailable),
}

type LookupFuture = BoxFuture<'static, Result<Arc<TokenData>, Refusal>>;

/// Lookups under way, by token and `allow_expired`.
type InFlight = HashMap<(TokenKey, bool), WeakShared<LookupFuture>>;

/// The token cache's lookups since startup, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCacheCounts {
    /// Lookups answered from the cache (a validation or a recent rejection).
    pub hits: u64,
    /// Lookups the cache could not answer.
    pub misses: u64,
}

/// Validates Keystone tokens the way keystonemiddleware's `auth_token`
/// does for upstream placement: see the module docs of
/// [`crate::keystone`].
pub struct TokenValidator {
    client: Arc<IdentityClient>,
    cache: Arc<TokenCache>,
    /// Lookups the cache answered, and lookups it did not; for metrics.
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    in_flight: Arc<Mutex<InFlight>>,
    www_authenticate_uri: Option<String>,
    delay_auth_decision: bool,
    include_service_catalog: bool,
    service_token_roles: Vec<String>,
    service_token_roles_required: bool,
    service_type: Option<String>,
}

impl std::fmt::Debug for TokenValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenValidator")
            .field("client", &self.client)
            .field("delay_auth_decision", &self.delay_auth_decision)
            .finish_non_exhaustive()
    }
}

impl TokenValidator {
    /// A validator for `settings`. Nothing is sent to Keystone until the
    /// first token needs validating, so placement starts while Keystone is
    /// down.
    ///
    /// # Errors
    /// [`KeystoneSetupError`] when a TLS file cannot be read or used.
    pub fn new(settings: KeystoneSettings) -> Result<Self, KeystoneSetupError> {
        let client = IdentityClient::new(&settings)?;
        if settings.www_authenticate_uri.is_none() {
            tracing::warn!(
                "configuring [keystone_authtoken] www_authenticate_uri to point to the public \
                 identity endpoint is required; clients may not be able to authenticate against \
                 an admin endpoint"
            );
        }
        if !settings.service_token_roles_required {
            tracing::warn!(
                "[keystone_authtoken] service_token_roles_required is false: any valid token is \
                 accepted as a service token"
            );
        }
        Ok(Self {
            client: Arc::new(client),
            cache: Arc::new(TokenCache::new(settings.token_cache_time)),
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
            in_flight: Arc::new(Mutex::new(HashMap::new())),
            www_authenticate_uri: settings.www_authenticate_uri,
            delay_auth_decision: settings.delay_auth_decision,
            include_service_catalog: settings.include_service_catalog,
            service_token_roles: settings.service_token_roles,
            service_token_roles_required: settings.service_token_roles_required,
            service_type: settings.service_type,
        })
    }

    /// How many token lookups the cache answered and how many it did not,
    /// since startup (each token of a request is one lookup; a miss goes
    /// to Keystone or joins a lookup already in flight).
    pub fn cache_counts(&self) -> TokenCacheCounts {
        TokenCacheCounts {
            hits: self.cache_hits.load(Ordering::Relaxed),
            misses: self.cache_misses.load(Ordering::Relaxed),
        }
    }

    /// `WWW-Authenticate: Keystone uri="…"`, for every 401 this service
    /// sends.
    pub(crate) fn www_authenticate(&self) -> Option<HeaderValue> {
        let uri = self
            .www_authenticate_uri
            .as_deref()
            .unwrap_or_else(|| self.client.auth_identity_uri());
        HeaderValue::from_str(&format!("Keystone uri=\"{uri}\"")).ok()
    }

    /// Validates the tokens of a request to `method path` and rewrites its
    /// identity headers; see the module docs.
    pub(crate) async fn process(
        &self,
        headers: &mut HeaderMap,
        method: &Method,
        path: &str,
    ) -> Decision {
        strip_identity_headers(headers);
        let user_token = token_header(headers, &X_AUTH_TOKEN)
            .or_else(|| token_header(headers, &X_STORAGE_TOKEN));
        let service_token = token_header(headers, &X_SERVICE_TOKEN);

        let mut allow_expired = false;
        let mut service = None;
        if let Some(token) = &service_token {
            let outcome = match self.fetch(token, false).await {
                Ok(data) if data.is_expired_at(Utc::now()) => {
                    Err(Refusal::Invalid("service token expired"))
                }
                Ok(data) if data.kerberos_bound => Err(Refusal::Invalid("kerberos bind")),
                other => other,
            };
            match outcome {
                Ok(data) => {
                    let has_role = data.has_any_role(&self.service_token_roles);
                    // A service role is always needed to vouch for an
                    // expired user token.
                    allow_expired = has_role;
                    let valid = has_role || !self.service_token_roles_required;
                    if !valid {
                        tracing::info!(
                            token = %short_hash(&token_key(token)),
                            "service token without any of service_token_roles"
                        );
                    }
                    set_status(headers, X_SERVICE_IDENTITY_STATUS, valid);
                    service = valid.then_some(data);
                }
                Err(Refusal::Unavailable(error)) if !self.delay_auth_decision => {
                    return Decision::Unavailable(error);
                }
                Err(refusal) => {
                    tracing::info!(
                        token = %short_hash(&token_key(token)),
                        reason = %refusal,
                        "invalid service token"
                    );
                    set_status(headers, X_SERVICE_IDENTITY_STATUS, false);
                }
            }
        }

        let mut user = None;
        if let Some(token) = &user_token {
            let outcome = match self.fetch(token, allow_expired).await {
                Ok(data) if !allow_expired && data.is_expired_at(Utc::now()) => {
                    Err(Refusal::Invalid("token expired"))
                }
                Ok(data) => self
                    .check_access_rules(&data, method, path, service_token.is_some())
                    .and_then(|()| {
                        if service_token.is_none() && data.kerberos_bound {
                            Err(Refusal::Invalid("kerberos bind"))
                        } else {
                            Ok(data)
                        }
                    }),
                Err(refusal) => Err(refusal),
            };
            match outcome {
                Ok(data) => user = Some(data),
                Err(Refusal::Unavailable(error)) if !self.delay_auth_decision => {
                    return Decision::Unavailable(error);
                }
                Err(refusal) => {
                    tracing::warn!(
                        token = %short_hash(&token_key(token)),
                        reason = %refusal,
                        "authorization failed for token"
                    );
                }
            }
        }
        set_status(headers, X_IDENTITY_STATUS, user.is_some());
        let service_confirmed = headers
            .get(X_SERVICE_IDENTITY_STATUS)
            .is_none_or(|status| status == "Confirmed");
        if (user.is_none() || !service_confirmed) && !self.delay_auth_decision {
            tracing::info!("rejecting request");
            return Decision::Reject;
        }
        if let Some(user) = &user {
            set_user_headers(headers, user);
            if self.include_service_catalog {
                set_service_catalog_header(headers, user);
            }
        }
        if let Some(service) = &service {
            set_service_headers(headers, service);
        }
        Decision::Proceed
    }

    /// What Keystone says about `token`: from the cache, from a lookup of
    /// the same token already in flight, or from Keystone.
    async fn fetch(&self, token: &str, allow_expired: bool) -> Result<Arc<TokenData>, Refusal> {
        let key = token_key(token);
        let cached = self.cache.get(&key, allow_expired, Instant::now());
        let counter = if cached.is_some() {
            &self.cache_hits
        } else {
            &self.cache_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        match cached {
            Some(Cached::Valid(data)) => return Ok(data),
            Some(Cached::Invalid) => return Err(Refusal::Invalid("recently rejected by keystone")),
            None => {}
        }
        // Waiters hold the lookup; the map only points at it, so a lookup
        // every waiter gave up on is dropped, not kept.
        let lookup = {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match in_flight
                .get(&(key, allow_expired))
                .and_then(WeakShared::upgrade)
            {
                Some(lookup) => lookup,
                None => {
                    let client = Arc::clone(&self.client);
                    let cache = Arc::clone(&self.cache);
                    let registry = Arc::clone(&self.in_flight);
                    let token = token.to_owned();
                    let lookup: Shared<LookupFuture> = async move {
                        let outcome =
                            ask_keystone(&client, &cache, key, &token, allow_expired).await;
                        registry
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .remove(&(key, allow_expired));
                        outcome
                    }
                    .boxed()
                    .shared();
                    if let Some(weak) = lookup.downgrade() {
                        if in_flight.len() >= IN_FLIGHT_SWEEP {
                            in_flight.retain(|_, weak| weak.upgrade().is_some());
                        }
                        in_flight.insert((key, allow_expired), weak);
                    }
                    lookup
                }
            }
        };
        lookup.await
    }

    /// keystonemiddleware's `validate_allowed_request`: an application
    /// credential restricted by access rules may only call what they list.
    pub(super) fn check_access_rules(
        &self,
        token: &TokenData,
        method: &Method,
        path: &str,
        service_token_sent: bool,
    ) -> Result<(), Refusal> {
        let Some(rules) = &token.access_rules else {
            return Ok(());
        };
        let Some(service_type) = &self.service_type else {
            tracing::warn!(
                "cannot validate request with restricted access rules: set service_type in \
                 [keystone_authtoken] to allow access rule validation"
            );
            return Err(Refusal::Invalid("access rules without service_type"));
        };
        if service_type == "identity" && method == Method::GET && path.ends_with("/v3/auth/tokens")
        {
            return Ok(());
        }
        let in_catalog = token.catalog.as_deref().is_some_and(|catalog| {
            catalog
                .iter()
                .any(|service| service.service_type.as_deref() == Some(service_type.as_str()))
        });
        if !in_catalog {
            tracing::warn!(
                "cannot validate request with restricted access rules: service_type in \
                 [keystone_authtoken] is not a valid service type in the catalog"
            );
            return Err(Refusal::Invalid("service_type not in the catalog"));
        }
        // A service token means a chain of service calls, not a user-facing
        // request.
        if service_token_sent {
            return Ok(());
        }
        let allowed = rules.iter().any(|rule: &AccessRule| {
            rule.method.as_deref() == Some(method.as_str())
                && rule.service.as_deref() == Some(service_type.as_str())
                && rule
                    .path
                    .as_deref()
                    .is_some_and(|pattern| path_matches(path, pattern))
        });
        if allowed {
            Ok(())
        } else {
            Err(Refusal::Invalid("no access rule allows this request"))
        }
    }
}

/// Asks Keystone and records the answer in the cache.
async fn ask_keystone(
    client: &IdentityClient,
    cache: &TokenCache,
    key: TokenKey,
    token: &str,
    allow_expired: bool,
) -> Result<Arc<TokenData>, Refusal> {
    let hash = short_hash(&key);
    match client.validate(token, allow_expired).await {
        Ok(Validation::Valid(data)) => {
            tracing::debug!(token = %hash, "token validated by keystone");
            let data: Arc<TokenData> = Arc::from(data);
            cache.put_valid(key, Arc::clone(&data), Instant::now());
            Ok(data)
        }
        Ok(Validation::NotFound) => {
            tracing::info!(token = %hash, "keystone does not recognize the token");
            cache.put_invalid(key, allow_expired, Instant::now());
            Err(Refusal::Invalid("not found by keystone"))
        }
        Ok(Validation::Unreadable(error)) => {
            tracing::warn!(token = %hash, %error, "invalid token contents");
            Err(Refusal::Invalid("unreadable token data"))
        }
        Err(error) => {
            // Logged once where it ends: the 503 in the envelope, or the
            // refusal under delay_auth_decision.
            tracing::debug!(token = %hash, %error, "unable to validate token");
            Err(Refusal::Unavailable(error))
        }
    }
}

/// A token header's value with surrounding whitespace removed; `None` when
/// absent or blank.
fn token_header(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let value = headers.get(name)?;
    let text: String = value.as_bytes().iter().map(|&b| char::from(b)).collect();
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// keystonemiddleware's `_path_matches`: `{tag}` and `*` match one path
/// segment (one or more characters other than `/`), `**` matches anything,
/// and `.` matches any character (the pattern is a regex there); everything
/// else matches itself.
pub(crate) fn path_matches(path: &str, pattern: &str) -> bool {
    #[derive(Debug)]
    enum Part {
        Segment,
        Anything,
        AnyChar,
        Literal(char),
    }
    let mut parts = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                let rest: String = chars.clone().collect();
                match rest.find('}') {
                    Some(close) if !rest[..close].contains('{') => {
                        for _ in 0..=rest[..close].chars().count() {
                            chars.next();
                        }
                        parts.push(Part::Segment);
                    }
                    _ => parts.push(Part::Literal(c)),
                }
            }
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                parts.push(Part::Anything);
            }
            '*' => parts.push(Part::Segment),
            '.' => parts.push(Part::AnyChar),
            other => parts.push(Part::Literal(other)),
        }
    }
    let path: Vec<char> = path.chars().collect();
    fn matches(parts: &[Part], path: &[char]) -> bool {
        let Some((first, rest)) = parts.split_first() else {
            return path.is_empty();
        };
        match first {
            Part::Literal(c) => path.first() == Some(c) && matches(rest, &path[1..]),
            Part::AnyChar => !path.is_empty() && path[0] != '\n' && matches(rest, &path[1..]),
            Part::Segment => (1..=path.len())
                .take_while(|&n| path[n - 1] != '/')
                .any(|n| matches(rest, &path[n..])),
            Part::Anything => (0..=path.len())
                .take_while(|&n| n == 0 || path[n - 1] != '\n')
                .any(|n| matches(rest, &path[n..])),
        }
    }
    matches(&parts, &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_rule_paths_match_as_keystonemiddleware_does() {
        assert!(path_matches("/resource_providers", "/resource_providers"));
        assert!(path_matches(
            "/resource_providers/abc",
            "/resource_providers/{uuid}"
        ));
        assert!(path_matches(
            "/resource_providers/abc",
            "/resource_providers/*"
        ));
        assert!(!path_matches(
            "/resource_providers/a/b",
            "/resource_providers/*"
        ));
        assert!(path_matches(
            "/resource_providers/a/b",
            "/resource_providers/**"
        ));
        assert!(path_matches(
            "/resource_providers/",
            "/resource_providers/**"
        ));
        assert!(!path_matches(
            "/resource_providers/",
            "/resource_providers/*"
        ));
        assert!(path_matches("/v2x1/servers", "/v2.1/servers"));
        assert!(!path_matches("/traits", "/resource_providers"));
        assert!(path_matches(
            "/resource_providers/abc/inventories/VCPU",
            "/resource_providers/{uuid}/inventories/{rc}"
        ));
    }

    #[test]
    fn token_headers_are_trimmed_and_blank_ones_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert("x-auth-token", HeaderValue::from_static("  gAAAA  "));
        headers.insert("x-service-token", HeaderValue::from_static("   "));
        assert_eq!(
            token_header(&headers, &X_AUTH_TOKEN).as_deref(),
            Some("gAAAA")
        );
        assert_eq!(token_header(&headers, &X_SERVICE_TOKEN), None);
        assert_eq!(token_header(&headers, &X_STORAGE_TOKEN), None);
    }
}
