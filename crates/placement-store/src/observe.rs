//! What the store reports to whoever watches it (the HTTP crate's
//! Prometheus metrics), without depending on a metrics library.
//!
//! The store knows things no caller can see from outside a unit of work:
//! how long a request waited for a pooled connection, and why an allocation
//! write ran again or ended in a conflict. It tells an optional
//! [`StoreObserver`] attached to the [`Database`](crate::Database) handle;
//! without one (metrics off) each event costs one branch on a `None`.
//! The observer is attached per handle, not globally, so two applications in
//! one process (tests) never count each other's events.

use std::time::Duration;

/// Receives the store's events. Implementations must be cheap: they run on
/// the request path, inside units of work.
pub trait StoreObserver: Send + Sync + 'static {
    /// A pooled connection was asked for and arrived (or the wait failed)
    /// after `wait`.
    fn connection_acquired(&self, wait: Duration);

    /// An allocation write (`PUT`/`POST /allocations`, `POST /reshaper`)
    /// lost an attempt for `cause` and runs again in a fresh transaction.
    fn allocation_write_retried(&self, cause: RetryCause);

    /// An allocation write ended in a conflict the client sees (a 409).
    fn allocation_write_conflicted(&self, cause: ConflictCause);
}

/// Why an allocation write attempt was run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryCause {
    /// A provider's generation compare-and-swap matched no row: another
    /// writer changed the provider after this attempt read it.
    ProviderGeneration,
    /// The database chose this transaction as a deadlock victim or failed
    /// it on serialization.
    Deadlock,
    /// The connection was lost mid-attempt.
    ConnectionLost,
    /// Creating a project, user, consumer type or consumer hit a unique
    /// violation: a concurrent writer created it first.
    ConcurrentCreate,
}

impl RetryCause {
    /// The label value metrics use.
    pub fn as_str(self) -> &'static str {
        match self {
            RetryCause::ProviderGeneration => "provider_generation",
            RetryCause::Deadlock => "deadlock",
            RetryCause::ConnectionLost => "connection_lost",
            RetryCause::ConcurrentCreate => "concurrent_create",
        }
    }
}

/// Why an allocation write ended in a 409.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConflictCause {
    /// Every attempt lost its provider generation compare-and-swap
    /// (`allocation_conflict_retry_count` ran out).
    ProviderGeneration,
    /// The last attempt still deadlocked or failed serialization.
    Deadlock,
    /// The consumer generation the client sent is stale.
    ConsumerGeneration,
    /// A consumer's generation compare-and-swap lost to a concurrent
    /// writer of the same consumer.
    ConsumerUpdate,
    /// `POST /reshaper` named a provider generation that is not current.
    ProviderGenerationMismatch,
    /// The allocation would exceed a provider's capacity.
    Capacity,
    /// The allocation breaks min_unit, max_unit or step_size, or names a
    /// class the provider has no inventory of.
    Constraints,
    /// `POST /reshaper` would remove inventory that is still allocated.
    InventoryInUse,
}

impl ConflictCause {
    /// The label value metrics use.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictCause::ProviderGeneration => "provider_generation",
            ConflictCause::Deadlock => "deadlock",
            ConflictCause::ConsumerGeneration => "consumer_generation",
            ConflictCause::ConsumerUpdate => "consumer_update",
            ConflictCause::ProviderGenerationMismatch => "provider_generation_mismatch",
            ConflictCause::Capacity => "capacity",
            ConflictCause::Constraints => "constraints",
            ConflictCause::InventoryInUse => "inventory_in_use",
        }
    }

    /// Every cause, so metrics can show zeros before the first conflict.
    pub const ALL: [ConflictCause; 8] = [
        ConflictCause::ProviderGeneration,
        ConflictCause::Deadlock,
        ConflictCause::ConsumerGeneration,
        ConflictCause::ConsumerUpdate,
        ConflictCause::ProviderGenerationMismatch,
        ConflictCause::Capacity,
        ConflictCause::Constraints,
        ConflictCause::InventoryInUse,
    ];
}

impl RetryCause {
    /// Every cause, so metrics can show zeros before the first retry.
    pub const ALL: [RetryCause; 4] = [
        RetryCause::ProviderGeneration,
        RetryCause::Deadlock,
        RetryCause::ConnectionLost,
        RetryCause::ConcurrentCreate,
    ];
}

/// The pool's state at one instant, for gauges sampled at scrape time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open (idle or in use).
    pub size: u32,
    /// Connections open and idle.
    pub idle: u32,
    /// The most connections the pool will open.
    pub max: u32,
}
