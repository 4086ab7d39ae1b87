//! `traits` and `resource_provider_traits`: reading, creating and deleting
//! traits, and whether providers hold them.

use chrono::NaiveDateTime;
use placement_core::traits::{Trait, TraitFilter};

use crate::db::{Row, Tx, Value};
use crate::error::Result;
use crate::params;

const SELECT_TRAIT: &str = r"SELECT t.id, t.name, t.created_at, t.updated_at FROM traits t";

/// A stored trait with its internal id, which never leaves the store.
pub(crate) struct StoredTrait {
    pub(crate) id: i64,
    pub(crate) trait_: Trait,
}

fn from_row(r: &Row) -> Result<StoredTrait> {
    Ok(StoredTrait {
        id: r.get_i64(0)?,
        trait_: Trait {
            name: r.get_string(1)?,
            created_at: r.get_opt_timestamp(2)?,
            updated_at: r.get_opt_timestamp(3)?,
        },
    })
}

/// The trait named exactly `name`. Upstream looks names up in a dict of
/// every trait, so the match is exact on every backend; MySQL's collations
/// compare case- and trailing-space-insensitively, so the database's
/// candidates are checked again here.
pub(crate) async fn get_by_name(tx: &mut Tx, name: &str) -> Result<Option<StoredTrait>> {
    let sql = format!("{SELECT_TRAIT} WHERE t.name = ?");
    let candidates = tx.fetch_all_with(&sql, params![name], from_row).await?;
    Ok(candidates.into_iter().find(|c| c.trait_.name == name))
}

/// The traits matching `filter`: by name when `name_in` is given, oldest
/// first otherwise.
///
/// NOTE(upstream): its statement has no ORDER BY, so the order is the
/// plan's. Unfiltered it is table order, which is id order on every backend;
/// an IN list is answered from the unique index on `name` (SQLite, MySQL), so
/// in name order; a prefix or `associated` scans the table on SQLite and
/// PostgreSQL, so in id order. We fix those orders on every backend, sorting
/// names by code point as SQLite's BINARY collation does rather than by the
/// database's collation.
pub(crate) async fn list(tx: &mut Tx, filter: &TraitFilter) -> Result<Vec<Trait>> {
    let mut conditions: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    if let Some(names) = &filter.name_in {
        if names.is_empty() {
            // `IN ()` is not SQL; an empty list matches nothing.
            conditions.push("1 = 0".to_owned());
        } else {
            let marks = vec!["?"; names.len()].join(", ");
            conditions.push(format!("t.name IN ({marks})"));
            params.extend(names.iter().map(Value::from));
        }
    }
    if let Some(prefix) = &filter.prefix {
        // The same LIKE upstream runs, with the backend's own case rules.
        conditions.push("t.name LIKE ?".to_owned());
        params.push(Value::from(format!("{prefix}%")));
    }
    match filter.associated {
        Some(true) => conditions.push(
            "EXISTS (SELECT 1 FROM resource_provider_traits rpt WHERE rpt.trait_id = t.id)"
                .to_owned(),
        ),
        Some(false) => conditions.push(
            "NOT EXISTS (SELECT 1 FROM resource_provider_traits rpt WHERE rpt.trait_id = t.id)"
                .to_owned(),
        ),
        None => {}
    }
    let mut sql = SELECT_TRAIT.to_owned();
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(" ORDER BY t.id");
    let mut traits = tx
        .fetch_all_with(&sql, &params, |r| from_row(r).map(|s| s.trait_))
        .await?;
    if filter.name_in.is_some() {
        traits.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(traits)
}

/// Inserts a trait; an existing name is a unique violation.
pub(crate) async fn insert(tx: &mut Tx, name: &str, created_at: NaiveDateTime) -> Result<i64> {
    tx.insert_returning_id(
        r"INSERT INTO traits (name, created_at) VALUES (?, ?)",
        params![name, created_at],
    )
    .await
}

/// How many providers have the trait.
pub(crate) async fn count_providers(tx: &mut Tx, trait_id: i64) -> Result<i64> {
    tx.fetch_one_with(
        r"SELECT COUNT(*) FROM resource_provider_traits WHERE trait_id = ?",
        params![trait_id],
        |r| r.get_i64(0),
    )
    .await
}

/// Deletes a trait row; returns how many went (0 when it was already gone).
pub(crate) async fn delete(tx: &mut Tx, trait_id: i64) -> Result<u64> {
    tx.execute(r"DELETE FROM traits WHERE id = ?", params![trait_id])
        .await
}
