//! `resource_providers`: the statements the maintenance tools need so far.

use crate::db::Tx;
use crate::error::Result;
use crate::params;

/// Sets `root_provider_id = id` on up to `limit` providers that have none
/// (providers written before nested trees existed). Returns how many.
pub(crate) async fn set_missing_root_ids(tx: &mut Tx, limit: u64) -> Result<u64> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // The extra derived table lets MySQL read the table it updates.
    tx.execute(
        r"UPDATE resource_providers SET root_provider_id = id
          WHERE id IN (
            SELECT id FROM (
              SELECT id FROM resource_providers
              WHERE root_provider_id IS NULL
              ORDER BY id
              LIMIT ?
            ) AS subq
          )",
        params![limit],
    )
    .await
}

/// How many providers lack a root provider id.
pub(crate) async fn count_missing_root_ids(tx: &mut Tx) -> Result<i64> {
    tx.fetch_one(
        r"SELECT COUNT(*) FROM resource_providers WHERE root_provider_id IS NULL",
        params![],
    )
    .await?
    .get_i64(0)
}
