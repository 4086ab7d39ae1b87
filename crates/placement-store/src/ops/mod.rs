//! Public units of work: one function, one transaction.
//!
//! A function here opens its transaction, calls leaf statements from
//! `queries`, and commits; an early return rolls everything back.

pub mod aggregates;
pub mod allocation;
pub mod allocation_candidates;
pub mod consumer;
pub mod health;
pub mod inventory;
pub mod maintenance;
pub mod provider_traits;
pub mod resource_class;
pub mod resource_provider;
pub mod schema;
pub mod standard;
pub mod traits;
pub mod usage;
