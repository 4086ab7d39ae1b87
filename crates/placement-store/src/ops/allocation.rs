//! Allocations: read by consumer and by provider, replace whole consumers'
//! allocations atomically (PUT and POST /allocations), delete a consumer's,
//! and reshape (POST /reshaper).
//!
//! CONTRACT STUB: the signatures are fixed; the bodies are being written.

use placement_core::allocation::{
    AllocationRequest, AllocationWriteOptions, ConsumerAllocations, InventoryReplacement,
    ProviderAllocation,
};
use placement_core::resource_provider::ResourceProvider;

use crate::db::Database;
use crate::error::{Error, Result};

/// A provider and its allocations (`GET /resource_providers/{u}/allocations`).
#[derive(Debug, Clone)]
pub struct ProviderAllocations {
    /// The provider at its current generation.
    pub provider: ResourceProvider,
    /// Its allocations, ordered by consumer then resource class id.
    pub allocations: Vec<ProviderAllocation>,
}

/// The consumer `uuid` (exactly as stored) and its allocations; `None` when
/// it has none (upstream answers an empty body then, never a 404).
///
/// # Errors
/// Database failures only.
pub async fn get_for_consumer(db: &Database, uuid: &str) -> Result<Option<ConsumerAllocations>> {
    let _ = (db, uuid);
    Err(Error::Schema(
        "get_for_consumer: not written yet".to_owned(),
    ))
}

/// The provider and all allocations against it.
///
/// # Errors
/// [`Error::ResourceProviderNotFound`].
pub async fn get_for_provider(db: &Database, uuid: &str) -> Result<ProviderAllocations> {
    let _ = (db, uuid);
    Err(Error::Schema(
        "get_for_provider: not written yet".to_owned(),
    ))
}

/// Replaces the allocations of every consumer in `requests` in one
/// transaction, retried as a whole on a lost provider-generation race or a
/// transient database error up to `opts.conflict_retry_count` times.
///
/// # Errors
/// See the module documentation for the order of checks and each error.
pub async fn replace(
    db: &Database,
    requests: &[AllocationRequest],
    opts: AllocationWriteOptions,
) -> Result<()> {
    let _ = (db, requests, opts);
    Err(Error::Schema("replace: not written yet".to_owned()))
}

/// Deletes all allocations of the consumer `uuid` (exactly as stored) and
/// the consumer.
///
/// # Errors
/// [`Error::AllocationsNotFound`] when it has none.
pub async fn delete_for_consumer(db: &Database, uuid: &str) -> Result<()> {
    let _ = (db, uuid);
    Err(Error::Schema(
        "delete_for_consumer: not written yet".to_owned(),
    ))
}

/// Replaces several providers' inventories and several consumers'
/// allocations in one transaction (`POST /reshaper`).
///
/// # Errors
/// As [`replace`], plus the inventory errors of `ops::inventory`.
pub async fn reshape(
    db: &Database,
    inventories: &[InventoryReplacement],
    allocations: &[AllocationRequest],
    opts: AllocationWriteOptions,
) -> Result<()> {
    let _ = (db, inventories, allocations, opts);
    Err(Error::Schema("reshape: not written yet".to_owned()))
}
