//! `projects` and `users`: Keystone identities by external id.
//!
//! The two tables have the same shape and the same get-or-create rules, so
//! one set of statements serves both, selected by [`OwnerTable`].

use placement_core::consumer::{Project, User};
use placement_core::ids::{ProjectId, UserId};

use crate::db::Tx;
use crate::error::Result;
use crate::params;

/// Which owner table a statement targets.
#[derive(Debug, Clone, Copy)]
pub(crate) enum OwnerTable {
    Projects,
    Users,
}

impl OwnerTable {
    fn select(self) -> &'static str {
        match self {
            OwnerTable::Projects => r"SELECT id FROM projects WHERE external_id = ?",
            OwnerTable::Users => r"SELECT id FROM users WHERE external_id = ?",
        }
    }

    fn insert(self) -> &'static str {
        match self {
            OwnerTable::Projects => r"INSERT INTO projects (external_id, created_at) VALUES (?, ?)",
            OwnerTable::Users => r"INSERT INTO users (external_id, created_at) VALUES (?, ?)",
        }
    }
}

/// The internal id for `external_id`, if it has a row.
pub(crate) async fn get_id(
    tx: &mut Tx,
    table: OwnerTable,
    external_id: &str,
) -> Result<Option<i64>> {
    tx.fetch_optional_with(table.select(), params![external_id], |r| r.get_i64(0))
        .await
}

/// Inserts a row; fails with a unique violation when the external id exists.
pub(crate) async fn insert(tx: &mut Tx, table: OwnerTable, external_id: &str) -> Result<i64> {
    tx.insert_returning_id(table.insert(), params![external_id, super::utcnow()])
        .await
}

pub(crate) fn project(id: i64, external_id: &str) -> Project {
    Project {
        id: ProjectId(id),
        external_id: external_id.to_owned(),
    }
}

pub(crate) fn user(id: i64, external_id: &str) -> User {
    User {
        id: UserId(id),
        external_id: external_id.to_owned(),
    }
}
