//! The in-process token cache (keystonemiddleware's, without memcached).
//!
//! Keys are the SHA-256 of the token, so no token is kept in memory longer
//! than its request needs. A positive entry keeps Keystone's parsed answer
//! for `token_cache_time`; its `expires_at` is still checked on every hit by
//! the validator, so a cached token stops working when it expires. Revocation
//! is noticed only when the entry ages out, as upstream.
//!
//! NOTE(upstream): keystonemiddleware caches only successes, so a flood of
//! bad tokens reaches Keystone every time. Tokens Keystone did not recognize
//! (404) are remembered here too, briefly (at most 30 s, never longer than
//! `token_cache_time`).
//!
//! The cache is bounded: past [`MAX_ENTRIES`] the oldest insertions go
//! first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::token::TokenData;

/// The most tokens remembered at once (a few KiB each with a catalog).
pub(crate) const MAX_ENTRIES: usize = 10_000;

/// The longest a token Keystone rejected is remembered.
pub(crate) const NEGATIVE_TTL_CAP: Duration = Duration::from_secs(30);

/// SHA-256 of a token: the cache key, and (shortened) its name in logs.
pub(crate) type TokenKey = [u8; 32];

/// The key for `token`.
pub(crate) fn token_key(token: &str) -> TokenKey {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// The first 12 hex digits of a key: enough to follow one token through the
/// logs, useless for replaying it.
pub(crate) fn short_hash(key: &TokenKey) -> String {
    key.iter()
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// What the cache knows about a token.
#[derive(Debug, Clone)]
pub(crate) enum Cached {
    /// Keystone validated it and said this.
    Valid(Arc<TokenData>),
    /// Keystone did not recognize it.
    Invalid,
}

#[derive(Debug)]
struct Entry {
    value: Cached,
    /// For a rejection: whether Keystone was asked with `allow_expired`, so
    /// that a rejection of an expired token does not stand in for the
    /// answer a service token would get.
    checked_allow_expired: bool,
    expires: Instant,
    seq: u64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<TokenKey, Entry>,
    /// Insertion order; items whose `seq` no longer matches are stale.
    order: VecDeque<(TokenKey, u64)>,
    next_seq: u64,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct TokenCache {
    ttl: Option<Duration>,
    negative_ttl: Option<Duration>,
    capacity: usize,
    inner: Mutex<Inner>,
}

impl TokenCache {
    /// A cache keeping validations for `ttl` (`None` or zero: no cache).
    pub(crate) fn new(ttl: Option<Duration>) -> Self {
        Self::with_capacity(ttl, MAX_ENTRIES)
    }

    pub(crate) fn with_capacity(ttl: Option<Duration>, capacity: usize) -> Self {
        let ttl = ttl.filter(|ttl| !ttl.is_zero());
        Self {
            ttl,
            negative_ttl: ttl.map(|ttl| ttl.min(NEGATIVE_TTL_CAP)),
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every critical section leaves the maps consistent, so a panic
        // elsewhere while holding the lock cannot have broken them.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What is known about `key`, if still fresh at `now`. A rejection
    /// recorded without `allow_expired` does not answer a lookup with it.
    pub(crate) fn get(&self, key: &TokenKey, allow_expired: bool, now: Instant) -> Option<Cached> {
        self.ttl?;
        let mut inner = self.lock();
        let entry = inner.entries.get(key)?;
        if entry.expires <= now {
            inner.entries.remove(key);
            return None;
        }
        match &entry.value {
            Cached::Invalid if allow_expired && !entry.checked_allow_expired => None,
            value => Some(value.clone()),
        }
    }

    /// Remembers a validation.
    pub(crate) fn put_valid(&self, key: TokenKey, data: Arc<TokenData>, now: Instant) {
        if let Some(ttl) = self.ttl {
            self.insert(key, Cached::Valid(data), false, now + ttl);
        }
    }

    /// Remembers that Keystone did not recognize the token.
    pub(crate) fn put_invalid(&self, key: TokenKey, allow_expired: bool, now: Instant) {
        if let Some(ttl) = self.negative_ttl {
            self.insert(key, Cached::Invalid, allow_expired, now + ttl);
        }
    }

    fn insert(&self, key: TokenKey, value: Cached, checked_allow_expired: bool, expires: Instant) {
        let mut inner = self.lock();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.entries.insert(
            key,
            Entry {
                value,
                checked_allow_expired,
                expires,
                seq,
            },
        );
        inner.order.push_back((key, seq));
        while inner.entries.len() > self.capacity {
            let Some((oldest, oldest_seq)) = inner.order.pop_front() else {
                break;
            };
            if inner
                .entries
                .get(&oldest)
                .is_some_and(|entry| entry.seq == oldest_seq)
            {
                inner.entries.remove(&oldest);
            }
        }
        // Re-inserted keys leave stale items behind; drop them before the
        // queue outgrows the map by much.
        if inner.order.len() > 2 * self.capacity {
            let Inner { entries, order, .. } = &mut *inner;
            order.retain(|(key, seq)| entries.get(key).is_some_and(|entry| entry.seq == *seq));
        }
    }

    /// How many tokens are remembered (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Arc<TokenData> {
        let json = crate::keystone::token::tests::project_token_json("2030-01-01T00:00:00Z");
        Arc::new(TokenData::parse(json.as_bytes()).unwrap())
    }

    #[test]
    fn keys_are_sha256_and_logs_show_a_prefix() {
        let key = token_key("abc");
        assert_eq!(short_hash(&key), "ba7816bf8f01");
    }

    #[test]
    fn a_validation_is_reused_until_the_ttl_runs_out() {
        let cache = TokenCache::new(Some(Duration::from_secs(300)));
        let now = Instant::now();
        let key = token_key("t");
        assert!(cache.get(&key, false, now).is_none());
        cache.put_valid(key, data(), now);
        assert!(matches!(
            cache.get(&key, false, now + Duration::from_secs(299)),
            Some(Cached::Valid(_))
        ));
        assert!(cache
            .get(&key, false, now + Duration::from_secs(300))
            .is_none());
        assert_eq!(cache.len(), 0, "the stale entry is dropped when seen");
    }

    #[test]
    fn rejections_are_remembered_briefly() {
        let cache = TokenCache::new(Some(Duration::from_secs(300)));
        let now = Instant::now();
        let key = token_key("bad");
        cache.put_invalid(key, false, now);
        assert!(matches!(
            cache.get(&key, false, now + Duration::from_secs(29)),
            Some(Cached::Invalid)
        ));
        assert!(cache
            .get(&key, false, now + Duration::from_secs(30))
            .is_none());

        let short = TokenCache::new(Some(Duration::from_secs(2)));
        short.put_invalid(key, false, now);
        assert!(short
            .get(&key, false, now + Duration::from_secs(2))
            .is_none());
    }

    #[test]
    fn a_rejection_without_allow_expired_does_not_answer_a_service_vouched_lookup() {
        let cache = TokenCache::new(Some(Duration::from_secs(300)));
        let now = Instant::now();
        let expired = token_key("expired");
        cache.put_invalid(expired, false, now);
        assert!(cache.get(&expired, true, now).is_none());
        assert!(cache.get(&expired, false, now).is_some());

        let garbage = token_key("garbage");
        cache.put_invalid(garbage, true, now);
        assert!(matches!(
            cache.get(&garbage, true, now),
            Some(Cached::Invalid)
        ));
        assert!(matches!(
            cache.get(&garbage, false, now),
            Some(Cached::Invalid)
        ));
    }

    #[test]
    fn a_disabled_cache_remembers_nothing() {
        for ttl in [None, Some(Duration::ZERO)] {
            let cache = TokenCache::new(ttl);
            let now = Instant::now();
            let key = token_key("t");
            cache.put_valid(key, data(), now);
            cache.put_invalid(token_key("u"), false, now);
            assert!(cache.get(&key, false, now).is_none());
            assert_eq!(cache.len(), 0);
        }
    }

    #[test]
    fn the_oldest_entries_go_first_past_the_capacity() {
        let cache = TokenCache::with_capacity(Some(Duration::from_secs(300)), 3);
        let now = Instant::now();
        for token in ["a", "b", "c"] {
            cache.put_valid(token_key(token), data(), now);
        }
        // Re-inserting "a" makes it the newest.
        cache.put_valid(token_key("a"), data(), now);
        cache.put_valid(token_key("d"), data(), now);
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&token_key("b"), false, now).is_none());
        for token in ["a", "c", "d"] {
            assert!(
                cache.get(&token_key(token), false, now).is_some(),
                "{token}"
            );
        }
        for i in 0..100 {
            cache.put_valid(token_key("a"), data(), now);
            cache.put_valid(token_key(&i.to_string()), data(), now);
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.lock().order.len() <= 6);
    }
}
