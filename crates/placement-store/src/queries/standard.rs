//! `resource_classes` and `traits` as the startup sync of standard entries
//! needs them: every stored name, and bulk inserts of the missing ones.

use std::collections::HashSet;

use chrono::NaiveDateTime;

use crate::db::{Tx, Value};
use crate::error::Result;
use crate::params;

/// Rows per INSERT: few statements for a fresh database while staying far
/// below every backend's bound-parameter limit (SQLite's can be 999).
const ROWS_PER_INSERT: usize = 100;

/// Every resource class name stored, custom ones included.
pub(crate) async fn resource_class_names(tx: &mut Tx) -> Result<HashSet<String>> {
    let names = tx
        .fetch_all_with(r"SELECT name FROM resource_classes", params![], |r| {
            r.get_string(0)
        })
        .await?;
    Ok(names.into_iter().collect())
}

/// Every trait name stored, custom ones included.
pub(crate) async fn trait_names(tx: &mut Tx) -> Result<HashSet<String>> {
    let names = tx
        .fetch_all_with(r"SELECT name FROM traits", params![], |r| r.get_string(0))
        .await?;
    Ok(names.into_iter().collect())
}

/// Inserts resource classes with the ids given (standard classes have fixed
/// ids; on MySQL the session's NO_AUTO_VALUE_ON_ZERO keeps id 0 as 0).
pub(crate) async fn insert_resource_classes(
    tx: &mut Tx,
    classes: &[(i64, &str)],
    created_at: NaiveDateTime,
) -> Result<()> {
    for chunk in classes.chunks(ROWS_PER_INSERT) {
        let rows = vec!["(?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!("INSERT INTO resource_classes (id, name, created_at) VALUES {rows}");
        let params: Vec<Value> = chunk
            .iter()
            .flat_map(|(id, name)| {
                [
                    Value::from(*id),
                    Value::from(*name),
                    Value::from(created_at),
                ]
            })
            .collect();
        tx.execute(&sql, &params).await?;
    }
    Ok(())
}

/// Inserts traits, letting the database assign ids.
pub(crate) async fn insert_traits(
    tx: &mut Tx,
    names: &[&str],
    created_at: NaiveDateTime,
) -> Result<()> {
    for chunk in names.chunks(ROWS_PER_INSERT) {
        let rows = vec!["(?, ?)"; chunk.len()].join(", ");
        let sql = format!("INSERT INTO traits (name, created_at) VALUES {rows}");
        let params: Vec<Value> = chunk
            .iter()
            .flat_map(|name| [Value::from(*name), Value::from(created_at)])
            .collect();
        tx.execute(&sql, &params).await?;
    }
    Ok(())
}
