//! `resource_providers` and the rows hanging off a provider: reads with the
//! tree's uuids joined in, the list filters of `GET /resource_providers`,
//! the writes behind create, update and delete, the generation
//! compare-and-swap, and the statements the maintenance tools need.

use chrono::NaiveDateTime;
use placement_core::ids::Generation;
use placement_core::resource_provider::{ProviderUuid, ResourceProvider};

use crate::db::{Row, SqlType, Tx, Value};
use crate::error::{DbError, Result};
use crate::params;

/// A provider row with the tree's uuids: upstream's `_get_provider_by_uuid`
/// and `_get_all_by_filters_from_db` select.
const SELECT_PROVIDER: &str = r"SELECT rp.id, rp.uuid, rp.name, rp.generation,
       rp.created_at, rp.updated_at, root_rp.uuid, parent_rp.uuid,
       rp.parent_provider_id, rp.root_provider_id
  FROM resource_providers rp
  JOIN resource_providers root_rp ON rp.root_provider_id = root_rp.id
  LEFT JOIN resource_providers parent_rp ON rp.parent_provider_id = parent_rp.id";

/// A provider read with its internal ids, which never leave the store.
#[derive(Debug, Clone)]
pub(crate) struct StoredProvider {
    pub(crate) id: i64,
    pub(crate) parent_id: Option<i64>,
    pub(crate) root_id: i64,
    pub(crate) provider: ResourceProvider,
}

fn parse_uuid(text: &str) -> Result<ProviderUuid> {
    text.parse()
        .map_err(|_| DbError::other(format!("stored provider uuid {text:?} is not a uuid")).into())
}

fn from_row(r: &Row) -> Result<StoredProvider> {
    Ok(StoredProvider {
        id: r.get_i64(0)?,
        provider: ResourceProvider {
            uuid: parse_uuid(r.get_str(1)?)?,
            name: r.get_opt_string(2)?.unwrap_or_default(),
            generation: Generation(r.get_opt_i64(3)?.unwrap_or(0)),
            created_at: r.get_opt_timestamp(4)?,
            updated_at: r.get_opt_timestamp(5)?,
            root_provider_uuid: parse_uuid(r.get_str(6)?)?,
            parent_provider_uuid: r.get_opt_str(7)?.map(parse_uuid).transpose()?,
        },
        parent_id: r.get_opt_i64(8)?,
        root_id: r.get_i64(9)?,
    })
}

/// The provider whose stored uuid is exactly `uuid`.
pub(crate) async fn get_by_uuid(tx: &mut Tx, uuid: &str) -> Result<Option<StoredProvider>> {
    let sql = format!("{SELECT_PROVIDER} WHERE rp.uuid = ?");
    tx.fetch_optional_with(&sql, params![uuid], from_row).await
}

/// Every provider in the tree rooted at `root_id`, in id order.
pub(crate) async fn in_tree(tx: &mut Tx, root_id: i64) -> Result<Vec<StoredProvider>> {
    let sql = format!("{SELECT_PROVIDER} WHERE rp.root_provider_id = ? ORDER BY rp.id");
    tx.fetch_all_with(&sql, params![root_id], from_row).await
}

/// The conditions of one list query, built from already-resolved internal
/// ids; each is a bound-value subquery, so one text serves every backend.
#[derive(Debug, Default)]
pub(crate) struct ListConditions {
    pub(crate) name: Option<String>,
    pub(crate) uuid: Option<String>,
    pub(crate) root_id: Option<i64>,
    /// Each group: has at least one of these trait ids.
    pub(crate) required_traits: Vec<Vec<i64>>,
    /// Has none of these trait ids.
    pub(crate) forbidden_traits: Vec<i64>,
    /// Each group: in at least one of these aggregate ids.
    pub(crate) member_of: Vec<Vec<i64>>,
    /// In none of these aggregate ids.
    pub(crate) forbidden_aggs: Vec<i64>,
    /// (resource class id, amount) capacity checks.
    pub(crate) resources: Vec<(i64, i64)>,
}

/// A link table and its id column: `resource_provider_traits.trait_id` or
/// `resource_provider_aggregates.aggregate_id`. Fixed names, never input.
struct Link {
    table: &'static str,
    column: &'static str,
}

const TRAIT_LINK: Link = Link {
    table: "resource_provider_traits",
    column: "trait_id",
};

const AGGREGATE_LINK: Link = Link {
    table: "resource_provider_aggregates",
    column: "aggregate_id",
};

/// Adds "the provider is (`linked`) or is not linked to any of `ids`".
fn link_condition(
    conditions: &mut Vec<String>,
    params: &mut Vec<Value>,
    link: Link,
    ids: &[i64],
    linked: bool,
) {
    conditions.push(format!(
        "rp.id {}IN (SELECT l.resource_provider_id FROM {} l WHERE l.{} IN ({}))",
        if linked { "" } else { "NOT " },
        link.table,
        link.column,
        marks(ids.len())
    ));
    params.extend(ids.iter().copied().map(Value::Int));
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The providers matching every condition, in id order (upstream's query
/// has no ORDER BY; every backend returns it in primary-key order).
pub(crate) async fn list(tx: &mut Tx, c: &ListConditions) -> Result<Vec<ResourceProvider>> {
    let (sql, params) = filtered(c, " ORDER BY rp.id");
    tx.fetch_all_with(&sql, &params, |r| from_row(r).map(|s| s.provider))
        .await
}

/// Whether any provider matches `conditions` (upstream returns an empty
/// list early when a trait or aggregate filter matches nothing, before it
/// looks at later filters). Reads one row at most.
pub(crate) async fn any_matches(tx: &mut Tx, conditions: &ListConditions) -> Result<bool> {
    let (sql, params) = filtered(conditions, " LIMIT 1");
    tx.exists(&sql, &params).await
}

/// The provider select with every condition of `c`, then `tail`.
fn filtered(c: &ListConditions, tail: &str) -> (String, Vec<Value>) {
    let mut conditions: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    if let Some(name) = &c.name {
        conditions.push("rp.name = ?".to_owned());
        params.push(Value::from(name));
    }
    if let Some(uuid) = &c.uuid {
        conditions.push("rp.uuid = ?".to_owned());
        params.push(Value::from(uuid));
    }
    if let Some(root_id) = c.root_id {
        conditions.push("rp.root_provider_id = ?".to_owned());
        params.push(Value::Int(root_id));
    }
    // Trait and aggregate filters share one shape: the provider is (or is
    // not) linked to any of a set of ids. Each required group is ANDed.
    for group in &c.required_traits {
        link_condition(&mut conditions, &mut params, TRAIT_LINK, group, true);
    }
    if !c.forbidden_traits.is_empty() {
        link_condition(
            &mut conditions,
            &mut params,
            TRAIT_LINK,
            &c.forbidden_traits,
            false,
        );
    }
    for group in &c.member_of {
        link_condition(&mut conditions, &mut params, AGGREGATE_LINK, group, true);
    }
    if !c.forbidden_aggs.is_empty() {
        link_condition(
            &mut conditions,
            &mut params,
            AGGREGATE_LINK,
            &c.forbidden_aggs,
            false,
        );
    }
    for &(rc_id, amount) in &c.resources {
        // upstream's get_providers_with_resource and _capacity_check_clause:
        // core's `InventoryLimits::can_serve`, written in SQL. Capacity is
        // the un-truncated float form (`capacity_for_writes`); on MySQL the
        // product uses the single-precision FLOAT the column holds. The
        // store's capacity property test checks that the two agree.
        conditions.push(
            r"rp.id IN (
              SELECT inv.resource_provider_id FROM inventories inv
              LEFT JOIN (
                SELECT a.resource_provider_id, SUM(a.used) AS used FROM allocations a
                WHERE a.resource_class_id = ? GROUP BY a.resource_provider_id
              ) u ON inv.resource_provider_id = u.resource_provider_id
              WHERE inv.resource_class_id = ?
                AND COALESCE(u.used, 0) + ? <= (inv.total - inv.reserved) * inv.allocation_ratio
                AND inv.min_unit <= ? AND inv.max_unit >= ? AND ? % inv.step_size = 0)"
                .to_owned(),
        );
        params.extend(
            [rc_id, rc_id, amount, amount, amount, amount]
                .into_iter()
                .map(Value::Int),
        );
    }
    let mut sql = SELECT_PROVIDER.to_owned();
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(tail);
    (sql, params)
}

/// Inserts a provider; a unique violation means the uuid or name is taken.
pub(crate) async fn insert(
    tx: &mut Tx,
    uuid: &ProviderUuid,
    name: &str,
    parent_id: Option<i64>,
    root_id: Option<i64>,
    created_at: NaiveDateTime,
) -> Result<i64> {
    tx.insert_returning_id(
        r"INSERT INTO resource_providers
            (uuid, name, generation, parent_provider_id, root_provider_id, created_at)
          VALUES (?, ?, 0, ?, ?, ?)",
        params![uuid.to_string(), name, parent_id, root_id, created_at],
    )
    .await
}

/// Points a new root at itself. Upstream does this as a second ORM flush,
/// which stamps `updated_at`; so do we, since `Last-Modified` reads it.
pub(crate) async fn set_own_root(tx: &mut Tx, id: i64, updated_at: NaiveDateTime) -> Result<u64> {
    tx.execute(
        r"UPDATE resource_providers SET root_provider_id = id, updated_at = ? WHERE id = ?",
        params![updated_at, id],
    )
    .await
}

/// Writes name, parent and root of one provider.
pub(crate) async fn update(
    tx: &mut Tx,
    id: i64,
    name: &str,
    parent_id: Option<i64>,
    root_id: i64,
    updated_at: NaiveDateTime,
) -> Result<u64> {
    tx.execute(
        r"UPDATE resource_providers
          SET name = ?, parent_provider_id = ?, root_provider_id = ?, updated_at = ?
          WHERE id = ?",
        params![name, parent_id, root_id, updated_at, id],
    )
    .await
}

/// Moves one provider of a re-parented subtree to its new root.
pub(crate) async fn set_root(
    tx: &mut Tx,
    id: i64,
    root_id: i64,
    updated_at: NaiveDateTime,
) -> Result<u64> {
    tx.execute(
        r"UPDATE resource_providers SET root_provider_id = ?, updated_at = ? WHERE id = ?",
        params![root_id, updated_at, id],
    )
    .await
}

/// Whether some provider has `id` as its parent.
pub(crate) async fn has_children(tx: &mut Tx, id: i64) -> Result<bool> {
    tx.exists(
        r"SELECT id FROM resource_providers WHERE parent_provider_id = ? LIMIT 1",
        params![id],
    )
    .await
}

/// How many allocation rows name the provider.
pub(crate) async fn count_allocations(tx: &mut Tx, id: i64) -> Result<i64> {
    tx.fetch_one_with(
        r"SELECT COUNT(*) FROM allocations WHERE resource_provider_id = ?",
        params![id],
        |r| r.get_i64(0),
    )
    .await
}

/// Removes the provider's inventories, aggregate and trait associations
/// and its self-reference, ahead of deleting the row (upstream's `_delete`).
pub(crate) async fn delete_dependents(tx: &mut Tx, id: i64) -> Result<()> {
    tx.execute(
        r"DELETE FROM inventories WHERE resource_provider_id = ?",
        params![id],
    )
    .await?;
    tx.execute(
        r"DELETE FROM resource_provider_aggregates WHERE resource_provider_id = ?",
        params![id],
    )
    .await?;
    tx.execute(
        r"DELETE FROM resource_provider_traits WHERE resource_provider_id = ?",
        params![id],
    )
    .await?;
    tx.execute(
        r"UPDATE resource_providers SET root_provider_id = ?, updated_at = ?
          WHERE id = ? AND root_provider_id = ?",
        &[
            Value::Null(SqlType::Int),
            Value::from(super::utcnow()),
            Value::Int(id),
            Value::Int(id),
        ],
    )
    .await?;
    Ok(())
}

/// Deletes the provider row if it is still at generation `read`; returns
/// how many went (none when a concurrent write moved the generation).
pub(crate) async fn delete(tx: &mut Tx, id: i64, read: Generation) -> Result<u64> {
    tx.execute(
        r"DELETE FROM resource_providers WHERE id = ? AND generation = ?",
        params![id, read.0],
    )
    .await
}

/// Takes the row locks of the providers with these uuids, in id order (so
/// two lockers never wait on each other in a cycle). Not for SQLite, whose
/// write transactions are already serialized and which has no `FOR UPDATE`.
pub(crate) async fn lock_by_uuids(tx: &mut Tx, uuids: &[&str]) -> Result<()> {
    if uuids.is_empty() {
        return Ok(());
    }
    let marks = vec!["?"; uuids.len()].join(", ");
    let sql =
        format!("SELECT id FROM resource_providers WHERE uuid IN ({marks}) ORDER BY id FOR UPDATE");
    let values: Vec<Value> = uuids.iter().map(|u| Value::from(*u)).collect();
    tx.fetch_all_with(&sql, &values, |_| Ok(())).await?;
    Ok(())
}

/// The generation compare-and-swap (upstream's `increment_generation`):
/// sets `new` where the row still has `expected`; returns how many rows
/// matched, which callers require to be one. It stamps `updated_at` as
/// every UPDATE upstream issues on this table does (the column's
/// `onupdate`), so `Last-Modified` moves with each inventory, allocation,
/// trait or aggregate write.
pub(crate) async fn increment_generation(
    tx: &mut Tx,
    id: i64,
    expected: Generation,
) -> Result<u64> {
    tx.execute(
        r"UPDATE resource_providers SET generation = ?, updated_at = ?
          WHERE id = ? AND generation = ?",
        params![expected.next().0, super::utcnow(), id, expected.0],
    )
    .await
}

/// Aggregate internal ids by uuid; unknown uuids are left out.
pub(crate) async fn aggregate_ids(tx: &mut Tx, uuids: &[&str]) -> Result<Vec<(String, i64)>> {
    if uuids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT uuid, id FROM placement_aggregates WHERE uuid IN ({})",
        marks(uuids.len())
    );
    let params: Vec<Value> = uuids.iter().map(|u| Value::from(*u)).collect();
    tx.fetch_all_with(&sql, &params, |r| Ok((r.get_string(0)?, r.get_i64(1)?)))
        .await
}

/// Sets `root_provider_id = id` on up to `limit` providers that have none
/// (providers written before nested trees existed), stamping `updated_at`
/// as upstream's UPDATE does. Returns how many.
pub(crate) async fn set_missing_root_ids(tx: &mut Tx, limit: u64) -> Result<u64> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // The extra derived table lets MySQL read the table it updates.
    tx.execute(
        r"UPDATE resource_providers SET root_provider_id = id, updated_at = ?
          WHERE id IN (
            SELECT id FROM (
              SELECT id FROM resource_providers
              WHERE root_provider_id IS NULL
              ORDER BY id
              LIMIT ?
            ) AS subq
          )",
        params![super::utcnow(), limit],
    )
    .await
}

/// How many providers lack a root provider id.
pub(crate) async fn count_missing_root_ids(tx: &mut Tx) -> Result<i64> {
    tx.fetch_one_with(
        r"SELECT COUNT(*) FROM resource_providers WHERE root_provider_id IS NULL",
        params![],
        |r| r.get_i64(0),
    )
    .await
}
