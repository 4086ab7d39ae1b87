//! The allocation-candidates engine's input and output, in internal ids.
//!
//! The store resolves a parsed request (names, UUIDs) into a
//! [`CandidateRequest`] and reads a [`Snapshot`] in one read transaction;
//! the engine turns the two into [`Candidate`]s; the HTTP layer renders
//! them with UUIDs and names for its microversion. Nothing here knows a
//! microversion: what differs by version arrives as an explicit flag in
//! [`EngineOptions`].

use std::collections::BTreeMap;

use crate::ids::{AggregateId, ResourceClassId, ResourceProviderId, TraitId};

/// One provider as the engine sees it: its place in a tree, its traits and
/// aggregates, and its inventories of the requested classes with their usage.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotProvider {
    /// `resource_providers.id`.
    pub id: ResourceProviderId,
    /// `parent_provider_id`; `None` for a root.
    pub parent: Option<ResourceProviderId>,
    /// `root_provider_id` (its own id for a root).
    pub root: ResourceProviderId,
    /// The provider's own traits, sorted ascending, no duplicates.
    pub traits: Vec<TraitId>,
    /// The aggregates the provider itself is a member of, sorted, no duplicates.
    pub aggregates: Vec<AggregateId>,
    /// Inventories of requested classes only, sorted by class id.
    pub inventories: Vec<SnapshotInventory>,
    /// Whether the provider has `MISC_SHARES_VIA_AGGREGATE`: its resources
    /// can then serve any root that shares one of its aggregates.
    pub shares: bool,
}

/// One inventory row with the sum of its allocations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SnapshotInventory {
    /// The class.
    pub class: ResourceClassId,
    /// `total`.
    pub total: i64,
    /// `reserved`.
    pub reserved: i64,
    /// `min_unit`.
    pub min_unit: i64,
    /// `max_unit`.
    pub max_unit: i64,
    /// `step_size`.
    pub step_size: i64,
    /// `allocation_ratio`, as the backend returned it (MySQL stores a FLOAT).
    pub allocation_ratio: f64,
    /// Sum of every allocation against this provider and class.
    pub used: i64,
}

/// Everything the engine may look at, read in one transaction.
///
/// The store may leave out providers that cannot take part in any
/// candidate (no capacity for any requested class, not in a tree that has
/// such a provider, not an anchor of a sharing provider, not matching a
/// resourceless group). It must keep every provider on the parent chain of
/// a provider it keeps, so that `same_subtree` can walk ancestors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Providers, in any order; ids are unique.
    pub providers: Vec<SnapshotProvider>,
    /// Whether any provider in the whole deployment has a parent. Upstream
    /// uses it (not the snapshot) to choose code paths and to decide whether
    /// the below-1.29 nested filter applies.
    pub has_trees: bool,
    /// Whether any provider in the whole deployment has
    /// `MISC_SHARES_VIA_AGGREGATE`; with `has_trees` it picks the
    /// unsuffixed group's code path.
    pub has_sharing: bool,
    /// A window: the snapshot is complete only for the anchors whose root
    /// id is below this one, so the engine takes anchors from there only.
    ///
    /// The store reads a window first when a request wants at most a
    /// known number of candidates in the deterministic depth-first order:
    /// those come from the lowest anchors, so a window that yields enough
    /// of them gives exactly the answer of the whole deployment, for a
    /// fraction of the reading. `None`: every anchor is complete.
    pub anchors_below: Option<ResourceProviderId>,
}

/// A trait condition: every any-of set must meet at least one trait, and no
/// forbidden trait may be present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraitCondition {
    /// Each inner set is satisfied by any one of its traits (`in:A,B`); a
    /// plain required trait is a set of one.
    pub required: Vec<Vec<TraitId>>,
    /// None of these may be present (`!T`).
    pub forbidden: Vec<TraitId>,
}

/// An aggregate condition: membership of at least one aggregate of each set,
/// and of none of the forbidden ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggregateCondition {
    /// Each set: member of at least one (`member_of=in:a,b`; a plain UUID is
    /// a set of one). A set whose aggregates are all unknown is empty and
    /// matches nothing.
    pub member_of: Vec<Vec<AggregateId>>,
    /// Member of none of these (`member_of=!a`, `!in:a,b`).
    pub forbidden: Vec<AggregateId>,
}

/// Why a group, once reached in query-string order, ends the request before
/// its providers are looked at. Upstream resolves names lazily, group by
/// group, so these outcomes only surface when every earlier group matched
/// something; the store computes them in upstream's within-group order
/// (classes, then `member_of`, then traits, then `in_tree`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupPrecheck {
    /// Nothing stops the group; look at providers.
    Ready,
    /// The request answers an empty 200 here (a `member_of` set no provider
    /// belongs to, an unknown `in_tree` provider).
    Empty,
    /// The request fails here with a 400.
    Fail(LazyError),
}

/// Name-resolution errors upstream raises only when it reaches the group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LazyError {
    /// An unknown resource class in `resources<S>`.
    #[error("Invalid resource class in resources parameter: No such resource class {0}.")]
    NoSuchResourceClass(String),
    /// Unknown traits in `required<S>`, comma-joined as upstream prints them.
    #[error("No such trait(s): {0}.")]
    NoSuchTraits(String),
}

/// One request group, resolved to ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// `""` for the unsuffixed group, else the suffix as written (`1`,
    /// `_NET`, `COMPUTE`).
    pub suffix: String,
    /// Classes and amounts, sorted by class id, each class once, amounts ≥ 1.
    /// Empty for a resourceless group.
    pub resources: Vec<(ResourceClassId, i64)>,
    /// Traits (for the unsuffixed group with trees or sharing: over the
    /// providers that contribute resources; otherwise the provider's own).
    pub traits: TraitCondition,
    /// Aggregates (unsuffixed group: the provider or its root; suffixed: the
    /// provider itself).
    pub aggregates: AggregateCondition,
    /// `in_tree<S>`: the root of the named provider; the whole tree qualifies.
    pub in_tree: Option<ResourceProviderId>,
    /// Lazy outcome computed by the store; see [`GroupPrecheck`].
    pub precheck: GroupPrecheck,
}

impl Group {
    /// Whether this is the unsuffixed group.
    pub fn is_unsuffixed(&self) -> bool {
        self.suffix.is_empty()
    }
}

/// `group_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupPolicy {
    /// Groups may share providers (also what "absent" means when at most
    /// one suffixed group exists).
    #[default]
    None,
    /// Distinct providers across the suffixed groups.
    Isolate,
}

/// A whole request, resolved to ids.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateRequest {
    /// Groups in query-string order (the order upstream evaluates them and
    /// the order products vary in).
    pub groups: Vec<Group>,
    /// `group_policy`.
    pub group_policy: GroupPolicy,
    /// `root_required`, resolved; applies to the anchor root.
    pub root_required: TraitCondition,
    /// `same_subtree`: each entry lists suffixes (as written in the query,
    /// e.g. `_COMPUTE`, `1`) whose providers must all lie under one of them.
    pub same_subtree: Vec<Vec<String>>,
}

/// `[placement] allocation_candidates_generation_strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GenerationStrategy {
    /// Exhaust one anchor root before the next.
    #[default]
    DepthFirst,
    /// One candidate per anchor root in turn.
    BreadthFirst,
}

/// How much to produce and in what order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineOptions {
    /// `limit`: the most candidates the client wants.
    pub limit: Option<usize>,
    /// `[placement] max_allocation_candidates` when ≥ 0.
    pub max_candidates: Option<usize>,
    /// `allocation_candidates_generation_strategy`.
    pub strategy: GenerationStrategy,
    /// `randomize_allocation_candidates`: the seed to shuffle with. `None`
    /// means the documented deterministic order.
    pub random_seed: Option<u64>,
    /// Below 1.29 with `has_trees`: drop candidates that use two or more
    /// providers of one tree, and summarize only the providers used.
    pub drop_multi_provider_trees: bool,
}

impl EngineOptions {
    /// How many distinct candidates to produce, `min(limit, cap)`; `None`
    /// for all of them. The store also uses it to decide how much of the
    /// deployment to read.
    #[must_use]
    pub fn target(&self) -> Option<usize> {
        // NOTE(upstream): the cap counts candidates after the below-1.29
        // nested filter and `limit` stops generation; upstream generates
        // up to the cap, filters, then cuts to `limit`. Upstream's check
        // runs after an insert, so a cap of 0 still yields one candidate;
        // kept.
        let cap = self.max_candidates.map(|m| m.max(1));
        match (self.limit, cap) {
            (Some(limit), Some(cap)) => Some(limit.min(cap)),
            (Some(limit), None) => Some(limit),
            (None, cap) => cap,
        }
    }
}

/// One amount of one class from one provider, within a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CandidateAllocation {
    /// The provider.
    pub provider: ResourceProviderId,
    /// The class.
    pub class: ResourceClassId,
    /// The summed amount over every group this provider serves for the class.
    pub amount: i64,
}

/// One allocation request: what a client would `PUT /allocations/{c}`.
///
/// Two candidates are the same when both the allocations and the mappings
/// are equal (upstream keeps mapping-only differences, even below 1.34).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Candidate {
    /// Sorted by (provider, class); amounts summed per (provider, class).
    pub allocations: Vec<CandidateAllocation>,
    /// Suffix (`""` for the unsuffixed group) → providers that satisfied the
    /// group, sorted ascending. Resourceless groups appear only here.
    pub mappings: BTreeMap<String, Vec<ResourceProviderId>>,
}

/// The engine's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Generated {
    /// Distinct candidates, in the order they are to be returned (after
    /// `limit`, the cap and any shuffle).
    pub candidates: Vec<Candidate>,
    /// Which providers `provider_summaries` lists for these candidates.
    pub summaries: SummaryScope,
}

/// Which providers `provider_summaries` lists. The store reads their full
/// inventories, usage and traits afterwards, since the snapshot holds only
/// the requested classes and may not hold every provider of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SummaryScope {
    /// Every provider of the trees with these root ids (sorted ascending):
    /// each tree a returned candidate takes resources from; a sharing
    /// provider brings its own tree.
    Trees(Vec<ResourceProviderId>),
    /// Exactly these providers (sorted ascending): the below-1.29 nested
    /// case, where only the providers used are summarized.
    Providers(Vec<ResourceProviderId>),
}

impl Default for SummaryScope {
    fn default() -> Self {
        SummaryScope::Trees(Vec::new())
    }
}

/// One request group as the client wrote it, before the store resolves
/// names and UUIDs to ids (see [`Group`] for the meaning of each field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedGroup {
    /// `""` for the unsuffixed group, else the suffix as written.
    pub suffix: String,
    /// Class names and amounts in request order, each class once.
    pub resources: Vec<(String, i64)>,
    /// Any-of sets of trait names (a plain trait is a set of one).
    pub required: Vec<Vec<String>>,
    /// Forbidden trait names.
    pub forbidden: Vec<String>,
    /// Any-of sets of aggregate UUIDs.
    pub member_of: Vec<Vec<uuid::Uuid>>,
    /// Forbidden aggregate UUIDs.
    pub forbidden_aggregates: Vec<uuid::Uuid>,
    /// `in_tree<S>`.
    pub in_tree: Option<uuid::Uuid>,
}

/// A whole request as the client wrote it, validated but not resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedRequest {
    /// Groups in query-string order.
    pub groups: Vec<NamedGroup>,
    /// `group_policy`.
    pub group_policy: GroupPolicy,
    /// `root_required`: required trait names.
    pub root_required: Vec<String>,
    /// `root_required`: forbidden trait names.
    pub root_forbidden: Vec<String>,
    /// `same_subtree` entries, suffixes as written.
    pub same_subtree: Vec<Vec<String>>,
}
