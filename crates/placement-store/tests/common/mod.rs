//! Shared helpers for the store's integration tests.

#![allow(dead_code)]

use placement_store::testing::TestDb;
use placement_store::{ops, params, Database};

/// A fresh database per configured backend, with the schema applied.
pub async fn synced_dbs() -> Vec<TestDb> {
    let dbs = TestDb::all().await;
    for db in &dbs {
        ops::schema::sync(db.database())
            .await
            .unwrap_or_else(|e| panic!("{}: schema sync: {e}", db.backend().name()));
    }
    dbs
}

/// Writes an allocation row directly, as upstream (or a test fixture) would
/// have left it: the consumer layer must cope with what it finds.
pub async fn insert_allocation(db: &Database, consumer: &str, used: i64) {
    let mut tx = db.begin().await.unwrap();
    tx.execute(
        "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used) VALUES (?, ?, ?, ?)",
        params![1_i64, consumer, 0_i64, used],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Counts rows with a query returning one integer.
pub async fn count(db: &Database, sql: &str) -> i64 {
    let mut tx = db.begin_read().await.unwrap();
    tx.fetch_one(sql, params![])
        .await
        .unwrap()
        .get_i64(0)
        .unwrap()
}
