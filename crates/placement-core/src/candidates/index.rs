//! A read-only index over a [`Snapshot`], shared by matching and search:
//! providers by id (their position in id order), their place in a tree,
//! sharing anchors, root_required anchors and upstream's capacity
//! arithmetic.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::model::{
    AggregateCondition, Snapshot, SnapshotInventory, SnapshotProvider, TraitCondition,
};
use crate::capacity::InventoryLimits;
use crate::ids::{AggregateId, ResourceClassId, ResourceProviderId, TraitId};

/// A provider's position in [`Index`]; positions follow ascending ids, so
/// sorting positions sorts providers by id.
pub(crate) type Prov = usize;

/// The snapshot, indexed.
pub(crate) struct Index<'a> {
    provs: Vec<&'a SnapshotProvider>,
    parent: Vec<Option<Prov>>,
    depth: Vec<u32>,
    traits: Vec<Cow<'a, [TraitId]>>,
    aggregates: Vec<Cow<'a, [AggregateId]>>,
    /// Aggregate -> roots (sorted, unique) of the providers in it: what a
    /// sharing provider in that aggregate anchors to.
    roots_by_aggregate: BTreeMap<AggregateId, Vec<ResourceProviderId>>,
}

/// A sorted, deduplicated view of `v`, borrowing when it already is one (the
/// snapshot promises sorted lists; this keeps a careless caller correct).
fn sorted<T: Ord + Clone>(v: &[T]) -> Cow<'_, [T]> {
    if v.windows(2).all(|w| w[0] < w[1]) {
        Cow::Borrowed(v)
    } else {
        let mut owned = v.to_vec();
        owned.sort();
        owned.dedup();
        Cow::Owned(owned)
    }
}

/// Whether the sorted `have` meets any element of the (unsorted, small) `any`.
pub(crate) fn meets_any<T: Ord>(have: &[T], any: &[T]) -> bool {
    any.iter().any(|t| have.binary_search(t).is_ok())
}

impl<'a> Index<'a> {
    /// Indexes `snapshot`; a repeated provider id keeps its first entry.
    pub(crate) fn new(snapshot: &'a Snapshot) -> Self {
        let mut provs: Vec<&SnapshotProvider> = snapshot.providers.iter().collect();
        provs.sort_by_key(|p| p.id);
        provs.dedup_by_key(|p| p.id);
        let at = |id: ResourceProviderId| provs.binary_search_by_key(&id, |p| p.id).ok();
        let parent: Vec<Option<Prov>> = provs.iter().map(|p| p.parent.and_then(at)).collect();
        let n = provs.len();
        let depth = (0..n)
            .map(|mut p| {
                let mut d = 0u32;
                // The bound guards against a cycle in bad data.
                while let Some(up) = parent[p] {
                    d += 1;
                    p = up;
                    if d as usize > n {
                        break;
                    }
                }
                d
            })
            .collect();
        let traits = provs.iter().map(|p| sorted(&p.traits)).collect();
        let aggregates: Vec<Cow<'a, [AggregateId]>> =
            provs.iter().map(|p| sorted(&p.aggregates)).collect();
        let mut roots: BTreeMap<AggregateId, BTreeSet<ResourceProviderId>> = BTreeMap::new();
        for (p, aggs) in provs.iter().zip(&aggregates) {
            for agg in aggs.iter() {
                roots.entry(*agg).or_default().insert(p.root);
            }
        }
        let roots_by_aggregate = roots
            .into_iter()
            .map(|(agg, set)| (agg, set.into_iter().collect()))
            .collect();
        Index {
            provs,
            parent,
            depth,
            traits,
            aggregates,
            roots_by_aggregate,
        }
    }

    /// Number of providers.
    pub(crate) fn len(&self) -> usize {
        self.provs.len()
    }

    /// The provider at `p`.
    pub(crate) fn provider(&self, p: Prov) -> &'a SnapshotProvider {
        self.provs[p]
    }

    /// The id of the provider at `p`.
    pub(crate) fn id(&self, p: Prov) -> ResourceProviderId {
        self.provs[p].id
    }

    /// The root id of the provider at `p`, as the snapshot states it.
    pub(crate) fn root(&self, p: Prov) -> ResourceProviderId {
        self.provs[p].root
    }

    /// The position of the provider with `id`, if the snapshot has it.
    pub(crate) fn lookup(&self, id: ResourceProviderId) -> Option<Prov> {
        self.provs.binary_search_by_key(&id, |p| p.id).ok()
    }

    /// The provider's own traits, sorted.
    pub(crate) fn traits(&self, p: Prov) -> &[TraitId] {
        &self.traits[p]
    }

    /// The provider's inventory of `class`, if any.
    pub(crate) fn inventory(
        &self,
        p: Prov,
        class: ResourceClassId,
    ) -> Option<&'a SnapshotInventory> {
        self.provs[p]
            .inventories
            .iter()
            .find(|inv| inv.class == class)
    }

    /// Whether the provider's own traits meet `cond` (every any-of set, no
    /// forbidden trait).
    pub(crate) fn has_traits(&self, p: Prov, cond: &TraitCondition) -> bool {
        let have = self.traits(p);
        cond.required.iter().all(|any| meets_any(have, any))
            && !cond.forbidden.iter().any(|t| have.binary_search(t).is_ok())
    }

    /// Whether the provider itself is in at least one aggregate of every
    /// `member_of` set (upstream's `provider_ids_matching_aggregates`).
    pub(crate) fn in_member_of(&self, p: Prov, cond: &AggregateCondition) -> bool {
        let have = &self.aggregates[p];
        cond.member_of.iter().all(|any| meets_any(have, any))
    }

    /// Whether the provider itself is in one of the forbidden aggregates.
    pub(crate) fn in_forbidden_aggregate(&self, p: Prov, cond: &AggregateCondition) -> bool {
        let have = &self.aggregates[p];
        meets_any(have, &cond.forbidden)
    }

    /// The roots a sharing provider anchors to: the root of every provider
    /// that shares an aggregate with it, its own root included when it is in
    /// any aggregate (upstream's `anchors_for_sharing_providers`). Sorted.
    pub(crate) fn sharing_anchors(&self, p: Prov) -> Vec<ResourceProviderId> {
        let mut out: Vec<ResourceProviderId> = Vec::new();
        for agg in self.aggregates[p].iter() {
            if let Some(roots) = self.roots_by_aggregate.get(agg) {
                out.extend_from_slice(roots);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether `a` is `b` or one of its ancestors.
    pub(crate) fn is_ancestor_or_self(&self, a: Prov, b: Prov) -> bool {
        let mut b = b;
        while self.depth[b] > self.depth[a] {
            match self.parent[b] {
                Some(up) => b = up,
                None => return false,
            }
        }
        a == b
    }

    /// The lowest common ancestor-or-self of `a` and `b`, if they share a
    /// tree.
    pub(crate) fn lca(&self, a: Prov, b: Prov) -> Option<Prov> {
        let (mut a, mut b) = (a, b);
        while self.depth[a] > self.depth[b] {
            a = self.parent[a]?;
        }
        while self.depth[b] > self.depth[a] {
            b = self.parent[b]?;
        }
        while a != b {
            a = self.parent[a]?;
            b = self.parent[b]?;
        }
        Some(a)
    }
}

/// Which anchor roots `root_required` allows.
pub(crate) enum AnchorFilter {
    /// No `root_required`: every anchor.
    All,
    /// Only these roots (parentless providers meeting the condition).
    Only(BTreeSet<ResourceProviderId>),
}

impl AnchorFilter {
    /// Upstream's `_get_roots_with_traits` over the snapshot's parentless
    /// providers.
    pub(crate) fn new(index: &Index<'_>, cond: &TraitCondition) -> Self {
        if cond.required.is_empty() && cond.forbidden.is_empty() {
            return AnchorFilter::All;
        }
        AnchorFilter::Only(
            (0..index.len())
                .filter(|&p| index.provider(p).parent.is_none() && index.has_traits(p, cond))
                .map(|p| index.id(p))
                .collect(),
        )
    }

    /// Whether no anchor at all is allowed (the request answers empty).
    pub(crate) fn allows_none(&self) -> bool {
        matches!(self, AnchorFilter::Only(set) if set.is_empty())
    }

    /// Whether `root` may anchor a candidate.
    pub(crate) fn allows(&self, root: ResourceProviderId) -> bool {
        match self {
            AnchorFilter::All => true,
            AnchorFilter::Only(set) => set.contains(&root),
        }
    }
}

/// upstream's per-class SQL filter (`_capacity_check_clause`): whether one
/// group's `amount` fits the inventory on its own (the float form of
/// capacity, see [`crate::capacity`]).
pub(crate) fn fits(inv: &SnapshotInventory, amount: i64) -> bool {
    InventoryLimits::from(inv).can_serve(inv.used, amount)
}

/// The most a candidate may add to this inventory in total, by upstream's
/// final re-check of summed amounts (the truncated form of capacity).
pub(crate) fn headroom(inv: &SnapshotInventory) -> i64 {
    InventoryLimits::from(inv).headroom_for_sums(inv.used)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(total: i64, reserved: i64, ratio: f64, used: i64) -> SnapshotInventory {
        SnapshotInventory {
            class: ResourceClassId(0),
            total,
            reserved,
            min_unit: 1,
            max_unit: total,
            step_size: 1,
            allocation_ratio: ratio,
            used,
        }
    }

    fn provider(id: i64, parent: Option<i64>, root: i64, aggs: &[i64]) -> SnapshotProvider {
        SnapshotProvider {
            id: ResourceProviderId(id),
            parent: parent.map(ResourceProviderId),
            root: ResourceProviderId(root),
            traits: vec![],
            aggregates: aggs.iter().copied().map(AggregateId).collect(),
            inventories: vec![],
            shares: false,
        }
    }

    #[test]
    fn fits_compares_against_the_untruncated_float_capacity() {
        let i = inv(3, 0, 1.5, 0);
        assert!(fits(&i, 3));
        assert!(!fits(&i, 5));
        assert_eq!(headroom(&i), 3);
    }

    #[test]
    fn fits_honours_min_unit_max_unit_and_step_size() {
        let mut i = inv(100, 0, 1.0, 0);
        i.min_unit = 2;
        i.max_unit = 10;
        i.step_size = 2;
        assert!(!fits(&i, 1));
        assert!(fits(&i, 2));
        assert!(!fits(&i, 3));
        assert!(!fits(&i, 12));
        i.step_size = 0;
        assert!(!fits(&i, 2));
    }

    #[test]
    fn headroom_subtracts_usage_and_is_capped_by_max_unit() {
        let mut i = inv(10, 2, 1.0, 3);
        assert_eq!(headroom(&i), 5);
        i.max_unit = 4;
        assert_eq!(headroom(&i), 4);
    }

    #[test]
    fn sharing_anchors_are_the_roots_of_every_provider_in_a_shared_aggregate() {
        let snapshot = Snapshot {
            providers: vec![
                provider(1, None, 1, &[]),
                provider(2, Some(1), 1, &[7]),
                provider(3, None, 3, &[7]),
                provider(4, None, 4, &[8]),
            ],
            has_trees: true,
            has_sharing: true,
            anchors_below: None,
        };
        let index = Index::new(&snapshot);
        let p3 = index.lookup(ResourceProviderId(3)).unwrap();
        assert_eq!(
            index.sharing_anchors(p3),
            vec![ResourceProviderId(1), ResourceProviderId(3)]
        );
    }

    #[test]
    fn lca_and_ancestry_follow_parent_links() {
        let snapshot = Snapshot {
            providers: vec![
                provider(1, None, 1, &[]),
                provider(2, Some(1), 1, &[]),
                provider(3, Some(2), 1, &[]),
                provider(4, Some(1), 1, &[]),
                provider(5, None, 5, &[]),
            ],
            has_trees: true,
            has_sharing: false,
            anchors_below: None,
        };
        let index = Index::new(&snapshot);
        let at = |id| index.lookup(ResourceProviderId(id)).unwrap();
        assert_eq!(index.lca(at(3), at(4)), Some(at(1)));
        assert_eq!(index.lca(at(3), at(2)), Some(at(2)));
        assert_eq!(index.lca(at(3), at(5)), None);
        assert!(index.is_ancestor_or_self(at(2), at(3)));
        assert!(index.is_ancestor_or_self(at(3), at(3)));
        assert!(!index.is_ancestor_or_self(at(4), at(3)));
    }
}
