//! The Placement domain with no I/O: the types every other layer agrees on.
//!
//! # Layout
//! - [`microversion`]: the `OpenStack-API-Version` value, its parsing and the
//!   supported range (1.0–1.39).
//! - [`ids`]: newtypes for external UUIDs and internal integer ids, so the two
//!   can never be mixed up, plus generations.
//! - [`allocation`]: allocation writes as per-consumer requests, and the
//!   rows reads return.
//! - [`candidates`]: the allocation-candidates engine, its resolved
//!   request, its snapshot and its answer.
//! - [`capacity`]: capacity in upstream's two forms (float for SQL and
//!   allocation writes, truncated for summaries and inventory rules), the
//!   min/max/step rule and the fits-with-usage predicate.
//! - [`consumer`]: consumer ownership (project, user, type) as the store and the
//!   HTTP layer exchange it.
//! - [`inventory`]: inventory records and their capacity.
//! - [`policy`]: oslo.policy's rule language, placement's 38 registered
//!   rules with their scope types and deprecated forms, the merged rule set
//!   (files over defaults, legacy or new defaults) and the sample file.
//! - [`pyrepr`]: Python's `repr()` of strings and `str.isprintable`, for
//!   upstream's error texts.
//! - [`resource_class`]: resource classes, standard and custom, and the rules
//!   for custom names.
//! - [`request_groups`]: the query language of `resources`, `required`,
//!   `member_of`, `in_tree` (granular groups) and the request-wide
//!   candidates parameters, with upstream's 400 texts and codes.
//! - [`resource_provider`]: provider identity, reads and list filters.
//! - [`traits`]: trait names, standard and custom, and the rule for custom
//!   names.
//!
//! Nothing here touches a socket, a file or a database: every test is a unit test.
#![forbid(unsafe_code)]

pub mod allocation;
pub mod candidates;
pub mod capacity;
pub mod consumer;
pub mod ids;
pub mod inventory;
pub mod microversion;
pub mod policy;
pub mod pyrepr;
pub mod request_groups;
pub mod resource_class;
pub mod resource_provider;
pub mod traits;
