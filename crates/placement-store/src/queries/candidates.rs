//! The reads behind `GET /allocation_candidates`: resolving the request's
//! names, the engine's restricted snapshot, and the provider summaries.
//!
//! The snapshot is restricted in SQL by a `WITH` clause (see
//! [`SnapshotScope`]) and read in one statement. The seeds are the
//! providers with capacity for a requested amount, the providers a
//! resourceless group could match, and one root meeting `root_required`;
//! the kept trees are the seeds' trees and, for each sharing seed, the
//! trees of every provider in one of its aggregates (its anchors). Every
//! provider of a kept tree is read, so ancestors come for free and no
//! statement is repeated per provider.
//!
//! Usage is summed with a correlated subquery per inventory row, which the
//! `allocations (resource_provider_id, resource_class_id, used)` index
//! answers without touching the table, instead of summing every allocation
//! in the deployment.

use std::collections::HashMap;

use crate::db::{Tx, Value};
use crate::error::Result;

/// `?, ?, ?` for `n` values (n ≥ 1).
fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}

/// The most ids one summary statement binds: far below every backend's
/// parameter limit (SQLite 32766, PostgreSQL and MySQL 65535).
const CHUNK: usize = 1000;

/// `(id, key)` rows read for a list of string keys, kept only where the key
/// matches exactly: MySQL's collations compare case- and
/// trailing-space-insensitively, upstream's name caches do not.
async fn ids_by_key(tx: &mut Tx, select: &str, keys: &[String]) -> Result<HashMap<String, i64>> {
    let mut found = HashMap::new();
    for chunk in keys.chunks(CHUNK) {
        let sql = format!("{select} IN ({})", placeholders(chunk.len()));
        let params: Vec<Value> = chunk.iter().map(Value::from).collect();
        let rows = tx
            .fetch_all_with(&sql, &params, |row| {
                Ok((row.get_i64(0)?, row.get_string(1)?))
            })
            .await?;
        for (id, key) in rows {
            if chunk.contains(&key) {
                found.insert(key, id);
            }
        }
    }
    Ok(found)
}

/// Resource class ids of the named classes that exist.
pub(crate) async fn class_ids(tx: &mut Tx, names: &[String]) -> Result<HashMap<String, i64>> {
    ids_by_key(
        tx,
        r"SELECT id, name FROM resource_classes WHERE name",
        names,
    )
    .await
}

/// Trait ids of the named traits that exist.
pub(crate) async fn trait_ids(tx: &mut Tx, names: &[String]) -> Result<HashMap<String, i64>> {
    ids_by_key(tx, r"SELECT id, name FROM traits WHERE name", names).await
}

/// Aggregate ids of the aggregate UUIDs that exist.
pub(crate) async fn aggregate_ids(tx: &mut Tx, uuids: &[String]) -> Result<HashMap<String, i64>> {
    ids_by_key(
        tx,
        r"SELECT id, uuid FROM placement_aggregates WHERE uuid",
        uuids,
    )
    .await
}

/// Root provider ids of the provider UUIDs that exist (for `in_tree`).
pub(crate) async fn root_ids_by_uuid(
    tx: &mut Tx,
    uuids: &[String],
) -> Result<HashMap<String, i64>> {
    ids_by_key(
        tx,
        r"SELECT root_provider_id, uuid FROM resource_providers WHERE uuid",
        uuids,
    )
    .await
}

/// One root provider (the lowest id) with every `required` trait and none
/// of the `forbidden` ones: upstream's `_get_roots_with_traits`, asked only
/// whether its answer is empty (an empty answer ends the request with no
/// candidates before any group is looked at).
pub(crate) async fn any_root_with_traits(
    tx: &mut Tx,
    required: &[i64],
    forbidden: &[i64],
) -> Result<Option<i64>> {
    let mut sql = String::from(
        r"SELECT rp.id FROM resource_providers rp WHERE rp.parent_provider_id IS NULL",
    );
    let mut params: Vec<Value> = Vec::new();
    if !required.is_empty() {
        sql.push_str(&format!(
            r" AND (SELECT COUNT(DISTINCT x.trait_id) FROM resource_provider_traits x
                    WHERE x.resource_provider_id = rp.id AND x.trait_id IN ({})) = ?",
            placeholders(required.len())
        ));
        params.extend(required.iter().copied().map(Value::from));
        params.push(Value::from(
            i64::try_from(required.len()).unwrap_or(i64::MAX),
        ));
    }
    if !forbidden.is_empty() {
        sql.push_str(&format!(
            r" AND NOT EXISTS (SELECT 1 FROM resource_provider_traits x
                    WHERE x.resource_provider_id = rp.id AND x.trait_id IN ({}))",
            placeholders(forbidden.len())
        ));
        params.extend(forbidden.iter().copied().map(Value::from));
    }
    sql.push_str(" ORDER BY rp.id LIMIT 1");
    tx.fetch_optional_with(&sql, &params, |r| r.get_i64(0))
        .await
}

/// Whether some provider is a member of at least one aggregate of every
/// set: upstream's `provider_ids_matching_aggregates`, asked only whether
/// its answer is empty. Every set must be non-empty.
pub(crate) async fn any_provider_in_every_set(tx: &mut Tx, sets: &[Vec<i64>]) -> Result<bool> {
    let mut sql = String::from(r"SELECT rp.id FROM resource_providers rp WHERE 1 = 1");
    let mut params: Vec<Value> = Vec::new();
    for set in sets {
        sql.push_str(&format!(
            r" AND EXISTS (SELECT 1 FROM resource_provider_aggregates x
                    WHERE x.resource_provider_id = rp.id AND x.aggregate_id IN ({}))",
            placeholders(set.len())
        ));
        params.extend(set.iter().copied().map(Value::from));
    }
    sql.push_str(" LIMIT 1");
    tx.exists(&sql, &params).await
}

/// Deployment-wide facts that pick the engine's code paths: whether any
/// provider has a parent, and whether any has the sharing trait.
pub(crate) async fn deployment_flags(
    tx: &mut Tx,
    shares_trait: Option<i64>,
) -> Result<(bool, bool)> {
    tx.fetch_one_with(
        r"SELECT
                CASE WHEN EXISTS (SELECT 1 FROM resource_providers
                                  WHERE parent_provider_id IS NOT NULL) THEN 1 ELSE 0 END,
                CASE WHEN EXISTS (SELECT 1 FROM resource_provider_traits
                                  WHERE trait_id = ?) THEN 1 ELSE 0 END",
        &[Value::from(shares_trait.unwrap_or(-1))],
        |row| Ok((row.get_i64(0)? != 0, row.get_i64(1)? != 0)),
    )
    .await
}

/// One amount of one class a group asks for, and the tree it must come
/// from (`in_tree`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AmountWanted {
    pub(crate) class: i64,
    pub(crate) amount: i64,
    pub(crate) root: Option<i64>,
}

/// Which trees the snapshot reads (see the module comment).
#[derive(Debug, Clone, Default)]
pub(crate) struct SnapshotScope {
    /// Every (class, amount, tree) a group asks for; at least one.
    pub(crate) wanted: Vec<AmountWanted>,
    /// `MISC_SHARES_VIA_AGGREGATE`'s id, when the trait exists.
    pub(crate) shares_trait: Option<i64>,
    /// Traits any one of which a resourceless group's provider must have.
    pub(crate) resourceless_traits: Vec<i64>,
    /// Aggregates any one of which a resourceless group's provider must be
    /// in.
    pub(crate) resourceless_aggregates: Vec<i64>,
    /// One root meeting `root_required`, kept so the engine sees that the
    /// set of allowed anchors is not empty (it answers empty before any
    /// group otherwise, and upstream decides that deployment-wide).
    pub(crate) anchor_root: Option<i64>,
    /// A window: every tree whose root id is below this, and the trees of
    /// sharing providers; see `Snapshot::anchors_below`.
    pub(crate) below: Option<i64>,
}

impl SnapshotScope {
    /// The `WITH` clause naming `kept_roots (id)`, and its values in order.
    fn with_clause(&self) -> (String, Vec<Value>) {
        match self.below {
            None => self.with_clause_filtered(),
            Some(below) => self.with_clause_window(below),
        }
    }

    /// A window keeps every tree below the bound, the trees of every
    /// sharing provider (a window anchor may draw on one wherever it is),
    /// and `root_required`'s root. Nothing is filtered on capacity here:
    /// the engine checks it anyway, and a filter would make the planner
    /// weigh the usage sums of the whole deployment against a range of a
    /// few trees (PostgreSQL then sums every inventory of the class before
    /// looking at the window).
    fn with_clause_window(&self, below: i64) -> (String, Vec<Value>) {
        let mut params = vec![Value::from(below)];
        let mut sql = String::from(
            r"WITH kept_roots (id) AS (
                 SELECT root_provider_id FROM resource_providers WHERE root_provider_id < ?",
        );
        if let Some(shares) = self.shares_trait {
            sql.push_str(
                r"
                 UNION
                 SELECT rp.root_provider_id FROM resource_provider_traits st
                   JOIN resource_providers rp ON rp.id = st.resource_provider_id
                  WHERE st.trait_id = ?",
            );
            params.push(Value::from(shares));
        }
        if let Some(root) = self.anchor_root {
            sql.push_str("\n UNION\n SELECT root_provider_id FROM resource_providers WHERE id = ?");
            params.push(Value::from(root));
        }
        sql.push_str("\n)\n");
        (sql, params)
    }

    /// Everything: the trees of the seeds (capacity, resourceless matches,
    /// `root_required`'s root) and the anchors of sharing seeds.
    fn with_clause_filtered(&self) -> (String, Vec<Value>) {
        let mut params = Vec::new();
        let mut seeds = Vec::new();
        for w in &self.wanted {
            seeds.push(cap_part(w, &mut params));
        }
        if !self.resourceless_traits.is_empty() {
            seeds.push(format!(
                r"SELECT x.resource_provider_id FROM resource_provider_traits x
                  WHERE x.trait_id IN ({})",
                placeholders(self.resourceless_traits.len())
            ));
            params.extend(self.resourceless_traits.iter().copied().map(Value::from));
        }
        if !self.resourceless_aggregates.is_empty() {
            seeds.push(format!(
                r"SELECT x.resource_provider_id FROM resource_provider_aggregates x
                  WHERE x.aggregate_id IN ({})",
                placeholders(self.resourceless_aggregates.len())
            ));
            params.extend(
                self.resourceless_aggregates
                    .iter()
                    .copied()
                    .map(Value::from),
            );
        }
        if let Some(root) = self.anchor_root {
            seeds.push(String::from(
                "SELECT id FROM resource_providers WHERE id = ?",
            ));
            params.push(Value::from(root));
        }
        if seeds.is_empty() {
            seeds.push(String::from(
                r"SELECT id FROM resource_providers WHERE 1 = 0",
            ));
        }
        let mut sql = format!(
            "WITH seeds (id) AS (\n {}\n),\n kept_roots (id) AS (\n \
             SELECT rp.root_provider_id FROM seeds JOIN resource_providers rp ON rp.id = seeds.id",
            seeds.join("\n UNION\n ")
        );
        if let Some(shares) = self.shares_trait {
            // The anchors of every sharing provider among the seeds: roots of
            // any provider in one of its aggregates (its own root included).
            sql.push_str(
                r"
                 UNION
                 SELECT other.root_provider_id FROM seeds
                   JOIN resource_provider_traits st ON st.resource_provider_id = seeds.id AND st.trait_id = ?
                   JOIN resource_provider_aggregates sa ON sa.resource_provider_id = seeds.id
                   JOIN resource_provider_aggregates oa ON oa.aggregate_id = sa.aggregate_id
                   JOIN resource_providers other ON other.id = oa.resource_provider_id",
            );
            params.push(Value::from(shares));
        }
        sql.push_str("\n)\n");
        (sql, params)
    }
}

/// One seed statement: the providers with capacity for `w`, by the
/// un-truncated float rule upstream's SQL uses (the engine re-checks
/// summed amounts against the truncated capacity).
fn cap_part(w: &AmountWanted, params: &mut Vec<Value>) -> String {
    let mut part = String::from(r"SELECT i.resource_provider_id FROM inventories i");
    if let Some(root) = w.root {
        part.push_str(
            r" JOIN resource_providers t ON t.id = i.resource_provider_id AND t.root_provider_id = ?",
        );
        params.push(Value::from(root));
    }
    part.push_str(
        r" WHERE i.resource_class_id = ?
           AND i.min_unit <= ? AND i.max_unit >= ? AND ? % i.step_size = 0
           AND COALESCE((SELECT SUM(a.used) FROM allocations a
                         WHERE a.resource_provider_id = i.resource_provider_id
                           AND a.resource_class_id = i.resource_class_id), 0) + ?
               <= (i.total - i.reserved) * i.allocation_ratio",
    );
    params.extend([w.class, w.amount, w.amount, w.amount, w.amount].map(Value::from));
    part
}

/// The root id below which the first `roots` trees lie (the bound of a
/// window holding them), or `None` when the deployment has no more trees
/// than that (a window would hold everything).
pub(crate) async fn window_bound(tx: &mut Tx, roots: usize) -> Result<Option<i64>> {
    let offset = i64::try_from(roots).unwrap_or(i64::MAX);
    tx.fetch_optional_with(
        r"SELECT root_provider_id FROM resource_providers
           GROUP BY root_provider_id ORDER BY root_provider_id LIMIT 1 OFFSET ?",
        &[Value::from(offset)],
        |r| r.get_i64(0),
    )
    .await
}

/// A provider of a kept tree.
pub(crate) struct ProviderRow {
    pub(crate) id: i64,
    pub(crate) uuid: String,
    pub(crate) parent: Option<i64>,
    pub(crate) root: i64,
}

/// An inventory with the sum of its allocations.
pub(crate) struct InventoryRow {
    pub(crate) provider: i64,
    pub(crate) class: i64,
    pub(crate) total: i64,
    pub(crate) reserved: i64,
    pub(crate) min_unit: i64,
    pub(crate) max_unit: i64,
    pub(crate) step_size: i64,
    pub(crate) allocation_ratio: f64,
    pub(crate) used: i64,
}

/// Everything [`snapshot_rows`] reads about the kept trees.
#[derive(Default)]
pub(crate) struct SnapshotRows {
    pub(crate) providers: Vec<ProviderRow>,
    /// Every inventory, of any class: the engine takes the requested
    /// classes, the summaries all of them.
    pub(crate) inventories: Vec<InventoryRow>,
    /// (provider id, trait id).
    pub(crate) traits: Vec<(i64, i64)>,
    /// (provider id, aggregate id).
    pub(crate) aggregates: Vec<(i64, i64)>,
}

/// Every provider of the scope's trees with every inventory and its usage,
/// trait and aggregate, in one statement: the scope's restriction is
/// evaluated once, and the provider summaries need no statement of their
/// own.
pub(crate) async fn snapshot_rows(tx: &mut Tx, scope: &SnapshotScope) -> Result<SnapshotRows> {
    let (with, params) = scope.with_clause();
    let sql = format!(
        r"{with}SELECT 0, rp.id, rp.uuid, rp.parent_provider_id, rp.root_provider_id,
                 i.resource_class_id, i.total, i.reserved, i.min_unit, i.max_unit,
                 i.step_size, i.allocation_ratio,
                 (SELECT SUM(a.used) FROM allocations a
                   WHERE a.resource_provider_id = i.resource_provider_id
                     AND a.resource_class_id = i.resource_class_id)
          FROM resource_providers rp
          LEFT JOIN inventories i ON i.resource_provider_id = rp.id
          WHERE rp.root_provider_id IN (SELECT id FROM kept_roots)
          UNION ALL
          SELECT 1, x.resource_provider_id, NULL, NULL, NULL, x.trait_id,
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL
          FROM resource_provider_traits x
          JOIN resource_providers rp ON rp.id = x.resource_provider_id
          WHERE rp.root_provider_id IN (SELECT id FROM kept_roots)
          UNION ALL
          SELECT 2, x.resource_provider_id, NULL, NULL, NULL, x.aggregate_id,
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL
          FROM resource_provider_aggregates x
          JOIN resource_providers rp ON rp.id = x.resource_provider_id
          WHERE rp.root_provider_id IN (SELECT id FROM kept_roots)"
    );
    let mut out = SnapshotRows::default();
    // A provider comes once per inventory; its row is kept once.
    let mut last_provider = None;
    tx.fetch_all_with(&sql, &params, |r| {
        let provider = r.get_i64(1)?;
        match r.get_i64(0)? {
            0 => {
                if last_provider != Some(provider) {
                    out.providers.push(ProviderRow {
                        id: provider,
                        uuid: r.get_string(2)?,
                        parent: r.get_opt_i64(3)?,
                        root: r.get_i64(4)?,
                    });
                    last_provider = Some(provider);
                }
                if let Some(class) = r.get_opt_i64(5)? {
                    out.inventories.push(InventoryRow {
                        provider,
                        class,
                        total: r.get_i64(6)?,
                        reserved: r.get_i64(7)?,
                        min_unit: r.get_i64(8)?,
                        max_unit: r.get_i64(9)?,
                        step_size: r.get_i64(10)?,
                        allocation_ratio: r.get_f64(11)?,
                        used: r.get_opt_i64(12)?.unwrap_or(0),
                    });
                }
            }
            1 => out.traits.push((provider, r.get_i64(5)?)),
            _ => out.aggregates.push((provider, r.get_i64(5)?)),
        }
        Ok(())
    })
    .await?;
    // The rows of one provider need not be adjacent.
    out.providers.sort_unstable_by_key(|p| p.id);
    out.providers.dedup_by_key(|p| p.id);
    Ok(out)
}

/// Names of the given ids in `table` (`resource_classes` or `traits`).
pub(crate) async fn names_by_id(
    tx: &mut Tx,
    table: NameTable,
    ids: &[i64],
) -> Result<HashMap<i64, String>> {
    let mut out = HashMap::with_capacity(ids.len());
    let table = match table {
        NameTable::Classes => "resource_classes",
        NameTable::Traits => "traits",
    };
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT id, name FROM {table} WHERE id IN ({})",
            placeholders(chunk.len())
        );
        let params: Vec<Value> = chunk.iter().copied().map(Value::from).collect();
        let rows = tx
            .fetch_all_with(&sql, &params, |r| Ok((r.get_i64(0)?, r.get_string(1)?)))
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// The tables [`names_by_id`] reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum NameTable {
    Classes,
    Traits,
}
