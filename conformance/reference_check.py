"""Checks the Rust brute-force reference for allocation candidates against
upstream Placement's own objects (the openstack-placement package installed
in conformance/.venv), case by case, on a fresh SQLite database each.

    PLACEMENT_REFERENCE_EXPORT=/tmp/cases.json PLACEMENT_REFERENCE_EXPORT_CASES=300 \
        cargo test -p placement-core --lib export -- --ignored
    cd conformance && CASES=/tmp/cases.json .venv/bin/python -m unittest reference_check

Each case (from crates/placement-core/src/candidates/reference.rs, `gen::case`
with prechecks Ready and default options) becomes providers, traits
(CUSTOM_T<n>, MISC_SHARES_VIA_AGGREGATE for sharing providers), aggregates,
inventories and raw allocation rows; the groups go to
AllocationCandidates.get_by_requests, and its answer must equal the
reference's as a set of (allocations, mappings).
"""
import json, os, uuid

import os_traits
from oslo_utils.fixture import uuidsentinel as uuids

from placement import db_api
from placement import lib as placement_lib
from placement.db.sqlalchemy import models
from placement.objects import allocation_candidate as ac_obj
from placement.objects import trait as trait_obj
from placement.tests.functional.db import test_base as tb

CLASSES = {0: 'VCPU', 1: 'MEMORY_MB', 2: 'DISK_GB'}
ALLOC = models.Allocation.__table__


def tname(t):
    return 'CUSTOM_T%d' % t


def agg(a):
    return getattr(uuids, 'agg%d' % a)


@db_api.placement_context_manager.writer
def insert_alloc(ctx, rp_id, rc_id, used):
    ctx.session.execute(ALLOC.insert().values(
        resource_provider_id=rp_id, resource_class_id=rc_id,
        consumer_id=str(uuid.uuid4()), used=used))


CASES = json.load(open(os.environ['CASES']))


class Check(tb.PlacementDbBaseTestCase):
    pass


def make(case):
    def test(self):
        ctx = self.ctx
        for t in (1, 2, 3, 4):
            trait_obj.Trait(ctx, name=tname(t)).create()
        uuid_of, id_of = {}, {}
        for p in case['providers']:
            parent = uuid_of[p['parent']] if p['parent'] else None
            rp = tb.create_provider(ctx, 'rp%d' % p['id'],
                                    *[agg(a) for a in p['aggs']],
                                    parent=parent)
            uuid_of[p['id']] = rp.uuid
            id_of[rp.uuid] = p['id']
            traits = [tname(t) for t in p['traits']]
            if p['shares']:
                traits.append(os_traits.MISC_SHARES_VIA_AGGREGATE)
            if traits:
                tb.set_traits(rp, *traits)
            for (c, total, res, mn, mx, step, ratio, used) in p['inv']:
                tb.add_inventory(rp, CLASSES[c], total, reserved=res,
                                 min_unit=mn, max_unit=mx, step_size=step,
                                 allocation_ratio=ratio)
                if used:
                    insert_alloc(ctx, rp.id,
                                 ctx.rc_cache.id_from_string(CLASSES[c]),
                                 used)
        groups = {}
        for g in case['groups']:
            member_of = [[agg(a) for a in s] or [str(uuid.uuid4())]
                         for s in g['member_of']]
            groups[g['suffix']] = placement_lib.RequestGroup(
                use_same_provider=bool(g['suffix']),
                resources={CLASSES[c]: a for c, a in g['resources']},
                required_traits=[set(tname(t) for t in s)
                                 for s in g['required']],
                forbidden_traits=set(tname(t) for t in g['forbidden']),
                member_of=member_of,
                forbidden_aggs=set(agg(a) for a in g['forbidden_aggs']),
                in_tree=uuid_of[g['in_tree']] if g['in_tree'] else None)
        rqparams = placement_lib.RequestWideParams(
            group_policy=case['policy'],
            anchor_required_traits=set(tname(t) for t in case['root_required']) or None,
            anchor_forbidden_traits=set(tname(t) for t in case['root_forbidden']) or None,
            same_subtrees=[set(e) for e in case['same_subtree']])
        got = ac_obj.AllocationCandidates.get_by_requests(ctx, groups, rqparams)
        inv_cls = {v: k for k, v in CLASSES.items()}

        def canon_up(areq):
            allocs = sorted((id_of[r.resource_provider.uuid],
                             inv_cls[r.resource_class], r.amount)
                            for r in areq.resource_requests)
            maps = tuple(sorted((s, tuple(sorted(id_of[u] for u in rps)))
                                for s, rps in areq.mappings.items()))
            return (tuple(allocs), maps)

        def canon_ref(c):
            allocs = sorted(tuple(a) for a in c['allocations'])
            maps = tuple(sorted((s, tuple(rps)) for s, rps in c['mappings'].items()))
            return (tuple(allocs), maps)

        up = [canon_up(a) for a in got.allocation_requests]
        ref = set(canon_ref(c) for c in case['answer'])
        upset = set(up)
        if upset != ref or len(up) != len(upset):
            self.fail('seed %d: upstream-only %s; reference-only %s; dup %d' % (
                case['seed'], sorted(upset - ref)[:4], sorted(ref - upset)[:4],
                len(up) - len(upset)))
    return test


for case in CASES:
    setattr(Check, 'test_seed_%05d' % case['seed'], make(case))
