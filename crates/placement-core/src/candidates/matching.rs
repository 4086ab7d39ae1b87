//! Per-group matching: which providers can serve one request group, bucketed
//! by the anchor root they may be combined under. This is upstream's
//! `_get_by_one_request`; it holds provider lists, never products.

use super::index::{fits, meets_any, AnchorFilter, Index, Prov};
use super::model::Group;
use crate::ids::{ResourceProviderId, TraitId};

/// The providers that can serve one group, per anchor root: flat rows
/// sorted by (anchor, class position, provider), so that anchors come
/// ascending and each anchor's providers by id ascending, without one
/// allocation per anchor.
pub(crate) struct GroupOptions {
    /// `None`: one provider holds every class of the group and meets every
    /// condition itself (class position 0). `Some(n)`: the unsuffixed
    /// group when trees or sharing exist, one provider per class for its
    /// `n` classes (in the group's class order), conditions met by the
    /// contributing providers together; every anchor kept has a provider
    /// for each class and a combination meeting the traits.
    classes: Option<usize>,
    anchors: Vec<ResourceProviderId>,
    class_pos: Vec<usize>,
    provs: Vec<Prov>,
}

impl GroupOptions {
    fn from_rows(classes: Option<usize>, mut rows: Vec<(ResourceProviderId, usize, Prov)>) -> Self {
        rows.sort_unstable();
        rows.dedup();
        let mut out = GroupOptions {
            classes,
            anchors: Vec::with_capacity(rows.len()),
            class_pos: Vec::with_capacity(rows.len()),
            provs: Vec::with_capacity(rows.len()),
        };
        for (a, k, p) in rows {
            out.anchors.push(a);
            out.class_pos.push(k);
            out.provs.push(p);
        }
        out
    }

    fn range(&self, anchor: ResourceProviderId) -> std::ops::Range<usize> {
        let start = self.anchors.partition_point(|&a| a < anchor);
        let end = start + self.anchors[start..].partition_point(|&a| a == anchor);
        start..end
    }

    /// Whether the group matched nothing (the request then answers empty).
    pub(crate) fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// Whether the group has options under `anchor`.
    pub(crate) fn has_anchor(&self, anchor: ResourceProviderId) -> bool {
        !self.range(anchor).is_empty()
    }

    /// The anchors, ascending.
    pub(crate) fn anchors(&self) -> Vec<ResourceProviderId> {
        let mut out = self.anchors.clone();
        out.dedup();
        out
    }

    /// For a one-provider group: its providers under `anchor`, ascending.
    pub(crate) fn single(&self, anchor: ResourceProviderId) -> Option<&[Prov]> {
        match self.classes {
            None => Some(&self.provs[self.range(anchor)]).filter(|s| !s.is_empty()),
            Some(_) => None,
        }
    }

    /// For the multi-provider group: per class, its providers under
    /// `anchor`, ascending.
    pub(crate) fn multi(&self, anchor: ResourceProviderId) -> Option<Vec<&[Prov]>> {
        let classes = self.classes?;
        let range = self.range(anchor);
        per_class(classes, &self.class_pos[range.clone()], &self.provs[range])
    }
}

/// Splits one anchor's rows into one slice per class; `None` when a class
/// has no provider.
fn per_class<'p>(
    classes: usize,
    class_pos: &[usize],
    provs: &'p [Prov],
) -> Option<Vec<&'p [Prov]>> {
    let mut out = Vec::with_capacity(classes);
    let mut start = 0;
    for k in 0..classes {
        let len = class_pos[start..].partition_point(|&c| c == k);
        if len == 0 {
            return None;
        }
        out.push(&provs[start..start + len]);
        start += len;
    }
    Some(out)
}

/// Matches `group`; `multi` selects the unsuffixed multi-provider path
/// (upstream: unsuffixed group and the deployment has trees or sharing).
pub(crate) fn match_group(
    index: &Index<'_>,
    group: &Group,
    anchors: &AnchorFilter,
    multi: bool,
) -> GroupOptions {
    if multi {
        match_multi(index, group, anchors)
    } else {
        GroupOptions::from_rows(None, match_single(index, group, anchors))
    }
}

/// Whether one provider satisfies the whole group by itself (upstream's
/// `get_provider_ids_matching`).
fn serves_alone(index: &Index<'_>, p: Prov, group: &Group) -> bool {
    if group.resources.is_empty() {
        // A resourceless group is found through its positive conditions
        // only; with none (only forbidden ones, or only in_tree, which is
        // never applied to it) it matches nothing.
        if group.traits.required.is_empty() && group.aggregates.member_of.is_empty() {
            return false;
        }
    } else {
        if let Some(tree) = group.in_tree {
            if index.root(p) != tree {
                return false;
            }
        }
        let all_fit = group.resources.iter().all(|&(class, amount)| {
            index
                .inventory(p, class)
                .is_some_and(|inv| fits(inv, amount))
        });
        if !all_fit {
            return false;
        }
    }
    index.has_traits(p, &group.traits)
        && index.in_member_of(p, &group.aggregates)
        && !index.in_forbidden_aggregate(p, &group.aggregates)
}

fn match_single(
    index: &Index<'_>,
    group: &Group,
    anchors: &AnchorFilter,
) -> Vec<(ResourceProviderId, usize, Prov)> {
    let mut out = Vec::new();
    for p in 0..index.len() {
        if !serves_alone(index, p, group) {
            continue;
        }
        let own = index.root(p);
        if anchors.allows(own) {
            out.push((own, 0, p));
        }
        if index.provider(p).shares {
            for anchor in index.sharing_anchors(p) {
                if anchor != own && anchors.allows(anchor) {
                    out.push((anchor, 0, p));
                }
            }
        }
    }
    out
}

/// Whether the provider at `id` (an anchor root) itself meets every
/// `member_of` set.
fn root_in_member_of(index: &Index<'_>, id: ResourceProviderId, group: &Group) -> bool {
    index
        .lookup(id)
        .is_some_and(|r| index.in_member_of(r, &group.aggregates))
}

fn root_in_forbidden(index: &Index<'_>, id: ResourceProviderId, group: &Group) -> bool {
    index
        .lookup(id)
        .is_some_and(|r| index.in_forbidden_aggregate(r, &group.aggregates))
}

/// Upstream's `get_trees_matching_all` followed by the trait filter of
/// `_alloc_candidates_multiple_providers`.
fn match_multi(index: &Index<'_>, group: &Group, anchors: &AnchorFilter) -> GroupOptions {
    let classes = group.resources.len();
    let mut rows: Vec<(ResourceProviderId, usize, Prov)> = Vec::new();
    if classes == 0 {
        // Upstream finds no tree for a group without resources here.
        return GroupOptions::from_rows(Some(0), rows);
    }
    let aggs = &group.aggregates;
    let has_member_of = !aggs.member_of.is_empty();
    let mut pairs: Vec<ResourceProviderId> = Vec::new();
    for p in 0..index.len() {
        // A contributing provider with a forbidden trait spoils every
        // combination it is in, so it is never an option.
        if group
            .traits
            .forbidden
            .iter()
            .any(|t| index.traits(p).binary_search(t).is_ok())
        {
            continue;
        }
        let p_in_aggs = has_member_of && index.in_member_of(p, aggs);
        let p_forbidden = index.in_forbidden_aggregate(p, aggs);
        for (k, &(class, amount)) in group.resources.iter().enumerate() {
            if !index
                .inventory(p, class)
                .is_some_and(|inv| fits(inv, amount))
            {
                continue;
            }
            pairs.clear();
            let own = index.root(p);
            if group.in_tree.is_none_or(|tree| tree == own) {
                pairs.push(own);
            }
            // Sharing providers serve other trees only without in_tree, and
            // only when they are themselves in the member_of aggregates.
            if group.in_tree.is_none() && index.provider(p).shares && (!has_member_of || p_in_aggs)
            {
                pairs.extend(index.sharing_anchors(p));
                pairs.sort();
                pairs.dedup();
            }
            for &anchor in &pairs {
                if !anchors.allows(anchor) {
                    continue;
                }
                // An aggregate on the root spans its tree (bug 1792503).
                if has_member_of && !p_in_aggs && !root_in_member_of(index, anchor, group) {
                    continue;
                }
                if p_forbidden || root_in_forbidden(index, anchor, group) {
                    continue;
                }
                rows.push((anchor, k, p));
            }
        }
    }
    let all = GroupOptions::from_rows(Some(classes), rows);
    // Keep the anchors with a provider for every class and a combination
    // meeting the traits.
    let mut kept = GroupOptions {
        classes: Some(classes),
        anchors: Vec::new(),
        class_pos: Vec::new(),
        provs: Vec::new(),
    };
    let mut start = 0;
    while start < all.anchors.len() {
        let anchor = all.anchors[start];
        let end = start + all.anchors[start..].partition_point(|&a| a == anchor);
        let ok = per_class(classes, &all.class_pos[start..end], &all.provs[start..end])
            .is_some_and(|lists| multi_traits_feasible(index, &lists, &group.traits.required));
        if ok {
            kept.anchors.extend_from_slice(&all.anchors[start..end]);
            kept.class_pos.extend_from_slice(&all.class_pos[start..end]);
            kept.provs.extend_from_slice(&all.provs[start..end]);
        }
        start = end;
    }
    kept
}

/// For each level `k` of a multi-provider group, the sorted union of the
/// traits of every option at levels `k..`; one extra empty entry at the end.
pub(crate) fn trait_unions_from(index: &Index<'_>, lists: &[&[Prov]]) -> Vec<Vec<TraitId>> {
    let mut out = vec![Vec::new(); lists.len() + 1];
    for k in (0..lists.len()).rev() {
        let mut union = out[k + 1].clone();
        for &p in lists[k] {
            union.extend_from_slice(index.traits(p));
        }
        union.sort();
        union.dedup();
        out[k] = union;
    }
    out
}

/// Whether some choice of one provider per list has traits that, together,
/// meet every any-of set.
fn multi_traits_feasible(index: &Index<'_>, lists: &[&[Prov]], required: &[Vec<TraitId>]) -> bool {
    if required.is_empty() {
        return true;
    }
    let unions = trait_unions_from(index, lists);
    let mut chosen: Vec<Prov> = Vec::with_capacity(lists.len());
    feasible_from(index, lists, required, &unions, &mut chosen)
}

fn feasible_from(
    index: &Index<'_>,
    lists: &[&[Prov]],
    required: &[Vec<TraitId>],
    unions: &[Vec<TraitId>],
    chosen: &mut Vec<Prov>,
) -> bool {
    let k = chosen.len();
    let still_possible = required.iter().all(|any| {
        chosen.iter().any(|&p| meets_any(index.traits(p), any)) || meets_any(&unions[k], any)
    });
    if !still_possible {
        return false;
    }
    if k == lists.len() {
        return true;
    }
    for &p in lists[k] {
        chosen.push(p);
        let found = feasible_from(index, lists, required, unions, chosen);
        chosen.pop();
        if found {
            return true;
        }
    }
    false
}
