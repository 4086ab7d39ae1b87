//! `GET /allocation_candidates`: the database phase around the pure engine
//! in `placement_core::candidates`.
//!
//! One read transaction does, in upstream's order:
//! 1. `root_required`: resolve its traits (an unknown one fails the request
//!    at once, as upstream's request-wide setup does) and stop with no
//!    candidates when no root provider satisfies it.
//! 2. Each group, in query-string order: resolve names and UUIDs to ids and
//!    compute its [`GroupPrecheck`] in upstream's within-group order
//!    (classes, `member_of`, required then forbidden traits, `in_tree`).
//!    Nothing fails here: upstream resolves lazily, so a bad name in a later
//!    group is hidden when an earlier group matches nothing, and only the
//!    engine, walking the groups, knows which outcome surfaces.
//! 3. The [`Snapshot`], restricted in SQL (see `queries::candidates`), with
//!    one statement whatever the deployment's size; with a `limit` or cap
//!    in the deterministic order, of a window of the lowest trees first
//!    (see `generate_in_windows`).
//! 4. The engine, then the provider summaries it asks for (whole trees, or
//!    exactly the providers used), with every inventory and its usage,
//!    made from the rows the snapshot read brought; only class and trait
//!    names are read for them.
//!
//! The answer comes back in the engine's order with the UUIDs and names it
//! uses, ready for the HTTP layer to render for its microversion.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use placement_core::candidates::model::{
    AggregateCondition, Candidate, CandidateRequest, EngineOptions, Generated, GenerationStrategy,
    Group, GroupPrecheck, LazyError, NamedGroup, NamedRequest, Snapshot, SnapshotInventory,
    SnapshotProvider, SummaryScope, TraitCondition,
};
use placement_core::capacity::InventoryLimits;
use placement_core::ids::{AggregateId, ResourceClassId, ResourceProviderId, TraitId};
use tracing::instrument;

use crate::db::{Database, Tx};
use crate::error::{Error, Result};
use crate::queries::candidates::{self as q, AmountWanted, SnapshotScope};

/// The standard trait that marks a provider whose inventory serves every
/// root sharing one of its aggregates.
const SHARES_VIA_AGGREGATE: &str = "MISC_SHARES_VIA_AGGREGATE";

/// The allocation candidates for a request, ready to render.
///
/// Candidates stay in internal ids, with the UUID of every provider and
/// the name of every class they use beside them: a large answer (40,320
/// candidates of nine providers each, say) would otherwise hold a copy of
/// a UUID string per allocation and per mapping entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CandidatesAnswer {
    /// The candidates in the order to return them.
    pub candidates: Vec<Candidate>,
    /// The providers `provider_summaries` lists, by internal id (the order
    /// carries no meaning; upstream's is a set's).
    pub summaries: Vec<ProviderSummary>,
    /// The UUID of every provider a candidate names.
    uuids: HashMap<ResourceProviderId, String>,
    /// The name of every class a candidate names.
    classes: HashMap<ResourceClassId, String>,
}

impl CandidatesAnswer {
    /// The UUID of a provider that a candidate names (always present for
    /// those; `None` for any other id).
    #[must_use]
    pub fn provider_uuid(&self, id: ResourceProviderId) -> Option<&str> {
        self.uuids.get(&id).map(String::as_str)
    }

    /// The name of a class that a candidate names.
    #[must_use]
    pub fn class_name(&self, id: ResourceClassId) -> Option<&str> {
        self.classes.get(&id).map(String::as_str)
    }

    /// The candidates by UUID and class name, for callers that compare or
    /// print them rather than render them.
    #[must_use]
    pub fn named(&self) -> Vec<AnswerCandidate> {
        let uuid = |id: ResourceProviderId| self.provider_uuid(id).unwrap_or_default().to_owned();
        self.candidates
            .iter()
            .map(|c| {
                let mut allocations: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
                for a in &c.allocations {
                    allocations.entry(uuid(a.provider)).or_default().insert(
                        self.class_name(a.class).unwrap_or_default().to_owned(),
                        a.amount,
                    );
                }
                let mappings = c
                    .mappings
                    .iter()
                    .map(|(suffix, providers)| {
                        let mut list: Vec<String> = providers.iter().map(|p| uuid(*p)).collect();
                        list.sort();
                        (suffix.clone(), list)
                    })
                    .collect();
                AnswerCandidate {
                    allocations,
                    mappings,
                }
            })
            .collect()
    }
}

/// One allocation request, with UUIDs and class names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerCandidate {
    /// Provider UUID → class name → amount.
    pub allocations: BTreeMap<String, BTreeMap<String, i64>>,
    /// Suffix (`""` for the unsuffixed group) → UUIDs of the providers that
    /// satisfied the group, sorted (rendered as `mappings` from 1.34).
    pub mappings: BTreeMap<String, Vec<String>>,
}

/// One entry of `provider_summaries`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSummary {
    /// The provider's UUID.
    pub uuid: String,
    /// Its parent's UUID (from 1.29); `None` for a root.
    pub parent_uuid: Option<String>,
    /// Its root's UUID (from 1.29).
    pub root_uuid: String,
    /// Its own trait names in trait id order (from 1.17).
    pub traits: Vec<String>,
    /// Every inventory it has, in class id order (before 1.27 the HTTP
    /// layer keeps only the requested classes).
    pub resources: Vec<SummaryResource>,
}

/// One inventory of a summarized provider.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryResource {
    /// The class name.
    pub resource_class: String,
    /// `total`.
    pub total: i64,
    /// `reserved`.
    pub reserved: i64,
    /// `allocation_ratio`, as the backend returned it.
    pub allocation_ratio: f64,
    /// `int((total - reserved) * allocation_ratio)`, as upstream renders it.
    pub capacity: i64,
    /// The sum of every allocation against it.
    pub used: i64,
}

/// The engine's inputs as read from the database, or the verdict that the
/// request has no candidates before any group is looked at.
#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    /// `root_required` matches no root provider: an empty answer.
    NoAnchors,
    /// The resolved request and its snapshot.
    Ready {
        /// The request in internal ids, with each group's precheck.
        request: CandidateRequest,
        /// The restricted snapshot.
        snapshot: Snapshot,
    },
}

/// Answers `GET /allocation_candidates` with the engine in
/// `placement_core::candidates`.
///
/// # Errors
/// [`Error::CandidatesRequest`] for an unknown `root_required` trait or the
/// lazy name error the engine surfaces (a 400 with that text); database
/// errors otherwise.
pub async fn allocation_candidates(
    db: &Database,
    request: &NamedRequest,
    options: &EngineOptions,
) -> Result<CandidatesAnswer> {
    allocation_candidates_with(db, request, options, placement_core::candidates::generate).await
}

/// [`allocation_candidates`] with the engine passed in, so tests and
/// benchmarks can drive the database phase with an engine of their own.
///
/// # Errors
/// As [`allocation_candidates`].
#[instrument(skip_all, err(level = "debug"))]
pub async fn allocation_candidates_with<E>(
    db: &Database,
    request: &NamedRequest,
    options: &EngineOptions,
    engine: E,
) -> Result<CandidatesAnswer>
where
    E: FnMut(&Snapshot, &CandidateRequest, &EngineOptions) -> Result<Generated, LazyError>,
{
    let mut tx = db.begin_read().await?;
    let Some(resolved) = resolve(&mut tx, request).await? else {
        return Ok(CandidatesAnswer::default());
    };
    let (generated, kept) = generate_in_windows(&mut tx, &resolved, options, engine).await?;
    let summaries = summaries(&mut tx, &kept, &generated.summaries).await?;
    let class_names: HashMap<ResourceClassId, &str> = resolved
        .class_names
        .iter()
        .map(|(id, name)| (*id, name.as_str()))
        .collect();
    let mut uuids = HashMap::new();
    let mut classes = HashMap::new();
    for c in &generated.candidates {
        let providers = c
            .allocations
            .iter()
            .map(|a| a.provider)
            .chain(c.mappings.values().flatten().copied());
        for id in providers {
            if let std::collections::hash_map::Entry::Vacant(slot) = uuids.entry(id) {
                let uuid = kept.uuid(id.0).ok_or_else(|| missing("provider", id.0))?;
                slot.insert(uuid.to_owned());
            }
        }
        for a in &c.allocations {
            if let std::collections::hash_map::Entry::Vacant(slot) = classes.entry(a.class) {
                let name = class_names
                    .get(&a.class)
                    .ok_or_else(|| missing("resource class", a.class.0))?;
                slot.insert((*name).to_owned());
            }
        }
    }
    Ok(CandidatesAnswer {
        candidates: generated.candidates,
        summaries,
        uuids,
        classes,
    })
}

/// Runs the engine over windows of growing size while a window can give
/// the whole answer, then over everything.
///
/// A request that wants at most `n` candidates in the deterministic
/// depth-first order takes them from the lowest anchors (see
/// `Snapshot::anchors_below`). So the first window holds a little more
/// than `n` trees, and a window that yields `n` candidates has the
/// answer; one that yields fewer (full trees, trees the request does not
/// fit) is followed by one four times larger, until the window would hold
/// every tree. An error the engine surfaces in a window is the whole
/// request's: prechecks do not depend on the snapshot, and a group that
/// matches something in a window matches something everywhere.
///
/// Reading a window costs what its trees cost, so Nova's usual `limit`
/// reads a fraction of a large deployment; the retries cost at most a
/// third more than one read of everything.
async fn generate_in_windows<E>(
    tx: &mut Tx,
    resolved: &Resolved,
    options: &EngineOptions,
    mut engine: E,
) -> Result<(Generated, Kept)>
where
    E: FnMut(&Snapshot, &CandidateRequest, &EngineOptions) -> Result<Generated, LazyError>,
{
    // `in_tree` already confines the read to one tree, where windows of
    // every tree would only read more.
    let one_tree = resolved.request.groups.iter().any(|g| g.in_tree.is_some());
    let wanted = match (options.random_seed, options.strategy) {
        (None, GenerationStrategy::DepthFirst) if !one_tree => options.target(),
        _ => None,
    };
    let flags = q::deployment_flags(tx, resolved.shares_trait).await?;
    let mut trees = wanted.map_or(0, |n| n.saturating_add(n / 8).saturating_add(16));
    loop {
        let below = match wanted {
            Some(_) => q::window_bound(tx, trees).await?,
            None => None,
        };
        let (snapshot, kept) = read_snapshot(tx, resolved, flags, below).await?;
        let generated = engine(&snapshot, &resolved.request, options)?;
        let enough = wanted.is_some_and(|n| generated.candidates.len() >= n);
        if below.is_none() || enough {
            return Ok((generated, kept));
        }
        trees = trees.saturating_mul(4);
    }
}

/// The database phase alone: the resolved request and its snapshot, read in
/// one transaction, as [`allocation_candidates`] hands them to the engine.
/// For tests and tools that check the engine against another.
///
/// # Errors
/// [`Error::CandidatesRequest`] for an unknown `root_required` trait;
/// database errors otherwise.
#[instrument(skip_all, err(level = "debug"))]
pub async fn prepare(db: &Database, request: &NamedRequest) -> Result<Prepared> {
    let mut tx = db.begin_read().await?;
    let Some(resolved) = resolve(&mut tx, request).await? else {
        return Ok(Prepared::NoAnchors);
    };
    let flags = q::deployment_flags(&mut tx, resolved.shares_trait).await?;
    let (snapshot, _) = read_snapshot(&mut tx, &resolved, flags, None).await?;
    Ok(Prepared::Ready {
        request: resolved.request,
        snapshot,
    })
}

/// A request resolved to ids, with what the later phases need.
struct Resolved {
    request: CandidateRequest,
    /// Every resolved class's name, for rendering.
    class_names: Vec<(ResourceClassId, String)>,
    /// `MISC_SHARES_VIA_AGGREGATE`'s id, when the trait exists.
    shares_trait: Option<i64>,
    /// One root meeting `root_required`, when it is given.
    anchor_root: Option<i64>,
}

/// The first name (in request order) missing from `known`.
fn first_unknown<'a>(
    names: impl IntoIterator<Item = &'a String>,
    known: &HashMap<String, i64>,
) -> Option<&'a String> {
    names.into_iter().find(|n| !known.contains_key(*n))
}

/// Resolves `request`; `None` when `root_required` matches no root.
///
/// A constant number of statements: one per kind of name, one for
/// `root_required`, one per group with `member_of`.
async fn resolve(tx: &mut Tx, request: &NamedRequest) -> Result<Option<Resolved>> {
    let groups = &request.groups;
    let class_list: Vec<String> = distinct(
        groups
            .iter()
            .flat_map(|g| g.resources.iter().map(|(c, _)| c)),
    );
    let mut trait_list: Vec<String> = distinct(
        request
            .root_required
            .iter()
            .chain(&request.root_forbidden)
            .chain(
                groups
                    .iter()
                    .flat_map(|g| g.required.iter().flatten().chain(&g.forbidden)),
            ),
    );
    trait_list.push(SHARES_VIA_AGGREGATE.to_owned());
    let aggregate_list: Vec<String> = distinct_uuids(
        groups
            .iter()
            .flat_map(|g| g.member_of.iter().flatten().chain(&g.forbidden_aggregates)),
    );
    let tree_list: Vec<String> = distinct_uuids(groups.iter().filter_map(|g| g.in_tree.as_ref()));

    let classes = q::class_ids(tx, &class_list).await?;
    let traits = q::trait_ids(tx, &trait_list).await?;
    let aggregates = if aggregate_list.is_empty() {
        HashMap::new()
    } else {
        q::aggregate_ids(tx, &aggregate_list).await?
    };
    let trees = if tree_list.is_empty() {
        HashMap::new()
    } else {
        q::root_ids_by_uuid(tx, &tree_list).await?
    };
    let shares_trait = traits.get(SHARES_VIA_AGGREGATE).copied();

    // Request-wide first, as upstream's RequestWideSearchContext does.
    // NOTE(upstream): its trait lookups walk a Python set, so with several
    // unknown traits which one it names varies per process; we name the
    // first in request order (required before forbidden).
    let mut anchor_root = None;
    let root_required = {
        let names = request.root_required.iter().chain(&request.root_forbidden);
        if let Some(name) = first_unknown(names, &traits) {
            return Err(Error::CandidatesRequest(LazyError::NoSuchTraits(
                name.clone(),
            )));
        }
        let ids = |names: &[String]| -> Vec<i64> {
            names
                .iter()
                .filter_map(|n| traits.get(n).copied())
                .collect()
        };
        let required = ids(&request.root_required);
        let forbidden = ids(&request.root_forbidden);
        let unfiltered = required.is_empty() && forbidden.is_empty();
        if !unfiltered {
            anchor_root = q::any_root_with_traits(tx, &required, &forbidden).await?;
            if anchor_root.is_none() {
                return Ok(None);
            }
        }
        TraitCondition {
            required: required.iter().map(|t| vec![TraitId(*t)]).collect(),
            forbidden: forbidden.into_iter().map(TraitId).collect(),
        }
    };

    let mut resolved_groups = Vec::with_capacity(groups.len());
    for g in groups {
        resolved_groups.push(resolve_group(tx, g, &classes, &traits, &aggregates, &trees).await?);
    }
    let mut class_names: Vec<(ResourceClassId, String)> = classes
        .iter()
        .map(|(name, id)| (ResourceClassId(*id), name.clone()))
        .collect();
    class_names.sort();
    Ok(Some(Resolved {
        request: CandidateRequest {
            groups: resolved_groups,
            group_policy: request.group_policy,
            root_required,
            same_subtree: request.same_subtree.clone(),
        },
        class_names,
        shares_trait,
        anchor_root,
    }))
}

/// One group in ids, with its precheck in upstream's within-group order.
async fn resolve_group(
    tx: &mut Tx,
    g: &NamedGroup,
    classes: &HashMap<String, i64>,
    traits: &HashMap<String, i64>,
    aggregates: &HashMap<String, i64>,
    trees: &HashMap<String, i64>,
) -> Result<Group> {
    let mut resources: Vec<(ResourceClassId, i64)> = g
        .resources
        .iter()
        .filter_map(|(name, amount)| classes.get(name).map(|id| (ResourceClassId(*id), *amount)))
        .collect();
    resources.sort();
    resources.dedup_by_key(|(class, _)| *class);
    let agg_ids = |uuids: &[uuid::Uuid]| -> Vec<AggregateId> {
        let mut ids: Vec<AggregateId> = uuids
            .iter()
            .filter_map(|u| aggregates.get(&u.to_string()).map(|id| AggregateId(*id)))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let member_of: Vec<Vec<AggregateId>> = g.member_of.iter().map(|set| agg_ids(set)).collect();
    let trait_ids = |names: &[String]| -> Vec<TraitId> {
        let mut ids: Vec<TraitId> = names
            .iter()
            .filter_map(|n| traits.get(n).map(|id| TraitId(*id)))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let in_tree = g
        .in_tree
        .and_then(|u| trees.get(&u.to_string()).map(|id| ResourceProviderId(*id)));

    // NOTE(upstream): a Python dict of classes and sets of traits; the first
    // unknown name it meets among several is the first in request order for
    // classes, and process-dependent for traits, where we take request order.
    let precheck = if let Some(name) = first_unknown(g.resources.iter().map(|(c, _)| c), classes) {
        GroupPrecheck::Fail(LazyError::NoSuchResourceClass(name.clone()))
    } else if !member_of.is_empty()
        && (member_of.iter().any(Vec::is_empty)
            || !q::any_provider_in_every_set(
                tx,
                &member_of
                    .iter()
                    .map(|set| set.iter().map(|a| a.0).collect())
                    .collect::<Vec<_>>(),
            )
            .await?)
    {
        GroupPrecheck::Empty
    } else if let Some(name) =
        first_unknown(g.required.iter().flatten().chain(&g.forbidden), traits)
    {
        GroupPrecheck::Fail(LazyError::NoSuchTraits(name.clone()))
    } else if g.in_tree.is_some() && in_tree.is_none() {
        GroupPrecheck::Empty
    } else {
        GroupPrecheck::Ready
    };
    Ok(Group {
        suffix: g.suffix.clone(),
        resources,
        traits: TraitCondition {
            required: g.required.iter().map(|set| trait_ids(set)).collect(),
            forbidden: trait_ids(&g.forbidden),
        },
        aggregates: AggregateCondition {
            member_of,
            forbidden: agg_ids(&g.forbidden_aggregates),
        },
        in_tree,
        precheck,
    })
}

fn distinct<'a>(names: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let set: BTreeSet<&String> = names.into_iter().collect();
    set.into_iter().cloned().collect()
}

fn distinct_uuids<'a>(uuids: impl IntoIterator<Item = &'a uuid::Uuid>) -> Vec<String> {
    let set: BTreeSet<&uuid::Uuid> = uuids.into_iter().collect();
    set.into_iter().map(ToString::to_string).collect()
}

/// The snapshot scope: the groups the engine can reach before one that
/// ends the request (every group after that cannot matter).
fn snapshot_scope(resolved: &Resolved) -> SnapshotScope {
    let mut scope = SnapshotScope {
        shares_trait: resolved.shares_trait,
        anchor_root: resolved.anchor_root,
        ..SnapshotScope::default()
    };
    for g in &resolved.request.groups {
        if g.precheck != GroupPrecheck::Ready {
            break;
        }
        for (class, amount) in &g.resources {
            let wanted = AmountWanted {
                class: class.0,
                amount: *amount,
                root: g.in_tree.map(|r| r.0),
            };
            if !scope.wanted.contains(&wanted) {
                scope.wanted.push(wanted);
            }
        }
        if g.resources.is_empty() {
            // A resourceless group's provider must hold one of the first
            // any-of set's traits, or (with no traits) sit in one of the
            // first member_of set's aggregates; with neither it matches
            // nothing. Either set alone is a superset of its matches.
            if let Some(set) = g.traits.required.first() {
                scope.resourceless_traits.extend(set.iter().map(|t| t.0));
            } else if let Some(set) = g.aggregates.member_of.first() {
                scope
                    .resourceless_aggregates
                    .extend(set.iter().map(|a| a.0));
            }
        }
    }
    scope.resourceless_traits.sort_unstable();
    scope.resourceless_traits.dedup();
    scope.resourceless_aggregates.sort_unstable();
    scope.resourceless_aggregates.dedup();
    scope
}

/// What the snapshot read brings besides the engine's snapshot: every
/// kept provider's UUID and links, and every inventory and trait, from
/// which the provider summaries are made without reading again.
#[derive(Default)]
struct Kept {
    rows: q::SnapshotRows,
    /// Provider id → index in `rows.providers`.
    at: HashMap<i64, usize>,
}

impl Kept {
    fn provider(&self, id: i64) -> Option<&q::ProviderRow> {
        self.at.get(&id).and_then(|&i| self.rows.providers.get(i))
    }

    fn uuid(&self, id: i64) -> Option<&str> {
        self.provider(id).map(|p| p.uuid.as_str())
    }
}

/// Reads the snapshot of the trees below `below` when it is a window, of
/// every tree the scope keeps otherwise. `(has_trees, has_sharing)` are the
/// deployment's, read once per request whatever the number of windows.
async fn read_snapshot(
    tx: &mut Tx,
    resolved: &Resolved,
    (has_trees, has_sharing): (bool, bool),
    below: Option<i64>,
) -> Result<(Snapshot, Kept)> {
    let mut scope = snapshot_scope(resolved);
    scope.below = below;
    if !has_sharing {
        // No provider has the trait: no statement need look for one.
        scope.shares_trait = None;
    }
    let mut snapshot = Snapshot {
        providers: Vec::new(),
        has_trees,
        has_sharing,
        anchors_below: below.map(ResourceProviderId),
    };
    if scope.wanted.is_empty()
        && scope.resourceless_traits.is_empty()
        && scope.resourceless_aggregates.is_empty()
        && scope.anchor_root.is_none()
    {
        return Ok((snapshot, Kept::default()));
    }
    let rows = q::snapshot_rows(tx, &scope).await?;
    let at: HashMap<i64, usize> = rows
        .providers
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i))
        .collect();
    snapshot.providers = rows
        .providers
        .iter()
        .map(|row| SnapshotProvider {
            id: ResourceProviderId(row.id),
            parent: row.parent.map(ResourceProviderId),
            root: ResourceProviderId(row.root),
            traits: Vec::new(),
            aggregates: Vec::new(),
            inventories: Vec::new(),
            shares: false,
        })
        .collect();
    let requested: BTreeSet<i64> = resolved.class_names.iter().map(|(id, _)| id.0).collect();
    for inv in rows
        .inventories
        .iter()
        .filter(|i| requested.contains(&i.class))
    {
        if let Some(p) = at
            .get(&inv.provider)
            .and_then(|&i| snapshot.providers.get_mut(i))
        {
            p.inventories.push(SnapshotInventory {
                class: ResourceClassId(inv.class),
                total: inv.total,
                reserved: inv.reserved,
                min_unit: inv.min_unit,
                max_unit: inv.max_unit,
                step_size: inv.step_size,
                allocation_ratio: inv.allocation_ratio,
                used: inv.used,
            });
        }
    }
    for &(provider, trait_id) in &rows.traits {
        if let Some(p) = at
            .get(&provider)
            .and_then(|&i| snapshot.providers.get_mut(i))
        {
            p.traits.push(TraitId(trait_id));
            p.shares |= Some(trait_id) == resolved.shares_trait;
        }
    }
    for &(provider, aggregate) in &rows.aggregates {
        if let Some(p) = at
            .get(&provider)
            .and_then(|&i| snapshot.providers.get_mut(i))
        {
            p.aggregates.push(AggregateId(aggregate));
        }
    }
    for p in &mut snapshot.providers {
        p.traits.sort();
        p.traits.dedup();
        p.aggregates.sort();
        p.aggregates.dedup();
        p.inventories.sort_by_key(|i| i.class);
    }
    Ok((snapshot, Kept { rows, at }))
}

/// The summaries `scope` names, sorted by provider id, from what the
/// snapshot read brought (every provider of a kept tree, with every
/// inventory and trait); only class and trait names are read.
async fn summaries(tx: &mut Tx, kept: &Kept, scope: &SummaryScope) -> Result<Vec<ProviderSummary>> {
    let chosen: BTreeSet<i64> = match scope {
        SummaryScope::Trees(roots) => {
            let roots: BTreeSet<ResourceProviderId> = roots.iter().copied().collect();
            kept.rows
                .providers
                .iter()
                .filter(|p| roots.contains(&ResourceProviderId(p.root)))
                .map(|p| p.id)
                .collect()
        }
        SummaryScope::Providers(ids) => ids.iter().map(|id| id.0).collect(),
    };
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_id: BTreeMap<i64, ProviderSummary> = BTreeMap::new();
    for &id in &chosen {
        let p = kept.provider(id).ok_or_else(|| missing("provider", id))?;
        let linked = |id: i64| {
            kept.uuid(id)
                .map(str::to_owned)
                .ok_or_else(|| missing("provider", id))
        };
        by_id.insert(
            id,
            ProviderSummary {
                uuid: p.uuid.clone(),
                parent_uuid: p.parent.map(linked).transpose()?,
                root_uuid: linked(p.root)?,
                traits: Vec::new(),
                resources: Vec::new(),
            },
        );
    }
    let mut traits: Vec<(i64, i64)> = kept
        .rows
        .traits
        .iter()
        .copied()
        .filter(|(p, _)| chosen.contains(p))
        .collect();
    traits.sort_unstable();
    traits.dedup();
    let mut inventories: Vec<&q::InventoryRow> = kept
        .rows
        .inventories
        .iter()
        .filter(|i| chosen.contains(&i.provider))
        .collect();
    inventories.sort_unstable_by_key(|i| (i.provider, i.class));
    let distinct = |ids: &mut dyn Iterator<Item = i64>| -> Vec<i64> {
        let set: BTreeSet<i64> = ids.collect();
        set.into_iter().collect()
    };
    let trait_names = q::names_by_id(
        tx,
        q::NameTable::Traits,
        &distinct(&mut traits.iter().map(|(_, t)| *t)),
    )
    .await?;
    let class_names = q::names_by_id(
        tx,
        q::NameTable::Classes,
        &distinct(&mut inventories.iter().map(|i| i.class)),
    )
    .await?;
    // Traits stay in trait id order (standard traits before custom ones):
    // upstream lists them as its database returns them, and its tests pin
    // that order.
    for (provider, trait_id) in traits {
        let name = trait_names
            .get(&trait_id)
            .ok_or_else(|| missing("trait", trait_id))?;
        if let Some(s) = by_id.get_mut(&provider) {
            s.traits.push(name.clone());
        }
    }
    for inv in inventories {
        let name = class_names
            .get(&inv.class)
            .ok_or_else(|| missing("resource class", inv.class))?;
        if let Some(s) = by_id.get_mut(&inv.provider) {
            s.resources.push(SummaryResource {
                capacity: InventoryLimits {
                    total: inv.total,
                    reserved: inv.reserved,
                    min_unit: inv.min_unit,
                    max_unit: inv.max_unit,
                    step_size: inv.step_size,
                    allocation_ratio: inv.allocation_ratio,
                }
                .capacity_for_summaries(),
                resource_class: name.clone(),
                total: inv.total,
                reserved: inv.reserved,
                allocation_ratio: inv.allocation_ratio,
                used: inv.used,
            });
        }
    }
    Ok(by_id.into_values().collect())
}

/// A row the read itself brought is missing: a broken invariant, not bad
/// input (a 500 with this text in the log).
fn missing(what: &str, id: i64) -> Error {
    Error::Database(crate::error::DbError::other(format!(
        "the candidates read lacks {what} {id}"
    )))
}
