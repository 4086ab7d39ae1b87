//! A provider's aggregates: read them and replace them, with upstream's
//! semantics (`_set_aggregates` in `placement/objects/resource_provider.py`):
//! aggregate uuids get a `placement_aggregates` row on first use and keep it
//! for ever; from microversion 1.19 the caller asks for the generation to be
//! checked and bumped.

use std::collections::BTreeSet;

use placement_core::ids::Generation;
use placement_core::resource_provider::ResourceProvider;
use tracing::{instrument, warn};

use crate::db::{Database, Tx};
use crate::error::{DbErrorKind, Error, Result};
use crate::ops::provider_traits::GENERATION_CHANGED;
use crate::queries::{aggregates as q, resource_providers as rps};

/// How many times a write is retried after losing a race to create the
/// same aggregate (upstream's `wrap_db_retry(max_retries=10)`).
const MAX_RETRIES: usize = 10;

/// A provider and its aggregate uuids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAggregates {
    /// The provider, with its generation after any write.
    pub provider: ResourceProvider,
    /// Aggregate uuids: in aggregate id order for a read, as sent for a
    /// write (upstream echoes the request).
    pub aggregates: Vec<String>,
}

/// Reads provider `uuid` and its aggregates.
///
/// # Errors
/// [`Error::ResourceProviderNotFound`]; database errors.
#[instrument(skip(db), err(level = "debug"))]
pub async fn get_provider_aggregates(db: &Database, uuid: &str) -> Result<ProviderAggregates> {
    let mut tx = db.begin_read().await?;
    let stored = rps::get_by_uuid(&mut tx, uuid)
        .await?
        .ok_or_else(|| Error::ResourceProviderNotFound(uuid.to_owned()))?;
    let aggregates = q::for_provider(&mut tx, stored.id)
        .await?
        .into_iter()
        .map(|(_, u)| u)
        .collect();
    Ok(ProviderAggregates {
        provider: stored.provider,
        aggregates,
    })
}

/// Replaces provider `uuid`'s aggregates with `aggregates`. With
/// `generation` (microversion 1.19 on) the stored generation must equal it
/// and is bumped; without, the generation is left alone.
///
/// # Errors
/// [`Error::ResourceProviderNotFound`]; [`Error::GenerationMismatch`] with
/// [`GENERATION_CHANGED`] for a stale generation; [`Error::ConcurrentUpdate`]
/// with [`PROVIDER_CONCURRENT_UPDATE`](crate::error::PROVIDER_CONCURRENT_UPDATE) when another writer won the CAS;
/// [`Error::MaxDbRetriesExceeded`] after repeated lost aggregate-creation
/// races.
#[instrument(skip(db), err(level = "debug"))]
pub async fn set_provider_aggregates(
    db: &Database,
    uuid: &str,
    aggregates: &[String],
    generation: Option<Generation>,
) -> Result<ProviderAggregates> {
    async {
        for _ in 0..=MAX_RETRIES {
            let mut tx = db.begin().await?;
            match set_in(&mut tx, uuid, aggregates, generation).await {
                Ok(provider) => {
                    tx.commit().await?;
                    return Ok(ProviderAggregates {
                        provider,
                        aggregates: aggregates.to_vec(),
                    });
                }
                Err(Error::Database(e)) if e.kind() == DbErrorKind::UniqueViolation => {
                    // Another writer created one of the aggregates; a fresh
                    // transaction sees its row (REPEATABLE READ would not).
                    if let Err(rollback) = tx.rollback().await {
                        warn!(error = %rollback, "rollback failed");
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::MaxDbRetriesExceeded("set_aggregates".to_owned()))
    }
    .await
    .map_err(|e| e.lost_race(Error::provider_concurrent_update))
}

/// One try of [`set_provider_aggregates`]; returns the provider as written.
async fn set_in(
    tx: &mut Tx,
    uuid: &str,
    aggregates: &[String],
    generation: Option<Generation>,
) -> Result<ResourceProvider> {
    let stored = rps::get_by_uuid(tx, uuid)
        .await?
        .ok_or_else(|| Error::ResourceProviderNotFound(uuid.to_owned()))?;
    let mut provider = stored.provider;
    if generation.is_some_and(|g| g != provider.generation) {
        return Err(Error::GenerationMismatch(GENERATION_CHANGED.to_owned()));
    }
    let wanted: BTreeSet<&str> = aggregates.iter().map(String::as_str).collect();
    let existing = q::for_provider(tx, stored.id).await?;
    let have: BTreeSet<&str> = existing.iter().map(|(_, u)| u.as_str()).collect();
    for uuid in wanted.difference(&have) {
        let agg_id = match q::id_by_uuid(tx, uuid).await? {
            Some(id) => id,
            None => q::insert(tx, uuid).await?,
        };
        q::associate(tx, stored.id, agg_id).await?;
    }
    for (agg_id, agg_uuid) in &existing {
        if !wanted.contains(agg_uuid.as_str()) {
            q::disassociate(tx, stored.id, *agg_id).await?;
        }
    }
    if generation.is_some() {
        if rps::increment_generation(tx, stored.id, provider.generation).await? != 1 {
            return Err(Error::provider_concurrent_update());
        }
        provider.generation = provider.generation.next();
    }
    Ok(provider)
}
