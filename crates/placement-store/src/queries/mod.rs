//! Leaf SQL statements, one module per table, each taking a transaction.
//!
//! Nothing here commits or opens a transaction: units of work in `ops` do.

pub(crate) mod aggregates;
pub(crate) mod allocations;
pub(crate) mod candidates;
pub(crate) mod consumer_types;
pub(crate) mod consumers;
pub(crate) mod inventories;
pub(crate) mod owners;
pub(crate) mod provider_traits;
pub(crate) mod resource_classes;
pub(crate) mod resource_providers;
pub(crate) mod standard;
pub(crate) mod traits;
pub(crate) mod usages;

/// Now, as upstream stamps `created_at`/`updated_at`: naive UTC to the
/// microsecond.
pub(crate) fn utcnow() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    // MySQL DATETIME without fractional precision rounds; truncate to the
    // microsecond everywhere so every backend stores what Python would.
    now.with_nanosecond(now.and_utc().timestamp_subsec_micros() * 1000)
        .unwrap_or(now)
}

use chrono::Timelike as _;
