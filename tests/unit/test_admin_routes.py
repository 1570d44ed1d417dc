"""The admin routes and their OpenAPI document agree: every route is documented with its
path parameters, queries, body and statuses; every operation has a handler; writes are
marked; a path matches only the routes it should."""
from __future__ import annotations

import inspect
import re

from smscd.admin_api.openapi import document
from smscd.admin_api.operations import Operations
from smscd.admin_api.routes import BODIES, ROUTES, match


def test_every_route_is_documented_and_nothing_else() -> None:
    """Breaks if the document and the dispatcher drift apart."""
    doc = document()
    documented = {(path, method.upper()) for path, ops in doc["paths"].items()
                  for method in ops}
    assert documented == {(r.path, r.method) for r in ROUTES}
    assert len(ROUTES) == len(documented)             # no route shadows another
    for r in ROUTES:
        op = doc["paths"][r.path][r.method.lower()]
        names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert names == set(re.findall(r"\{(\w+)\}", r.path)), r.path
        queries = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        assert queries == set(r.query)
        assert ("requestBody" in op) == (r.body is not None)
        assert str(r.status) in op["responses"] and "401" in op["responses"]
        assert ("403" in op["responses"]) == r.write
    assert set(doc["components"]["schemas"]) == {"Error", *BODIES}


def test_every_operation_has_a_handler() -> None:
    """Breaks if a documented route would answer 500 for want of its method."""
    tables = ("mt_route", "mo_route", "mt_interceptor", "mo_interceptor")
    methods = {name for name, _ in inspect.getmembers(Operations, inspect.iscoroutinefunction)}
    for r in ROUTES:
        assert r.operation in methods or r.operation.partition("_")[2] in tables, r.operation


def test_reads_and_testers_are_not_writes() -> None:
    """Breaks if a read-only token is refused a read or the route tester, or allowed a write."""
    writes = {r.operation for r in ROUTES if r.write}
    assert "test_mt_route" not in writes and "list_user" not in writes
    assert {"add_user", "remove_group", "start_smppcc", "import_profile",
            "requeue_dead", "flush_mt_route"} <= writes


def test_match_paths_and_values() -> None:
    """Breaks if a path picks the wrong route or a malformed id reaches an operation."""
    found, bad = match(("smppccs", "vendor-a", "start"))
    assert [(r.operation, v) for r, v in found] == [("start_smppcc", {"cid": "vendor-a"})]
    found, _ = match(("queues", "mt:vendor-a", "dead-letters"))
    assert {r.operation for r, _ in found} == {"list_dead", "purge_dead"}
    assert match(("groups", "a/b")) == ([], True)
    assert match(("groups", "x" * 65)) == ([], True)
    assert match(("nothing",)) == ([], False)
