//! Fresh, uniquely named databases for tests, on every configured backend.
//!
//! SQLite is always available. PostgreSQL and MySQL/MariaDB join when
//! `PLACEMENT_TEST_POSTGRES_URL` / `PLACEMENT_TEST_MYSQL_URL` name an
//! administrative connection; each [`TestDb`] then creates its own database
//! there and drops it when dropped. A configured server that cannot be reached
//! fails the test loudly: CI sets both variables, and a silent skip would hide
//! a backend that was never tested.

use std::path::PathBuf;

use crate::db::{Backend, Database, PoolSettings};
use crate::url::DatabaseUrl;

/// Environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "PLACEMENT_TEST_POSTGRES_URL";
/// Environment variable naming the MySQL/MariaDB server for tests.
pub const MYSQL_ENV: &str = "PLACEMENT_TEST_MYSQL_URL";

enum Cleanup {
    File(PathBuf),
    Server { admin: DatabaseUrl, name: String },
}

/// A scratch database, removed on drop.
///
/// Use it from `#[tokio::test(flavor = "multi_thread")]` tests: dropping it
/// then closes its pool cleanly before the database is dropped.
pub struct TestDb {
    url: DatabaseUrl,
    database: Database,
    cleanup: Cleanup,
}

fn unique_name() -> String {
    format!("placement_test_{}", uuid::Uuid::new_v4().simple())
}

impl TestDb {
    /// A new SQLite file in the temporary directory.
    ///
    /// # Panics
    /// When the file cannot be created (tests only).
    pub async fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("{}.sqlite", unique_name()));
        let url = DatabaseUrl::parse(&format!("sqlite:///{}", path.display()))
            .unwrap_or_else(|e| panic!("sqlite test url: {e}"));
        let database = Database::connect(&url, &PoolSettings::default())
            .await
            .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
        TestDb {
            url,
            database,
            cleanup: Cleanup::File(path),
        }
    }

    /// A new database on the PostgreSQL server named by
    /// `PLACEMENT_TEST_POSTGRES_URL`, or `None` when it is unset.
    ///
    /// # Panics
    /// When the variable is set but the server cannot be used.
    pub async fn postgres() -> Option<TestDb> {
        Self::on_server(POSTGRES_ENV, Backend::Postgres).await
    }

    /// A new database on the MySQL/MariaDB server named by
    /// `PLACEMENT_TEST_MYSQL_URL`, or `None` when it is unset.
    ///
    /// # Panics
    /// When the variable is set but the server cannot be used.
    pub async fn mysql() -> Option<TestDb> {
        Self::on_server(MYSQL_ENV, Backend::MySql).await
    }

    /// One fresh database per configured backend, SQLite first.
    pub async fn all() -> Vec<TestDb> {
        let mut dbs = vec![Self::sqlite().await];
        dbs.extend(Self::postgres().await);
        dbs.extend(Self::mysql().await);
        dbs
    }

    /// The backends [`TestDb::all`] would give, without creating anything.
    pub fn configured_backends() -> Vec<Backend> {
        let mut b = vec![Backend::Sqlite];
        if std::env::var_os(POSTGRES_ENV).is_some() {
            b.push(Backend::Postgres);
        }
        if std::env::var_os(MYSQL_ENV).is_some() {
            b.push(Backend::MySql);
        }
        b
    }

    /// A fresh database on the given backend.
    ///
    /// # Panics
    /// When that backend is not configured.
    pub async fn on(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => Some(Self::sqlite().await),
            Backend::Postgres => Self::postgres().await,
            Backend::MySql => Self::mysql().await,
        }
        .unwrap_or_else(|| panic!("backend {} is not configured", backend.name()))
    }

    async fn on_server(var: &str, backend: Backend) -> Option<TestDb> {
        let admin_url = std::env::var(var).ok()?;
        let admin = DatabaseUrl::parse(&admin_url).unwrap_or_else(|e| panic!("{var}: {e}"));
        assert_eq!(
            admin.backend(),
            backend,
            "{var} names the wrong kind of server"
        );
        let name = unique_name();
        let admin_db = Database::connect(&admin, &small_pool())
            .await
            .unwrap_or_else(|e| panic!("{var} is set but the server is unreachable: {e}"));
        create_database(&admin_db, backend, &name).await;
        admin_db.close().await;
        let url = admin.with_database(&name);
        let database = Database::connect(&url, &PoolSettings::default())
            .await
            .unwrap_or_else(|e| panic!("connecting to {name}: {e}"));
        Some(TestDb {
            url,
            database,
            cleanup: Cleanup::Server { admin, name },
        })
    }

    /// The connection URL of this database (for starting a server on it).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The pooled handle.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The backend under test, for assertion messages.
    pub fn backend(&self) -> Backend {
        self.database.backend()
    }
}

fn small_pool() -> PoolSettings {
    PoolSettings {
        max_connections: 1,
        ..PoolSettings::default()
    }
}

async fn create_database(admin: &Database, backend: Backend, name: &str) {
    // Names are generated here (hex only), never taken from input.
    let sql = match backend {
        Backend::Postgres => format!("CREATE DATABASE {name}"),
        Backend::MySql => format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"),
        Backend::Sqlite => return,
    };
    admin
        .execute_outside_transaction(&sql)
        .await
        .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
            }
            Cleanup::Server { admin, name } => {
                let admin = admin.clone();
                let name = name.clone();
                let pool = self.database.clone();
                // Drop cannot await. On a multi-threaded runtime (what the
                // tests use) block this worker and finish on the same runtime,
                // so the pool's connections can close cleanly. Anywhere else,
                // leave the pool alone (its sockets belong to another runtime)
                // and let the server end its sessions.
                match tokio::runtime::Handle::try_current() {
                    Ok(handle)
                        if handle.runtime_flavor()
                            == tokio::runtime::RuntimeFlavor::MultiThread =>
                    {
                        tokio::task::block_in_place(|| {
                            handle.block_on(async move {
                                pool.close().await;
                                drop_database(&admin, &name).await;
                            });
                        });
                    }
                    _ => {
                        let worker = std::thread::spawn(move || {
                            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                                .enable_all()
                                .build()
                            {
                                rt.block_on(drop_database(&admin, &name));
                            }
                        });
                        let _ = worker.join();
                    }
                }
            }
        }
    }
}

/// Drops a scratch database, first ending any session still using it (a test
/// that panicked may have left a transaction open, which would block a MySQL
/// `DROP DATABASE` on its metadata lock).
async fn drop_database(admin: &DatabaseUrl, name: &str) {
    let Ok(db) = Database::connect(admin, &small_pool()).await else {
        return;
    };
    match db.backend() {
        Backend::Postgres => {
            let _ = db
                .execute_outside_transaction(&format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                ))
                .await;
        }
        Backend::MySql => {
            if let Ok(mut tx) = db.begin_read().await {
                let ids = tx
                    .fetch_all(
                        "SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()",
                        crate::params![name],
                    )
                    .await
                    .unwrap_or_default();
                drop(tx);
                for row in ids {
                    if let Ok(id) = row.get_i64(0) {
                        let _ = db.execute_outside_transaction(&format!("KILL {id}")).await;
                    }
                }
            }
            let _ = db
                .execute_outside_transaction(&format!("DROP DATABASE IF EXISTS {name}"))
                .await;
        }
        Backend::Sqlite => {}
    }
    db.close().await;
}
