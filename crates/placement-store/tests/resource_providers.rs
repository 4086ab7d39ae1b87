//! The resource-provider store on every configured backend: create, read,
//! update (rename, parent changes), delete with each refusal, every list
//! filter, and a race of two creators over one name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on setup failure"
)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{count, synced_dbs};
use placement_core::ids::Generation;
use placement_core::resource_provider::{
    NewProvider, ProviderFilter, ProviderUpdate, ProviderUuid, ResourceProvider,
};
use placement_store::ops::resource_provider as store;
use placement_store::testing::TestDb;
use placement_store::{ops, params, Database, Error};

/// Fresh databases with the schema, standard classes and traits.
async fn dbs() -> Vec<TestDb> {
    let dbs = synced_dbs().await;
    for tdb in &dbs {
        ops::standard::sync(tdb.database()).await.unwrap();
    }
    dbs
}

async fn create(db: &Database, name: &str, parent: Option<&ResourceProvider>) -> ResourceProvider {
    let new = NewProvider {
        uuid: ProviderUuid::new_v4(),
        name: name.to_owned(),
        parent_provider_uuid: parent.map(|p| p.uuid.to_string()),
    };
    store::create_resource_provider(db, &new).await.unwrap()
}

fn rename(name: &str) -> ProviderUpdate {
    ProviderUpdate {
        name: name.to_owned(),
        parent_provider_uuid: None,
        allow_reparenting: false,
    }
}

fn reparent(name: &str, parent: Option<&ResourceProvider>, allow: bool) -> ProviderUpdate {
    ProviderUpdate {
        name: name.to_owned(),
        parent_provider_uuid: Some(parent.map(|p| p.uuid.to_string())),
        allow_reparenting: allow,
    }
}

async fn exec(db: &Database, sql: &str, values: &[placement_store::db::Value]) {
    let mut tx = db.begin().await.unwrap();
    tx.execute(sql, values).await.unwrap();
    tx.commit().await.unwrap();
}

async fn internal_id(db: &Database, rp: &ResourceProvider) -> i64 {
    let mut tx = db.begin_read().await.unwrap();
    tx.fetch_one(
        "SELECT id FROM resource_providers WHERE uuid = ?",
        params![rp.uuid.to_string()],
    )
    .await
    .unwrap()
    .get_i64(0)
    .unwrap()
}

/// VCPU inventory: `total`, reserved 0, units 1..=max, step `step`.
async fn add_vcpu(db: &Database, rp: &ResourceProvider, total: i64, max: i64, step: i64) {
    let id = internal_id(db, rp).await;
    exec(
        db,
        "INSERT INTO inventories (resource_provider_id, resource_class_id, total, reserved, \
         min_unit, max_unit, step_size, allocation_ratio) VALUES (?, 0, ?, 0, 1, ?, ?, 1.0)",
        params![id, total, max, step],
    )
    .await;
}

async fn allocate_vcpu(db: &Database, rp: &ResourceProvider, used: i64) {
    let id = internal_id(db, rp).await;
    exec(
        db,
        "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used) \
         VALUES (?, ?, 0, ?)",
        params![id, uuid::Uuid::new_v4().to_string(), used],
    )
    .await;
}

async fn add_trait(db: &Database, rp: &ResourceProvider, name: &str) {
    let id = internal_id(db, rp).await;
    exec(
        db,
        "INSERT INTO resource_provider_traits (resource_provider_id, trait_id) \
         SELECT ?, id FROM traits WHERE name = ?",
        params![id, name],
    )
    .await;
}

async fn add_aggregate(db: &Database, rp: &ResourceProvider, agg: &str) {
    let id = internal_id(db, rp).await;
    let mut tx = db.begin().await.unwrap();
    let existing = tx
        .fetch_optional(
            "SELECT id FROM placement_aggregates WHERE uuid = ?",
            params![agg],
        )
        .await
        .unwrap();
    let agg_id = match existing {
        Some(row) => row.get_i64(0).unwrap(),
        None => tx
            .insert_returning_id(
                "INSERT INTO placement_aggregates (uuid) VALUES (?)",
                params![agg],
            )
            .await
            .unwrap(),
    };
    tx.execute(
        "INSERT INTO resource_provider_aggregates (resource_provider_id, aggregate_id) \
         VALUES (?, ?)",
        params![id, agg_id],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn names(db: &Database, filter: &ProviderFilter) -> Vec<String> {
    store::list_resource_providers(db, filter)
        .await
        .unwrap()
        .into_iter()
        .map(|rp| rp.name)
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_is_its_own_root_and_a_child_takes_its_parents_root() {
    for tdb in dbs().await {
        let db = tdb.database();
        let root = create(db, "root", None).await;
        assert_eq!(root.generation, Generation(0));
        assert_eq!(root.root_provider_uuid, root.uuid);
        assert_eq!(root.parent_provider_uuid, None);
        assert!(
            root.updated_at.is_some(),
            "roots are stamped as upstream's second flush does"
        );
        let child = create(db, "child", Some(&root)).await;
        let grandchild = create(db, "grandchild", Some(&child)).await;
        assert_eq!(grandchild.parent_provider_uuid, Some(child.uuid));
        assert_eq!(grandchild.root_provider_uuid, root.uuid);
        let read = store::get_resource_provider(db, &grandchild.uuid.to_string())
            .await
            .unwrap();
        assert_eq!(read, grandchild);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_refuses_duplicates_and_missing_or_self_parents() {
    for tdb in dbs().await {
        let db = tdb.database();
        let rp = create(db, "one", None).await;
        let same_name = NewProvider {
            uuid: ProviderUuid::new_v4(),
            name: "one".into(),
            parent_provider_uuid: None,
        };
        let err = store::create_resource_provider(db, &same_name)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::DuplicateProviderName(ref n) if n == "one"),
            "{err:?}"
        );
        let same_uuid = NewProvider {
            uuid: rp.uuid,
            name: "two".into(),
            parent_provider_uuid: None,
        };
        let err = store::create_resource_provider(db, &same_uuid)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "Conflicting resource provider uuid: {} already exists.",
                rp.uuid
            )
        );
        let orphan = NewProvider {
            uuid: ProviderUuid::new_v4(),
            name: "orphan".into(),
            parent_provider_uuid: Some(uuid::Uuid::new_v4().to_string()),
        };
        let err = store::create_resource_provider(db, &orphan)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Object action create failed because: parent provider UUID does not exist."
        );
        let own = ProviderUuid::new_v4();
        let selfish = NewProvider {
            uuid: own,
            name: "selfish".into(),
            parent_provider_uuid: Some(own.to_string()),
        };
        let err = store::create_resource_provider(db, &selfish)
            .await
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("parent provider UUID cannot be same as UUID"));
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM resource_providers").await,
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_creators_of_one_name_end_with_one_provider() {
    for tdb in dbs().await {
        let db = Arc::new(tdb.database().clone());
        let attempt = |db: Arc<Database>| async move {
            let new = NewProvider {
                uuid: ProviderUuid::new_v4(),
                name: "contested".into(),
                parent_provider_uuid: None,
            };
            store::create_resource_provider(&db, &new).await
        };
        let (a, b) = tokio::join!(
            tokio::spawn(attempt(Arc::clone(&db))),
            tokio::spawn(attempt(Arc::clone(&db)))
        );
        let results = [a.unwrap(), b.unwrap()];
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "{}: {results:?}", tdb.backend().name());
        assert!(results
            .iter()
            .any(|r| matches!(r, Err(Error::DuplicateProviderName(_)))));
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM resource_providers").await,
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_renames_without_touching_the_generation() {
    for tdb in dbs().await {
        let db = tdb.database();
        let rp = create(db, "old", None).await;
        create(db, "taken", None).await;
        let uuid = rp.uuid.to_string();
        let updated = store::update_resource_provider(db, &uuid, &rename("new"))
            .await
            .unwrap();
        assert_eq!(updated.provider.name, "new");
        assert_eq!(updated.provider.generation, Generation(0));
        assert_eq!(updated.updated_at_before, rp.updated_at);
        let err = store::update_resource_provider(db, &uuid, &rename("taken"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::DuplicateProviderName(ref n) if n == "taken"));
        let missing = uuid::Uuid::new_v4().to_string();
        let err = store::update_resource_provider(db, &missing, &rename("x"))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("No resource provider with uuid {missing} found")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_is_set_once_before_1_37_and_moved_freely_after() {
    for tdb in dbs().await {
        let db = tdb.database();
        let a = create(db, "a", None).await;
        let b = create(db, "b", None).await;
        let child = create(db, "child", None).await;
        let grandchild = create(db, "grandchild", Some(&child)).await;
        let cu = child.uuid.to_string();

        // From none to a parent: allowed before 1.37; the subtree follows.
        let moved = store::update_resource_provider(db, &cu, &reparent("child", Some(&a), false))
            .await
            .unwrap();
        assert_eq!(moved.provider.root_provider_uuid, a.uuid);
        let gc = store::get_resource_provider(db, &grandchild.uuid.to_string())
            .await
            .unwrap();
        assert_eq!(gc.root_provider_uuid, a.uuid);

        // The same parent again is no change.
        store::update_resource_provider(db, &cu, &reparent("child", Some(&a), false))
            .await
            .unwrap();
        for (update, reason) in [
            (reparent("child", Some(&b), false), "re-parenting"),
            (reparent("child", None, false), "un-parenting"),
        ] {
            let err = store::update_resource_provider(db, &cu, &update)
                .await
                .unwrap_err();
            assert!(err.to_string().contains(reason), "{err}");
        }

        // From 1.37: move, then un-parent; never into its own subtree.
        let moved = store::update_resource_provider(db, &cu, &reparent("child", Some(&b), true))
            .await
            .unwrap();
        assert_eq!(moved.provider.parent_provider_uuid, Some(b.uuid));
        let err =
            store::update_resource_provider(db, &cu, &reparent("child", Some(&grandchild), true))
                .await
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Object action update failed because: creating loop in the provider tree is not \
             allowed."
        );
        let freed = store::update_resource_provider(db, &cu, &reparent("child", None, true))
            .await
            .unwrap();
        assert_eq!(freed.provider.root_provider_uuid, child.uuid);
        assert_eq!(freed.provider.parent_provider_uuid, None);
        let gc = store::get_resource_provider(db, &grandchild.uuid.to_string())
            .await
            .unwrap();
        assert_eq!(gc.root_provider_uuid, child.uuid);

        let err = store::update_resource_provider(
            db,
            &cu,
            &ProviderUpdate {
                name: "child".into(),
                parent_provider_uuid: Some(Some(uuid::Uuid::new_v4().to_string())),
                allow_reparenting: true,
            },
        )
        .await
        .unwrap_err();
        assert!(err
            .to_string()
            .contains("parent provider UUID does not exist."));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_refuses_parents_and_providers_with_allocations() {
    for tdb in dbs().await {
        let db = tdb.database();
        let parent = create(db, "parent", None).await;
        let child = create(db, "child", Some(&parent)).await;
        let err = store::delete_resource_provider(db, &parent.uuid.to_string())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::CannotDeleteParentResourceProvider));
        add_vcpu(db, &child, 4, 4, 1).await;
        allocate_vcpu(db, &child, 1).await;
        let err = store::delete_resource_provider(db, &child.uuid.to_string())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ResourceProviderInUse));
        exec(db, "DELETE FROM allocations", params![]).await;
        add_trait(db, &child, "HW_CPU_X86_AVX").await;
        add_aggregate(db, &child, "6f1c2e9a-1d4b-4c3e-9f00-0123456789ab").await;
        store::delete_resource_provider(db, &child.uuid.to_string())
            .await
            .unwrap();
        for table in [
            "inventories",
            "resource_provider_traits",
            "resource_provider_aggregates",
        ] {
            assert_eq!(count(db, &format!("SELECT COUNT(*) FROM {table}")).await, 0);
        }
        store::delete_resource_provider(db, &parent.uuid.to_string())
            .await
            .unwrap();
        let err = store::delete_resource_provider(db, &parent.uuid.to_string())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ResourceProviderNotFound(_)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_filter_by_name_uuid_and_tree_in_id_order() {
    for tdb in dbs().await {
        let db = tdb.database();
        let a = create(db, "a", None).await;
        let a1 = create(db, "a1", Some(&a)).await;
        create(db, "b", None).await;
        assert_eq!(
            names(db, &ProviderFilter::default()).await,
            ["a", "a1", "b"]
        );
        let by_name = ProviderFilter {
            name: Some("b".into()),
            ..ProviderFilter::default()
        };
        assert_eq!(names(db, &by_name).await, ["b"]);
        let by_uuid = ProviderFilter {
            uuid: Some(a1.uuid.to_string()),
            ..ProviderFilter::default()
        };
        assert_eq!(names(db, &by_uuid).await, ["a1"]);
        let tree = ProviderFilter {
            in_tree: Some(a1.uuid.to_string()),
            ..ProviderFilter::default()
        };
        assert_eq!(names(db, &tree).await, ["a", "a1"]);
        let nowhere = ProviderFilter {
            in_tree: Some(uuid::Uuid::new_v4().to_string()),
            required_traits: vec![set(&["CUSTOM_UNKNOWN"])],
            ..ProviderFilter::default()
        };
        assert!(
            names(db, &nowhere).await.is_empty(),
            "an unknown tree ends the search"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_filter_by_traits_and_aggregates() {
    for tdb in dbs().await {
        let db = tdb.database();
        let a = create(db, "a", None).await;
        let b = create(db, "b", None).await;
        create(db, "c", None).await;
        add_trait(db, &a, "HW_CPU_X86_AVX").await;
        add_trait(db, &b, "HW_CPU_X86_SSE").await;
        let agg1 = "11111111-1111-1111-1111-111111111111";
        let agg2 = "22222222-2222-2222-2222-222222222222";
        add_aggregate(db, &a, agg1).await;
        add_aggregate(db, &b, agg1).await;
        add_aggregate(db, &b, agg2).await;

        let any = ProviderFilter {
            required_traits: vec![set(&["HW_CPU_X86_AVX", "HW_CPU_X86_SSE"])],
            ..ProviderFilter::default()
        };
        assert_eq!(names(db, &any).await, ["a", "b"]);
        let forbidden = ProviderFilter {
            forbidden_traits: set(&["HW_CPU_X86_AVX"]),
            ..ProviderFilter::default()
        };
        assert_eq!(names(db, &forbidden).await, ["b", "c"]);
        let unknown = ProviderFilter {
            required_traits: vec![set(&["CUSTOM_NOPE"])],
            ..ProviderFilter::default()
        };
        let err = store::list_resource_providers(db, &unknown)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "No such trait(s): CUSTOM_NOPE.");

        let both = ProviderFilter {
            member_of: vec![set(&[agg1]), set(&[agg2])],
            ..ProviderFilter::default()
        };
        assert_eq!(names(db, &both).await, ["b"]);
        let not_in = ProviderFilter {
            forbidden_aggs: set(&[agg2]),
            ..ProviderFilter::default()
        };
        assert_eq!(names(db, &not_in).await, ["a", "c"]);
        let unknown_agg = ProviderFilter {
            member_of: vec![set(&["33333333-3333-3333-3333-333333333333"])],
            ..ProviderFilter::default()
        };
        assert!(names(db, &unknown_agg).await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_filter_by_free_capacity_units_and_step() {
    for tdb in dbs().await {
        let db = tdb.database();
        let small = create(db, "small", None).await;
        let big = create(db, "big", None).await;
        let stepped = create(db, "stepped", None).await;
        add_vcpu(db, &small, 4, 4, 1).await;
        add_vcpu(db, &big, 16, 8, 1).await;
        add_vcpu(db, &stepped, 16, 16, 4).await;
        allocate_vcpu(db, &small, 3).await;
        let want = |n: i64| ProviderFilter {
            resources: vec![("VCPU".into(), n)],
            ..ProviderFilter::default()
        };
        assert_eq!(names(db, &want(1)).await, ["small", "big"]);
        assert_eq!(names(db, &want(2)).await, ["big"]);
        assert_eq!(names(db, &want(4)).await, ["big", "stepped"]);
        assert_eq!(names(db, &want(12)).await, ["stepped"]);
        let unknown = ProviderFilter {
            resources: vec![("CUSTOM_NOPE".into(), 1)],
            ..ProviderFilter::default()
        };
        let err = store::list_resource_providers(db, &unknown)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "No such resource class CUSTOM_NOPE.");
    }
}

/// A parent deleted while a child is created under it, and a provider
/// deleted while an allocation is written to it: every outcome is one of
/// the documented refusals, never a database error, and nothing is left
/// pointing at a provider that is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_racing_child_creation_and_allocation_strand_nothing() {
    use placement_core::allocation::{
        AllocationRequest, AllocationWriteOptions, ConsumerGenerationCheck, ProviderResources,
    };
    use placement_core::ids::ConsumerUuid;
    use placement_core::inventory::InventoryRecord;

    for tdb in dbs().await {
        let db = tdb.database().clone();
        let backend = tdb.backend().name();
        for round in 0..15 {
            let parent = create(&db, &format!("parent-{round}"), None).await;
            ops::inventory::set_inventories(
                &db,
                &parent.uuid.to_string(),
                None,
                &[InventoryRecord::with_defaults("VCPU", 8)],
            )
            .await
            .unwrap();
            let child = NewProvider {
                uuid: ProviderUuid::new_v4(),
                name: format!("child-{round}"),
                parent_provider_uuid: Some(parent.uuid.to_string()),
            };
            let request = AllocationRequest {
                consumer: ConsumerUuid::new_v4(),
                project_id: "p".to_owned(),
                user_id: "u".to_owned(),
                generation: ConsumerGenerationCheck::ExpectNew,
                consumer_type: None,
                allocations: vec![ProviderResources {
                    provider: parent.uuid.to_string(),
                    resources: vec![("VCPU".to_owned(), 1)],
                }],
            };
            let parent_uuid = parent.uuid.to_string();
            let (deleted, created, allocated) = tokio::join!(
                store::delete_resource_provider(&db, &parent_uuid),
                store::create_resource_provider(&db, &child),
                ops::allocation::replace(
                    &db,
                    std::slice::from_ref(&request),
                    AllocationWriteOptions::default()
                ),
            );
            match &deleted {
                Ok(())
                | Err(
                    Error::CannotDeleteParentResourceProvider
                    | Error::ResourceProviderInUse
                    | Error::ConcurrentUpdate(_),
                ) => {}
                Err(e) => panic!("{backend} round {round}: delete failed with {e:?}"),
            }
            match &created {
                Ok(_) | Err(Error::ProviderActionError { .. }) => {}
                Err(e) => panic!("{backend} round {round}: create failed with {e:?}"),
            }
            match &allocated {
                Ok(())
                | Err(
                    Error::AllocationProviderNotFound(_)
                    | Error::InvalidInventory { .. }
                    | Error::ConcurrentUpdate(_),
                ) => {}
                Err(e) => panic!("{backend} round {round}: allocation failed with {e:?}"),
            }
            if deleted.is_ok() {
                assert!(
                    created.is_err(),
                    "{backend} round {round}: child of a deleted parent"
                );
                assert!(
                    allocated.is_err(),
                    "{backend} round {round}: allocation on a deleted provider"
                );
            }
        }
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM allocations a WHERE NOT EXISTS
                 (SELECT 1 FROM resource_providers rp WHERE rp.id = a.resource_provider_id)"
            )
            .await,
            0,
            "{backend}: allocations on deleted providers"
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM resource_providers c WHERE c.parent_provider_id IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM resource_providers p WHERE p.id = c.parent_provider_id)"
            )
            .await,
            0,
            "{backend}: children of deleted parents"
        );
    }
}
