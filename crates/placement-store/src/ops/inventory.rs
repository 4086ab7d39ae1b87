//! Inventory of one provider: read, add one, update one, replace all,
//! delete one (upstream's `objects/resource_provider.py` inventory writers).
//!
//! Every write bumps the provider's generation through the compare-and-swap
//! in the same transaction, from the generation read at its start; a lost
//! swap is [`Error::ConcurrentUpdate`]. Removing a class the provider has
//! allocations of is [`Error::InventoryInUse`]; lowering capacity below
//! what is allocated is allowed and only logged, as upstream does.

use placement_core::ids::Generation;
use placement_core::inventory::{Inventory, InventoryRecord};
use placement_core::resource_provider::ResourceProvider;
use tracing::{instrument, warn};

use crate::db::{Database, Tx};
use crate::error::{DbErrorKind, Error, Result};
use crate::queries::resource_providers::{self as rp_q, StoredProvider};
use crate::queries::{inventories as q, resource_classes as rc_q};

/// The text of the early generation check in upstream's PUT handlers.
pub const GENERATION_CONFLICT: &str = "resource provider generation conflict";

/// A provider (at its current generation) and its inventories.
#[derive(Debug, Clone)]
pub struct ProviderInventories {
    /// The provider, with the generation after any write.
    pub provider: ResourceProvider,
    /// Its inventories, in resource class id order.
    pub inventories: Vec<Inventory>,
}

async fn provider(tx: &mut Tx, uuid: &str) -> Result<StoredProvider> {
    rp_q::get_by_uuid(tx, uuid)
        .await?
        .ok_or_else(|| Error::ResourceProviderNotFound(uuid.to_owned()))
}

async fn class_id(tx: &mut Tx, name: &str) -> Result<i64> {
    rc_q::get_by_name(tx, name)
        .await?
        .map(|c| c.id.0)
        .ok_or_else(|| Error::ResourceClassNotFound(name.to_owned()))
}

/// Checks the client's generation, if it sent one, against what was read.
fn check_generation(stored: &StoredProvider, expected: Option<Generation>) -> Result<()> {
    match expected {
        Some(g) if g != stored.provider.generation => {
            Err(Error::ConcurrentUpdate(GENERATION_CONFLICT.to_owned()))
        }
        _ => Ok(()),
    }
}

/// Bumps the generation read at the start, re-reads the inventories and
/// commits.
async fn finish(mut tx: Tx, mut stored: StoredProvider) -> Result<ProviderInventories> {
    let read = stored.provider.generation;
    if rp_q::increment_generation(&mut tx, stored.id, read).await? != 1 {
        return Err(Error::concurrent_update());
    }
    stored.provider.generation = read.next();
    let inventories = q::for_provider(&mut tx, stored.id)
        .await?
        .into_iter()
        .map(|(_, inv)| inv)
        .collect();
    tx.commit().await?;
    Ok(ProviderInventories {
        provider: stored.provider,
        inventories,
    })
}

/// Refuses removing classes that have allocations, with upstream's text.
async fn check_not_in_use(tx: &mut Tx, stored: &StoredProvider, class_ids: &[i64]) -> Result<()> {
    let used = q::allocated_classes(tx, stored.id, class_ids).await?;
    if used.is_empty() {
        return Ok(());
    }
    Err(Error::InventoryInUse {
        resource_classes: used.join(", "),
        resource_provider: stored.provider.uuid.to_string(),
    })
}

/// Logs, as upstream does, when an update leaves usage above capacity.
async fn warn_if_over_capacity(
    tx: &mut Tx,
    stored: &StoredProvider,
    class_id: i64,
    record: &InventoryRecord,
) -> Result<()> {
    if let Some(usage) = q::usage(tx, stored.id, class_id).await? {
        if usage > record.capacity() {
            warn!(
                uuid = %stored.provider.uuid,
                resource = %record.resource_class,
                "resource provider is now over-capacity"
            );
        }
    }
    Ok(())
}

/// Makes the provider's inventory exactly `records` without touching its
/// generation: shared by [`set_inventories`] and the reshaper, which bumps
/// the generation itself (several times in one transaction).
pub(crate) async fn replace_records(
    tx: &mut Tx,
    stored: &StoredProvider,
    records: &[InventoryRecord],
) -> Result<()> {
    let mut wanted = Vec::with_capacity(records.len());
    for record in records {
        wanted.push((class_id(tx, &record.resource_class).await?, record));
    }
    let existing: Vec<i64> = q::for_provider(tx, stored.id)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let to_delete: Vec<i64> = existing
        .iter()
        .copied()
        .filter(|id| !wanted.iter().any(|(w, _)| w == id))
        .collect();
    if !to_delete.is_empty() {
        check_not_in_use(tx, stored, &to_delete).await?;
        for class in &to_delete {
            q::delete(tx, stored.id, *class).await?;
        }
    }
    for (class, record) in &wanted {
        if existing.contains(class) {
            warn_if_over_capacity(tx, stored, *class, record).await?;
            if q::update(tx, stored.id, *class, record).await? == 0 {
                return Err(Error::InventoryWithResourceClassNotFound(
                    record.resource_class.clone(),
                ));
            }
        } else {
            match q::insert(tx, stored.id, *class, record).await {
                Ok(()) => {}
                // Another writer added it meanwhile: upstream's
                // DBDuplicateEntry, a concurrent update.
                Err(Error::Database(e)) if e.kind() == DbErrorKind::UniqueViolation => {
                    return Err(Error::concurrent_update())
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// The provider and its inventories.
///
/// # Errors
/// [`Error::ResourceProviderNotFound`] when there is no such provider.
#[instrument(skip(db), err(level = "debug"))]
pub async fn get_inventories(db: &Database, uuid: &str) -> Result<ProviderInventories> {
    let mut tx = db.begin_read().await?;
    let stored = provider(&mut tx, uuid).await?;
    let inventories = q::for_provider(&mut tx, stored.id)
        .await?
        .into_iter()
        .map(|(_, inv)| inv)
        .collect();
    Ok(ProviderInventories {
        provider: stored.provider,
        inventories,
    })
}

/// Adds inventory of a class the provider does not have yet (POST).
///
/// # Errors
/// [`Error::ResourceProviderNotFound`], [`Error::ResourceClassNotFound`],
/// [`Error::InventoryExists`] when the class is already there,
/// [`Error::ConcurrentUpdate`] when the generation swap is lost.
#[instrument(skip(db, record), fields(class = %record.resource_class), err(level = "debug"))]
pub async fn add_inventory(
    db: &Database,
    uuid: &str,
    record: &InventoryRecord,
) -> Result<ProviderInventories> {
    async {
        let mut tx = db.begin().await?;
        let stored = provider(&mut tx, uuid).await?;
        let class = class_id(&mut tx, &record.resource_class).await?;
        match q::insert(&mut tx, stored.id, class, record).await {
            Ok(()) => {}
            Err(Error::Database(e)) if e.kind() == DbErrorKind::UniqueViolation => {
                return Err(Error::InventoryExists {
                    resource_class: record.resource_class.clone(),
                    resource_provider: stored.provider.uuid.to_string(),
                })
            }
            Err(e) => return Err(e),
        }
        finish(tx, stored).await
    }
    .await
    .map_err(|e| e.lost_race(Error::concurrent_update))
}

/// Overwrites the provider's inventory of one class (PUT one).
///
/// # Errors
/// [`Error::ConcurrentUpdate`] when `expected` is not the provider's
/// generation ([`GENERATION_CONFLICT`]) or the swap is lost;
/// [`Error::ResourceClassNotFound`];
/// [`Error::InventoryWithResourceClassNotFound`] when the provider has no
/// inventory of the class.
#[instrument(skip(db, record), fields(class = %record.resource_class), err(level = "debug"))]
pub async fn update_inventory(
    db: &Database,
    uuid: &str,
    expected: Generation,
    record: &InventoryRecord,
) -> Result<ProviderInventories> {
    async {
        let mut tx = db.begin().await?;
        let stored = provider(&mut tx, uuid).await?;
        check_generation(&stored, Some(expected))?;
        let class = class_id(&mut tx, &record.resource_class).await?;
        warn_if_over_capacity(&mut tx, &stored, class, record).await?;
        if q::update(&mut tx, stored.id, class, record).await? == 0 {
            return Err(Error::InventoryWithResourceClassNotFound(
                record.resource_class.clone(),
            ));
        }
        finish(tx, stored).await
    }
    .await
    .map_err(|e| e.lost_race(Error::concurrent_update))
}

/// Replaces all of the provider's inventory (PUT all; DELETE all with an
/// empty list and no generation).
///
/// # Errors
/// [`Error::ConcurrentUpdate`] as [`update_inventory`];
/// [`Error::ResourceClassNotFound`] for an unknown class;
/// [`Error::InventoryInUse`] when a class to remove has allocations.
#[instrument(skip(db, records), err(level = "debug"))]
pub async fn set_inventories(
    db: &Database,
    uuid: &str,
    expected: Option<Generation>,
    records: &[InventoryRecord],
) -> Result<ProviderInventories> {
    async {
        let mut tx = db.begin().await?;
        let stored = provider(&mut tx, uuid).await?;
        check_generation(&stored, expected)?;
        replace_records(&mut tx, &stored, records).await?;
        finish(tx, stored).await
    }
    .await
    .map_err(|e| e.lost_race(Error::concurrent_update))
}

/// Deletes the provider's inventory of one class (DELETE one).
///
/// # Errors
/// [`Error::ResourceClassNotFound`]; [`Error::InventoryInUse`] when the
/// class has allocations; [`Error::InventoryNotFoundForDelete`] when the
/// provider has none of it; [`Error::ConcurrentUpdate`] on a lost swap.
#[instrument(skip(db), err(level = "debug"))]
pub async fn delete_inventory(
    db: &Database,
    uuid: &str,
    resource_class: &str,
) -> Result<ProviderInventories> {
    async {
        let mut tx = db.begin().await?;
        let stored = provider(&mut tx, uuid).await?;
        let class = class_id(&mut tx, resource_class).await?;
        check_not_in_use(&mut tx, &stored, &[class]).await?;
        if q::delete(&mut tx, stored.id, class).await? == 0 {
            return Err(Error::InventoryNotFoundForDelete(resource_class.to_owned()));
        }
        finish(tx, stored).await
    }
    .await
    .map_err(|e| e.lost_race(Error::concurrent_update))
}
