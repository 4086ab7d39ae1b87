//! Usages: what a provider's inventory has allocated, and what a project
//! (or one of its users) holds across all providers, optionally split by
//! consumer type (microversion 1.38).
//!
//! Each read is one snapshot: the sums and the consumer counts of the 1.38
//! grouping come from the same transaction, so a count can never disagree
//! with the amounts it is reported beside.

use placement_core::resource_provider::ResourceProvider;
use tracing::instrument;

use crate::db::Database;
use crate::error::{Error, Result};
use crate::queries::resource_providers as rp_q;
use crate::queries::usages::{self as q, Owner, TypeCondition};

/// The name upstream reports for consumers without a type (1.38).
pub const UNKNOWN_CONSUMER_TYPE: &str = "unknown";

/// The pseudo type that asks for every consumer in one group (1.38).
pub const ALL_CONSUMER_TYPES: &str = "all";

/// A provider and, for each class it has inventory of, the amount used.
#[derive(Debug, Clone)]
pub struct ProviderUsages {
    /// The provider at its current generation.
    pub provider: ResourceProvider,
    /// (class name, amount used) in class id order; zero when unused.
    pub usages: Vec<(String, i64)>,
}

/// The provider's usage of every class it has inventory of.
///
/// # Errors
/// [`Error::ResourceProviderNotFound`] when there is no such provider.
#[instrument(skip(db), err(level = "debug"))]
pub async fn provider_usages(db: &Database, uuid: &str) -> Result<ProviderUsages> {
    let mut tx = db.begin_read().await?;
    let stored = rp_q::get_by_uuid(&mut tx, uuid)
        .await?
        .ok_or_else(|| Error::ResourceProviderNotFound(uuid.to_owned()))?;
    let usages = q::for_provider(&mut tx, stored.id).await?;
    Ok(ProviderUsages {
        provider: stored.provider,
        usages,
    })
}

/// The amounts a project's consumers hold (only the user's, when given),
/// by class: `GET /usages` before 1.38.
///
/// # Errors
/// Database failures only.
#[instrument(skip(db), err(level = "debug"))]
pub async fn project_usages(
    db: &Database,
    project_id: &str,
    user_id: Option<&str>,
) -> Result<Vec<(String, i64)>> {
    let mut tx = db.begin_read().await?;
    let owner = Owner {
        project_id,
        user_id,
    };
    q::for_owner(&mut tx, owner, TypeCondition::Any).await
}

/// One consumer-type group of `GET /usages` from 1.38.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerTypeUsages {
    /// The type's name, [`UNKNOWN_CONSUMER_TYPE`] for untyped consumers, or
    /// [`ALL_CONSUMER_TYPES`] when every consumer was asked for at once.
    pub consumer_type: String,
    /// How many distinct consumers the group holds allocations of.
    pub consumer_count: i64,
    /// (class name, amount) in class id order.
    pub usages: Vec<(String, i64)>,
}

/// The project's (or user's) usages grouped by consumer type, as
/// `GET /usages?consumer_type=` asks from 1.38: no filter groups by each
/// type, `all` gives one group of everything, `unknown` the untyped
/// consumers, any other name that type alone. Groups with no allocations
/// are left out.
///
/// # Errors
/// Database failures only.
#[instrument(skip(db), err(level = "debug"))]
pub async fn project_usages_by_consumer_type(
    db: &Database,
    project_id: &str,
    user_id: Option<&str>,
    consumer_type: Option<&str>,
) -> Result<Vec<ConsumerTypeUsages>> {
    let mut tx = db.begin_read().await?;
    let owner = Owner {
        project_id,
        user_id,
    };
    let single = match consumer_type {
        Some(ALL_CONSUMER_TYPES) => Some((ALL_CONSUMER_TYPES, TypeCondition::Any)),
        Some(UNKNOWN_CONSUMER_TYPE) => Some((UNKNOWN_CONSUMER_TYPE, TypeCondition::Untyped)),
        _ => None,
    };
    if let Some((name, types)) = single {
        let usages = q::for_owner(&mut tx, owner, types).await?;
        if usages.is_empty() {
            return Ok(Vec::new());
        }
        let consumer_count = q::consumer_count(&mut tx, owner, types).await?;
        return Ok(vec![ConsumerTypeUsages {
            consumer_type: name.to_owned(),
            consumer_count,
            usages,
        }]);
    }
    let types = consumer_type.map_or(TypeCondition::Any, TypeCondition::Named);
    let counts = q::consumer_counts_by_type(&mut tx, owner, types).await?;
    let mut groups: Vec<ConsumerTypeUsages> = Vec::new();
    for (name, class, amount) in q::for_owner_by_type(&mut tx, owner, types).await? {
        let consumer_count = counts
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, c)| *c);
        let name = name.unwrap_or_else(|| UNKNOWN_CONSUMER_TYPE.to_owned());
        match groups.iter_mut().find(|g| g.consumer_type == name) {
            Some(group) => group.usages.push((class, amount)),
            None => groups.push(ConsumerTypeUsages {
                consumer_type: name,
                consumer_count,
                usages: vec![(class, amount)],
            }),
        }
    }
    Ok(groups)
}
