//! The HTTP API driven in process, one module per area.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests panic rather than return errors"
)]

mod helpers;

mod allocation_candidates;
mod allocations;
mod auth;
mod checks;
mod concurrency;
mod cors;
mod errors;
mod health;
mod inventories;
mod last_modified;
mod metrics;
mod microversion;
mod policy;
mod provider_links;
mod request_id;
mod reshaper;
mod resource_classes;
mod resource_providers;
mod root;
mod schema_corpus;
mod traits;
mod usages;
