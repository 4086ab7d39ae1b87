//! Placement's database: an upstream-compatible schema and the units of work
//! that read and change it, on SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! # Layout
//! - [`db`]: the dialect seam, the only module that names a driver. Queries are
//!   written once with `?` placeholders; the seam adapts them per backend.
//! - [`error`]: the store error, mirroring upstream's exceptions, with database
//!   failures classified as unique violation / transient / other.
//! - [`observe`]: the events the store reports to an optional observer
//!   (connection waits, allocation write retries and conflicts), for metrics.
//! - [`url`]: SQLAlchemy-style connection URLs, as `placement.conf` holds them.
//! - [`schema`]: upstream's alembic chain reproduced per backend, and a
//!   describer that reads a schema back as the database reports it.
//! - [`ops`]: the public units of work; each function is one transaction.
//! - `queries` (private): leaf statements taking a transaction.
//! - [`testing`] (feature `test-support`): scratch databases for tests.
//!
//! # Why sqlx, and why not its `Any` driver
//! sqlx gives async drivers for all three backends with one pool type per
//! backend and bound parameters throughout. Its `Any` driver cannot carry
//! timestamps or renumber placeholders, so [`db`] wraps the three concrete
//! drivers behind one small API instead; the SQL stays plain text that can be
//! compared line by line with upstream's SQLAlchemy statements.
#![forbid(unsafe_code)]

pub mod db;
pub mod error;
pub mod observe;
pub mod ops;
mod queries;
pub mod schema;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod url;

pub use db::{Backend, Database, PoolSettings};
// With `test-support`, `params!` is exported at the crate root instead.
#[cfg(not(feature = "test-support"))]
pub(crate) use db::params;
pub use error::{DbError, DbErrorKind, Error, Result};
pub use observe::{ConflictCause, PoolStats, RetryCause, StoreObserver};
pub use url::DatabaseUrl;
