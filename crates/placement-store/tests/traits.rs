//! The trait store on every configured backend: listing with each filter,
//! showing, get-or-create (also under a race) and every refusal of delete.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on setup failure"
)]

mod common;

use std::sync::Arc;

use common::{count, synced_dbs};
use placement_core::traits::{CustomTraitName, TraitFilter};
use placement_store::ops::traits::{self as store, EnsuredTrait};
use placement_store::testing::TestDb;
use placement_store::{ops, params, Database, Error};

/// Fresh databases with the schema and the standard traits.
async fn dbs() -> Vec<TestDb> {
    let dbs = synced_dbs().await;
    for tdb in &dbs {
        ops::standard::sync(tdb.database()).await.unwrap();
    }
    dbs
}

fn custom(name: &str) -> CustomTraitName {
    CustomTraitName::parse(name).unwrap()
}

async fn create(db: &Database, name: &str) {
    let ensured = store::ensure_trait(db, &custom(name)).await.unwrap();
    assert!(matches!(ensured, EnsuredTrait::Created(_)), "{ensured:?}");
}

/// Gives a new provider the named trait, as the provider routes will.
async fn associate(db: &Database, provider: &str, trait_name: &str) {
    let mut tx = db.begin().await.unwrap();
    let id = tx
        .insert_returning_id(
            "INSERT INTO resource_providers (uuid, name, generation) VALUES (?, ?, 0)",
            params![uuid::Uuid::new_v4().to_string(), provider],
        )
        .await
        .unwrap();
    tx.execute(
        "UPDATE resource_providers SET root_provider_id = id WHERE id = ?",
        params![id],
    )
    .await
    .unwrap();
    tx.execute(
        "INSERT INTO resource_provider_traits (resource_provider_id, trait_id)
         SELECT ?, id FROM traits WHERE name = ?",
        params![id, trait_name],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn names(db: &Database, filter: TraitFilter) -> Vec<String> {
    store::list_traits(db, &filter)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_filter_lists_every_trait_oldest_first() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        create(db, "CUSTOM_B").await;
        create(db, "CUSTOM_A").await;
        let all = names(db, TraitFilter::default()).await;
        assert_eq!(all.len(), 379, "{backend}");
        assert!(all.contains(&"HW_CPU_X86_AVX2".to_owned()), "{backend}");
        assert_eq!(all[377..], ["CUSTOM_B", "CUSTOM_A"], "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_filters_select_listed_names_or_a_prefix() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        for name in ["CUSTOM_TRAIT_1", "CUSTOM_TRAIT_2", "CUSTOM_ANOTHER_TRAIT"] {
            create(db, name).await;
        }
        let listed = TraitFilter {
            name_in: Some(vec![
                "CUSTOM_TRAIT_2".into(),
                "HW_CPU_X86_SSE".into(),
                "CUSTOM_NOPE".into(),
            ]),
            ..TraitFilter::default()
        };
        assert_eq!(
            names(db, listed).await,
            ["CUSTOM_TRAIT_2", "HW_CPU_X86_SSE"],
            "{backend}"
        );
        let prefix = TraitFilter {
            prefix: Some("CUSTOM_TRAIT".into()),
            ..TraitFilter::default()
        };
        assert_eq!(
            names(db, prefix).await,
            ["CUSTOM_TRAIT_1", "CUSTOM_TRAIT_2"],
            "{backend}"
        );
        let empty = TraitFilter {
            name_in: Some(Vec::new()),
            ..TraitFilter::default()
        };
        assert!(names(db, empty).await.is_empty(), "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn associated_selects_traits_some_provider_has_or_none_has() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        create(db, "CUSTOM_USED").await;
        create(db, "CUSTOM_FREE").await;
        associate(db, "rp1", "CUSTOM_USED").await;
        associate(db, "rp2", "CUSTOM_USED").await;
        associate(db, "rp3", "HW_CPU_X86_SSE").await;
        let associated = TraitFilter {
            associated: Some(true),
            ..TraitFilter::default()
        };
        assert_eq!(
            names(db, associated).await,
            ["HW_CPU_X86_SSE", "CUSTOM_USED"],
            "{backend}"
        );
        let unassociated_custom = TraitFilter {
            prefix: Some("CUSTOM_".into()),
            associated: Some(false),
            ..TraitFilter::default()
        };
        assert_eq!(
            names(db, unassociated_custom).await,
            ["CUSTOM_FREE"],
            "{backend}"
        );
        let all_unassociated = TraitFilter {
            associated: Some(false),
            ..TraitFilter::default()
        };
        assert_eq!(names(db, all_unassociated).await.len(), 377, "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_finds_exact_names_only() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        create(db, "CUSTOM_X").await;
        let found = store::get_trait(db, "CUSTOM_X").await.unwrap();
        assert_eq!(found.name, "CUSTOM_X", "{backend}");
        assert!(found.created_at.is_some(), "{backend}");
        assert!(found.updated_at.is_none(), "{backend}");
        for missing in ["custom_x", "CUSTOM_X ", "CUSTOM_Y"] {
            let error = store::get_trait(db, missing).await.unwrap_err();
            assert!(
                matches!(&error, Error::TraitNotFound(n) if n == missing),
                "{backend}: {error:?}"
            );
            assert_eq!(
                error.to_string(),
                format!("No such trait(s): {missing}."),
                "{backend}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_creates_once_then_finds_the_stored_trait() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let EnsuredTrait::Created(created) = store::ensure_trait(db, &custom("CUSTOM_NEW"))
            .await
            .unwrap()
        else {
            panic!("{backend}: not created");
        };
        let EnsuredTrait::Existed(existed) = store::ensure_trait(db, &custom("CUSTOM_NEW"))
            .await
            .unwrap()
        else {
            panic!("{backend}: not found again");
        };
        assert_eq!(created.name, existed.name, "{backend}");
        // MySQL's DATETIME keeps whole seconds (rounded), so the stored
        // stamp may differ from the one the creator reports.
        let drift = created.created_at.unwrap() - existed.created_at.unwrap();
        assert!(drift.num_milliseconds().abs() < 1000, "{backend}: {drift}");
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM traits WHERE name = 'CUSTOM_NEW'").await,
            1,
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_puts_of_one_trait_create_exactly_one_row() {
    for tdb in dbs().await {
        let db = Arc::new(tdb.database().clone());
        let backend = tdb.backend().name();
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let db = Arc::clone(&db);
            tasks.push(tokio::spawn(async move {
                store::ensure_trait(&db, &custom("CUSTOM_RACE")).await
            }));
        }
        let mut created = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(EnsuredTrait::Created(_)) => created += 1,
                Ok(_) => {}
                Err(e) => panic!("{backend}: {e}"),
            }
        }
        assert_eq!(created, 1, "{backend}");
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM traits WHERE name = 'CUSTOM_RACE'"
            )
            .await,
            1,
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_refuses_missing_standard_and_used_traits_and_removes_the_rest() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        create(db, "CUSTOM_GONE").await;
        create(db, "CUSTOM_USED").await;
        associate(db, "rp1", "CUSTOM_USED").await;

        let missing = store::delete_trait(db, "CUSTOM_NEVER").await.unwrap_err();
        assert!(matches!(missing, Error::TraitNotFound(_)), "{backend}");
        let standard = store::delete_trait(db, "HW_CPU_X86_SSE").await.unwrap_err();
        assert_eq!(
            standard.to_string(),
            "Cannot delete standard trait HW_CPU_X86_SSE.",
            "{backend}"
        );
        let used = store::delete_trait(db, "CUSTOM_USED").await.unwrap_err();
        assert_eq!(
            used.to_string(),
            "The trait CUSTOM_USED is in use by a resource provider.",
            "{backend}"
        );
        // A standard name that is not stored is missing, not standard.
        let unknown_standard = store::delete_trait(db, "HW_NOT_A_TRAIT").await.unwrap_err();
        assert!(
            matches!(unknown_standard, Error::TraitNotFound(_)),
            "{backend}"
        );

        store::delete_trait(db, "CUSTOM_GONE").await.unwrap();
        assert!(
            matches!(
                store::get_trait(db, "CUSTOM_GONE").await,
                Err(Error::TraitNotFound(_))
            ),
            "{backend}"
        );
        assert!(
            store::get_trait(db, "CUSTOM_USED").await.is_ok(),
            "{backend}"
        );
        assert!(
            store::get_trait(db, "HW_CPU_X86_SSE").await.is_ok(),
            "{backend}"
        );
    }
}
