//! A brute-force reference for the allocation-candidates engine, for tests
//! only: small cases, every assignment enumerated, upstream's rules applied
//! one by one as written in `CANDIDATES-NOTES.md` §4 and upstream 16.0.0's
//! `allocation_candidate.py`, `research_context.py` and `rp_candidates.py`.
//!
//! Nothing here is clever on purpose. For every anchor root, every group
//! picks a provider (a suffixed group one for all its classes, the
//! unsuffixed group one per class), each pick is checked against the
//! group's own rules, then every product across groups is checked against
//! the request-wide rules. The engine must return the same set.
//!
//! The reference ignores `limit`, the cap, the strategy and the seed: it
//! returns the whole set; the differential test judges the engine's subset.
//! It expects the snapshot to hold the whole deployment.
//!
//! Checked against upstream itself (`conformance/reference_check.py`, 1,100
//! generated cases through `AllocationCandidates.get_by_requests`): equal
//! sets except where two upstream defects show, which the reference does
//! not copy (see the two `NOTE(upstream)` tests below): an unsuffixed
//! request served only by sharing providers survives at one anchor only,
//! and summed amounts leak into other candidates when group_policy is
//! absent or `isolate`.
//!
//! - [`reference`]: the naive answer.
//! - [`summary_scope`]: which providers upstream summarizes for a set of
//!   candidates.
//! - [`gen`]: small random deployments and requests.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{
    AggregateCondition, Candidate, CandidateAllocation, CandidateRequest, EngineOptions, Generated,
    Group, GroupPolicy, GroupPrecheck, LazyError, Snapshot, SnapshotInventory, SnapshotProvider,
    SummaryScope, TraitCondition,
};
use crate::ids::{ResourceClassId, ResourceProviderId, TraitId};

type Rp = ResourceProviderId;

/// One group's contribution to a candidate, for one anchor.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Pick {
    /// (provider, class, amount), one per requested class.
    allocations: Vec<(Rp, ResourceClassId, i64)>,
    /// The providers that satisfied the group (the mapping).
    providers: BTreeSet<Rp>,
}

/// The whole deployment, looked up by id.
struct World<'a> {
    by_id: BTreeMap<Rp, &'a SnapshotProvider>,
    roots: Vec<Rp>,
}

impl<'a> World<'a> {
    fn new(snap: &'a Snapshot) -> World<'a> {
        let by_id: BTreeMap<Rp, &SnapshotProvider> =
            snap.providers.iter().map(|p| (p.id, p)).collect();
        let roots = by_id
            .values()
            .filter(|p| p.parent.is_none())
            .map(|p| p.id)
            .collect();
        World { by_id, roots }
    }

    fn root_of(&self, rp: Rp) -> Rp {
        self.by_id.get(&rp).map_or(rp, |p| p.root)
    }

    /// The provider and all its ancestors.
    fn ancestors_or_self(&self, rp: Rp) -> BTreeSet<Rp> {
        let mut out = BTreeSet::new();
        let mut cur = Some(rp);
        while let Some(id) = cur {
            if !out.insert(id) {
                break;
            }
            cur = self.by_id.get(&id).and_then(|p| p.parent);
        }
        out
    }

    /// Upstream `anchors_for_sharing_providers`: roots of every provider
    /// that shares an aggregate with `rp`, `rp` itself included.
    fn sharing_anchors(&self, rp: &SnapshotProvider) -> BTreeSet<Rp> {
        self.by_id
            .values()
            .filter(|q| q.aggregates.iter().any(|a| rp.aggregates.contains(a)))
            .map(|q| q.root)
            .collect()
    }
}

/// Upstream's SQL capacity rule for one class and amount: `used + amount <=
/// (total - reserved) * ratio` on floats, within `min_unit..=max_unit`, a
/// multiple of `step_size`.
fn fits(inv: &SnapshotInventory, amount: i64) -> bool {
    let cap = (inv.total - inv.reserved) as f64 * inv.allocation_ratio;
    (inv.used + amount) as f64 <= cap
        && inv.min_unit <= amount
        && amount <= inv.max_unit
        && inv.step_size != 0
        && amount % inv.step_size == 0
}

/// Upstream's summary capacity: `int((total - reserved) * ratio)`.
fn int_capacity(inv: &SnapshotInventory) -> i64 {
    ((inv.total - inv.reserved) as f64 * inv.allocation_ratio) as i64
}

fn inventory(p: &SnapshotProvider, class: ResourceClassId) -> Option<&SnapshotInventory> {
    p.inventories.iter().find(|i| i.class == class)
}

/// Every any-of set met by `traits`, no forbidden trait among them.
fn traits_ok(traits: &BTreeSet<TraitId>, cond: &TraitCondition) -> bool {
    cond.required
        .iter()
        .all(|any| any.iter().any(|t| traits.contains(t)))
        && !cond.forbidden.iter().any(|t| traits.contains(t))
}

/// The provider is in at least one aggregate of every `member_of` set.
fn in_member_of(p: &SnapshotProvider, cond: &AggregateCondition) -> bool {
    cond.member_of
        .iter()
        .all(|set| set.iter().any(|a| p.aggregates.contains(a)))
}

fn in_forbidden_aggregate(p: &SnapshotProvider, cond: &AggregateCondition) -> bool {
    cond.forbidden.iter().any(|a| p.aggregates.contains(a))
}

/// The naive answer: every distinct candidate upstream would produce with
/// no `limit` and no cap, and the summary scope for all of them.
///
/// # Errors
/// The first group (in order) whose precheck fails, if every group before
/// it matched something.
pub(super) fn reference(
    snap: &Snapshot,
    req: &CandidateRequest,
    opts: &EngineOptions,
) -> Result<Generated, LazyError> {
    let world = World::new(snap);

    // root_required, request-wide, before any group: the allowed anchors.
    let root_filter = &req.root_required;
    let allowed: Option<BTreeSet<Rp>> =
        if root_filter.required.is_empty() && root_filter.forbidden.is_empty() {
            None
        } else {
            Some(
                world
                    .roots
                    .iter()
                    .copied()
                    .filter(|r| {
                        world.by_id.get(r).is_some_and(|p| {
                            traits_ok(&p.traits.iter().copied().collect(), root_filter)
                        })
                    })
                    .collect(),
            )
        };
    if allowed.as_ref().is_some_and(BTreeSet::is_empty) {
        return Ok(Generated::default());
    }
    let anchor_allowed = |a: Rp| allowed.as_ref().is_none_or(|s| s.contains(&a));

    // Each group on its own, in order; an empty one ends the request.
    let mut per_group: Vec<Vec<(Rp, Pick)>> = Vec::new();
    for group in &req.groups {
        match &group.precheck {
            GroupPrecheck::Fail(e) => return Err(e.clone()),
            GroupPrecheck::Empty => return Ok(Generated::default()),
            GroupPrecheck::Ready => {}
        }
        let single_path = !group.is_unsuffixed() || !(snap.has_trees || snap.has_sharing);
        let picks = if single_path {
            single_provider_picks(&world, group, &anchor_allowed)
        } else {
            multiple_provider_picks(&world, group, &anchor_allowed)
        };
        if picks.is_empty() {
            return Ok(Generated::default());
        }
        per_group.push(picks);
    }

    // Merge per anchor: every product across groups.
    let suffixed = req.groups.iter().filter(|g| !g.is_unsuffixed()).count();
    let mut all: BTreeSet<Candidate> = BTreeSet::new();
    for &anchor in &world.roots {
        let lists: Vec<Vec<&Pick>> = per_group
            .iter()
            .map(|l| {
                l.iter()
                    .filter(|(a, _)| *a == anchor)
                    .map(|(_, p)| p)
                    .collect()
            })
            .collect();
        if lists.iter().any(Vec::is_empty) {
            continue;
        }
        let mut index = vec![0usize; lists.len()];
        'product: loop {
            let combo: Vec<&Pick> = lists.iter().zip(&index).map(|(l, &i)| l[i]).collect();
            if let Some(c) = merge_one(&world, req, suffixed, &combo) {
                all.insert(c);
            }
            // Odometer, the last group varying fastest.
            for pos in (0..index.len()).rev() {
                index[pos] += 1;
                if index[pos] < lists[pos].len() {
                    continue 'product;
                }
                index[pos] = 0;
            }
            break;
        }
    }

    let drop_multi = opts.drop_multi_provider_trees && snap.has_trees;
    let candidates: Vec<Candidate> = all
        .into_iter()
        .filter(|c| !drop_multi || one_provider_per_tree(&world, c))
        .collect();
    let summaries = summary_scope(snap, &candidates, drop_multi);
    Ok(Generated {
        candidates,
        summaries,
    })
}

/// Below 1.29 with trees: no two providers of one tree in one candidate.
fn one_provider_per_tree(world: &World<'_>, c: &Candidate) -> bool {
    let providers: BTreeSet<Rp> = c.allocations.iter().map(|a| a.provider).collect();
    let roots: BTreeSet<Rp> = providers.iter().map(|&p| world.root_of(p)).collect();
    providers.len() == roots.len()
}

/// Which providers upstream summarizes for exactly these candidates: the
/// whole trees their resources come from, or (below 1.29 with trees) the
/// providers used.
pub(super) fn summary_scope(
    snap: &Snapshot,
    candidates: &[Candidate],
    providers_only: bool,
) -> SummaryScope {
    let world = World::new(snap);
    let used: BTreeSet<Rp> = candidates
        .iter()
        .flat_map(|c| c.allocations.iter().map(|a| a.provider))
        .collect();
    if providers_only {
        SummaryScope::Providers(used.into_iter().collect())
    } else {
        let roots: BTreeSet<Rp> = used.iter().map(|&p| world.root_of(p)).collect();
        SummaryScope::Trees(roots.into_iter().collect())
    }
}

/// `get_provider_ids_matching` + `_alloc_candidates_single_provider`: one
/// provider holds every class and meets the group's traits and aggregates
/// itself; anchored at its own root, and a sharing provider also at every
/// root it shares an aggregate with.
fn single_provider_picks(
    world: &World<'_>,
    group: &Group,
    anchor_allowed: &dyn Fn(Rp) -> bool,
) -> Vec<(Rp, Pick)> {
    let resourceless = group.resources.is_empty();
    if resourceless && group.traits.required.is_empty() && group.aggregates.member_of.is_empty() {
        // Only positive filters name providers for a resourceless group.
        return Vec::new();
    }
    let mut out = Vec::new();
    for p in world.by_id.values() {
        if !resourceless {
            if group.in_tree.is_some_and(|t| t != p.root) {
                continue;
            }
            let all_fit = group
                .resources
                .iter()
                .all(|&(c, amount)| inventory(p, c).is_some_and(|inv| fits(inv, amount)));
            if !all_fit {
                continue;
            }
        }
        let traits: BTreeSet<TraitId> = p.traits.iter().copied().collect();
        if !traits_ok(&traits, &group.traits) {
            continue;
        }
        if !in_member_of(p, &group.aggregates) || in_forbidden_aggregate(p, &group.aggregates) {
            continue;
        }
        let pick = Pick {
            allocations: group.resources.iter().map(|&(c, a)| (p.id, c, a)).collect(),
            providers: BTreeSet::from([p.id]),
        };
        let mut anchors = BTreeSet::from([p.root]);
        if p.shares {
            anchors.extend(world.sharing_anchors(p));
        }
        for a in anchors {
            if anchor_allowed(a) {
                out.push((a, pick.clone()));
            }
        }
    }
    out
}

/// `get_trees_matching_all` + `_alloc_candidates_multiple_providers`: per
/// anchor, one provider per class (its own tree's, or a sharing provider
/// anchored there), traits over the contributing providers.
fn multiple_provider_picks(
    world: &World<'_>,
    group: &Group,
    anchor_allowed: &dyn Fn(Rp) -> bool,
) -> Vec<(Rp, Pick)> {
    if group.resources.is_empty() {
        return Vec::new();
    }
    let aggs = &group.aggregates;
    let mut out = Vec::new();
    for &anchor in &world.roots {
        if !anchor_allowed(anchor) {
            continue;
        }
        let Some(anchor_rp) = world.by_id.get(&anchor) else {
            continue;
        };
        // Per class (by class id), the providers that may serve it here.
        let mut options: Vec<Vec<&SnapshotProvider>> = Vec::new();
        for &(class, amount) in &group.resources {
            let opts: Vec<&SnapshotProvider> = world
                .by_id
                .values()
                .copied()
                .filter(|p| {
                    if !inventory(p, class).is_some_and(|inv| fits(inv, amount)) {
                        return false;
                    }
                    if group.in_tree.is_some_and(|t| t != p.root) {
                        return false;
                    }
                    let own_tree = p.root == anchor;
                    let shared_here = group.in_tree.is_none()
                        && p.shares
                        && (aggs.member_of.is_empty() || in_member_of(p, aggs))
                        && world.sharing_anchors(p).contains(&anchor);
                    if !(own_tree || shared_here) {
                        return false;
                    }
                    let member_ok = aggs.member_of.is_empty()
                        || in_member_of(p, aggs)
                        || in_member_of(anchor_rp, aggs);
                    if !member_ok {
                        return false;
                    }
                    !(in_forbidden_aggregate(p, aggs) || in_forbidden_aggregate(anchor_rp, aggs))
                })
                .collect();
            options.push(opts);
        }
        if options.iter().any(Vec::is_empty) {
            continue;
        }
        let mut index = vec![0usize; options.len()];
        'product: loop {
            let chosen: Vec<&SnapshotProvider> =
                options.iter().zip(&index).map(|(o, &i)| o[i]).collect();
            let forbidden_hit = chosen
                .iter()
                .any(|p| group.traits.forbidden.iter().any(|t| p.traits.contains(t)));
            let union: BTreeSet<TraitId> = chosen
                .iter()
                .flat_map(|p| p.traits.iter().copied())
                .collect();
            let required_met = group
                .traits
                .required
                .iter()
                .all(|any| any.iter().any(|t| union.contains(t)));
            if !forbidden_hit && required_met {
                out.push((
                    anchor,
                    Pick {
                        allocations: group
                            .resources
                            .iter()
                            .zip(&chosen)
                            .map(|(&(c, a), p)| (p.id, c, a))
                            .collect(),
                        providers: chosen.iter().map(|p| p.id).collect(),
                    },
                ));
            }
            for pos in (0..index.len()).rev() {
                index[pos] += 1;
                if index[pos] < options[pos].len() {
                    continue 'product;
                }
                index[pos] = 0;
            }
            break;
        }
    }
    out
}

/// One product across groups for one anchor: group policy, `same_subtree`,
/// consolidation, the capacity re-check on summed amounts.
fn merge_one(
    world: &World<'_>,
    req: &CandidateRequest,
    suffixed: usize,
    combo: &[&Pick],
) -> Option<Candidate> {
    if req.group_policy == GroupPolicy::Isolate {
        let distinct: BTreeSet<Rp> = req
            .groups
            .iter()
            .zip(combo)
            .filter(|(g, _)| !g.is_unsuffixed())
            .flat_map(|(_, p)| p.providers.iter().copied())
            .collect();
        if distinct.len() != suffixed {
            return None;
        }
    }
    let mut mappings: BTreeMap<String, BTreeSet<Rp>> = BTreeMap::new();
    for (g, p) in req.groups.iter().zip(combo) {
        mappings
            .entry(g.suffix.clone())
            .or_default()
            .extend(p.providers.iter().copied());
    }
    for subtree in &req.same_subtree {
        let rps: BTreeSet<Rp> = subtree
            .iter()
            .filter_map(|s| mappings.get(s))
            .flatten()
            .copied()
            .collect();
        if rps.len() > 1 {
            let mut common: Option<BTreeSet<Rp>> = None;
            for &rp in &rps {
                let anc = world.ancestors_or_self(rp);
                common = Some(match common {
                    None => anc,
                    Some(c) => c.intersection(&anc).copied().collect(),
                });
            }
            let common = common.unwrap_or_default();
            if !rps.iter().any(|r| common.contains(r)) {
                return None;
            }
        }
    }
    let mut sums: BTreeMap<(Rp, ResourceClassId), i64> = BTreeMap::new();
    for p in combo {
        for &(rp, class, amount) in &p.allocations {
            *sums.entry((rp, class)).or_default() += amount;
        }
    }
    for (&(rp, class), &sum) in &sums {
        let inv = world.by_id.get(&rp).and_then(|p| inventory(p, class))?;
        if inv.used + sum > int_capacity(inv) || sum > inv.max_unit {
            return None;
        }
    }
    Some(Candidate {
        allocations: sums
            .into_iter()
            .map(|((provider, class), amount)| CandidateAllocation {
                provider,
                class,
                amount,
            })
            .collect(),
        mappings: mappings
            .into_iter()
            .map(|(s, rps)| (s, rps.into_iter().collect()))
            .collect(),
    })
}

/// Small random deployments and requests, from a seed.
pub(super) mod gen {
    use std::fmt::Write as _;

    use super::super::model::{
        AggregateCondition, Candidate, CandidateRequest, EngineOptions, GenerationStrategy, Group,
        GroupPolicy, GroupPrecheck, LazyError, Snapshot, SnapshotInventory, SnapshotProvider,
        TraitCondition,
    };
    use crate::ids::{AggregateId, ResourceClassId, ResourceProviderId, TraitId};

    /// An aggregate no provider belongs to (a `member_of` UUID that exists
    /// but names nobody).
    const LONELY_AGGREGATE: AggregateId = AggregateId(99);

    /// SplitMix64: tiny, seedable, good enough to spread small cases.
    pub(in crate::candidates) struct Rng(u64);

    impl Rng {
        pub(in crate::candidates) fn new(seed: u64) -> Rng {
            Rng(seed)
        }

        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in `0..n` (`n >= 1`).
        fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }

        /// Uniform in `lo..=hi`.
        fn range(&mut self, lo: i64, hi: i64) -> i64 {
            lo + self.below((hi - lo + 1) as usize) as i64
        }

        /// True with probability `1/n`.
        fn one_in(&mut self, n: usize) -> bool {
            self.below(n) == 0
        }

        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
    }

    /// One generated case: a whole deployment as the snapshot, a request,
    /// options.
    #[derive(Debug, Clone)]
    pub(in crate::candidates) struct Case {
        pub(in crate::candidates) snapshot: Snapshot,
        pub(in crate::candidates) request: CandidateRequest,
        pub(in crate::candidates) options: EngineOptions,
    }

    const CLASSES: [ResourceClassId; 3] =
        [ResourceClassId(0), ResourceClassId(1), ResourceClassId(2)];
    const TRAITS: [TraitId; 4] = [TraitId(1), TraitId(2), TraitId(3), TraitId(4)];
    const AGGREGATES: [AggregateId; 3] = [AggregateId(1), AggregateId(2), AggregateId(3)];

    fn subset<T: Copy + Ord>(rng: &mut Rng, items: &[T], one_in: usize) -> Vec<T> {
        let mut out: Vec<T> = items
            .iter()
            .copied()
            .filter(|_| rng.one_in(one_in))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn deployment(rng: &mut Rng) -> Snapshot {
        let n_roots = rng.pick(&[1, 1, 2, 2, 3, 4]);
        let flat = rng.one_in(4);
        let total = if flat {
            n_roots
        } else {
            (n_roots + rng.below(9 - n_roots)).min(8)
        };
        let no_sharing = rng.one_in(3);
        let mut providers: Vec<SnapshotProvider> = Vec::new();
        let mut levels: Vec<usize> = Vec::new();
        for i in 0..total {
            let id = ResourceProviderId(i as i64 + 1);
            let (parent, root, level) = if i < n_roots {
                (None, id, 0)
            } else {
                // A parent with room below it (depth at most 3 levels).
                let eligible: Vec<usize> =
                    (0..providers.len()).filter(|&j| levels[j] < 2).collect();
                let j = rng.pick(&eligible);
                (Some(providers[j].id), providers[j].root, levels[j] + 1)
            };
            let shares = !no_sharing && rng.one_in(if parent.is_none() { 3 } else { 8 });
            let traits = subset(rng, &TRAITS, 3);
            let aggregates = subset(rng, &AGGREGATES, if shares { 2 } else { 3 });
            let mut inventories = Vec::new();
            for class in CLASSES {
                if rng.one_in(4) {
                    continue;
                }
                let total = rng.range(1, 8);
                let reserved = if rng.one_in(6) {
                    rng.range(0, total)
                } else {
                    0
                };
                let min_unit = if rng.one_in(8) { 2 } else { 1 };
                let max_unit = if rng.one_in(5) {
                    rng.range(min_unit, total.max(min_unit))
                } else {
                    total
                };
                let step_size = if rng.one_in(8) { 2 } else { 1 };
                let allocation_ratio =
                    rng.pick(&[1.0, 1.0, 1.0, 1.0, 0.5, 1.5, 2.0, 0.75, 1.3, 0.9]);
                let cap = ((total - reserved) as f64 * allocation_ratio) as i64;
                let used = if rng.one_in(5) {
                    rng.range(0, cap.max(0) + 1)
                } else {
                    0
                };
                inventories.push(SnapshotInventory {
                    class,
                    total,
                    reserved,
                    min_unit,
                    max_unit,
                    step_size,
                    allocation_ratio,
                    used,
                });
            }
            providers.push(SnapshotProvider {
                id,
                parent,
                root,
                traits,
                aggregates,
                inventories,
                shares,
            });
            levels.push(level);
        }
        let has_trees = providers.iter().any(|p| p.parent.is_some());
        let has_sharing = providers.iter().any(|p| p.shares);
        Snapshot {
            providers,
            has_trees,
            has_sharing,
            anchors_below: None,
        }
    }

    fn trait_condition(rng: &mut Rng, required_one_in: usize) -> TraitCondition {
        let forbidden = if rng.one_in(5) {
            vec![rng.pick(&TRAITS)]
        } else {
            Vec::new()
        };
        let mut required = Vec::new();
        if rng.one_in(required_one_in) {
            for _ in 0..1 + rng.below(2) {
                let mut set: Vec<TraitId> =
                    (0..1 + rng.below(2)).map(|_| rng.pick(&TRAITS)).collect();
                set.sort();
                set.dedup();
                // Upstream rejects an any-of set that is all forbidden.
                if set.iter().all(|t| forbidden.contains(t)) {
                    continue;
                }
                required.push(set);
            }
        }
        TraitCondition {
            required,
            forbidden,
        }
    }

    fn aggregate_condition(rng: &mut Rng, member_one_in: usize) -> AggregateCondition {
        let mut member_of = Vec::new();
        if rng.one_in(member_one_in) {
            for _ in 0..1 + rng.below(2) {
                let mut set: Vec<AggregateId> = if rng.one_in(12) {
                    // Every UUID unknown: resolves to nothing.
                    Vec::new()
                } else {
                    (0..1 + rng.below(2))
                        .map(|_| {
                            if rng.one_in(6) {
                                LONELY_AGGREGATE
                            } else {
                                rng.pick(&AGGREGATES)
                            }
                        })
                        .collect()
                };
                set.sort();
                set.dedup();
                member_of.push(set);
            }
        }
        let forbidden = if rng.one_in(6) {
            vec![rng.pick(&AGGREGATES)]
        } else {
            Vec::new()
        };
        AggregateCondition {
            member_of,
            forbidden,
        }
    }

    fn request(rng: &mut Rng, snap: &Snapshot) -> CandidateRequest {
        let n_groups = if rng.one_in(3) { 1 } else { 1 + rng.below(4) };
        let unsuffixed_at = if rng.one_in(2) {
            Some(rng.below(n_groups))
        } else {
            None
        };
        let loose = rng.one_in(2);
        let names = ["1", "2", "_A", "B"];
        let mut groups = Vec::new();
        let mut next_name = 0;
        for i in 0..n_groups {
            let unsuffixed = unsuffixed_at == Some(i);
            let suffix = if unsuffixed {
                String::new()
            } else {
                next_name += 1;
                names[next_name - 1].to_string()
            };
            let n_classes = if unsuffixed {
                rng.pick(&[1, 1, 2, 3])
            } else {
                rng.pick(&[0, 1, 1, 1, 1, 2, 2])
            };
            let mut classes: Vec<ResourceClassId> = CLASSES.to_vec();
            while classes.len() > n_classes {
                let k = rng.below(classes.len());
                classes.remove(k);
            }
            let resources: Vec<(ResourceClassId, i64)> = classes
                .into_iter()
                .map(|c| (c, if rng.one_in(4) { rng.range(2, 3) } else { 1 }))
                .collect();
            let resourceless = resources.is_empty();
            let traits = trait_condition(rng, if resourceless { 2 } else { 4 });
            let aggregates = aggregate_condition(rng, if resourceless { 2 } else { 5 });
            let in_tree = if rng.one_in(8) {
                let p = &snap.providers[rng.below(snap.providers.len())];
                Some(p.root)
            } else {
                None
            };
            let (mut traits, mut aggregates, mut in_tree) = (traits, aggregates, in_tree);
            if loose && !resourceless && !rng.one_in(4) {
                // Fewer conditions, so that several groups still meet.
                traits = TraitCondition::default();
                aggregates = AggregateCondition::default();
                in_tree = None;
            }
            let precheck = match rng.below(60) {
                0 => GroupPrecheck::Empty,
                1 => GroupPrecheck::Fail(LazyError::NoSuchTraits("CUSTOM_MISSING".into())),
                2 => GroupPrecheck::Fail(LazyError::NoSuchResourceClass("CUSTOM_GONE".into())),
                _ => GroupPrecheck::Ready,
            };
            groups.push(Group {
                suffix,
                resources,
                traits,
                aggregates,
                in_tree,
                precheck,
            });
        }
        // Upstream needs at least one group with resources.
        if groups.iter().all(|g| g.resources.is_empty()) {
            groups[0].resources.push((rng.pick(&CLASSES), 1));
        }
        let suffixes: Vec<String> = groups
            .iter()
            .filter(|g| !g.is_unsuffixed())
            .map(|g| g.suffix.clone())
            .collect();
        let resourceless: Vec<String> = groups
            .iter()
            .filter(|g| !g.is_unsuffixed() && g.resources.is_empty())
            .map(|g| g.suffix.clone())
            .collect();
        let mut same_subtree: Vec<Vec<String>> = Vec::new();
        if !resourceless.is_empty() || (!suffixes.is_empty() && rng.one_in(4)) {
            // Resourceless groups must be named in `same_subtree`.
            let mut entry = resourceless.clone();
            for s in &suffixes {
                if !entry.contains(s) && rng.one_in(2) {
                    entry.push(s.clone());
                }
            }
            if entry.is_empty() {
                entry.push(suffixes[rng.below(suffixes.len())].clone());
            }
            same_subtree.push(entry);
            if suffixes.len() > 1 && rng.one_in(4) {
                let a = suffixes[rng.below(suffixes.len())].clone();
                let b = suffixes[rng.below(suffixes.len())].clone();
                let mut e = vec![a];
                if !e.contains(&b) {
                    e.push(b);
                }
                same_subtree.push(e);
            }
        }
        let group_policy = if rng.one_in(2) {
            GroupPolicy::Isolate
        } else {
            GroupPolicy::None
        };
        let root_required = if rng.one_in(6) {
            let forbidden = if rng.one_in(2) {
                vec![rng.pick(&TRAITS)]
            } else {
                Vec::new()
            };
            let required: Vec<Vec<TraitId>> = if rng.one_in(2) {
                let t = rng.pick(&TRAITS);
                if forbidden.contains(&t) {
                    Vec::new()
                } else {
                    vec![vec![t]]
                }
            } else {
                Vec::new()
            };
            TraitCondition {
                required,
                forbidden,
            }
        } else {
            TraitCondition::default()
        };
        CandidateRequest {
            groups,
            group_policy,
            root_required,
            same_subtree,
        }
    }

    /// The case for one seed.
    pub(in crate::candidates) fn case(seed: u64) -> Case {
        let mut rng = Rng::new(seed);
        let mut snapshot = deployment(&mut rng);
        let request = request(&mut rng, &snapshot);
        // The store reads inventories of the requested classes only.
        let requested: Vec<ResourceClassId> = request
            .groups
            .iter()
            .flat_map(|g| g.resources.iter().map(|&(c, _)| c))
            .collect();
        for p in &mut snapshot.providers {
            p.inventories.retain(|i| requested.contains(&i.class));
        }
        let options = EngineOptions {
            limit: if rng.one_in(4) {
                Some(1 + rng.below(4))
            } else {
                None
            },
            max_candidates: if rng.one_in(5) {
                Some(rng.below(5))
            } else {
                None
            },
            strategy: if rng.one_in(2) {
                GenerationStrategy::DepthFirst
            } else {
                GenerationStrategy::BreadthFirst
            },
            random_seed: if rng.one_in(5) {
                Some(rng.next_u64())
            } else {
                None
            },
            drop_multi_provider_trees: snapshot.has_trees && rng.one_in(4),
        };
        Case {
            snapshot,
            request,
            options,
        }
    }

    fn ids<T: std::fmt::Display>(items: &[T]) -> String {
        items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    fn sets<T: std::fmt::Display>(items: &[Vec<T>]) -> String {
        items
            .iter()
            .map(|s| format!("[{}]", ids(s)))
            .collect::<Vec<_>>()
            .join("")
    }

    /// A readable dump of a case, for a failure message.
    pub(in crate::candidates) fn describe(case: &Case) -> String {
        let mut out = String::new();
        let s = &case.snapshot;
        let _ = writeln!(
            out,
            "deployment (has_trees={}, has_sharing={}):",
            s.has_trees, s.has_sharing
        );
        for p in &s.providers {
            let parent = p.parent.map_or("-".to_string(), |x| x.to_string());
            let _ = write!(
                out,
                "  rp{} parent={} root={}{} traits=[{}] aggs=[{}]",
                p.id,
                parent,
                p.root,
                if p.shares { " SHARES" } else { "" },
                ids(&p.traits),
                ids(&p.aggregates)
            );
            for i in &p.inventories {
                let _ = write!(
                    out,
                    " | c{} total={} res={} min={} max={} step={} ratio={} used={}",
                    i.class,
                    i.total,
                    i.reserved,
                    i.min_unit,
                    i.max_unit,
                    i.step_size,
                    i.allocation_ratio,
                    i.used
                );
            }
            out.push('\n');
        }
        let r = &case.request;
        let _ = writeln!(
            out,
            "request: policy={:?} root_required=+{} -[{}] same_subtree={:?}",
            r.group_policy,
            sets(&r.root_required.required),
            ids(&r.root_required.forbidden),
            r.same_subtree
        );
        for g in &r.groups {
            let res: Vec<String> = g
                .resources
                .iter()
                .map(|(c, a)| format!("c{c}:{a}"))
                .collect();
            let _ = writeln!(
                out,
                "  group {:?} {:?} resources=[{}] required={} !traits=[{}] member_of={} !aggs=[{}] in_tree={:?}",
                g.suffix,
                g.precheck,
                res.join(","),
                sets(&g.traits.required),
                ids(&g.traits.forbidden),
                sets(&g.aggregates.member_of),
                ids(&g.aggregates.forbidden),
                g.in_tree.map(|t| t.0)
            );
        }
        let _ = writeln!(out, "options: {:?}", case.options);
        out
    }

    /// One candidate on one line: `rp1:c0=2 rp3:c2=1 {"":[1,3],"1":[1]}`.
    pub(in crate::candidates) fn show(c: &Candidate) -> String {
        let allocs: Vec<String> = c
            .allocations
            .iter()
            .map(|a| format!("rp{}:c{}={}", a.provider, a.class, a.amount))
            .collect();
        let maps: Vec<String> = c
            .mappings
            .iter()
            .map(|(s, rps)| format!("{s:?}:[{}]", ids(rps)))
            .collect();
        format!("{} {{{}}}", allocs.join(" "), maps.join(","))
    }
}

#[cfg(test)]
mod tests {
    //! The reference against answers upstream's gabbi files assert, on the
    //! shapes of upstream's fixtures (`fixtures/gabbits.py`).

    use std::collections::BTreeMap;

    use super::super::model::{
        Candidate, CandidateRequest, EngineOptions, Group, GroupPolicy, GroupPrecheck, LazyError,
        Snapshot, SnapshotInventory, SnapshotProvider, SummaryScope, TraitCondition,
    };
    use super::reference;
    use crate::ids::{AggregateId, ResourceClassId, ResourceProviderId, TraitId};

    const VCPU: ResourceClassId = ResourceClassId(0);
    const MEMORY_MB: ResourceClassId = ResourceClassId(1);
    const DISK_GB: ResourceClassId = ResourceClassId(2);
    const SRIOV_NET_VF: ResourceClassId = ResourceClassId(3);
    const FPGA: ResourceClassId = ResourceClassId(4);
    const VGPU: ResourceClassId = ResourceClassId(5);
    const NET_BW_EGR: ResourceClassId = ResourceClassId(6);
    const CUSTOM_VF: ResourceClassId = ResourceClassId(10001);

    const HW_CPU_X86_SSE: TraitId = TraitId(1);
    const HW_CPU_X86_SSE2: TraitId = TraitId(2);
    const COMPUTE_VOLUME_MULTI_ATTACH: TraitId = TraitId(3);
    const HW_NUMA_ROOT: TraitId = TraitId(4);
    const CUSTOM_FOO: TraitId = TraitId(5);
    const CUSTOM_VNIC_TYPE_DIRECT: TraitId = TraitId(6);
    const CUSTOM_VNIC_TYPE_NORMAL: TraitId = TraitId(7);
    const CUSTOM_HW_NIC_ROOT: TraitId = TraitId(8);
    const CUSTOM_PHYSNET0: TraitId = TraitId(10);
    const CUSTOM_PHYSNET1: TraitId = TraitId(11);
    const CUSTOM_PHYSNET2: TraitId = TraitId(12);

    const AGG: AggregateId = AggregateId(1);

    /// A deployment built by name, like upstream's `tb.create_provider`.
    #[derive(Default)]
    struct Fixture {
        snap: Snapshot,
        ids: BTreeMap<&'static str, ResourceProviderId>,
    }

    impl Fixture {
        fn id(&self, name: &str) -> ResourceProviderId {
            self.ids[name]
        }

        fn rp(&mut self, name: &'static str, parent: Option<&str>) -> &mut Self {
            let id = ResourceProviderId(self.ids.len() as i64 + 1);
            let parent = parent.map(|p| self.id(p));
            let root = parent.map_or(id, |p| self.get(p).root);
            self.ids.insert(name, id);
            self.snap.providers.push(SnapshotProvider {
                id,
                parent,
                root,
                traits: Vec::new(),
                aggregates: Vec::new(),
                inventories: Vec::new(),
                shares: false,
            });
            self.snap.has_trees |= parent.is_some();
            self
        }

        fn get(&mut self, id: ResourceProviderId) -> &mut SnapshotProvider {
            self.snap.providers.iter_mut().find(|p| p.id == id).unwrap()
        }

        fn named(&mut self, name: &str) -> &mut SnapshotProvider {
            let id = self.id(name);
            self.get(id)
        }

        /// `tb.add_inventory` defaults: max_unit = total, ratio 1.
        fn inv(
            &mut self,
            name: &str,
            class: ResourceClassId,
            total: i64,
        ) -> &mut SnapshotInventory {
            let p = self.named(name);
            p.inventories.push(SnapshotInventory {
                class,
                total,
                reserved: 0,
                min_unit: 1,
                max_unit: total,
                step_size: 1,
                allocation_ratio: 1.0,
                used: 0,
            });
            p.inventories.sort_by_key(|i| i.class);
            p.inventories.iter_mut().find(|i| i.class == class).unwrap()
        }

        fn traits(&mut self, name: &str, traits: &[TraitId]) {
            let p = self.named(name);
            p.traits = traits.to_vec();
            p.traits.sort();
        }

        fn aggregate(&mut self, name: &str) {
            self.named(name).aggregates = vec![AGG];
        }

        fn shares(&mut self, name: &str) {
            self.named(name).shares = true;
            self.snap.has_sharing = true;
        }

        fn uses(&self, c: &Candidate, name: &str, class: ResourceClassId) -> Option<i64> {
            let id = self.id(name);
            c.allocations
                .iter()
                .find(|a| a.provider == id && a.class == class)
                .map(|a| a.amount)
        }
    }

    /// `SharedStorageFixture`: cn1 (SSE, SSE2) and cn2 (local disk) with
    /// NUMA and PF children, ss and ss2 sharing disk, all four in one
    /// aggregate.
    fn shared_storage() -> Fixture {
        let mut f = Fixture::default();
        f.rp("cn1", None)
            .rp("cn2", None)
            .rp("ss", None)
            .rp("ss2", None);
        f.rp("numa1_1", Some("cn1")).rp("numa1_2", Some("cn1"));
        f.rp("numa2_1", Some("cn2")).rp("numa2_2", Some("cn2"));
        f.rp("pf1_1", Some("numa1_1")).rp("pf1_2", Some("numa1_2"));
        f.rp("pf2_1", Some("numa2_1")).rp("pf2_2", Some("numa2_2"));
        for cn in ["cn1", "cn2"] {
            f.aggregate(cn);
            f.inv(cn, VCPU, 24).allocation_ratio = 16.0;
            f.inv(cn, MEMORY_MB, 128 * 1024).allocation_ratio = 1.5;
        }
        f.traits("cn1", &[HW_CPU_X86_SSE, HW_CPU_X86_SSE2]);
        f.inv("cn2", DISK_GB, 2000).reserved = 100;
        for ss in ["ss", "ss2"] {
            f.aggregate(ss);
            f.shares(ss);
            f.inv(ss, DISK_GB, 2000).reserved = 100;
        }
        for pf in ["pf1_1", "pf1_2", "pf2_1", "pf2_2"] {
            f.inv(pf, SRIOV_NET_VF, 8);
        }
        f
    }

    /// `NUMANetworkFixture`: cn1 (no inventory) over two NUMA nodes with
    /// devices and two network agents; cn2 with VCPU/MEMORY_MB/DISK_GB over
    /// three NICs of PFs; ss1 sharing disk with both through aggA.
    fn numa_network() -> Fixture {
        let mut f = Fixture::default();
        f.rp("ss1", None);
        f.aggregate("ss1");
        f.shares("ss1");
        f.inv("ss1", DISK_GB, 2000);
        f.rp("cn1", None);
        f.aggregate("cn1");
        f.traits("cn1", &[COMPUTE_VOLUME_MULTI_ATTACH]);
        f.rp("numa0", Some("cn1")).rp("numa1", Some("cn1"));
        f.traits("numa0", &[HW_NUMA_ROOT]);
        f.traits("numa1", &[HW_NUMA_ROOT, CUSTOM_FOO]);
        f.inv("numa0", VCPU, 4).used = 2;
        f.inv("numa1", VCPU, 4);
        let m0 = f.inv("numa0", MEMORY_MB, 2048);
        m0.min_unit = 512;
        m0.step_size = 256;
        let m1 = f.inv("numa1", MEMORY_MB, 2048);
        m1.min_unit = 256;
        m1.max_unit = 1024;
        f.rp("fpga0", Some("numa0")).rp("pgpu0", Some("numa0"));
        f.inv("fpga0", FPGA, 1);
        f.inv("pgpu0", VGPU, 8);
        f.rp("fpga1_0", Some("numa1")).rp("fpga1_1", Some("numa1"));
        f.inv("fpga1_0", FPGA, 1);
        f.inv("fpga1_1", FPGA, 1);
        f.rp("sriov_agent", Some("cn1"));
        f.traits("sriov_agent", &[CUSTOM_VNIC_TYPE_DIRECT]);
        f.rp("esn1", Some("sriov_agent"))
            .rp("esn2", Some("sriov_agent"));
        f.traits("esn1", &[CUSTOM_PHYSNET1]);
        f.traits("esn2", &[CUSTOM_PHYSNET2]);
        f.inv("esn1", NET_BW_EGR, 10000);
        f.inv("esn2", NET_BW_EGR, 20000);
        f.rp("ovs_agent", Some("cn1"));
        f.traits("ovs_agent", &[CUSTOM_VNIC_TYPE_NORMAL]);
        f.rp("br_int", Some("ovs_agent"));
        f.traits("br_int", &[CUSTOM_PHYSNET0]);
        f.inv("br_int", NET_BW_EGR, 1000);
        f.rp("cn2", None);
        f.aggregate("cn2");
        f.inv("cn2", VCPU, 8).used = 3;
        let m2 = f.inv("cn2", MEMORY_MB, 2048);
        m2.min_unit = 1024;
        m2.step_size = 128;
        f.inv("cn2", DISK_GB, 1000);
        f.traits("cn2", &[CUSTOM_FOO]);
        for nic in ["nic1", "nic2", "nic3"] {
            f.rp(nic, Some("cn2"));
            f.traits(nic, &[CUSTOM_HW_NIC_ROOT]);
        }
        let pfs: [(&'static str, &str, TraitId, i64); 7] = [
            ("pf1_1", "nic1", CUSTOM_PHYSNET1, 4),
            ("pf1_2", "nic1", CUSTOM_PHYSNET2, 4),
            ("pf2_1", "nic2", CUSTOM_PHYSNET1, 2),
            ("pf2_2", "nic2", CUSTOM_PHYSNET2, 2),
            ("pf2_3", "nic2", CUSTOM_PHYSNET1, 2),
            ("pf2_4", "nic2", CUSTOM_PHYSNET2, 2),
            ("pf3_1", "nic3", CUSTOM_PHYSNET1, 8),
        ];
        for (pf, nic, net, vfs) in pfs {
            f.rp(pf, Some(nic));
            f.traits(pf, &[net]);
            f.inv(pf, CUSTOM_VF, vfs);
        }
        f
    }

    fn group(suffix: &str, resources: &[(ResourceClassId, i64)]) -> Group {
        let mut resources = resources.to_vec();
        resources.sort();
        Group {
            suffix: suffix.to_string(),
            resources,
            traits: TraitCondition::default(),
            aggregates: Default::default(),
            in_tree: None,
            precheck: GroupPrecheck::Ready,
        }
    }

    fn required(mut g: Group, traits: &[TraitId]) -> Group {
        g.traits.required = traits.iter().map(|&t| vec![t]).collect();
        g
    }

    fn forbidden(mut g: Group, traits: &[TraitId]) -> Group {
        g.traits.forbidden = traits.to_vec();
        g
    }

    fn request(groups: Vec<Group>) -> CandidateRequest {
        CandidateRequest {
            groups,
            group_policy: GroupPolicy::None,
            root_required: TraitCondition::default(),
            same_subtree: Vec::new(),
        }
    }

    fn run(f: &Fixture, req: &CandidateRequest) -> Vec<Candidate> {
        reference(&f.snap, req, &EngineOptions::default())
            .unwrap()
            .candidates
    }

    fn root_required(mut req: CandidateRequest, traits: &[TraitId]) -> CandidateRequest {
        req.root_required.required = traits.iter().map(|&t| vec![t]).collect();
        req
    }

    fn subtree(mut req: CandidateRequest, suffixes: &[&str]) -> CandidateRequest {
        req.same_subtree
            .push(suffixes.iter().map(ToString::to_string).collect());
        req
    }

    fn isolate(mut req: CandidateRequest) -> CandidateRequest {
        req.group_policy = GroupPolicy::Isolate;
        req
    }

    #[test]
    fn shared_storage_serves_both_computes_and_local_disk_once() {
        // allocation-candidates.yaml "get allocation candidates no
        // allocations yet" (1.10: the nested filter is on).
        let f = shared_storage();
        let req = request(vec![group(
            "",
            &[(VCPU, 1), (MEMORY_MB, 1024), (DISK_GB, 100)],
        )]);
        let opts = EngineOptions {
            drop_multi_provider_trees: true,
            ..EngineOptions::default()
        };
        let got = reference(&f.snap, &req, &opts).unwrap();
        assert_eq!(got.candidates.len(), 5);
        let disk_from = |name| {
            got.candidates
                .iter()
                .filter(|c| f.uses(c, name, DISK_GB) == Some(100))
                .count()
        };
        assert_eq!(
            (disk_from("cn2"), disk_from("ss"), disk_from("ss2")),
            (1, 2, 2)
        );
        let mut four = vec![f.id("cn1"), f.id("cn2"), f.id("ss"), f.id("ss2")];
        four.sort();
        assert_eq!(got.summaries, SummaryScope::Providers(four));
    }

    #[test]
    fn a_required_trait_on_the_compute_keeps_only_its_sharing_candidates() {
        // "get allocation candidates with required trait" / "... forbidden trait".
        let f = shared_storage();
        let g = group("", &[(VCPU, 1), (MEMORY_MB, 1024), (DISK_GB, 100)]);
        let with = run(&f, &request(vec![required(g.clone(), &[HW_CPU_X86_SSE])]));
        assert_eq!(with.len(), 2);
        assert!(with.iter().all(|c| f.uses(c, "cn1", VCPU) == Some(1)));
        let without = run(&f, &request(vec![forbidden(g, &[HW_CPU_X86_SSE])]));
        assert_eq!(without.len(), 3);
        assert!(without.iter().all(|c| f.uses(c, "cn2", VCPU) == Some(1)));
    }

    #[test]
    fn same_subtree_ties_the_accelerator_to_its_numa_node() {
        // granular-same-subtree.yaml "no resourceless ... same subtree".
        let f = numa_network();
        let req = request(vec![
            group("_COMPUTE", &[(VCPU, 1)]),
            group("_ACCEL", &[(FPGA, 1)]),
        ]);
        assert_eq!(run(&f, &req).len(), 6);
        assert_eq!(run(&f, &subtree(req.clone(), &["_COMPUTE"])).len(), 6);
        let tied = run(&f, &subtree(req, &["_COMPUTE", "_ACCEL"]));
        assert_eq!(tied.len(), 3);
        assert_eq!(
            tied.iter()
                .filter(|c| f.uses(c, "numa1", VCPU) == Some(1))
                .count(),
            2
        );
    }

    #[test]
    fn same_subtree_of_one_provider_is_undone_by_isolate() {
        let f = numa_network();
        let req = subtree(
            request(vec![
                group("_COMPUTE1", &[(VCPU, 1)]),
                group("_COMPUTE2", &[(MEMORY_MB, 1024)]),
            ]),
            &["_COMPUTE1", "_COMPUTE2"],
        );
        assert_eq!(run(&f, &req).len(), 3);
        assert_eq!(run(&f, &isolate(req)).len(), 0);
    }

    #[test]
    fn a_resourceless_group_ties_two_ports_to_one_nic() {
        // "resourceful without same subtree" and "resourceless with same
        // subtree 4VFs".
        let f = numa_network();
        let groups = vec![
            group("", &[(VCPU, 1)]),
            required(group("_PORT1", &[(CUSTOM_VF, 4)]), &[CUSTOM_PHYSNET1]),
            required(group("_PORT2", &[(CUSTOM_VF, 4)]), &[CUSTOM_PHYSNET2]),
        ];
        assert_eq!(run(&f, &request(groups.clone())).len(), 2);
        let mut with_nic = groups;
        with_nic.insert(1, required(group("_NIC", &[]), &[CUSTOM_HW_NIC_ROOT]));
        let got = run(
            &f,
            &subtree(request(with_nic), &["_NIC", "_PORT1", "_PORT2"]),
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].allocations.len(), 3);
        assert_eq!(f.uses(&got[0], "pf1_1", CUSTOM_VF), Some(4));
        assert_eq!(got[0].mappings["_NIC"], vec![f.id("nic1")]);
    }

    #[test]
    fn root_required_looks_at_the_anchor_root_only() {
        // allocation-candidates-root-required.yaml.
        let f = numa_network();
        let vcpu = request(vec![group("", &[(VCPU, 1)])]);
        assert_eq!(run(&f, &root_required(vcpu, &[HW_NUMA_ROOT])).len(), 0);
        let cm = request(vec![group("", &[(VCPU, 1), (MEMORY_MB, 1024)])]);
        assert_eq!(
            run(&f, &root_required(cm, &[COMPUTE_VOLUME_MULTI_ATTACH])).len(),
            4
        );
        let granular = request(vec![
            group("1", &[(VCPU, 1)]),
            group("2", &[(MEMORY_MB, 1024)]),
        ]);
        let granular = root_required(granular, &[COMPUTE_VOLUME_MULTI_ATTACH]);
        assert_eq!(run(&f, &granular).len(), 4);
        assert_eq!(run(&f, &isolate(granular)).len(), 2);
        let sharing = request(vec![group(
            "",
            &[(VCPU, 1), (MEMORY_MB, 1024), (DISK_GB, 100)],
        )]);
        assert_eq!(
            run(&f, &root_required(sharing, &[COMPUTE_VOLUME_MULTI_ATTACH])).len(),
            4
        );
        let split = request(vec![
            group("1", &[(VCPU, 1), (MEMORY_MB, 1024)]),
            group("2", &[(DISK_GB, 100)]),
        ]);
        assert_eq!(
            run(&f, &root_required(split, &[COMPUTE_VOLUME_MULTI_ATTACH])).len(),
            2
        );
    }

    #[test]
    fn unsuffixed_traits_count_contributing_providers_not_the_root() {
        // "trait exists on root and child in separate trees", cases 1-4.
        let f = numa_network();
        let unsuffixed = group("", &[(VCPU, 1), (DISK_GB, 100)]);
        assert_eq!(
            run(
                &f,
                &request(vec![required(unsuffixed.clone(), &[CUSTOM_FOO])])
            )
            .len(),
            3
        );
        assert_eq!(
            run(&f, &root_required(request(vec![unsuffixed]), &[CUSTOM_FOO])).len(),
            2
        );
        let split = vec![
            required(group("1", &[(VCPU, 1)]), &[CUSTOM_FOO]),
            group("2", &[(DISK_GB, 100)]),
        ];
        assert_eq!(run(&f, &request(split)).len(), 3);
        let split = request(vec![
            group("1", &[(VCPU, 1)]),
            group("2", &[(DISK_GB, 100)]),
        ]);
        assert_eq!(run(&f, &root_required(split, &[CUSTOM_FOO])).len(), 2);
    }

    #[test]
    fn a_later_bad_name_is_hidden_by_an_earlier_empty_group() {
        let f = shared_storage();
        let mut bad = group("2", &[(VCPU, 1)]);
        bad.precheck = GroupPrecheck::Fail(LazyError::NoSuchTraits("CUSTOM_NOPE".into()));
        let empty_first = request(vec![group("1", &[(VGPU, 1)]), bad.clone()]);
        let got = reference(&f.snap, &empty_first, &EngineOptions::default()).unwrap();
        assert!(got.candidates.is_empty());
        let matching_first = request(vec![group("1", &[(VCPU, 1)]), bad]);
        assert_eq!(
            reference(&f.snap, &matching_first, &EngineOptions::default()),
            Err(LazyError::NoSuchTraits("CUSTOM_NOPE".into()))
        );
    }

    #[test]
    fn a_sharing_provider_serves_the_unsuffixed_group_at_every_anchor() {
        // NOTE(upstream): `_alloc_candidates_multiple_providers` unions the
        // per-tree request sets, and `AllocationRequest` equality ignores the
        // anchor, so an unsuffixed request served by sharing providers alone
        // survives at only one anchor (whichever tree Python's set yields
        // first); the other computes then lose every candidate. We keep it at
        // every anchor, as CANDIDATES-NOTES §4.3 states the rule.
        let f = shared_storage();
        let req = request(vec![group("", &[(DISK_GB, 100)]), group("1", &[(VCPU, 1)])]);
        let got = run(&f, &req);
        assert_eq!(got.len(), 5);
        assert_eq!(
            got.iter()
                .filter(|c| f.uses(c, "cn1", VCPU) == Some(1))
                .count(),
            2
        );
    }

    #[test]
    fn two_groups_on_one_provider_do_not_leak_their_sum_into_other_candidates() {
        // NOTE(upstream): `copy_arr_if_needed` copies only when group_policy
        // is the string "none"; absent (None) or "isolate", consolidation adds
        // into the first group's shared AllocationRequestResource, so every
        // later product reusing it reports the summed amount. We sum per
        // candidate only.
        let mut f = Fixture::default();
        f.rp("cn", None).rp("numa", Some("cn"));
        f.inv("cn", VCPU, 8);
        f.inv("numa", VCPU, 8);
        let got = run(
            &f,
            &request(vec![group("", &[(VCPU, 1)]), group("1", &[(VCPU, 1)])]),
        );
        let shapes: Vec<(Option<i64>, Option<i64>)> = got
            .iter()
            .map(|c| (f.uses(c, "cn", VCPU), f.uses(c, "numa", VCPU)))
            .collect();
        assert_eq!(got.len(), 4);
        assert_eq!(
            shapes.iter().filter(|s| **s == (Some(1), Some(1))).count(),
            2
        );
        assert!(shapes.contains(&(Some(2), None)) && shapes.contains(&(None, Some(2))));
    }

    #[test]
    fn summed_amounts_are_rechecked_against_capacity_and_max_unit() {
        // Two groups each fit a provider alone but not together.
        let mut f = Fixture::default();
        f.rp("cn", None);
        f.inv("cn", VCPU, 3);
        let req = request(vec![group("1", &[(VCPU, 2)]), group("2", &[(VCPU, 2)])]);
        assert!(run(&f, &req).is_empty());
        f.named("cn").inventories[0].total = 4;
        f.named("cn").inventories[0].max_unit = 3;
        assert!(run(&f, &req).is_empty());
        f.named("cn").inventories[0].max_unit = 4;
        assert_eq!(run(&f, &req).len(), 1);
    }
}

#[cfg(test)]
mod generator_tests {
    //! The generator must reach the interesting corners, or the
    //! differential test proves little.

    use super::gen;
    use super::reference;

    #[test]
    fn generated_cases_reach_every_kind_of_outcome_and_never_overcommit() {
        let (mut errors, mut empty, mut found, mut shared, mut multi_provider_group) =
            (0, 0, 0, 0, 0);
        for seed in 0..3000u64 {
            let case = gen::case(seed);
            let Ok(got) = reference(&case.snapshot, &case.request, &case.options) else {
                errors += 1;
                continue;
            };
            if got.candidates.is_empty() {
                empty += 1;
                continue;
            }
            found += 1;
            let by_id = |id| case.snapshot.providers.iter().find(|p| p.id == id).unwrap();
            for c in &got.candidates {
                for a in &c.allocations {
                    let p = by_id(a.provider);
                    let inv = p.inventories.iter().find(|i| i.class == a.class).unwrap();
                    let cap = ((inv.total - inv.reserved) as f64 * inv.allocation_ratio) as i64;
                    assert!(
                        inv.used + a.amount <= cap,
                        "seed {seed}: {} over-commits\n{}",
                        gen::show(c),
                        gen::describe(&case)
                    );
                }
                if c.allocations.iter().any(|a| by_id(a.provider).shares) {
                    shared += 1;
                }
                if c.mappings.get("").is_some_and(|m| m.len() > 1) {
                    multi_provider_group += 1;
                }
            }
        }
        assert!(errors > 30, "{errors} errors");
        assert!(empty > 300, "{empty} empty answers");
        assert!(found > 600, "{found} non-empty answers");
        assert!(shared > 100, "{shared} candidates using a sharing provider");
        assert!(
            multi_provider_group > 100,
            "{multi_provider_group} unsuffixed groups served by several providers"
        );
    }
}

#[cfg(test)]
mod export {
    //! Writes generated cases and the reference's answers as JSON, for
    //! checking the reference itself against upstream's Python objects
    //! (run by hand: `PLACEMENT_REFERENCE_EXPORT=cases.json cargo test -p
    //! placement-core --lib export -- --ignored`).

    use std::fmt::Write as _;

    use super::super::model::{GroupPolicy, GroupPrecheck};
    use super::{gen, reference};

    fn nums<T: std::fmt::Display>(items: &[T]) -> String {
        format!(
            "[{}]",
            items
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        )
    }

    fn nested<T: std::fmt::Display>(items: &[Vec<T>]) -> String {
        format!(
            "[{}]",
            items.iter().map(|s| nums(s)).collect::<Vec<_>>().join(",")
        )
    }

    #[test]
    #[ignore = "writes a file for a manual cross-check against upstream"]
    fn export_cases_with_reference_answers() {
        let Ok(path) = std::env::var("PLACEMENT_REFERENCE_EXPORT") else {
            return;
        };
        let count: u64 = std::env::var("PLACEMENT_REFERENCE_EXPORT_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300);
        let mut out = String::from("[\n");
        for seed in 0..count {
            let mut case = gen::case(seed);
            for g in &mut case.request.groups {
                g.precheck = GroupPrecheck::Ready;
            }
            case.options = Default::default();
            let got = reference(&case.snapshot, &case.request, &case.options).unwrap();
            let mut j = format!("{{\"seed\":{seed},\"providers\":[");
            for (i, p) in case.snapshot.providers.iter().enumerate() {
                let invs: Vec<String> = p
                    .inventories
                    .iter()
                    .map(|v| {
                        format!(
                            "[{},{},{},{},{},{},{:?},{}]",
                            v.class,
                            v.total,
                            v.reserved,
                            v.min_unit,
                            v.max_unit,
                            v.step_size,
                            v.allocation_ratio,
                            v.used
                        )
                    })
                    .collect();
                let _ = write!(
                    j,
                    "{}{{\"id\":{},\"parent\":{},\"traits\":{},\"aggs\":{},\"shares\":{},\"inv\":[{}]}}",
                    if i > 0 { "," } else { "" },
                    p.id,
                    p.parent.map_or("null".to_string(), |x| x.to_string()),
                    nums(&p.traits),
                    nums(&p.aggregates),
                    p.shares,
                    invs.join(",")
                );
            }
            j.push_str("],\"groups\":[");
            for (i, g) in case.request.groups.iter().enumerate() {
                let res: Vec<String> = g
                    .resources
                    .iter()
                    .map(|(c, a)| format!("[{c},{a}]"))
                    .collect();
                let _ = write!(
                    j,
                    "{}{{\"suffix\":{:?},\"resources\":[{}],\"required\":{},\"forbidden\":{},\"member_of\":{},\"forbidden_aggs\":{},\"in_tree\":{}}}",
                    if i > 0 { "," } else { "" },
                    g.suffix,
                    res.join(","),
                    nested(&g.traits.required),
                    nums(&g.traits.forbidden),
                    nested(&g.aggregates.member_of),
                    nums(&g.aggregates.forbidden),
                    g.in_tree.map_or("null".to_string(), |x| x.to_string())
                );
            }
            let r = &case.request;
            let rr: Vec<_> = r.root_required.required.iter().flatten().copied().collect();
            let subtrees: Vec<String> = r
                .same_subtree
                .iter()
                .map(|e| {
                    format!(
                        "[{}]",
                        e.iter()
                            .map(|s| format!("{s:?}"))
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                })
                .collect();
            let _ = write!(
                j,
                "],\"policy\":{},\"root_required\":{},\"root_forbidden\":{},\"same_subtree\":[{}],\"answer\":[",
                match r.group_policy {
                    GroupPolicy::Isolate => "\"isolate\"",
                    GroupPolicy::None => "\"none\"",
                },
                nums(&rr),
                nums(&r.root_required.forbidden),
                subtrees.join(",")
            );
            for (i, c) in got.candidates.iter().enumerate() {
                let allocs: Vec<String> = c
                    .allocations
                    .iter()
                    .map(|a| format!("[{},{},{}]", a.provider, a.class, a.amount))
                    .collect();
                let maps: Vec<String> = c
                    .mappings
                    .iter()
                    .map(|(s, rps)| format!("{s:?}:{}", nums(rps)))
                    .collect();
                let _ = write!(
                    j,
                    "{}{{\"allocations\":[{}],\"mappings\":{{{}}}}}",
                    if i > 0 { "," } else { "" },
                    allocs.join(","),
                    maps.join(",")
                );
            }
            j.push_str("]}");
            out.push_str(&j);
            out.push_str(if seed + 1 < count { ",\n" } else { "\n" });
        }
        out.push_str("]\n");
        std::fs::write(path, out).unwrap();
    }
}
