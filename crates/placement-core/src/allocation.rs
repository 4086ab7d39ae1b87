//! Allocations: what a consumer holds of a provider's inventory, what a
//! client asks them to become, and the usage sums derived from them.
//!
//! The write side is expressed per consumer because every allocation write
//! (`PUT /allocations/{c}`, `POST /allocations`, `POST /reshaper`) replaces
//! whole consumers' allocations at once; the store turns a batch of
//! [`AllocationRequest`]s into one transaction.

use chrono::NaiveDateTime;

use crate::consumer::Consumer;
use crate::ids::{ConsumerUuid, Generation};
use crate::inventory::InventoryRecord;
use crate::resource_provider::ProviderUuid;

/// How a write checks the consumer's generation (microversion 1.28).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerGenerationCheck {
    /// Before 1.28 the client sends no generation; the store still
    /// compare-and-swaps the generation it read.
    Unchecked,
    /// `consumer_generation: null`: the client expects no consumer yet.
    ExpectNew,
    /// The client expects the consumer at exactly this generation.
    Expect(Generation),
}

/// The amounts wanted of one provider, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderResources {
    /// The provider's uuid as the client wrote it (a missing provider is
    /// reported with this text).
    pub provider: String,
    /// (resource class name, amount) pairs; amounts are at least 1.
    pub resources: Vec<(String, i64)>,
}

/// What one consumer's allocations are to become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationRequest {
    /// The consumer; created on its first allocation.
    pub consumer: ConsumerUuid,
    /// Owning project's external id (the configured incomplete-consumer
    /// project when the client could not send one, before 1.8).
    pub project_id: String,
    /// Owning user's external id, likewise.
    pub user_id: String,
    /// The generation check the client asked for.
    pub generation: ConsumerGenerationCheck,
    /// The consumer type (1.38); `None` leaves an existing type alone.
    pub consumer_type: Option<String>,
    /// The new allocations; empty removes them all (and the consumer).
    pub allocations: Vec<ProviderResources>,
}

/// Knobs of an allocation write that come from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocationWriteOptions {
    /// `[placement] allocation_conflict_retry_count`: how many times a
    /// write that lost a provider-generation race, or hit a deadlock, is run
    /// again as a whole before it is reported as a conflict.
    pub conflict_retry_count: u32,
}

impl Default for AllocationWriteOptions {
    fn default() -> Self {
        Self {
            conflict_retry_count: 10,
        }
    }
}

/// One stored allocation row seen from its consumer.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerAllocation {
    /// The provider allocated from.
    pub provider: ProviderUuid,
    /// The provider's current generation.
    pub provider_generation: Generation,
    /// The resource class name.
    pub resource_class: String,
    /// The amount.
    pub used: i64,
    /// When the row was written.
    pub created_at: Option<NaiveDateTime>,
    /// When the row last changed (upstream never updates rows; kept for
    /// `Last-Modified`).
    pub updated_at: Option<NaiveDateTime>,
}

/// A consumer and all its allocations (`GET /allocations/{consumer}`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerAllocations {
    /// The consumer with owners, type and generation.
    pub consumer: Consumer,
    /// Its allocations, ordered by provider then resource class id.
    pub allocations: Vec<ConsumerAllocation>,
}

/// One stored allocation row seen from its provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderAllocation {
    /// The consumer's uuid as stored.
    pub consumer: String,
    /// The resource class name.
    pub resource_class: String,
    /// The amount.
    pub used: i64,
    /// When the row was written.
    pub created_at: Option<NaiveDateTime>,
    /// When the row last changed.
    pub updated_at: Option<NaiveDateTime>,
}

/// The new inventory of one provider in a reshape (`POST /reshaper`).
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryReplacement {
    /// The provider's uuid as the client wrote it.
    pub provider: String,
    /// The generation the client read; checked before anything is written.
    pub generation: Generation,
    /// The complete new inventory; classes not listed are removed.
    pub inventories: Vec<InventoryRecord>,
}
