//! The allocation-candidates engine: [`generate`] turns a resolved request
//! and a snapshot into candidates and the scope of their provider
//! summaries, with upstream 16.0.0's semantics (CANDIDATES-NOTES §4) and
//! without its blow-ups.
//!
//! # Phases
//! 1. `root_required` picks the allowed anchor roots (parentless providers
//!    with the traits); none allowed answers empty.
//! 2. Groups in request order: a group's `precheck` is honoured when it is
//!    reached, then its providers are matched per anchor root
//!    (module `matching`); the first group matching nothing answers
//!    empty, hiding any later group's error as upstream does.
//! 3. Anchors present in every group are searched (module `search`):
//!    depth-first over the groups' choice levels, pruning partial
//!    assignments on capacity with existing usage and `max_unit` (summed
//!    over groups), `isolate`, the below-1.29 one-provider-per-tree rule,
//!    the unsuffixed group's traits and `same_subtree`. Before any search,
//!    an anchor is dropped when its class totals cannot hold the request
//!    (bug 2160721) or when `isolate` lacks distinct providers.
//! 4. Candidates are deduplicated on allocations plus mappings (the anchor
//!    does not count) and generation stops once `min(limit,
//!    max_allocation_candidates)` distinct ones exist. Summaries cover the
//!    trees the returned candidates take resources from.
//!
//! # Order
//! Without a random seed the order is deterministic and the same in every
//! process: anchors by root id ascending; within an anchor, assignments in
//! lexicographic order of the choice levels, where the levels are the
//! groups in request order (the unsuffixed multi-provider group expands to
//! one level per class, by class id ascending), the last level varying
//! fastest and each level's providers taken by id ascending.
//! `DepthFirst` exhausts an anchor before the next; `BreadthFirst` takes
//! one new candidate from each anchor in turn. The strategy only matters
//! when the cap or `limit` truncates. A window (a snapshot with
//! `anchors_below`) visits only the anchors below its bound, so with
//! `DepthFirst` its answer is a prefix of the whole deployment's.
//!
//! With a seed, anchors and each level's providers are visited in a seeded
//! random order, anchors always take turns (so a truncated answer is
//! spread over trees), and the answer is shuffled; the same seed gives the
//! same answer.
//!
//! # Memory
//! The engine holds the snapshot, per-group provider lists and per-anchor
//! plans (linear in the snapshot), and at most `min(limit,
//! max_allocation_candidates)` candidates; never a product.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::{Hash, Hasher};

use super::index::{AnchorFilter, Index};
use super::matching::{match_group, GroupOptions};
use super::model::{
    Candidate, CandidateRequest, EngineOptions, Generated, GenerationStrategy, GroupPolicy,
    GroupPrecheck, LazyError, Snapshot, SummaryScope,
};
use super::rng::SplitMix64;
use super::search::{AnchorSearch, Shared};
use crate::ids::ResourceProviderId;

/// Computes the allocation candidates of `request` over `snapshot`.
///
/// The snapshot must hold every provider on the parent chain of a provider
/// it holds, every provider sharing an aggregate with a sharing provider it
/// holds (they name the sharing provider's anchors), and, with
/// `root_required`, the roots meeting it (an empty set answers empty
/// before any group is looked at, as upstream does).
///
/// # Errors
/// The [`LazyError`] of the first group whose precheck fails, provided
/// every earlier group matched something.
pub fn generate(
    snapshot: &Snapshot,
    request: &CandidateRequest,
    options: &EngineOptions,
) -> Result<Generated, LazyError> {
    let index = Index::new(snapshot);
    let drop_multi = options.drop_multi_provider_trees && snapshot.has_trees;
    let empty = || Generated {
        candidates: Vec::new(),
        summaries: scope(drop_multi, Vec::new()),
    };
    let anchors = AnchorFilter::new(&index, &request.root_required);
    if anchors.allows_none() {
        return Ok(empty());
    }
    let mut groups: Vec<GroupOptions> = Vec::with_capacity(request.groups.len());
    for group in &request.groups {
        match &group.precheck {
            GroupPrecheck::Fail(error) => return Err(error.clone()),
            GroupPrecheck::Empty => return Ok(empty()),
            GroupPrecheck::Ready => {}
        }
        let multi = group.is_unsuffixed() && (snapshot.has_trees || snapshot.has_sharing);
        let found = match_group(&index, group, &anchors, multi);
        if found.is_empty() {
            return Ok(empty());
        }
        groups.push(found);
    }
    let Some((first, rest)) = groups.split_first() else {
        return Ok(empty());
    };
    let mut common: Vec<ResourceProviderId> = first
        .anchors()
        .into_iter()
        .filter(|&a| rest.iter().all(|g| g.has_anchor(a)))
        .filter(|&a| snapshot.anchors_below.is_none_or(|below| a < below))
        .collect();
    let shared = Shared {
        index: &index,
        request,
        groups: &groups,
        isolate: request.group_policy == GroupPolicy::Isolate,
        drop_multi,
        subtrees: request
            .same_subtree
            .iter()
            .map(|suffixes| {
                let mut ids: Vec<usize> = request
                    .groups
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| suffixes.contains(&g.suffix))
                    .map(|(i, _)| i)
                    .collect();
                ids.dedup();
                ids
            })
            .collect(),
    };
    let mut found = Found::new(options.target());
    match options.random_seed {
        None if options.strategy == GenerationStrategy::DepthFirst => {
            depth_first(&shared, &common, &mut found);
        }
        None => round_robin(&shared, &common, None, &mut found),
        Some(seed) => {
            let mut rng = SplitMix64::new(seed);
            rng.shuffle(&mut common);
            round_robin(&shared, &common, Some(seed), &mut found);
            rng.shuffle(&mut found.list);
        }
    }
    let candidates = found.list;
    let mut ids: BTreeSet<ResourceProviderId> = BTreeSet::new();
    let mut last = None;
    for allocation in candidates.iter().flat_map(|c| &c.allocations) {
        let p = allocation.provider;
        let id = if drop_multi {
            p
        } else {
            index.lookup(p).map_or(p, |at| index.root(at))
        };
        if last != Some(id) {
            ids.insert(id);
            last = Some(id);
        }
    }
    let summaries = scope(drop_multi, ids.into_iter().collect());
    Ok(Generated {
        candidates,
        summaries,
    })
}

fn scope(providers: bool, ids: Vec<ResourceProviderId>) -> SummaryScope {
    if providers {
        SummaryScope::Providers(ids)
    } else {
        SummaryScope::Trees(ids)
    }
}

fn depth_first(shared: &Shared<'_, '_>, anchors: &[ResourceProviderId], found: &mut Found) {
    for &anchor in anchors {
        if found.full() {
            return;
        }
        let Some(mut search) = AnchorSearch::new(shared, anchor, None) else {
            continue;
        };
        while let Some((candidate, may_repeat)) = search.next_candidate(shared) {
            found.offer(candidate, may_repeat);
            if found.full() {
                return;
            }
        }
    }
}

/// One new candidate from each anchor in turn until all are exhausted or
/// enough are found. With a seed, each anchor's options are shuffled with
/// a generator derived from the seed and the anchor, so the answer does
/// not depend on the visiting order of other anchors.
fn round_robin(
    shared: &Shared<'_, '_>,
    anchors: &[ResourceProviderId],
    seed: Option<u64>,
    found: &mut Found,
) {
    let mut ring: VecDeque<AnchorSearch> = VecDeque::new();
    for &anchor in anchors {
        if found.full() {
            return;
        }
        let mut rng = seed.map(|s| {
            #[expect(clippy::cast_sign_loss, reason = "only mixing bits into a seed")]
            let salt = anchor.0 as u64;
            SplitMix64::new(s ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        });
        if let Some(mut search) = AnchorSearch::new(shared, anchor, rng.as_mut()) {
            if take_one(shared, &mut search, found) {
                ring.push_back(search);
            }
        }
    }
    while !found.full() {
        let Some(mut search) = ring.pop_front() else {
            return;
        };
        if take_one(shared, &mut search, found) {
            ring.push_back(search);
        }
    }
}

/// Advances `search` to its next candidate not found before; false when the
/// anchor is exhausted.
fn take_one(shared: &Shared<'_, '_>, search: &mut AnchorSearch, found: &mut Found) -> bool {
    while let Some((candidate, may_repeat)) = search.next_candidate(shared) {
        if found.offer(candidate, may_repeat) {
            return true;
        }
    }
    false
}

/// The distinct candidates so far, in the order found, with a hash index
/// for deduplication (the hash only locates; equality decides) over the
/// candidates that another anchor could produce again.
struct Found {
    list: Vec<Candidate>,
    by_hash: HashMap<u64, Vec<usize>>,
    target: Option<usize>,
}

impl Found {
    fn new(target: Option<usize>) -> Self {
        Found {
            list: Vec::new(),
            by_hash: HashMap::new(),
            target,
        }
    }

    fn full(&self) -> bool {
        self.target.is_some_and(|t| self.list.len() >= t)
    }

    /// Adds `candidate` unless an equal one exists; true if added. Only a
    /// candidate that `may_repeat` can have an equal one.
    fn offer(&mut self, candidate: Candidate, may_repeat: bool) -> bool {
        if !may_repeat {
            self.list.push(candidate);
            return true;
        }
        let mut hasher = DefaultHasher::new();
        candidate.hash(&mut hasher);
        let at = self.by_hash.entry(hasher.finish()).or_default();
        if at.iter().any(|&i| self.list[i] == candidate) {
            return false;
        }
        at.push(self.list.len());
        self.list.push(candidate);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::candidates::model::{
        AggregateCondition, Group, SnapshotInventory, SnapshotProvider, TraitCondition,
    };
    use crate::ids::{AggregateId, ResourceClassId, TraitId};

    const VCPU: i64 = 0;
    const MEM: i64 = 1;
    const DISK: i64 = 2;
    const VF: i64 = 3;

    /// A provider under construction.
    struct P(SnapshotProvider);

    fn root(id: i64) -> P {
        P(SnapshotProvider {
            id: ResourceProviderId(id),
            parent: None,
            root: ResourceProviderId(id),
            traits: vec![],
            aggregates: vec![],
            inventories: vec![],
            shares: false,
        })
    }

    fn child(id: i64, parent: i64, root_id: i64) -> P {
        let mut p = root(id);
        p.0.parent = Some(ResourceProviderId(parent));
        p.0.root = ResourceProviderId(root_id);
        p
    }

    impl P {
        fn inv(self, class: i64, total: i64) -> Self {
            self.inv_with(class, total, |_| {})
        }
        fn inv_with(
            mut self,
            class: i64,
            total: i64,
            f: impl FnOnce(&mut SnapshotInventory),
        ) -> Self {
            let mut inv = SnapshotInventory {
                class: ResourceClassId(class),
                total,
                reserved: 0,
                min_unit: 1,
                max_unit: total,
                step_size: 1,
                allocation_ratio: 1.0,
                used: 0,
            };
            f(&mut inv);
            self.0.inventories.push(inv);
            self.0.inventories.sort_by_key(|i| i.class);
            self
        }
        fn traits(mut self, t: &[i64]) -> Self {
            self.0.traits = t.iter().copied().map(TraitId).collect();
            self
        }
        fn aggs(mut self, a: &[i64]) -> Self {
            self.0.aggregates = a.iter().copied().map(AggregateId).collect();
            self
        }
        fn sharing(mut self) -> Self {
            self.0.shares = true;
            self
        }
    }

    fn snap(providers: Vec<P>) -> Snapshot {
        let providers: Vec<SnapshotProvider> = providers.into_iter().map(|p| p.0).collect();
        Snapshot {
            has_trees: providers.iter().any(|p| p.parent.is_some()),
            has_sharing: providers.iter().any(|p| p.shares),
            anchors_below: None,
            providers,
        }
    }

    fn group(suffix: &str, resources: &[(i64, i64)]) -> Group {
        let mut resources: Vec<(ResourceClassId, i64)> = resources
            .iter()
            .map(|&(c, a)| (ResourceClassId(c), a))
            .collect();
        resources.sort();
        Group {
            suffix: suffix.to_owned(),
            resources,
            traits: TraitCondition::default(),
            aggregates: AggregateCondition::default(),
            in_tree: None,
            precheck: GroupPrecheck::Ready,
        }
    }

    fn required(mut g: Group, sets: &[&[i64]]) -> Group {
        g.traits.required = sets
            .iter()
            .map(|s| s.iter().copied().map(TraitId).collect())
            .collect();
        g
    }

    fn forbidden(mut g: Group, t: &[i64]) -> Group {
        g.traits.forbidden = t.iter().copied().map(TraitId).collect();
        g
    }

    fn member_of(mut g: Group, sets: &[&[i64]]) -> Group {
        g.aggregates.member_of = sets
            .iter()
            .map(|s| s.iter().copied().map(AggregateId).collect())
            .collect();
        g
    }

    fn req(groups: Vec<Group>) -> CandidateRequest {
        CandidateRequest {
            groups,
            group_policy: GroupPolicy::None,
            root_required: TraitCondition::default(),
            same_subtree: vec![],
        }
    }

    fn isolate(mut r: CandidateRequest) -> CandidateRequest {
        r.group_policy = GroupPolicy::Isolate;
        r
    }

    fn run(s: &Snapshot, r: &CandidateRequest) -> Generated {
        run_with(s, r, &EngineOptions::default())
    }

    fn run_with(s: &Snapshot, r: &CandidateRequest, o: &EngineOptions) -> Generated {
        generate(s, r, o).unwrap()
    }

    /// A candidate as `[(provider, class, amount)]`.
    fn allocs(c: &Candidate) -> Vec<(i64, i64, i64)> {
        c.allocations
            .iter()
            .map(|a| (a.provider.0, a.class.0, a.amount))
            .collect()
    }

    fn all_allocs(g: &Generated) -> Vec<Vec<(i64, i64, i64)>> {
        g.candidates.iter().map(allocs).collect()
    }

    fn maps(c: &Candidate) -> BTreeMap<String, Vec<i64>> {
        c.mappings
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().map(|p| p.0).collect()))
            .collect()
    }

    fn trees(g: &Generated) -> Vec<i64> {
        match &g.summaries {
            SummaryScope::Trees(t) => t.iter().map(|p| p.0).collect(),
            SummaryScope::Providers(_) => panic!("expected trees, got {:?}", g.summaries),
        }
    }

    fn flat(n: i64) -> Snapshot {
        snap(
            (1..=n)
                .map(|i| root(i).inv(VCPU, 8).inv(MEM, 1024))
                .collect(),
        )
    }

    /// One root (id 1) with `n` children (ids 2..) holding `units` VFs each.
    fn wide_tree(n: i64, units: i64) -> Snapshot {
        let mut ps = vec![root(1)];
        ps.extend((0..n).map(|i| child(2 + i, 1, 1).inv(VF, units)));
        snap(ps)
    }

    fn vf_groups(n: usize) -> Vec<Group> {
        (1..=n).map(|i| group(&i.to_string(), &[(VF, 1)])).collect()
    }

    // ---- groups, prechecks, root_required -------------------------------

    #[test]
    fn a_failing_precheck_surfaces_when_its_group_is_reached() {
        let mut bad = group("2", &[(MEM, 1)]);
        bad.precheck = GroupPrecheck::Fail(LazyError::NoSuchTraits("CUSTOM_X".into()));
        let r = req(vec![group("1", &[(VCPU, 1)]), bad]);
        assert_eq!(
            generate(&flat(2), &r, &EngineOptions::default()),
            Err(LazyError::NoSuchTraits("CUSTOM_X".into()))
        );
    }

    #[test]
    fn an_earlier_group_matching_nothing_hides_a_later_failing_precheck() {
        let mut bad = group("2", &[(MEM, 1)]);
        bad.precheck = GroupPrecheck::Fail(LazyError::NoSuchResourceClass("CUSTOM_Y".into()));
        let r = req(vec![group("1", &[(VCPU, 100)]), bad]);
        let g = run(&flat(2), &r);
        assert!(g.candidates.is_empty());
        assert_eq!(g.summaries, SummaryScope::Trees(vec![]));
    }

    #[test]
    fn an_empty_precheck_answers_empty_even_when_providers_match() {
        let mut g1 = group("", &[(VCPU, 1)]);
        g1.precheck = GroupPrecheck::Empty;
        assert!(run(&flat(2), &req(vec![g1])).candidates.is_empty());
    }

    #[test]
    fn root_required_keeps_only_anchors_whose_root_has_the_traits() {
        let s = snap(vec![
            root(1).traits(&[5]),
            child(2, 1, 1).inv(VCPU, 4),
            root(3),
            child(4, 3, 3).inv(VCPU, 4),
        ]);
        let mut r = req(vec![group("", &[(VCPU, 1)])]);
        r.root_required.required = vec![vec![TraitId(5)]];
        assert_eq!(all_allocs(&run(&s, &r)), vec![vec![(2, VCPU, 1)]]);
        r.root_required = TraitCondition {
            required: vec![],
            forbidden: vec![TraitId(5)],
        };
        assert_eq!(all_allocs(&run(&s, &r)), vec![vec![(4, VCPU, 1)]]);
    }

    #[test]
    fn root_required_that_no_root_meets_answers_empty_before_any_precheck() {
        let mut bad = group("", &[(VCPU, 1)]);
        bad.precheck = GroupPrecheck::Fail(LazyError::NoSuchTraits("CUSTOM_X".into()));
        let mut r = req(vec![bad]);
        r.root_required.required = vec![vec![TraitId(99)]];
        assert!(run(&flat(2), &r).candidates.is_empty());
    }

    // ---- per-group matching ---------------------------------------------

    #[test]
    fn a_suffixed_group_is_served_by_one_provider_holding_every_class() {
        let s = snap(vec![
            root(1).inv(VCPU, 4),
            child(2, 1, 1).inv(MEM, 1024),
            child(3, 1, 1).inv(VCPU, 4).inv(MEM, 1024),
        ]);
        let g = run(&s, &req(vec![group("1", &[(VCPU, 1), (MEM, 512)])]));
        assert_eq!(all_allocs(&g), vec![vec![(3, VCPU, 1), (3, MEM, 512)]]);
        assert_eq!(
            maps(&g.candidates[0]),
            BTreeMap::from([("1".into(), vec![3])])
        );
    }

    #[test]
    fn the_unsuffixed_group_without_trees_or_sharing_needs_one_provider_with_every_class() {
        let s = snap(vec![
            root(1).inv(VCPU, 4),
            root(2).inv(VCPU, 4).inv(MEM, 1024),
        ]);
        let g = run(&s, &req(vec![group("", &[(VCPU, 1), (MEM, 512)])]));
        assert_eq!(all_allocs(&g), vec![vec![(2, VCPU, 1), (2, MEM, 512)]]);
        assert_eq!(trees(&g), vec![2]);
    }

    #[test]
    fn the_unsuffixed_group_in_a_tree_takes_each_class_anywhere_but_never_splits_one() {
        let s = snap(vec![
            root(1).inv(VCPU, 4),
            child(2, 1, 1).inv(MEM, 512),
            child(3, 1, 1).inv(MEM, 512),
        ]);
        let split = run(&s, &req(vec![group("", &[(VCPU, 1), (MEM, 1024)])]));
        assert!(split.candidates.is_empty());
        let g = run(&s, &req(vec![group("", &[(VCPU, 1), (MEM, 512)])]));
        assert_eq!(
            all_allocs(&g),
            vec![
                vec![(1, VCPU, 1), (2, MEM, 512)],
                vec![(1, VCPU, 1), (3, MEM, 512)]
            ]
        );
        assert_eq!(
            maps(&g.candidates[0]),
            BTreeMap::from([(String::new(), vec![1, 2])])
        );
    }

    #[test]
    fn unsuffixed_traits_count_only_the_providers_that_contribute() {
        let s = snap(vec![root(1).traits(&[7]), child(2, 1, 1).inv(VCPU, 4)]);
        let r = req(vec![required(group("", &[(VCPU, 1)]), &[&[7]])]);
        assert!(run(&s, &r).candidates.is_empty());
        let mut with_root = r.clone();
        with_root.groups[0].traits = TraitCondition::default();
        with_root.root_required.required = vec![vec![TraitId(7)]];
        assert_eq!(run(&s, &with_root).candidates.len(), 1);
    }

    #[test]
    fn unsuffixed_traits_may_be_met_together_by_several_contributors() {
        let s = snap(vec![
            root(1),
            child(2, 1, 1).inv(VCPU, 4).traits(&[10]),
            child(3, 1, 1).inv(MEM, 512).traits(&[20]),
            child(4, 1, 1).inv(MEM, 512),
        ]);
        let r = req(vec![required(
            group("", &[(VCPU, 1), (MEM, 1)]),
            &[&[10], &[20, 21]],
        )]);
        assert_eq!(
            all_allocs(&run(&s, &r)),
            vec![vec![(2, VCPU, 1), (3, MEM, 1)]]
        );
    }

    #[test]
    fn an_unsuffixed_combination_with_a_forbidden_trait_on_any_contributor_is_excluded() {
        let s = snap(vec![
            root(1).inv(VCPU, 4),
            child(2, 1, 1).inv(MEM, 512).traits(&[9]),
            child(3, 1, 1).inv(MEM, 512),
        ]);
        let r = req(vec![forbidden(group("", &[(VCPU, 1), (MEM, 1)]), &[9])]);
        assert_eq!(
            all_allocs(&run(&s, &r)),
            vec![vec![(1, VCPU, 1), (3, MEM, 1)]]
        );
    }

    #[test]
    fn unsuffixed_member_of_is_met_by_the_provider_or_its_root() {
        let s = snap(vec![
            root(1).aggs(&[100]),
            child(2, 1, 1).inv(VCPU, 4),
            root(3),
            child(4, 3, 3).inv(VCPU, 4).aggs(&[100]),
            root(5),
            child(6, 5, 5).inv(VCPU, 4),
        ]);
        let r = req(vec![member_of(group("", &[(VCPU, 1)]), &[&[100]])]);
        assert_eq!(
            all_allocs(&run(&s, &r)),
            vec![vec![(2, VCPU, 1)], vec![(4, VCPU, 1)]]
        );
    }

    #[test]
    fn unsuffixed_member_of_needs_one_of_provider_or_root_to_meet_every_set_alone() {
        let s = snap(vec![
            root(1).aggs(&[100]),
            child(2, 1, 1).inv(VCPU, 4).aggs(&[200]),
        ]);
        let r = req(vec![member_of(group("", &[(VCPU, 1)]), &[&[100], &[200]])]);
        assert!(run(&s, &r).candidates.is_empty());
    }

    #[test]
    fn suffixed_member_of_needs_the_provider_itself_in_the_aggregate() {
        let s = snap(vec![root(1).aggs(&[100]), child(2, 1, 1).inv(VCPU, 4)]);
        let r = req(vec![member_of(group("1", &[(VCPU, 1)]), &[&[100]])]);
        assert!(run(&s, &r).candidates.is_empty());
    }

    #[test]
    fn forbidden_aggregates_exclude_a_provider_whose_root_is_in_one() {
        let s = snap(vec![
            root(1).aggs(&[100]),
            child(2, 1, 1).inv(VCPU, 4),
            root(3),
            child(4, 3, 3).inv(VCPU, 4),
        ]);
        let mut g = group("", &[(VCPU, 1)]);
        g.aggregates.forbidden = vec![AggregateId(100)];
        assert_eq!(
            all_allocs(&run(&s, &req(vec![g]))),
            vec![vec![(4, VCPU, 1)]]
        );
    }

    fn shared_storage() -> Snapshot {
        snap(vec![
            root(1).inv(VCPU, 4).aggs(&[100]),
            root(2).inv(VCPU, 4).aggs(&[100]),
            root(3).inv(DISK, 100).aggs(&[100]).sharing(),
            root(4).inv(VCPU, 4),
        ])
    }

    #[test]
    fn a_sharing_provider_serves_every_root_that_shares_an_aggregate_with_it() {
        let g = run(
            &shared_storage(),
            &req(vec![group("", &[(VCPU, 1), (DISK, 10)])]),
        );
        assert_eq!(
            all_allocs(&g),
            vec![
                vec![(1, VCPU, 1), (3, DISK, 10)],
                vec![(2, VCPU, 1), (3, DISK, 10)]
            ]
        );
        assert_eq!(trees(&g), vec![1, 2, 3]);
    }

    #[test]
    fn a_window_takes_anchors_below_its_bound_only_and_keeps_their_order() {
        let r = req(vec![group("", &[(VCPU, 1), (DISK, 10)])]);
        let full = run(&shared_storage(), &r);
        let mut window = shared_storage();
        window.anchors_below = Some(ResourceProviderId(2));
        let g = run(&window, &r);
        assert_eq!(all_allocs(&g), vec![vec![(1, VCPU, 1), (3, DISK, 10)]]);
        assert_eq!(trees(&g), vec![1, 3]);
        // A window's answer is the whole answer's prefix.
        assert_eq!(g.candidates[..], full.candidates[..1]);
        window.anchors_below = Some(ResourceProviderId(3));
        assert_eq!(run(&window, &r), full);
        // The sharing provider's own root is an anchor like any other.
        let disk = req(vec![group("", &[(DISK, 10)])]);
        window.anchors_below = Some(ResourceProviderId(3));
        assert_eq!(all_allocs(&run(&window, &disk)), vec![vec![(3, DISK, 10)]]);
        window.anchors_below = Some(ResourceProviderId(1));
        assert!(run(&window, &disk).candidates.is_empty());
    }

    #[test]
    fn identical_results_from_different_anchors_collapse_into_one() {
        let g = run(&shared_storage(), &req(vec![group("", &[(DISK, 10)])]));
        assert_eq!(all_allocs(&g), vec![vec![(3, DISK, 10)]]);
        assert_eq!(trees(&g), vec![3], "the anchor's tree does not contribute");
    }

    #[test]
    fn a_sharing_provider_in_a_suffixed_group_is_anchored_to_every_sharing_root() {
        let r = req(vec![group("1", &[(VCPU, 1)]), group("2", &[(DISK, 10)])]);
        assert_eq!(
            all_allocs(&run(&shared_storage(), &r)),
            vec![
                vec![(1, VCPU, 1), (3, DISK, 10)],
                vec![(2, VCPU, 1), (3, DISK, 10)]
            ]
        );
    }

    #[test]
    fn a_sharing_provider_must_itself_be_in_member_of_to_serve_other_roots() {
        let s = snap(vec![
            root(1).inv(VCPU, 4).aggs(&[100, 200]),
            root(3).inv(DISK, 100).aggs(&[100]).sharing(),
        ]);
        let r = req(vec![member_of(
            group("", &[(VCPU, 1), (DISK, 10)]),
            &[&[200]],
        )]);
        assert!(run(&s, &r).candidates.is_empty());
        let r = req(vec![member_of(
            group("", &[(VCPU, 1), (DISK, 10)]),
            &[&[100]],
        )]);
        assert_eq!(run(&s, &r).candidates.len(), 1);
    }

    #[test]
    fn in_tree_keeps_sharing_providers_out_of_the_unsuffixed_group() {
        let mut g = group("", &[(VCPU, 1), (DISK, 10)]);
        g.in_tree = Some(ResourceProviderId(1));
        assert!(run(&shared_storage(), &req(vec![g])).candidates.is_empty());
    }

    #[test]
    fn in_tree_limits_a_group_to_the_whole_tree_of_its_root() {
        let s = snap(vec![
            root(1),
            child(2, 1, 1).inv(VCPU, 4),
            root(3),
            child(4, 3, 3).inv(VCPU, 4),
        ]);
        let mut g = group("1", &[(VCPU, 1)]);
        g.in_tree = Some(ResourceProviderId(3));
        assert_eq!(
            all_allocs(&run(&s, &req(vec![g]))),
            vec![vec![(4, VCPU, 1)]]
        );
    }

    #[test]
    fn a_resourceless_group_matches_through_required_traits_and_appears_only_in_mappings() {
        let s = snap(vec![
            root(1).inv(VCPU, 4),
            child(2, 1, 1).traits(&[30]),
            root(3).inv(VCPU, 4),
        ]);
        let r = req(vec![
            group("", &[(VCPU, 1)]),
            required(group("X", &[]), &[&[30]]),
        ]);
        let g = run(&s, &r);
        assert_eq!(all_allocs(&g), vec![vec![(1, VCPU, 1)]]);
        assert_eq!(
            maps(&g.candidates[0]),
            BTreeMap::from([(String::new(), vec![1]), ("X".into(), vec![2])])
        );
    }

    #[test]
    fn a_resourceless_group_with_only_forbidden_traits_or_in_tree_matches_nothing() {
        let s = snap(vec![root(1).inv(VCPU, 4), child(2, 1, 1)]);
        let r = req(vec![
            group("", &[(VCPU, 1)]),
            forbidden(group("X", &[]), &[30]),
        ]);
        assert!(run(&s, &r).candidates.is_empty());
        let mut only_tree = group("X", &[]);
        only_tree.in_tree = Some(ResourceProviderId(1));
        assert!(run(&s, &req(vec![group("", &[(VCPU, 1)]), only_tree]))
            .candidates
            .is_empty());
    }

    // ---- capacity ---------------------------------------------------------

    #[test]
    fn capacity_counts_usage_reserved_and_the_allocation_ratio() {
        // int((4 - 1) * 1.5) = 4, minus 1 used: room for 3.
        let s = snap(vec![root(1).inv_with(VCPU, 4, |i| {
            i.reserved = 1;
            i.allocation_ratio = 1.5;
            i.used = 1;
            i.max_unit = 10;
        })]);
        assert_eq!(
            run(&s, &req(vec![group("", &[(VCPU, 3)])]))
                .candidates
                .len(),
            1
        );
        assert!(run(&s, &req(vec![group("", &[(VCPU, 4)])]))
            .candidates
            .is_empty());
    }

    #[test]
    fn min_unit_max_unit_and_step_size_apply_to_each_group_amount() {
        let s = snap(vec![root(1).inv_with(VCPU, 16, |i| {
            i.min_unit = 2;
            i.max_unit = 8;
            i.step_size = 2;
        })]);
        let count = |amount| {
            run(&s, &req(vec![group("", &[(VCPU, amount)])]))
                .candidates
                .len()
        };
        assert_eq!(
            (count(1), count(2), count(3), count(8), count(10)),
            (0, 1, 0, 1, 0)
        );
    }

    #[test]
    fn amounts_summed_over_groups_are_rechecked_against_capacity() {
        let s = snap(vec![root(1).inv_with(VCPU, 4, |i| i.used = 1)]);
        let r = req(vec![group("1", &[(VCPU, 2)]), group("2", &[(VCPU, 2)])]);
        assert!(run(&s, &r).candidates.is_empty());
        let r = req(vec![group("1", &[(VCPU, 1)]), group("2", &[(VCPU, 2)])]);
        assert_eq!(all_allocs(&run(&s, &r)), vec![vec![(1, VCPU, 3)]]);
    }

    #[test]
    fn amounts_summed_over_groups_are_rechecked_against_max_unit() {
        let s = snap(vec![
            root(1),
            child(2, 1, 1).inv_with(VCPU, 10, |i| i.max_unit = 3),
            child(3, 1, 1).inv_with(VCPU, 10, |i| i.max_unit = 3),
        ]);
        let r = req(vec![group("1", &[(VCPU, 2)]), group("2", &[(VCPU, 2)])]);
        let g = run(&s, &r);
        assert_eq!(
            all_allocs(&g),
            vec![
                vec![(2, VCPU, 2), (3, VCPU, 2)],
                vec![(2, VCPU, 2), (3, VCPU, 2)]
            ]
        );
        assert_ne!(maps(&g.candidates[0]), maps(&g.candidates[1]));
    }

    #[test]
    fn no_candidate_ever_overcommits_a_provider() {
        let s = snap(vec![
            root(1).inv_with(VF, 3, |i| i.used = 1),
            child(2, 1, 1).inv_with(VF, 5, |i| {
                i.used = 2;
                i.allocation_ratio = 1.2;
            }),
            child(3, 1, 1).inv(VF, 2),
        ]);
        let r = req(vec![
            group("", &[(VF, 1)]),
            group("a", &[(VF, 1)]),
            group("b", &[(VF, 2)]),
            group("c", &[(VF, 1)]),
        ]);
        let g = run(&s, &r);
        assert!(!g.candidates.is_empty());
        let room = BTreeMap::from([(1, 2), (2, 4), (3, 2)]);
        for c in &g.candidates {
            for (p, _, amount) in allocs(c) {
                assert!(amount <= room[&p], "{c:?} overcommits {p}");
            }
        }
    }

    // ---- group policy, same_subtree, dedup --------------------------------

    #[test]
    fn isolate_applies_to_suffixed_groups_only() {
        let s = snap(vec![
            root(1).inv(VCPU, 4).inv(MEM, 64),
            child(2, 1, 1).inv(MEM, 64),
        ]);
        let r = isolate(req(vec![
            group("", &[(VCPU, 1)]),
            group("1", &[(MEM, 1)]),
            group("2", &[(MEM, 1)]),
        ]));
        let g = run(&s, &r);
        assert_eq!(g.candidates.len(), 2);
        assert!(g.candidates.iter().all(|c| {
            let m = maps(c);
            m["1"] != m["2"]
        }));
        assert!(g.candidates.iter().any(|c| maps(c)[""] == maps(c)["1"]));
    }

    #[test]
    fn isolate_counts_resourceless_groups() {
        let s = snap(vec![root(1).inv(VCPU, 4).traits(&[30]), child(2, 1, 1)]);
        let r = req(vec![
            group("1", &[(VCPU, 1)]),
            required(group("2", &[]), &[&[30]]),
        ]);
        assert_eq!(run(&s, &r).candidates.len(), 1);
        assert!(run(&s, &isolate(r)).candidates.is_empty());
    }

    #[test]
    fn isolate_without_enough_distinct_providers_is_rejected_quickly() {
        let s = wide_tree(20, 5);
        let started = Instant::now();
        let g = run(&s, &isolate(req(vec_groups(21))));
        assert!(g.candidates.is_empty());
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    fn vec_groups(n: usize) -> Vec<Group> {
        vf_groups(n)
    }

    fn numa() -> Snapshot {
        snap(vec![
            root(1),
            child(2, 1, 1).inv(VCPU, 4),
            child(3, 2, 1).inv(VF, 4),
            child(4, 1, 1).inv(VCPU, 4),
            child(5, 4, 1).inv(VF, 4),
        ])
    }

    #[test]
    fn same_subtree_needs_one_provider_that_is_an_ancestor_of_the_others() {
        let mut r = req(vec![group("_C", &[(VCPU, 1)]), group("_N", &[(VF, 1)])]);
        assert_eq!(run(&numa(), &r).candidates.len(), 4);
        r.same_subtree = vec![vec!["_C".into(), "_N".into()]];
        assert_eq!(
            all_allocs(&run(&numa(), &r)),
            vec![
                vec![(2, VCPU, 1), (3, VF, 1)],
                vec![(4, VCPU, 1), (5, VF, 1)]
            ]
        );
    }

    #[test]
    fn same_subtree_accepts_a_resourceless_group_as_the_common_ancestor() {
        let s = snap(vec![
            root(1),
            child(2, 1, 1).traits(&[40]),
            child(3, 2, 1).inv(VF, 4),
            child(4, 2, 1).inv(VF, 4),
            child(5, 1, 1).inv(VF, 4),
        ]);
        let mut r = req(vec![
            required(group("_A", &[]), &[&[40]]),
            group("_B", &[(VF, 1)]),
            group("_C", &[(VF, 1)]),
        ]);
        r.same_subtree = vec![vec!["_A".into(), "_B".into(), "_C".into()]];
        let g = run(&s, &isolate(r));
        assert_eq!(
            g.candidates.iter().map(maps).collect::<Vec<_>>(),
            vec![
                BTreeMap::from([
                    ("_A".into(), vec![2]),
                    ("_B".into(), vec![3]),
                    ("_C".into(), vec![4])
                ]),
                BTreeMap::from([
                    ("_A".into(), vec![2]),
                    ("_B".into(), vec![4]),
                    ("_C".into(), vec![3])
                ]),
            ]
        );
    }

    #[test]
    fn same_subtree_rejects_providers_from_different_trees() {
        let s = snap(vec![
            root(1).inv(VCPU, 4).aggs(&[100]),
            root(3).inv(DISK, 100).aggs(&[100]).sharing(),
        ]);
        let mut r = req(vec![group("_A", &[(VCPU, 1)]), group("_B", &[(DISK, 1)])]);
        assert_eq!(run(&s, &r).candidates.len(), 1);
        r.same_subtree = vec![vec!["_A".into(), "_B".into()]];
        assert!(run(&s, &r).candidates.is_empty());
    }

    #[test]
    fn candidates_differing_only_in_mappings_are_kept_apart() {
        let s = snap(vec![
            root(1),
            child(2, 1, 1).inv(VF, 4),
            child(3, 1, 1).inv(VF, 4),
        ]);
        let g = run(&s, &isolate(req(vf_groups(2))));
        assert_eq!(all_allocs(&g), vec![vec![(2, VF, 1), (3, VF, 1)]; 2]);
    }

    // ---- below 1.29, summaries --------------------------------------------

    #[test]
    fn below_1_29_candidates_use_one_provider_per_tree_and_summaries_list_providers_used() {
        let s = snap(vec![
            root(1).inv(VCPU, 4),
            child(2, 1, 1).inv(MEM, 512),
            root(3).inv(VCPU, 4).inv(MEM, 512),
        ]);
        let o = EngineOptions {
            drop_multi_provider_trees: true,
            ..EngineOptions::default()
        };
        let g = run_with(&s, &req(vec![group("", &[(VCPU, 1), (MEM, 1)])]), &o);
        assert_eq!(all_allocs(&g), vec![vec![(3, VCPU, 1), (3, MEM, 1)]]);
        assert_eq!(
            g.summaries,
            SummaryScope::Providers(vec![ResourceProviderId(3)])
        );
    }

    #[test]
    fn the_below_1_29_filter_needs_trees_in_the_deployment() {
        let o = EngineOptions {
            drop_multi_provider_trees: true,
            ..EngineOptions::default()
        };
        let g = run_with(&flat(2), &req(vec![group("", &[(VCPU, 1)])]), &o);
        assert_eq!(trees(&g), vec![1, 2]);
    }

    #[test]
    fn summaries_are_computed_from_the_returned_candidates_after_limit() {
        let o = EngineOptions {
            limit: Some(2),
            ..EngineOptions::default()
        };
        let g = run_with(&flat(5), &req(vec![group("", &[(VCPU, 1)])]), &o);
        assert_eq!(trees(&g), vec![1, 2]);
    }

    // ---- limit, cap, order, strategy, seed --------------------------------

    #[test]
    fn limit_stops_generation_in_the_documented_order() {
        let o = EngineOptions {
            limit: Some(3),
            max_candidates: Some(10),
            ..EngineOptions::default()
        };
        let g = run_with(&flat(5), &req(vec![group("", &[(VCPU, 1), (MEM, 1)])]), &o);
        assert_eq!(
            g.candidates
                .iter()
                .map(|c| c.allocations[0].provider.0)
                .collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn the_cap_bounds_the_answer_when_it_is_below_limit() {
        let o = EngineOptions {
            limit: Some(30),
            max_candidates: Some(2),
            ..EngineOptions::default()
        };
        assert_eq!(
            run_with(&flat(5), &req(vec![group("", &[(VCPU, 1)])]), &o)
                .candidates
                .len(),
            2
        );
    }

    #[test]
    fn a_cap_of_zero_still_yields_one_candidate_like_upstream() {
        let o = EngineOptions {
            max_candidates: Some(0),
            ..EngineOptions::default()
        };
        assert_eq!(
            run_with(&flat(5), &req(vec![group("", &[(VCPU, 1)])]), &o)
                .candidates
                .len(),
            1
        );
    }

    #[test]
    fn the_order_is_anchors_ascending_then_groups_with_the_last_varying_fastest() {
        let s = snap(vec![
            root(1),
            child(2, 1, 1).inv(VF, 4),
            child(3, 1, 1).inv(VF, 4),
            root(4).inv(VF, 4),
        ]);
        let g = run(&s, &req(vf_groups(2)));
        let order: Vec<(i64, i64)> = g
            .candidates
            .iter()
            .map(|c| (maps(c)["1"][0], maps(c)["2"][0]))
            .collect();
        assert_eq!(order, vec![(2, 2), (2, 3), (3, 2), (3, 3), (4, 4)]);
    }

    #[test]
    fn the_answer_is_the_same_whatever_the_snapshot_order() {
        let mut s = numa();
        let r = req(vec![group("", &[(VCPU, 1), (VF, 1)])]);
        let before = run(&s, &r);
        s.providers.reverse();
        assert_eq!(run(&s, &r), before);
    }

    fn two_wide_trees() -> Snapshot {
        snap(vec![
            root(1),
            child(2, 1, 1).inv(VF, 4),
            child(3, 1, 1).inv(VF, 4),
            root(4),
            child(5, 4, 4).inv(VF, 4),
            child(6, 4, 4).inv(VF, 4),
        ])
    }

    fn roots_of(g: &Generated) -> Vec<i64> {
        g.candidates
            .iter()
            .map(|c| {
                if c.allocations[0].provider.0 < 4 {
                    1
                } else {
                    4
                }
            })
            .collect()
    }

    #[test]
    fn depth_first_exhausts_one_anchor_before_the_next() {
        let o = EngineOptions {
            limit: Some(4),
            ..EngineOptions::default()
        };
        let g = run_with(&two_wide_trees(), &req(vf_groups(2)), &o);
        assert_eq!(roots_of(&g), vec![1, 1, 1, 1]);
    }

    #[test]
    fn breadth_first_takes_one_candidate_per_anchor_in_turn() {
        let o = EngineOptions {
            limit: Some(4),
            strategy: GenerationStrategy::BreadthFirst,
            ..EngineOptions::default()
        };
        let g = run_with(&two_wide_trees(), &req(vf_groups(2)), &o);
        assert_eq!(roots_of(&g), vec![1, 4, 1, 4]);
    }

    #[test]
    fn without_truncation_the_strategies_return_the_same_set() {
        let r = req(vf_groups(2));
        let df = run(&two_wide_trees(), &r);
        let o = EngineOptions {
            strategy: GenerationStrategy::BreadthFirst,
            ..EngineOptions::default()
        };
        let bf = run_with(&two_wide_trees(), &r, &o);
        let mut a = df.candidates.clone();
        let mut b = bf.candidates.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert_eq!(a.len(), 8);
    }

    #[test]
    fn a_seed_spreads_a_truncated_answer_over_trees_and_is_reproducible() {
        let mut ps = Vec::new();
        for t in 0..10 {
            let r = 100 * (t + 1);
            ps.push(root(r));
            ps.extend((1..=8).map(|i| child(r + i, r, r).inv(VF, 1)));
        }
        let s = snap(ps);
        let r = isolate(req(vf_groups(4)));
        let o = EngineOptions {
            limit: Some(20),
            random_seed: Some(12345),
            ..EngineOptions::default()
        };
        let g = run_with(&s, &r, &o);
        assert_eq!(g.candidates.len(), 20);
        assert_eq!(trees(&g).len(), 10, "two candidates from each of ten trees");
        assert_eq!(run_with(&s, &r, &o), g);
        let other = EngineOptions {
            random_seed: Some(54321),
            ..o
        };
        assert_ne!(run_with(&s, &r, &other).candidates, g.candidates);
        let unseeded = EngineOptions {
            random_seed: None,
            ..o
        };
        assert_eq!(trees(&run_with(&s, &r, &unseeded)), vec![100]);
    }

    #[test]
    fn a_seed_without_truncation_returns_the_same_set_shuffled() {
        let r = req(vf_groups(2));
        let plain = run(&two_wide_trees(), &r);
        let o = EngineOptions {
            random_seed: Some(9),
            ..EngineOptions::default()
        };
        let seeded = run_with(&two_wide_trees(), &r, &o);
        assert_ne!(seeded.candidates, plain.candidates);
        let mut a = plain.candidates.clone();
        let mut b = seeded.candidates.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    // ---- pruning during generation -------------------------------------------
    //
    // Each case has an astronomically large product whose first valid
    // member lies far away in search order unless the rule cuts partial
    // assignments; finishing quickly shows the rule is applied while
    // generating, not after.

    fn quick(s: &Snapshot, r: &CandidateRequest, o: &EngineOptions) -> Generated {
        let started = Instant::now();
        let g = run_with(s, r, o);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "took {:?}",
            started.elapsed()
        );
        g
    }

    fn limit(n: usize) -> EngineOptions {
        EngineOptions {
            limit: Some(n),
            ..EngineOptions::default()
        }
    }

    #[test]
    fn capacity_is_checked_on_partial_assignments_summed_over_groups() {
        // 20 groups of one unit over 20 single-unit devices, no isolate:
        // 20^20 products, the first valid one after all-on-the-first.
        let g = quick(&wide_tree(20, 1), &req(vf_groups(20)), &limit(5));
        assert_eq!(g.candidates.len(), 5);
        assert!(g.candidates.iter().all(|c| c.allocations.len() == 20));
    }

    #[test]
    fn isolate_is_checked_on_partial_assignments() {
        let g = quick(&wide_tree(20, 20), &isolate(req(vf_groups(20))), &limit(5));
        assert_eq!(g.candidates.len(), 5);
        assert!(g.candidates.iter().all(|c| c.allocations.len() == 20));
    }

    #[test]
    fn the_below_1_29_rule_is_checked_on_partial_assignments() {
        // 12^12 products; only "every group on the same device" survives.
        let o = EngineOptions {
            drop_multi_provider_trees: true,
            ..EngineOptions::default()
        };
        let g = quick(&wide_tree(12, 12), &req(vf_groups(12)), &o);
        assert_eq!(g.candidates.len(), 12);
        assert!(g.candidates.iter().all(|c| c.allocations.len() == 1));
        assert_eq!(
            g.summaries,
            SummaryScope::Providers((2..14).map(ResourceProviderId).collect())
        );
    }

    #[test]
    fn unsuffixed_traits_are_checked_on_partial_assignments() {
        // Nine classes with ten providers each; only the last provider of
        // the first class has the trait (the others have an unrelated one):
        // 10^8 products per wrong first choice unless the branch is cut as
        // soon as the trait is out of reach.
        let mut ps = vec![root(1)];
        for class in 0..9 {
            for i in 0..10 {
                let id = 100 + class * 10 + i;
                let mut p = child(id, 1, 1).inv(class, 4).traits(&[70]);
                if class == 0 && i == 9 {
                    p = p.traits(&[50]);
                }
                ps.push(p);
            }
        }
        let resources: Vec<(i64, i64)> = (0..9).map(|c| (c, 1)).collect();
        let r = req(vec![required(group("", &resources), &[&[50, 51]])]);
        let g = quick(&snap(ps), &r, &limit(3));
        assert_eq!(g.candidates.len(), 3);
        assert!(g
            .candidates
            .iter()
            .all(|c| c.allocations[0].provider.0 == 109));
    }

    #[test]
    fn same_subtree_is_checked_on_partial_assignments() {
        // Ten one-VF groups and a resourceless group for the NUMA node with
        // trait 60 (only node 3), all in one same_subtree; node 2 owns the
        // even devices, node 3 the odd ones, so id order alternates nodes.
        let mut ps = vec![root(1), child(2, 1, 1), child(3, 1, 1).traits(&[60])];
        ps.extend((10..30).map(|id| child(id, 2 + id % 2, 1).inv(VF, 1)));
        let mut groups: Vec<Group> = (0..10)
            .map(|i| group(&format!("_{i}"), &[(VF, 1)]))
            .collect();
        groups.push(required(group("_N", &[]), &[&[60]]));
        let mut r = isolate(req(groups));
        r.same_subtree = vec![r.groups.iter().map(|g| g.suffix.clone()).collect()];
        let g = quick(&snap(ps), &r, &limit(5));
        assert_eq!(g.candidates.len(), 5);
        for c in &g.candidates {
            assert!(c.allocations.iter().all(|a| a.provider.0 % 2 == 1));
            assert_eq!(maps(c)["_N"], vec![3]);
        }
    }

    // ---- the wide-tree bugs ---------------------------------------------------

    #[test]
    fn eight_isolated_groups_over_eight_devices_enumerate_every_permutation() {
        let s = wide_tree(8, 1);
        let r = isolate(req(vf_groups(8)));
        assert_eq!(run(&s, &r).candidates.len(), 40_320);
        let o = EngineOptions {
            limit: Some(1000),
            ..EngineOptions::default()
        };
        assert_eq!(run_with(&s, &r, &o).candidates.len(), 1000);
    }

    #[test]
    fn a_tree_one_device_short_is_dropped_before_any_product() {
        let s = wide_tree(63, 1);
        let started = Instant::now();
        let g = run(&s, &req(vf_groups(64)));
        assert!(g.candidates.is_empty());
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_tree_with_enough_units_but_too_few_places_for_whole_amounts_is_dropped() {
        // 16 devices with 3 VFs hold 48 units, enough for 24 groups of 2 in
        // total, but each device takes only one such group.
        let s = wide_tree(16, 3);
        let groups: Vec<Group> = (1..=24)
            .map(|i| group(&i.to_string(), &[(VF, 2)]))
            .collect();
        let g = quick(&s, &req(groups), &EngineOptions::default());
        assert!(g.candidates.is_empty());
        let groups: Vec<Group> = (1..=16)
            .map(|i| group(&i.to_string(), &[(VF, 2)]))
            .collect();
        let g = quick(&s, &req(groups), &limit(3));
        assert_eq!(g.candidates.len(), 3);
    }

    /// This thread's CPU time on Linux (the wall clock misleads on a
    /// shared machine).
    fn thread_cpu() -> Option<Duration> {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
        Some(Duration::from_nanos(ns))
    }

    /// Timings for the targets; run with
    /// `cargo test -p placement-core --release -- --ignored --nocapture timings`.
    #[test]
    #[ignore = "timing report, run in release"]
    fn timings() {
        let time = |name: &str, s: &Snapshot, r: &CandidateRequest, o: &EngineOptions| {
            let mut best = Duration::MAX;
            let mut n = 0;
            let cpu_before = thread_cpu();
            for _ in 0..5 {
                let started = Instant::now();
                n = run_with(s, r, o).candidates.len();
                best = best.min(started.elapsed());
            }
            // The kernel updates the counter at scheduling events: average it.
            let cpu = match (cpu_before, thread_cpu()) {
                (Some(a), Some(b)) => format!("{:?}", b.saturating_sub(a) / 5),
                _ => "?".to_owned(),
            };
            println!("{name}: {n} candidates, best wall {best:?}, mean cpu {cpu}");
        };
        let limit = |l| EngineOptions {
            limit: Some(l),
            ..EngineOptions::default()
        };
        let wide = wide_tree(8, 1);
        let r8 = isolate(req(vf_groups(8)));
        time("8x8 isolate limit=1000", &wide, &r8, &limit(1000));
        time(
            "8x8 isolate unlimited",
            &wide,
            &r8,
            &EngineOptions::default(),
        );
        time(
            "64 groups vs 63 devices",
            &wide_tree(63, 1),
            &req(vf_groups(64)),
            &EngineOptions::default(),
        );
        let flat10k = snap(
            (1..=10_000)
                .map(|i| root(i).inv(VCPU, 8).inv(MEM, 1024).inv(DISK, 100))
                .collect(),
        );
        let r = req(vec![group("", &[(VCPU, 1), (MEM, 64), (DISK, 10)])]);
        time("flat 10k limit=1000", &flat10k, &r, &limit(1000));
        time(
            "flat 10k unlimited",
            &flat10k,
            &r,
            &EngineOptions::default(),
        );
        // gate/gabbits/nested-perfload.yaml, 10,000 trees of seven, and
        // perfload-nested-runner.sh's query.
        const FPGA: i64 = 4;
        const VGPU: i64 = 5;
        let (multi_attach, numa_root, foo) = (1, 2, 3);
        let mut ps = Vec::new();
        for t in 0..10_000 {
            let cn = 10 * t + 1;
            ps.push(root(cn).inv(DISK, 20480).traits(&[multi_attach]));
            ps.push(
                child(cn + 1, cn, cn)
                    .inv_with(VCPU, 4, |i| i.reserved = 2)
                    .inv_with(MEM, 2048, |i| {
                        i.min_unit = 512;
                        i.step_size = 256;
                    })
                    .traits(&[numa_root]),
            );
            ps.push(child(cn + 2, cn + 1, cn).inv(FPGA, 1));
            ps.push(child(cn + 3, cn + 1, cn).inv(VGPU, 8));
            ps.push(
                child(cn + 4, cn, cn)
                    .inv(VCPU, 4)
                    .inv_with(MEM, 2048, |i| {
                        i.min_unit = 256;
                        i.max_unit = 1024;
                    })
                    .traits(&[numa_root, foo]),
            );
            ps.push(child(cn + 5, cn + 4, cn).inv(FPGA, 1));
            ps.push(child(cn + 6, cn + 4, cn).inv(FPGA, 1));
        }
        let nested = snap(ps);
        let mut r = req(vec![
            required(group("", &[(DISK, 10)]), &[&[multi_attach]]),
            required(group("_COMPUTE", &[(VCPU, 1), (MEM, 256)]), &[&[foo]]),
            group("_FPGA", &[(FPGA, 1)]),
        ]);
        r.same_subtree = vec![vec!["_COMPUTE".into(), "_FPGA".into()]];
        time("nested 10k limit=10", &nested, &r, &limit(10));
        time("nested 10k limit=1000", &nested, &r, &limit(1000));
        time(
            "nested 10k unlimited",
            &nested,
            &r,
            &EngineOptions::default(),
        );
    }
}
