//! `consumer_types`: consumer type names (microversion 1.38).

use placement_core::consumer::ConsumerType;
use placement_core::ids::ConsumerTypeId;

use crate::db::Tx;
use crate::error::Result;
use crate::params;

pub(crate) async fn get_by_name(tx: &mut Tx, name: &str) -> Result<Option<ConsumerType>> {
    tx.fetch_optional_with(
        r"SELECT id, name FROM consumer_types WHERE name = ?",
        params![name],
        |r| {
            Ok(ConsumerType {
                id: ConsumerTypeId(r.get_i64(0)?),
                name: r.get_string(1)?,
            })
        },
    )
    .await
}

/// Fails with a unique violation when the name exists.
pub(crate) async fn insert(tx: &mut Tx, name: &str) -> Result<ConsumerType> {
    let id = tx
        .insert_returning_id(
            r"INSERT INTO consumer_types (name, created_at) VALUES (?, ?)",
            params![name, super::utcnow()],
        )
        .await?;
    Ok(ConsumerType {
        id: ConsumerTypeId(id),
        name: name.to_owned(),
    })
}
