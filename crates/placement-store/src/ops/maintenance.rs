//! Online data migrations and the counts behind `placement-status upgrade
//! check`: the repairs an operator runs on data older code left behind.

use placement_core::consumer::MigrationCount;
use tracing::instrument;

use crate::db::Database;
use crate::error::Result;
use crate::queries::resource_providers;

/// The `set_root_provider_ids` online data migration: makes up to
/// `max_count` providers without a root their own root.
///
/// # Errors
/// Database errors only; the batch is all or nothing.
#[instrument(skip(db), err(level = "debug"))]
pub async fn set_root_provider_ids(db: &Database, max_count: u64) -> Result<MigrationCount> {
    let mut tx = db.begin().await?;
    let done = resource_providers::set_missing_root_ids(&mut tx, max_count).await?;
    tx.commit().await?;
    Ok(MigrationCount { found: done, done })
}

/// How many providers still lack a root provider id.
///
/// # Errors
/// Database errors only.
#[instrument(skip(db), err(level = "debug"))]
pub async fn count_missing_root_provider_ids(db: &Database) -> Result<i64> {
    let mut tx = db.begin_read().await?;
    resource_providers::count_missing_root_ids(&mut tx).await
}
