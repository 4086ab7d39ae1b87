//! The consumer store: projects, users, consumer types and consumers.
//!
//! Every function is one unit of work in its own transaction, with upstream's
//! semantics (`placement/objects/{consumer,project,user,consumer_type}.py`):
//! get-or-create of owners is race-safe (insert, and on a unique violation
//! read what the winner wrote); creating an existing consumer is
//! [`Error::ConsumerExists`]; reading a missing one is
//! [`Error::ConsumerNotFound`]; changing owners never bumps the generation;
//! bumping the generation is a compare-and-swap in the `UPDATE` itself, so a
//! lost race is [`Error::ConcurrentUpdate`] and never a silent overwrite.
//!
//! Allocation writes (a later layer) compose the same leaf statements inside
//! their own transaction; these functions are the standalone forms used by
//! tools, the online data migration and the tests.

use placement_core::consumer::{
    Consumer, ConsumerType, MigrationCount, NewConsumer, Project, User,
};
use placement_core::ids::{ConsumerTypeId, ConsumerUuid, Generation, ProjectId, UserId};
use tracing::instrument;

use crate::db::Database;
use crate::error::{DbErrorKind, Error, Result};
use crate::queries::owners::{self, OwnerTable};
use crate::queries::{consumer_types, consumers};

/// How often get-or-create re-reads after losing an insert race or hitting a
/// transient failure before giving up.
const GET_OR_CREATE_ATTEMPTS: usize = 5;

/// Get-or-create, race-safe on every backend: read; if missing, insert in a
/// transaction of its own; on a unique violation (another process inserted
/// first) or a transient failure, read again. `$get` and `$insert` are
/// closures-as-expressions over a `&mut Tx` named by `$tx`.
macro_rules! get_or_create {
    ($db:expr, |$tx:ident| $get:expr, |$tx2:ident| $insert:expr) => {{
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut $tx = $db.begin_read().await?;
            let found = $get;
            drop($tx);
            match found {
                Ok(Some(found)) => break Ok(found),
                Ok(None) => {}
                Err(e) if e.is_transient() && attempt < GET_OR_CREATE_ATTEMPTS => continue,
                Err(e) => break Err(e),
            }
            let created = async {
                let mut $tx2 = $db.begin().await?;
                let created = $insert?;
                $tx2.commit().await?;
                Ok::<_, Error>(created)
            }
            .await;
            match created {
                Ok(created) => break Ok(created),
                Err(Error::Database(ref e))
                    if e.kind() == DbErrorKind::UniqueViolation
                        && attempt < GET_OR_CREATE_ATTEMPTS => {}
                Err(e) if e.is_transient() && attempt < GET_OR_CREATE_ATTEMPTS => {}
                Err(e) => break Err(e),
            }
        }
    }};
}

/// Returns the project with this Keystone id, creating its row if needed.
///
/// # Errors
/// A database error that persisted through several tries.
#[instrument(skip(db), err(level = "debug"))]
pub async fn ensure_project(db: &Database, external_id: &str) -> Result<Project> {
    let id = get_or_create!(
        db,
        |tx| owners::get_id(&mut tx, OwnerTable::Projects, external_id).await,
        |tx| owners::insert(&mut tx, OwnerTable::Projects, external_id).await
    )?;
    Ok(owners::project(id, external_id))
}

/// Returns the user with this Keystone id, creating its row if needed.
///
/// # Errors
/// As [`ensure_project`].
#[instrument(skip(db), err(level = "debug"))]
pub async fn ensure_user(db: &Database, external_id: &str) -> Result<User> {
    let id = get_or_create!(
        db,
        |tx| owners::get_id(&mut tx, OwnerTable::Users, external_id).await,
        |tx| owners::insert(&mut tx, OwnerTable::Users, external_id).await
    )?;
    Ok(owners::user(id, external_id))
}

/// Returns the consumer type with this name, creating it if needed.
///
/// # Errors
/// As [`ensure_project`].
#[instrument(skip(db), err(level = "debug"))]
pub async fn ensure_consumer_type(db: &Database, name: &str) -> Result<ConsumerType> {
    get_or_create!(
        db,
        |tx| consumer_types::get_by_name(&mut tx, name).await,
        |tx| consumer_types::insert(&mut tx, name).await
    )
}

/// Creates a consumer at generation 0 and returns it as stored.
///
/// # Errors
/// [`Error::ConsumerExists`] when the UUID is taken (on every backend, from
/// the unique constraint, not from a prior read); database errors otherwise.
#[instrument(skip(db), fields(consumer = %new.uuid), err(level = "debug"))]
pub async fn create_consumer(db: &Database, new: &NewConsumer) -> Result<Consumer> {
    let mut tx = db.begin().await?;
    match consumers::insert(&mut tx, new).await {
        Ok(_) => {}
        Err(Error::Database(e)) if e.kind() == DbErrorKind::UniqueViolation => {
            return Err(Error::ConsumerExists(new.uuid.to_string()))
        }
        Err(e) => return Err(e),
    }
    let consumer = consumers::get_by_uuid(&mut tx, new.uuid)
        .await?
        .ok_or_else(|| Error::ConsumerNotFound(new.uuid.to_string()))?;
    tx.commit().await?;
    Ok(consumer)
}

/// Reads a consumer with its project, user and type.
///
/// # Errors
/// [`Error::ConsumerNotFound`] when there is no such consumer.
#[instrument(skip(db), err(level = "debug"))]
pub async fn get_consumer(db: &Database, uuid: ConsumerUuid) -> Result<Consumer> {
    let mut tx = db.begin_read().await?;
    consumers::get_by_uuid(&mut tx, uuid)
        .await?
        .ok_or_else(|| Error::ConsumerNotFound(uuid.to_string()))
}

/// Looks a consumer up, answering `None` rather than an error when missing
/// (`GET /allocations/{uuid}` answers an empty body for unknown consumers).
///
/// # Errors
/// Database errors only.
#[instrument(skip(db), err(level = "debug"))]
pub async fn find_consumer(db: &Database, uuid: ConsumerUuid) -> Result<Option<Consumer>> {
    let mut tx = db.begin_read().await?;
    consumers::get_by_uuid(&mut tx, uuid).await
}

/// Changes a consumer's project, user and type without bumping its
/// generation (upstream's `Consumer.update`), guarded by the generation it
/// was read with so a change based on a stale read is refused.
///
/// # Errors
/// [`Error::ConcurrentUpdate`] when the consumer changed or vanished since
/// `read` was taken.
#[instrument(skip(db, read), fields(consumer = %read.uuid), err(level = "debug"))]
pub async fn update_consumer(
    db: &Database,
    read: &Consumer,
    project_id: ProjectId,
    user_id: UserId,
    consumer_type_id: Option<ConsumerTypeId>,
) -> Result<Consumer> {
    let mut tx = db.begin().await?;
    let matched = consumers::update_owners(
        &mut tx,
        read.id,
        read.generation,
        project_id,
        user_id,
        consumer_type_id,
    )
    .await?;
    if matched != 1 {
        return Err(Error::concurrent_update());
    }
    let consumer = consumers::get_by_uuid(&mut tx, read.uuid)
        .await?
        .ok_or_else(|| Error::ConsumerNotFound(read.uuid.to_string()))?;
    tx.commit().await?;
    Ok(consumer)
}

/// Bumps the generation of a consumer from the value it was read with.
/// Exactly one of several callers holding the same read can succeed.
///
/// # Errors
/// [`Error::ConcurrentUpdate`] when the stored generation is no longer
/// `read.generation` (or the consumer is gone).
#[instrument(skip(db, read), fields(consumer = %read.uuid, generation = %read.generation), err(level = "debug"))]
pub async fn increment_generation(db: &Database, read: &Consumer) -> Result<Generation> {
    let mut tx = db.begin().await?;
    let matched = consumers::increment_generation(&mut tx, read.id, read.generation).await?;
    if matched != 1 {
        return Err(Error::concurrent_update());
    }
    tx.commit().await?;
    Ok(read.generation.next())
}

/// Deletes a consumer record (not its allocations).
///
/// # Errors
/// [`Error::ConsumerNotFound`] when there was nothing to delete.
#[instrument(skip(db), err(level = "debug"))]
pub async fn delete_consumer(db: &Database, uuid: ConsumerUuid) -> Result<()> {
    let mut tx = db.begin().await?;
    if consumers::delete_by_uuid(&mut tx, uuid).await? == 0 {
        return Err(Error::ConsumerNotFound(uuid.to_string()));
    }
    tx.commit().await
}

/// Deletes those of `uuids` that hold no allocations and returns how many
/// went: upstream never keeps a consumer without allocations.
///
/// # Errors
/// Database errors only.
#[instrument(skip(db, uuids), fields(count = uuids.len()), err(level = "debug"))]
pub async fn delete_consumers_if_no_allocations(
    db: &Database,
    uuids: &[ConsumerUuid],
) -> Result<u64> {
    if uuids.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let deleted = consumers::delete_if_no_allocations(&mut tx, uuids).await?;
    tx.commit().await?;
    Ok(deleted)
}

/// The `create_incomplete_consumers` online data migration: gives up to
/// `max_count` allocation consumer ids that have no consumer row one, owned by
/// the configured incomplete-consumer project and user. Running it again
/// finds nothing more to do.
///
/// # Errors
/// Database errors only; the batch is all or nothing.
#[instrument(skip(db), err(level = "debug"))]
pub async fn create_incomplete_consumers(
    db: &Database,
    incomplete_project_id: &str,
    incomplete_user_id: &str,
    max_count: u64,
) -> Result<MigrationCount> {
    // Like upstream, the owner rows are ensured before the batch.
    let project = ensure_project(db, incomplete_project_id).await?;
    let user = ensure_user(db, incomplete_user_id).await?;
    let mut tx = db.begin().await?;
    let done =
        consumers::create_missing_for_allocations(&mut tx, project.id, user.id, max_count).await?;
    tx.commit().await?;
    Ok(MigrationCount { found: done, done })
}

/// How many allocation consumer ids still lack a consumer row (for
/// `placement-status upgrade check`).
///
/// # Errors
/// Database errors only.
#[instrument(skip(db), err(level = "debug"))]
pub async fn count_incomplete_consumers(db: &Database) -> Result<i64> {
    let mut tx = db.begin_read().await?;
    consumers::count_missing_for_allocations(&mut tx).await
}
