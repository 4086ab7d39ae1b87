//! The engine against the brute-force reference on thousands of small
//! random cases.
//!
//! Without `limit` and cap the engine must return the reference's set
//! (order ignored) and the same summary scope; with either, distinct
//! candidates, all in the reference's set, exactly `min(limit, cap, total)`
//! of them (at most that many when the cap meets the below-1.29 filter,
//! which upstream applies after the cap); errors and empty answers alike.
//! A failure prints, per kind of failure, how often it happened, the seed
//! of the smallest case and that case shrunk to what still fails.

use std::collections::{BTreeMap, BTreeSet};

use super::generate;
use super::model::{
    AggregateCondition, Candidate, EngineOptions, GroupPolicy, GroupPrecheck, SummaryScope,
    TraitCondition,
};
use super::reference::gen::{self, Case};
use super::reference::reference;
use crate::ids::ResourceProviderId;

/// Cases per run; the whole test stays within a few seconds in debug.
const CASES: u64 = 20_000;

/// The first seed; change it locally to explore further.
const FIRST_SEED: u64 = 0x5EED_0000;

fn list(cands: &[&Candidate]) -> String {
    cands
        .iter()
        .take(8)
        .map(|c| format!("    {}\n", gen::show(c)))
        .collect()
}

/// Compares the engine with the reference on one case: `Err((kind,
/// detail))` on a disagreement.
fn compare(case: &Case, strict_nested_summaries: bool) -> Result<(), (&'static str, String)> {
    let want = reference(&case.snapshot, &case.request, &case.options);
    let got = generate(&case.snapshot, &case.request, &case.options);
    let (want, got) = match (want, got) {
        (Err(w), Err(g)) if w == g => return Ok(()),
        (Err(w), g) => return Err(("outcome", format!("want Err({w:?}), got {g:?}"))),
        (Ok(w), Err(g)) => {
            return Err((
                "outcome",
                format!("want {} candidates, got Err({g:?})", w.candidates.len()),
            ));
        }
        (Ok(w), Ok(g)) => (w, g),
    };
    let all: BTreeSet<&Candidate> = want.candidates.iter().collect();
    let returned: BTreeSet<&Candidate> = got.candidates.iter().collect();
    if returned.len() != got.candidates.len() {
        return Err((
            "duplicates",
            format!(
                "{} returned, {} distinct",
                got.candidates.len(),
                returned.len()
            ),
        ));
    }
    let extra: Vec<&Candidate> = returned.difference(&all).copied().collect();
    let opts = &case.options;
    // Upstream checks the cap after inserting, so a cap of 0 still yields one.
    let cap = opts.max_candidates.map(|c| c.max(1));
    let bound = [opts.limit, cap, Some(all.len())]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(0);
    let drop_active = opts.drop_multi_provider_trees && case.snapshot.has_trees;
    let count_ok = if opts.max_candidates.is_some() && drop_active {
        got.candidates.len() <= bound
    } else {
        got.candidates.len() == bound
    };
    if !extra.is_empty() || !count_ok {
        let missing: Vec<&Candidate> = if opts.limit.is_none() && opts.max_candidates.is_none() {
            all.difference(&returned).copied().collect()
        } else {
            Vec::new()
        };
        return Err((
            if extra.is_empty() { "count" } else { "candidates" },
            format!(
                "reference has {}, engine returned {}, expected {}\n  engine only:\n{}  reference only:\n{}",
                all.len(),
                got.candidates.len(),
                bound,
                list(&extra),
                list(&missing)
            ),
        ));
    }
    // Summary scope, as upstream computes it for what it returns.
    let root_of: BTreeMap<ResourceProviderId, ResourceProviderId> = case
        .snapshot
        .providers
        .iter()
        .map(|p| (p.id, p.root))
        .collect();
    let used = |cands: &mut dyn Iterator<Item = &Candidate>| -> BTreeSet<ResourceProviderId> {
        cands
            .flat_map(|c| c.allocations.iter().map(|a| a.provider))
            .collect()
    };
    let used_returned = used(&mut got.candidates.iter());
    let returned_roots: BTreeSet<ResourceProviderId> =
        used_returned.iter().map(|p| root_of[p]).collect();
    let scope_ok = match (&got.summaries, drop_active) {
        _ if got.candidates.is_empty() => match &got.summaries {
            SummaryScope::Trees(ids) | SummaryScope::Providers(ids) => ids.is_empty(),
        },
        (SummaryScope::Trees(ids), false) => {
            ids.iter().copied().collect::<BTreeSet<_>>() == returned_roots
        }
        (SummaryScope::Providers(ids), true) => {
            // Upstream prunes summaries after `limit` by root only, so the
            // providers other (dropped) candidates used in a kept tree stay.
            let ids: BTreeSet<ResourceProviderId> = ids.iter().copied().collect();
            let widest: BTreeSet<ResourceProviderId> = used(&mut want.candidates.iter())
                .into_iter()
                .filter(|p| returned_roots.contains(&root_of[p]))
                .collect();
            if opts.max_candidates.is_none() && strict_nested_summaries {
                ids == widest
            } else {
                used_returned.is_subset(&ids) && ids.is_subset(&widest)
            }
        }
        _ => false,
    };
    if !scope_ok {
        return Err((
            "summaries",
            format!(
                "engine scope {:?}; providers used by returned candidates {:?}",
                got.summaries, used_returned
            ),
        ));
    }
    Ok(())
}

fn size(case: &Case) -> usize {
    let s = &case.snapshot;
    let r = &case.request;
    s.providers
        .iter()
        .map(|p| 4 + p.traits.len() + p.aggregates.len() + p.inventories.len())
        .sum::<usize>()
        + r.groups
            .iter()
            .map(|g| {
                3 + g.resources.len()
                    + g.traits.required.len()
                    + g.traits.forbidden.len()
                    + g.aggregates.member_of.len()
                    + g.aggregates.forbidden.len()
                    + usize::from(g.in_tree.is_some())
            })
            .sum::<usize>()
        + r.same_subtree.len()
        + r.root_required.required.len()
        + r.root_required.forbidden.len()
}

/// Whether a request is one upstream's parser lets through: a group with
/// resources, the unsuffixed group with resources, every resourceless
/// group named in `same_subtree`, every named suffix a group.
fn valid(case: &Case) -> bool {
    let r = &case.request;
    let named: Vec<&String> = r.same_subtree.iter().flatten().collect();
    r.groups.iter().any(|g| !g.resources.is_empty())
        && r.groups
            .iter()
            .all(|g| !g.resources.is_empty() || (!g.is_unsuffixed() && named.contains(&&g.suffix)))
        && named
            .iter()
            .all(|s| r.groups.iter().any(|g| &&g.suffix == s))
        && r.same_subtree.iter().all(|e| !e.is_empty())
}

/// Smaller variants of a case, one change each.
fn variants(case: &Case) -> Vec<Case> {
    let mut out = Vec::new();
    let mut push = |f: &dyn Fn(&mut Case)| {
        let mut c = case.clone();
        f(&mut c);
        let s = &mut c.snapshot;
        s.has_trees = s.providers.iter().any(|p| p.parent.is_some());
        s.has_sharing = s.providers.iter().any(|p| p.shares);
        c.options.drop_multi_provider_trees &= s.has_trees;
        if valid(&c) {
            out.push(c);
        }
    };
    let providers = &case.snapshot.providers;
    for (i, p) in providers.iter().enumerate() {
        if !providers.iter().any(|q| q.parent == Some(p.id)) {
            let id = p.id;
            push(&|c| {
                c.snapshot.providers.remove(i);
                for g in &mut c.request.groups {
                    if g.in_tree == Some(id) {
                        g.in_tree = None;
                    }
                }
            });
        }
        for j in 0..p.inventories.len() {
            push(&|c| {
                c.snapshot.providers[i].inventories.remove(j);
            });
        }
        if !p.traits.is_empty() {
            push(&|c| c.snapshot.providers[i].traits.clear());
        }
        if !p.aggregates.is_empty() {
            push(&|c| c.snapshot.providers[i].aggregates.clear());
        }
        if p.shares {
            push(&|c| c.snapshot.providers[i].shares = false);
        }
    }
    for (i, g) in case.request.groups.iter().enumerate() {
        let suffix = g.suffix.clone();
        push(&|c| {
            c.request.groups.remove(i);
            for e in &mut c.request.same_subtree {
                e.retain(|s| *s != suffix);
            }
            c.request.same_subtree.retain(|e| !e.is_empty());
        });
        for j in 0..g.resources.len() {
            push(&|c| {
                c.request.groups[i].resources.remove(j);
            });
        }
        if g.traits != TraitCondition::default() {
            push(&|c| c.request.groups[i].traits = TraitCondition::default());
        }
        if g.aggregates != AggregateCondition::default() {
            push(&|c| c.request.groups[i].aggregates = AggregateCondition::default());
        }
        if g.in_tree.is_some() {
            push(&|c| c.request.groups[i].in_tree = None);
        }
        if g.precheck != GroupPrecheck::Ready {
            push(&|c| c.request.groups[i].precheck = GroupPrecheck::Ready);
        }
    }
    for i in 0..case.request.same_subtree.len() {
        push(&|c| {
            c.request.same_subtree.remove(i);
        });
    }
    if case.request.root_required != TraitCondition::default() {
        push(&|c| c.request.root_required = TraitCondition::default());
    }
    if case.request.group_policy != GroupPolicy::None {
        push(&|c| c.request.group_policy = GroupPolicy::None);
    }
    if case.options != EngineOptions::default() {
        push(&|c| c.options = EngineOptions::default());
    }
    out
}

/// Greedy shrinking: keep any one-change variant that fails the same way.
fn shrink(mut case: Case, kind: &'static str, mut detail: String, strict: bool) -> (Case, String) {
    'again: loop {
        for v in variants(&case) {
            if let Err((k, d)) = compare(&v, strict) {
                if k == kind {
                    case = v;
                    detail = d;
                    continue 'again;
                }
            }
        }
        return (case, detail);
    }
}

/// Runs `CASES` seeds from `FIRST_SEED` (or `PLACEMENT_DIFF_CASES` from
/// `PLACEMENT_DIFF_SEED`, to explore further) and panics with a report.
fn differential(strict: bool) {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let first = env("PLACEMENT_DIFF_SEED", FIRST_SEED);
    let cases = env("PLACEMENT_DIFF_CASES", CASES);
    // Per kind of failure: how many, and the smallest case.
    let mut failures: BTreeMap<&'static str, (usize, u64, Case, String)> = BTreeMap::new();
    for seed in first..first + cases {
        let case = gen::case(seed);
        if let Err((kind, detail)) = compare(&case, strict) {
            let entry = failures
                .entry(kind)
                .or_insert_with(|| (0, seed, case.clone(), detail.clone()));
            entry.0 += 1;
            if size(&case) < size(&entry.2) {
                entry.1 = seed;
                entry.2 = case;
                entry.3 = detail;
            }
        }
    }
    if failures.is_empty() {
        return;
    }
    let mut report = String::new();
    for (kind, (count, seed, case, detail)) in failures {
        let (small, detail) = shrink(case, kind, detail, strict);
        report.push_str(&format!(
            "\n== {kind}: {count} of {cases} cases; smallest from seed {seed} (gen::case), shrunk:\n{}{detail}\n",
            gen::describe(&small)
        ));
    }
    panic!("engine and reference disagree:{report}");
}

#[test]
fn the_engine_returns_what_the_brute_force_reference_finds() {
    differential(false);
}

/// Upstream's `exclude_nested_providers` keeps the summaries of every
/// provider any candidate uses, and `limit_results` then prunes them by
/// root only, so below 1.29 a kept tree still lists providers only the
/// candidates cut by `limit` used.
#[test]
#[ignore = "the engine summarizes only the providers the returned candidates use; reported"]
fn below_1_29_summaries_after_limit_keep_what_cut_candidates_used_in_kept_trees() {
    differential(true);
}
