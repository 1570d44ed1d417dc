"""Documents -> snapshot: every problem tied to the document it is in, references in
dependency order, and the reuse of unchanged decoded rules between builds."""
from __future__ import annotations

from typing import Any

import pytest

from routing.filters import DestinationAddrFilter
from smscd.service import documents as D

CONNECTOR = {"id": "vendor-a", "hosts": ["127.0.0.1:2776"], "system_id": "acct",
             "password": "secret"}
F33 = {"fid": "f33", "type": "DestinationAddrFilter", "destination_addr": "^33"}
ROUTE = {"order": 10, "type": "StaticMTRoute", "filters": ["f33"], "connector": "vendor-a"}
PEOPLE = D.Directory(frozenset({"u1"}), frozenset({"alice"}), frozenset({"g1"}))


def docs(**parts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = D.empty_docs()
    for kind, specs in parts.items():
        out[kind] = dict(specs)
    return out


def problems(d: D.Docs, directory: D.Directory = PEOPLE) -> list[tuple[D.Owner, str]]:
    with pytest.raises(D.BuildFailed) as e:
        D.build_snapshot(d, directory, 1)
    return [(p.owner, p.text) for p in e.value.problems]


def test_a_valid_set_builds() -> None:
    """Breaks if a consistent set of documents does not give tables and connectors."""
    s = D.build_snapshot(docs(smpp_connector={"vendor-a": CONNECTOR}, filter={"f33": F33},
                              mt_route={"10": ROUTE}), PEOPLE, 7)
    assert s.version == 7 and s.filters["f33"] == DestinationAddrFilter("f33", "^33")
    assert s.mt_routes.get(10).filters == (s.filters["f33"],)
    assert s.smpp_connectors["vendor-a"].started is False
    assert "started" not in s.smpp_connectors["vendor-a"].spec


def test_problems_name_their_document_and_cascade() -> None:
    """Breaks if a broken filter hides the dangling reference of the route using it, or a
    problem is tied to the wrong document."""
    got = problems(docs(smpp_connector={"vendor-a": CONNECTOR},
                        filter={"f33": {**F33, "destination_addr": "("}},
                        mt_route={"10": ROUTE}))
    assert [owner for owner, _ in got] == [("filter", "f33"), ("mt_route", "10")]
    assert got[0][1].startswith("destination_addr: not a valid regular expression")
    assert got[1][1] == "filters[0]: no filter 'f33'"


def test_references_to_people_and_connectors() -> None:
    """Breaks if a filter or MO route may name a user, group, connector or HTTP connector
    that does not exist."""
    got = problems(docs(
        filter={"u": {"fid": "u", "type": "UserFilter", "uid": "ghost"},
                "g": {"fid": "g", "type": "GroupFilter", "gid": "ghost"},
                "c": {"fid": "c", "type": "ConnectorFilter", "cid": "ghost"}},
        mo_route={"0": {"order": 0, "type": "DefaultRoute", "target": "smpps(bob)"},
                  "5": {"order": 5, "type": "StaticMORoute", "filters": ["f"],
                        "target": "http(nope)"}}))
    texts = [t for _, t in got]
    for expected in ("uid: no user 'ghost'", "gid: no group 'ghost'",
                     "cid: no SMPP connector 'ghost'", "target: no user 'bob'",
                     "target: no HTTP connector 'nope'"):
        assert expected in texts, (expected, texts)
    assert any(owner == ("mo_route", "5") for owner, _ in got)


def test_order_must_match_the_document_id() -> None:
    got = problems(docs(smpp_connector={"vendor-a": CONNECTOR}, filter={"f33": F33},
                        mt_route={"9": ROUTE}))
    assert got == [(("mt_route", "9"), "order: stored under order 9, says 10")]


def test_paths_come_from_the_caller() -> None:
    """Breaks if a profile's problems lose their `section[i]` path."""
    with pytest.raises(D.BuildFailed) as e:
        D.build_snapshot(docs(filter={"f": {"fid": "f", "type": "UserFilter", "uid": "x"}}),
                         PEOPLE, 1, lambda kind, i: "filters[3]")
    assert [p.text for p in e.value.problems] == ["filters[3].uid: no user 'x'"]


def test_unchanged_rules_are_reused_changed_filters_are_not() -> None:
    """Breaks if a build decodes unchanged documents again (slow with big tables), or keeps
    a route holding a filter that changed."""
    first = docs(smpp_connector={"vendor-a": CONNECTOR}, filter={"f33": F33},
                 mt_route={"10": ROUTE, "0": {"order": 0, "type": "DefaultRoute",
                                               "connector": "vendor-a"}})
    decoded: D.Decoded = {}
    s1 = D.build_snapshot(first, PEOPLE, 1, decoded=decoded)
    again: D.Decoded = {}
    s2 = D.build_snapshot(first, PEOPLE, 2, reuse=decoded, decoded=again)
    assert s2.mt_routes.get(10) is s1.mt_routes.get(10)
    changed = {**first, "filter": {"f33": {**F33, "destination_addr": "^44"}}}
    s3 = D.build_snapshot(changed, PEOPLE, 3, reuse=again)
    assert s3.mt_routes.get(10).filters == (DestinationAddrFilter("f33", "^44"),)
    assert s3.mt_routes.get(0) is s1.mt_routes.get(0)
    gone = {**first, "smpp_connector": {}}
    with pytest.raises(D.BuildFailed) as e:
        D.build_snapshot(gone, PEOPLE, 4, reuse=again)
    assert {p.owner for p in e.value.problems} == {("mt_route", "10"), ("mt_route", "0")}
