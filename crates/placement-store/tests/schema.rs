//! The schema layer against upstream: our migrations must build, on every
//! configured backend, exactly the catalog upstream's `placement-manage db
//! sync` builds (fixtures captured by `tools/capture-upstream-schema.sh`),
//! from empty and from every older revision; and the standard resource
//! classes and traits must land with upstream's ids, idempotently, under
//! concurrency.
//!
//! SQLite always runs; PostgreSQL and MySQL/MariaDB run when
//! `PLACEMENT_TEST_POSTGRES_URL` / `PLACEMENT_TEST_MYSQL_URL` are set.
#![cfg(feature = "test-support")]
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers outside #[test] fns panic on failure, as tests should"
)]

use placement_store::db::{Backend, Database, Value};
use placement_store::ops::schema::{self as schema_ops, SchemaState};
use placement_store::ops::standard;
use placement_store::schema::{self, SchemaDescription, HEAD, INITIAL, REVISIONS};
use placement_store::testing::TestDb;
use placement_store::{params, Error, PoolSettings};

fn fixture(backend: Backend) -> SchemaDescription {
    let text = match backend {
        Backend::Sqlite => include_str!("fixtures/upstream-schema-sqlite.json"),
        Backend::Postgres => include_str!("fixtures/upstream-schema-postgresql.json"),
        Backend::MySql => include_str!("fixtures/upstream-schema-mysql.json"),
    };
    serde_json::from_str(text).expect("fixture parses")
}

/// Asserts equality table by table, so a failure names the table and shows
/// both sides of it rather than two 20 kB documents.
fn assert_same_schema(ours: &SchemaDescription, upstream: &SchemaDescription, context: &str) {
    assert_eq!(ours.backend, upstream.backend, "{context}");
    let ours_names: Vec<_> = ours.tables.keys().collect();
    let upstream_names: Vec<_> = upstream.tables.keys().collect();
    assert_eq!(ours_names, upstream_names, "{context}: table sets differ");
    for (name, table) in &upstream.tables {
        let mine = &ours.tables[name];
        assert!(
            mine == table,
            "{context}: table {name} differs\nours:     {}\nupstream: {}",
            serde_json::to_string(mine).unwrap(),
            serde_json::to_string(table).unwrap()
        );
    }
    assert_eq!(ours, upstream, "{context}");
}

async fn exec(db: &Database, sql: &str, params: &[Value]) -> u64 {
    let mut tx = db.begin().await.unwrap();
    let n = tx
        .execute(sql, params)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    tx.commit().await.unwrap();
    n
}

async fn scalar(db: &Database, sql: &str) -> i64 {
    let mut tx = db.begin_read().await.unwrap();
    let n = tx
        .fetch_one(sql, params![])
        .await
        .unwrap()
        .get_i64(0)
        .unwrap();
    // Ended explicitly: a dropped MySQL transaction holds metadata locks
    // until its connection is reused, which would block dropping the database.
    tx.commit().await.unwrap();
    n
}

fn schema_error(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Schema(msg)) => msg,
        other => panic!("expected a schema error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_builds_exactly_upstreams_schema_on_every_backend() {
    for t in TestDb::all().await {
        let db = t.database();
        assert_eq!(
            schema_ops::current_state(db).await.unwrap(),
            SchemaState::Empty
        );
        assert_eq!(schema_ops::version(db).await.unwrap(), None);

        let report = schema_ops::sync(db).await.unwrap();
        assert_eq!(report.from, None);
        assert_eq!(
            report.applied,
            REVISIONS.iter().map(|r| r.id).collect::<Vec<_>>()
        );

        let ours = schema::describe(db).await.unwrap();
        assert_same_schema(&ours, &fixture(t.backend()), t.backend().name());
        assert_eq!(
            schema_ops::version(db).await.unwrap().as_deref(),
            Some(HEAD)
        );
        let state = schema_ops::current_state(db).await.unwrap();
        assert!(state.is_current() && state.is_known(), "{state:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sync_changes_nothing() {
    for t in TestDb::all().await {
        let db = t.database();
        schema_ops::sync(db).await.unwrap();
        let before = schema::describe(db).await.unwrap();
        let report = schema_ops::sync(db).await.unwrap();
        assert_eq!(report.from.as_deref(), Some(HEAD), "{}", t.backend().name());
        assert!(report.applied.is_empty(), "{}", t.backend().name());
        assert_eq!(schema::describe(db).await.unwrap(), before);
    }
}

/// Rows that exist at every revision, so an upgrade must carry them over
/// (SQLite rebuilds `consumers` in 422ece571366).
async fn seed_rows_valid_at_every_revision(db: &Database) {
    let now = chrono::NaiveDate::from_ymd_opt(2024, 1, 2)
        .unwrap()
        .and_hms_opt(3, 4, 5)
        .unwrap();
    exec(
        db,
        "INSERT INTO projects (id, external_id, created_at) VALUES (1, 'proj', ?)",
        params![now],
    )
    .await;
    exec(
        db,
        "INSERT INTO users (id, external_id, created_at) VALUES (1, 'user', ?)",
        params![now],
    )
    .await;
    exec(
        db,
        "INSERT INTO resource_providers (id, uuid, name, generation, root_provider_id, created_at)
         VALUES (1, '11111111-1111-1111-1111-111111111111', 'rp1', 4, 1, ?)",
        params![now],
    )
    .await;
    exec(
        db,
        "INSERT INTO consumers (id, uuid, project_id, user_id, generation, created_at)
         VALUES (7, '22222222-2222-2222-2222-222222222222', 1, 1, 3, ?)",
        params![now],
    )
    .await;
    exec(
        db,
        "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used, created_at)
         VALUES (1, '22222222-2222-2222-2222-222222222222', 0, 2, ?)",
        params![now],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrading_from_every_older_revision_reaches_upstreams_schema_and_keeps_rows() {
    for backend in TestDb::configured_backends() {
        for older in &REVISIONS[..REVISIONS.len() - 1] {
            let t = TestDb::on(backend).await;
            let db = t.database();
            let built = schema_ops::upgrade(db, older.id).await.unwrap();
            assert_eq!(built.applied.last(), Some(&older.id));
            assert_eq!(
                schema_ops::version(db).await.unwrap().as_deref(),
                Some(older.id)
            );
            seed_rows_valid_at_every_revision(db).await;

            let report = schema_ops::sync(db).await.unwrap();
            assert_eq!(report.from.as_deref(), Some(older.id));
            let context = format!("{} from {}", backend.name(), older.id);
            assert_same_schema(
                &schema::describe(db).await.unwrap(),
                &fixture(backend),
                &context,
            );

            let mut tx = db.begin_read().await.unwrap();
            let row = tx
                .fetch_one(
                    "SELECT id, generation, project_id, consumer_type_id, created_at FROM consumers
                     WHERE uuid = '22222222-2222-2222-2222-222222222222'",
                    params![],
                )
                .await
                .unwrap();
            assert_eq!(row.get_i64(0).unwrap(), 7, "{context}");
            assert_eq!(row.get_i64(1).unwrap(), 3, "{context}");
            assert_eq!(row.get_opt_i64(3).unwrap(), None, "{context}");
            assert!(row.get_opt_timestamp(4).unwrap().is_some(), "{context}");
            tx.commit().await.unwrap();
            assert_eq!(
                scalar(db, "SELECT COUNT(*) FROM allocations").await,
                1,
                "{context}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_revision_is_refused_by_name() {
    for t in TestDb::all().await {
        let db = t.database();
        schema_ops::sync(db).await.unwrap();
        exec(
            db,
            "UPDATE alembic_version SET version_num = 'ffffffffffff'",
            params![],
        )
        .await;

        let msg = schema_error(schema_ops::sync(db).await);
        assert!(msg.contains("ffffffffffff"), "{msg}");
        let state = schema_ops::current_state(db).await.unwrap();
        assert_eq!(state, SchemaState::AtRevision("ffffffffffff".to_owned()));
        assert!(!state.is_known());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unversioned_placement_tables_are_left_alone_until_stamped() {
    for t in TestDb::all().await {
        let db = t.database();
        schema_ops::sync(db).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        tx.execute_raw("DROP TABLE alembic_version").await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(
            schema_ops::current_state(db).await.unwrap(),
            SchemaState::Unversioned
        );
        assert_eq!(schema_ops::version(db).await.unwrap(), None);
        let msg = schema_error(schema_ops::sync(db).await);
        assert!(msg.contains("db stamp"), "{msg}");

        assert_eq!(schema_ops::stamp(db, "head").await.unwrap(), HEAD);
        assert_eq!(
            schema_ops::version(db).await.unwrap().as_deref(),
            Some(HEAD)
        );
        assert!(schema_ops::sync(db).await.unwrap().applied.is_empty());
        assert_same_schema(
            &schema::describe(db).await.unwrap(),
            &fixture(t.backend()),
            "stamped",
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stamp_accepts_only_known_revisions() {
    for t in TestDb::all().await {
        let db = t.database();
        let msg = schema_error(schema_ops::stamp(db, "0123456789ab").await);
        assert!(msg.contains("0123456789ab") && msg.contains(HEAD), "{msg}");
        // Stamping an empty database creates alembic_version, as alembic does.
        assert_eq!(schema_ops::stamp(db, INITIAL).await.unwrap(), INITIAL);
        assert_eq!(
            schema_ops::version(db).await.unwrap().as_deref(),
            Some(INITIAL)
        );
        assert_eq!(
            schema_ops::stamp(db, "422ece571366").await.unwrap(),
            "422ece571366"
        );
        assert_eq!(scalar(db, "SELECT COUNT(*) FROM alembic_version").await, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_on_revisions_refuse_until_online_migrations_ran() {
    for t in TestDb::all().await {
        let db = t.database();
        let name = t.backend().name();
        schema_ops::upgrade(db, INITIAL).await.unwrap();
        for uuid in [
            "aaaaaaaa-0000-0000-0000-000000000001",
            "aaaaaaaa-0000-0000-0000-000000000002",
        ] {
            exec(
                db,
                "INSERT INTO resource_providers (uuid, name, generation) VALUES (?, ?, 0)",
                params![uuid, uuid],
            )
            .await;
        }

        let msg = schema_error(schema_ops::sync(db).await);
        assert!(
            msg.contains("611cd6dffd7b") && msg.contains(" 2 "),
            "{name}: {msg}"
        );
        assert!(
            msg.contains("placement-manage db online_data_migrations"),
            "{name}: {msg}"
        );
        assert_eq!(
            schema_ops::version(db).await.unwrap().as_deref(),
            Some(INITIAL)
        );

        // What set_root_provider_ids does.
        exec(
            db,
            "UPDATE resource_providers SET root_provider_id = id WHERE root_provider_id IS NULL",
            params![],
        )
        .await;
        for _ in 0..3 {
            exec(
                db,
                "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used)
                 VALUES (1, 'bbbbbbbb-0000-0000-0000-000000000001', 0, 1)",
                params![],
            )
            .await;
        }
        let msg = schema_error(schema_ops::sync(db).await);
        assert!(
            msg.contains("b5c396305c25") && msg.contains(" 3 "),
            "{name}: {msg}"
        );
        assert!(
            msg.contains("placement-manage db online_data_migrations"),
            "{name}: {msg}"
        );
        assert_eq!(
            schema_ops::version(db).await.unwrap().as_deref(),
            Some("611cd6dffd7b")
        );

        // What create_incomplete_consumers does.
        exec(
            db,
            "INSERT INTO consumers (uuid, project_id, user_id) VALUES ('bbbbbbbb-0000-0000-0000-000000000001', 1, 1)",
            params![],
        )
        .await;
        let report = schema_ops::sync(db).await.unwrap();
        assert_eq!(
            report.applied,
            vec!["b5c396305c25", "422ece571366", HEAD],
            "{name}"
        );
    }
}

async fn resource_classes(db: &Database) -> Vec<(i64, String)> {
    let mut tx = db.begin_read().await.unwrap();
    let rows = tx
        .fetch_all(
            "SELECT id, name FROM resource_classes ORDER BY id",
            params![],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    rows.iter()
        .map(|r| (r.get_i64(0).unwrap(), r.get_string(1).unwrap()))
        .collect()
}

async fn trait_names(db: &Database) -> Vec<String> {
    let mut tx = db.begin_read().await.unwrap();
    let rows = tx
        .fetch_all("SELECT name FROM traits ORDER BY name", params![])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    rows.iter().map(|r| r.get_string(0).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_sync_stores_upstreams_classes_and_traits_once() {
    let expected_classes: Vec<(i64, String)> = standard::standard_resource_classes()
        .map(|(id, n)| (id, n.to_owned()))
        .collect();
    for t in TestDb::all().await {
        let db = t.database();
        let name = t.backend().name();
        schema_ops::sync(db).await.unwrap();
        exec(
            db,
            "INSERT INTO traits (name) VALUES ('CUSTOM_KEEP_ME')",
            params![],
        )
        .await;

        let report = standard::sync(db).await.unwrap();
        assert_eq!(
            (report.resource_classes_added, report.traits_added),
            (21, 377),
            "{name}"
        );
        let classes = resource_classes(db).await;
        assert_eq!(classes, expected_classes, "{name}");
        assert_eq!(classes[0], (0, "VCPU".to_owned()), "{name}");
        assert_eq!(classes[20].0, 20, "{name}");
        assert_eq!(trait_names(db).await.len(), 378, "{name}");
        assert_eq!(
            scalar(
                db,
                "SELECT COUNT(*) FROM resource_classes WHERE created_at IS NULL"
            )
            .await,
            0,
            "{name}"
        );

        let again = standard::sync(db).await.unwrap();
        assert_eq!(again, standard::StandardSyncReport::default(), "{name}");

        // A missing entry comes back with its fixed id; nothing is removed.
        exec(
            db,
            "DELETE FROM resource_classes WHERE name = 'DISK_GB'",
            params![],
        )
        .await;
        exec(
            db,
            "DELETE FROM traits WHERE name = 'HW_CPU_X86_AVX2'",
            params![],
        )
        .await;
        let refill = standard::sync(db).await.unwrap();
        assert_eq!(
            (refill.resource_classes_added, refill.traits_added),
            (1, 1),
            "{name}"
        );
        assert_eq!(resource_classes(db).await, expected_classes, "{name}");
        assert!(
            trait_names(db).await.contains(&"CUSTOM_KEEP_ME".to_owned()),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_standard_syncs_on_a_fresh_database_all_succeed_once() {
    for t in TestDb::all().await {
        let name = t.backend().name();
        schema_ops::sync(t.database()).await.unwrap();
        // Separate pools, as separate API processes would have.
        let mut handles = Vec::new();
        for _ in 0..4 {
            let db = Database::connect(t.url(), &PoolSettings::default())
                .await
                .unwrap();
            handles.push(tokio::spawn(async move {
                let report = standard::sync(&db).await;
                db.close().await;
                report
            }));
        }
        let mut classes_added = 0;
        let mut traits_added = 0;
        for h in handles {
            let report = h.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e}"));
            classes_added += report.resource_classes_added;
            traits_added += report.traits_added;
        }
        assert_eq!((classes_added, traits_added), (21, 377), "{name}");
        let db = t.database();
        assert_eq!(resource_classes(db).await.len(), 21, "{name}");
        assert_eq!(
            resource_classes(db).await[0],
            (0, "VCPU".to_owned()),
            "{name}"
        );
        assert_eq!(trait_names(db).await.len(), 377, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_schema_syncs_on_postgres_and_sqlite_all_succeed() {
    // MySQL commits each DDL statement on its own, so two processes migrating
    // at once can collide half-way, as with alembic; not promised there.
    for backend in TestDb::configured_backends() {
        if backend == Backend::MySql {
            continue;
        }
        let t = TestDb::on(backend).await;
        let mut handles = Vec::new();
        for _ in 0..3 {
            let db = Database::connect(t.url(), &PoolSettings::default())
                .await
                .unwrap();
            handles.push(tokio::spawn(async move {
                let report = schema_ops::sync(&db).await;
                db.close().await;
                report
            }));
        }
        let mut applied = 0;
        for h in handles {
            applied += h
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{}: {e}", backend.name()))
                .applied
                .len();
        }
        assert_eq!(applied, REVISIONS.len(), "{}", backend.name());
        assert_same_schema(
            &schema::describe(t.database()).await.unwrap(),
            &fixture(backend),
            "concurrent",
        );
    }
}
