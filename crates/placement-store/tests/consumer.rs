//! The consumer store on every configured backend: each operation and each
//! of its error paths, plus the generation compare-and-swap under a race.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on setup failure"
)]

mod common;

use std::sync::Arc;

use common::{count, insert_allocation, synced_dbs};
use placement_core::consumer::NewConsumer;
use placement_core::ids::{ConsumerUuid, Generation};
use placement_store::ops::consumer as store;
use placement_store::{Database, Error};

async fn new_consumer(db: &Database, project: &str, user: &str) -> NewConsumer {
    let project = store::ensure_project(db, project).await.unwrap();
    let user = store::ensure_user(db, user).await.unwrap();
    NewConsumer {
        uuid: ConsumerUuid::new_v4(),
        project_id: project.id,
        user_id: user.id,
        consumer_type_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_project_and_user_create_once_and_then_find() {
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let p1 = store::ensure_project(db, "proj-a").await.unwrap();
        let p2 = store::ensure_project(db, "proj-a").await.unwrap();
        let p3 = store::ensure_project(db, "proj-b").await.unwrap();
        assert_eq!(p1, p2, "{name}");
        assert_ne!(p1.id, p3.id, "{name}");
        assert_eq!(p3.external_id, "proj-b");
        let u1 = store::ensure_user(db, "user-a").await.unwrap();
        let u2 = store::ensure_user(db, "user-a").await.unwrap();
        assert_eq!(u1, u2, "{name}");
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM projects").await,
            2,
            "{name}"
        );
        assert_eq!(count(db, "SELECT COUNT(*) FROM users").await, 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_get_or_create_yields_one_row_and_one_id() {
    for tdb in synced_dbs().await {
        let db = Arc::new(tdb.database().clone());
        let name = tdb.backend().name();
        let mut tasks = Vec::new();
        for i in 0..12 {
            let db = Arc::clone(&db);
            tasks.push(tokio::spawn(async move {
                match i % 3 {
                    0 => store::ensure_project(&db, "racy").await.map(|p| p.id.0),
                    1 => store::ensure_user(&db, "racy").await.map(|u| u.id.0),
                    _ => store::ensure_consumer_type(&db, "RACY")
                        .await
                        .map(|t| t.id.0),
                }
            }));
        }
        let mut ids = [Vec::new(), Vec::new(), Vec::new()];
        for (i, t) in tasks.into_iter().enumerate() {
            ids[i % 3].push(t.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e}")));
        }
        for group in &ids {
            assert!(group.windows(2).all(|w| w[0] == w[1]), "{name}: {ids:?}");
        }
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM projects WHERE external_id = 'racy'"
            )
            .await,
            1
        );
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM users WHERE external_id = 'racy'").await,
            1
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM consumer_types WHERE name = 'RACY'"
            )
            .await,
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_then_get_returns_owners_type_and_generation_zero() {
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let ctype = store::ensure_consumer_type(db, "INSTANCE").await.unwrap();
        let mut new = new_consumer(db, "p1", "u1").await;
        new.consumer_type_id = Some(ctype.id);
        let created = store::create_consumer(db, &new).await.unwrap();
        assert_eq!(created.generation, Generation(0), "{name}");
        assert!(created.created_at.is_some(), "{name}");
        let got = store::get_consumer(db, new.uuid).await.unwrap();
        assert_eq!(got, created, "{name}");
        assert_eq!(got.project.external_id, "p1");
        assert_eq!(got.user.external_id, "u1");
        assert_eq!(
            got.consumer_type.as_ref().map(|t| t.name.as_str()),
            Some("INSTANCE")
        );

        let untyped = new_consumer(db, "p1", "u1").await;
        let got = store::create_consumer(db, &untyped).await.unwrap();
        assert_eq!(got.consumer_type, None, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_an_existing_consumer_is_a_distinct_conflict() {
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let new = new_consumer(db, "p", "u").await;
        store::create_consumer(db, &new).await.unwrap();
        let err = store::create_consumer(db, &new).await.unwrap_err();
        assert!(
            matches!(&err, Error::ConsumerExists(u) if *u == new.uuid.to_string()),
            "{}: {err:?}",
            tdb.backend().name()
        );
        assert_eq!(
            err.to_string(),
            format!("The consumer {} already exists.", new.uuid)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_a_missing_consumer_is_not_found() {
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let uuid = ConsumerUuid::new_v4();
        let err = store::get_consumer(db, uuid).await.unwrap_err();
        assert!(
            matches!(err, Error::ConsumerNotFound(_)),
            "{}: {err:?}",
            tdb.backend().name()
        );
        assert_eq!(err.to_string(), format!("No such consumer(s): {uuid}."));
        assert_eq!(store::find_consumer(db, uuid).await.unwrap(), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updating_owners_keeps_the_generation_and_refuses_stale_reads() {
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let created = store::create_consumer(db, &new_consumer(db, "p-old", "u-old").await)
            .await
            .unwrap();
        let p = store::ensure_project(db, "p-new").await.unwrap();
        let u = store::ensure_user(db, "u-new").await.unwrap();
        let t = store::ensure_consumer_type(db, "MIGRATION").await.unwrap();
        let updated = store::update_consumer(db, &created, p.id, u.id, Some(t.id))
            .await
            .unwrap();
        assert_eq!(updated.generation, created.generation, "{name}");
        assert_eq!(updated.project.external_id, "p-new");
        assert_eq!(updated.user.external_id, "u-new");
        assert_eq!(
            updated.consumer_type.as_ref().map(|t| t.name.as_str()),
            Some("MIGRATION")
        );
        assert!(updated.updated_at.is_some(), "{name}");

        // Same owners again is still a match (MySQL must count matched rows).
        store::update_consumer(db, &updated, p.id, u.id, Some(t.id))
            .await
            .unwrap();

        // After a generation bump the old read is stale.
        store::increment_generation(db, &updated).await.unwrap();
        let err = store::update_consumer(db, &updated, p.id, u.id, None)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ConcurrentUpdate(_)), "{name}: {err:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn increment_generation_is_a_compare_and_swap() {
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let created = store::create_consumer(db, &new_consumer(db, "p", "u").await)
            .await
            .unwrap();
        assert_eq!(
            store::increment_generation(db, &created).await.unwrap(),
            Generation(1)
        );
        let err = store::increment_generation(db, &created).await.unwrap_err();
        assert!(matches!(err, Error::ConcurrentUpdate(_)), "{name}: {err:?}");
        let fresh = store::get_consumer(db, created.uuid).await.unwrap();
        assert_eq!(fresh.generation, Generation(1), "{name}");
        assert_eq!(
            store::increment_generation(db, &fresh).await.unwrap(),
            Generation(2)
        );

        // A consumer deleted under us is a conflict, not a success.
        let gone = store::get_consumer(db, created.uuid).await.unwrap();
        store::delete_consumer(db, created.uuid).await.unwrap();
        let err = store::increment_generation(db, &gone).await.unwrap_err();
        assert!(matches!(err, Error::ConcurrentUpdate(_)), "{name}: {err:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_increments_from_one_read_have_exactly_one_winner_per_round() {
    const TASKS: usize = 16;
    const ROUNDS: i64 = 5;
    for tdb in synced_dbs().await {
        let db = Arc::new(tdb.database().clone());
        let name = tdb.backend().name();
        let created = store::create_consumer(&db, &new_consumer(&db, "p", "u").await)
            .await
            .unwrap();
        for round in 0..ROUNDS {
            let read = store::get_consumer(&db, created.uuid).await.unwrap();
            assert_eq!(read.generation, Generation(round), "{name}");
            let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let db = Arc::clone(&db);
                    let read = read.clone();
                    let barrier = Arc::clone(&barrier);
                    tokio::spawn(async move {
                        barrier.wait().await;
                        store::increment_generation(&db, &read).await
                    })
                })
                .collect();
            let mut wins = 0;
            for t in tasks {
                match t.await.unwrap() {
                    Ok(g) => {
                        assert_eq!(g, Generation(round + 1));
                        wins += 1;
                    }
                    Err(Error::ConcurrentUpdate(_)) => {}
                    Err(e) => panic!("{name}: round {round}: unexpected {e:?}"),
                }
            }
            assert_eq!(wins, 1, "{name}: round {round}");
        }
        let last = store::get_consumer(&db, created.uuid).await.unwrap();
        assert_eq!(last.generation, Generation(ROUNDS), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_row_and_a_second_delete_is_not_found() {
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let created = store::create_consumer(db, &new_consumer(db, "p", "u").await)
            .await
            .unwrap();
        store::delete_consumer(db, created.uuid).await.unwrap();
        assert!(matches!(
            store::get_consumer(db, created.uuid).await,
            Err(Error::ConsumerNotFound(_))
        ));
        assert!(matches!(
            store::delete_consumer(db, created.uuid).await,
            Err(Error::ConsumerNotFound(_))
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_consumers_without_allocations_are_deleted() {
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let holding = store::create_consumer(db, &new_consumer(db, "p", "u").await)
            .await
            .unwrap();
        let empty = store::create_consumer(db, &new_consumer(db, "p", "u").await)
            .await
            .unwrap();
        let bystander = store::create_consumer(db, &new_consumer(db, "p", "u").await)
            .await
            .unwrap();
        insert_allocation(db, &holding.uuid.to_string(), 2).await;
        let deleted = store::delete_consumers_if_no_allocations(
            db,
            &[holding.uuid, empty.uuid, ConsumerUuid::new_v4()],
        )
        .await
        .unwrap();
        assert_eq!(deleted, 1, "{name}");
        assert!(store::find_consumer(db, holding.uuid)
            .await
            .unwrap()
            .is_some());
        assert!(store::find_consumer(db, empty.uuid)
            .await
            .unwrap()
            .is_none());
        // Not named, so untouched even though it has no allocations.
        assert!(store::find_consumer(db, bystander.uuid)
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            store::delete_consumers_if_no_allocations(db, &[])
                .await
                .unwrap(),
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incomplete_consumers_migration_backfills_in_batches_and_is_idempotent() {
    const INCOMPLETE: &str = "00000000-0000-0000-0000-000000000000";
    for tdb in synced_dbs().await {
        let db = tdb.database();
        let name = tdb.backend().name();
        let existing = store::create_consumer(db, &new_consumer(db, "real-p", "real-u").await)
            .await
            .unwrap();
        insert_allocation(db, &existing.uuid.to_string(), 1).await;
        let orphans: Vec<ConsumerUuid> = (0..5).map(|_| ConsumerUuid::new_v4()).collect();
        for o in &orphans {
            // Two rows for one consumer must still give one consumer row.
            insert_allocation(db, &o.to_string(), 1).await;
            insert_allocation(db, &o.to_string(), 2).await;
        }
        assert_eq!(
            store::count_incomplete_consumers(db).await.unwrap(),
            5,
            "{name}"
        );

        let first = store::create_incomplete_consumers(db, INCOMPLETE, INCOMPLETE, 3)
            .await
            .unwrap();
        assert_eq!((first.found, first.done), (3, 3), "{name}");
        assert_eq!(
            store::count_incomplete_consumers(db).await.unwrap(),
            2,
            "{name}"
        );
        let second = store::create_incomplete_consumers(db, INCOMPLETE, INCOMPLETE, 3)
            .await
            .unwrap();
        assert_eq!((second.found, second.done), (2, 2), "{name}");
        let third = store::create_incomplete_consumers(db, INCOMPLETE, INCOMPLETE, 3)
            .await
            .unwrap();
        assert_eq!((third.found, third.done), (0, 0), "{name}");

        for o in &orphans {
            let c = store::get_consumer(db, *o).await.unwrap();
            assert_eq!(c.project.external_id, INCOMPLETE, "{name}");
            assert_eq!(c.user.external_id, INCOMPLETE, "{name}");
            assert_eq!(c.generation, Generation(0), "{name}");
        }
        let untouched = store::get_consumer(db, existing.uuid).await.unwrap();
        assert_eq!(untouched.project.external_id, "real-p", "{name}");
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM consumers").await,
            6,
            "{name}"
        );
    }
}
