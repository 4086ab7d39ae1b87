//! Schema units of work: what `placement-manage db sync | version | stamp`
//! do, and the check the API makes at startup.
//!
//! The revision bookkeeping is alembic's (`alembic_version`, one row), so
//! upstream's `placement-manage` and ours can take turns on one database.
//! [`sync`] applies one revision per transaction, as alembic does on
//! backends without transactional DDL; on PostgreSQL and SQLite each step is
//! therefore atomic, on MySQL each statement commits by itself.

use tracing::{info, instrument, warn};

use crate::db::{Backend, Database, Tx};
use crate::error::{Error, Result};
use crate::params;
use crate::schema::migrate::{self, Inspection};
use crate::schema::{resolve_revision, revision_index, HEAD, INITIAL, REVISIONS};

/// What a database's schema is, as far as revisions go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// No placement tables and no recorded revision: [`sync`] creates
    /// everything.
    Empty,
    /// `alembic_version` records this revision. It may be one this code does
    /// not know (see [`SchemaState::is_known`]), for example after a newer
    /// upstream migrated the database.
    AtRevision(String),
    /// Placement tables exist but no revision is recorded (built from the
    /// models by upstream's test fixtures, or copied out of `nova_api`). The
    /// API serves such a database as it is; [`sync`] refuses to touch it
    /// until an operator runs `db stamp`.
    Unversioned,
}

impl SchemaState {
    /// True when the schema is at [`HEAD`]: nothing to migrate.
    pub fn is_current(&self) -> bool {
        matches!(self, SchemaState::AtRevision(r) if r == HEAD)
    }

    /// True unless the recorded revision is one this code has never heard
    /// of; an unknown revision is most likely a newer upstream's.
    pub fn is_known(&self) -> bool {
        match self {
            SchemaState::AtRevision(r) => revision_index(r).is_some(),
            SchemaState::Empty | SchemaState::Unversioned => true,
        }
    }

    /// The recorded revision, if any.
    pub fn revision(&self) -> Option<&str> {
        match self {
            SchemaState::AtRevision(r) => Some(r),
            SchemaState::Empty | SchemaState::Unversioned => None,
        }
    }
}

/// What [`sync`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// The revision found before syncing (`None`: the database was empty).
    pub from: Option<String>,
    /// The revisions applied, in order; empty when already at head.
    pub applied: Vec<&'static str>,
}

/// Brings the schema to [`HEAD`] (`placement-manage db sync`): creates
/// everything on an empty database, applies the missing revisions on an older
/// one, does nothing on a current one. Safe to run from several processes at
/// once on PostgreSQL and SQLite: a step that fails because another process
/// applied it first is not an error.
///
/// # Errors
/// As [`upgrade`].
pub async fn sync(db: &Database) -> Result<SyncReport> {
    upgrade(db, "head").await
}

/// Brings the schema to `target` (a known revision id, or `head`), one
/// revision per transaction, as `alembic upgrade <target>` does. Used by
/// [`sync`], and by tests and tooling that need a database at an older
/// revision.
///
/// # Errors
/// - [`Error::Schema`] when `target` is unknown; when the database records a
///   revision this code does not know, a revision newer than `target`, or
///   more than one; when it has placement tables but no recorded revision
///   (run `placement-manage db stamp <revision>` first); or when a "block on"
///   revision finds data that `placement-manage db online_data_migrations`
///   must fix first (the message gives the count).
/// - [`Error::Database`] when a statement fails.
#[instrument(skip_all, fields(to = target), err(level = "debug"))]
pub async fn upgrade(db: &Database, target: &str) -> Result<SyncReport> {
    let Some(target) = resolve_revision(target).and_then(|r| revision_index(r.id)) else {
        return Err(unknown_argument(target));
    };
    let mut report: Option<SyncReport> = None;
    // Each pass applies at most one revision; a lost race re-reads and goes
    // on, so the bound only stops a pathological loop.
    for _ in 0..(REVISIONS.len() * 3 + 1) {
        let mut tx = db.begin().await?;
        if let Err(e) = serialize_migrations(db, &mut tx).await {
            return Err(abandon(tx, e).await);
        }
        let planned = plan(&mut tx, target).await;
        let (current, next) = match planned {
            Ok(p) => p,
            Err(e) => return Err(abandon(tx, e).await),
        };
        let report = report.get_or_insert_with(|| SyncReport {
            from: current.revision.clone(),
            applied: Vec::new(),
        });
        let Some(next) = next else {
            tx.commit().await?;
            return Ok(report.clone());
        };
        let applied = async {
            if next == 0 && !current.has_version_table {
                migrate::create_version_table(&mut tx).await?;
            }
            migrate::apply(&mut tx, next).await
        }
        .await;
        match finish(tx, applied).await {
            Ok(()) => {
                let revision = REVISIONS[next].id;
                info!(
                    revision,
                    description = REVISIONS[next].description,
                    "applied schema revision"
                );
                report.applied.push(revision);
            }
            Err(err) => {
                // Another process may have applied this step meanwhile (DDL
                // racing DDL fails rather than waits on some backends).
                if moved_past(db, current.revision.as_deref()).await {
                    continue;
                }
                return Err(err);
            }
        }
    }
    Err(Error::Schema(
        "schema sync made no progress: another process keeps changing alembic_version".to_owned(),
    ))
}

/// The PostgreSQL advisory lock key schema steps take ("placemnt" in
/// ASCII), so only one process migrates at a time.
const MIGRATION_LOCK_KEY: i64 = 0x706c_6163_656d_6e74;

/// Makes concurrent migrators on PostgreSQL take turns: without it, two
/// processes creating the same table can race on the implicit sequence
/// name and leave a `…_seq1` default behind. The lock is released with the
/// step's transaction. SQLite's write transactions already serialize;
/// MySQL commits DDL on its own, so a lock could not cover a step there.
async fn serialize_migrations(db: &Database, tx: &mut Tx) -> Result<()> {
    if db.backend() == Backend::Postgres {
        tx.fetch_one(
            "SELECT 1 FROM pg_advisory_xact_lock(?)",
            params![MIGRATION_LOCK_KEY],
        )
        .await?;
    }
    Ok(())
}

/// Where the database stands before a step.
struct Current {
    revision: Option<String>,
    has_version_table: bool,
}

/// Reads the recorded revision and decides the next step towards
/// `REVISIONS[target]`: `None` when there is nothing left to do.
async fn plan(tx: &mut Tx, target: usize) -> Result<(Current, Option<usize>)> {
    let inspection = migrate::inspect(tx).await?;
    let revision = current_revision(&inspection)?;
    let next = match &revision {
        None => Some(0),
        Some(rev) => match revision_index(rev) {
            Some(i) if i == target => None,
            Some(i) if i > target => {
                return Err(Error::Schema(format!(
                    "the database is at schema revision {rev}, newer than {}; \
                     placement does not downgrade",
                    REVISIONS[target].id
                )));
            }
            Some(i) => Some(i + 1),
            None => return Err(unknown_revision(rev)),
        },
    };
    let current = Current {
        revision,
        has_version_table: inspection.has_version_table,
    };
    Ok((current, next))
}

/// Commits on success, rolls back on failure. Ending transactions
/// explicitly, errors included, matters on MySQL: a dropped transaction's
/// rollback is only sent when the pool next touches the connection, and
/// until then it holds metadata locks that block DDL such as DROP DATABASE.
async fn finish<T>(tx: Tx, result: Result<T>) -> Result<T> {
    match result {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(e) => Err(abandon(tx, e).await),
    }
}

/// Rolls back and hands back the error that caused it.
async fn abandon(tx: Tx, error: Error) -> Error {
    if let Err(rollback) = tx.rollback().await {
        warn!(error = %rollback, "rollback failed");
    }
    error
}

/// The revision recorded in `alembic_version`, as `placement-manage db
/// version` prints it: `None` when the table is missing or empty.
///
/// # Errors
/// [`Error::Schema`] when more than one revision is recorded;
/// [`Error::Database`] when the catalog cannot be read.
#[instrument(skip_all, err(level = "debug"))]
pub async fn version(db: &Database) -> Result<Option<String>> {
    let mut tx = db.begin_read().await?;
    let inspection = migrate::inspect(&mut tx).await;
    let inspection = finish(tx, inspection).await?;
    single_version(&inspection.versions)
}

/// Records `revision` (a known revision id, or `head`) in `alembic_version`
/// without touching any other table, creating `alembic_version` if needed.
/// Operators use it after building the tables some other way, typically
/// `stamp b4ed3a175331` after copying them out of `nova_api`. Returns the
/// revision id stored.
///
/// # Errors
/// [`Error::Schema`] when `revision` is neither `head` nor a revision this
/// code knows; [`Error::Database`] when the write fails.
#[instrument(skip_all, fields(revision = revision), err(level = "debug"))]
pub async fn stamp(db: &Database, revision: &str) -> Result<&'static str> {
    let Some(target) = resolve_revision(revision) else {
        return Err(unknown_argument(revision));
    };
    let mut tx = db.begin().await?;
    let written = async {
        let inspection = migrate::inspect(&mut tx).await?;
        migrate::write_version(&mut tx, inspection.has_version_table, target.id).await
    }
    .await;
    finish(tx, written).await?;
    info!(revision = target.id, "stamped schema revision");
    Ok(target.id)
}

/// Where the schema stands, for the API to decide at startup whether it can
/// serve this database (anything but an unknown revision or an older one it
/// was not asked to migrate).
///
/// # Errors
/// [`Error::Schema`] when more than one revision is recorded;
/// [`Error::Database`] when the catalog cannot be read.
#[instrument(skip_all, err(level = "debug"))]
pub async fn current_state(db: &Database) -> Result<SchemaState> {
    let mut tx = db.begin_read().await?;
    let inspection = migrate::inspect(&mut tx).await;
    let inspection = finish(tx, inspection).await?;
    Ok(match single_version(&inspection.versions)? {
        Some(rev) => SchemaState::AtRevision(rev),
        None if inspection.placement_tables.is_empty() => SchemaState::Empty,
        None => SchemaState::Unversioned,
    })
}

fn single_version(versions: &[String]) -> Result<Option<String>> {
    match versions {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        many => Err(Error::Schema(format!(
            "alembic_version holds {} revisions ({}); placement has a single line of \
             revisions, so the table was changed by hand",
            many.len(),
            many.join(", ")
        ))),
    }
}

/// The revision sync starts from, refusing a schema it must not touch.
fn current_revision(inspection: &Inspection) -> Result<Option<String>> {
    match single_version(&inspection.versions)? {
        Some(rev) => Ok(Some(rev)),
        None if inspection.placement_tables.is_empty() => Ok(None),
        None => Err(Error::Schema(format!(
            "the database has placement tables ({}) but no recorded schema revision, so \
             it was not created by `placement-manage db sync`. If the tables match \
             revision {INITIAL} (copied out of nova_api) or another known revision, \
             record it with `placement-manage db stamp <revision>` and sync again.",
            inspection.placement_tables.join(", ")
        ))),
    }
}

fn unknown_argument(revision: &str) -> Error {
    Error::Schema(format!(
        "unknown schema revision {revision:?}; known revisions are {} (or \"head\")",
        REVISIONS
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn unknown_revision(rev: &str) -> Error {
    Error::Schema(format!(
        "the database is at schema revision {rev}, which this placement does not know \
         (its newest is {HEAD}); it was probably migrated by a newer release"
    ))
}

/// After a failed step: has somebody else moved the database on from
/// `from`? Errors while checking count as "no", so the original error is
/// the one reported.
async fn moved_past(db: &Database, from: Option<&str>) -> bool {
    let Ok(mut tx) = db.begin_read().await else {
        return false;
    };
    let inspection = migrate::inspect(&mut tx).await;
    match finish(tx, inspection).await {
        Ok(inspection) => single_version(&inspection.versions)
            .map(|now| now.as_deref() != from)
            .unwrap_or(false),
        Err(_) => false,
    }
}
