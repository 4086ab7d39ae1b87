//! The dialect seam on every configured backend: one error classification,
//! rollback on drop, typed values and ids that come back the same way.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on setup failure"
)]

mod common;

use std::time::Duration;

use chrono::NaiveDate;
use common::{count, synced_dbs};
use placement_store::db::{Backend, PoolSettings, Value};
use placement_store::{params, Database, DbErrorKind, Error};

fn kind(err: &Error) -> DbErrorKind {
    match err {
        Error::Database(e) => e.kind(),
        other => panic!("expected a database error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_transaction_rolls_it_back() {
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let mut tx = db.begin().await.unwrap();
        tx.execute(
            "INSERT INTO projects (external_id) VALUES (?)",
            params!["gone"],
        )
        .await
        .unwrap();
        drop(tx);
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM projects").await,
            0,
            "{}",
            tdb.backend().name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_violations_classify_the_same_on_every_backend() {
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let mut tx = db.begin().await.unwrap();
        tx.execute("INSERT INTO users (external_id) VALUES (?)", params!["dup"])
            .await
            .unwrap();
        let err = tx
            .insert_returning_id("INSERT INTO users (external_id) VALUES (?)", params!["dup"])
            .await
            .unwrap_err();
        assert_eq!(
            kind(&err),
            DbErrorKind::UniqueViolation,
            "{}: {err}",
            tdb.backend().name()
        );
        assert!(!err.is_transient());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_round_trip_with_typed_nulls_and_timestamps() {
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let when = NaiveDate::from_ymd_opt(2026, 11, 21)
            .unwrap()
            .and_hms_micro_opt(11, 42, 39, 0)
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        let id1 = tx
            .insert_returning_id(
                "INSERT INTO projects (external_id, created_at, updated_at) VALUES (?, ?, ?)",
                &[
                    Value::from("a"),
                    Value::from(when),
                    Value::from(None::<chrono::NaiveDateTime>),
                ],
            )
            .await
            .unwrap();
        let id2 = tx
            .insert_returning_id(
                "INSERT INTO projects (external_id) VALUES (?)",
                params!["b"],
            )
            .await
            .unwrap();
        assert!(id2 > id1, "{name}: ids {id1} {id2}");
        tx.commit().await.unwrap();
        let mut tx = db.begin_read().await.unwrap();
        let row = tx
            .fetch_one(
                "SELECT id, external_id, created_at, updated_at FROM projects WHERE id = ?",
                params![id1],
            )
            .await
            .unwrap();
        assert_eq!(row.get_i64(0).unwrap(), id1);
        assert_eq!(row.get_string(1).unwrap(), "a");
        assert_eq!(row.get_opt_timestamp(2).unwrap(), Some(when), "{name}");
        assert_eq!(row.get_opt_timestamp(3).unwrap(), None, "{name}");
        // Aggregates come back as integers everywhere (MySQL sends SUM as DECIMAL).
        let row = tx
            .fetch_one("SELECT COUNT(*), SUM(id), MAX(id) FROM projects", params![])
            .await
            .unwrap();
        assert_eq!(row.get_i64(0).unwrap(), 2, "{name}");
        assert_eq!(row.get_i64(1).unwrap(), id1 + id2, "{name}");
        assert_eq!(row.get_i64(2).unwrap(), id2, "{name}");
    }
}

/// Two transactions taking row locks in opposite orders: the database breaks
/// the deadlock, and the loser sees a transient `Deadlock` error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlocks_classify_as_transient() {
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        if tdb.backend() == Backend::Sqlite {
            // SQLite has one writer; a second writer that cannot get the lock
            // within the busy timeout is the same transient condition.
            let impatient = Database::connect(
                tdb.url(),
                &PoolSettings {
                    sqlite_busy_timeout: Duration::from_millis(50),
                    ..PoolSettings::default()
                },
            )
            .await
            .unwrap();
            let holder = db.begin().await.unwrap();
            let err = match impatient.begin().await {
                Ok(mut tx) => tx
                    .execute("INSERT INTO users (external_id) VALUES (?)", params!["x"])
                    .await
                    .unwrap_err(),
                Err(e) => e,
            };
            assert_eq!(kind(&err), DbErrorKind::Deadlock, "{name}: {err}");
            assert!(err.is_transient());
            drop(holder);
            continue;
        }
        let mut setup = db.begin().await.unwrap();
        setup
            .execute(
                "INSERT INTO users (external_id) VALUES (?), (?)",
                params!["a", "b"],
            )
            .await
            .unwrap();
        setup.commit().await.unwrap();
        let update = "UPDATE users SET updated_at = ? WHERE external_id = ?";
        let now = chrono::Utc::now().naive_utc();
        let mut t1 = db.begin().await.unwrap();
        let mut t2 = db.begin().await.unwrap();
        t1.execute(update, params![now, "a"]).await.unwrap();
        t2.execute(update, params![now, "b"]).await.unwrap();
        let (r1, r2) = tokio::join!(
            async {
                let r = t1.execute(update, params![now, "b"]).await;
                (r, t1)
            },
            async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let r = t2.execute(update, params![now, "a"]).await;
                (r, t2)
            }
        );
        let errors: Vec<Error> = [r1.0, r2.0].into_iter().filter_map(Result::err).collect();
        assert_eq!(
            errors.len(),
            1,
            "{name}: exactly one side loses: {errors:?}"
        );
        assert_eq!(
            kind(&errors[0]),
            DbErrorKind::Deadlock,
            "{name}: {}",
            errors[0]
        );
        assert!(errors[0].is_transient());
    }
}

/// A connection killed by the server surfaces as a transient
/// `ConnectionLost`, so callers can retry on a fresh connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_connections_classify_as_transient() {
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let (pid_sql, kill): (&str, fn(i64) -> String) = match tdb.backend() {
            Backend::Sqlite => continue,
            Backend::Postgres => ("SELECT pg_backend_pid()", |pid| {
                format!("SELECT pg_terminate_backend({pid})")
            }),
            Backend::MySql => ("SELECT CONNECTION_ID()", |pid| format!("KILL {pid}")),
        };
        let mut victim = db.begin().await.unwrap();
        let pid = victim
            .fetch_one(pid_sql, params![])
            .await
            .unwrap()
            .get_i64(0)
            .unwrap();
        let killer = Database::connect(tdb.url(), &PoolSettings::default())
            .await
            .unwrap();
        let mut k = killer.begin().await.unwrap();
        k.execute_raw(&kill(pid)).await.unwrap();
        k.commit().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let err = victim.fetch_one("SELECT 1", params![]).await.unwrap_err();
        assert_eq!(kind(&err), DbErrorKind::ConnectionLost, "{name}: {err}");
        assert!(err.is_transient());
        drop(victim);
        killer.close().await;
    }
}

/// Upstream deployments write `mysql+pymysql://…?charset=utf8`; that URL must
/// connect and round-trip text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_style_charset_options_connect() {
    for tdb in synced_dbs().await {
        if tdb.backend() != Backend::MySql {
            continue;
        }
        let url = placement_store::DatabaseUrl::parse(&format!(
            "{}?charset=utf8",
            tdb.url().to_url_string()
        ))
        .unwrap();
        let db = Database::connect(&url, &PoolSettings::default())
            .await
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        tx.execute(
            "INSERT INTO users (external_id) VALUES (?)",
            params!["ünïcode"],
        )
        .await
        .unwrap();
        let row = tx
            .fetch_one("SELECT external_id FROM users", params![])
            .await
            .unwrap();
        assert_eq!(row.get_string(0).unwrap(), "ünïcode");
        tx.rollback().await.unwrap();
        db.close().await;
    }
}

/// `mysql+pymysql://root:@host/db` (an empty password after the colon) is
/// how many upstream configs name a passwordless user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_password_after_the_colon_connects() {
    for tdb in synced_dbs().await {
        if tdb.backend() == Backend::Sqlite {
            continue;
        }
        let text = tdb.url().to_url_string();
        let Some((scheme, rest)) = text.split_once("://") else {
            panic!("{text}")
        };
        let Some((user, host)) = rest.split_once('@') else {
            continue; // no user in the configured URL: nothing to test
        };
        if user.contains(':') {
            continue; // the configured URL carries a real password
        }
        let url =
            placement_store::DatabaseUrl::parse(&format!("{scheme}://{user}:@{host}")).unwrap();
        let db = Database::connect(&url, &PoolSettings::default())
            .await
            .unwrap();
        let mut tx = db.begin_read().await.unwrap();
        assert_eq!(
            tx.fetch_one("SELECT 1", params![])
                .await
                .unwrap()
                .get_i64(0)
                .unwrap(),
            1
        );
        drop(tx);
        db.close().await;
    }
}
