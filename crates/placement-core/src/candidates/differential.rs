//! The engine against the brute-force reference on thousands of small
//! random cases.
//!
//! Without `limit` and cap the engine must return the reference's set
//! (order ignored) and the same summary scope; with either, distinct
//! candidates, all in the reference's set, exactly `min(limit, cap, total)`
//! of them (at most that many when the cap meets the below-1.29 filter,
//! which upstream applies after the cap); errors and empty answers alike.
//! A failure prints the seed and, per kind of failure, the smallest case.

use std::collections::{BTreeMap, BTreeSet};

use super::generate;
use super::model::{Candidate, SummaryScope};
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
fn compare(case: &Case) -> Result<(), (&'static str, String)> {
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
    let bound = [opts.limit, opts.max_candidates, Some(all.len())]
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
            if opts.max_candidates.is_none() {
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
    case.snapshot.providers.len() * 4 + case.request.groups.len() * 3
}

#[test]
fn the_engine_returns_what_the_brute_force_reference_finds() {
    // Per kind of failure: how many, and the smallest case.
    let mut failures: BTreeMap<&'static str, (usize, u64, Case, String)> = BTreeMap::new();
    for seed in FIRST_SEED..FIRST_SEED + CASES {
        let case = gen::case(seed);
        if let Err((kind, detail)) = compare(&case) {
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
    for (kind, (count, seed, case, detail)) in &failures {
        report.push_str(&format!(
            "\n== {kind}: {count} of {CASES} cases; smallest: seed {seed:#x} (gen::case({seed}))\n{}{detail}\n",
            gen::describe(case)
        ));
    }
    panic!("engine and reference disagree:{report}");
}
