//! Resource providers: create, read, list with filters, update (rename and
//! re-parent) and delete, with upstream's semantics
//! (`placement/objects/resource_provider.py`).
//!
//! A root's `root_provider_id` is its own id, a child's is its parent's
//! root; re-parenting (allowed from microversion 1.37, which the caller
//! says) moves the whole subtree to the new root and refuses loops.
//! Neither create nor update touches the generation; later writers
//! (inventories, traits, aggregates, allocations) bump it through the
//! compare-and-swap in `queries::resource_providers`.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;
use placement_core::resource_provider::{
    NewProvider, ProviderFilter, ProviderUpdate, ResourceProvider,
};
use tracing::{instrument, warn};

use crate::db::{Database, Tx};
use crate::error::{DbErrorKind, Error, Result};
use crate::queries::{self, resource_classes, resource_providers as q, traits};

/// upstream's reason when a parent uuid names no provider.
const NO_PARENT: &str = "parent provider UUID does not exist.";

/// Lists the providers matching every filter, in id order.
///
/// # Errors
/// [`Error::TraitNotFound`] for an unknown trait in `required`;
/// [`Error::ResourceClassNotFound`] for an unknown class in `resources`;
/// database errors otherwise. Checks run in upstream's order, and a filter
/// that already matches nothing ends the search before later filters are
/// looked up, as upstream's does.
#[instrument(skip_all, err(level = "debug"))]
pub async fn list_resource_providers(
    db: &Database,
    filter: &ProviderFilter,
) -> Result<Vec<ResourceProvider>> {
    let mut tx = db.begin_read().await?;
    let mut conditions = q::ListConditions {
        name: filter.name.clone().filter(|n| !n.is_empty()),
        uuid: filter.uuid.clone().filter(|u| !u.is_empty()),
        ..q::ListConditions::default()
    };
    if let Some(in_tree) = filter.in_tree.as_deref().filter(|u| !u.is_empty()) {
        match q::get_by_uuid(&mut tx, in_tree).await? {
            Some(stored) => conditions.root_id = Some(stored.root_id),
            None => return Ok(Vec::new()),
        }
    }
    if !filter.required_traits.is_empty() {
        let mut groups = Vec::new();
        for any in &filter.required_traits {
            let mut ids = Vec::new();
            for name in any {
                ids.push(
                    trait_id(&mut tx, name)
                        .await?
                        .ok_or_else(|| Error::TraitNotFound(name.clone()))?,
                );
            }
            groups.push(ids);
        }
        let alone = q::ListConditions {
            required_traits: groups.clone(),
            ..q::ListConditions::default()
        };
        if !q::any_matches(&mut tx, &alone).await? {
            return Ok(Vec::new());
        }
        conditions.required_traits = groups;
    }
    if !filter.forbidden_traits.is_empty() {
        let mut ids = Vec::new();
        let mut missing = Vec::new();
        for name in &filter.forbidden_traits {
            match trait_id(&mut tx, name).await? {
                Some(id) => ids.push(id),
                None => missing.push(name.as_str()),
            }
        }
        if !missing.is_empty() {
            return Err(Error::TraitNotFound(missing.join(", ")));
        }
        conditions.forbidden_traits = ids;
    }
    if !filter.member_of.is_empty() {
        let mut groups = Vec::new();
        for any in &filter.member_of {
            let ids = aggregate_ids(&mut tx, any).await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            groups.push(ids);
        }
        let alone = q::ListConditions {
            member_of: groups.clone(),
            ..q::ListConditions::default()
        };
        if !q::any_matches(&mut tx, &alone).await? {
            return Ok(Vec::new());
        }
        conditions.member_of = groups;
    }
    if !filter.forbidden_aggs.is_empty() {
        conditions.forbidden_aggs = aggregate_ids(&mut tx, &filter.forbidden_aggs).await?;
    }
    for (name, amount) in &filter.resources {
        let class = resource_classes::get_by_name(&mut tx, name)
            .await?
            .filter(|c| c.name == *name)
            .ok_or_else(|| Error::ResourceClassNotFound(name.clone()))?;
        conditions.resources.push((class.id.0, *amount));
    }
    q::list(&mut tx, &conditions).await
}

/// A trait's internal id, matching the name exactly.
async fn trait_id(tx: &mut Tx, name: &str) -> Result<Option<i64>> {
    Ok(traits::get_by_name(tx, name).await?.map(|t| t.id))
}

/// The internal ids of the known aggregates among `uuids` (exact match).
async fn aggregate_ids(tx: &mut Tx, uuids: &BTreeSet<String>) -> Result<Vec<i64>> {
    let wanted: Vec<&str> = uuids.iter().map(String::as_str).collect();
    Ok(q::aggregate_ids(tx, &wanted)
        .await?
        .into_iter()
        .filter(|(uuid, _)| uuids.contains(uuid))
        .map(|(_, id)| id)
        .collect())
}

/// The provider with this uuid, compared exactly as stored.
///
/// # Errors
/// [`Error::ResourceProviderNotFound`] when there is none.
#[instrument(skip(db), err(level = "debug"))]
pub async fn get_resource_provider(db: &Database, uuid: &str) -> Result<ResourceProvider> {
    let mut tx = db.begin_read().await?;
    q::get_by_uuid(&mut tx, uuid)
        .await?
        .map(|s| s.provider)
        .ok_or_else(|| Error::ResourceProviderNotFound(uuid.to_owned()))
}

/// Creates a provider with generation 0, as a root or under an existing
/// parent.
///
/// # Errors
/// [`Error::ProviderActionError`] when the parent is the provider itself or
/// does not exist; [`Error::DuplicateProviderUuid`] or
/// [`Error::DuplicateProviderName`] when either is taken (the uuid is
/// reported when both are); database errors otherwise.
#[instrument(skip(db), fields(uuid = %new.uuid), err(level = "debug"))]
pub async fn create_resource_provider(
    db: &Database,
    new: &NewProvider,
) -> Result<ResourceProvider> {
    let uuid = new.uuid.to_string();
    let mut tx = db.begin().await?;
    let (parent_id, root_id) = match &new.parent_provider_uuid {
        None => (None, None),
        Some(parent) if *parent == uuid => {
            return Err(Error::ProviderActionError {
                action: "create",
                reason: "parent provider UUID cannot be same as UUID. Please set parent \
                         provider UUID to None if there is no parent.",
            })
        }
        Some(parent) => {
            let parent =
                q::get_by_uuid(&mut tx, parent)
                    .await?
                    .ok_or(Error::ProviderActionError {
                        action: "create",
                        reason: NO_PARENT,
                    })?;
            (Some(parent.id), Some(parent.root_id))
        }
    };
    let now = queries::utcnow();
    let inserted = q::insert(&mut tx, &new.uuid, &new.name, parent_id, root_id, now).await;
    let id = match inserted {
        Ok(id) => id,
        Err(Error::Database(e)) if e.kind() == DbErrorKind::UniqueViolation => {
            // Roll back now so MySQL releases the failed insert's locks, then
            // see which of the two unique columns is taken.
            if let Err(rollback) = tx.rollback().await {
                warn!(error = %rollback, "rollback failed");
            }
            let mut tx = db.begin_read().await?;
            if q::get_by_uuid(&mut tx, &uuid).await?.is_some() {
                return Err(Error::DuplicateProviderUuid(uuid));
            }
            return Err(Error::DuplicateProviderName(new.name.clone()));
        }
        // The parent was deleted after it was read here.
        Err(Error::Database(e)) if e.kind() == DbErrorKind::ForeignKeyViolation => {
            return Err(Error::ProviderActionError {
                action: "create",
                reason: NO_PARENT,
            })
        }
        Err(e) => return Err(e),
    };
    if root_id.is_none() {
        q::set_own_root(&mut tx, id, now).await?;
    }
    let created = q::get_by_uuid(&mut tx, &uuid)
        .await?
        .ok_or_else(|| Error::ResourceProviderNotFound(uuid.clone()))?;
    tx.commit().await?;
    Ok(created.provider)
}

/// What [`update_resource_provider`] wrote, and the provider's `updated_at`
/// before it, which upstream's handler sends as `Last-Modified`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatedProvider {
    /// The provider as stored after the update.
    pub provider: ResourceProvider,
    /// `updated_at` as read before the update (upstream reports the value
    /// it read, not the one it wrote).
    pub updated_at_before: Option<NaiveDateTime>,
}

/// Renames a provider and, when asked, gives it a parent, moves it to
/// another parent or makes it a root; a move takes its whole subtree to
/// the new root. The generation is left alone, as upstream's `save` does.
///
/// # Errors
/// [`Error::ResourceProviderNotFound`]; [`Error::ProviderActionError`] for
/// a missing parent, a change of parent before 1.37, or a parent inside the
/// provider's own subtree; [`Error::DuplicateProviderName`] when the name
/// is taken.
#[instrument(skip(db, update), err(level = "debug"))]
pub async fn update_resource_provider(
    db: &Database,
    uuid: &str,
    update: &ProviderUpdate,
) -> Result<UpdatedProvider> {
    let mut tx = db.begin().await?;
    let me = q::get_by_uuid(&mut tx, uuid)
        .await?
        .ok_or_else(|| Error::ResourceProviderNotFound(uuid.to_owned()))?;
    let mut parent_id = me.parent_id;
    let mut root_id = me.root_id;
    let mut subtree: Vec<q::StoredProvider> = Vec::new();
    match &update.parent_provider_uuid {
        None => {}
        Some(Some(parent_uuid)) => {
            let parent =
                q::get_by_uuid(&mut tx, parent_uuid)
                    .await?
                    .ok_or(Error::ProviderActionError {
                        action: "create",
                        reason: NO_PARENT,
                    })?;
            if me.parent_id.is_some()
                && me.parent_id != Some(parent.id)
                && !update.allow_reparenting
            {
                return Err(Error::ProviderActionError {
                    action: "update",
                    reason: "re-parenting a provider is not currently allowed.",
                });
            }
            subtree = get_subtree(&mut tx, &me).await?;
            if subtree
                .iter()
                .any(|rp| rp.provider.uuid.to_string() == *parent_uuid)
            {
                return Err(Error::ProviderActionError {
                    action: "update",
                    reason: "creating loop in the provider tree is not allowed.",
                });
            }
            parent_id = Some(parent.id);
            root_id = parent.root_id;
        }
        // Un-parenting a root changes nothing.
        Some(None) if me.parent_id.is_none() => {}
        Some(None) => {
            if !update.allow_reparenting {
                return Err(Error::ProviderActionError {
                    action: "update",
                    reason: "un-parenting a provider is not currently allowed.",
                });
            }
            subtree = get_subtree(&mut tx, &me).await?;
            parent_id = None;
            root_id = me.id;
        }
    }
    let now = queries::utcnow();
    // Like SQLAlchemy's unit of work, write only rows that change, so an
    // unchanged provider keeps its updated_at.
    if update.name != me.provider.name || parent_id != me.parent_id || root_id != me.root_id {
        match q::update(&mut tx, me.id, &update.name, parent_id, root_id, now).await {
            Ok(_) => {}
            Err(Error::Database(e)) if e.kind() == DbErrorKind::UniqueViolation => {
                return Err(Error::DuplicateProviderName(update.name.clone()))
            }
            // The new parent was deleted after it was read here.
            Err(Error::Database(e)) if e.kind() == DbErrorKind::ForeignKeyViolation => {
                return Err(Error::ProviderActionError {
                    action: "update",
                    reason: NO_PARENT,
                })
            }
            Err(e) => return Err(e),
        }
    }
    for rp in subtree
        .iter()
        .filter(|rp| rp.id != me.id && rp.root_id != root_id)
    {
        q::set_root(&mut tx, rp.id, root_id, now).await?;
    }
    let updated = q::get_by_uuid(&mut tx, uuid)
        .await?
        .ok_or_else(|| Error::ResourceProviderNotFound(uuid.to_owned()))?;
    tx.commit().await?;
    Ok(UpdatedProvider {
        provider: updated.provider,
        updated_at_before: me.provider.updated_at,
    })
}

/// `me` and every provider below it (upstream's `get_subtree`).
async fn get_subtree(tx: &mut Tx, me: &q::StoredProvider) -> Result<Vec<q::StoredProvider>> {
    let tree = q::in_tree(tx, me.root_id).await?;
    let mut children: HashMap<i64, Vec<&q::StoredProvider>> = HashMap::new();
    for rp in &tree {
        if let Some(parent) = rp.parent_id {
            children.entry(parent).or_default().push(rp);
        }
    }
    let mut subtree = vec![me.clone()];
    let mut next = 0;
    while let Some(id) = subtree.get(next).map(|rp| rp.id) {
        if let Some(kids) = children.get(&id) {
            subtree.extend(kids.iter().map(|rp| (*rp).clone()));
        }
        next += 1;
    }
    Ok(subtree)
}

/// Deletes a provider with no children and no allocations, together with
/// its inventories and its trait and aggregate associations.
///
/// # Errors
/// [`Error::ResourceProviderNotFound`];
/// [`Error::CannotDeleteParentResourceProvider`] when it has children;
/// [`Error::ResourceProviderInUse`] when allocations name it.
#[instrument(skip(db), err(level = "debug"))]
pub async fn delete_resource_provider(db: &Database, uuid: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    let me = q::get_by_uuid(&mut tx, uuid)
        .await?
        .ok_or_else(|| Error::ResourceProviderNotFound(uuid.to_owned()))?;
    if q::has_children(&mut tx, me.id).await? {
        return Err(Error::CannotDeleteParentResourceProvider);
    }
    if q::count_allocations(&mut tx, me.id).await? > 0 {
        return Err(Error::ResourceProviderInUse);
    }
    q::delete_dependents(&mut tx, me.id).await?;
    // Guarded by the generation read above: an allocation written to this
    // provider after the checks bumped it, and deleting anyway would strand
    // that allocation. A child created meanwhile trips the foreign key.
    match q::delete(&mut tx, me.id, me.provider.generation).await {
        Ok(1) => {}
        Ok(_) => return Err(Error::provider_concurrent_update()),
        Err(Error::Database(e)) if e.kind() == DbErrorKind::ForeignKeyViolation => {
            return Err(Error::CannotDeleteParentResourceProvider)
        }
        Err(e) => return Err(e),
    }
    tx.commit().await
}
