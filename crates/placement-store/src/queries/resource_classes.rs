//! `resource_classes`: reads by name, the next custom id, and the writes
//! behind create, rename and delete. Plus the one `inventories` count that
//! decides whether a class may go.

use chrono::NaiveDateTime;
use placement_core::ids::ResourceClassId;
use placement_core::resource_class::{ResourceClass, MIN_CUSTOM_ID};

use crate::db::{Row, Tx};
use crate::error::Result;
use crate::params;

fn from_row(row: &Row) -> Result<ResourceClass> {
    Ok(ResourceClass {
        id: ResourceClassId(row.get_i64(0)?),
        name: row.get_string(1)?,
        created_at: row.get_opt_timestamp(2)?,
        updated_at: row.get_opt_timestamp(3)?,
    })
}

/// Every class, standard and custom, in id order.
pub(crate) async fn all(tx: &mut Tx) -> Result<Vec<ResourceClass>> {
    tx.fetch_all_with(
        r"SELECT id, name, created_at, updated_at FROM resource_classes ORDER BY id",
        params![],
        from_row,
    )
    .await
}

/// The class with this name, if any.
pub(crate) async fn get_by_name(tx: &mut Tx, name: &str) -> Result<Option<ResourceClass>> {
    tx.fetch_optional_with(
        r"SELECT id, name, created_at, updated_at FROM resource_classes WHERE name = ?",
        params![name],
        from_row,
    )
    .await
}

/// The id the next custom class gets: one more than the largest id stored,
/// and never less than [`MIN_CUSTOM_ID`] (upstream's `_get_next_id`). Ids
/// are not taken from a sequence: upstream never advances one, so a
/// sequence would hand out ids that upstream's processes also pick.
pub(crate) async fn next_custom_id(tx: &mut Tx) -> Result<i64> {
    let max = tx
        .fetch_one_with(r"SELECT MAX(id) FROM resource_classes", params![], |r| {
            r.get_opt_i64(0)
        })
        .await?
        .unwrap_or(0);
    Ok(max.saturating_add(1).max(MIN_CUSTOM_ID))
}

/// Inserts a class with the id given; a unique violation means the id or
/// the name is taken.
pub(crate) async fn insert(
    tx: &mut Tx,
    id: i64,
    name: &str,
    created_at: NaiveDateTime,
) -> Result<()> {
    tx.execute(
        r"INSERT INTO resource_classes (id, name, created_at) VALUES (?, ?, ?)",
        params![id, name, created_at],
    )
    .await?;
    Ok(())
}

/// Renames the class with this id; returns the rows matched.
pub(crate) async fn rename(
    tx: &mut Tx,
    id: ResourceClassId,
    name: &str,
    updated_at: NaiveDateTime,
) -> Result<u64> {
    tx.execute(
        r"UPDATE resource_classes SET name = ?, updated_at = ? WHERE id = ?",
        params![name, updated_at, id.0],
    )
    .await
}

/// Deletes the class with this id; returns the rows deleted.
pub(crate) async fn delete(tx: &mut Tx, id: ResourceClassId) -> Result<u64> {
    tx.execute(r"DELETE FROM resource_classes WHERE id = ?", params![id.0])
        .await
}

/// How many inventories are of this class.
pub(crate) async fn count_inventories(tx: &mut Tx, id: ResourceClassId) -> Result<i64> {
    tx.fetch_one_with(
        r"SELECT COUNT(*) FROM inventories WHERE resource_class_id = ?",
        params![id.0],
        |r| r.get_i64(0),
    )
    .await
}
