//! The allocation store on every configured backend: consumer creation and
//! generations, owner changes, emptying, multi-consumer moves, every
//! refusal of the capacity check, deletes, provider reads, the reshaper,
//! and races for the last unit and for one consumer's generation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on setup failure"
)]

mod common;

use std::sync::Arc;

use common::{count, synced_dbs};
use placement_core::allocation::{
    AllocationRequest, AllocationWriteOptions, ConsumerGenerationCheck, InventoryReplacement,
    ProviderResources,
};
use placement_core::ids::{ConsumerUuid, Generation};
use placement_core::inventory::InventoryRecord;
use placement_core::resource_provider::{NewProvider, ProviderUuid, ResourceProvider};
use placement_store::ops::allocation as store;
use placement_store::testing::TestDb;
use placement_store::{ops, Database, Error};

const OPTS: AllocationWriteOptions = AllocationWriteOptions {
    conflict_retry_count: 10,
};

async fn dbs() -> Vec<TestDb> {
    let dbs = synced_dbs().await;
    for tdb in &dbs {
        ops::standard::sync(tdb.database()).await.unwrap();
    }
    dbs
}

async fn provider(
    db: &Database,
    name: &str,
    parent: Option<&ResourceProvider>,
) -> ResourceProvider {
    let new = NewProvider {
        uuid: ProviderUuid::new_v4(),
        name: name.to_owned(),
        parent_provider_uuid: parent.map(|p| p.uuid.to_string()),
    };
    ops::resource_provider::create_resource_provider(db, &new)
        .await
        .unwrap()
}

/// A provider with the given inventories (default fields).
async fn provider_with(db: &Database, name: &str, inv: &[(&str, i64)]) -> ResourceProvider {
    let rp = provider(db, name, None).await;
    set_inventory(db, &rp, &records(inv)).await;
    current(db, &rp).await
}

fn records(inv: &[(&str, i64)]) -> Vec<InventoryRecord> {
    inv.iter()
        .map(|(c, t)| InventoryRecord::with_defaults(*c, *t))
        .collect()
}

async fn set_inventory(db: &Database, rp: &ResourceProvider, recs: &[InventoryRecord]) {
    ops::inventory::set_inventories(db, &rp.uuid.to_string(), None, recs)
        .await
        .unwrap();
}

async fn current(db: &Database, rp: &ResourceProvider) -> ResourceProvider {
    ops::inventory::get_inventories(db, &rp.uuid.to_string())
        .await
        .unwrap()
        .provider
}

fn on(rp: &ResourceProvider, resources: &[(&str, i64)]) -> ProviderResources {
    ProviderResources {
        provider: rp.uuid.to_string(),
        resources: resources
            .iter()
            .map(|(c, n)| ((*c).to_owned(), *n))
            .collect(),
    }
}

fn request(
    consumer: ConsumerUuid,
    generation: ConsumerGenerationCheck,
    allocations: Vec<ProviderResources>,
) -> AllocationRequest {
    AllocationRequest {
        consumer,
        project_id: "proj".to_owned(),
        user_id: "user".to_owned(),
        generation,
        consumer_type: None,
        allocations,
    }
}

fn new_consumer(allocations: Vec<ProviderResources>) -> (ConsumerUuid, AllocationRequest) {
    let c = ConsumerUuid::new_v4();
    (
        c,
        request(c, ConsumerGenerationCheck::ExpectNew, allocations),
    )
}

/// The consumer's allocations as (provider, class, used), or empty.
async fn held(db: &Database, c: ConsumerUuid) -> Vec<(ProviderUuid, String, i64)> {
    store::get_for_consumer(db, &c.to_string())
        .await
        .unwrap()
        .map(|ca| {
            ca.allocations
                .into_iter()
                .map(|a| (a.provider, a.resource_class, a.used))
                .collect()
        })
        .unwrap_or_default()
}

async fn consumer_generation(db: &Database, c: ConsumerUuid) -> Option<Generation> {
    ops::consumer::find_consumer(db, c)
        .await
        .unwrap()
        .map(|c| c.generation)
}

async fn usage(db: &Database, rp: &ResourceProvider) -> i64 {
    let sql = format!(
        "SELECT COALESCE(SUM(a.used), 0) FROM allocations a JOIN resource_providers rp \
         ON rp.id = a.resource_provider_id WHERE rp.uuid = '{}'",
        rp.uuid
    );
    count(db, &sql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_write_creates_the_consumer_and_leaves_it_at_generation_one() {
    for tdb in dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let rp = provider_with(db, "cn", &[("VCPU", 8), ("MEMORY_MB", 1024)]).await;
        let (c, mut req) = new_consumer(vec![on(&rp, &[("VCPU", 2), ("MEMORY_MB", 512)])]);
        req.consumer_type = Some("INSTANCE".to_owned());
        store::replace(db, &[req], OPTS).await.unwrap();

        let got = store::get_for_consumer(db, &c.to_string())
            .await
            .unwrap()
            .expect("allocations");
        assert_eq!(got.consumer.generation, Generation(1), "{name}");
        assert_eq!(got.consumer.project.external_id, "proj", "{name}");
        assert_eq!(got.consumer.user.external_id, "user", "{name}");
        assert_eq!(
            got.consumer.consumer_type.as_ref().map(|t| t.name.as_str()),
            Some("INSTANCE"),
            "{name}"
        );
        // Provider order, then class id order: VCPU (0) before MEMORY_MB (1).
        let rows: Vec<(&str, i64)> = got
            .allocations
            .iter()
            .map(|a| (a.resource_class.as_str(), a.used))
            .collect();
        assert_eq!(rows, vec![("VCPU", 2), ("MEMORY_MB", 512)], "{name}");
        let after = current(db, &rp).await;
        assert_eq!(after.generation, rp.generation.next(), "{name}");
        assert!(got
            .allocations
            .iter()
            .all(|a| a.provider_generation == after.generation && a.created_at.is_some()));

        // A consumer without allocations reads as none.
        assert!(
            store::get_for_consumer(db, &ConsumerUuid::new_v4().to_string())
                .await
                .unwrap()
                .is_none()
        );

        // The next write must present generation 1 and leaves 2.
        let req = request(
            c,
            ConsumerGenerationCheck::Expect(Generation(1)),
            vec![on(&rp, &[("VCPU", 4)])],
        );
        store::replace(db, &[req], OPTS).await.unwrap();
        assert_eq!(
            consumer_generation(db, c).await,
            Some(Generation(2)),
            "{name}"
        );
        assert_eq!(held(db, c).await, vec![(rp.uuid, "VCPU".to_owned(), 4)]);
        // Unchecked (before 1.28) still swaps the generation.
        let req = request(
            c,
            ConsumerGenerationCheck::Unchecked,
            vec![on(&rp, &[("VCPU", 1)])],
        );
        store::replace(db, &[req], OPTS).await.unwrap();
        assert_eq!(
            consumer_generation(db, c).await,
            Some(Generation(3)),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generation_conflicts_are_worded_as_upstream_words_them() {
    for tdb in dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let rp = provider_with(db, "cn", &[("VCPU", 8)]).await;
        let (c, req) = new_consumer(vec![on(&rp, &[("VCPU", 1)])]);
        store::replace(db, &[req], OPTS).await.unwrap();

        let stale = request(
            c,
            ConsumerGenerationCheck::Expect(Generation(0)),
            vec![on(&rp, &[("VCPU", 2)])],
        );
        let err = store::replace(db, &[stale], OPTS).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "consumer generation conflict - expected 1 but got 0",
            "{name}"
        );

        let as_new = request(
            c,
            ConsumerGenerationCheck::ExpectNew,
            vec![on(&rp, &[("VCPU", 2)])],
        );
        let err = store::replace(db, &[as_new], OPTS).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "consumer generation conflict - expected 1 but got None",
            "{name}"
        );

        let missing = ConsumerUuid::new_v4();
        let ghost = request(
            missing,
            ConsumerGenerationCheck::Expect(Generation(5)),
            vec![on(&rp, &[("VCPU", 2)])],
        );
        let err = store::replace(db, &[ghost], OPTS).await.unwrap_err();
        assert!(
            matches!(err, Error::ConsumerGenerationConflict { .. }),
            "{name}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            "consumer generation conflict - expected null but got 5",
            "{name}"
        );
        // Nothing changed, nothing was created.
        assert_eq!(held(db, c).await, vec![(rp.uuid, "VCPU".to_owned(), 1)]);
        assert_eq!(consumer_generation(db, missing).await, None, "{name}");
        assert_eq!(
            consumer_generation(db, c).await,
            Some(Generation(1)),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_and_type_change_without_an_extra_generation_bump() {
    for tdb in dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let rp = provider_with(db, "cn", &[("VCPU", 8)]).await;
        let (c, mut req) = new_consumer(vec![on(&rp, &[("VCPU", 1)])]);
        req.consumer_type = Some("INSTANCE".to_owned());
        store::replace(db, &[req], OPTS).await.unwrap();

        let mut req = request(
            c,
            ConsumerGenerationCheck::Expect(Generation(1)),
            vec![on(&rp, &[("VCPU", 1)])],
        );
        req.project_id = "other-proj".to_owned();
        req.user_id = "other-user".to_owned();
        store::replace(db, &[req], OPTS).await.unwrap();
        let got = store::get_for_consumer(db, &c.to_string())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.consumer.generation, Generation(2), "{name}");
        assert_eq!(got.consumer.project.external_id, "other-proj", "{name}");
        assert_eq!(got.consumer.user.external_id, "other-user", "{name}");
        // No type given: the stored one stays.
        assert_eq!(
            got.consumer.consumer_type.map(|t| t.name),
            Some("INSTANCE".to_owned()),
            "{name}"
        );

        let mut req = request(
            c,
            ConsumerGenerationCheck::Expect(Generation(2)),
            vec![on(&rp, &[("VCPU", 1)])],
        );
        req.project_id = "other-proj".to_owned();
        req.user_id = "other-user".to_owned();
        req.consumer_type = Some("MIGRATION".to_owned());
        store::replace(db, &[req], OPTS).await.unwrap();
        let got = store::get_for_consumer(db, &c.to_string())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.consumer.generation, Generation(3), "{name}");
        assert_eq!(
            got.consumer.consumer_type.map(|t| t.name),
            Some("MIGRATION".to_owned()),
            "{name}"
        );
        assert_eq!(got.consumer.project.external_id, "other-proj", "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_allocations_remove_the_consumer_and_bump_its_providers() {
    for tdb in dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let a = provider_with(db, "a", &[("VCPU", 8)]).await;
        let b = provider_with(db, "b", &[("DISK_GB", 100)]).await;
        let (c, req) = new_consumer(vec![on(&a, &[("VCPU", 2)]), on(&b, &[("DISK_GB", 10)])]);
        store::replace(db, &[req], OPTS).await.unwrap();
        let (a1, b1) = (current(db, &a).await, current(db, &b).await);

        let req = request(c, ConsumerGenerationCheck::Expect(Generation(1)), vec![]);
        store::replace(db, &[req], OPTS).await.unwrap();
        assert!(held(db, c).await.is_empty(), "{name}");
        assert_eq!(consumer_generation(db, c).await, None, "{name}");
        assert_eq!(
            current(db, &a).await.generation,
            a1.generation.next(),
            "{name}"
        );
        assert_eq!(
            current(db, &b).await.generation,
            b1.generation.next(),
            "{name}"
        );

        // The consumer is gone, so the next write expects it new again.
        let req = request(
            c,
            ConsumerGenerationCheck::ExpectNew,
            vec![on(&a, &[("VCPU", 1)])],
        );
        store::replace(db, &[req], OPTS).await.unwrap();
        assert_eq!(
            consumer_generation(db, c).await,
            Some(Generation(1)),
            "{name}"
        );

        // Emptying a consumer that never existed leaves no record behind.
        let ghost = ConsumerUuid::new_v4();
        let req = request(ghost, ConsumerGenerationCheck::ExpectNew, vec![]);
        store::replace(db, &[req], OPTS).await.unwrap();
        assert_eq!(consumer_generation(db, ghost).await, None, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_consumer_move_is_all_or_nothing() {
    for tdb in dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let src = provider_with(db, "src", &[("VCPU", 4)]).await;
        let dst = provider_with(db, "dst", &[("VCPU", 4)]).await;
        let (instance, req) = new_consumer(vec![on(&src, &[("VCPU", 2)])]);
        store::replace(db, &[req], OPTS).await.unwrap();

        // Move: a new migration consumer takes over the source while the
        // instance moves to the destination, in one write.
        let migration = ConsumerUuid::new_v4();
        let batch = [
            request(
                instance,
                ConsumerGenerationCheck::Expect(Generation(1)),
                vec![on(&dst, &[("VCPU", 2)])],
            ),
            request(
                migration,
                ConsumerGenerationCheck::ExpectNew,
                vec![on(&src, &[("VCPU", 2)])],
            ),
        ];
        store::replace(db, &batch, OPTS).await.unwrap();
        assert_eq!(
            held(db, instance).await,
            vec![(dst.uuid, "VCPU".to_owned(), 2)]
        );
        assert_eq!(
            held(db, migration).await,
            vec![(src.uuid, "VCPU".to_owned(), 2)]
        );

        // A batch whose second consumer does not fit changes nothing: the
        // first consumer keeps its old allocations and the new one is not
        // created.
        let src_gen = current(db, &src).await.generation;
        let newcomer = ConsumerUuid::new_v4();
        let batch = [
            request(
                migration,
                ConsumerGenerationCheck::Expect(Generation(1)),
                vec![],
            ),
            request(
                newcomer,
                ConsumerGenerationCheck::ExpectNew,
                vec![on(&dst, &[("VCPU", 3)])],
            ),
        ];
        let err = store::replace(db, &batch, OPTS).await.unwrap_err();
        assert!(
            matches!(err, Error::AllocationCapacityExceeded { .. }),
            "{name}: {err:?}"
        );
        assert_eq!(
            held(db, migration).await,
            vec![(src.uuid, "VCPU".to_owned(), 2)]
        );
        assert_eq!(
            consumer_generation(db, migration).await,
            Some(Generation(1))
        );
        assert_eq!(consumer_generation(db, newcomer).await, None, "{name}");
        assert_eq!(current(db, &src).await.generation, src_gen, "{name}");
        assert_eq!(usage(db, &dst).await, 2, "{name}");

        // The same batch within capacity goes through: POST's atomic swap.
        let batch = [
            request(
                migration,
                ConsumerGenerationCheck::Expect(Generation(1)),
                vec![],
            ),
            request(
                newcomer,
                ConsumerGenerationCheck::ExpectNew,
                vec![on(&dst, &[("VCPU", 2)])],
            ),
        ];
        store::replace(db, &batch, OPTS).await.unwrap();
        assert_eq!(consumer_generation(db, migration).await, None, "{name}");
        assert_eq!(usage(db, &src).await, 0, "{name}");
        assert_eq!(usage(db, &dst).await, 4, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_constraints_and_missing_inventory_are_refused() {
    for tdb in dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let rp = provider(db, "cn", None).await;
        let mut vcpu = InventoryRecord::with_defaults("VCPU", 8);
        vcpu.reserved = 2;
        vcpu.allocation_ratio = 1.5; // capacity 9
        let mut mem = InventoryRecord::with_defaults("MEMORY_MB", 4096);
        mem.min_unit = 256;
        mem.max_unit = 2048;
        mem.step_size = 256;
        set_inventory(db, &rp, &[vcpu, mem]).await;
        let bare = provider(db, "bare", None).await;
        let rp_text = rp.uuid.to_string();

        let try_one = |allocs: Vec<ProviderResources>| {
            let (_, req) = new_consumer(allocs);
            async move { store::replace(db, &[req], OPTS).await }
        };

        // Capacity is (total - reserved) * ratio = 9.
        try_one(vec![on(&rp, &[("VCPU", 9)])]).await.unwrap();
        let err = try_one(vec![on(&rp, &[("VCPU", 1)])]).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "Unable to create allocation for 'VCPU' on resource provider '{rp_text}'. \
                 The requested amount would exceed the capacity."
            ),
            "{name}"
        );

        for bad in [128, 4096, 300] {
            let err = try_one(vec![on(&rp, &[("MEMORY_MB", bad)])])
                .await
                .unwrap_err();
            assert!(
                matches!(&err, Error::AllocationConstraintsViolated { resource_class, resource_provider }
                    if resource_class == "MEMORY_MB" && *resource_provider == rp_text),
                "{name} {bad}: {err:?}"
            );
        }
        try_one(vec![on(&rp, &[("MEMORY_MB", 512)])]).await.unwrap();

        // A class the provider has no inventory of.
        let err = try_one(vec![on(&rp, &[("DISK_GB", 1)])]).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInventory { resource_class, resource_provider }
                if resource_class == "DISK_GB" && *resource_provider == rp_text),
            "{name}: {err:?}"
        );
        // A provider with none of the requested classes at all: every class
        // of the batch is named, in class id order.
        let err = try_one(vec![
            on(&rp, &[("MEMORY_MB", 256)]),
            on(&bare, &[("MEMORY_MB", 256), ("VCPU", 1)]),
        ])
        .await
        .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInventory { resource_class, resource_provider }
                if resource_class == "VCPU, MEMORY_MB" && *resource_provider == bare.uuid.to_string()),
            "{name}: {err:?}"
        );

        // Several consumers of one batch count together.
        let (_, one) = new_consumer(vec![on(&rp, &[("MEMORY_MB", 2048)])]);
        let (_, two) = new_consumer(vec![on(&rp, &[("MEMORY_MB", 2048)])]);
        let err = store::replace(db, &[one, two], OPTS).await.unwrap_err();
        assert!(
            matches!(err, Error::AllocationCapacityExceeded { .. }),
            "{name}: {err:?}"
        );
        assert_eq!(usage(db, &rp).await, 9 + 512, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_providers_and_classes_are_named() {
    for tdb in dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let rp = provider_with(db, "cn", &[("VCPU", 8)]).await;
        let ghost = "7f3c9b1e-0000-4000-8000-000000000001";
        let (c, req) = new_consumer(vec![
            on(&rp, &[("VCPU", 1)]),
            ProviderResources {
                provider: ghost.to_owned(),
                resources: vec![("VCPU".to_owned(), 1)],
            },
        ]);
        let err = store::replace(db, &[req], OPTS).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("Allocation for resource provider '{ghost}' that does not exist."),
            "{name}"
        );
        let (_, req) = new_consumer(vec![on(&rp, &[("CUSTOM_NOPE", 1)])]);
        let err = store::replace(db, &[req], OPTS).await.unwrap_err();
        assert!(
            matches!(&err, Error::ResourceClassNotFound(n) if n == "CUSTOM_NOPE"),
            "{name}: {err:?}"
        );
        // The consumer created on the way was rolled back with the rest.
        assert_eq!(consumer_generation(db, c).await, None, "{name}");
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM consumers").await,
            0,
            "{name}"
        );
        assert_eq!(current(db, &rp).await.generation, rp.generation, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_capacity_provider_accepts_writes_that_do_not_grow_usage() {
    for tdb in dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let rp = provider_with(db, "cn", &[("VCPU", 10)]).await;
        let (c, req) = new_consumer(vec![on(&rp, &[("VCPU", 8)])]);
        store::replace(db, &[req], OPTS).await.unwrap();
        // Capacity drops under the usage (allowed, only logged).
        set_inventory(db, &rp, &records(&[("VCPU", 4)])).await;

        let grow = request(
            c,
            ConsumerGenerationCheck::Expect(Generation(1)),
            vec![on(&rp, &[("VCPU", 9)])],
        );
        let err = store::replace(db, &[grow], OPTS).await.unwrap_err();
        assert!(
            matches!(err, Error::AllocationCapacityExceeded { .. }),
            "{name}: {err:?}"
        );
        let shrink = request(
            c,
            ConsumerGenerationCheck::Expect(Generation(1)),
            vec![on(&rp, &[("VCPU", 6)])],
        );
        store::replace(db, &[shrink], OPTS).await.unwrap();
        let same = request(
            c,
            ConsumerGenerationCheck::Expect(Generation(2)),
            vec![on(&rp, &[("VCPU", 6)])],
        );
        store::replace(db, &[same], OPTS).await.unwrap();
        assert_eq!(usage(db, &rp).await, 6, "{name}");
        // A newcomer still may not add to the overage.
        let (_, req) = new_consumer(vec![on(&rp, &[("VCPU", 1)])]);
        let err = store::replace(db, &[req], OPTS).await.unwrap_err();
        assert!(
            matches!(err, Error::AllocationCapacityExceeded { .. }),
            "{name}: {err:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_for_consumer_removes_rows_and_record_without_bumping_providers() {
    for tdb in dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let rp = provider_with(db, "cn", &[("VCPU", 8), ("DISK_GB", 100)]).await;
        let (c, req) = new_consumer(vec![on(&rp, &[("VCPU", 2), ("DISK_GB", 5)])]);
        store::replace(db, &[req], OPTS).await.unwrap();
        let (other, req) = new_consumer(vec![on(&rp, &[("VCPU", 1)])]);
        store::replace(db, &[req], OPTS).await.unwrap();
        let before = current(db, &rp).await.generation;

        store::delete_for_consumer(db, &c.to_string())
            .await
            .unwrap();
        assert!(held(db, c).await.is_empty(), "{name}");
        assert_eq!(consumer_generation(db, c).await, None, "{name}");
        assert_eq!(current(db, &rp).await.generation, before, "{name}");
        assert_eq!(held(db, other).await.len(), 1, "{name}");

        let err = store::delete_for_consumer(db, &c.to_string())
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("No allocations for consumer '{c}'"),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_for_provider_lists_consumers_with_their_generations() {
    for tdb in dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let err = store::get_for_provider(db, &ProviderUuid::new_v4().to_string())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::ResourceProviderNotFound(_)),
            "{name}: {err:?}"
        );

        let rp = provider_with(db, "cn", &[("VCPU", 8), ("MEMORY_MB", 1024)]).await;
        let empty = store::get_for_provider(db, &rp.uuid.to_string())
            .await
            .unwrap();
        assert!(empty.allocations.is_empty(), "{name}");

        let (c1, req) = new_consumer(vec![on(&rp, &[("MEMORY_MB", 256), ("VCPU", 1)])]);
        store::replace(db, &[req], OPTS).await.unwrap();
        let (c2, req) = new_consumer(vec![on(&rp, &[("VCPU", 2)])]);
        store::replace(db, &[req], OPTS).await.unwrap();
        let req = request(
            c2,
            ConsumerGenerationCheck::Expect(Generation(1)),
            vec![on(&rp, &[("VCPU", 3)])],
        );
        store::replace(db, &[req], OPTS).await.unwrap();

        let got = store::get_for_provider(db, &rp.uuid.to_string())
            .await
            .unwrap();
        assert_eq!(got.provider.generation, current(db, &rp).await.generation);
        let mut want = vec![
            (c1.to_string(), "VCPU".to_owned(), 1),
            (c1.to_string(), "MEMORY_MB".to_owned(), 256),
            (c2.to_string(), "VCPU".to_owned(), 3),
        ];
        want.sort_by(|a, b| a.0.cmp(&b.0));
        let rows: Vec<(String, String, i64)> = got
            .allocations
            .iter()
            .map(|a| (a.consumer.clone(), a.resource_class.clone(), a.used))
            .collect();
        assert_eq!(rows, want, "{name}");
        assert_eq!(
            got.consumer_generations.get(&c1.to_string()),
            Some(&Generation(1))
        );
        assert_eq!(
            got.consumer_generations.get(&c2.to_string()),
            Some(&Generation(2))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reshape_moves_inventory_and_allocations_to_a_child() {
    for tdb in dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let parent = provider_with(db, "parent", &[("VCPU", 8), ("DISK_GB", 100)]).await;
        let child = provider(db, "child", Some(&parent)).await;
        let (c, req) = new_consumer(vec![on(&parent, &[("VCPU", 2), ("DISK_GB", 10)])]);
        store::replace(db, &[req], OPTS).await.unwrap();
        let parent = current(db, &parent).await;
        let child = current(db, &child).await;

        let inventories = [
            InventoryReplacement {
                provider: parent.uuid.to_string(),
                generation: parent.generation,
                inventories: records(&[("DISK_GB", 100)]),
            },
            InventoryReplacement {
                provider: child.uuid.to_string(),
                generation: child.generation,
                inventories: records(&[("VCPU", 8)]),
            },
        ];
        let allocations = [request(
            c,
            ConsumerGenerationCheck::Expect(Generation(1)),
            vec![on(&parent, &[("DISK_GB", 10)]), on(&child, &[("VCPU", 2)])],
        )];
        store::reshape(db, &inventories, &allocations, OPTS)
            .await
            .unwrap();

        let mut got = held(db, c).await;
        got.sort();
        let mut want = vec![
            (parent.uuid, "DISK_GB".to_owned(), 10),
            (child.uuid, "VCPU".to_owned(), 2),
        ];
        want.sort();
        assert_eq!(got, want, "{name}");
        assert_eq!(
            consumer_generation(db, c).await,
            Some(Generation(2)),
            "{name}"
        );
        let parent_inv = ops::inventory::get_inventories(db, &parent.uuid.to_string())
            .await
            .unwrap();
        let classes: Vec<&str> = parent_inv
            .inventories
            .iter()
            .map(|i| i.record.resource_class.as_str())
            .collect();
        assert_eq!(classes, vec!["DISK_GB"], "{name}");
        // Interim write, allocation swap, final write: three bumps each.
        assert_eq!(
            parent_inv.provider.generation.0,
            parent.generation.0 + 3,
            "{name}"
        );
        assert_eq!(
            current(db, &child).await.generation.0,
            child.generation.0 + 3,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_reshape_changes_nothing() {
    for tdb in dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let parent = provider_with(db, "parent", &[("VCPU", 8)]).await;
        let child = provider(db, "child", Some(&parent)).await;
        let (c, req) = new_consumer(vec![on(&parent, &[("VCPU", 2)])]);
        store::replace(db, &[req], OPTS).await.unwrap();
        let parent = current(db, &parent).await;
        let child = current(db, &child).await;

        // The allocation is left on the parent while its VCPU goes away.
        let inventories = [
            InventoryReplacement {
                provider: parent.uuid.to_string(),
                generation: parent.generation,
                inventories: vec![],
            },
            InventoryReplacement {
                provider: child.uuid.to_string(),
                generation: child.generation,
                inventories: records(&[("VCPU", 8)]),
            },
        ];
        let newcomer = ConsumerUuid::new_v4();
        let allocations = [request(
            newcomer,
            ConsumerGenerationCheck::ExpectNew,
            vec![on(&child, &[("VCPU", 1)])],
        )];
        let err = store::reshape(db, &inventories, &allocations, OPTS)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InventoryInUse { .. }),
            "{name}: {err:?}"
        );
        assert_eq!(
            current(db, &parent).await.generation,
            parent.generation,
            "{name}"
        );
        assert_eq!(
            current(db, &child).await.generation,
            child.generation,
            "{name}"
        );
        let child_inv = ops::inventory::get_inventories(db, &child.uuid.to_string())
            .await
            .unwrap();
        assert!(child_inv.inventories.is_empty(), "{name}");
        assert_eq!(consumer_generation(db, newcomer).await, None, "{name}");
        assert_eq!(held(db, c).await, vec![(parent.uuid, "VCPU".to_owned(), 2)]);

        // A stale provider generation is refused with upstream's text.
        let stale = [InventoryReplacement {
            provider: child.uuid.to_string(),
            generation: Generation(child.generation.0 + 7),
            inventories: records(&[("VCPU", 8)]),
        }];
        let err = store::reshape(db, &stale, &[], OPTS).await.unwrap_err();
        assert!(
            matches!(err, Error::GenerationMismatch(_)),
            "{name}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "resource provider generation conflict for provider {}: actual: {}, given: {}",
                child.uuid,
                child.generation,
                child.generation.0 + 7
            ),
            "{name}"
        );
        let missing = [InventoryReplacement {
            provider: ProviderUuid::new_v4().to_string(),
            generation: Generation(0),
            inventories: vec![],
        }];
        let err = store::reshape(db, &missing, &[], OPTS).await.unwrap_err();
        assert!(
            matches!(err, Error::ResourceProviderNotFound(_)),
            "{name}: {err:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_never_take_more_than_the_capacity() {
    const WRITERS: usize = 16;
    for tdb in dbs().await {
        let name = tdb.backend().name();
        let db = Arc::new(tdb.database().clone());
        let rp = provider_with(&db, "cn", &[("VCPU", 10)]).await;
        // Enough tries that a writer only gives up when the unit is gone.
        let opts = AllocationWriteOptions {
            conflict_retry_count: 64,
        };
        let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS));
        let mut tasks = Vec::new();
        for i in 0..WRITERS {
            let db = Arc::clone(&db);
            let barrier = Arc::clone(&barrier);
            let (_, mut req) = new_consumer(vec![on(&rp, &[("VCPU", 1)])]);
            // Half the writers race to create the same new project too.
            req.project_id = format!("race-proj-{}", i % 2);
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                store::replace(&db, &[req], opts).await
            }));
        }
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => won += 1,
                Err(Error::AllocationCapacityExceeded { .. }) => {}
                Err(Error::ConcurrentUpdate(text)) => {
                    assert_eq!(
                        text,
                        placement_store::error::PROVIDER_CONCURRENT_UPDATE,
                        "{name}"
                    );
                }
                Err(other) => panic!("{name}: unexpected {other:?}"),
            }
        }
        assert_eq!(won, 10, "{name}");
        assert_eq!(usage(&db, &rp).await, 10, "{name}");
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM consumers").await,
            10,
            "{name}"
        );
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM projects").await,
            2,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_of_one_consumer_generation_let_exactly_one_win() {
    const WRITERS: usize = 4;
    for tdb in dbs().await {
        let name = tdb.backend().name();
        let db = Arc::new(tdb.database().clone());
        let rp = provider_with(&db, "cn", &[("VCPU", 100)]).await;
        let (c, req) = new_consumer(vec![on(&rp, &[("VCPU", 1)])]);
        store::replace(&db, &[req], OPTS).await.unwrap();

        let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS));
        let mut tasks = Vec::new();
        for i in 0..WRITERS {
            let db = Arc::clone(&db);
            let barrier = Arc::clone(&barrier);
            let used = i64::try_from(i).unwrap() + 2;
            let req = request(
                c,
                ConsumerGenerationCheck::Expect(Generation(1)),
                vec![on(&rp, &[("VCPU", used)])],
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                store::replace(&db, &[req], OPTS).await
            }));
        }
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => won += 1,
                Err(Error::ConsumerGenerationConflict { .. } | Error::ConcurrentUpdate(_)) => {}
                Err(other) => panic!("{name}: unexpected {other:?}"),
            }
        }
        assert_eq!(won, 1, "{name}");
        assert_eq!(
            consumer_generation(&db, c).await,
            Some(Generation(2)),
            "{name}"
        );
        assert_eq!(held(&db, c).await.len(), 1, "{name}");
    }
}

/// Records what the store reports, for the observer tests.
#[derive(Default)]
struct Recorder {
    acquired: std::sync::atomic::AtomicUsize,
    retries: std::sync::Mutex<Vec<placement_store::RetryCause>>,
    conflicts: std::sync::Mutex<Vec<placement_store::ConflictCause>>,
}

impl placement_store::StoreObserver for Recorder {
    fn connection_acquired(&self, _wait: std::time::Duration) {
        self.acquired
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn allocation_write_retried(&self, cause: placement_store::RetryCause) {
        self.retries.lock().unwrap().push(cause);
    }

    fn allocation_write_conflicted(&self, cause: placement_store::ConflictCause) {
        self.conflicts.lock().unwrap().push(cause);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observer_hears_each_conflict_by_its_cause_and_each_connection() {
    use placement_store::ConflictCause;
    const WRITERS: usize = 12;
    for tdb in dbs().await {
        let name = tdb.backend().name();
        let recorder = Arc::new(Recorder::default());
        let db = Arc::new(tdb.database().with_observer(recorder.clone()));
        let rp = provider_with(&db, "cn", &[("VCPU", 5)]).await;
        let before = recorder.acquired.load(std::sync::atomic::Ordering::Relaxed);
        assert!(before >= 1, "{name}: the setup's transactions were seen");

        // One by one: a stale consumer generation, then too much.
        let (c, req) = new_consumer(vec![on(&rp, &[("VCPU", 1)])]);
        store::replace(&db, &[req], OPTS).await.unwrap();
        let stale = request(
            c,
            ConsumerGenerationCheck::Expect(Generation(0)),
            vec![on(&rp, &[("VCPU", 1)])],
        );
        let err = store::replace(&db, &[stale], OPTS).await.unwrap_err();
        assert!(
            matches!(err, Error::ConsumerGenerationConflict { .. }),
            "{name}"
        );
        let (_, greedy) = new_consumer(vec![on(&rp, &[("VCPU", 5)])]);
        let err = store::replace(&db, &[greedy], OPTS).await.unwrap_err();
        assert!(
            matches!(err, Error::AllocationCapacityExceeded { .. }),
            "{name}"
        );
        assert_eq!(
            *recorder.conflicts.lock().unwrap(),
            [ConflictCause::ConsumerGeneration, ConflictCause::Capacity],
            "{name}"
        );
        // Each write took at least one connection, and the wait was seen.
        assert!(
            recorder.acquired.load(std::sync::atomic::Ordering::Relaxed) >= before + 3,
            "{name}"
        );

        // Racing for the last 4 units: every refusal the writers see is
        // reported once, under its own cause.
        recorder.conflicts.lock().unwrap().clear();
        let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS));
        let mut tasks = Vec::new();
        for _ in 0..WRITERS {
            let db = Arc::clone(&db);
            let barrier = Arc::clone(&barrier);
            let (_, req) = new_consumer(vec![on(&rp, &[("VCPU", 1)])]);
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                store::replace(
                    &db,
                    &[req],
                    AllocationWriteOptions {
                        conflict_retry_count: 64,
                    },
                )
                .await
            }));
        }
        let (mut capacity, mut concurrent) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => {}
                Err(Error::AllocationCapacityExceeded { .. }) => capacity += 1,
                // Retries ran out on generations or deadlocks.
                Err(Error::ConcurrentUpdate(_)) => concurrent += 1,
                Err(other) => panic!("{name}: unexpected {other:?}"),
            }
        }
        assert_eq!(capacity + concurrent, WRITERS - 4, "{name}");
        let seen = recorder.conflicts.lock().unwrap().clone();
        let of = |causes: &[ConflictCause]| seen.iter().filter(|c| causes.contains(c)).count();
        assert_eq!(seen.len(), WRITERS - 4, "{name}: {seen:?}");
        assert_eq!(of(&[ConflictCause::Capacity]), capacity, "{name}: {seen:?}");
        assert_eq!(
            of(&[ConflictCause::ProviderGeneration, ConflictCause::Deadlock]),
            concurrent,
            "{name}: {seen:?}"
        );
        // Whatever was retried was retried for a cause a race explains.
        assert!(
            recorder
                .retries
                .lock()
                .unwrap()
                .iter()
                .all(|r| r.as_str() != "connection_lost"),
            "{name}"
        );
    }
}
