//! Usage sums over `allocations`: per provider (by its inventory classes)
//! and per project/user, optionally grouped by consumer type (1.38).

use crate::db::{Row, Tx, Value};
use crate::error::Result;
use crate::params;

/// A (class name, amount) pair from a two-column row.
fn pair(r: &Row) -> Result<(String, i64)> {
    Ok((r.get_string(0)?, r.get_opt_i64(1)?.unwrap_or(0)))
}

/// Every class the provider has inventory of with the amount allocated
/// (zero when nothing is), in class id order: upstream's
/// `_get_all_by_resource_provider_uuid`.
pub(crate) async fn for_provider(tx: &mut Tx, provider_id: i64) -> Result<Vec<(String, i64)>> {
    tx.fetch_all_with(
        r"SELECT rc.name, COALESCE(SUM(a.used), 0)
              FROM inventories i
              JOIN resource_classes rc ON rc.id = i.resource_class_id
              LEFT JOIN allocations a
                ON a.resource_provider_id = i.resource_provider_id
               AND a.resource_class_id = i.resource_class_id
              WHERE i.resource_provider_id = ?
              GROUP BY i.resource_class_id, rc.name
              ORDER BY i.resource_class_id",
        params![provider_id],
        pair,
    )
    .await
}

/// Which consumers a project/user usage query covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owner<'a> {
    pub(crate) project_id: &'a str,
    pub(crate) user_id: Option<&'a str>,
}

/// Which consumer types a query keeps.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TypeCondition<'a> {
    /// Every consumer.
    Any,
    /// Consumers without a type.
    Untyped,
    /// Consumers of the named type.
    Named(&'a str),
}

/// The shared FROM/WHERE of the project/user queries, with its values.
fn owner_from(owner: Owner<'_>, types: TypeCondition<'_>) -> (String, Vec<Value>) {
    let mut sql = String::from(
        r" FROM allocations a
          JOIN consumers c ON c.uuid = a.consumer_id
          JOIN projects p ON p.id = c.project_id
          JOIN resource_classes rc ON rc.id = a.resource_class_id
          LEFT JOIN consumer_types ct ON ct.id = c.consumer_type_id",
    );
    let mut values = Vec::new();
    if owner.user_id.is_some() {
        sql.push_str(" JOIN users u ON u.id = c.user_id");
    }
    sql.push_str(" WHERE p.external_id = ?");
    values.push(Value::from(owner.project_id));
    if let Some(user) = owner.user_id {
        sql.push_str(" AND u.external_id = ?");
        values.push(Value::from(user));
    }
    match types {
        TypeCondition::Any => {}
        TypeCondition::Untyped => sql.push_str(" AND c.consumer_type_id IS NULL"),
        TypeCondition::Named(name) => {
            sql.push_str(" AND ct.name = ?");
            values.push(Value::from(name));
        }
    }
    (sql, values)
}

/// The amounts the owner's consumers hold, by class, in class id order:
/// upstream's `_get_all_by_project_user`.
pub(crate) async fn for_owner(
    tx: &mut Tx,
    owner: Owner<'_>,
    types: TypeCondition<'_>,
) -> Result<Vec<(String, i64)>> {
    let (from, values) = owner_from(owner, types);
    let sql = format!(
        "SELECT rc.name, SUM(a.used){from} GROUP BY a.resource_class_id, rc.name \
         ORDER BY a.resource_class_id"
    );
    tx.fetch_all_with(&sql, &values, pair).await
}

/// How many distinct consumers of the owner hold anything.
pub(crate) async fn consumer_count(
    tx: &mut Tx,
    owner: Owner<'_>,
    types: TypeCondition<'_>,
) -> Result<i64> {
    let (from, values) = owner_from(owner, types);
    let sql = format!("SELECT COUNT(DISTINCT a.consumer_id){from}");
    tx.fetch_one_with(&sql, &values, |r| r.get_i64(0)).await
}

/// (type name or `None`, class name, amount) rows grouped by consumer type
/// and class, in type name then class id order.
pub(crate) async fn for_owner_by_type(
    tx: &mut Tx,
    owner: Owner<'_>,
    types: TypeCondition<'_>,
) -> Result<Vec<(Option<String>, String, i64)>> {
    let (from, values) = owner_from(owner, types);
    let sql = format!(
        "SELECT ct.name, rc.name, SUM(a.used){from} \
         GROUP BY ct.name, a.resource_class_id, rc.name \
         ORDER BY ct.name, a.resource_class_id"
    );
    tx.fetch_all_with(&sql, &values, |r| {
        Ok((
            r.get_opt_string(0)?,
            r.get_string(1)?,
            r.get_opt_i64(2)?.unwrap_or(0),
        ))
    })
    .await
}

/// (type name or `None`, distinct consumers) per consumer type.
pub(crate) async fn consumer_counts_by_type(
    tx: &mut Tx,
    owner: Owner<'_>,
    types: TypeCondition<'_>,
) -> Result<Vec<(Option<String>, i64)>> {
    let (from, values) = owner_from(owner, types);
    let sql = format!("SELECT ct.name, COUNT(DISTINCT a.consumer_id){from} GROUP BY ct.name");
    tx.fetch_all_with(&sql, &values, |r| Ok((r.get_opt_string(0)?, r.get_i64(1)?)))
        .await
}
