//! Per-group matching: which providers can serve one request group, bucketed
//! by the anchor root they may be combined under. This is upstream's
//! `_get_by_one_request`; it holds provider lists, never products.

use std::collections::BTreeMap;

use super::index::{fits, meets_any, AnchorFilter, Index, Prov};
use super::model::Group;
use crate::ids::{ResourceProviderId, TraitId};

/// The providers that can serve one group, per anchor root (ascending).
pub(crate) enum GroupOptions {
    /// One provider holds every class of the group and meets every
    /// condition itself. Providers ascending.
    Single(BTreeMap<ResourceProviderId, Vec<Prov>>),
    /// The unsuffixed group when trees or sharing exist: one provider per
    /// class (in the group's class order), each list ascending, conditions
    /// met by the contributing providers together. Every anchor kept has at
    /// least one combination meeting the traits.
    Multi(BTreeMap<ResourceProviderId, Vec<Vec<Prov>>>),
}

impl GroupOptions {
    /// Whether the group matched nothing (the request then answers empty).
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            GroupOptions::Single(m) => m.is_empty(),
            GroupOptions::Multi(m) => m.is_empty(),
        }
    }

    /// Whether the group has options under `anchor`.
    pub(crate) fn has_anchor(&self, anchor: ResourceProviderId) -> bool {
        match self {
            GroupOptions::Single(m) => m.contains_key(&anchor),
            GroupOptions::Multi(m) => m.contains_key(&anchor),
        }
    }

    /// The anchors, ascending.
    pub(crate) fn anchors(&self) -> Vec<ResourceProviderId> {
        match self {
            GroupOptions::Single(m) => m.keys().copied().collect(),
            GroupOptions::Multi(m) => m.keys().copied().collect(),
        }
    }
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
        GroupOptions::Multi(match_multi(index, group, anchors))
    } else {
        GroupOptions::Single(match_single(index, group, anchors))
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
) -> BTreeMap<ResourceProviderId, Vec<Prov>> {
    let mut out: BTreeMap<ResourceProviderId, Vec<Prov>> = BTreeMap::new();
    for p in 0..index.len() {
        if !serves_alone(index, p, group) {
            continue;
        }
        let own = index.root(p);
        if anchors.allows(own) {
            out.entry(own).or_default().push(p);
        }
        if index.provider(p).shares {
            for anchor in index.sharing_anchors(p) {
                if anchor != own && anchors.allows(anchor) {
                    out.entry(anchor).or_default().push(p);
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
fn match_multi(
    index: &Index<'_>,
    group: &Group,
    anchors: &AnchorFilter,
) -> BTreeMap<ResourceProviderId, Vec<Vec<Prov>>> {
    let classes = group.resources.len();
    let mut out: BTreeMap<ResourceProviderId, Vec<Vec<Prov>>> = BTreeMap::new();
    if classes == 0 {
        // Upstream finds no tree for a group without resources here.
        return out;
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
                out.entry(anchor)
                    .or_insert_with(|| vec![Vec::new(); classes])[k]
                    .push(p);
            }
        }
    }
    out.retain(|_, lists| {
        lists.iter().all(|l| !l.is_empty())
            && multi_traits_feasible(index, lists, &group.traits.required)
    });
    out
}

/// For each level `k` of a multi-provider group, the sorted union of the
/// traits of every option at levels `k..`; one extra empty entry at the end.
pub(crate) fn trait_unions_from(index: &Index<'_>, lists: &[Vec<Prov>]) -> Vec<Vec<TraitId>> {
    let mut out = vec![Vec::new(); lists.len() + 1];
    for k in (0..lists.len()).rev() {
        let mut union = out[k + 1].clone();
        for &p in &lists[k] {
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
fn multi_traits_feasible(
    index: &Index<'_>,
    lists: &[Vec<Prov>],
    required: &[Vec<TraitId>],
) -> bool {
    if required.is_empty() {
        return true;
    }
    let unions = trait_unions_from(index, lists);
    let mut chosen: Vec<Prov> = Vec::with_capacity(lists.len());
    feasible_from(index, lists, required, &unions, &mut chosen)
}

fn feasible_from(
    index: &Index<'_>,
    lists: &[Vec<Prov>],
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
    for &p in &lists[k] {
        chosen.push(p);
        let found = feasible_from(index, lists, required, unions, chosen);
        chosen.pop();
        if found {
            return true;
        }
    }
    false
}
