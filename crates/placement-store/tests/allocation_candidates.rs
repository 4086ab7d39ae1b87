//! The database phase of `GET /allocation_candidates` on every configured
//! backend: name resolution and each group's precheck in upstream's order,
//! what the restricted snapshot must hold (capacity, whole trees, sharing
//! anchors, resourceless matches), and the provider summaries.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on setup failure"
)]

mod common;

use std::collections::BTreeMap;

use common::synced_dbs;
use placement_core::candidates::model::{
    Candidate, CandidateAllocation, EngineOptions, Generated, GroupPrecheck, LazyError, NamedGroup,
    NamedRequest, Snapshot, SummaryScope,
};
use placement_core::ids::{ResourceClassId, ResourceProviderId, TraitId};
use placement_store::ops::allocation_candidates::{
    allocation_candidates, allocation_candidates_with, prepare, Prepared, ProviderSummary,
};
use placement_store::testing::TestDb;
use placement_store::{ops, params, Database, Error};
use uuid::Uuid;

/// Fresh databases with the schema, standard classes and traits.
async fn dbs() -> Vec<TestDb> {
    let dbs = synced_dbs().await;
    for tdb in &dbs {
        ops::standard::sync(tdb.database()).await.unwrap();
    }
    dbs
}

/// A provider as the fixtures made it.
#[derive(Debug, Clone)]
struct Rp {
    id: i64,
    uuid: String,
}

impl Rp {
    fn rid(&self) -> ResourceProviderId {
        ResourceProviderId(self.id)
    }
}

async fn provider(db: &Database, name: &str, parent: Option<&Rp>) -> Rp {
    let uuid = Uuid::new_v4().to_string();
    let mut tx = db.begin().await.unwrap();
    let id = tx
        .insert_returning_id(
            "INSERT INTO resource_providers (uuid, name, generation, parent_provider_id) VALUES (?, ?, 0, ?)",
            params![uuid.as_str(), name, parent.map(|p| p.id)],
        )
        .await
        .unwrap();
    let root = match parent {
        None => id,
        Some(p) => tx
            .fetch_one(
                "SELECT root_provider_id FROM resource_providers WHERE id = ?",
                params![p.id],
            )
            .await
            .unwrap()
            .get_i64(0)
            .unwrap(),
    };
    tx.execute(
        "UPDATE resource_providers SET root_provider_id = ? WHERE id = ?",
        params![root, id],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Rp { id, uuid }
}

/// Inventory of `class` with the given limits.
#[expect(
    clippy::too_many_arguments,
    reason = "an inventory row has that many columns"
)]
async fn inventory_full(
    db: &Database,
    rp: &Rp,
    class: &str,
    total: i64,
    reserved: i64,
    (min_unit, max_unit, step_size): (i64, i64, i64),
    ratio: f64,
    used: i64,
) {
    let mut tx = db.begin().await.unwrap();
    let class_id = class_id(&mut tx, class).await;
    tx.execute(
        "INSERT INTO inventories (resource_provider_id, resource_class_id, total, reserved, min_unit, max_unit, step_size, allocation_ratio) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![rp.id, class_id, total, reserved, min_unit, max_unit, step_size, ratio],
    )
    .await
    .unwrap();
    if used > 0 {
        tx.execute(
            "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used) VALUES (?, ?, ?, ?)",
            params![rp.id, Uuid::new_v4().to_string(), class_id, used],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// A plain inventory: no reservation, any unit, ratio 1.
async fn inventory(db: &Database, rp: &Rp, class: &str, total: i64, used: i64) {
    inventory_full(db, rp, class, total, 0, (1, total, 1), 1.0, used).await;
}

async fn class_id(tx: &mut placement_store::db::Tx, class: &str) -> i64 {
    tx.fetch_one(
        "SELECT id FROM resource_classes WHERE name = ?",
        params![class],
    )
    .await
    .unwrap()
    .get_i64(0)
    .unwrap()
}

async fn cid(db: &Database, class: &str) -> ResourceClassId {
    let mut tx = db.begin_read().await.unwrap();
    ResourceClassId(class_id(&mut tx, class).await)
}

/// Gives `rp` the trait, creating a custom one when needed.
async fn give_trait(db: &Database, rp: &Rp, name: &str) -> TraitId {
    let mut tx = db.begin().await.unwrap();
    let existing = tx
        .fetch_optional("SELECT id FROM traits WHERE name = ?", params![name])
        .await
        .unwrap();
    let id = match existing {
        Some(row) => row.get_i64(0).unwrap(),
        None => tx
            .insert_returning_id("INSERT INTO traits (name) VALUES (?)", params![name])
            .await
            .unwrap(),
    };
    tx.execute(
        "INSERT INTO resource_provider_traits (resource_provider_id, trait_id) VALUES (?, ?)",
        params![rp.id, id],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    TraitId(id)
}

/// Creates the aggregate (when new) and, with a provider, puts it there.
async fn aggregate(db: &Database, agg: Uuid, rp: Option<&Rp>) {
    let mut tx = db.begin().await.unwrap();
    let existing = tx
        .fetch_optional(
            "SELECT id FROM placement_aggregates WHERE uuid = ?",
            params![agg.to_string()],
        )
        .await
        .unwrap();
    let id = match existing {
        Some(row) => row.get_i64(0).unwrap(),
        None => tx
            .insert_returning_id(
                "INSERT INTO placement_aggregates (uuid) VALUES (?)",
                params![agg.to_string()],
            )
            .await
            .unwrap(),
    };
    if let Some(rp) = rp {
        tx.execute(
            "INSERT INTO resource_provider_aggregates (resource_provider_id, aggregate_id) VALUES (?, ?)",
            params![rp.id, id],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

fn group(suffix: &str, resources: &[(&str, i64)]) -> NamedGroup {
    NamedGroup {
        suffix: suffix.to_owned(),
        resources: resources
            .iter()
            .map(|(c, n)| ((*c).to_owned(), *n))
            .collect(),
        ..NamedGroup::default()
    }
}

fn one_group(g: NamedGroup) -> NamedRequest {
    NamedRequest {
        groups: vec![g],
        ..NamedRequest::default()
    }
}

async fn ready(
    db: &Database,
    request: &NamedRequest,
) -> (
    placement_core::candidates::model::CandidateRequest,
    Snapshot,
) {
    match prepare(db, request).await.unwrap() {
        Prepared::Ready { request, snapshot } => (request, snapshot),
        Prepared::NoAnchors => panic!("expected a snapshot, got NoAnchors"),
    }
}

fn ids(snapshot: &Snapshot) -> Vec<i64> {
    snapshot.providers.iter().map(|p| p.id.0).collect()
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v
}

fn texts(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_root_required_trait_fails_before_any_group_naming_the_first_in_request_order() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let mut g = group("", &[("NOT_A_CLASS", 1)]);
        g.required = vec![texts(&["CUSTOM_ALSO_MISSING"])];
        let request = NamedRequest {
            groups: vec![g],
            root_required: texts(&["HW_CPU_X86_AVX", "CUSTOM_NOPE_B", "CUSTOM_NOPE_A"]),
            root_forbidden: texts(&["CUSTOM_NOPE_0"]),
            ..NamedRequest::default()
        };
        let err = prepare(db, &request).await.unwrap_err();
        assert!(
            matches!(&err, Error::CandidatesRequest(LazyError::NoSuchTraits(t)) if t == "CUSTOM_NOPE_B"),
            "{backend}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            "No such trait(s): CUSTOM_NOPE_B.",
            "{backend}"
        );
        let request = NamedRequest {
            root_forbidden: texts(&["CUSTOM_NOPE_0"]),
            ..request
        };
        let request = NamedRequest {
            root_required: Vec::new(),
            ..request
        };
        let err = prepare(db, &request).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "No such trait(s): CUSTOM_NOPE_0.",
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_required_matching_no_root_answers_empty_before_the_groups_errors() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let root = provider(db, "cn1", None).await;
        let child = provider(db, "cn1-numa", Some(&root)).await;
        inventory(db, &child, "VCPU", 8, 0).await;
        // Only the child has the trait: root_required looks at roots.
        give_trait(db, &child, "CUSTOM_GOLD").await;
        give_trait(db, &root, "CUSTOM_SILVER").await;
        let mut request = one_group(group("", &[("NOT_A_CLASS", 1)]));
        request.root_required = texts(&["CUSTOM_GOLD"]);
        assert_eq!(
            prepare(db, &request).await.unwrap(),
            Prepared::NoAnchors,
            "{backend}"
        );
        // The engine is never called and the answer is empty.
        let answer = allocation_candidates_with(
            db,
            &request,
            &EngineOptions::default(),
            |_: &Snapshot, _: &_, _: &EngineOptions| -> Result<Generated, LazyError> {
                panic!("the engine must not run")
            },
        )
        .await
        .unwrap();
        assert!(
            answer.candidates.is_empty() && answer.summaries.is_empty(),
            "{backend}"
        );
        request.root_forbidden = texts(&["CUSTOM_SILVER"]);
        request.root_required = Vec::new();
        assert_eq!(
            prepare(db, &request).await.unwrap(),
            Prepared::NoAnchors,
            "{backend}"
        );
        // A root that qualifies lets the groups through, bad names and all.
        request.root_forbidden = texts(&["CUSTOM_GOLD"]);
        let (resolved, _) = ready(db, &request).await;
        assert_eq!(
            resolved.groups[0].precheck,
            GroupPrecheck::Fail(LazyError::NoSuchResourceClass("NOT_A_CLASS".into())),
            "{backend}"
        );
        assert_eq!(resolved.root_required.forbidden.len(), 1, "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_groups_precheck_follows_upstreams_order_and_no_group_fails_early() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let root = provider(db, "cn1", None).await;
        let child = provider(db, "cn1-numa", Some(&root)).await;
        inventory(db, &child, "VCPU", 8, 0).await;
        let (agg_a, agg_b, agg_lonely, agg_unknown) = (
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        );
        aggregate(db, agg_a, Some(&root)).await;
        aggregate(db, agg_b, Some(&child)).await;
        aggregate(db, agg_lonely, None).await;
        give_trait(db, &child, "CUSTOM_KNOWN").await;

        let mut groups = Vec::new();
        // 0: an unknown class wins over everything after it.
        let mut g = group("", &[("VCPU", 1), ("NOT_A_CLASS", 1), ("NOR_THIS", 1)]);
        g.member_of = vec![vec![agg_unknown]];
        g.required = vec![texts(&["CUSTOM_MISSING"])];
        groups.push(g);
        // 1: a member_of set of unknown aggregates: empty, before traits.
        let mut g = group("1", &[("VCPU", 1)]);
        g.member_of = vec![vec![agg_a], vec![agg_unknown]];
        g.required = vec![texts(&["CUSTOM_MISSING"])];
        groups.push(g);
        // 2: known aggregates no one provider is in all of: empty.
        let mut g = group("2", &[("VCPU", 1)]);
        g.member_of = vec![vec![agg_a], vec![agg_b, agg_unknown]];
        g.forbidden = texts(&["CUSTOM_MISSING"]);
        groups.push(g);
        // 3: an aggregate without members: empty.
        let mut g = group("3", &[("VCPU", 1)]);
        g.member_of = vec![vec![agg_lonely]];
        groups.push(g);
        // 4: required traits, set by set, before forbidden and in_tree.
        let mut g = group("4", &[("VCPU", 1)]);
        g.member_of = vec![vec![agg_a, agg_unknown]];
        g.required = vec![
            texts(&["CUSTOM_KNOWN"]),
            texts(&["CUSTOM_MISS_2", "CUSTOM_MISS_1"]),
        ];
        g.forbidden = texts(&["CUSTOM_MISS_0"]);
        g.in_tree = Some(Uuid::new_v4());
        groups.push(g);
        // 5: a forbidden unknown trait, before in_tree.
        let mut g = group("5", &[("VCPU", 1)]);
        g.forbidden = texts(&["CUSTOM_MISS_0"]);
        g.in_tree = Some(Uuid::new_v4());
        groups.push(g);
        // 6: an unknown in_tree provider: empty.
        let mut g = group("6", &[("VCPU", 1)]);
        g.in_tree = Some(Uuid::new_v4());
        groups.push(g);
        // 7: all good; in_tree of a child means its root.
        let mut g = group("7", &[("VCPU", 2)]);
        g.in_tree = Some(child.uuid.parse().unwrap());
        g.member_of = vec![vec![agg_b]];
        g.forbidden_aggregates = vec![agg_unknown, agg_a];
        g.required = vec![texts(&["CUSTOM_KNOWN"])];
        groups.push(g);
        let request = NamedRequest {
            groups,
            ..NamedRequest::default()
        };
        let (resolved, _) = ready(db, &request).await;
        let prechecks: Vec<_> = resolved.groups.iter().map(|g| g.precheck.clone()).collect();
        assert_eq!(
            prechecks,
            vec![
                GroupPrecheck::Fail(LazyError::NoSuchResourceClass("NOT_A_CLASS".into())),
                GroupPrecheck::Empty,
                GroupPrecheck::Empty,
                GroupPrecheck::Empty,
                GroupPrecheck::Fail(LazyError::NoSuchTraits("CUSTOM_MISS_2".into())),
                GroupPrecheck::Fail(LazyError::NoSuchTraits("CUSTOM_MISS_0".into())),
                GroupPrecheck::Empty,
                GroupPrecheck::Ready,
            ],
            "{backend}"
        );
        let g7 = &resolved.groups[7];
        assert_eq!(g7.suffix, "7");
        assert_eq!(g7.in_tree, Some(root.rid()), "{backend}");
        assert_eq!(g7.resources, vec![(cid(db, "VCPU").await, 2)], "{backend}");
        assert_eq!(g7.aggregates.member_of.len(), 1, "{backend}");
        assert_eq!(
            g7.aggregates.forbidden.len(),
            1,
            "{backend}: unknown dropped"
        );
        assert_eq!(g7.traits.required.len(), 1, "{backend}");
        assert_eq!(
            format!("{}", LazyError::NoSuchResourceClass("NOT_A_CLASS".into())),
            "Invalid resource class in resources parameter: No such resource class NOT_A_CLASS."
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_keeps_providers_with_capacity_and_their_whole_trees_only() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let fits = provider(db, "fits", None).await;
        inventory(db, &fits, "VCPU", 8, 4).await;
        inventory(db, &fits, "DISK_GB", 100, 0).await;
        let full = provider(db, "full", None).await;
        inventory(db, &full, "VCPU", 8, 7).await;
        let other_class = provider(db, "other-class", None).await;
        inventory(db, &other_class, "DISK_GB", 100, 0).await;
        let root = provider(db, "root", None).await;
        let numa = provider(db, "numa", Some(&root)).await;
        let pf = provider(db, "pf", Some(&numa)).await;
        let sibling = provider(db, "sibling", Some(&root)).await;
        inventory(db, &pf, "VCPU", 4, 0).await;
        give_trait(db, &sibling, "CUSTOM_X").await;

        let (_, snapshot) = ready(db, &one_group(group("", &[("VCPU", 2)]))).await;
        assert_eq!(
            ids(&snapshot),
            sorted(vec![fits.id, root.id, numa.id, pf.id, sibling.id]),
            "{backend}"
        );
        assert!(snapshot.has_trees && !snapshot.has_sharing, "{backend}");
        let vcpu = cid(db, "VCPU").await;
        let get = |rp: &Rp| {
            snapshot
                .providers
                .iter()
                .find(|p| p.id == rp.rid())
                .unwrap()
        };
        let f = get(&fits);
        assert_eq!(f.inventories.len(), 1, "{backend}: requested classes only");
        assert_eq!(
            (f.inventories[0].class, f.inventories[0].used),
            (vcpu, 4),
            "{backend}"
        );
        assert_eq!((f.parent, f.root), (None, fits.rid()), "{backend}");
        let p = get(&pf);
        assert_eq!(
            (p.parent, p.root),
            (Some(numa.rid()), root.rid()),
            "{backend}"
        );
        assert_eq!(get(&sibling).traits.len(), 1, "{backend}");
        assert!(get(&root).inventories.is_empty(), "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_follows_upstreams_float_rule_and_unit_limits() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        // (10 - 3) * 0.5 = 3.5: two used, one more fits, two more do not.
        let half = provider(db, "half", None).await;
        inventory_full(db, &half, "VCPU", 10, 3, (1, 10, 1), 0.5, 2).await;
        // (4 - 0) * 1.5 = 6.
        let over = provider(db, "over", None).await;
        inventory_full(db, &over, "VCPU", 4, 0, (1, 8, 1), 1.5, 4).await;
        // Steps of two, one to four units.
        let stepped = provider(db, "stepped", None).await;
        inventory_full(db, &stepped, "VCPU", 100, 0, (2, 4, 2), 1.0, 0).await;

        let kept = |amount: i64| async move {
            let (_, s) = ready(db, &one_group(group("", &[("VCPU", amount)]))).await;
            ids(&s)
        };
        assert_eq!(kept(1).await, vec![half.id, over.id], "{backend}");
        assert_eq!(kept(2).await, vec![over.id, stepped.id], "{backend}");
        assert_eq!(kept(3).await, Vec::<i64>::new(), "{backend}");
        assert_eq!(kept(4).await, vec![stepped.id], "{backend}");
        assert_eq!(
            kept(6).await,
            Vec::<i64>::new(),
            "{backend}: above max_unit"
        );
        let (_, s) = ready(db, &one_group(group("", &[("VCPU", 1)]))).await;
        let inv = s.providers[0].inventories[0];
        assert_eq!(
            (
                inv.total,
                inv.reserved,
                inv.min_unit,
                inv.max_unit,
                inv.step_size,
                inv.used
            ),
            (10, 3, 1, 10, 1, 2),
            "{backend}"
        );
        assert!((inv.allocation_ratio - 0.5).abs() < 1e-6, "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_tree_restricts_capacity_to_that_tree_per_group() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let a = provider(db, "a", None).await;
        let a_child = provider(db, "a-child", Some(&a)).await;
        let b = provider(db, "b", None).await;
        inventory(db, &a_child, "VCPU", 8, 0).await;
        inventory(db, &b, "VCPU", 8, 0).await;
        inventory(db, &b, "MEMORY_MB", 1024, 0).await;
        let mut g = group("", &[("VCPU", 1)]);
        g.in_tree = Some(a_child.uuid.parse().unwrap());
        let (_, s) = ready(db, &one_group(g.clone())).await;
        assert_eq!(ids(&s), vec![a.id, a_child.id], "{backend}");
        // Another group without in_tree brings b back.
        let request = NamedRequest {
            groups: vec![g, group("1", &[("MEMORY_MB", 512)])],
            ..NamedRequest::default()
        };
        let (_, s) = ready(db, &request).await;
        assert_eq!(ids(&s), vec![a.id, a_child.id, b.id], "{backend}");
        let bs = s.providers.iter().find(|p| p.id == b.rid()).unwrap();
        assert_eq!(bs.inventories.len(), 2, "{backend}: every requested class");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_providers_bring_the_trees_they_anchor() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let agg = Uuid::new_v4();
        let nfs = provider(db, "nfs", None).await;
        inventory(db, &nfs, "DISK_GB", 1000, 0).await;
        give_trait(db, &nfs, "MISC_SHARES_VIA_AGGREGATE").await;
        aggregate(db, agg, Some(&nfs)).await;
        // cn1's tree shares the aggregate through a child; cn1 has no disk.
        let cn1 = provider(db, "cn1", None).await;
        let cn1_child = provider(db, "cn1-child", Some(&cn1)).await;
        inventory(db, &cn1, "VCPU", 8, 0).await;
        aggregate(db, agg, Some(&cn1_child)).await;
        // cn2 shares nothing and has no disk.
        let cn2 = provider(db, "cn2", None).await;
        inventory(db, &cn2, "VCPU", 8, 0).await;
        // A full sharing provider anchors nothing.
        let agg2 = Uuid::new_v4();
        let full = provider(db, "full-nfs", None).await;
        inventory(db, &full, "DISK_GB", 10, 10).await;
        give_trait(db, &full, "MISC_SHARES_VIA_AGGREGATE").await;
        aggregate(db, agg2, Some(&full)).await;
        aggregate(db, agg2, Some(&cn2)).await;

        let (_, s) = ready(db, &one_group(group("", &[("DISK_GB", 10)]))).await;
        assert_eq!(ids(&s), vec![nfs.id, cn1.id, cn1_child.id], "{backend}");
        assert!(s.has_sharing && s.has_trees, "{backend}");
        let shares: Vec<bool> = s.providers.iter().map(|p| p.shares).collect();
        assert_eq!(shares, vec![true, false, false], "{backend}");
        assert_eq!(
            s.providers[0].aggregates, s.providers[2].aggregates,
            "{backend}"
        );
        assert!(
            s.providers[1].inventories.is_empty(),
            "{backend}: VCPU not requested"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_a_resourceless_group_can_match_are_kept() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let cn = provider(db, "cn", None).await;
        inventory(db, &cn, "VCPU", 8, 0).await;
        // A tree without capacity whose child has the wanted trait.
        let other = provider(db, "other", None).await;
        let nic = provider(db, "nic", Some(&other)).await;
        give_trait(db, &nic, "CUSTOM_PHYSNET1").await;
        // Aggregate members for a member_of-only resourceless group.
        let agg = Uuid::new_v4();
        let in_agg = provider(db, "in-agg", None).await;
        aggregate(db, agg, Some(&in_agg)).await;
        let bystander = provider(db, "bystander", None).await;
        give_trait(db, &bystander, "CUSTOM_PHYSNET2").await;

        let mut physnet = group("_NET", &[]);
        physnet.required = vec![texts(&["CUSTOM_PHYSNET1"])];
        let mut member = group("_AGG", &[]);
        member.member_of = vec![vec![agg]];
        let mut only_forbidden = group("_NOT", &[]);
        only_forbidden.forbidden = texts(&["CUSTOM_PHYSNET1"]);
        let request = NamedRequest {
            groups: vec![group("", &[("VCPU", 1)]), physnet, member, only_forbidden],
            same_subtree: vec![texts(&["_NET", "_AGG", "_NOT"])],
            ..NamedRequest::default()
        };
        let (resolved, s) = ready(db, &request).await;
        assert_eq!(
            ids(&s),
            vec![cn.id, other.id, nic.id, in_agg.id],
            "{backend}"
        );
        assert!(resolved.groups[1].resources.is_empty(), "{backend}");
        assert_eq!(resolved.same_subtree, request.same_subtree, "{backend}");
    }
}

fn summary<'a>(answer: &'a [ProviderSummary], rp: &Rp) -> &'a ProviderSummary {
    answer.iter().find(|s| s.uuid == rp.uuid).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summaries_cover_whole_trees_with_every_inventory_and_candidates_come_back_by_name() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let root = provider(db, "root", None).await;
        let numa = provider(db, "numa", Some(&root)).await;
        let other = provider(db, "other", None).await;
        inventory(db, &numa, "VCPU", 8, 3).await;
        inventory_full(db, &numa, "MEMORY_MB", 1000, 100, (1, 1000, 1), 1.5, 50).await;
        inventory_full(db, &root, "DISK_GB", 7, 0, (1, 7, 1), 0.5, 0).await;
        inventory(db, &other, "VCPU", 8, 0).await;
        give_trait(db, &numa, "HW_CPU_X86_AVX2").await;
        give_trait(db, &numa, "CUSTOM_B").await;
        let vcpu = cid(db, "VCPU").await;

        let request = one_group(group("", &[("VCPU", 2)]));
        let numa_id = numa.rid();
        let root_id = root.rid();
        let answer = allocation_candidates_with(
            db,
            &request,
            &EngineOptions::default(),
            move |snapshot: &Snapshot, resolved: &_, _: &EngineOptions| {
                assert!(snapshot.providers.iter().any(|p| p.id == numa_id));
                let _: &placement_core::candidates::model::CandidateRequest = resolved;
                Ok(Generated {
                    candidates: vec![Candidate {
                        allocations: vec![CandidateAllocation {
                            provider: numa_id,
                            class: vcpu,
                            amount: 2,
                        }],
                        mappings: BTreeMap::from([(String::new(), vec![numa_id])]),
                    }],
                    summaries: SummaryScope::Trees(vec![root_id]),
                })
            },
        )
        .await
        .unwrap();
        assert_eq!(answer.candidates.len(), 1, "{backend}");
        let named = answer.named();
        let c = &named[0];
        assert_eq!(
            c.allocations,
            BTreeMap::from([(numa.uuid.clone(), BTreeMap::from([("VCPU".to_owned(), 2)]))]),
            "{backend}"
        );
        assert_eq!(
            c.mappings,
            BTreeMap::from([(String::new(), vec![numa.uuid.clone()])]),
            "{backend}"
        );
        assert_eq!(answer.summaries.len(), 2, "{backend}: the tree, not other");
        let n = summary(&answer.summaries, &numa);
        assert_eq!(
            n.parent_uuid.as_deref(),
            Some(root.uuid.as_str()),
            "{backend}"
        );
        assert_eq!(n.root_uuid, root.uuid, "{backend}");
        // Trait id order, as upstream's database returns them: standard
        // traits (synced first) before custom ones.
        assert_eq!(
            n.traits,
            texts(&["HW_CPU_X86_AVX2", "CUSTOM_B"]),
            "{backend}"
        );
        let res: Vec<(&str, i64, i64)> = n
            .resources
            .iter()
            .map(|r| (r.resource_class.as_str(), r.capacity, r.used))
            .collect();
        assert_eq!(
            res,
            vec![("VCPU", 8, 3), ("MEMORY_MB", 1350, 50)],
            "{backend}"
        );
        let r = summary(&answer.summaries, &root);
        assert_eq!(
            (r.parent_uuid.as_deref(), r.root_uuid.as_str()),
            (None, root.uuid.as_str())
        );
        assert_eq!(r.resources.len(), 1, "{backend}");
        assert_eq!(
            (r.resources[0].capacity, r.resources[0].total),
            (3, 7),
            "{backend}"
        );

        // Exactly the listed providers.
        let numa_id = numa.rid();
        let answer = allocation_candidates_with(
            db,
            &request,
            &EngineOptions::default(),
            move |_: &Snapshot, _: &_, _: &EngineOptions| {
                Ok(Generated {
                    candidates: Vec::new(),
                    summaries: SummaryScope::Providers(vec![numa_id]),
                })
            },
        )
        .await
        .unwrap();
        let uuids: Vec<&str> = answer.summaries.iter().map(|s| s.uuid.as_str()).collect();
        assert_eq!(uuids, vec![numa.uuid.as_str()], "{backend}");

        // The engine's lazy error becomes the store's 400-family error.
        let err = allocation_candidates_with(
            db,
            &request,
            &EngineOptions::default(),
            |_: &Snapshot, _: &_, _: &EngineOptions| {
                Err(LazyError::NoSuchTraits("CUSTOM_GONE".into()))
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, Error::CandidatesRequest(_)),
            "{backend}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            "No such trait(s): CUSTOM_GONE.",
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_meeting_root_required_and_a_resourceless_sharing_matchs_anchors_are_kept() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let cn = provider(db, "cn", None).await;
        inventory(db, &cn, "VCPU", 8, 0).await;
        // Meets root_required but has no capacity: kept so the engine knows
        // some root qualifies.
        let gold = provider(db, "gold", None).await;
        give_trait(db, &gold, "CUSTOM_GOLD").await;
        let gold2 = provider(db, "gold2", None).await;
        give_trait(db, &gold2, "CUSTOM_GOLD").await;
        // A sharing provider matching a resourceless group, and the tree it
        // anchors through an aggregate.
        let agg = Uuid::new_v4();
        let share = provider(db, "share", None).await;
        give_trait(db, &share, "MISC_SHARES_VIA_AGGREGATE").await;
        give_trait(db, &share, "CUSTOM_NET").await;
        aggregate(db, agg, Some(&share)).await;
        let anchored = provider(db, "anchored", None).await;
        aggregate(db, agg, Some(&anchored)).await;

        let mut net = group("_NET", &[]);
        net.required = vec![texts(&["CUSTOM_NET"])];
        let request = NamedRequest {
            groups: vec![group("", &[("VCPU", 1)]), net],
            root_required: texts(&["CUSTOM_GOLD"]),
            same_subtree: vec![texts(&["_NET"])],
            ..NamedRequest::default()
        };
        let (resolved, s) = ready(db, &request).await;
        assert_eq!(
            ids(&s),
            vec![cn.id, gold.id, share.id, anchored.id],
            "{backend}"
        );
        assert_eq!(resolved.root_required.required.len(), 1, "{backend}");
    }
}

/// Inventories for the whole-op tests: two compute nodes, one with a
/// child, and a sharing disk provider both share an aggregate with.
struct Cloud {
    cn1: Rp,
    cn1_numa: Rp,
    cn2: Rp,
    nfs: Rp,
}

async fn cloud(db: &Database) -> Cloud {
    let agg = Uuid::new_v4();
    let cn1 = provider(db, "cn1", None).await;
    let cn1_numa = provider(db, "cn1-numa", Some(&cn1)).await;
    let cn2 = provider(db, "cn2", None).await;
    let nfs = provider(db, "nfs", None).await;
    inventory(db, &cn1_numa, "VCPU", 8, 0).await;
    inventory(db, &cn1, "MEMORY_MB", 4096, 0).await;
    inventory(db, &cn2, "VCPU", 8, 6).await;
    inventory(db, &cn2, "MEMORY_MB", 4096, 0).await;
    inventory(db, &nfs, "DISK_GB", 500, 0).await;
    give_trait(db, &nfs, "MISC_SHARES_VIA_AGGREGATE").await;
    for rp in [&cn1, &cn2, &nfs] {
        aggregate(db, agg, Some(rp)).await;
    }
    Cloud {
        cn1,
        cn1_numa,
        cn2,
        nfs,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_op_answers_with_the_engine_over_trees_and_sharing() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        let c = cloud(db).await;
        let request = one_group(group(
            "",
            &[("VCPU", 4), ("MEMORY_MB", 1024), ("DISK_GB", 100)],
        ));
        let answer = allocation_candidates(db, &request, &EngineOptions::default())
            .await
            .unwrap();
        // cn2 has only two VCPU left; cn1's tree with the shared disk fits.
        assert_eq!(answer.candidates.len(), 1, "{backend}: {answer:?}");
        let named = answer.named();
        let got = &named[0];
        assert_eq!(
            got.allocations,
            BTreeMap::from([
                (
                    c.cn1_numa.uuid.clone(),
                    BTreeMap::from([("VCPU".to_owned(), 4)])
                ),
                (
                    c.cn1.uuid.clone(),
                    BTreeMap::from([("MEMORY_MB".to_owned(), 1024)])
                ),
                (
                    c.nfs.uuid.clone(),
                    BTreeMap::from([("DISK_GB".to_owned(), 100)])
                ),
            ]),
            "{backend}"
        );
        let mut summarized: Vec<&str> = answer.summaries.iter().map(|s| s.uuid.as_str()).collect();
        summarized.sort_unstable();
        let mut want = vec![
            c.cn1.uuid.as_str(),
            c.cn1_numa.uuid.as_str(),
            c.nfs.uuid.as_str(),
        ];
        want.sort_unstable();
        assert_eq!(summarized, want, "{backend}");
        let _ = &c.cn2;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_groups_bad_name_surfaces_only_when_earlier_groups_match() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        cloud(db).await;
        let mut bad = group("2", &[("VCPU", 1)]);
        bad.required = vec![texts(&["CUSTOM_NOPE"])];
        let request = NamedRequest {
            groups: vec![group("1", &[("MEMORY_MB", 1)]), bad.clone()],
            group_policy: placement_core::candidates::model::GroupPolicy::None,
            ..NamedRequest::default()
        };
        let err = allocation_candidates(db, &request, &EngineOptions::default())
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "No such trait(s): CUSTOM_NOPE.",
            "{backend}"
        );
        // An earlier group nothing can satisfy hides it.
        let request = NamedRequest {
            groups: vec![group("1", &[("MEMORY_MB", 100_000)]), bad],
            ..request
        };
        let answer = allocation_candidates(db, &request, &EngineOptions::default())
            .await
            .unwrap();
        assert!(
            answer.candidates.is_empty() && answer.summaries.is_empty(),
            "{backend}"
        );
    }
}

/// 140 trees in id order: the first 40 full, then flat and nested compute
/// nodes, every fifth in the aggregate of a sharing disk provider created
/// halfway.
async fn windowed_cloud(db: &Database) {
    let agg = Uuid::new_v4();
    for i in 0..140 {
        let cn = provider(db, &format!("cn{i}"), None).await;
        if i == 70 {
            let nfs = provider(db, "nfs", None).await;
            inventory(db, &nfs, "DISK_GB", 1000, 0).await;
            give_trait(db, &nfs, "MISC_SHARES_VIA_AGGREGATE").await;
            aggregate(db, agg, Some(&nfs)).await;
        }
        if i % 5 == 0 {
            aggregate(db, agg, Some(&cn)).await;
        }
        if i < 40 {
            inventory(db, &cn, "VCPU", 4, 4).await;
            inventory(db, &cn, "MEMORY_MB", 1024, 0).await;
        } else if i % 3 == 0 {
            let numa = provider(db, &format!("cn{i}-numa"), Some(&cn)).await;
            inventory(db, &numa, "VCPU", 8, 0).await;
            inventory(db, &cn, "MEMORY_MB", 4096, 0).await;
            if i % 2 == 0 {
                give_trait(db, &numa, "CUSTOM_FAST").await;
            }
        } else {
            inventory(db, &cn, "VCPU", 8, 0).await;
            inventory(db, &cn, "MEMORY_MB", 4096, 0).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limited_answer_read_in_windows_is_the_prefix_of_the_whole_answer() {
    for tdb in dbs().await {
        let db = tdb.database();
        let backend = tdb.backend().name();
        windowed_cloud(db).await;
        let mut fast = group("1", &[("VCPU", 1)]);
        fast.required = vec![texts(&["CUSTOM_FAST"])];
        let requests = [
            one_group(group("", &[("VCPU", 1), ("MEMORY_MB", 512)])),
            one_group(group(
                "",
                &[("VCPU", 1), ("MEMORY_MB", 512), ("DISK_GB", 10)],
            )),
            one_group(group("", &[("DISK_GB", 10)])),
            NamedRequest {
                groups: vec![fast, group("2", &[("MEMORY_MB", 256)])],
                group_policy: placement_core::candidates::model::GroupPolicy::None,
                ..NamedRequest::default()
            },
        ];
        for request in &requests {
            let whole = allocation_candidates(db, request, &EngineOptions::default())
                .await
                .unwrap();
            assert!(!whole.candidates.is_empty(), "{backend}: {request:?}");
            let summarized: Vec<&str> = whole.summaries.iter().map(|s| s.uuid.as_str()).collect();
            for limit in [1, 3, 10, 25, 60, 200] {
                let options = EngineOptions {
                    limit: Some(limit),
                    ..EngineOptions::default()
                };
                let got = allocation_candidates(db, request, &options).await.unwrap();
                let n = limit.min(whole.candidates.len());
                assert_eq!(
                    got.candidates,
                    whole.candidates[..n],
                    "{backend}: limit {limit}, {request:?}"
                );
                for s in &got.summaries {
                    assert!(summarized.contains(&s.uuid.as_str()), "{backend}");
                }
                for c in &got.named() {
                    for rp in c.allocations.keys() {
                        assert!(
                            got.summaries.iter().any(|s| &s.uuid == rp),
                            "{backend}: {rp} used but not summarized"
                        );
                    }
                }
                // The cap stops generation the same way.
                let capped = EngineOptions {
                    max_candidates: Some(limit),
                    ..EngineOptions::default()
                };
                let got = allocation_candidates(db, request, &capped).await.unwrap();
                assert_eq!(got.candidates, whole.candidates[..n], "{backend}");
            }
        }
    }
}

/// Fills `n` flat compute nodes with upstream's perfload shape (VCPU,
/// MEMORY_MB, DISK_GB), a tenth of them partly used, in a few statements.
async fn flat_cloud(db: &Database, n: usize) {
    let mut tx = db.begin().await.unwrap();
    let vcpu = class_id(&mut tx, "VCPU").await;
    let mem = class_id(&mut tx, "MEMORY_MB").await;
    let disk = class_id(&mut tx, "DISK_GB").await;
    let first: i64 = 1;
    for chunk_start in (0..n).step_by(500) {
        let end = (chunk_start + 500).min(n);
        let mut rps = Vec::new();
        let mut invs = Vec::new();
        let mut allocs = Vec::new();
        for i in chunk_start..end {
            let id = first + i64::try_from(i).unwrap();
            rps.push(format!("({id}, '{}', 'cn{i}', 0, {id})", Uuid::new_v4()));
            invs.push(format!("({id}, {vcpu}, 24, 0, 1, 24, 1, 16.0)"));
            invs.push(format!("({id}, {mem}, 131072, 512, 1, 131072, 1, 1.5)"));
            invs.push(format!("({id}, {disk}, 2048, 0, 1, 2048, 1, 1.0)"));
            if i % 10 == 0 {
                allocs.push(format!("({id}, '{}', {vcpu}, 8)", Uuid::new_v4()));
                allocs.push(format!("({id}, '{}', {mem}, 4096)", Uuid::new_v4()));
            }
        }
        tx.execute(
            &format!(
                "INSERT INTO resource_providers (id, uuid, name, generation, root_provider_id) VALUES {}",
                rps.join(", ")
            ),
            params![],
        )
        .await
        .unwrap();
        tx.execute(
            &format!(
                "INSERT INTO inventories (resource_provider_id, resource_class_id, total, reserved, min_unit, max_unit, step_size, allocation_ratio) VALUES {}",
                invs.join(", ")
            ),
            params![],
        )
        .await
        .unwrap();
        if !allocs.is_empty() {
            tx.execute(
                &format!(
                    "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used) VALUES {}",
                    allocs.join(", ")
                ),
                params![],
            )
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
    if db.backend() == placement_store::Backend::Postgres {
        // The rows above chose their ids; move the sequence past them.
        let mut tx = db.begin().await.unwrap();
        tx.execute_raw(
            "SELECT setval('resource_providers_id_seq', (SELECT MAX(id) FROM resource_providers))",
        )
        .await
        .unwrap();
        tx.execute_raw("ANALYZE").await.unwrap();
        tx.commit().await.unwrap();
    }
}

fn median(mut v: Vec<std::time::Duration>) -> std::time::Duration {
    v.sort();
    v[v.len() / 2]
}

/// A timing, not a check: run with
/// `cargo test --release -p placement-store --test allocation_candidates timing -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a timing report, run by hand in release mode"]
async fn timing_of_the_op_over_10000_flat_providers_with_limit_1000() {
    use std::time::Instant;
    for tdb in dbs().await {
        let db = tdb.database();
        if db.backend() == placement_store::Backend::MySql {
            continue;
        }
        flat_cloud(db, 10_000).await;
        let request = one_group(group(
            "",
            &[("VCPU", 1), ("MEMORY_MB", 256), ("DISK_GB", 10)],
        ));
        let options = EngineOptions {
            limit: Some(1000),
            ..EngineOptions::default()
        };
        let (mut whole, mut db_phase, mut engine, mut summaries) = (vec![], vec![], vec![], vec![]);
        for _ in 0..7 {
            let t = Instant::now();
            let answer = allocation_candidates(db, &request, &options).await.unwrap();
            whole.push(t.elapsed());
            assert_eq!(answer.candidates.len(), 1000);
            assert_eq!(answer.summaries.len(), 1000);

            let t = Instant::now();
            let Prepared::Ready {
                request: resolved,
                snapshot,
            } = prepare(db, &request).await.unwrap()
            else {
                panic!("no anchors");
            };
            db_phase.push(t.elapsed());
            assert_eq!(snapshot.providers.len(), 10_000);
            let t = Instant::now();
            let generated =
                placement_core::candidates::generate(&snapshot, &resolved, &options).unwrap();
            engine.push(t.elapsed());
            let scope = generated.summaries.clone();
            let t = Instant::now();
            allocation_candidates_with(
                db,
                &request,
                &options,
                |_: &Snapshot, _: &_, _: &EngineOptions| {
                    Ok(Generated {
                        candidates: Vec::new(),
                        summaries: scope.clone(),
                    })
                },
            )
            .await
            .unwrap();
            summaries.push(t.elapsed());
        }
        let db_phase = median(db_phase);
        let with_summaries = median(summaries);
        eprintln!(
            "{}: whole op {:?} (median of 7); resolve+snapshot {:?}; engine {:?}; summaries of 1000 ≈ {:?}",
            tdb.backend().name(),
            median(whole),
            db_phase,
            median(engine),
            with_summaries.saturating_sub(db_phase),
        );
    }
}
