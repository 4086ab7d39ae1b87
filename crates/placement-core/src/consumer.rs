//! Consumers and their owners.
//!
//! A consumer is whatever holds allocations (an instance, a migration record,
//! a port). It belongs to one project and one user, may have a type (1.38),
//! and carries a generation that every change to its allocations must
//! compare-and-swap. Projects and users are rows keyed by their Keystone
//! external ids; the store creates them on first sight.

use chrono::NaiveDateTime;

use crate::ids::{ConsumerId, ConsumerTypeId, ConsumerUuid, Generation, ProjectId, UserId};

/// The project and user that allocations written without them are charged
/// to (`[placement] incomplete_consumer_project_id` / `_user_id`).
pub const DEFAULT_INCOMPLETE_CONSUMER_ID: &str = "00000000-0000-0000-0000-000000000000";

/// A Keystone project as placement records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Internal row id.
    pub id: ProjectId,
    /// The Keystone project id clients send.
    pub external_id: String,
}

/// A Keystone user as placement records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Internal row id.
    pub id: UserId,
    /// The Keystone user id clients send.
    pub external_id: String,
}

/// A consumer type such as `INSTANCE` or `MIGRATION` (microversion 1.38).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerType {
    /// Internal row id.
    pub id: ConsumerTypeId,
    /// The name clients send.
    pub name: String,
}

/// A consumer with its owners, as read in one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    /// Internal row id.
    pub id: ConsumerId,
    /// The external UUID allocations refer to.
    pub uuid: ConsumerUuid,
    /// Owning project.
    pub project: Project,
    /// Owning user.
    pub user: User,
    /// The consumer's type; `None` for consumers written before 1.38.
    pub consumer_type: Option<ConsumerType>,
    /// The generation a write must present to change this consumer.
    pub generation: Generation,
    /// When the row was created (naive UTC, as upstream stores it).
    pub created_at: Option<NaiveDateTime>,
    /// When the row last changed, if ever.
    pub updated_at: Option<NaiveDateTime>,
}

/// What a new consumer row is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsumer {
    /// The external UUID; must not exist yet.
    pub uuid: ConsumerUuid,
    /// Owning project (from `ensure_project`).
    pub project_id: ProjectId,
    /// Owning user (from `ensure_user`).
    pub user_id: UserId,
    /// The type, if the client gave one.
    pub consumer_type_id: Option<ConsumerTypeId>,
}

/// The outcome of one batch of an online data migration, in upstream's terms:
/// how many rows needed the fix and how many were fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MigrationCount {
    /// Rows found needing migration in this batch.
    pub found: u64,
    /// Rows migrated in this batch.
    pub done: u64,
}
