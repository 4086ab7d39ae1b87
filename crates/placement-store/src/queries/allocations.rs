//! `allocations`: reads by consumer and by provider, the usage sums and
//! inventory rows the capacity check needs, and the row writes of an
//! allocation replace.
//!
//! `allocations.consumer_id` holds the consumer's uuid text and joins on
//! `consumers.uuid`, as upstream's schema has it. The reads that answer
//! clients join consumers, projects and users with inner joins, as upstream's
//! `_get_allocations_by_*` do, so rows of a consumer without a record stay
//! invisible there.

use chrono::NaiveDateTime;
use placement_core::capacity::InventoryLimits;
use placement_core::consumer::Consumer;
use placement_core::ids::Generation;

use crate::db::{Tx, Value};
use crate::error::Result;
use crate::params;
use crate::queries::consumers::consumer_from_row;

/// Bounded IN lists keep every backend under its parameter limit.
const CHUNK: usize = 500;

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// One allocation row with its provider and class resolved.
#[derive(Debug, Clone)]
pub(crate) struct StoredAllocation {
    pub(crate) id: i64,
    pub(crate) provider_id: i64,
    pub(crate) provider_uuid: String,
    pub(crate) provider_generation: Generation,
    pub(crate) class_id: i64,
    pub(crate) class_name: String,
    pub(crate) used: i64,
    pub(crate) created_at: Option<NaiveDateTime>,
    pub(crate) updated_at: Option<NaiveDateTime>,
}

const ALLOCATION_COLUMNS: &str = r"a.id, rp.id, rp.uuid, rp.generation,
       rc.id, rc.name, a.used, a.created_at, a.updated_at";

fn allocation_from_row(r: &crate::db::Row, base: usize) -> Result<StoredAllocation> {
    Ok(StoredAllocation {
        id: r.get_i64(base)?,
        provider_id: r.get_i64(base + 1)?,
        provider_uuid: r.get_string(base + 2)?,
        provider_generation: Generation(r.get_opt_i64(base + 3)?.unwrap_or(0)),
        class_id: r.get_i64(base + 4)?,
        class_name: r.get_string(base + 5)?,
        used: r.get_i64(base + 6)?,
        created_at: r.get_opt_timestamp(base + 7)?,
        updated_at: r.get_opt_timestamp(base + 8)?,
    })
}

/// The consumer `uuid` and its allocations, in provider then class id
/// order, read in one statement so the generation and the rows agree.
/// Empty when the consumer has no allocations or no record.
pub(crate) async fn for_consumer(
    tx: &mut Tx,
    uuid: &str,
) -> Result<Vec<(Consumer, StoredAllocation)>> {
    let sql = format!(
        r"SELECT c.id, c.uuid, c.generation, c.created_at, c.updated_at,
                 p.id, p.external_id, u.id, u.external_id, ct.id, ct.name,
                 {ALLOCATION_COLUMNS}
          FROM allocations a
          INNER JOIN resource_providers rp ON a.resource_provider_id = rp.id
          INNER JOIN resource_classes rc ON a.resource_class_id = rc.id
          INNER JOIN consumers c ON a.consumer_id = c.uuid
          INNER JOIN projects p ON c.project_id = p.id
          INNER JOIN users u ON c.user_id = u.id
          LEFT OUTER JOIN consumer_types ct ON c.consumer_type_id = ct.id
          WHERE a.consumer_id = ?
          ORDER BY rp.id, rc.id, a.id"
    );
    tx.fetch_all_with(&sql, params![uuid], |r| {
        Ok((consumer_from_row(r)?, allocation_from_row(r, 11)?))
    })
    .await
}

/// Every allocation row of the consumers `uuids`, with or without a
/// consumer record: what a replace deletes, and (with `used` set to zero)
/// what an empty request stands for.
pub(crate) async fn for_consumers(tx: &mut Tx, uuids: &[String]) -> Result<Vec<StoredAllocation>> {
    let mut out = Vec::new();
    for chunk in uuids.chunks(CHUNK) {
        let sql = format!(
            r"SELECT {ALLOCATION_COLUMNS}
              FROM allocations a
              INNER JOIN resource_providers rp ON a.resource_provider_id = rp.id
              INNER JOIN resource_classes rc ON a.resource_class_id = rc.id
              WHERE a.consumer_id IN ({})
              ORDER BY rp.id, rc.id, a.id",
            marks(chunk.len())
        );
        let params: Vec<Value> = chunk.iter().map(Value::from).collect();
        out.extend(
            tx.fetch_all_with(&sql, &params, |r| allocation_from_row(r, 0))
                .await?,
        );
    }
    Ok(out)
}

/// One allocation row seen from its provider, with its consumer's
/// generation (shown from microversion 1.28).
#[derive(Debug, Clone)]
pub(crate) struct ProviderRow {
    pub(crate) consumer: String,
    pub(crate) consumer_generation: Generation,
    pub(crate) class_name: String,
    pub(crate) used: i64,
    pub(crate) created_at: Option<NaiveDateTime>,
    pub(crate) updated_at: Option<NaiveDateTime>,
}

/// The allocations against provider `provider_id`, in consumer then class
/// id order.
pub(crate) async fn for_provider(tx: &mut Tx, provider_id: i64) -> Result<Vec<ProviderRow>> {
    tx.fetch_all_with(
        r"SELECT a.consumer_id, c.generation, rc.name, a.used, a.created_at, a.updated_at
          FROM allocations a
          INNER JOIN resource_classes rc ON a.resource_class_id = rc.id
          INNER JOIN consumers c ON a.consumer_id = c.uuid
          INNER JOIN projects p ON c.project_id = p.id
          INNER JOIN users u ON c.user_id = u.id
          WHERE a.resource_provider_id = ?
          ORDER BY a.consumer_id, a.resource_class_id, a.id",
        params![provider_id],
        |r| {
            Ok(ProviderRow {
                consumer: r.get_string(0)?,
                consumer_generation: Generation(r.get_opt_i64(1)?.unwrap_or(0)),
                class_name: r.get_string(2)?,
                used: r.get_i64(3)?,
                created_at: r.get_opt_timestamp(4)?,
                updated_at: r.get_opt_timestamp(5)?,
            })
        },
    )
    .await
}

/// Usage per (provider id, class id) over the given providers and classes
/// (upstream's `_provider_usage_summary`); pairs without allocations are
/// absent.
pub(crate) async fn usage(
    tx: &mut Tx,
    provider_ids: &[i64],
    class_ids: &[i64],
) -> Result<Vec<(i64, i64, i64)>> {
    if provider_ids.is_empty() || class_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        r"SELECT resource_provider_id, resource_class_id, SUM(used)
          FROM allocations
          WHERE resource_class_id IN ({}) AND resource_provider_id IN ({})
          GROUP BY resource_provider_id, resource_class_id",
        marks(class_ids.len()),
        marks(provider_ids.len())
    );
    let params: Vec<Value> = class_ids
        .iter()
        .chain(provider_ids)
        .copied()
        .map(Value::Int)
        .collect();
    tx.fetch_all_with(&sql, &params, |r| {
        Ok((r.get_i64(0)?, r.get_i64(1)?, r.get_opt_i64(2)?.unwrap_or(0)))
    })
    .await
}

/// One inventory with the usage already allocated against it: a row of
/// upstream's `_check_capacity_exceeded` query.
#[derive(Debug, Clone)]
pub(crate) struct CapacityRow {
    pub(crate) provider_id: i64,
    pub(crate) class_id: i64,
    pub(crate) total: i64,
    pub(crate) reserved: i64,
    pub(crate) allocation_ratio: f64,
    pub(crate) min_unit: i64,
    pub(crate) max_unit: i64,
    pub(crate) step_size: i64,
    /// `None` when nothing is allocated.
    pub(crate) used: Option<i64>,
}

impl CapacityRow {
    /// The inventory's numbers for core's capacity rules.
    pub(crate) fn limits(&self) -> InventoryLimits {
        InventoryLimits {
            total: self.total,
            reserved: self.reserved,
            min_unit: self.min_unit,
            max_unit: self.max_unit,
            step_size: self.step_size,
            allocation_ratio: self.allocation_ratio,
        }
    }
}

/// The inventories of the given classes on the given providers, each with
/// its current usage.
pub(crate) async fn capacity(
    tx: &mut Tx,
    provider_ids: &[i64],
    class_ids: &[i64],
) -> Result<Vec<CapacityRow>> {
    if provider_ids.is_empty() || class_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rcs = marks(class_ids.len());
    let rps = marks(provider_ids.len());
    let sql = format!(
        r"SELECT i.resource_provider_id, i.resource_class_id, i.total, i.reserved,
                 i.allocation_ratio, i.min_unit, i.max_unit, i.step_size, used_sum.used
          FROM inventories i
          LEFT OUTER JOIN (
            SELECT resource_provider_id, resource_class_id, SUM(used) AS used
            FROM allocations
            WHERE resource_class_id IN ({rcs}) AND resource_provider_id IN ({rps})
            GROUP BY resource_provider_id, resource_class_id
          ) used_sum
            ON i.resource_provider_id = used_sum.resource_provider_id
           AND i.resource_class_id = used_sum.resource_class_id
          WHERE i.resource_provider_id IN ({rps}) AND i.resource_class_id IN ({rcs})"
    );
    // In placeholder order: the subquery's classes and providers, then the
    // outer providers and classes.
    let params: Vec<Value> = class_ids
        .iter()
        .chain(provider_ids)
        .chain(provider_ids)
        .chain(class_ids)
        .copied()
        .map(Value::Int)
        .collect();
    tx.fetch_all_with(&sql, &params, |r| {
        Ok(CapacityRow {
            provider_id: r.get_i64(0)?,
            class_id: r.get_i64(1)?,
            total: r.get_i64(2)?,
            reserved: r.get_i64(3)?,
            allocation_ratio: r.get_f64(4)?,
            min_unit: r.get_i64(5)?,
            max_unit: r.get_i64(6)?,
            step_size: r.get_i64(7)?,
            used: r.get_opt_i64(8)?,
        })
    })
    .await
}

/// The ids of every allocation row of the consumers `uuids`. A plain read,
/// so that deleting by primary key afterwards takes no gap locks on MySQL
/// (the consumers' generation swap guards against rows added meanwhile).
pub(crate) async fn ids_for_consumers(tx: &mut Tx, uuids: &[String]) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for chunk in uuids.chunks(CHUNK) {
        let sql = format!(
            "SELECT id FROM allocations WHERE consumer_id IN ({}) ORDER BY id",
            marks(chunk.len())
        );
        let params: Vec<Value> = chunk.iter().map(Value::from).collect();
        out.extend(tx.fetch_all_with(&sql, &params, |r| r.get_i64(0)).await?);
    }
    Ok(out)
}

/// Deletes allocation rows by id; returns how many went.
pub(crate) async fn delete_by_ids(tx: &mut Tx, ids: &[i64]) -> Result<u64> {
    let mut deleted = 0;
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "DELETE FROM allocations WHERE id IN ({})",
            marks(chunk.len())
        );
        let params: Vec<Value> = chunk.iter().copied().map(Value::Int).collect();
        deleted += tx.execute(&sql, &params).await?;
    }
    Ok(deleted)
}

/// Inserts one allocation row.
pub(crate) async fn insert(
    tx: &mut Tx,
    provider_id: i64,
    consumer: &str,
    class_id: i64,
    used: i64,
    created_at: NaiveDateTime,
) -> Result<()> {
    tx.execute(
        r"INSERT INTO allocations
            (resource_provider_id, consumer_id, resource_class_id, used, created_at)
          VALUES (?, ?, ?, ?, ?)",
        params![provider_id, consumer, class_id, used, created_at],
    )
    .await?;
    Ok(())
}
