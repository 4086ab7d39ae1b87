//! The resource class store on every configured backend: listing, lookup,
//! custom ids from 10000 up, rename and delete rules, and creation races.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on setup failure"
)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{count, synced_dbs};
use placement_core::resource_class::{CustomClassName, MIN_CUSTOM_ID};
use placement_store::ops::resource_class::{self as store, Ensured};
use placement_store::testing::TestDb;
use placement_store::{ops, params, Database, Error};

fn name(s: &str) -> CustomClassName {
    CustomClassName::parse(s).unwrap()
}

/// Fresh databases with the schema and the standard classes.
async fn dbs() -> Vec<TestDb> {
    let dbs = synced_dbs().await;
    for db in &dbs {
        ops::standard::sync(db.database()).await.unwrap();
    }
    dbs
}

async fn add_inventory(db: &Database, class_id: i64) {
    let mut tx = db.begin().await.unwrap();
    tx.execute(
        "INSERT INTO resource_providers (id, uuid, name, generation) VALUES (?, ?, ?, ?)",
        params![1_i64, uuid::Uuid::new_v4().to_string(), "rp", 0_i64],
    )
    .await
    .unwrap();
    tx.execute(
        "INSERT INTO inventories (resource_provider_id, resource_class_id, total, reserved, \
         min_unit, max_unit, step_size, allocation_ratio) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![1_i64, class_id, 4_i64, 0_i64, 1_i64, 4_i64, 1_i64, 1.0_f64],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_classes_are_listed_in_id_order_with_vcpu_first() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let all = store::list_resource_classes(db).await.unwrap();
        assert_eq!(all.len(), 21, "{backend}");
        assert_eq!(all[0].name, "VCPU", "{backend}");
        assert_eq!(all[0].id.0, 0, "{backend}");
        assert!(all.iter().all(|c| c.is_standard()), "{backend}");
        assert!(all.iter().all(|c| c.created_at.is_some()), "{backend}");
        let vcpu = store::get_resource_class(db, "VCPU").await.unwrap();
        assert_eq!(vcpu, all[0], "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_class_is_not_found() {
    for tdb in dbs().await {
        let db = tdb.database();
        let err = store::get_resource_class(db, "CUSTOM_NOPE")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::ResourceClassNotFound(n) if n == "CUSTOM_NOPE"),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "No such resource class CUSTOM_NOPE.");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_classes_get_ids_from_10000_then_max_plus_one() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let a = store::create_resource_class(db, &name("CUSTOM_A"))
            .await
            .unwrap();
        assert_eq!(a.id.0, MIN_CUSTOM_ID, "{backend}");
        assert!(
            a.created_at.is_some() && a.updated_at.is_none(),
            "{backend}"
        );
        let b = store::create_resource_class(db, &name("CUSTOM_B"))
            .await
            .unwrap();
        assert_eq!(b.id.0, MIN_CUSTOM_ID + 1, "{backend}");
        // A gap left by a hand-written row is skipped, never reused below max.
        let mut tx = db.begin().await.unwrap();
        tx.execute(
            "INSERT INTO resource_classes (id, name) VALUES (?, ?)",
            params![20_000_i64, "CUSTOM_FAR"],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let c = store::create_resource_class(db, &name("CUSTOM_C"))
            .await
            .unwrap();
        assert_eq!(c.id.0, 20_001, "{backend}");
        let err = store::create_resource_class(db, &name("CUSTOM_A"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::ResourceClassExists(n) if n == "CUSTOM_A"),
            "{backend}: {err:?}"
        );
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM resource_classes").await,
            25,
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_creates_once_and_then_finds() {
    for tdb in dbs().await {
        let db = tdb.database();
        let first = store::ensure_resource_class(db, &name("CUSTOM_COW"))
            .await
            .unwrap();
        let Ensured::Created(created) = first else {
            panic!("{first:?}")
        };
        let second = store::ensure_resource_class(db, &name("CUSTOM_COW"))
            .await
            .unwrap();
        assert_eq!(second, Ensured::Existing(created));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_changes_name_and_updated_at_but_not_id() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let a = store::create_resource_class(db, &name("CUSTOM_A"))
            .await
            .unwrap();
        store::create_resource_class(db, &name("CUSTOM_B"))
            .await
            .unwrap();
        let renamed = store::update_resource_class(db, "CUSTOM_A", &name("CUSTOM_Z"))
            .await
            .unwrap();
        assert_eq!(renamed.id, a.id, "{backend}");
        assert_eq!(renamed.name, "CUSTOM_Z", "{backend}");
        assert!(renamed.updated_at.is_some(), "{backend}");
        assert!(matches!(
            store::get_resource_class(db, "CUSTOM_A").await,
            Err(Error::ResourceClassNotFound(_))
        ));

        let taken = store::update_resource_class(db, "CUSTOM_Z", &name("CUSTOM_B"))
            .await
            .unwrap_err();
        assert!(
            matches!(&taken, Error::ResourceClassExists(n) if n == "CUSTOM_B"),
            "{backend}: {taken:?}"
        );
        let standard = store::update_resource_class(db, "VCPU", &name("CUSTOM_V"))
            .await
            .unwrap_err();
        assert!(
            matches!(&standard, Error::ResourceClassCannotUpdateStandard(n) if n == "VCPU"),
            "{backend}: {standard:?}"
        );
        let missing = store::update_resource_class(db, "CUSTOM_NOPE", &name("CUSTOM_V"))
            .await
            .unwrap_err();
        assert!(
            matches!(missing, Error::ResourceClassNotFound(_)),
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_refuses_standard_and_in_use_classes() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let err = store::delete_resource_class(db, "VCPU").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot delete standard resource class VCPU.",
            "{backend}"
        );
        let used = store::create_resource_class(db, &name("CUSTOM_USED"))
            .await
            .unwrap();
        add_inventory(db, used.id.0).await;
        let err = store::delete_resource_class(db, "CUSTOM_USED")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot delete resource class CUSTOM_USED. Class is in use in inventory.",
            "{backend}"
        );
        store::create_resource_class(db, &name("CUSTOM_FREE"))
            .await
            .unwrap();
        store::delete_resource_class(db, "CUSTOM_FREE")
            .await
            .unwrap();
        let err = store::delete_resource_class(db, "CUSTOM_FREE")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ResourceClassNotFound(_)), "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creators_of_different_classes_all_get_distinct_custom_ids() {
    for tdb in dbs().await {
        let db = Arc::new(tdb.database().clone());
        let backend = tdb.backend().name();
        let mut tasks = Vec::new();
        for i in 0..10 {
            let db = Arc::clone(&db);
            tasks.push(tokio::spawn(async move {
                store::create_resource_class(&db, &name(&format!("CUSTOM_RACE_{i}"))).await
            }));
        }
        let mut ids = HashSet::new();
        for task in tasks {
            let class = task
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{backend}: {e}"));
            assert!(class.id.0 >= MIN_CUSTOM_ID, "{backend}: {class:?}");
            ids.insert(class.id);
        }
        assert_eq!(ids.len(), 10, "{backend}: {ids:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creators_of_one_class_yield_exactly_one_creation() {
    for tdb in dbs().await {
        let db = Arc::new(tdb.database().clone());
        let backend = tdb.backend().name();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let db = Arc::clone(&db);
            tasks.push(tokio::spawn(async move {
                store::create_resource_class(&db, &name("CUSTOM_SAME")).await
            }));
        }
        let mut created = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => created += 1,
                Err(Error::ResourceClassExists(n)) => assert_eq!(n, "CUSTOM_SAME"),
                Err(e) => panic!("{backend}: {e}"),
            }
        }
        assert_eq!(created, 1, "{backend}");
        assert_eq!(
            count(
                db.as_ref(),
                "SELECT COUNT(*) FROM resource_classes WHERE name = 'CUSTOM_SAME'"
            )
            .await,
            1,
            "{backend}"
        );
    }
}
