//! The search under one anchor root: a resumable depth-first walk over the
//! choice levels (one per group; one per class for the unsuffixed
//! multi-provider group), pruning every partial assignment that can no
//! longer become a candidate. It holds the plan for its anchor and one
//! choice per level, never a product.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::index::{headroom, meets_any, Index, Prov};
use super::matching::{trait_unions_from, GroupOptions};
use super::model::{Candidate, CandidateAllocation, CandidateRequest};
use super::rng::SplitMix64;
use crate::ids::{ResourceClassId, ResourceProviderId, TraitId};

/// What every anchor's search reads.
pub(crate) struct Shared<'s, 'a> {
    /// The snapshot.
    pub(crate) index: &'s Index<'a>,
    /// The request.
    pub(crate) request: &'s CandidateRequest,
    /// Per-group matches, in request order.
    pub(crate) groups: &'s [GroupOptions],
    /// `group_policy=isolate`.
    pub(crate) isolate: bool,
    /// The below-1.29 nested filter is in effect.
    pub(crate) drop_multi: bool,
    /// `same_subtree` entries as group indexes (unknown suffixes dropped).
    pub(crate) subtrees: Vec<Vec<usize>>,
}

/// One way to serve one level: a provider and what it gives, as
/// (slot, amount) pairs.
struct Opt {
    prov: Prov,
    allocs: Vec<(usize, i64)>,
}

enum Kind {
    /// A whole group served by one provider; `suffixed` groups take part in
    /// `isolate`.
    Single { suffixed: bool },
    /// One class of the unsuffixed multi-provider group, whose levels start
    /// at `first`; `unions_next` is the union of the traits still on offer
    /// in its later class levels.
    Class {
        first: usize,
        unions_next: Vec<TraitId>,
    },
}

struct Level {
    group: usize,
    kind: Kind,
    options: Vec<Opt>,
    /// Indexes of the `same_subtree` entries that name this level's group.
    subtrees: Vec<usize>,
}

/// The resumable search under one anchor.
pub(crate) struct AnchorSearch {
    levels: Vec<Level>,
    /// Per slot (one provider's inventory of one class): who it is, and the
    /// most a candidate may take from it in total.
    slot_key: Vec<(ResourceProviderId, ResourceClassId)>,
    slot_limit: Vec<i64>,
    /// Per slot: what the current partial assignment takes.
    taken: Vec<i64>,
    /// Per level: the option being tried (the chosen one below `depth`).
    next: Vec<usize>,
    depth: usize,
    done: bool,
    /// Per `same_subtree` entry: its levels, ascending.
    subtree_levels: Vec<Vec<usize>>,
}

impl AnchorSearch {
    /// Plans the search under `anchor`, or `None` when a pre-check shows it
    /// cannot yield anything (a group without options there, class totals
    /// the tree cannot hold, or too few distinct providers for `isolate`).
    /// With `rng`, each level's options are visited in a random order.
    pub(crate) fn new(
        shared: &Shared<'_, '_>,
        anchor: ResourceProviderId,
        rng: Option<&mut SplitMix64>,
    ) -> Option<AnchorSearch> {
        let index = shared.index;
        let mut plan = Planner::default();
        let mut levels: Vec<Level> = Vec::new();
        for (g, (group, found)) in shared.request.groups.iter().zip(shared.groups).enumerate() {
            if let Some(provs) = found.single(anchor) {
                let options = provs
                    .iter()
                    .filter_map(|&p| plan.option(index, p, &group.resources))
                    .collect();
                levels.push(Level {
                    group: g,
                    kind: Kind::Single {
                        suffixed: !group.is_unsuffixed(),
                    },
                    options,
                    subtrees: Vec::new(),
                });
                continue;
            }
            // A one-provider group without options here ends in `?` too.
            let lists = found.multi(anchor)?;
            let unions = trait_unions_from(index, &lists);
            let first = levels.len();
            for (k, (list, &request)) in lists.iter().zip(&group.resources).enumerate() {
                let options = list
                    .iter()
                    .filter_map(|&p| plan.option(index, p, &[request]))
                    .collect();
                levels.push(Level {
                    group: g,
                    kind: Kind::Class {
                        first,
                        unions_next: unions.get(k + 1).cloned().unwrap_or_default(),
                    },
                    options,
                    subtrees: Vec::new(),
                });
            }
        }
        if levels.is_empty() || levels.iter().any(|l| l.options.is_empty()) {
            return None;
        }
        if !plan.totals_can_hold(shared.request) {
            return None;
        }
        if shared.isolate && !isolate_feasible(&levels) {
            return None;
        }
        if let Some(rng) = rng {
            for level in &mut levels {
                rng.shuffle(&mut level.options);
            }
        }
        let mut subtree_levels = Vec::with_capacity(shared.subtrees.len());
        for (j, groups) in shared.subtrees.iter().enumerate() {
            let mine: Vec<usize> = levels
                .iter()
                .enumerate()
                .filter(|(_, l)| matches!(l.kind, Kind::Single { .. }) && groups.contains(&l.group))
                .map(|(i, _)| i)
                .collect();
            for &i in &mine {
                levels[i].subtrees.push(j);
            }
            subtree_levels.push(mine);
        }
        let n = levels.len();
        let slots = plan.slot_key.len();
        Some(AnchorSearch {
            levels,
            slot_key: plan.slot_key,
            slot_limit: plan.slot_limit,
            taken: vec![0; slots],
            next: vec![0; n],
            depth: 0,
            done: false,
            subtree_levels,
        })
    }

    fn chosen(&self, level: usize) -> &Opt {
        &self.levels[level].options[self.next[level]]
    }

    /// The next candidate of this anchor in search order, or `None` when
    /// the anchor is exhausted; the flag tells whether another anchor may
    /// produce the same candidate. Within one anchor distinct assignments
    /// give distinct candidates (a suffixed group's mapping differs, or a
    /// class of the unsuffixed group moves between providers, changing an
    /// allocation), and a non-sharing provider serves only its own root's
    /// anchor, so only candidates made of sharing providers alone can
    /// repeat.
    pub(crate) fn next_candidate(&mut self, shared: &Shared<'_, '_>) -> Option<(Candidate, bool)> {
        let n = self.levels.len();
        while !self.done {
            if self.depth == n {
                let candidate = self.build(shared);
                let may_repeat = (0..n).all(|m| shared.index.provider(self.chosen(m).prov).shares);
                self.retreat();
                return Some((candidate, may_repeat));
            }
            let l = self.depth;
            let i = self.next[l];
            if i >= self.levels[l].options.len() {
                if l == 0 {
                    self.done = true;
                } else {
                    self.retreat();
                }
                continue;
            }
            if self.admissible(shared, l, i) {
                for &(slot, amount) in &self.levels[l].options[i].allocs {
                    self.taken[slot] += amount;
                }
                self.depth += 1;
                if self.depth < n {
                    self.next[self.depth] = 0;
                }
            } else {
                self.next[l] += 1;
            }
        }
        None
    }

    /// Undoes the deepest chosen level and moves it to its next option.
    fn retreat(&mut self) {
        self.depth -= 1;
        let l = self.depth;
        for &(slot, amount) in &self.levels[l].options[self.next[l]].allocs {
            self.taken[slot] -= amount;
        }
        self.next[l] += 1;
    }

    /// Whether choosing option `i` at level `l` (levels below `l` chosen)
    /// keeps the assignment completable as far as can be decided now.
    fn admissible(&self, shared: &Shared<'_, '_>, l: usize, i: usize) -> bool {
        let index = shared.index;
        let level = &self.levels[l];
        let opt = &level.options[i];
        // Capacity with existing usage and max_unit, on the summed amounts.
        if opt
            .allocs
            .iter()
            .any(|&(slot, amount)| self.taken[slot].saturating_add(amount) > self.slot_limit[slot])
        {
            return false;
        }
        // isolate: suffixed groups on distinct providers.
        if shared.isolate && matches!(level.kind, Kind::Single { suffixed: true }) {
            let clash = (0..l).any(|m| {
                matches!(self.levels[m].kind, Kind::Single { suffixed: true })
                    && self.chosen(m).prov == opt.prov
            });
            if clash {
                return false;
            }
        }
        // Below 1.29: at most one provider per tree takes resources.
        if shared.drop_multi && !opt.allocs.is_empty() {
            let root = index.root(opt.prov);
            let clash = (0..l).any(|m| {
                let o = self.chosen(m);
                !o.allocs.is_empty() && o.prov != opt.prov && index.root(o.prov) == root
            });
            if clash {
                return false;
            }
        }
        // Unsuffixed multi-provider traits: every any-of set must still be
        // reachable from the chosen contributors and the later classes.
        if let Kind::Class { first, unions_next } = &level.kind {
            let required = &shared.request.groups[level.group].traits.required;
            let reachable = required.iter().all(|any| {
                meets_any(index.traits(opt.prov), any)
                    || (*first..l).any(|m| meets_any(index.traits(self.chosen(m).prov), any))
                    || meets_any(unions_next, any)
            });
            if !reachable {
                return false;
            }
        }
        level
            .subtrees
            .iter()
            .all(|&j| self.subtree_possible(index, j, l, opt.prov))
    }

    /// `same_subtree` entry `j` with `p` chosen at level `l`: the providers
    /// of its groups must have one among them that is an ancestor-or-self
    /// of all the others. Decided once its last level is chosen; before
    /// that, cut when the chosen ones span two trees, or when no later
    /// level of the entry offers an ancestor-or-self of their common
    /// ancestor and none of them is it.
    fn subtree_possible(&self, index: &Index<'_>, j: usize, l: usize, p: Prov) -> bool {
        let mine = &self.subtree_levels[j];
        let mut members: Vec<Prov> = vec![p];
        let mut top = p;
        for &m in mine.iter().take_while(|&&m| m < l) {
            let q = self.chosen(m).prov;
            members.push(q);
            match index.lca(top, q) {
                Some(a) => top = a,
                None => return false,
            }
        }
        if members.contains(&top) {
            return true;
        }
        mine.iter().filter(|&&m| m > l).any(|&m| {
            self.levels[m]
                .options
                .iter()
                .any(|o| index.is_ancestor_or_self(o.prov, top))
        })
    }

    /// The candidate for the complete assignment.
    fn build(&self, shared: &Shared<'_, '_>) -> Candidate {
        let n = self.levels.len();
        let mut seen: Vec<usize> = Vec::with_capacity(n);
        let mut allocations: Vec<CandidateAllocation> = Vec::with_capacity(n);
        let mut mappings: BTreeMap<String, Vec<ResourceProviderId>> = BTreeMap::new();
        for m in 0..n {
            let opt = self.chosen(m);
            for &(slot, _) in &opt.allocs {
                if !seen.contains(&slot) {
                    seen.push(slot);
                    let (provider, class) = self.slot_key[slot];
                    allocations.push(CandidateAllocation {
                        provider,
                        class,
                        amount: self.taken[slot],
                    });
                }
            }
            let suffix = &shared.request.groups[self.levels[m].group].suffix;
            let id = shared.index.id(opt.prov);
            match mappings.get_mut(suffix) {
                Some(v) => v.push(id),
                None => {
                    mappings.insert(suffix.clone(), vec![id]);
                }
            }
        }
        allocations.sort_unstable();
        for v in mappings.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        Candidate {
            allocations,
            mappings,
        }
    }
}

/// Builds options and their slots for one anchor.
#[derive(Default)]
struct Planner {
    slots: HashMap<(Prov, ResourceClassId), usize>,
    slot_key: Vec<(ResourceProviderId, ResourceClassId)>,
    slot_limit: Vec<i64>,
}

impl Planner {
    /// The option of provider `p` giving `resources`, or `None` if it lacks
    /// one of the inventories (matching already checked that it has them).
    fn option(
        &mut self,
        index: &Index<'_>,
        p: Prov,
        resources: &[(ResourceClassId, i64)],
    ) -> Option<Opt> {
        let mut allocs = Vec::with_capacity(resources.len());
        for &(class, amount) in resources {
            let inv = index.inventory(p, class)?;
            let next = self.slot_key.len();
            let slot = *self.slots.entry((p, class)).or_insert(next);
            if slot == next {
                self.slot_key.push((index.id(p), class));
                self.slot_limit.push(headroom(inv));
            }
            allocs.push((slot, amount));
        }
        Some(Opt { prov: p, allocs })
    }

    /// The tree-total pre-check (upstream bug 2160721, made exact with
    /// usage), per class over every provider that could serve it here:
    /// - what all groups request together must fit in the summed headroom;
    /// - for each requested amount `a`, the groups asking at least `a` must
    ///   not outnumber the places for one such amount, the sum over
    ///   providers of `headroom / a` (a class is never split, so each of
    ///   those groups takes `a` or more from a single provider).
    fn totals_can_hold(&self, request: &CandidateRequest) -> bool {
        let mut demand: BTreeMap<ResourceClassId, Vec<i64>> = BTreeMap::new();
        for group in &request.groups {
            for &(class, amount) in &group.resources {
                demand.entry(class).or_default().push(amount);
            }
        }
        let mut rooms: BTreeMap<ResourceClassId, Vec<i64>> = BTreeMap::new();
        for (&(_, class), &limit) in self.slot_key.iter().zip(&self.slot_limit) {
            rooms.entry(class).or_default().push(limit.max(0));
        }
        demand.iter_mut().all(|(class, amounts)| {
            let rooms = rooms.get(class).map_or(&[][..], Vec::as_slice);
            let want = amounts.iter().fold(0i64, |s, &a| s.saturating_add(a));
            let have = rooms.iter().fold(0i64, |s, &r| s.saturating_add(r));
            if want > have {
                return false;
            }
            amounts.sort_unstable_by(|a, b| b.cmp(a));
            amounts.iter().enumerate().all(|(i, &a)| {
                // amounts[..=i] are the groups asking at least `a`; only
                // the last of equal amounts binds.
                if amounts.get(i + 1) == Some(&a) {
                    return true;
                }
                let places = rooms.iter().fold(0usize, |s, &r| {
                    s.saturating_add(usize::try_from(r / a.max(1)).unwrap_or(usize::MAX))
                });
                i < places
            })
        })
    }
}

/// Whether the suffixed groups can each get a distinct provider (a perfect
/// matching of groups to providers; Kuhn's augmenting paths).
fn isolate_feasible(levels: &[Level]) -> bool {
    let left: Vec<&Level> = levels
        .iter()
        .filter(|l| matches!(l.kind, Kind::Single { suffixed: true }))
        .collect();
    let mut owner: HashMap<Prov, usize> = HashMap::new();
    for u in 0..left.len() {
        let mut visited: HashSet<Prov> = HashSet::new();
        if !augment(&left, u, &mut owner, &mut visited) {
            return false;
        }
    }
    true
}

fn augment(
    left: &[&Level],
    u: usize,
    owner: &mut HashMap<Prov, usize>,
    visited: &mut HashSet<Prov>,
) -> bool {
    for opt in &left[u].options {
        if visited.insert(opt.prov) {
            let free = match owner.get(&opt.prov) {
                None => true,
                Some(&v) => augment(left, v, owner, visited),
            };
            if free {
                owner.insert(opt.prov, u);
                return true;
            }
        }
    }
    false
}
