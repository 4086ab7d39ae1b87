//! Allocations: read by consumer and by provider, replace whole consumers'
//! allocations atomically (PUT and POST /allocations), delete a consumer's,
//! and reshape (POST /reshaper).
//!
//! # One transaction per write
//! Upstream spreads an allocation write over several transactions: the
//! consumer is created first and deleted again if the write fails. Here
//! ensuring owners and consumers, the generation checks, the capacity check,
//! the row writes and the generation swaps all happen in one transaction,
//! so a failure leaves nothing behind and there is nothing to compensate.
//!
//! # Order of checks in [`replace`]
//! 1. For every request: get-or-create the project and user, read the
//!    consumer, check its generation ([`Error::ConsumerGenerationConflict`]),
//!    get-or-create the consumer type, then create the consumer (generation
//!    0) or update its owners and type (no generation bump).
//! 2. For every request: look up each provider exactly
//!    ([`Error::AllocationProviderNotFound`]); an empty request stands for
//!    its consumer's current allocations with `used = 0` (their providers
//!    are bumped, as upstream does). Then every class, in allocation order
//!    ([`Error::ResourceClassNotFound`]).
//! 3. Snapshot usage, delete the batch's allocations, and check capacity as
//!    upstream's `_check_capacity_exceeded` does ([`Error::InvalidInventory`],
//!    [`Error::AllocationConstraintsViolated`],
//!    [`Error::AllocationCapacityExceeded`]).
//! 4. Insert the rows, compare-and-swap every provider's generation with the
//!    value read in this transaction, then every consumer's
//!    ([`Error::ConcurrentUpdate`]), and delete consumers left with nothing.
//!
//! # Why the check and the write are atomic
//! Providers are read before any usage, and their generation swap comes
//! after the inserts. The swap's `UPDATE … WHERE generation = ?` reads the
//! current row on PostgreSQL (READ COMMITTED) and MySQL (REPEATABLE READ)
//! and waits for a concurrent writer's lock, so of two writers that both
//! saw room for the last unit, the second matches no row and starts over
//! with fresh reads. SQLite write transactions are serialised outright.
//!
//! # Retries
//! A lost provider swap, a transient database error, and a unique violation
//! while creating a project, user, consumer type or consumer (a concurrent
//! creator) run the whole unit again in a fresh transaction. Client-visible
//! conflicts (consumer generation, consumer swap) are never retried.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use placement_core::allocation::{
    AllocationRequest, AllocationWriteOptions, ConsumerAllocation, ConsumerAllocations,
    ConsumerGenerationCheck, InventoryReplacement, ProviderAllocation,
};
use placement_core::consumer::{Consumer, NewConsumer};
use placement_core::ids::{
    ConsumerId, ConsumerTypeId, ConsumerUuid, Generation, ProjectId, UserId,
};
use placement_core::inventory::InventoryRecord;
use placement_core::resource_provider::{ProviderUuid, ResourceProvider};
use tracing::{debug, instrument, warn};

use crate::db::{Backend, Database, Tx};
use crate::error::{DbError, DbErrorKind, Error, Result};
use crate::observe::{ConflictCause, RetryCause};
use crate::ops::inventory::replace_records;
use crate::queries::owners::{self, OwnerTable};
use crate::queries::resource_providers::{self as rp_q, StoredProvider};
use crate::queries::{
    allocations as q, consumer_types, consumers, inventories as inv_q, resource_classes as rc_q,
};

/// A provider and its allocations (`GET /resource_providers/{u}/allocations`).
#[derive(Debug, Clone)]
pub struct ProviderAllocations {
    /// The provider at its current generation.
    pub provider: ResourceProvider,
    /// Its allocations, ordered by consumer then resource class id.
    pub allocations: Vec<ProviderAllocation>,
    /// The generation of every consumer in `allocations`, by uuid as
    /// stored: microversion 1.28 shows it next to each consumer's resources.
    pub consumer_generations: BTreeMap<String, Generation>,
}

/// The consumer `uuid` (exactly as stored) and its allocations; `None` when
/// it has none (upstream answers an empty body then, never a 404).
///
/// # Errors
/// Database failures only.
#[instrument(skip(db), err(level = "debug"))]
pub async fn get_for_consumer(db: &Database, uuid: &str) -> Result<Option<ConsumerAllocations>> {
    let mut tx = db.begin_read().await?;
    let rows = q::for_consumer(&mut tx, uuid).await?;
    drop(tx);
    let Some(consumer) = rows.first().map(|(c, _)| c.clone()) else {
        return Ok(None);
    };
    let allocations = rows
        .into_iter()
        .map(|(_, a)| {
            Ok(ConsumerAllocation {
                provider: provider_uuid(&a.provider_uuid)?,
                provider_generation: a.provider_generation,
                resource_class: a.class_name,
                used: a.used,
                created_at: a.created_at,
                updated_at: a.updated_at,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(ConsumerAllocations {
        consumer,
        allocations,
    }))
}

fn provider_uuid(text: &str) -> Result<ProviderUuid> {
    text.parse()
        .map_err(|_| DbError::other(format!("stored provider uuid {text:?} is not a uuid")).into())
}

/// The provider and all allocations against it.
///
/// # Errors
/// [`Error::ResourceProviderNotFound`].
#[instrument(skip(db), err(level = "debug"))]
pub async fn get_for_provider(db: &Database, uuid: &str) -> Result<ProviderAllocations> {
    let mut tx = db.begin_read().await?;
    let stored = rp_q::get_by_uuid(&mut tx, uuid)
        .await?
        .ok_or_else(|| Error::ResourceProviderNotFound(uuid.to_owned()))?;
    let rows = q::for_provider(&mut tx, stored.id).await?;
    drop(tx);
    let mut consumer_generations = BTreeMap::new();
    let allocations = rows
        .into_iter()
        .map(|r| {
            consumer_generations.insert(r.consumer.clone(), r.consumer_generation);
            ProviderAllocation {
                consumer: r.consumer,
                resource_class: r.class_name,
                used: r.used,
                created_at: r.created_at,
                updated_at: r.updated_at,
            }
        })
        .collect();
    Ok(ProviderAllocations {
        provider: stored.provider,
        allocations,
        consumer_generations,
    })
}

/// Replaces the allocations of every consumer in `requests` in one
/// transaction, retried as a whole on a lost provider-generation race or a
/// transient database error. Each consumer should appear at most once.
///
/// `opts.conflict_retry_count` counts attempts, as upstream's `replace_all`
/// loop (`while retries: retries -= 1; …`) does; a count of 0 still makes
/// one attempt.
///
/// # Errors
/// See the module documentation for the order of checks and each error;
/// [`Error::ConcurrentUpdate`] with [`PROVIDER_CONCURRENT_UPDATE`](crate::error::PROVIDER_CONCURRENT_UPDATE)
/// when the retries run out.
#[instrument(skip_all, fields(consumers = requests.len()), err(level = "debug"))]
pub async fn replace(
    db: &Database,
    requests: &[AllocationRequest],
    opts: AllocationWriteOptions,
) -> Result<()> {
    with_retries(db, opts, "allocations write", || replace_once(db, requests)).await
}

async fn replace_once(db: &Database, requests: &[AllocationRequest]) -> Result<Attempt> {
    let mut tx = db.begin().await?;
    lock_requested_providers(db, &mut tx, requests).await?;
    let prepared = prepare(&mut tx, requests).await?;
    if write(&mut tx, &prepared).await? == Attempt::ProviderConflict {
        return Ok(Attempt::ProviderConflict);
    }
    tx.commit().await?;
    Ok(Attempt::Done)
}

/// Deletes all allocations of the consumer `uuid` (exactly as stored) and
/// the consumer. As upstream's `delete_all`, no generation is checked or
/// bumped: the client asked for the consumer to be gone whatever it held.
///
/// # Errors
/// [`Error::AllocationsNotFound`] when it has none.
#[instrument(skip(db), err(level = "debug"))]
pub async fn delete_for_consumer(db: &Database, uuid: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    let rows = q::for_consumer(&mut tx, uuid).await?;
    let Some(consumer) = rows.first().map(|(c, _)| c.uuid) else {
        return Err(Error::AllocationsNotFound(uuid.to_owned()));
    };
    // The rows read, by id, as upstream deletes them.
    let ids: Vec<i64> = rows.iter().map(|(_, a)| a.id).collect();
    q::delete_by_ids(&mut tx, &ids).await?;
    consumers::delete_if_no_allocations(&mut tx, &[consumer]).await?;
    tx.commit().await
}

/// Replaces several providers' inventories and several consumers'
/// allocations in one transaction (`POST /reshaper`), as upstream's
/// `reshaper.reshape`: each provider first gets the union of its old and
/// new inventory, then the allocations are replaced (with the same checks as
/// [`replace`]), then each provider gets exactly its new inventory.
///
/// Retried as [`replace`]; a retry checks the client's provider generations
/// again, so a concurrent change to one of them ends as a conflict.
///
/// # Errors
/// [`Error::ResourceProviderNotFound`] for a provider in `inventories`;
/// [`Error::GenerationMismatch`] with upstream's text when its generation
/// is not the client's; [`Error::ResourceClassNotFound`];
/// [`Error::InventoryInUse`] when the final inventory drops a class still
/// allocated; everything [`replace`] reports.
#[instrument(skip_all, fields(providers = inventories.len(), consumers = allocations.len()), err(level = "debug"))]
pub async fn reshape(
    db: &Database,
    inventories: &[InventoryReplacement],
    allocations: &[AllocationRequest],
    opts: AllocationWriteOptions,
) -> Result<()> {
    with_retries(db, opts, "reshape", || {
        reshape_once(db, inventories, allocations)
    })
    .await
}

async fn reshape_once(
    db: &Database,
    inventories: &[InventoryReplacement],
    allocations: &[AllocationRequest],
) -> Result<Attempt> {
    let mut tx = db.begin().await?;
    // upstream's handler checks every provider and its generation before it
    // looks at consumers.
    let mut targets: Vec<(StoredProvider, &InventoryReplacement)> = Vec::new();
    for replacement in inventories {
        let stored = rp_q::get_by_uuid(&mut tx, &replacement.provider)
            .await?
            .ok_or_else(|| Error::ResourceProviderNotFound(replacement.provider.clone()))?;
        if stored.provider.generation != replacement.generation {
            return Err(Error::GenerationMismatch(format!(
                "resource provider generation conflict for provider {}: actual: {}, given: {}",
                replacement.provider, stored.provider.generation, replacement.generation
            )));
        }
        targets.push((stored, replacement));
    }
    let mut prepared = prepare(&mut tx, allocations).await?;

    // The generation each target provider has now, in this transaction.
    let mut current: HashMap<i64, Generation> = targets
        .iter()
        .map(|(s, _)| (s.id, s.provider.generation))
        .collect();

    // Interim inventory: everything wanted at the end plus everything there
    // now, so allocations can move before any class disappears. An empty
    // new inventory would only rewrite the old one; upstream skips it.
    for (stored, replacement) in &targets {
        if replacement.inventories.is_empty() {
            continue;
        }
        let mut union: Vec<InventoryRecord> = replacement.inventories.clone();
        for (_, old) in inv_q::for_provider(&mut tx, stored.id).await? {
            if !union
                .iter()
                .any(|r| r.resource_class == old.record.resource_class)
            {
                union.push(old.record);
            }
        }
        replace_records(&mut tx, stored, &union).await?;
        if !bump_provider(&mut tx, stored.id, &mut current).await? {
            return Ok(Attempt::ProviderConflict);
        }
    }

    // The allocation write swaps from the generations the interim writes
    // left, not from those read before them.
    for (id, generation) in &mut prepared.providers {
        if let Some(now) = current.get(id) {
            *generation = *now;
        }
    }
    if write(&mut tx, &prepared).await? == Attempt::ProviderConflict {
        return Ok(Attempt::ProviderConflict);
    }
    for id in prepared.providers.keys() {
        if let Some(generation) = current.get_mut(id) {
            *generation = generation.next();
        }
    }

    for (stored, replacement) in &targets {
        replace_records(&mut tx, stored, &replacement.inventories).await?;
        if !bump_provider(&mut tx, stored.id, &mut current).await? {
            return Ok(Attempt::ProviderConflict);
        }
    }
    tx.commit().await?;
    Ok(Attempt::Done)
}

/// Swaps a reshape target's generation from the value tracked in `current`
/// and records the new one; false when the swap matched no row.
async fn bump_provider(
    tx: &mut Tx,
    id: i64,
    current: &mut HashMap<i64, Generation>,
) -> Result<bool> {
    let Some(generation) = current.get_mut(&id) else {
        return Ok(false);
    };
    if rp_q::increment_generation(tx, id, *generation).await? != 1 {
        return Ok(false);
    }
    *generation = generation.next();
    Ok(true)
}

/// On PostgreSQL and MySQL, locks the rows of the providers the requests
/// allocate from before anything is read, so writers to one provider take
/// turns instead of all reading the same generation and all but one losing
/// the compare-and-swap (which, with many writers, can exhaust the retries).
/// It must be the transaction's first statement: under MySQL's REPEATABLE
/// READ the snapshot is fixed by the first plain read, and has to be taken
/// after the lock to see the previous writer's allocations. The
/// compare-and-swap stays the guarantee; this only makes it succeed.
async fn lock_requested_providers(
    db: &Database,
    tx: &mut Tx,
    requests: &[AllocationRequest],
) -> Result<()> {
    if db.backend() == Backend::Sqlite {
        return Ok(());
    }
    let uuids: BTreeSet<&str> = requests
        .iter()
        .flat_map(|r| r.allocations.iter().map(|a| a.provider.as_str()))
        .collect();
    let uuids: Vec<&str> = uuids.into_iter().collect();
    rp_q::lock_by_uuids(tx, &uuids).await
}

/// How one attempt of a write ended, when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// Committed.
    Done,
    /// A provider's generation moved since this transaction read it: the
    /// attempt was rolled back and may be run again with fresh reads.
    ProviderConflict,
}

/// Whether a failed attempt may succeed if run again from scratch: a
/// deadlock or lost connection, or a unique violation, which in an
/// allocation write can only come from creating a project, user, consumer
/// type or consumer that a concurrent writer created first (the retry reads
/// the winner's row).
fn retryable(err: &Error) -> bool {
    err.is_transient()
        || matches!(err, Error::Database(e) if e.kind() == DbErrorKind::UniqueViolation)
}

/// Why a failed attempt that [`retryable`] accepts is run again.
fn retry_cause(err: &Error) -> RetryCause {
    match err {
        Error::Database(e) if e.kind() == DbErrorKind::ConnectionLost => RetryCause::ConnectionLost,
        Error::Database(e) if e.kind() == DbErrorKind::UniqueViolation => {
            RetryCause::ConcurrentCreate
        }
        _ => RetryCause::Deadlock,
    }
}

/// The conflict a write's final error is to the client, if it is one.
fn conflict_cause(err: &Error) -> Option<ConflictCause> {
    Some(match err {
        Error::ConsumerGenerationConflict { .. } => ConflictCause::ConsumerGeneration,
        Error::ConcurrentUpdate(_) => ConflictCause::ConsumerUpdate,
        Error::GenerationMismatch(_) => ConflictCause::ProviderGenerationMismatch,
        Error::AllocationCapacityExceeded { .. } => ConflictCause::Capacity,
        Error::AllocationConstraintsViolated { .. } | Error::InvalidInventory { .. } => {
            ConflictCause::Constraints
        }
        Error::InventoryInUse { .. } => ConflictCause::InventoryInUse,
        _ => return None,
    })
}

/// Runs `attempt` until it commits, fails for good, or has been tried
/// `opts.conflict_retry_count` times (at least once). Each retry and each
/// conflict is reported to the database handle's observer, by cause.
async fn with_retries<F, Fut>(
    db: &Database,
    opts: AllocationWriteOptions,
    what: &str,
    mut attempt: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Attempt>>,
{
    let observer = db.observer();
    let conflicted = |cause: ConflictCause| {
        if let Some(observer) = observer {
            observer.allocation_write_conflicted(cause);
        }
    };
    let attempts = opts.conflict_retry_count.max(1);
    for n in 1..=attempts {
        match attempt().await {
            Ok(Attempt::Done) => return Ok(()),
            Ok(Attempt::ProviderConflict) => {
                debug!(
                    attempt = n,
                    what, "retrying on resource provider generation conflict"
                );
                if let (Some(observer), true) = (observer, n < attempts) {
                    observer.allocation_write_retried(RetryCause::ProviderGeneration);
                }
            }
            Err(e) if retryable(&e) && n < attempts => {
                debug!(attempt = n, what, error = %e, "retrying after a transient failure");
                if let Some(observer) = observer {
                    observer.allocation_write_retried(retry_cause(&e));
                }
                // A short, growing, jittered pause lets deadlocked peers finish.
                let jitter = u64::from(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.subsec_nanos())
                        % 10,
                );
                tokio::time::sleep(Duration::from_millis(u64::from(n) * 5 + jitter)).await;
            }
            Err(e)
                if retryable(&e)
                    && !matches!(&e, Error::Database(d) if d.kind() == DbErrorKind::ConnectionLost) =>
            {
                // Still losing races on the last attempt: a conflict for the
                // client to retry, not a server failure.
                warn!(attempt = n, what, error = %e, "exceeded retry limit on conflicting writers");
                conflicted(ConflictCause::Deadlock);
                return Err(Error::provider_concurrent_update());
            }
            Err(e) => {
                if let Some(cause) = conflict_cause(&e) {
                    conflicted(cause);
                }
                return Err(e);
            }
        }
    }
    warn!(
        retries = opts.conflict_retry_count,
        what, "exceeded retry limit on resource provider generation conflicts"
    );
    conflicted(ConflictCause::ProviderGeneration);
    Err(Error::provider_concurrent_update())
}

/// A consumer of the batch as this transaction sees it.
#[derive(Debug)]
struct PendingConsumer {
    id: ConsumerId,
    uuid: ConsumerUuid,
    /// The generation read (0 when created here): the swap's expected value.
    generation: Generation,
    /// The request named no allocations: the consumer goes if none remain.
    emptied: bool,
}

/// One allocation the batch wants, resolved to ids.
#[derive(Debug)]
struct Wanted {
    consumer: usize,
    provider_id: i64,
    provider_uuid: String,
    class_id: i64,
    class_name: String,
    /// 0 stands for "remove" (an empty request's current allocations).
    used: i64,
}

/// Everything read and created before the capacity check.
#[derive(Debug)]
struct Prepared {
    consumers: Vec<PendingConsumer>,
    allocations: Vec<Wanted>,
    /// Every provider the write touches, with the generation to swap from.
    providers: BTreeMap<i64, Generation>,
}

async fn project_id(tx: &mut Tx, external_id: &str) -> Result<ProjectId> {
    if let Some(id) = owners::get_id(tx, OwnerTable::Projects, external_id).await? {
        return Ok(ProjectId(id));
    }
    Ok(ProjectId(
        owners::insert(tx, OwnerTable::Projects, external_id).await?,
    ))
}

async fn user_id(tx: &mut Tx, external_id: &str) -> Result<UserId> {
    if let Some(id) = owners::get_id(tx, OwnerTable::Users, external_id).await? {
        return Ok(UserId(id));
    }
    Ok(UserId(
        owners::insert(tx, OwnerTable::Users, external_id).await?,
    ))
}

async fn consumer_type_id(tx: &mut Tx, name: &str) -> Result<ConsumerTypeId> {
    if let Some(found) = consumer_types::get_by_name(tx, name).await? {
        return Ok(found.id);
    }
    Ok(consumer_types::insert(tx, name).await?.id)
}

fn generation_conflict(expected: impl ToString, got: impl ToString) -> Error {
    Error::ConsumerGenerationConflict {
        expected: expected.to_string(),
        got: got.to_string(),
    }
}

/// upstream's `ensure_consumer` generation check, with its wording.
fn check_consumer_generation(
    check: ConsumerGenerationCheck,
    existing: Option<&Consumer>,
) -> Result<()> {
    match (check, existing) {
        (ConsumerGenerationCheck::Unchecked, _) | (ConsumerGenerationCheck::ExpectNew, None) => {
            Ok(())
        }
        (ConsumerGenerationCheck::Expect(g), Some(c)) if g == c.generation => Ok(()),
        (ConsumerGenerationCheck::Expect(g), Some(c)) => Err(generation_conflict(c.generation, g)),
        (ConsumerGenerationCheck::ExpectNew, Some(c)) => {
            Err(generation_conflict(c.generation, "None"))
        }
        (ConsumerGenerationCheck::Expect(g), None) => Err(generation_conflict("null", g)),
    }
}

/// Step 1 for one request: owners, generation check, type, then create or
/// update the consumer.
async fn ensure_consumer(tx: &mut Tx, req: &AllocationRequest) -> Result<PendingConsumer> {
    let project = project_id(tx, &req.project_id).await?;
    let user = user_id(tx, &req.user_id).await?;
    let existing = consumers::get_by_uuid(tx, req.consumer).await?;
    check_consumer_generation(req.generation, existing.as_ref())?;
    let type_id = match &req.consumer_type {
        Some(name) => Some(consumer_type_id(tx, name).await?),
        None => None,
    };
    let emptied = req.allocations.is_empty();
    match existing {
        None => {
            let new = NewConsumer {
                uuid: req.consumer,
                project_id: project,
                user_id: user,
                consumer_type_id: type_id,
            };
            let id = consumers::insert(tx, &new).await?;
            Ok(PendingConsumer {
                id,
                uuid: req.consumer,
                generation: Generation::INITIAL,
                emptied,
            })
        }
        Some(c) => {
            let stored_type = c.consumer_type.as_ref().map(|t| t.id);
            let owners_differ = c.project.id != project || c.user.id != user;
            let type_differs = type_id.is_some() && type_id != stored_type;
            if owners_differ || type_differs {
                debug!(consumer = %c.uuid, "updating consumer project, user or type");
                // Guarded by, but not bumping, the generation read; should it
                // match nothing, the generation swap below reports it.
                consumers::update_owners(
                    tx,
                    c.id,
                    c.generation,
                    project,
                    user,
                    type_id.or(stored_type),
                )
                .await?;
            }
            Ok(PendingConsumer {
                id: c.id,
                uuid: c.uuid,
                generation: c.generation,
                emptied,
            })
        }
    }
}

/// Steps 1 and 2: ensure every consumer, then resolve every provider, then
/// every class, in upstream's order.
async fn prepare(tx: &mut Tx, requests: &[AllocationRequest]) -> Result<Prepared> {
    let mut pending = Vec::with_capacity(requests.len());
    for req in requests {
        pending.push(ensure_consumer(tx, req).await?);
    }

    // Providers first (upstream's handler resolves them before the write
    // looks at any class), remembering the generation this transaction saw.
    let mut providers: BTreeMap<i64, Generation> = BTreeMap::new();
    let mut found: HashMap<&str, (i64, String)> = HashMap::new();
    // (consumer index, provider id, provider uuid, class name, known class id, used)
    let mut unresolved: Vec<(usize, i64, String, String, Option<i64>, i64)> = Vec::new();
    for (index, req) in requests.iter().enumerate() {
        if req.allocations.is_empty() {
            let current = q::for_consumers(tx, &[req.consumer.to_string()]).await?;
            for a in current {
                providers
                    .entry(a.provider_id)
                    .or_insert(a.provider_generation);
                unresolved.push((
                    index,
                    a.provider_id,
                    a.provider_uuid,
                    a.class_name,
                    Some(a.class_id),
                    0,
                ));
            }
            continue;
        }
        for wanted in &req.allocations {
            let (id, uuid) = match found.get(wanted.provider.as_str()) {
                Some(hit) => hit.clone(),
                None => {
                    let stored =
                        rp_q::get_by_uuid(tx, &wanted.provider)
                            .await?
                            .ok_or_else(|| {
                                Error::AllocationProviderNotFound(wanted.provider.clone())
                            })?;
                    providers
                        .entry(stored.id)
                        .or_insert(stored.provider.generation);
                    let hit = (stored.id, stored.provider.uuid.to_string());
                    found.insert(wanted.provider.as_str(), hit.clone());
                    hit
                }
            };
            for (class, amount) in &wanted.resources {
                unresolved.push((index, id, uuid.clone(), class.clone(), None, *amount));
            }
        }
    }

    let mut classes: HashMap<String, i64> = HashMap::new();
    let mut allocations = Vec::with_capacity(unresolved.len());
    for (consumer, provider_id, provider_uuid, class_name, class_id, used) in unresolved {
        let class_id = match class_id {
            Some(id) => id,
            None => match classes.get(&class_name) {
                Some(id) => *id,
                None => {
                    let id = rc_q::get_by_name(tx, &class_name)
                        .await?
                        .map(|c| c.id.0)
                        .ok_or_else(|| Error::ResourceClassNotFound(class_name.clone()))?;
                    classes.insert(class_name.clone(), id);
                    id
                }
            },
        };
        allocations.push(Wanted {
            consumer,
            provider_id,
            provider_uuid,
            class_id,
            class_name,
            used,
        });
    }
    Ok(Prepared {
        consumers: pending,
        allocations,
        providers,
    })
}

/// Steps 3 and 4: snapshot, delete, check capacity, insert, swap
/// generations, drop emptied consumers. Does not commit.
async fn write(tx: &mut Tx, prepared: &Prepared) -> Result<Attempt> {
    let provider_ids: Vec<i64> = prepared
        .allocations
        .iter()
        .map(|a| a.provider_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let class_ids: Vec<i64> = prepared
        .allocations
        .iter()
        .map(|a| a.class_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    // Usage before this write, for upstream's "no worse than before" rule.
    let previous: HashMap<(i64, i64), i64> = q::usage(tx, &provider_ids, &class_ids)
        .await?
        .into_iter()
        .map(|(rp, rc, used)| ((rp, rc), used))
        .collect();

    let uuids: Vec<String> = prepared
        .consumers
        .iter()
        .map(|c| c.uuid.to_string())
        .collect();
    let old = q::ids_for_consumers(tx, &uuids).await?;
    q::delete_by_ids(tx, &old).await?;

    check_capacity(tx, prepared, &provider_ids, &class_ids, &previous).await?;

    let now = crate::queries::utcnow();
    for a in prepared.allocations.iter().filter(|a| a.used > 0) {
        q::insert(
            tx,
            a.provider_id,
            &uuids[a.consumer],
            a.class_id,
            a.used,
            now,
        )
        .await?;
    }

    // Swaps in id order, so writers touching the same providers lock them
    // in the same order.
    for (id, generation) in &prepared.providers {
        if rp_q::increment_generation(tx, *id, *generation).await? != 1 {
            return Ok(Attempt::ProviderConflict);
        }
    }
    let mut by_id: Vec<&PendingConsumer> = prepared.consumers.iter().collect();
    by_id.sort_by_key(|c| c.id.0);
    for c in by_id {
        if consumers::increment_generation(tx, c.id, c.generation).await? != 1 {
            return Err(Error::concurrent_update());
        }
    }

    let emptied: Vec<ConsumerUuid> = prepared
        .consumers
        .iter()
        .filter(|c| c.emptied)
        .map(|c| c.uuid)
        .collect();
    if !emptied.is_empty() {
        consumers::delete_if_no_allocations(tx, &emptied).await?;
    }
    Ok(Attempt::Done)
}

/// upstream's `_check_capacity_exceeded`, against usage without the
/// batch's own (already deleted) allocations.
async fn check_capacity(
    tx: &mut Tx,
    prepared: &Prepared,
    provider_ids: &[i64],
    class_ids: &[i64],
    previous: &HashMap<(i64, i64), i64>,
) -> Result<()> {
    let rows = q::capacity(tx, provider_ids, class_ids).await?;
    let with_inventory: HashSet<i64> = rows.iter().map(|r| r.provider_id).collect();
    let inventory: HashMap<(i64, i64), q::CapacityRow> = rows
        .into_iter()
        .map(|r| ((r.provider_id, r.class_id), r))
        .collect();

    // A provider with none of the requested classes at all. upstream joins
    // two sets; classes in id order and providers sorted keep it stable.
    let missing: Vec<&str> = prepared
        .allocations
        .iter()
        .filter(|a| !with_inventory.contains(&a.provider_id))
        .map(|a| a.provider_uuid.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !missing.is_empty() {
        let names: BTreeMap<i64, &str> = prepared
            .allocations
            .iter()
            .map(|a| (a.class_id, a.class_name.as_str()))
            .collect();
        return Err(Error::InvalidInventory {
            resource_class: names.into_values().collect::<Vec<_>>().join(", "),
            resource_provider: missing.join(", "),
        });
    }

    let mut sums: HashMap<(i64, i64), i64> = HashMap::new();
    for a in &prepared.allocations {
        let key = (a.provider_id, a.class_id);
        let needed_all = {
            let sum = sums.entry(key).or_insert(0);
            *sum += a.used;
            *sum
        };
        if a.used == 0 {
            continue;
        }
        let Some(inv) = inventory.get(&key) else {
            return Err(Error::InvalidInventory {
                resource_class: a.class_name.clone(),
                resource_provider: a.provider_uuid.clone(),
            });
        };
        let limits = inv.limits();
        if !limits.admits_amount(a.used) {
            warn!(
                resource_class = %a.class_name,
                provider = %a.provider_uuid,
                requested = a.used,
                min_unit = inv.min_unit,
                max_unit = inv.max_unit,
                step_size = inv.step_size,
                "allocation violates min_unit, max_unit, or step_size"
            );
            return Err(Error::AllocationConstraintsViolated {
                resource_class: a.class_name.clone(),
                resource_provider: a.provider_uuid.clone(),
            });
        }
        let used = inv.used.unwrap_or(0);
        // upstream checks both this allocation and the batch's sum for the
        // same provider and class, in the float form of capacity.
        if !limits.fits_with_usage(used, a.used) || !limits.fits_with_usage(used, needed_all) {
            match previous.get(&key) {
                Some(&prev) if used + needed_all <= prev => {
                    warn!(
                        resource_class = %a.class_name,
                        provider = %a.provider_uuid,
                        previous = prev,
                        now = used + needed_all,
                        "over capacity, but the allocation reduces the existing overage"
                    );
                }
                _ => {
                    warn!(
                        resource_class = %a.class_name,
                        provider = %a.provider_uuid,
                        needed = a.used,
                        used,
                        capacity = limits.capacity_for_writes(),
                        "over capacity"
                    );
                    return Err(Error::AllocationCapacityExceeded {
                        resource_class: a.class_name.clone(),
                        resource_provider: a.provider_uuid.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}
