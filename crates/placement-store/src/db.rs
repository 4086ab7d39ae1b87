//! The dialect seam: the only module that names a backend driver.
//!
//! Every query in this crate is written once, as SQL with `?` placeholders,
//! and runs on SQLite, PostgreSQL and MySQL through [`Tx`]. We use sqlx's
//! concrete drivers rather than its `Any` driver, because `Any` neither
//! renumbers placeholders nor carries date/time values, and rather than a
//! query builder, because plain SQL in `queries/` is what reviewers can compare
//! with upstream's statements. The seam does the few things that differ:
//! placeholder numbering for PostgreSQL, typed NULLs, how timestamps are
//! stored (SQLite keeps SQLAlchemy's text form), how an inserted id comes back,
//! and how a write transaction starts (SQLite takes the write lock up front so
//! concurrent writers queue on the busy timeout instead of failing on lock
//! upgrade).

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use futures::TryStreamExt as _;
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow, Postgres};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
};
use sqlx::{Executor, Row as _, TypeInfo, ValueRef};

use crate::error::{DbError, Result};
use crate::observe::{PoolStats, StoreObserver};
use crate::url::{DatabaseUrl, SqliteLocation};

/// Declares a method `pub` with the `test-support` feature and `pub(crate)`
/// without it: the raw SQL door (transactions, statements, rows) is the
/// units of work's alone, and tests and tools outside the crate may open it
/// only by asking for that feature.
macro_rules! test_support_pub {
    ($(#[$attr:meta])* async fn $($rest:tt)*) => {
        $(#[$attr])*
        #[cfg(feature = "test-support")]
        pub async fn $($rest)*

        $(#[$attr])*
        #[cfg(not(feature = "test-support"))]
        pub(crate) async fn $($rest)*
    };
}

/// The three database families placement-rs serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// Production, including several API processes over one database.
    Postgres,
    /// MySQL and MariaDB (Galera included).
    MySql,
}

impl Backend {
    /// The name used in logs and test output.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
            Backend::MySql => "mysql",
        }
    }
}

/// Pool settings, mirroring `[placement_database]` so operators' tuning keeps
/// its meaning.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// `max_pool_size` (plus overflow): the most connections this process opens.
    pub max_connections: u32,
    /// `connection_recycle_time`: connections older than this are replaced.
    pub max_lifetime: Duration,
    /// `pool_timeout`: how long a request waits for a free connection.
    pub acquire_timeout: Duration,
    /// SQLite only: how long a writer waits for the write lock.
    pub sqlite_busy_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            // SQLAlchemy's QueuePool defaults: pool_size 5 + max_overflow 10.
            max_connections: 15,
            max_lifetime: Duration::from_secs(3600),
            acquire_timeout: Duration::from_secs(30),
            sqlite_busy_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// A pooled handle to the placement database. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    /// SQLite has one writer at a time. This process's writers queue here
    /// for their turn (woken the moment the previous one finishes) rather
    /// than in SQLite's busy handler, which polls with sleeps of up to
    /// 100 ms and so turns a short wait into a long tail. Other processes
    /// on the same file still meet the busy timeout. `None` off SQLite.
    sqlite_writer: Option<SqliteWriter>,
    /// Told how long connections took to arrive and why allocation writes
    /// retried; `None` (metrics off) costs one branch per event.
    observer: Option<Arc<dyn StoreObserver>>,
}

/// The in-process turn for SQLite write transactions, and how long to wait
/// for it (the configured busy timeout).
#[derive(Clone)]
struct SqliteWriter {
    turn: Arc<tokio::sync::Semaphore>,
    wait: Duration,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({})", self.backend().name())
    }
}

/// The session SQL mode for MySQL: upstream's `mysql_sql_mode` default
/// (TRADITIONAL, i.e. strict), plus NO_AUTO_VALUE_ON_ZERO so the standard
/// resource class VCPU keeps id 0 as upstream's sync arranges.
const MYSQL_SQL_MODE: &str = "SET SESSION sql_mode = 'TRADITIONAL,NO_AUTO_VALUE_ON_ZERO'";

impl Database {
    /// Opens a pool for `url`. Connections are opened lazily except one, so a
    /// wrong host or password fails here, at startup, with a clear error.
    ///
    /// # Errors
    /// A [`DbError`] of kind `ConnectionLost` when the server cannot be
    /// reached, `Other` for authentication or configuration failures.
    pub async fn connect(url: &DatabaseUrl, settings: &PoolSettings) -> Result<Database> {
        let pool = match url.backend() {
            Backend::Sqlite => {
                let mut opts = SqliteConnectOptions::new()
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(settings.sqlite_busy_timeout)
                    .foreign_keys(true);
                let memory = matches!(url.sqlite_location(), Some(SqliteLocation::Memory) | None);
                opts = match url.sqlite_location() {
                    Some(SqliteLocation::File(path)) => opts.filename(path).create_if_missing(true),
                    _ => SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true),
                };
                let pool = SqlitePoolOptions::new()
                    // An in-memory database exists per connection: keep exactly one.
                    .max_connections(if memory {
                        1
                    } else {
                        settings.max_connections.max(1)
                    })
                    .min_connections(if memory { 1 } else { 0 })
                    .max_lifetime(if memory {
                        None
                    } else {
                        Some(settings.max_lifetime)
                    })
                    .idle_timeout(if memory {
                        None
                    } else {
                        Some(Duration::from_secs(600))
                    })
                    .acquire_timeout(settings.acquire_timeout)
                    .connect_with(opts)
                    .await?;
                Pool::Sqlite(pool)
            }
            Backend::Postgres => {
                let mut opts = PgConnectOptions::new_without_pgpass();
                if let Some(host) = url.query_param("host").or(url.host()) {
                    opts = opts.host(host);
                } else {
                    opts = opts.host("localhost");
                }
                if let Some(port) = url.port() {
                    opts = opts.port(port);
                }
                if let Some(user) = url.username() {
                    opts = opts.username(user);
                }
                if let Some(pw) = url.password() {
                    opts = opts.password(pw);
                }
                if let Some(db) = url.database() {
                    opts = opts.database(db);
                }
                if let Some(name) = url.query_param("application_name") {
                    opts = opts.application_name(name);
                }
                let pool = PgPoolOptions::new()
                    .max_connections(settings.max_connections.max(1))
                    .max_lifetime(settings.max_lifetime)
                    .acquire_timeout(settings.acquire_timeout)
                    .connect_with(opts)
                    .await?;
                Pool::Postgres(pool)
            }
            Backend::MySql => {
                let mut opts = MySqlConnectOptions::new();
                if let Some(sock) = url.query_param("unix_socket") {
                    opts = opts.socket(sock);
                } else {
                    opts = opts.host(url.host().unwrap_or("localhost"));
                }
                if let Some(port) = url.port() {
                    opts = opts.port(port);
                }
                if let Some(user) = url.username() {
                    opts = opts.username(user);
                }
                if let Some(pw) = url.password() {
                    opts = opts.password(pw);
                }
                if let Some(db) = url.database() {
                    opts = opts.database(db);
                }
                // Upstream's URLs usually say charset=utf8 (utf8mb3); honour the
                // operator's choice, default to utf8mb4.
                let charset = match url.query_param("charset") {
                    Some("utf8") | Some("utf8mb3") => "utf8",
                    Some(other) => other,
                    None => "utf8mb4",
                };
                opts = opts.charset(charset);
                let pool = MySqlPoolOptions::new()
                    .max_connections(settings.max_connections.max(1))
                    .max_lifetime(settings.max_lifetime)
                    .acquire_timeout(settings.acquire_timeout)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(MYSQL_SQL_MODE).await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?;
                Pool::MySql(pool)
            }
        };
        let sqlite_writer = matches!(pool, Pool::Sqlite(_)).then(|| SqliteWriter {
            turn: Arc::new(tokio::sync::Semaphore::new(1)),
            wait: settings.sqlite_busy_timeout,
        });
        Ok(Database {
            pool,
            sqlite_writer,
            observer: None,
        })
    }

    /// This handle with `observer` told of its events (connection waits,
    /// allocation write retries and conflicts). The pool is shared with
    /// `self`; only the returned handle's events reach the observer, so
    /// each application (and each test) watches its own.
    #[must_use]
    pub fn with_observer(&self, observer: Arc<dyn StoreObserver>) -> Database {
        Database {
            observer: Some(observer),
            ..self.clone()
        }
    }

    /// The observer attached to this handle, if any.
    pub(crate) fn observer(&self) -> Option<&dyn StoreObserver> {
        self.observer.as_deref()
    }

    /// How many connections the pool holds and how many of them are idle,
    /// now: cheap (two atomic loads), for gauges read at scrape time.
    pub fn pool_stats(&self) -> PoolStats {
        fn stats<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> PoolStats {
            PoolStats {
                size: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                max: pool.options().get_max_connections(),
            }
        }
        match &self.pool {
            Pool::Sqlite(p) => stats(p),
            Pool::Postgres(p) => stats(p),
            Pool::MySql(p) => stats(p),
        }
    }

    /// A pooled connection, its wait reported to the observer (a failed
    /// wait too: a pool timeout is the longest wait of all).
    async fn acquire<DB: sqlx::Database>(
        &self,
        pool: &sqlx::Pool<DB>,
    ) -> Result<sqlx::pool::PoolConnection<DB>> {
        let Some(observer) = &self.observer else {
            return Ok(pool.acquire().await?);
        };
        let started = Instant::now();
        let connection = pool.acquire().await;
        observer.connection_acquired(started.elapsed());
        Ok(connection?)
    }

    /// A transaction on a connection from [`Database::acquire`], begun with
    /// `statement` (or the backend's plain BEGIN). The same as sqlx's
    /// `Pool::begin_with`, split so that the wait for the connection can be
    /// measured apart from the BEGIN round trip. `Transaction::begin` is
    /// hidden from sqlx's docs but is what `Pool::begin` itself calls; the
    /// locked version keeps it from changing under us.
    async fn begin_on<DB: sqlx::Database>(
        &self,
        pool: &sqlx::Pool<DB>,
        statement: Option<&'static str>,
    ) -> Result<sqlx::Transaction<'static, DB>> {
        let connection = self.acquire(pool).await?;
        Ok(sqlx::Transaction::begin(connection, statement.map(std::borrow::Cow::Borrowed)).await?)
    }

    /// Asks the database the cheapest question there is (`SELECT 1`), on one
    /// pooled connection and outside any transaction: one round trip.
    ///
    /// # Errors
    /// When no connection can be had or the statement fails.
    pub(crate) async fn ping(&self) -> Result<()> {
        const PING: &str = "SELECT 1";
        match &self.pool {
            Pool::Sqlite(p) => {
                self.acquire(p).await?.execute(PING).await?;
            }
            Pool::Postgres(p) => {
                self.acquire(p).await?.execute(PING).await?;
            }
            Pool::MySql(p) => {
                self.acquire(p).await?.execute(PING).await?;
            }
        }
        Ok(())
    }

    /// Which backend this handle talks to.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
            Pool::MySql(_) => Backend::MySql,
        }
    }

    test_support_pub! {
        /// Starts a transaction that will write. On SQLite it takes the write lock
        /// immediately, so that concurrent writers wait (up to the busy timeout)
        /// rather than fail when a reader tries to become a writer.
        ///
        /// # Errors
        /// A transient [`DbError`] when no connection can be had.
        async fn begin(&self) -> Result<Tx> {
            let turn = match &self.sqlite_writer {
                Some(writer) => Some(
                    tokio::time::timeout(writer.wait, Arc::clone(&writer.turn).acquire_owned())
                        .await
                        .map_err(|_| DbError::lock_timeout("timed out waiting to write to SQLite"))?
                        .map_err(|_| DbError::other("the SQLite writer queue is closed"))?,
                ),
                None => None,
            };
            let inner = match &self.pool {
                Pool::Sqlite(p) => TxInner::Sqlite(self.begin_on(p, Some("BEGIN IMMEDIATE")).await?),
                Pool::Postgres(p) => TxInner::Postgres(self.begin_on(p, None).await?),
                Pool::MySql(p) => TxInner::MySql(self.begin_on(p, None).await?),
            };
            Ok(Tx { inner, _turn: turn })
        }
    }

    test_support_pub! {
        /// Starts a transaction that only reads: a consistent snapshot without
        /// taking SQLite's write lock.
        ///
        /// # Errors
        /// A transient [`DbError`] when no connection can be had.
        async fn begin_read(&self) -> Result<Tx> {
            let inner = match &self.pool {
                Pool::Sqlite(p) => TxInner::Sqlite(self.begin_on(p, None).await?),
                Pool::Postgres(p) => TxInner::Postgres(self.begin_on(p, None).await?),
                Pool::MySql(p) => TxInner::MySql(self.begin_on(p, None).await?),
            };
            Ok(Tx { inner, _turn: None })
        }
    }

    /// Runs one statement outside any transaction (CREATE/DROP DATABASE).
    ///
    /// # Errors
    /// Any classified database error.
    #[cfg(any(test, feature = "test-support"))]
    pub async fn execute_outside_transaction(&self, sql: &str) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => {
                p.execute(sql).await?;
            }
            Pool::Postgres(p) => {
                p.execute(sql).await?;
            }
            Pool::MySql(p) => {
                p.execute(sql).await?;
            }
        }
        Ok(())
    }

    /// Closes every pooled connection; used at shutdown so the server sees
    /// clean disconnects.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
            Pool::MySql(p) => p.close().await,
        }
    }
}

enum TxInner {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
    MySql(sqlx::Transaction<'static, MySql>),
}

/// One database transaction: a unit of work's only way to the database.
///
/// Dropping a `Tx` without [`Tx::commit`] rolls it back, so an early `?`
/// anywhere in a unit of work leaves nothing behind.
pub struct Tx {
    inner: TxInner,
    /// A SQLite writer's turn, given back when the transaction ends (fields
    /// drop in order, so after the transaction itself).
    _turn: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// The SQL type of a NULL parameter. PostgreSQL types every parameter, so a
/// NULL must say what it stands for or an INSERT into an integer column fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    /// INTEGER / BIGINT.
    Int,
    /// FLOAT / DOUBLE.
    Float,
    /// VARCHAR / TEXT.
    Text,
    /// DATETIME / TIMESTAMP WITHOUT TIME ZONE.
    Timestamp,
}

/// A bound parameter or a fetched column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A NULL of the given type.
    Null(SqlType),
    /// Any integer column.
    Int(i64),
    /// Any floating-point column.
    Float(f64),
    /// Any string column.
    Text(String),
    /// A naive UTC timestamp, as upstream stores `created_at`/`updated_at`.
    Timestamp(NaiveDateTime),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<NaiveDateTime> for Value {
    fn from(v: NaiveDateTime) -> Self {
        Value::Timestamp(v)
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::Null(SqlType::Int), Value::Int)
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::Null(SqlType::Text), Value::Text)
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Value::Null(SqlType::Text), |s| Value::Text(s.to_owned()))
    }
}
impl From<Option<NaiveDateTime>> for Value {
    fn from(v: Option<NaiveDateTime>) -> Self {
        v.map_or(Value::Null(SqlType::Timestamp), Value::Timestamp)
    }
}

/// Builds a `&[Value]` parameter list from mixed Rust values. Exported only
/// with the `test-support` feature: outside the store, only tests and tools
/// run SQL of their own.
#[cfg_attr(feature = "test-support", macro_export)]
macro_rules! params {
    () => { &[] as &[$crate::db::Value] };
    ($($v:expr),+ $(,)?) => { &[$($crate::db::Value::from($v)),+][..] };
}
#[cfg(not(feature = "test-support"))]
pub(crate) use params;

/// SQLAlchemy's text form of a DateTime on SQLite; upstream's Python code
/// parses exactly this, so Rust and Python workers can share a SQLite file.
const SQLITE_TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.6f";

/// One column of a fetched row, decoded without copying: text borrows the
/// driver's buffer, and the backend's type name is compared, never kept.
#[derive(Debug, Clone, Copy)]
enum Cell<'r> {
    Null,
    Int(i64),
    Float(f64),
    Text(&'r str),
    Timestamp(NaiveDateTime),
}

fn mismatch(idx: usize, want: &str, got: &Cell<'_>) -> crate::error::Error {
    DbError::other(format!("column {idx}: expected {want}, found {got:?}")).into()
}

impl<'r> Cell<'r> {
    fn opt_i64(self, idx: usize) -> Result<Option<i64>> {
        match self {
            Cell::Null => Ok(None),
            Cell::Int(v) => Ok(Some(v)),
            Cell::Text(s) => s
                .parse()
                .map(Some)
                .map_err(|_| mismatch(idx, "integer", &self)),
            other => Err(mismatch(idx, "integer", &other)),
        }
    }

    fn opt_f64(self, idx: usize) -> Result<Option<f64>> {
        match self {
            Cell::Null => Ok(None),
            Cell::Float(v) => Ok(Some(v)),
            #[expect(
                clippy::cast_precision_loss,
                reason = "integers read as floats are small counts"
            )]
            Cell::Int(v) => Ok(Some(v as f64)),
            Cell::Text(s) => s
                .parse()
                .map(Some)
                .map_err(|_| mismatch(idx, "float", &self)),
            other => Err(mismatch(idx, "float", &other)),
        }
    }

    fn opt_str(self, idx: usize) -> Result<Option<&'r str>> {
        match self {
            Cell::Null => Ok(None),
            Cell::Text(s) => Ok(Some(s)),
            other => Err(mismatch(idx, "text", &other)),
        }
    }

    fn opt_timestamp(self, idx: usize) -> Result<Option<NaiveDateTime>> {
        match self {
            Cell::Null => Ok(None),
            Cell::Timestamp(t) => Ok(Some(t)),
            Cell::Text(s) => parse_sqlite_timestamp(s)
                .map(Some)
                .ok_or_else(|| mismatch(idx, "timestamp", &self)),
            other => Err(mismatch(idx, "timestamp", &other)),
        }
    }

    fn to_value(self) -> Value {
        match self {
            Cell::Null => Value::Null(SqlType::Text),
            Cell::Int(v) => Value::Int(v),
            Cell::Float(v) => Value::Float(v),
            Cell::Text(s) => Value::Text(s.to_owned()),
            Cell::Timestamp(t) => Value::Timestamp(t),
        }
    }
}

fn required<T>(value: Option<T>, idx: usize) -> Result<T> {
    value.ok_or_else(|| DbError::other(format!("column {idx} is NULL")).into())
}

#[derive(Clone, Copy)]
enum RowRef<'r> {
    Sqlite(&'r SqliteRow),
    Postgres(&'r PgRow),
    MySql(&'r MySqlRow),
}

/// A row as the driver delivered it, lent to a mapping closure while the
/// result set is read (see [`Tx::fetch_all_with`]): columns are decoded on
/// demand, straight into the caller's types, the same way on every backend.
pub struct Row<'r> {
    inner: RowRef<'r>,
}

impl<'r> Row<'r> {
    fn cell(&self, idx: usize) -> Result<Cell<'r>> {
        match self.inner {
            RowRef::Sqlite(row) => sqlite_cell(row, idx),
            RowRef::Postgres(row) => pg_cell(row, idx),
            RowRef::MySql(row) => mysql_cell(row, idx),
        }
    }

    fn len(&self) -> usize {
        match self.inner {
            RowRef::Sqlite(row) => row.len(),
            RowRef::Postgres(row) => row.len(),
            RowRef::MySql(row) => row.len(),
        }
    }

    /// An integer column that must not be NULL.
    ///
    /// # Errors
    /// When the column is NULL or not an integer.
    pub fn get_i64(&self, idx: usize) -> Result<i64> {
        required(self.cell(idx)?.opt_i64(idx)?, idx)
    }

    /// An integer column that may be NULL.
    ///
    /// # Errors
    /// When the column is not an integer.
    pub fn get_opt_i64(&self, idx: usize) -> Result<Option<i64>> {
        self.cell(idx)?.opt_i64(idx)
    }

    /// A floating-point column that must not be NULL.
    ///
    /// # Errors
    /// When the column is NULL or not numeric.
    pub fn get_f64(&self, idx: usize) -> Result<f64> {
        required(self.cell(idx)?.opt_f64(idx)?, idx)
    }

    /// A string column that must not be NULL, borrowed from the row: for
    /// values parsed on the spot (uuids) rather than kept.
    ///
    /// # Errors
    /// When the column is NULL or not a string.
    pub fn get_str(&self, idx: usize) -> Result<&'r str> {
        required(self.cell(idx)?.opt_str(idx)?, idx)
    }

    /// A string column that may be NULL, borrowed from the row.
    ///
    /// # Errors
    /// When the column is not a string.
    pub fn get_opt_str(&self, idx: usize) -> Result<Option<&'r str>> {
        self.cell(idx)?.opt_str(idx)
    }

    /// A string column that must not be NULL.
    ///
    /// # Errors
    /// When the column is NULL or not a string.
    pub fn get_string(&self, idx: usize) -> Result<String> {
        self.get_str(idx).map(str::to_owned)
    }

    /// A string column that may be NULL.
    ///
    /// # Errors
    /// When the column is not a string.
    pub fn get_opt_string(&self, idx: usize) -> Result<Option<String>> {
        Ok(self.get_opt_str(idx)?.map(str::to_owned))
    }

    /// A timestamp column that may be NULL (`created_at`, `updated_at`).
    ///
    /// # Errors
    /// When the column holds something that is not a timestamp.
    pub fn get_opt_timestamp(&self, idx: usize) -> Result<Option<NaiveDateTime>> {
        self.cell(idx)?.opt_timestamp(idx)
    }

    /// Every column copied out, for the slow paths that keep rows whole
    /// (schema description, tests).
    ///
    /// # Errors
    /// When a column has a type the seam cannot decode.
    pub fn to_owned_row(&self) -> Result<OwnedRow> {
        let values = (0..self.len())
            .map(|i| self.cell(i).map(Cell::to_value))
            .collect::<Result<Vec<_>>>()?;
        Ok(OwnedRow { values })
    }
}

/// A row copied out of the driver, column by column, into [`Value`]s: what
/// the catalog readers and tests keep. Units of work map rows with
/// [`Tx::fetch_all_with`] instead.
#[derive(Debug, Clone)]
pub struct OwnedRow {
    values: Vec<Value>,
}

impl OwnedRow {
    fn cell(&self, idx: usize) -> Result<Cell<'_>> {
        match self.values.get(idx) {
            None => Err(DbError::other(format!("column {idx} out of range")).into()),
            Some(Value::Null(_)) => Ok(Cell::Null),
            Some(Value::Int(v)) => Ok(Cell::Int(*v)),
            Some(Value::Float(v)) => Ok(Cell::Float(*v)),
            Some(Value::Text(s)) => Ok(Cell::Text(s)),
            Some(Value::Timestamp(t)) => Ok(Cell::Timestamp(*t)),
        }
    }

    /// An integer column that must not be NULL.
    ///
    /// # Errors
    /// When the column is NULL or not an integer.
    pub fn get_i64(&self, idx: usize) -> Result<i64> {
        required(self.cell(idx)?.opt_i64(idx)?, idx)
    }

    /// An integer column that may be NULL.
    ///
    /// # Errors
    /// When the column is not an integer.
    pub fn get_opt_i64(&self, idx: usize) -> Result<Option<i64>> {
        self.cell(idx)?.opt_i64(idx)
    }

    /// A floating-point column that must not be NULL.
    ///
    /// # Errors
    /// When the column is NULL or not numeric.
    pub fn get_f64(&self, idx: usize) -> Result<f64> {
        required(self.cell(idx)?.opt_f64(idx)?, idx)
    }

    /// A string column that must not be NULL.
    ///
    /// # Errors
    /// When the column is NULL or not a string.
    pub fn get_string(&self, idx: usize) -> Result<String> {
        required(self.cell(idx)?.opt_str(idx)?, idx).map(str::to_owned)
    }

    /// A string column that may be NULL.
    ///
    /// # Errors
    /// When the column is not a string.
    pub fn get_opt_string(&self, idx: usize) -> Result<Option<String>> {
        Ok(self.cell(idx)?.opt_str(idx)?.map(str::to_owned))
    }

    /// A timestamp column that may be NULL.
    ///
    /// # Errors
    /// When the column holds something that is not a timestamp.
    pub fn get_opt_timestamp(&self, idx: usize) -> Result<Option<NaiveDateTime>> {
        self.cell(idx)?.opt_timestamp(idx)
    }

    /// The decoded values, for generic tooling such as schema description.
    pub fn values(&self) -> &[Value] {
        &self.values
    }
}

/// Parses a SQLite timestamp: SQLAlchemy's own form first (what every row
/// written by us or by upstream holds), then the ISO and second-only forms
/// other writers leave.
fn parse_sqlite_timestamp(s: &str) -> Option<NaiveDateTime> {
    if let Some(t) = parse_sqlalchemy_form(s) {
        return Some(t);
    }
    const FALLBACKS: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ];
    FALLBACKS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

/// [`SQLITE_TIMESTAMP_FORMAT`] read by position, without interpreting a
/// format string: `YYYY-MM-DD HH:MM:SS.ffffff`, exactly 26 bytes.
fn parse_sqlalchemy_form(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() != 26
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0_u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(num(0, 4)?).ok()?;
    chrono::NaiveDate::from_ymd_opt(year, num(5, 7)?, num(8, 10)?)?.and_hms_micro_opt(
        num(11, 13)?,
        num(14, 16)?,
        num(17, 19)?,
        num(20, 26)?,
    )
}

/// Rewrites `?` placeholders as `$1, $2, …` for PostgreSQL, leaving quoted
/// strings and identifiers alone.
fn number_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    out.push(c);
                }
                '?' => {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                }
                _ => out.push(c),
            },
        }
    }
    out
}

macro_rules! bind_all {
    ($query:expr, $params:expr, sqlite) => {{
        let mut q = $query;
        for p in $params {
            q = match p {
                Value::Null(_) => q.bind(None::<i64>),
                Value::Int(v) => q.bind(*v),
                Value::Float(v) => q.bind(*v),
                Value::Text(v) => q.bind(v.as_str()),
                Value::Timestamp(t) => q.bind(t.format(SQLITE_TIMESTAMP_FORMAT).to_string()),
            };
        }
        q
    }};
    ($query:expr, $params:expr, typed) => {{
        let mut q = $query;
        for p in $params {
            q = match p {
                Value::Null(SqlType::Int) => q.bind(None::<i64>),
                Value::Null(SqlType::Float) => q.bind(None::<f64>),
                Value::Null(SqlType::Text) => q.bind(None::<String>),
                Value::Null(SqlType::Timestamp) => q.bind(None::<NaiveDateTime>),
                Value::Int(v) => q.bind(*v),
                Value::Float(v) => q.bind(*v),
                Value::Text(v) => q.bind(v.as_str()),
                Value::Timestamp(t) => q.bind(*t),
            };
        }
        q
    }};
}

impl Tx {
    /// Which backend this transaction runs on (for the rare statement that
    /// must differ, such as DDL).
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
            TxInner::MySql(_) => Backend::MySql,
        }
    }

    /// Runs a statement and returns the number of rows it matched. MySQL
    /// connections report matched (not changed) rows, so a compare-and-swap
    /// reads the same on every backend.
    ///
    /// # Errors
    /// Any classified database error.
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let affected = match &mut self.inner {
            TxInner::Sqlite(tx) => bind_all!(sqlx::query(sql), params, sqlite)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            TxInner::Postgres(tx) => {
                let sql = number_placeholders(sql);
                bind_all!(sqlx::query(&sql), params, typed)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
            }
            TxInner::MySql(tx) => bind_all!(sqlx::query(sql), params, typed)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        };
        Ok(affected)
    }

    /// Runs an INSERT into a table whose `id` the database assigns and returns
    /// that id. Do not end `sql` with a RETURNING clause: the seam adds it
    /// where the backend needs it.
    ///
    /// # Errors
    /// Any classified database error; a unique violation has kind
    /// `UniqueViolation`.
    pub async fn insert_returning_id(&mut self, sql: &str, params: &[Value]) -> Result<i64> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => Ok(bind_all!(sqlx::query(sql), params, sqlite)
                .execute(&mut **tx)
                .await?
                .last_insert_rowid()),
            TxInner::Postgres(tx) => {
                let sql = format!("{} RETURNING id", number_placeholders(sql));
                let row = bind_all!(sqlx::query(&sql), params, typed)
                    .fetch_one(&mut **tx)
                    .await?;
                required(pg_cell(&row, 0)?.opt_i64(0)?, 0)
            }
            TxInner::MySql(tx) => {
                let id = bind_all!(sqlx::query(sql), params, typed)
                    .execute(&mut **tx)
                    .await?
                    .last_insert_id();
                i64::try_from(id).map_err(|_| DbError::other("insert id out of range").into())
            }
        }
    }

    /// Runs a query and maps each row with `map` as it is read, so neither
    /// the driver's rows nor copies of their values pile up.
    ///
    /// # Errors
    /// Any classified database error, or the first error `map` returns.
    pub(crate) async fn fetch_all_with<T, F>(
        &mut self,
        sql: &str,
        params: &[Value],
        mut map: F,
    ) -> Result<Vec<T>>
    where
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        let mut out = Vec::new();
        match &mut self.inner {
            TxInner::Sqlite(tx) => {
                let mut rows = bind_all!(sqlx::query(sql), params, sqlite).fetch(&mut **tx);
                while let Some(row) = rows.try_next().await? {
                    out.push(map(&Row {
                        inner: RowRef::Sqlite(&row),
                    })?);
                }
            }
            TxInner::Postgres(tx) => {
                let sql = number_placeholders(sql);
                let mut rows = bind_all!(sqlx::query(&sql), params, typed).fetch(&mut **tx);
                while let Some(row) = rows.try_next().await? {
                    out.push(map(&Row {
                        inner: RowRef::Postgres(&row),
                    })?);
                }
            }
            TxInner::MySql(tx) => {
                let mut rows = bind_all!(sqlx::query(sql), params, typed).fetch(&mut **tx);
                while let Some(row) = rows.try_next().await? {
                    out.push(map(&Row {
                        inner: RowRef::MySql(&row),
                    })?);
                }
            }
        }
        Ok(out)
    }

    /// Runs a query and maps its first row, reading no further.
    ///
    /// # Errors
    /// As [`Tx::fetch_all_with`].
    pub(crate) async fn fetch_optional_with<T, F>(
        &mut self,
        sql: &str,
        params: &[Value],
        map: F,
    ) -> Result<Option<T>>
    where
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        match &mut self.inner {
            TxInner::Sqlite(tx) => bind_all!(sqlx::query(sql), params, sqlite)
                .fetch_optional(&mut **tx)
                .await?
                .map(|row| {
                    map(&Row {
                        inner: RowRef::Sqlite(&row),
                    })
                })
                .transpose(),
            TxInner::Postgres(tx) => {
                let sql = number_placeholders(sql);
                bind_all!(sqlx::query(&sql), params, typed)
                    .fetch_optional(&mut **tx)
                    .await?
                    .map(|row| {
                        map(&Row {
                            inner: RowRef::Postgres(&row),
                        })
                    })
                    .transpose()
            }
            TxInner::MySql(tx) => bind_all!(sqlx::query(sql), params, typed)
                .fetch_optional(&mut **tx)
                .await?
                .map(|row| {
                    map(&Row {
                        inner: RowRef::MySql(&row),
                    })
                })
                .transpose(),
        }
    }

    /// Runs a query that must return a row (an aggregate, say) and maps it.
    ///
    /// # Errors
    /// As [`Tx::fetch_all_with`], and an `Other` error when no row comes back.
    pub(crate) async fn fetch_one_with<T, F>(
        &mut self,
        sql: &str,
        params: &[Value],
        map: F,
    ) -> Result<T>
    where
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        self.fetch_optional_with(sql, params, map)
            .await?
            .ok_or_else(|| DbError::other("query returned no row").into())
    }

    /// Whether the query returns any row; reads at most one. Callers write
    /// `EXISTS` or `LIMIT 1` queries so the database stops early too.
    ///
    /// # Errors
    /// Any classified database error.
    pub(crate) async fn exists(&mut self, sql: &str, params: &[Value]) -> Result<bool> {
        Ok(self
            .fetch_optional_with(sql, params, |_| Ok(()))
            .await?
            .is_some())
    }

    test_support_pub! {
        /// Runs a query and copies every row out (catalog readers, tests).
        ///
        /// # Errors
        /// Any classified database error, or a column of a type the seam
        /// cannot decode.
        async fn fetch_all(&mut self, sql: &str, params: &[Value]) -> Result<Vec<OwnedRow>> {
            self.fetch_all_with(sql, params, |r| r.to_owned_row()).await
        }
    }

    test_support_pub! {
        /// Runs a query expected to return at most one row and copies it out.
        ///
        /// # Errors
        /// As [`Tx::fetch_all`].
        async fn fetch_optional(&mut self, sql: &str, params: &[Value]) -> Result<Option<OwnedRow>> {
            self.fetch_optional_with(sql, params, |r| r.to_owned_row()).await
        }
    }

    test_support_pub! {
        /// Runs a query that must return a row and copies it out.
        ///
        /// # Errors
        /// As [`Tx::fetch_all`], and an `Other` error when no row comes back.
        async fn fetch_one(&mut self, sql: &str, params: &[Value]) -> Result<OwnedRow> {
            self.fetch_one_with(sql, params, |r| r.to_owned_row()).await
        }
    }

    /// Runs one statement without parameters and without preparing it: DDL,
    /// PRAGMA and SET statements.
    ///
    /// # Errors
    /// Any classified database error.
    pub async fn execute_raw(&mut self, sql: &str) -> Result<()> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => {
                (&mut **tx).execute(sql).await?;
            }
            TxInner::Postgres(tx) => {
                (&mut **tx).execute(sql).await?;
            }
            TxInner::MySql(tx) => {
                (&mut **tx).execute(sql).await?;
            }
        }
        Ok(())
    }

    /// Makes the unit of work durable.
    ///
    /// # Errors
    /// Any classified database error (a serialization failure may surface
    /// only here on some backends).
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
            TxInner::MySql(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Abandons the unit of work explicitly (dropping does the same).
    ///
    /// # Errors
    /// Any classified database error.
    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.rollback().await?,
            TxInner::Postgres(tx) => tx.rollback().await?,
            TxInner::MySql(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

fn sqlite_cell<'r>(row: &'r SqliteRow, i: usize) -> Result<Cell<'r>> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Cell::Null);
    }
    Ok(match raw.type_info().name() {
        "INTEGER" | "BOOLEAN" => Cell::Int(row.try_get_unchecked::<i64, _>(i)?),
        "REAL" | "NUMERIC" => Cell::Float(row.try_get_unchecked::<f64, _>(i)?),
        "TEXT" | "DATETIME" | "DATE" | "TIME" => Cell::Text(row.try_get_unchecked::<&str, _>(i)?),
        "BLOB" => Cell::Text(
            std::str::from_utf8(row.try_get_unchecked::<&[u8], _>(i)?)
                .map_err(|_| DbError::other(format!("column {i} is a BLOB, not UTF-8")))?,
        ),
        other => {
            return Err(DbError::other(format!("unsupported SQLite value type {other}")).into())
        }
    })
}

fn pg_cell<'r>(row: &'r PgRow, i: usize) -> Result<Cell<'r>> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Cell::Null);
    }
    Ok(match raw.type_info().name() {
        "INT2" => Cell::Int(row.try_get_unchecked::<i16, _>(i)?.into()),
        "INT4" => Cell::Int(row.try_get_unchecked::<i32, _>(i)?.into()),
        "INT8" => Cell::Int(row.try_get_unchecked::<i64, _>(i)?),
        "OID" => Cell::Int(i64::from(
            row.try_get_unchecked::<sqlx::postgres::types::Oid, _>(i)?.0,
        )),
        "BOOL" => Cell::Int(i64::from(row.try_get_unchecked::<bool, _>(i)?)),
        "FLOAT4" => Cell::Float(row.try_get_unchecked::<f32, _>(i)?.into()),
        "FLOAT8" => Cell::Float(row.try_get_unchecked::<f64, _>(i)?),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" => {
            Cell::Text(row.try_get_unchecked::<&str, _>(i)?)
        }
        "TIMESTAMP" => Cell::Timestamp(row.try_get_unchecked::<NaiveDateTime, _>(i)?),
        other => {
            return Err(DbError::other(format!(
                "unsupported PostgreSQL column type {other} (cast it in the query)"
            ))
            .into())
        }
    })
}

/// The shortest decimal that reads back as `v`, as MySQL's text protocol
/// (which upstream's driver reads) sends a FLOAT: 16.1, not the widened
/// 16.100000381469727. Formatted on the stack, without allocating.
fn f32_as_decimal(v: f32) -> f64 {
    struct Stack {
        buf: [u8; 48],
        len: usize,
    }
    impl std::fmt::Write for Stack {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let end = self.len + s.len();
            let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
            dst.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
    let mut out = Stack {
        buf: [0; 48],
        len: 0,
    };
    if std::fmt::Write::write_fmt(&mut out, format_args!("{v}")).is_err() {
        return f64::from(v);
    }
    out.buf
        .get(..out.len)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(f64::from(v))
}

fn mysql_cell<'r>(row: &'r MySqlRow, i: usize) -> Result<Cell<'r>> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Cell::Null);
    }
    let type_info = raw.type_info();
    let name = type_info.name();
    Ok(match name {
        "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "BOOLEAN" | "YEAR"
        | "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED" => {
            Cell::Int(row.try_get_unchecked::<i64, _>(i)?)
        }
        "BIGINT UNSIGNED" => {
            let v = row.try_get_unchecked::<u64, _>(i)?;
            Cell::Int(i64::try_from(v).map_err(|_| DbError::other("BIGINT UNSIGNED out of range"))?)
        }
        "FLOAT" => Cell::Float(f32_as_decimal(row.try_get_unchecked::<f32, _>(i)?)),
        "DOUBLE" => Cell::Float(row.try_get_unchecked::<f64, _>(i)?),
        // SUM() over integers yields DECIMAL, sent as text.
        "DECIMAL" => {
            let bytes = row.try_get_unchecked::<&[u8], _>(i)?;
            let text = std::str::from_utf8(bytes)
                .map_err(|_| DbError::other(format!("column {i}: DECIMAL is not ASCII")))?;
            match text.parse::<i64>() {
                Ok(v) => Cell::Int(v),
                Err(_) => Cell::Float(
                    text.parse::<f64>()
                        .map_err(|_| DbError::other(format!("unparseable DECIMAL {text:?}")))?,
                ),
            }
        }
        "DATETIME" | "TIMESTAMP" => Cell::Timestamp(row.try_get_unchecked::<NaiveDateTime, _>(i)?),
        // VARCHAR, CHAR, TEXT, DATE, ENUM and their BINARY-collated forms.
        _ => Cell::Text(
            std::str::from_utf8(row.try_get_unchecked::<&[u8], _>(i)?)
                .map_err(|_| DbError::other(format!("column {i} ({name}) is not UTF-8")))?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_quotes_only() {
        assert_eq!(
            number_placeholders("SELECT '?', \"a?\" FROM t WHERE a = ? AND b = ?"),
            "SELECT '?', \"a?\" FROM t WHERE a = $1 AND b = $2"
        );
    }

    #[test]
    fn sqlalchemys_form_is_read_by_position_and_agrees_with_chrono() {
        let text = "2026-11-21 11:42:39.123456";
        assert_eq!(
            parse_sqlalchemy_form(text),
            NaiveDateTime::parse_from_str(text, SQLITE_TIMESTAMP_FORMAT).ok()
        );
        assert!(parse_sqlalchemy_form(text).is_some());
        assert_eq!(parse_sqlalchemy_form("2026-02-30 11:42:39.123456"), None);
        assert_eq!(parse_sqlalchemy_form("2026-11-21T11:42:39.123456"), None);
        assert_eq!(parse_sqlalchemy_form("2026-11-21 11:42:39.12345x"), None);
    }

    #[test]
    fn sqlite_timestamps_parse_in_sqlalchemy_and_iso_forms() {
        assert!(parse_sqlite_timestamp("2026-11-21 11:42:39.123456").is_some());
        assert!(parse_sqlite_timestamp("2026-11-21 11:42:39").is_some());
        assert!(parse_sqlite_timestamp("2026-11-21T11:42:39.1").is_some());
        assert!(parse_sqlite_timestamp("yesterday").is_none());
    }

    #[test]
    fn options_become_typed_nulls() {
        assert_eq!(Value::from(None::<i64>), Value::Null(SqlType::Int));
        assert_eq!(Value::from(None::<String>), Value::Null(SqlType::Text));
    }
}
