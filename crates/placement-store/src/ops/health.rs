//! The health probe's question to the database (`GET /healthcheck`).
//!
//! Not a unit of work like the others: no transaction, no table, one
//! `SELECT 1` on one pooled connection, so a probe costs the database one
//! round trip and proves both that the pool can hand out a connection and
//! that the server answers on it.

use crate::db::Database;
use crate::error::Result;

/// Asks the database `SELECT 1`. Callers bound the wait themselves (the
/// pool's own timeout is the operator's `pool_timeout`, far too long for a
/// probe).
///
/// # Errors
/// When no connection can be had or the server does not answer.
pub async fn ping(db: &Database) -> Result<()> {
    db.ping().await
}
