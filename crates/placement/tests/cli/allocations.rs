//! Allocation guarantees across real processes: two `placement-api`
//! processes over one database never sell more than a provider has, and a
//! process killed with SIGKILL in the middle of allocation moves leaves
//! every move applied whole or not at all.

use std::sync::Arc;
use std::time::{Duration, Instant};

use placement_store::testing::TestDb;
use placement_store::Database;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{conf_for, Server};

/// Sends one request with noauth2 admin and a microversion.
async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    version: &str,
    body: Option<Value>,
) -> reqwest::Result<reqwest::Response> {
    let mut req = client
        .request(method, url)
        .header("x-auth-token", "admin")
        .header("openstack-api-version", format!("placement {version}"));
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await
}

/// Creates a provider with `inventories` through `server`; returns its uuid.
async fn provider(server: &Server, inventories: Value) -> String {
    let client = reqwest::Client::new();
    let r = call(
        &client,
        reqwest::Method::POST,
        format!("{}/resource_providers", server.base),
        "1.20",
        Some(json!({"name": uuid::Uuid::new_v4().to_string()})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let uuid = r.json::<Value>().await.unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = call(
        &client,
        reqwest::Method::PUT,
        format!("{}/resource_providers/{uuid}/inventories", server.base),
        "1.20",
        Some(json!({"resource_provider_generation": 0, "inventories": inventories})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    uuid
}

async fn scalar(db: &Database, sql: &str) -> i64 {
    let mut tx = db.begin_read().await.unwrap();
    tx.fetch_one(sql, &[]).await.unwrap().get_i64(0).unwrap()
}

/// Consumers without allocations, and allocations without a consumer.
async fn orphans(db: &Database) -> (i64, i64) {
    (
        scalar(
            db,
            "SELECT COUNT(*) FROM consumers c
             WHERE NOT EXISTS (SELECT 1 FROM allocations a WHERE a.consumer_id = c.uuid)",
        )
        .await,
        scalar(
            db,
            "SELECT COUNT(*) FROM allocations a
             WHERE NOT EXISTS (SELECT 1 FROM consumers c WHERE c.uuid = a.consumer_id)",
        )
        .await,
    )
}

/// Two API processes share the database (the first creates the schema).
async fn two_servers(tdb: &TestDb) -> (Server, Server) {
    let (dir, conf) = conf_for(tdb, true);
    let conf = conf.to_str().unwrap().to_owned();
    let first = Server::start(&["--config-file", &conf], &dir).await;
    let second = Server::start(&["--config-file", &conf], &dir).await;
    (first, second)
}

const CLIENTS: usize = 50;
const CAPACITY: i64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sell_the_last_units_exactly_once() {
    for tdb in TestDb::all().await {
        let backend = tdb.backend().name();
        let (a, b) = two_servers(&tdb).await;
        let rp = provider(&a, json!({"VCPU": {"total": CAPACITY}})).await;
        let bases = Arc::new([a.base.clone(), b.base.clone()]);
        let client = reqwest::Client::new();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..CLIENTS {
            let client = client.clone();
            let bases = Arc::clone(&bases);
            let rp = rp.clone();
            tasks.push(tokio::spawn(async move {
                let consumer = uuid::Uuid::new_v4();
                let r = call(
                    &client,
                    reqwest::Method::PUT,
                    format!("{}/allocations/{consumer}", bases[i % 2]),
                    "1.38",
                    Some(json!({
                        "allocations": {rp: {"resources": {"VCPU": 1}}},
                        "project_id": "race-project",
                        "user_id": "race-user",
                        "consumer_generation": null,
                        "consumer_type": "INSTANCE",
                    })),
                )
                .await
                .unwrap();
                let status = r.status();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                (status, body)
            }));
        }
        let (mut won, mut capacity, mut raced) = (0, 0, 0);
        for task in tasks {
            let (status, body) = task.await.unwrap();
            match status {
                StatusCode::NO_CONTENT => won += 1,
                StatusCode::CONFLICT => {
                    if body["errors"][0]["code"] == "placement.concurrent_update" {
                        raced += 1;
                    } else {
                        capacity += 1;
                    }
                }
                other => panic!("{backend}: unexpected {other}: {body}"),
            }
        }
        let elapsed = started.elapsed();
        eprintln!(
            "race[{backend}]: {CLIENTS} clients on 2 processes, {won} allocated, \
             {capacity} refused for capacity, {raced} refused as concurrent, {elapsed:?}"
        );
        assert_eq!(won, CAPACITY, "{backend}");
        assert_eq!(capacity + raced, 50 - CAPACITY, "{backend}");

        let r = call(
            &client,
            reqwest::Method::GET,
            format!("{}/resource_providers/{rp}/usages", b.base),
            "1.9",
            None,
        )
        .await
        .unwrap();
        let usages: Value = r.json().await.unwrap();
        assert_eq!(usages["usages"]["VCPU"], CAPACITY, "{backend}");
        let db = tdb.database();
        assert_eq!(
            scalar(db, "SELECT COALESCE(SUM(used), 0) FROM allocations").await,
            CAPACITY,
            "{backend}"
        );
        assert_eq!(scalar(db, "SELECT COUNT(*) FROM consumers").await, CAPACITY);
        assert_eq!(orphans(db).await, (0, 0), "{backend}");
    }
}

/// Pairs of consumers a provider's resources move between.
const PAIRS: usize = 12;

/// `POST /allocations` moving pair `i`'s allocation from one consumer to the
/// other (the migration pattern): one consumer emptied, the other filled.
fn move_body(rp: &str, from: uuid::Uuid, to: uuid::Uuid) -> Value {
    json!({
        from.to_string(): {
            "allocations": {},
            "project_id": "kill-project",
            "user_id": "kill-user",
        },
        to.to_string(): {
            "allocations": {rp: {"resources": {"VCPU": 1, "MEMORY_MB": 64, "DISK_GB": 2}}},
            "project_id": "kill-project",
            "user_id": "kill-user",
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_moves_leaves_each_move_whole_or_absent() {
    for tdb in TestDb::all().await {
        let backend = tdb.backend().name();
        let (dir, conf) = conf_for(&tdb, true);
        let conf = conf.to_str().unwrap().to_owned();
        let server = Server::start(&["--config-file", &conf], &dir).await;
        let rp = provider(
            &server,
            json!({
                "VCPU": {"total": 1000},
                "MEMORY_MB": {"total": 100_000},
                "DISK_GB": {"total": 10_000},
            }),
        )
        .await;
        let pairs: Vec<(uuid::Uuid, uuid::Uuid)> = (0..PAIRS)
            .map(|_| (uuid::Uuid::new_v4(), uuid::Uuid::new_v4()))
            .collect();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        // Every pair starts with its first consumer holding the resources.
        for (first, second) in &pairs {
            let r = call(
                &client,
                reqwest::Method::POST,
                format!("{}/allocations", server.base),
                "1.13",
                Some(move_body(&rp, *second, *first)),
            )
            .await
            .unwrap();
            assert_eq!(
                r.status(),
                StatusCode::NO_CONTENT,
                "{}",
                r.text().await.unwrap()
            );
        }

        // One task per pair moves its allocation back and forth until the
        // server dies; the kill lands while moves are in flight.
        let mut tasks = Vec::new();
        for (first, second) in pairs.clone() {
            let client = client.clone();
            let url = format!("{}/allocations", server.base);
            let rp = rp.clone();
            tasks.push(tokio::spawn(async move {
                let mut moved = 0_u32;
                let (mut from, mut to) = (first, second);
                loop {
                    match call(
                        &client,
                        reqwest::Method::POST,
                        url.clone(),
                        "1.13",
                        Some(move_body(&rp, from, to)),
                    )
                    .await
                    {
                        Ok(r) if r.status() == StatusCode::NO_CONTENT => {
                            moved += 1;
                            std::mem::swap(&mut from, &mut to);
                        }
                        // Twelve movers share one provider: a move can lose
                        // every retry of the race and is then tried again,
                        // as a client would.
                        Ok(r) if r.status() == StatusCode::CONFLICT => {}
                        Ok(r) => panic!("move refused: {}", r.text().await.unwrap_or_default()),
                        Err(_) => return moved,
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        server.kill_hard();
        let mut moves = 0;
        for task in tasks {
            moves += task.await.unwrap();
        }
        assert!(moves > 0, "{backend}: no move completed before the kill");

        let db = tdb.database();
        let held = |consumer: uuid::Uuid| {
            let db = db.clone();
            async move {
                let mut tx = db.begin_read().await.unwrap();
                let rows = tx
                    .fetch_all(
                        "SELECT rc.name, a.used FROM allocations a
                         JOIN resource_classes rc ON rc.id = a.resource_class_id
                         WHERE a.consumer_id = ? ORDER BY rc.name",
                        placement_store::params![consumer.to_string()],
                    )
                    .await
                    .unwrap();
                rows.iter()
                    .map(|r| (r.get_string(0).unwrap(), r.get_i64(1).unwrap()))
                    .collect::<Vec<_>>()
            }
        };
        let whole = vec![
            ("DISK_GB".to_owned(), 2),
            ("MEMORY_MB".to_owned(), 64),
            ("VCPU".to_owned(), 1),
        ];
        for (first, second) in &pairs {
            let (a, b) = (held(*first).await, held(*second).await);
            let state = match (a.is_empty(), b.is_empty()) {
                (false, true) => a,
                (true, false) => b,
                _ => panic!("{backend}: pair half-moved after SIGKILL: {a:?} / {b:?}"),
            };
            assert_eq!(state, whole, "{backend}: a consumer holds part of a move");
        }
        assert_eq!(orphans(db).await, (0, 0), "{backend}");
        eprintln!("sigkill[{backend}]: {moves} moves completed before the kill; every pair whole");

        // A new process serves the database as the dead one left it.
        let server = Server::start(&["--config-file", &conf], &dir).await;
        let r = call(
            &client,
            reqwest::Method::GET,
            format!("{}/resource_providers/{rp}/usages", server.base),
            "1.9",
            None,
        )
        .await
        .unwrap();
        let usages: Value = r.json().await.unwrap();
        assert_eq!(
            usages["usages"],
            json!({"VCPU": PAIRS, "MEMORY_MB": 64 * PAIRS, "DISK_GB": 2 * PAIRS}),
            "{backend}"
        );
    }
}
