//! Resource classes: standard (read-only) and `CUSTOM_*`.
//!
//! Upstream's semantics (`placement/objects/resource_class.py`): a custom
//! class gets `max(id) + 1`, at least 10000, computed in the inserting
//! transaction; two creators that pick the same id collide on the primary
//! key and the loser tries again with a fresh read, up to 100 times. A
//! collision on the name instead means the class exists. Classes with ids
//! below 10000 are standard and can be neither renamed nor deleted; a class
//! with inventory cannot be deleted.
//!
//! We tell an id collision from a name collision by reading the name again
//! after the failed insert, never by constraint name or message text.

use placement_core::resource_class::{CustomClassName, ResourceClass};
use tracing::{instrument, warn};

use crate::db::Database;
use crate::error::{DbErrorKind, Error, Result};
use crate::queries::{self, resource_classes as q};

/// upstream's `RESOURCE_CREATE_RETRY_COUNT`: a stopgap against an endless
/// loop, not a number anyone expects to reach.
const CREATE_ATTEMPTS: usize = 100;

/// Every resource class, standard and custom, in id order.
///
/// # Errors
/// Database errors only.
#[instrument(skip_all, err(level = "debug"))]
pub async fn list_resource_classes(db: &Database) -> Result<Vec<ResourceClass>> {
    let mut tx = db.begin_read().await?;
    q::all(&mut tx).await
}

/// The resource class with this name.
///
/// # Errors
/// [`Error::ResourceClassNotFound`] when there is none.
#[instrument(skip(db), err(level = "debug"))]
pub async fn get_resource_class(db: &Database, name: &str) -> Result<ResourceClass> {
    let mut tx = db.begin_read().await?;
    q::get_by_name(&mut tx, name)
        .await?
        .ok_or_else(|| Error::ResourceClassNotFound(name.to_owned()))
}

/// Creates a custom class with the next free custom id.
///
/// # Errors
/// [`Error::ResourceClassExists`] when the name is taken;
/// [`Error::MaxDbRetriesExceeded`] when 100 attempts all lost the race for
/// an id; database errors otherwise.
#[instrument(skip(db), fields(name = %name), err(level = "debug"))]
pub async fn create_resource_class(db: &Database, name: &CustomClassName) -> Result<ResourceClass> {
    for attempt in 1..=CREATE_ATTEMPTS {
        match try_create(db, name).await {
            Ok(created) => return Ok(created),
            Err(Error::Database(e))
                if e.kind() == DbErrorKind::UniqueViolation || e.kind().is_transient() =>
            {
                // Name taken (do not retry) or id taken (retry)?
                let mut tx = db.begin_read().await?;
                if q::get_by_name(&mut tx, name.as_str()).await?.is_some() {
                    return Err(Error::ResourceClassExists(name.to_string()));
                }
                drop(tx);
                tracing::debug!(attempt, error = %e, "resource class id collided, retrying");
            }
            Err(e) => return Err(e),
        }
    }
    warn!(
        name = %name,
        "exceeded retry limit on id generation while creating resource class"
    );
    Err(Error::MaxDbRetriesExceeded(format!(
        "creating resource class {name}"
    )))
}

/// One attempt of [`create_resource_class`]: read the next id and insert, in
/// one transaction.
async fn try_create(db: &Database, name: &CustomClassName) -> Result<ResourceClass> {
    let mut tx = db.begin().await?;
    if q::get_by_name(&mut tx, name.as_str()).await?.is_some() {
        return Err(Error::ResourceClassExists(name.to_string()));
    }
    let id = q::next_custom_id(&mut tx).await?;
    q::insert(&mut tx, id, name.as_str(), queries::utcnow()).await?;
    let created = q::get_by_name(&mut tx, name.as_str())
        .await?
        .ok_or_else(|| Error::ResourceClassNotFound(name.to_string()))?;
    tx.commit().await?;
    Ok(created)
}

/// What [`ensure_resource_class`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured {
    /// The class was created by this call.
    Created(ResourceClass),
    /// The class already existed (or another caller created it meanwhile).
    Existing(ResourceClass),
}

/// Creates a custom class unless it exists: `PUT /resource_classes/{name}`
/// from microversion 1.7.
///
/// # Errors
/// As [`create_resource_class`], except that a name taken (even by a
/// concurrent creator) is [`Ensured::Existing`], not an error.
#[instrument(skip(db), fields(name = %name), err(level = "debug"))]
pub async fn ensure_resource_class(db: &Database, name: &CustomClassName) -> Result<Ensured> {
    match get_resource_class(db, name.as_str()).await {
        Ok(existing) => return Ok(Ensured::Existing(existing)),
        Err(Error::ResourceClassNotFound(_)) => {}
        Err(e) => return Err(e),
    }
    match create_resource_class(db, name).await {
        Ok(created) => Ok(Ensured::Created(created)),
        Err(Error::ResourceClassExists(_)) => get_resource_class(db, name.as_str())
            .await
            .map(Ensured::Existing),
        Err(e) => Err(e),
    }
}

/// Renames a custom class (`PUT /resource_classes/{name}` before 1.7).
///
/// # Errors
/// [`Error::ResourceClassNotFound`] when `name` does not exist;
/// [`Error::ResourceClassCannotUpdateStandard`] (carrying `name`) for a
/// standard class; [`Error::ResourceClassExists`] (carrying the new name)
/// when the new name is taken.
#[instrument(skip(db), fields(new_name = %new_name), err(level = "debug"))]
pub async fn update_resource_class(
    db: &Database,
    name: &str,
    new_name: &CustomClassName,
) -> Result<ResourceClass> {
    let mut tx = db.begin().await?;
    let class = q::get_by_name(&mut tx, name)
        .await?
        .ok_or_else(|| Error::ResourceClassNotFound(name.to_owned()))?;
    if class.is_standard() {
        return Err(Error::ResourceClassCannotUpdateStandard(name.to_owned()));
    }
    match q::rename(&mut tx, class.id, new_name.as_str(), queries::utcnow()).await {
        Ok(1) => {}
        Ok(_) => return Err(Error::ResourceClassNotFound(name.to_owned())),
        Err(Error::Database(e)) if e.kind() == DbErrorKind::UniqueViolation => {
            return Err(Error::ResourceClassExists(new_name.to_string()))
        }
        Err(e) => return Err(e),
    }
    let renamed = q::get_by_name(&mut tx, new_name.as_str())
        .await?
        .ok_or_else(|| Error::ResourceClassNotFound(new_name.to_string()))?;
    tx.commit().await?;
    Ok(renamed)
}

/// Deletes a custom class that no inventory uses.
///
/// # Errors
/// [`Error::ResourceClassNotFound`] when it does not exist (or vanished
/// meanwhile); [`Error::ResourceClassCannotDeleteStandard`] for a standard
/// class; [`Error::ResourceClassInUse`] when some provider has inventory of
/// it.
#[instrument(skip(db), err(level = "debug"))]
pub async fn delete_resource_class(db: &Database, name: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    let class = q::get_by_name(&mut tx, name)
        .await?
        .ok_or_else(|| Error::ResourceClassNotFound(name.to_owned()))?;
    if class.is_standard() {
        return Err(Error::ResourceClassCannotDeleteStandard(class.name));
    }
    if q::count_inventories(&mut tx, class.id).await? > 0 {
        return Err(Error::ResourceClassInUse(class.name));
    }
    if q::delete(&mut tx, class.id).await? == 0 {
        return Err(Error::ResourceClassNotFound(name.to_owned()));
    }
    tx.commit().await
}
