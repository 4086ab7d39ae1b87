//! `projects`: Keystone projects by external id.

use placement_core::consumer::Project;
use placement_core::ids::ProjectId;

use crate::db::Tx;
use crate::error::Result;
use crate::params;

pub(crate) async fn get_by_external_id(tx: &mut Tx, external_id: &str) -> Result<Option<Project>> {
    let row = tx
        .fetch_optional(
            r"SELECT id, external_id FROM projects WHERE external_id = ?",
            params![external_id],
        )
        .await?;
    row.map(|r| {
        Ok(Project {
            id: ProjectId(r.get_i64(0)?),
            external_id: r.get_string(1)?,
        })
    })
    .transpose()
}

/// Fails with a unique violation when the external id exists.
pub(crate) async fn insert(tx: &mut Tx, external_id: &str) -> Result<Project> {
    let id = tx
        .insert_returning_id(
            r"INSERT INTO projects (external_id, created_at) VALUES (?, ?)",
            params![external_id, super::utcnow()],
        )
        .await?;
    Ok(Project {
        id: ProjectId(id),
        external_id: external_id.to_owned(),
    })
}
