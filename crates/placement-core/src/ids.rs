//! Identifiers and generations.
//!
//! Placement has two kinds of identity that must never be confused: the
//! external UUIDs clients send (consumers, providers, aggregates) and the
//! internal integer ids rows are joined on. Each gets its own newtype.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! internal_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

internal_id!(
    /// `projects.id`: the internal id of a Keystone project's row.
    ProjectId
);
internal_id!(
    /// `users.id`: the internal id of a Keystone user's row.
    UserId
);
internal_id!(
    /// `consumers.id`: internal; allocations join on the consumer UUID instead.
    ConsumerId
);
internal_id!(
    /// `consumer_types.id`.
    ConsumerTypeId
);
internal_id!(
    /// `resource_classes.id`: a standard class's position in
    /// `os-resource-classes`, or 10000 and up for custom classes.
    ResourceClassId
);
internal_id!(
    /// `resource_providers.id`: what trees (`parent_provider_id`,
    /// `root_provider_id`), inventories and allocations join on.
    ResourceProviderId
);
internal_id!(
    /// `traits.id`.
    TraitId
);
internal_id!(
    /// `placement_aggregates.id`: the row behind an aggregate UUID.
    AggregateId
);

/// A generation: the version counter clients echo back so that a write based
/// on a stale read is refused instead of silently overwriting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Generation(pub i64);

impl Generation {
    /// The generation of a newly created row.
    pub const INITIAL: Generation = Generation(0);

    /// The value a successful compare-and-swap writes.
    #[must_use]
    pub fn next(self) -> Generation {
        Generation(self.0.saturating_add(1))
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a string was not accepted as a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid UUID")]
pub struct InvalidUuid(pub String);

/// A consumer's external identity (an instance, a migration, a port…).
///
/// Stored in the database in canonical lower-case hyphenated form, which is
/// what `allocations.consumer_id` and `consumers.uuid` hold and join on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConsumerUuid(pub uuid::Uuid);

impl ConsumerUuid {
    /// A random consumer UUID (tests and tools).
    #[must_use]
    pub fn new_v4() -> ConsumerUuid {
        ConsumerUuid(uuid::Uuid::new_v4())
    }
}

impl fmt::Display for ConsumerUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for ConsumerUuid {
    type Err = InvalidUuid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s)
            .map(ConsumerUuid)
            .map_err(|_| InvalidUuid(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_next_counts_up_from_zero() {
        assert_eq!(Generation::INITIAL.next(), Generation(1));
        assert_eq!(Generation(i64::MAX).next(), Generation(i64::MAX));
    }

    #[test]
    fn consumer_uuid_displays_canonically_whatever_form_was_parsed() {
        let u: ConsumerUuid = "{6F1C2E9A-1D4B-4C3E-9F00-0123456789AB}".parse().unwrap();
        assert_eq!(u.to_string(), "6f1c2e9a-1d4b-4c3e-9f00-0123456789ab");
        assert!("not-a-uuid".parse::<ConsumerUuid>().is_err());
    }
}
