//! `placement_aggregates` and `resource_provider_aggregates`: aggregate
//! uuids (created on first use, never deleted) and which providers are in
//! them.

use crate::db::Tx;
use crate::error::Result;
use crate::params;

/// The aggregates of provider `rp_id` as `(id, uuid)`, in aggregate id
/// order (upstream's statement has no ORDER BY).
pub(crate) async fn for_provider(tx: &mut Tx, rp_id: i64) -> Result<Vec<(i64, String)>> {
    tx.fetch_all_with(
        r"SELECT a.id, a.uuid
  FROM placement_aggregates a
  JOIN resource_provider_aggregates rpa ON rpa.aggregate_id = a.id
 WHERE rpa.resource_provider_id = ?
 ORDER BY a.id",
        params![rp_id],
        |r| Ok((r.get_i64(0)?, r.get_string(1)?)),
    )
    .await
}

/// The internal id of aggregate `uuid`, when it has been seen before.
pub(crate) async fn id_by_uuid(tx: &mut Tx, uuid: &str) -> Result<Option<i64>> {
    tx.fetch_optional_with(
        r"SELECT id FROM placement_aggregates WHERE uuid = ?",
        params![uuid],
        |r| r.get_i64(0),
    )
    .await
}

/// Inserts aggregate `uuid`; an existing uuid is a unique violation.
pub(crate) async fn insert(tx: &mut Tx, uuid: &str) -> Result<i64> {
    tx.insert_returning_id(
        r"INSERT INTO placement_aggregates (uuid, created_at) VALUES (?, ?)",
        params![uuid, crate::queries::utcnow()],
    )
    .await
}

/// Puts provider `rp_id` in aggregate `agg_id`.
pub(crate) async fn associate(tx: &mut Tx, rp_id: i64, agg_id: i64) -> Result<u64> {
    tx.execute(
        r"INSERT INTO resource_provider_aggregates (resource_provider_id, aggregate_id, created_at) VALUES (?, ?, ?)",
        params![rp_id, agg_id, crate::queries::utcnow()],
    )
    .await
}

/// Takes provider `rp_id` out of aggregate `agg_id`.
pub(crate) async fn disassociate(tx: &mut Tx, rp_id: i64, agg_id: i64) -> Result<u64> {
    tx.execute(
        r"DELETE FROM resource_provider_aggregates WHERE resource_provider_id = ? AND aggregate_id = ?",
        params![rp_id, agg_id],
    )
    .await
}
