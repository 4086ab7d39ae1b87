//! A provider's traits and aggregates on every configured backend: replace,
//! clear, the generation bump, a stale generation refused, and two writers
//! racing from the same read generation, of whom exactly one wins.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on setup failure"
)]

mod common;

use std::sync::Arc;

use common::{count, synced_dbs};
use placement_core::ids::Generation;
use placement_core::resource_provider::{NewProvider, ProviderUuid, ResourceProvider};
use placement_store::error::PROVIDER_CONCURRENT_UPDATE;
use placement_store::ops::aggregates::{get_provider_aggregates, set_provider_aggregates};
use placement_store::ops::provider_traits::{
    delete_provider_traits, get_provider_traits, set_provider_traits, GENERATION_CHANGED,
};
use placement_store::ops::resource_provider::create_resource_provider;
use placement_store::testing::TestDb;
use placement_store::{ops, Database, Error};

/// Fresh databases with the schema, standard classes and traits.
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
    create_resource_provider(db, &new).await.unwrap()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

const AGG_A: &str = "11111111-1111-1111-1111-111111111111";
const AGG_B: &str = "22222222-2222-2222-2222-222222222222";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_traits_replaces_the_set_and_bumps_the_generation_once() {
    for tdb in dbs().await {
        let db = tdb.database();
        let rp = create(db, "cn").await;
        let uuid = rp.uuid.to_string();
        let set = set_provider_traits(
            db,
            &uuid,
            &names(&["HW_CPU_X86_AVX", "HW_CPU_X86_SSE"]),
            Generation(0),
        )
        .await
        .unwrap();
        assert_eq!(set.provider.generation, Generation(1));
        let got: Vec<_> = set.traits.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(got, ["HW_CPU_X86_AVX", "HW_CPU_X86_SSE"]);

        // The same set again changes nothing, so the generation stays.
        let same = set_provider_traits(
            db,
            &uuid,
            &names(&["HW_CPU_X86_SSE", "HW_CPU_X86_AVX"]),
            Generation(1),
        )
        .await
        .unwrap();
        assert_eq!(same.provider.generation, Generation(1));

        let replaced = set_provider_traits(db, &uuid, &names(&["HW_CPU_X86_SSE2"]), Generation(1))
            .await
            .unwrap();
        assert_eq!(replaced.provider.generation, Generation(2));
        let read = get_provider_traits(db, &uuid).await.unwrap();
        let got: Vec<_> = read.traits.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(got, ["HW_CPU_X86_SSE2"], "{}", tdb.backend().name());
        assert_eq!(read.provider.generation, Generation(2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_traits_refuses_a_stale_generation_an_unknown_trait_and_an_unknown_provider() {
    for tdb in dbs().await {
        let db = tdb.database();
        let rp = create(db, "cn").await;
        let uuid = rp.uuid.to_string();
        let stale =
            set_provider_traits(db, &uuid, &names(&["HW_CPU_X86_AVX"]), Generation(5)).await;
        assert!(matches!(stale, Err(Error::GenerationMismatch(ref m)) if m == GENERATION_CHANGED));
        let unknown = set_provider_traits(
            db,
            &uuid,
            &names(&["CUSTOM_NOPE", "CUSTOM_NADA"]),
            Generation(0),
        )
        .await;
        assert!(
            matches!(unknown, Err(Error::TraitNotFound(ref m)) if m == "CUSTOM_NADA, CUSTOM_NOPE"),
            "{unknown:?}"
        );
        let missing = ProviderUuid::new_v4().to_string();
        assert!(matches!(
            set_provider_traits(db, &missing, &[], Generation(0)).await,
            Err(Error::ResourceProviderNotFound(_))
        ));
        assert!(matches!(
            get_provider_traits(db, &missing).await,
            Err(Error::ResourceProviderNotFound(_))
        ));
        assert!(matches!(
            delete_provider_traits(db, &missing).await,
            Err(Error::ResourceProviderNotFound(_))
        ));
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM resource_provider_traits").await,
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_traits_clears_them_and_bumps_the_generation_only_when_some_went() {
    for tdb in dbs().await {
        let db = tdb.database();
        let rp = create(db, "cn").await;
        let uuid = rp.uuid.to_string();
        delete_provider_traits(db, &uuid).await.unwrap();
        assert_eq!(
            get_provider_traits(db, &uuid)
                .await
                .unwrap()
                .provider
                .generation,
            Generation(0)
        );
        set_provider_traits(db, &uuid, &names(&["HW_CPU_X86_AVX"]), Generation(0))
            .await
            .unwrap();
        delete_provider_traits(db, &uuid).await.unwrap();
        let read = get_provider_traits(db, &uuid).await.unwrap();
        assert!(read.traits.is_empty());
        assert_eq!(read.provider.generation, Generation(2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_trait_writers_from_one_generation_end_with_exactly_one_winner() {
    for tdb in dbs().await {
        let db = Arc::new(tdb.database().clone());
        let rp = create(&db, "cn").await;
        let uuid = rp.uuid.to_string();
        let attempt = |db: Arc<Database>, uuid: String, name: &'static str| async move {
            set_provider_traits(&db, &uuid, &names(&[name]), Generation(0)).await
        };
        let (a, b) = tokio::join!(
            tokio::spawn(attempt(Arc::clone(&db), uuid.clone(), "HW_CPU_X86_AVX")),
            tokio::spawn(attempt(Arc::clone(&db), uuid.clone(), "HW_CPU_X86_SSE"))
        );
        let results = [a.unwrap(), b.unwrap()];
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "{}: {results:?}", tdb.backend().name());
        assert!(results.iter().any(|r| matches!(
            r,
            Err(Error::GenerationMismatch(m)) if m == GENERATION_CHANGED
        ) || matches!(
            r,
            Err(Error::ConcurrentUpdate(m)) if m == PROVIDER_CONCURRENT_UPDATE
        ) || matches!(
            r,
            // A deadlock or busy lock between the two writers is a lost race
            // too: the store reports it as transient for the caller to retry.
            Err(e) if e.is_transient()
        )));
        let read = get_provider_traits(&db, &uuid).await.unwrap();
        assert_eq!(read.traits, winners[0].traits);
        assert_eq!(read.provider.generation, Generation(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_aggregates_creates_aggregates_once_and_bumps_only_when_asked() {
    for tdb in dbs().await {
        let db = tdb.database();
        let rp = create(db, "cn").await;
        let other = create(db, "other").await;
        let uuid = rp.uuid.to_string();
        let old = set_provider_aggregates(db, &uuid, &names(&[AGG_A, AGG_B]), None)
            .await
            .unwrap();
        assert_eq!(old.provider.generation, Generation(0));
        let new = set_provider_aggregates(db, &uuid, &names(&[AGG_B]), Some(Generation(0)))
            .await
            .unwrap();
        assert_eq!(new.provider.generation, Generation(1));
        assert_eq!(new.aggregates, [AGG_B]);
        set_provider_aggregates(db, &other.uuid.to_string(), &names(&[AGG_A]), None)
            .await
            .unwrap();
        let read = get_provider_aggregates(db, &uuid).await.unwrap();
        assert_eq!(read.aggregates, [AGG_B]);
        assert_eq!(read.provider.generation, Generation(1));
        // Aggregates are never garbage-collected and never duplicated.
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM placement_aggregates").await,
            2
        );
        let stale = set_provider_aggregates(db, &uuid, &[], Some(Generation(0))).await;
        assert!(matches!(stale, Err(Error::GenerationMismatch(ref m)) if m == GENERATION_CHANGED));
        assert!(matches!(
            get_provider_aggregates(db, &ProviderUuid::new_v4().to_string()).await,
            Err(Error::ResourceProviderNotFound(_))
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_aggregate_writers_from_one_generation_end_with_exactly_one_winner() {
    for tdb in dbs().await {
        let db = Arc::new(tdb.database().clone());
        let rp = create(&db, "cn").await;
        let uuid = rp.uuid.to_string();
        let attempt = |db: Arc<Database>, uuid: String, agg: &'static str| async move {
            set_provider_aggregates(&db, &uuid, &names(&[agg]), Some(Generation(0))).await
        };
        let (a, b) = tokio::join!(
            tokio::spawn(attempt(Arc::clone(&db), uuid.clone(), AGG_A)),
            tokio::spawn(attempt(Arc::clone(&db), uuid.clone(), AGG_B))
        );
        let results = [a.unwrap(), b.unwrap()];
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "{}: {results:?}", tdb.backend().name());
        let read = get_provider_aggregates(&db, &uuid).await.unwrap();
        assert_eq!(read.aggregates, winners[0].aggregates);
        assert_eq!(read.provider.generation, Generation(1));
    }
}
