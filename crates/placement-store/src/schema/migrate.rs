//! Leaf statements behind [`crate::ops::schema`]: reading the catalog and
//! `alembic_version`, and applying one revision inside the caller's
//! transaction.
//!
//! Listing tables is the one catalog query that differs per backend; the
//! `alembic_version` statements are alembic's own and the same everywhere.

use std::collections::BTreeSet;

use crate::db::{Backend, Tx};
use crate::error::{Error, Result};
use crate::params;

use super::{ddl, PLACEMENT_TABLES, REVISIONS};

/// What the catalog says about the schema's provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inspection {
    /// Whether the `alembic_version` table exists.
    pub has_version_table: bool,
    /// Its rows (alembic keeps one per branch head; placement has one branch).
    pub versions: Vec<String>,
    /// Which of upstream's tables exist, sorted.
    pub placement_tables: Vec<String>,
}

/// Names of the base tables in the connection's schema/database.
pub(crate) async fn table_names(tx: &mut Tx) -> Result<BTreeSet<String>> {
    let sql = match tx.backend() {
        Backend::Sqlite => {
            r"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'"
        }
        Backend::Postgres => {
            r"SELECT c.relname::text FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()"
        }
        Backend::MySql => {
            r"SELECT TABLE_NAME FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'"
        }
    };
    let rows = tx.fetch_all(sql, params![]).await?;
    rows.iter().map(|r| r.get_string(0)).collect()
}

/// Reads the catalog and, when present, `alembic_version`.
pub(crate) async fn inspect(tx: &mut Tx) -> Result<Inspection> {
    let tables = table_names(tx).await?;
    let has_version_table = tables.contains("alembic_version");
    let versions = if has_version_table {
        let rows = tx
            .fetch_all(r"SELECT version_num FROM alembic_version", params![])
            .await?;
        rows.iter()
            .map(|r| r.get_string(0))
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let placement_tables = PLACEMENT_TABLES
        .iter()
        .filter(|t| tables.contains(**t))
        .map(|t| (*t).to_owned())
        .collect();
    Ok(Inspection {
        has_version_table,
        versions,
        placement_tables,
    })
}

/// Creates `alembic_version` as alembic does before its first migration.
pub(crate) async fn create_version_table(tx: &mut Tx) -> Result<()> {
    tx.execute_raw(ddl::CREATE_ALEMBIC_VERSION).await
}

/// Replaces whatever `alembic_version` holds with `revision` (what `db
/// stamp` does), creating the table first if needed.
pub(crate) async fn write_version(tx: &mut Tx, has_table: bool, revision: &str) -> Result<()> {
    if !has_table {
        create_version_table(tx).await?;
    }
    tx.execute(r"DELETE FROM alembic_version", params![])
        .await?;
    tx.execute(
        r"INSERT INTO alembic_version (version_num) VALUES (?)",
        params![revision],
    )
    .await?;
    Ok(())
}

/// Applies `REVISIONS[index]` to a database at the revision before it (or,
/// for index 0, to an empty one whose `alembic_version` exists and is empty),
/// and records the new revision.
///
/// On MySQL each DDL statement commits implicitly, so a failure part-way
/// leaves the step half done, exactly as it would with alembic.
pub(crate) async fn apply(tx: &mut Tx, index: usize) -> Result<()> {
    let Some(revision) = REVISIONS.get(index) else {
        return Err(Error::Schema(format!(
            "no schema revision at position {index}"
        )));
    };
    let backend = tx.backend();
    let statements: &[&str] = match (revision.id, backend) {
        ("b4ed3a175331", Backend::Postgres) => ddl::INITIAL_POSTGRES,
        ("b4ed3a175331", Backend::MySql) => ddl::INITIAL_MYSQL,
        ("b4ed3a175331", Backend::Sqlite) => ddl::INITIAL_SQLITE,
        ("611cd6dffd7b", _) => {
            refuse_if_any(
                tx,
                ddl::COUNT_NULL_ROOT_PROVIDERS,
                revision.id,
                "resource provider(s) have no root_provider_id",
            )
            .await?;
            &[]
        }
        ("b5c396305c25", _) => {
            refuse_if_any(
                tx,
                ddl::COUNT_ALLOCATIONS_WITHOUT_CONSUMER,
                revision.id,
                "allocation(s) have no consumer record",
            )
            .await?;
            &[]
        }
        ("422ece571366", Backend::Postgres) => ddl::CONSUMER_TYPES_POSTGRES,
        ("422ece571366", Backend::MySql) => ddl::CONSUMER_TYPES_MYSQL,
        ("422ece571366", Backend::Sqlite) => ddl::CONSUMER_TYPES_SQLITE,
        ("a082b8bb98d0", Backend::MySql) => ddl::DROP_REDUNDANT_INDEXES_MYSQL,
        ("a082b8bb98d0", _) => ddl::DROP_REDUNDANT_INDEXES,
        (other, _) => {
            return Err(Error::Schema(format!("no DDL known for revision {other}")));
        }
    };
    for statement in statements {
        tx.execute_raw(statement).await?;
    }
    match revision.down_revision {
        None => {
            tx.execute(
                r"INSERT INTO alembic_version (version_num) VALUES (?)",
                params![revision.id],
            )
            .await?;
        }
        Some(previous) => {
            let matched = tx
                .execute(
                    r"UPDATE alembic_version SET version_num = ? WHERE alembic_version.version_num = ?",
                    params![revision.id, previous],
                )
                .await?;
            if matched != 1 {
                return Err(Error::Schema(format!(
                    "alembic_version no longer holds {previous} while upgrading to {}: \
                     another process is migrating this database",
                    revision.id
                )));
            }
        }
    }
    Ok(())
}

/// The guard of the two "block on" revisions: upstream refuses to go on while
/// online data migrations are outstanding, because later code assumes them.
async fn refuse_if_any(tx: &mut Tx, count_sql: &str, revision: &str, what: &str) -> Result<()> {
    let count = tx.fetch_one(count_sql, params![]).await?.get_i64(0)?;
    if count > 0 {
        return Err(Error::Schema(format!(
            "cannot upgrade the placement database to revision {revision}: {count} {what}. \
             Run `placement-manage db online_data_migrations` until it reports nothing left \
             to do, then run `placement-manage db sync` again."
        )));
    }
    Ok(())
}
