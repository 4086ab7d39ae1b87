//! The SQL capacity filter of `GET /resource_providers?resources=…` against
//! core's `InventoryLimits::can_serve`, on every configured backend: random
//! inventories (fractional ratios, reserved, min/max/step) and usages, and
//! random requested amounts biased toward each provider's boundary; the
//! two must pick exactly the same providers.
//!
//! MySQL stores `allocation_ratio` as a single-precision FLOAT and its SQL
//! arithmetic uses that value, while the store reads it back in its
//! shortest decimal form (as upstream's driver does, for the allocation
//! write). So on MySQL the predicate is given the single-precision value:
//! with the decimal one, the filter and the write disagree at exact
//! boundaries (`total = 10, ratio = 0.9, amount = 9`: the write accepts it,
//! the filter does not list the provider), as they do upstream.
//!
//! `PLACEMENT_TEST_CAPACITY_SEED` replays one seed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on setup failure"
)]

mod common;

use std::collections::BTreeSet;

use common::synced_dbs;
use placement_core::capacity::InventoryLimits;
use placement_core::inventory::InventoryRecord;
use placement_core::resource_provider::{NewProvider, ProviderFilter, ProviderUuid};
use placement_store::db::Backend;
use placement_store::ops::{inventory, resource_provider};
use placement_store::{ops, params, Database};

/// splitmix64: small, seedable, good enough to spread test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi - lo + 1).unwrap();
        lo + i64::try_from(self.next() % span).unwrap()
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[usize::try_from(self.next() % items.len() as u64).unwrap()]
    }
}

const RATIOS: &[f64] = &[1.0, 1.5, 0.9, 16.0, 0.5, 1.1, 3.3, 0.1, 0.7, 2.5, 1.0 / 3.0];

/// One provider as generated: its uuid, limits and usage.
struct Generated {
    uuid: ProviderUuid,
    limits: InventoryLimits,
    used: i64,
}

fn random_limits(rng: &mut Rng) -> InventoryLimits {
    let total = rng.range(1, 200);
    let reserved = if rng.range(0, 2) == 0 {
        0
    } else {
        rng.range(0, total)
    };
    let min_unit = if rng.range(0, 2) == 0 {
        1
    } else {
        rng.range(1, 6)
    };
    let max_unit = if rng.range(0, 2) == 0 {
        placement_core::inventory::MAX_INT
    } else {
        rng.range(min_unit, total + 10)
    };
    InventoryLimits {
        total,
        reserved,
        min_unit,
        max_unit,
        step_size: rng.pick(&[1, 1, 2, 3, 4]),
        allocation_ratio: rng.pick(RATIOS),
    }
}

async fn provider_id(db: &Database, uuid: &ProviderUuid) -> i64 {
    let mut tx = db.begin_read().await.unwrap();
    tx.fetch_one(
        "SELECT id FROM resource_providers WHERE uuid = ?",
        params![uuid.to_string()],
    )
    .await
    .unwrap()
    .get_i64(0)
    .unwrap()
}

/// Writes usage straight into `allocations`, possibly over capacity (as an
/// inventory lowered under existing allocations leaves it).
async fn allocate(db: &Database, rp_id: i64, used: i64, rng: &mut Rng) {
    let first = if used > 1 { rng.range(1, used) } else { used };
    let mut tx = db.begin().await.unwrap();
    for part in [first, used - first] {
        if part == 0 {
            continue;
        }
        tx.execute(
            "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used) \
             VALUES (?, ?, ?, ?)",
            params![rp_id, uuid::Uuid::new_v4().to_string(), 0_i64, part],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

async fn populate(db: &Database, rng: &mut Rng, count: usize) -> Vec<Generated> {
    let mut providers = Vec::with_capacity(count);
    for i in 0..count {
        let uuid = ProviderUuid::new_v4();
        let new = NewProvider {
            uuid,
            name: format!("rp-{uuid}-{i}"),
            parent_provider_uuid: None,
        };
        resource_provider::create_resource_provider(db, &new)
            .await
            .unwrap();
        let mut limits = random_limits(rng);
        let record = InventoryRecord {
            resource_class: "VCPU".to_owned(),
            total: limits.total,
            reserved: limits.reserved,
            min_unit: limits.min_unit,
            max_unit: limits.max_unit,
            step_size: limits.step_size,
            allocation_ratio: limits.allocation_ratio,
        };
        let stored = inventory::set_inventories(db, &uuid.to_string(), None, &[record])
            .await
            .unwrap();
        // The ratio as the backend returns it, then as its SQL computes with it.
        let read_back = stored.inventories[0].record.allocation_ratio;
        limits.allocation_ratio = if db.backend() == Backend::MySql {
            #[expect(clippy::cast_possible_truncation, reason = "MySQL's FLOAT column")]
            f64::from(read_back as f32)
        } else {
            read_back
        };
        let capacity = limits.capacity_for_summaries();
        let used = match rng.range(0, 3) {
            0 => 0,
            1 => rng.range(0, capacity.max(0) + 5),
            _ => (capacity - rng.range(0, 3)).max(0),
        };
        if used > 0 {
            allocate(db, provider_id(db, &uuid).await, used, rng).await;
        }
        providers.push(Generated { uuid, limits, used });
    }
    providers
}

/// Amounts worth asking for: random ones, and each provider's remaining
/// room in the float form, rounded both ways and one past it.
fn amounts(rng: &mut Rng, providers: &[Generated]) -> Vec<i64> {
    let mut amounts: BTreeSet<i64> = (0..20).map(|_| rng.range(1, 300)).collect();
    for p in providers {
        #[expect(clippy::cast_possible_truncation, reason = "small test values")]
        let room = (p.limits.capacity_for_writes() - p.used as f64).floor() as i64;
        for a in [
            room - 1,
            room,
            room + 1,
            p.limits.min_unit,
            p.limits.max_unit,
        ] {
            if (1..=100_000).contains(&a) {
                amounts.insert(a);
            }
        }
    }
    amounts.into_iter().collect()
}

#[tokio::test]
async fn the_sql_filter_and_the_core_predicate_pick_the_same_providers() {
    let seeds: Vec<u64> = match std::env::var("PLACEMENT_TEST_CAPACITY_SEED") {
        Ok(seed) => vec![seed.parse().unwrap()],
        Err(_) => vec![1, 2, 3],
    };
    for tdb in synced_dbs().await {
        let db = tdb.database();
        ops::standard::sync(db).await.unwrap();
        let backend = tdb.backend().name();
        let mut providers: Vec<Generated> = Vec::new();
        for &seed in &seeds {
            let mut rng = Rng(seed);
            providers.extend(populate(db, &mut rng, 40).await);
        }
        let mut rng = Rng(seeds[0] ^ 0xA5A5);
        for amount in amounts(&mut rng, &providers) {
            let filter = ProviderFilter {
                resources: vec![("VCPU".to_owned(), amount)],
                ..ProviderFilter::default()
            };
            let listed: BTreeSet<ProviderUuid> =
                resource_provider::list_resource_providers(db, &filter)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|rp| rp.uuid)
                    .collect();
            for p in &providers {
                let fits = p.limits.can_serve(p.used, amount);
                assert_eq!(
                    listed.contains(&p.uuid),
                    fits,
                    "{backend} seeds {seeds:?}: amount {amount}, used {}, {:?}",
                    p.used,
                    p.limits
                );
            }
        }
    }
}
