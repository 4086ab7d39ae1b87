//! `inventories`: a provider's records by class, their writes, and the
//! `allocations` reads that decide whether a record may go.

use placement_core::inventory::{Inventory, InventoryRecord};

use crate::db::{Row, Tx, Value};
use crate::error::Result;
use crate::params;

fn from_row(r: &Row) -> Result<(i64, Inventory)> {
    Ok((
        r.get_i64(0)?,
        Inventory {
            record: InventoryRecord {
                resource_class: r.get_string(1)?,
                total: r.get_i64(2)?,
                reserved: r.get_i64(3)?,
                min_unit: r.get_i64(4)?,
                max_unit: r.get_i64(5)?,
                step_size: r.get_i64(6)?,
                allocation_ratio: r.get_f64(7)?,
            },
            created_at: r.get_opt_timestamp(8)?,
            updated_at: r.get_opt_timestamp(9)?,
        },
    ))
}

/// The provider's inventories with their class ids, in class id order.
pub(crate) async fn for_provider(tx: &mut Tx, provider_id: i64) -> Result<Vec<(i64, Inventory)>> {
    tx.fetch_all_with(
        r"SELECT i.resource_class_id, rc.name, i.total, i.reserved, i.min_unit,
                 i.max_unit, i.step_size, i.allocation_ratio, i.created_at, i.updated_at
          FROM inventories i
          JOIN resource_classes rc ON rc.id = i.resource_class_id
          WHERE i.resource_provider_id = ?
          ORDER BY i.resource_class_id",
        params![provider_id],
        from_row,
    )
    .await
}

/// Inserts one record; a unique violation means the class is already there.
pub(crate) async fn insert(
    tx: &mut Tx,
    provider_id: i64,
    class_id: i64,
    inv: &InventoryRecord,
) -> Result<()> {
    tx.execute(
        r"INSERT INTO inventories (resource_provider_id, resource_class_id, total, reserved,
                                   min_unit, max_unit, step_size, allocation_ratio, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            provider_id,
            class_id,
            inv.total,
            inv.reserved,
            inv.min_unit,
            inv.max_unit,
            inv.step_size,
            inv.allocation_ratio,
            crate::queries::utcnow()
        ],
    )
    .await?;
    Ok(())
}

/// Overwrites one record; returns the rows matched.
pub(crate) async fn update(
    tx: &mut Tx,
    provider_id: i64,
    class_id: i64,
    inv: &InventoryRecord,
) -> Result<u64> {
    tx.execute(
        r"UPDATE inventories SET total = ?, reserved = ?, min_unit = ?, max_unit = ?,
                 step_size = ?, allocation_ratio = ?, updated_at = ?
          WHERE resource_provider_id = ? AND resource_class_id = ?",
        params![
            inv.total,
            inv.reserved,
            inv.min_unit,
            inv.max_unit,
            inv.step_size,
            inv.allocation_ratio,
            crate::queries::utcnow(),
            provider_id,
            class_id
        ],
    )
    .await
}

/// Deletes one record; returns the rows deleted.
pub(crate) async fn delete(tx: &mut Tx, provider_id: i64, class_id: i64) -> Result<u64> {
    tx.execute(
        r"DELETE FROM inventories WHERE resource_provider_id = ? AND resource_class_id = ?",
        params![provider_id, class_id],
    )
    .await
}

/// The names of the classes among `class_ids` that the provider has
/// allocations of, in class id order (upstream's in-use check).
pub(crate) async fn allocated_classes(
    tx: &mut Tx,
    provider_id: i64,
    class_ids: &[i64],
) -> Result<Vec<String>> {
    if class_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; class_ids.len()].join(", ");
    let sql = format!(
        "SELECT DISTINCT rc.id, rc.name FROM allocations a
         JOIN resource_classes rc ON rc.id = a.resource_class_id
         WHERE a.resource_provider_id = ? AND a.resource_class_id IN ({marks})
         ORDER BY rc.id"
    );
    let mut values = vec![Value::from(provider_id)];
    values.extend(class_ids.iter().map(|id| Value::from(*id)));
    tx.fetch_all_with(&sql, &values, |row| row.get_string(1))
        .await
}

/// Total used of one class on the provider, if any allocations exist.
pub(crate) async fn usage(tx: &mut Tx, provider_id: i64, class_id: i64) -> Result<Option<i64>> {
    tx.fetch_one_with(
        r"SELECT SUM(used) FROM allocations WHERE resource_provider_id = ? AND resource_class_id = ?",
        params![provider_id, class_id], |r| r.get_opt_i64(0)).await
}
