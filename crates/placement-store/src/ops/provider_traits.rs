//! A provider's traits: read them, replace them, clear them, with upstream's
//! semantics (`ResourceProvider.set_traits` in
//! `placement/objects/resource_provider.py`): the generation moves only when
//! the set actually changes, and through the compare-and-swap.

use std::collections::BTreeSet;

use placement_core::ids::Generation;
use placement_core::resource_provider::ResourceProvider;
use placement_core::traits::Trait;
use tracing::instrument;

use crate::db::{Database, Tx};
use crate::error::{Error, Result};
use crate::queries::{provider_traits as q, resource_providers as rps, traits};

/// upstream's 409 text when the client's generation is not the stored one.
pub const GENERATION_CHANGED: &str =
    "Resource provider's generation already changed. Please update the generation and try again.";

/// A provider and its traits, as `GET` and `PUT …/traits` answer them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderTraits {
    /// The provider, with its generation after the write.
    pub provider: ResourceProvider,
    /// The traits, by name for a write (upstream's `name_in` lookup), in
    /// trait id order for a read.
    pub traits: Vec<Trait>,
}

/// Reads provider `uuid` and its traits.
///
/// # Errors
/// [`Error::ResourceProviderNotFound`]; database errors.
#[instrument(skip(db), err(level = "debug"))]
pub async fn get_provider_traits(db: &Database, uuid: &str) -> Result<ProviderTraits> {
    let mut tx = db.begin_read().await?;
    let stored = rps::get_by_uuid(&mut tx, uuid)
        .await?
        .ok_or_else(|| Error::ResourceProviderNotFound(uuid.to_owned()))?;
    let traits = q::for_provider(&mut tx, stored.id)
        .await?
        .into_iter()
        .map(|t| t.trait_)
        .collect();
    Ok(ProviderTraits {
        provider: stored.provider,
        traits,
    })
}

/// Replaces provider `uuid`'s traits with `names` when the client's
/// `generation` is the stored one (`PUT …/traits`).
///
/// # Errors
/// In upstream's order: [`Error::ResourceProviderNotFound`];
/// [`Error::GenerationMismatch`] with [`GENERATION_CHANGED`] for a stale
/// generation; [`Error::TraitNotFound`] naming the unknown traits (comma
/// separated); [`Error::ConcurrentUpdate`] with
/// [`PROVIDER_CONCURRENT_UPDATE`](crate::error::PROVIDER_CONCURRENT_UPDATE) when another writer won the CAS.
#[instrument(skip(db), err(level = "debug"))]
pub async fn set_provider_traits(
    db: &Database,
    uuid: &str,
    names: &[String],
    generation: Generation,
) -> Result<ProviderTraits> {
    async {
        let mut tx = db.begin().await?;
        let stored = rps::get_by_uuid(&mut tx, uuid)
            .await?
            .ok_or_else(|| Error::ResourceProviderNotFound(uuid.to_owned()))?;
        if stored.provider.generation != generation {
            return Err(Error::GenerationMismatch(GENERATION_CHANGED.to_owned()));
        }
        let wanted = wanted_traits(&mut tx, names).await?;
        let mut provider = stored.provider;
        provider.generation = replace(&mut tx, stored.id, provider.generation, &wanted).await?;
        tx.commit().await?;
        Ok(ProviderTraits {
            provider,
            traits: wanted.into_iter().map(|(_, t)| t).collect(),
        })
    }
    .await
    .map_err(|e| e.lost_race(Error::provider_concurrent_update))
}

/// Removes every trait of provider `uuid` (`DELETE …/traits`), guarded by
/// the generation read here, as upstream's is.
///
/// # Errors
/// [`Error::ResourceProviderNotFound`]; [`Error::ConcurrentUpdate`] with
/// [`PROVIDER_CONCURRENT_UPDATE`](crate::error::PROVIDER_CONCURRENT_UPDATE) when another writer won the CAS.
#[instrument(skip(db), err(level = "debug"))]
pub async fn delete_provider_traits(db: &Database, uuid: &str) -> Result<()> {
    async {
        let mut tx = db.begin().await?;
        let stored = rps::get_by_uuid(&mut tx, uuid)
            .await?
            .ok_or_else(|| Error::ResourceProviderNotFound(uuid.to_owned()))?;
        replace(&mut tx, stored.id, stored.provider.generation, &[]).await?;
        tx.commit().await
    }
    .await
    .map_err(|e| e.lost_race(Error::provider_concurrent_update))
}

/// The traits named, looked up as upstream's `get_all(name_in=…)` does (so
/// in name order); unknown names are [`Error::TraitNotFound`].
async fn wanted_traits(tx: &mut Tx, names: &[String]) -> Result<Vec<(i64, Trait)>> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let unique: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    for name in unique {
        match traits::get_by_name(tx, name).await? {
            Some(stored) => found.push((stored.id, stored.trait_)),
            None => missing.push(name),
        }
    }
    if !missing.is_empty() {
        return Err(Error::TraitNotFound(missing.join(", ")));
    }
    // Same order as `traits::list` with `name_in`: by code point.
    found.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    Ok(found)
}

/// upstream's `_set_traits`: the difference is written and the generation
/// bumped only when the set changes. Returns the generation after.
async fn replace(
    tx: &mut Tx,
    rp_id: i64,
    generation: Generation,
    wanted: &[(i64, Trait)],
) -> Result<Generation> {
    let existing: BTreeSet<i64> = q::for_provider(tx, rp_id)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let want: BTreeSet<i64> = wanted.iter().map(|(id, _)| *id).collect();
    if existing == want {
        return Ok(generation);
    }
    for id in existing.difference(&want) {
        q::remove(tx, rp_id, *id).await?;
    }
    for id in want.difference(&existing) {
        q::add(tx, rp_id, *id).await?;
    }
    if rps::increment_generation(tx, rp_id, generation).await? != 1 {
        return Err(Error::provider_concurrent_update());
    }
    Ok(generation.next())
}
