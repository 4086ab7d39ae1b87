//! `users`: Keystone users by external id.

use placement_core::consumer::User;
use placement_core::ids::UserId;

use crate::db::Tx;
use crate::error::Result;
use crate::params;

pub(crate) async fn get_by_external_id(tx: &mut Tx, external_id: &str) -> Result<Option<User>> {
    let row = tx
        .fetch_optional(
            r"SELECT id, external_id FROM users WHERE external_id = ?",
            params![external_id],
        )
        .await?;
    row.map(|r| {
        Ok(User {
            id: UserId(r.get_i64(0)?),
            external_id: r.get_string(1)?,
        })
    })
    .transpose()
}

/// Fails with a unique violation when the external id exists.
pub(crate) async fn insert(tx: &mut Tx, external_id: &str) -> Result<User> {
    let id = tx
        .insert_returning_id(
            r"INSERT INTO users (external_id, created_at) VALUES (?, ?)",
            params![external_id, super::utcnow()],
        )
        .await?;
    Ok(User {
        id: UserId(id),
        external_id: external_id.to_owned(),
    })
}
