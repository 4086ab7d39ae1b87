//! The inventory store on every configured backend: each op, each refusal
//! (unknown class, duplicate, in use, generation conflict), the generation
//! bump of every write, and a race of writers from one read generation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on setup failure"
)]

mod common;

use std::sync::Arc;

use common::synced_dbs;
use placement_core::ids::Generation;
use placement_core::inventory::InventoryRecord;
use placement_core::resource_provider::{NewProvider, ProviderUuid, ResourceProvider};
use placement_store::ops::inventory as store;
use placement_store::testing::TestDb;
use placement_store::{ops, params, Database, Error};

async fn dbs() -> Vec<TestDb> {
    let dbs = synced_dbs().await;
    for tdb in &dbs {
        ops::standard::sync(tdb.database()).await.unwrap();
    }
    dbs
}

async fn create(db: &Database, name: &str) -> ResourceProvider {
    let new = NewProvider {
        uuid: ProviderUuid::new_v4(),
        name: name.to_owned(),
        parent_provider_uuid: None,
    };
    ops::resource_provider::create_resource_provider(db, &new)
        .await
        .unwrap()
}

fn rec(class: &str, total: i64) -> InventoryRecord {
    InventoryRecord::with_defaults(class, total)
}

/// An allocation of `used` of `class` on the provider, written directly.
async fn allocate(db: &Database, rp: &ResourceProvider, class: &str, used: i64) {
    let mut tx = db.begin().await.unwrap();
    tx.execute(
        "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used)
         SELECT rp.id, ?, rc.id, ? FROM resource_providers rp, resource_classes rc
         WHERE rp.uuid = ? AND rc.name = ?",
        params![
            ProviderUuid::new_v4().to_string(),
            used,
            rp.uuid.to_string(),
            class
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn add_then_get_returns_the_record_and_bumps_the_generation() {
    for tdb in dbs().await {
        let db = tdb.database();
        let rp = create(db, "a").await;
        let mut vcpu = rec("VCPU", 8);
        vcpu.allocation_ratio = 16.1;
        vcpu.reserved = 1;
        let added = store::add_inventory(db, &rp.uuid.to_string(), &vcpu)
            .await
            .unwrap();
        assert_eq!(added.provider.generation, Generation(1));
        let got = store::get_inventories(db, &rp.uuid.to_string())
            .await
            .unwrap();
        assert_eq!(got.provider.generation, Generation(1));
        assert_eq!(got.inventories.len(), 1);
        assert_eq!(got.inventories[0].record, vcpu);
        assert!(got.inventories[0].created_at.is_some());
    }
}

#[tokio::test]
async fn add_refuses_duplicates_unknown_classes_and_unknown_providers() {
    for tdb in dbs().await {
        let db = tdb.database();
        let rp = create(db, "a").await;
        let uuid = rp.uuid.to_string();
        store::add_inventory(db, &uuid, &rec("DISK_GB", 10))
            .await
            .unwrap();
        let dup = store::add_inventory(db, &uuid, &rec("DISK_GB", 10)).await;
        assert!(matches!(dup, Err(Error::InventoryExists { .. })), "{dup:?}");
        let unknown = store::add_inventory(db, &uuid, &rec("CUSTOM_NOPE", 1)).await;
        assert!(matches!(unknown, Err(Error::ResourceClassNotFound(ref n)) if n == "CUSTOM_NOPE"));
        let missing = store::get_inventories(db, &ProviderUuid::new_v4().to_string()).await;
        assert!(matches!(missing, Err(Error::ResourceProviderNotFound(_))));
        // The failed writes left the generation alone.
        let got = store::get_inventories(db, &uuid).await.unwrap();
        assert_eq!(got.provider.generation, Generation(1));
    }
}

#[tokio::test]
async fn update_checks_the_generation_and_the_class_is_present() {
    for tdb in dbs().await {
        let db = tdb.database();
        let rp = create(db, "a").await;
        let uuid = rp.uuid.to_string();
        store::add_inventory(db, &uuid, &rec("VCPU", 4))
            .await
            .unwrap();
        let stale = store::update_inventory(db, &uuid, Generation(0), &rec("VCPU", 5)).await;
        assert!(
            matches!(stale, Err(Error::ConcurrentUpdate(ref t)) if t == store::GENERATION_CONFLICT)
        );
        let absent = store::update_inventory(db, &uuid, Generation(1), &rec("DISK_GB", 5)).await;
        assert!(matches!(
            absent,
            Err(Error::InventoryWithResourceClassNotFound(ref c)) if c == "DISK_GB"
        ));
        let updated = store::update_inventory(db, &uuid, Generation(1), &rec("VCPU", 5))
            .await
            .unwrap();
        assert_eq!(updated.provider.generation, Generation(2));
        assert_eq!(updated.inventories[0].record.total, 5);
    }
}

#[tokio::test]
async fn shrinking_below_usage_is_allowed_but_removing_used_classes_is_not() {
    for tdb in dbs().await {
        let db = tdb.database();
        let rp = create(db, "a").await;
        let uuid = rp.uuid.to_string();
        store::set_inventories(
            db,
            &uuid,
            Some(Generation(0)),
            &[rec("VCPU", 8), rec("MEMORY_MB", 1024)],
        )
        .await
        .unwrap();
        allocate(db, &rp, "VCPU", 6).await;
        // Lower capacity than used: upstream only warns.
        let shrunk = store::update_inventory(db, &uuid, Generation(1), &rec("VCPU", 2))
            .await
            .unwrap();
        assert_eq!(shrunk.provider.generation, Generation(2));
        let removed =
            store::set_inventories(db, &uuid, Some(Generation(2)), &[rec("MEMORY_MB", 1)]).await;
        match removed {
            Err(Error::InventoryInUse {
                resource_classes,
                resource_provider,
            }) => {
                assert_eq!(resource_classes, "VCPU");
                assert_eq!(resource_provider, uuid);
            }
            other => panic!("{other:?}"),
        }
        let deleted = store::delete_inventory(db, &uuid, "VCPU").await;
        assert!(matches!(deleted, Err(Error::InventoryInUse { .. })));
        let all = store::set_inventories(db, &uuid, None, &[]).await;
        assert!(matches!(all, Err(Error::InventoryInUse { .. })));
        // MEMORY_MB is free to go.
        let after = store::delete_inventory(db, &uuid, "MEMORY_MB")
            .await
            .unwrap();
        assert_eq!(after.provider.generation, Generation(3));
        assert_eq!(after.inventories.len(), 1);
    }
}

#[tokio::test]
async fn delete_reports_a_missing_record_and_set_replaces_everything() {
    for tdb in dbs().await {
        let db = tdb.database();
        let rp = create(db, "a").await;
        let uuid = rp.uuid.to_string();
        let missing = store::delete_inventory(db, &uuid, "VCPU").await;
        assert!(matches!(missing, Err(Error::InventoryNotFoundForDelete(ref c)) if c == "VCPU"));
        let unknown = store::delete_inventory(db, &uuid, "CUSTOM_NOPE").await;
        assert!(matches!(unknown, Err(Error::ResourceClassNotFound(_))));
        store::set_inventories(
            db,
            &uuid,
            Some(Generation(0)),
            &[rec("VCPU", 1), rec("DISK_GB", 2)],
        )
        .await
        .unwrap();
        let replaced = store::set_inventories(
            db,
            &uuid,
            Some(Generation(1)),
            &[rec("DISK_GB", 3), rec("MEMORY_MB", 4)],
        )
        .await
        .unwrap();
        let classes: Vec<_> = replaced
            .inventories
            .iter()
            .map(|i| (i.record.resource_class.as_str(), i.record.total))
            .collect();
        assert_eq!(classes, [("MEMORY_MB", 4), ("DISK_GB", 3)]);
        let emptied = store::set_inventories(db, &uuid, None, &[]).await.unwrap();
        assert!(emptied.inventories.is_empty());
        assert_eq!(emptied.provider.generation, Generation(3));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_from_one_read_generation_end_with_exactly_one_winner() {
    for tdb in dbs().await {
        let db = Arc::new(tdb.database().clone());
        let rp = create(&db, "contested").await;
        let uuid = rp.uuid.to_string();
        let mut tasks = Vec::new();
        for i in 1..=6_i64 {
            let db = Arc::clone(&db);
            let uuid = uuid.clone();
            tasks.push(tokio::spawn(async move {
                let records = [rec("VCPU", i), rec("DISK_GB", 100 + i)];
                (
                    i,
                    store::set_inventories(&db, &uuid, Some(Generation(0)), &records).await,
                )
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            let (i, result) = task.await.unwrap();
            match result {
                Ok(_) => winners.push(i),
                Err(Error::ConcurrentUpdate(_)) => {}
                Err(e) if e.is_transient() => {}
                Err(e) => panic!("{}: {e:?}", tdb.backend().name()),
            }
        }
        assert_eq!(winners.len(), 1, "{}: {winners:?}", tdb.backend().name());
        let winner = winners[0];
        let got = store::get_inventories(&db, &uuid).await.unwrap();
        assert_eq!(got.provider.generation, Generation(1));
        let mut totals: Vec<_> = got
            .inventories
            .iter()
            .map(|i| (i.record.resource_class.clone(), i.record.total))
            .collect();
        totals.sort();
        assert_eq!(
            totals,
            [
                ("DISK_GB".to_owned(), 100 + winner),
                ("VCPU".to_owned(), winner)
            ]
        );
    }
}
