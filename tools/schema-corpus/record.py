"""Records the schema-error corpus from upstream Placement 16.0.0.

Runs every request of `cases()` against upstream's WSGI application in
process (noauth2, a fresh SQLite database through upstream's own test
fixture) and writes one JSON line per request: method, path (with query),
microversion, raw body, and upstream's status, error code and detail.
Lines with "setup": true create what the other requests need and are
replayed first. Only schema failures are kept, and every
`GET /allocation_candidates` request (the schema must accept the others).

Usage (from the repository root):
    conformance/.venv/bin/python tools/schema-corpus/record.py \
        > crates/placement-http/tests/corpus/schema-errors.jsonl
"""

import json
import os
import sys

import webob

from placement import deploy
from placement.tests.functional.fixtures import gabbits

RP = "c0a5b1e3-3d8c-4a5f-9a1e-0b6d9e2f7a11"
RP2 = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
CONSUMER = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
AGG = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


# Details of the failures this corpus is about.
SCHEMA_TEXTS = ("JSON does not validate", "Malformed JSON",
                "Invalid query string parameters")


def j(value):
    return json.dumps(value)


def cases():
    """(setup, method, path, version, body) in replay order."""
    out = []

    def add(method, path, version, body=None, setup=False):
        if body is not None and not isinstance(body, str):
            body = j(body)
        out.append((setup, method, path, version, body))

    add("POST", "/resource_providers", "1.20",
        {"name": "corpus-rp", "uuid": RP}, setup=True)

    # -- resource providers: bodies
    for v in ("1.0", "1.13", "1.14", "1.39"):
        for body in ({}, {"name": 1}, {"name": "x" * 201},
                     {"name": "a", "uuid": "bad"},
                     {"name": "a", "zed": 1, "alpha": 2},
                     {"name": "a", "parent_provider_uuid": "bad"},
                     {"name": "a", "parent_provider_uuid": 5},
                     [], "not json", {"name": None},
                     {"name": "a", "uuid": "0" * 32 + "-"}):
            add("POST", "/resource_providers", v, body)
        for body in ({}, {"name": "a", "uuid": RP},
                     {"name": "a", "parent_provider_uuid": "bad"},
                     {"name": ["x"]}):
            add("PUT", "/resource_providers/" + RP, v, body)
    # -- resource providers: queries
    for v in ("1.0", "1.3", "1.4", "1.14", "1.18", "1.39"):
        for q in ("foo=bar", "zed=1&alpha=2&name=x", "uuid=bad",
                  "in_tree=bad", "member_of=x", "required=X",
                  "uuid=" + "0" * 32,
                  "name=" + "y+z+" * 25 + "&bogus=1",
                  "name=%E2%81%A6x&bogus=1"):
            add("GET", "/resource_providers?" + q, v)

    # -- inventories
    base = {"resource_provider_generation": 0}
    for v in ("1.0", "1.39"):
        for body in ({}, {"resource_class": "vcpu", "total": 1},
                     {"resource_class": "VCPU", "total": 0},
                     {"resource_class": "VCPU", "total": 2147483648},
                     {"resource_class": "VCPU", "total": 1, "reserved": -1},
                     {"resource_class": "VCPU", "total": 1,
                      "allocation_ratio": 3.5e38},
                     {"resource_class": "VCPU", "total": 1,
                      "allocation_ratio": "x"},
                     {"resource_class": "VCPU", "total": 1.5},
                     {"resource_class": "VCPU", "total": True},
                     {"resource_class": "VCPU", "total": 1, "b": 1, "a": 2},
                     {"resource_class": "VCPU", "total": 1,
                      "resource_provider_generation": "x"},
                     {"resource_class": 7, "total": 1}):
            add("POST", "/resource_providers/%s/inventories" % RP, v, body)
        for body in ({}, dict(base, inventories=[]),
                     dict(base, inventories={"VCPU": {"total": 0}}),
                     dict(base, inventories={"VCPU": {}}),
                     dict(base, inventories={"VCPU": {"total": 1, "zz": 1,
                                                      "aa": 2}}),
                     dict(base, inventories={"VCPU": {"total": 1},
                                             "DISK_GB": {"total": "x"}}),
                     dict(base, inventories={"VCPU": {"total": 1,
                                                      "step_size": 0,
                                                      "max_unit": 0}}),
                     {"inventories": {}}):
            add("PUT", "/resource_providers/%s/inventories" % RP, v, body)
        for body in ({"total": 1}, dict(base, total=1, max_unit=0),
                     dict(base, total=1, resource_class="VCPU"), []):
            add("PUT", "/resource_providers/%s/inventories/VCPU" % RP, v,
                body)

    # -- allocations: PUT
    item = {"resource_provider": {"uuid": RP}, "resources": {"VCPU": 1}}
    owners = {"project_id": "p", "user_id": "u"}
    path = "/allocations/" + CONSUMER
    for v in ("1.0", "1.8"):
        for body in ({}, {"allocations": []}, {"allocations": {}},
                     {"allocations": [dict(item, resource_provider={
                         "uuid": "bad"})]},
                     {"allocations": [dict(item, resources={"vcpu": 1})]},
                     {"allocations": [dict(item, resources={})]},
                     {"allocations": [dict(item, resources={"VCPU": 0})]},
                     {"allocations": [{"resource_provider": {"uuid": RP}}]},
                     {"allocations": [dict(item, resource_provider={
                         "uuid": RP, "x": 1})]},
                     {"allocations": [item, dict(item, extra=1)]},
                     dict(owners, allocations=[item], project_id=""),
                     {"allocations": [item]}):
            add("PUT", path, v, body)

    def by_rp(resources, **extra):
        return {RP: dict({"resources": resources}, **extra)}

    for v in ("1.12", "1.27", "1.28", "1.33", "1.34", "1.37", "1.38",
              "1.39"):
        full = dict(owners, consumer_generation=None,
                    consumer_type="INSTANCE")
        for body in ({}, dict(full, allocations={}),
                     dict(full, allocations=by_rp({"VCPU": 0})),
                     dict(full, allocations=by_rp({"VCPU": "x"})),
                     dict(full, allocations=by_rp({})),
                     dict(full, allocations=by_rp({"VCPU": 1},
                                                  generation="x")),
                     dict(full, allocations={"not-a-uuid": {
                         "resources": {"VCPU": 1}}}),
                     dict(full, allocations={RP: {}}),
                     dict(owners, allocations=by_rp({"VCPU": 1})),
                     dict(full, allocations=by_rp({"VCPU": 1}),
                          consumer_generation="x"),
                     dict(full, allocations=by_rp({"VCPU": 1}),
                          mappings={}),
                     dict(full, allocations=by_rp({"VCPU": 1}),
                          mappings={"g": []}),
                     dict(full, allocations=by_rp({"VCPU": 1}),
                          mappings={"g": ["bad"]}),
                     dict(full, allocations=by_rp({"VCPU": 1}),
                          consumer_type="lower"),
                     dict(full, allocations=by_rp({"VCPU": 1}),
                          consumer_type=""),
                     dict(full, allocations=by_rp({"VCPU": 1}), zz=1,
                          aa=2)):
            add("PUT", path, v, body)
    # -- allocations: POST
    for v in ("1.13", "1.28", "1.34", "1.38"):
        full = dict(owners, consumer_generation=None,
                    consumer_type="INSTANCE")
        for body in ({}, [], {"bad": {}, "worse": {}},
                     {CONSUMER: {"allocations": {}}},
                     {CONSUMER: dict(full, allocations=by_rp({"VCPU": "x"}))},
                     {CONSUMER: dict(full, allocations={RP: {
                         "resources": {"VCPU": 1}, "x": 1}})},
                     {CONSUMER: dict(full, allocations=by_rp({"VCPU": 1}),
                                     mappings={"g": ["bad"]})}):
            add("POST", "/allocations", v, body)

    # -- reshaper
    for v in ("1.30", "1.34", "1.38", "1.39"):
        inv = {RP: {"resource_provider_generation": 0,
                    "inventories": {"VCPU": {"total": 1}}}}
        for body in ({}, {"inventories": {}, "allocations": {}},
                     {"inventories": {RP: {"resource_provider_generation": 0,
                                           "inventories": {
                                               "VCPU": {"total": 0}}}},
                      "allocations": {}},
                     {"inventories": {"bad": {}}, "allocations": {}},
                     {"inventories": inv, "allocations": {CONSUMER: {
                         "allocations": by_rp({"VCPU": 0}),
                         "project_id": "p", "user_id": "u",
                         "consumer_generation": None,
                         "consumer_type": "X"}}},
                     {"inventories": inv, "allocations": {CONSUMER: {
                         "allocations": {}, "project_id": "p",
                         "user_id": "u"}}},
                     {"inventories": inv, "allocations": [], "x": 1}):
            add("POST", "/reshaper", v, body)

    # -- traits of a provider, aggregates
    tpath = "/resource_providers/%s/traits" % RP
    for body in ({}, {"traits": "x", "resource_provider_generation": 0},
                 {"traits": [""], "resource_provider_generation": 0},
                 {"traits": ["x" * 256], "resource_provider_generation": 0},
                 {"traits": [1], "resource_provider_generation": 0},
                 {"traits": []},
                 {"traits": [], "resource_provider_generation": 0, "b": 1,
                  "a": 1}):
        add("PUT", tpath, "1.6", body)
    apath = "/resource_providers/%s/aggregates" % RP
    for v in ("1.1", "1.18", "1.19"):
        for body in ({}, [], ["bad"], [AGG, AGG],
                     {"aggregates": ["bad"],
                      "resource_provider_generation": 0},
                     {"aggregates": []},
                     {"aggregates": [AGG, AGG],
                      "resource_provider_generation": 0}):
            add("PUT", apath, v, body)

    # -- resource classes
    for body in ({}, {"name": "FOO"}, {"name": "CUSTOM_" + "A" * 250},
                 {"name": "CUSTOM_A", "x": 1}, {"name": 5}):
        add("POST", "/resource_classes", "1.2", body)
        add("PUT", "/resource_classes/CUSTOM_CORPUS", "1.2", body)
    add("PUT", "/resource_classes/lower", "1.7")
    add("PUT", "/resource_classes/CUSTOM_" + "A" * 250, "1.7")

    # -- queries: traits, usages
    for q in ("foo=1", "name=x&b=1&a=2"):
        add("GET", "/traits?" + q, "1.6")
    for v in ("1.9", "1.38"):
        for q in ("", "user_id=u", "project_id=", "project_id=p&foo=1",
                  "project_id=p&consumer_type=lower",
                  "project_id=p&consumer_type=", "project_id=" + "p" * 256):
            add("GET", "/usages" + ("?" + q if q else ""), v)

    # -- allocation candidates (schema only: the route comes later)
    for v in ("1.10", "1.16", "1.17", "1.21", "1.25", "1.31", "1.33",
              "1.35", "1.36", "1.39"):
        for q in ("", "limit=1", "resources=VCPU:1&limit=0",
                  "resources=VCPU:1&limit=abc", "resources=VCPU:1&limit=",
                  "resources=VCPU:1&foo=1&bar=2",
                  "resources=VCPU:1&group_policy=bad",
                  "resources1=VCPU:1&group_policy=none",
                  "resources_X=VCPU:1&group_policy=none",
                  "resources=VCPU:1&in_tree1=" + RP,
                  "resources=VCPU:1&required=X&member_of=" + AGG,
                  "resources=VCPU:1&root_required=X&same_subtree=_a",
                  "resources%21=VCPU:1"):
            add("GET", "/allocation_candidates" + ("?" + q if q else ""), v)
    return out


def main():
    fixture = gabbits.APIFixture()
    fixture.start_fixture()
    try:
        app = deploy.loadapp(gabbits.CONF)
        for setup, method, path, version, body in cases():
            headers = {
                "X-Auth-Token": "admin",
                "X-Roles": "admin,service,member,reader",
                "OpenStack-API-Version": "placement " + version,
                "Accept": "application/json",
            }
            if body is not None:
                headers["Content-Type"] = "application/json"
            req = webob.Request.blank(path, method=method, headers=headers)
            if body is not None:
                req.body = body.encode("utf-8")
            resp = req.get_response(app)
            line = {"method": method, "path": path, "version": version,
                    "body": body, "status": resp.status_int}
            if setup:
                line = dict({"setup": True}, **line)
            elif resp.status_int >= 400:
                error = json.loads(resp.body)["errors"][0]
                line["code"] = error.get("code")
                line["detail"] = error["detail"]
            if not (setup or path.startswith("/allocation_candidates")
                    or any(text in line.get("detail", "")
                           for text in SCHEMA_TEXTS)):
                # Not a schema failure (a write that went through, a
                # conflict): left out, so the corpus is about schemas.
                continue
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    finally:
        fixture.stop_fixture()


if __name__ == "__main__":
    main()
