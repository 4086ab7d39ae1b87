//! Traits: standard (read-only) and `CUSTOM_*`, with upstream's semantics
//! (`placement/objects/trait.py`): names are matched exactly; creating is
//! race-safe (insert, and a unique violation means another writer created
//! the same trait); deleting refuses standard traits and traits a resource
//! provider has.
//!
//! Provider–trait associations are written by the resource-provider units
//! of work; here they are only read, for `associated` and the in-use check.

use placement_core::traits::{self, CustomTraitName, Trait, TraitFilter};
use tracing::{instrument, warn};

use crate::db::Database;
use crate::error::{DbErrorKind, Error, Result};
use crate::queries::{self, traits as q};

/// What [`ensure_trait`] found or did; `PUT /traits/{name}` answers 201 for
/// the first and 204 otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnsuredTrait {
    /// This call created the trait.
    Created(Trait),
    /// The trait already existed, as read.
    Existed(Trait),
    /// Another writer created the same trait while this call was inserting
    /// it; its row is not read back (upstream reports no timestamps then).
    CreatedConcurrently,
}

/// Lists the traits `filter` selects: by name for a list of names, oldest
/// first otherwise (the orders upstream's plans give on SQLite).
///
/// # Errors
/// Database errors only.
#[instrument(skip(db), err(level = "debug"))]
pub async fn list_traits(db: &Database, filter: &TraitFilter) -> Result<Vec<Trait>> {
    let mut tx = db.begin_read().await?;
    q::list(&mut tx, filter).await
}

/// Reads the trait named exactly `name`.
///
/// # Errors
/// [`Error::TraitNotFound`] when there is none.
#[instrument(skip(db), err(level = "debug"))]
pub async fn get_trait(db: &Database, name: &str) -> Result<Trait> {
    let mut tx = db.begin_read().await?;
    q::get_by_name(&mut tx, name)
        .await?
        .map(|stored| stored.trait_)
        .ok_or_else(|| Error::TraitNotFound(name.to_owned()))
}

/// Creates the custom trait `name` unless it exists. Safe under races: when
/// two callers create the same name at once, exactly one gets
/// [`EnsuredTrait::Created`] and the table holds one row.
///
/// # Errors
/// Database errors other than the unique violation of a lost race.
#[instrument(skip(db), fields(name = %name), err(level = "debug"))]
pub async fn ensure_trait(db: &Database, name: &CustomTraitName) -> Result<EnsuredTrait> {
    let mut tx = db.begin().await?;
    if let Some(stored) = q::get_by_name(&mut tx, name.as_str()).await? {
        return Ok(EnsuredTrait::Existed(stored.trait_));
    }
    let created_at = queries::utcnow();
    match q::insert(&mut tx, name.as_str(), created_at).await {
        Ok(_) => {}
        Err(Error::Database(e)) if e.kind() == DbErrorKind::UniqueViolation => {
            // Roll back now rather than on drop: MySQL would otherwise keep
            // the failed insert's locks until the pool reuses the connection.
            if let Err(rollback) = tx.rollback().await {
                warn!(error = %rollback, "rollback failed");
            }
            return Ok(EnsuredTrait::CreatedConcurrently);
        }
        Err(e) => return Err(e),
    }
    tx.commit().await?;
    Ok(EnsuredTrait::Created(Trait {
        name: name.as_str().to_owned(),
        created_at: Some(created_at),
        updated_at: None,
    }))
}

/// Deletes the custom trait `name`.
///
/// # Errors
/// [`Error::TraitNotFound`] when there is no such trait (checked first, as
/// upstream does); [`Error::TraitCannotDeleteStandard`] for a standard
/// trait; [`Error::TraitInUse`] when a resource provider has it.
#[instrument(skip(db), err(level = "debug"))]
pub async fn delete_trait(db: &Database, name: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    let stored = q::get_by_name(&mut tx, name)
        .await?
        .ok_or_else(|| Error::TraitNotFound(name.to_owned()))?;
    if !traits::is_custom(&stored.trait_.name) {
        return Err(Error::TraitCannotDeleteStandard(name.to_owned()));
    }
    if q::count_providers(&mut tx, stored.id).await? > 0 {
        return Err(Error::TraitInUse(name.to_owned()));
    }
    if q::delete(&mut tx, stored.id).await? == 0 {
        return Err(Error::TraitNotFound(name.to_owned()));
    }
    tx.commit().await
}
