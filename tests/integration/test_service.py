"""The provisioning service over the real SQLite store: every facet's add/update/remove/
list, reference errors (dangling, in use), the atomic snapshot swap, durability across
reopen, and profile export/import (round trip, version 1, a bad profile changes nothing)."""
from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed

from routing.filters import DestinationAddrFilter
from smscd.passwords import hash_password, verify_password
from smscd.python_interceptors import GROUP, PythonInterceptors
from smscd.service.api import (AlreadyExists, ConnectorStatus, InUse, InvalidValue, NotFound,
                               RoutingSnapshot, WrongState)
from smscd.service.profile_io import seed_from_file
from smscd.service.service import ProvisioningService, open_service, thread_hasher
from smscd.stores.sqlite import SqliteStore
from smscd.stores.sqlite_provisioning import Document

CONNECTOR = {"id": "vendor-a", "hosts": ["127.0.0.1:2776"], "system_id": "acct",
             "password": "secret"}
HTTP = {"id": "http-01", "url": "http://127.0.0.1:8080/mo", "method": "POST"}
F33 = {"fid": "f33", "type": "DestinationAddrFilter", "destination_addr": "^33"}
DEFAULT_MT = {"order": 0, "type": "DefaultRoute", "connector": "vendor-a"}
STATIC_MT = {"order": 10, "type": "StaticMTRoute", "filters": ["f33"],
             "connector": "vendor-a", "rate": "0.05"}


def quick_hash(password: str) -> Deferred[str]:
    return succeed(hash_password(password, n=16, r=1, p=1))


class FakeControl:
    """The daemon's side, recorded: binds per connector, unbinds asked."""

    def __init__(self) -> None:
        self.binds: dict[str, int] = {}
        self.unbound: list[str] = []

    def connector_status(self, cid: str) -> ConnectorStatus:
        binds = self.binds.get(cid, 0)
        return ConnectorStatus(cid, "started" if binds else "stopped",
                               "BOUND_TRX" if binds else "NONE", binds=binds)

    def unbind_user(self, uid: str) -> int:
        self.unbound.append(uid)
        return 2


class Harness:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.control = FakeControl()
        self.store: SqliteStore | None = None

    async def open(self, python: Any = None) -> ProvisioningService:
        self.store = SqliteStore.open(self.path, reactor)
        return await open_service(self.store.provisioning, self.store.users, self.control,
                                  quick_hash, reactor, python)

    async def reopen(self) -> ProvisioningService:
        await self.close()
        return await self.open()

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()
            self.store = None


@pytest_twisted.async_yield_fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(tmp_path / "store.db")
    yield h
    await h.close()


async def failure(d: Deferred[Any]) -> Exception:
    try:
        await d
    except Exception as e:
        return e
    raise AssertionError("expected the change to be refused")


async def routed(service: ProvisioningService) -> None:
    await service.smpp_connectors.add(CONNECTOR)
    await service.filters.add(F33)
    await service.mt_routes.add(DEFAULT_MT)
    await service.mt_routes.add(STATIC_MT)


# --- documents: connectors, filters, tables -----------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_add_list_get_update_remove(harness: Harness) -> None:
    """Breaks if a facet loses a change, lists in the wrong order or misses an update."""
    s = await harness.open()
    await routed(s)
    assert [c.config.id for c in s.smpp_connectors.list()] == ["vendor-a"]
    assert [f.key for f in s.filters.list()] == ["f33"]
    assert [r.key for r in s.mt_routes.list()] == [10, 0]
    assert s.mt_routes.get(10).spec["rate"] == "0.05"
    rule = await s.filters.update("f33", {"destination_addr": "^34"})
    assert rule.obj == DestinationAddrFilter("f33", "^34")
    assert s.snapshot.filters["f33"] is rule.obj
    await s.mt_routes.remove(10)
    assert [r.key for r in s.mt_routes.list()] == [0]
    await s.filters.remove("f33")
    assert s.filters.list() == []
    assert await s.mt_routes.flush() == 1
    assert s.mt_routes.list() == []


@pytest_twisted.ensureDeferred
async def test_route_table_update_in_place(harness: Harness) -> None:
    """Breaks if `update` of a route loses its other keys or lets the order move."""
    s = await harness.open()
    await routed(s)
    rule = await s.mt_routes.update(10, {"rate": "0.07"})
    assert rule.spec == {**STATIC_MT, "rate": "0.07"}
    e = await failure(s.mt_routes.update(10, {"order": 11}))
    assert isinstance(e, InvalidValue) and e.field == "order"
    assert isinstance(await failure(s.mt_routes.update(99, {})), NotFound)


@pytest_twisted.ensureDeferred
async def test_duplicates_and_unknowns(harness: Harness) -> None:
    """Breaks if an id can be added twice or a missing one is silently accepted."""
    s = await harness.open()
    await routed(s)
    assert isinstance(await failure(s.filters.add(F33)), AlreadyExists)
    assert isinstance(await failure(s.smpp_connectors.add(CONNECTOR)), AlreadyExists)
    e = await failure(s.filters.remove("nope"))
    assert isinstance(e, NotFound) and e.message == "Unknown Filter: nope"
    with pytest.raises(NotFound):
        s.smpp_connectors.get("nope")


@pytest_twisted.ensureDeferred
async def test_dangling_references_are_refused(harness: Harness) -> None:
    """Breaks if a route naming a missing filter or connector, or a filter naming a missing
    user, gets into the snapshot."""
    s = await harness.open()
    await s.smpp_connectors.add(CONNECTOR)
    e = await failure(s.mt_routes.add(STATIC_MT))
    assert isinstance(e, InvalidValue) and "no filter 'f33'" in e.message
    assert e.field == "filters"
    e = await failure(s.mt_routes.add({**DEFAULT_MT, "connector": "ghost"}))
    assert isinstance(e, InvalidValue) and "ghost" in e.message
    e = await failure(s.filters.add({"fid": "u1", "type": "UserFilter", "uid": "nobody"}))
    assert isinstance(e, InvalidValue) and e.message == "uid: no user 'nobody'"
    assert s.mt_routes.list() == [] and s.filters.list() == []


@pytest_twisted.ensureDeferred
async def test_in_use_cannot_be_removed(harness: Harness) -> None:
    """Breaks if removing a filter, connector, user or group still named by a rule leaves a
    dangling reference instead of InUse naming its users."""
    s = await harness.open()
    await routed(s)
    e = await failure(s.filters.remove("f33"))
    assert isinstance(e, InUse) and e.users == ("mt_route 10",)
    e = await failure(s.smpp_connectors.remove("vendor-a"))
    assert isinstance(e, InUse) and e.users == ("mt_route 0", "mt_route 10")
    await s.groups.add("g1")
    await s.users.add({"uid": "u1", "gid": "g1", "username": "alice", "password": "pw"})
    await s.filters.add({"fid": "fu", "type": "UserFilter", "uid": "u1"})
    e = await failure(s.users.remove("u1"))
    assert isinstance(e, InUse) and e.users == ("filter fu",)
    e = await failure(s.groups.remove("g1"))
    assert isinstance(e, InUse) and e.users == ("filter fu",)
    assert s.users.get("u1").gid == "g1"
    await s.filters.remove("fu")
    await s.groups.remove("g1")
    assert s.users.list() == [] and [g.gid for g in s.groups.list()] == ["default"]


@pytest_twisted.ensureDeferred
async def test_http_connectors(harness: Harness) -> None:
    """Breaks if HTTP callback connectors cannot be managed or an MO route's use of one
    does not protect it."""
    s = await harness.open()
    c = await s.http_connectors.add(HTTP)
    assert c.method == "POST" and s.http_connectors.list() == [c]
    c = await s.http_connectors.update("http-01", {"method": "GET"})
    assert s.http_connectors.get("http-01").method == "GET"
    e = await failure(s.http_connectors.update("http-01", {"url": "ftp://x"}))
    assert isinstance(e, InvalidValue) and e.field == "url"
    await s.mo_routes.add({"order": 0, "type": "DefaultRoute", "target": "http(http-01)"})
    e = await failure(s.http_connectors.remove("http-01"))
    assert isinstance(e, InUse) and e.users == ("mo_route 0",)


@pytest_twisted.ensureDeferred
async def test_connector_start_stop_status(harness: Harness) -> None:
    """Breaks if the wanted state is not kept, a double start is not refused, or status
    does not come from the daemon."""
    s = await harness.open()
    await s.smpp_connectors.add(CONNECTOR)
    assert s.smpp_connectors.get("vendor-a").started is False
    await s.smpp_connectors.start("vendor-a")
    assert s.smpp_connectors.get("vendor-a").started is True
    assert isinstance(await failure(s.smpp_connectors.start("vendor-a")), WrongState)
    updated = await s.smpp_connectors.update("vendor-a", {"window": 50})
    assert updated.started is True and updated.config.window == 50
    harness.control.binds["vendor-a"] = 1
    assert s.smpp_connectors.status("vendor-a").session == "BOUND_TRX"
    await s.smpp_connectors.stop("vendor-a")
    assert isinstance(await failure(s.smpp_connectors.stop("vendor-a")), WrongState)
    e = await failure(s.smpp_connectors.add({**CONNECTOR, "id": "vendor-b", "window": "ten"}))
    assert isinstance(e, InvalidValue) and e.field == "window"


# --- users and groups ---------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_users_and_groups(harness: Harness) -> None:
    """Breaks if users/groups are not delegated to the Users store or store errors do not
    come back as ServiceErrors naming the field."""
    s = await harness.open()
    await s.groups.add("marketing")
    assert isinstance(await failure(s.groups.add("marketing")), AlreadyExists)
    user = await s.users.add({"uid": "foo", "gid": "marketing", "username": "foo",
                              "password": "bar",
                              "mt_credential": {"quota": {"smpps_throughput": 2}}})
    assert user.mt_credential.quota.smpps_throughput == 2.0
    assert verify_password("bar", user.password_hash)
    e = await failure(s.users.add({"uid": "x", "gid": "nope", "username": "x",
                                   "password": "p"}))
    assert isinstance(e, NotFound) and e.field == "gid"
    e = await failure(s.users.add({"uid": "x", "gid": "marketing", "username": "x"}))
    assert isinstance(e, InvalidValue) and e.field == "password"
    e = await failure(s.users.add({"uid": "bad uid", "gid": "marketing", "username": "x",
                                   "password": "p"}))
    assert isinstance(e, InvalidValue) and e.field == "uid"
    e = await failure(s.users.update("foo", {"password": "x" * 17}))
    assert isinstance(e, InvalidValue) and e.field == "password"
    e = await failure(s.users.update("foo", {"username": "other"}))
    assert isinstance(e, InvalidValue) and e.field == "username"
    await s.users.disable("foo")
    assert s.users.get("foo").enabled is False
    await s.groups.disable("marketing")
    assert s.groups.get("marketing").enabled is False
    assert await s.users.smpp_unbind("foo") == 2
    await s.users.smpp_ban("foo")
    assert s.users.get("foo").smpps_credential.authorization.bind is False
    assert harness.control.unbound == ["foo", "foo"]
    assert [u.uid for u in s.users.list("marketing")] == ["foo"]
    assert s.users.by_username("foo").uid == "foo"


# --- live and atomic ------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_listener_sees_the_whole_change(harness: Harness) -> None:
    """Breaks if a listener (the daemon) can see a snapshot where a route still holds the
    old filter, or the mutator fires before the listener's work is done."""
    s = await harness.open()
    await routed(s)
    seen: list[tuple[RoutingSnapshot, RoutingSnapshot]] = []
    gate: Deferred[None] = Deferred()

    def listener(old: RoutingSnapshot, new: RoutingSnapshot) -> Deferred[None]:
        seen.append((old, new))
        return gate
    s.on_change(listener)
    d = s.filters.update("f33", {"destination_addr": "^44"})
    done: list[object] = []
    d.addCallback(done.append)
    while not seen:
        await _turn()
    old, new = seen[0]
    assert s.snapshot is new and new.version == old.version + 1
    route = new.mt_routes.get(10)
    assert route.filters == (new.filters["f33"],) == (DestinationAddrFilter("f33", "^44"),)
    assert old.mt_routes.get(10).filters == (DestinationAddrFilter("f33", "^33"),)
    assert done == []
    gate.callback(None)
    await d
    assert len(done) == 1


async def _turn() -> None:
    d: Deferred[None] = Deferred()
    reactor.callLater(0, d.callback, None)
    await d


@pytest_twisted.ensureDeferred
async def test_refused_change_leaves_snapshot_untouched(harness: Harness) -> None:
    """Breaks if a refused change swaps a snapshot or calls listeners."""
    s = await harness.open()
    await routed(s)
    before = s.snapshot
    calls: list[object] = []
    s.on_change(lambda old, new: calls.append(new))
    await failure(s.filters.remove("f33"))
    assert s.snapshot is before and calls == []


@pytest_twisted.ensureDeferred
async def test_durable_across_reopen(harness: Harness) -> None:
    """Breaks if a committed change is lost by a restart."""
    s = await harness.open()
    await routed(s)
    await s.http_connectors.add(HTTP)
    await s.smpp_connectors.start("vendor-a")
    await s.groups.add("g1")
    await s.users.add({"uid": "u1", "gid": "g1", "username": "alice", "password": "pw"})
    exported = s.export_profile()
    s = await harness.reopen()
    assert [r.key for r in s.mt_routes.list()] == [10, 0]
    assert s.smpp_connectors.get("vendor-a").started is True
    assert s.http_connectors.get("http-01").url == HTTP["url"]
    assert s.users.get("u1").username == "alice"
    assert s.export_profile() == exported


# --- profiles -------------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_export_import_round_trip(harness: Harness, tmp_path: Path) -> None:
    """Breaks if persist then load on another store does not give the same provisioning, or
    if an export holds a clear password."""
    s = await harness.open()
    await routed(s)
    await s.http_connectors.add(HTTP)
    await s.groups.add("g1")
    await s.users.add({"uid": "u1", "gid": "g1", "username": "alice", "password": "s3cret"})
    text = s.export_profile()
    assert "s3cret" not in text and "password_hash" in text
    other = Harness(tmp_path / "other.db")
    try:
        t = await other.open()
        summary = await t.import_profile(text)
        assert summary.counts["mt_routes"] == 2 and summary.counts["users"] == 1
        assert t.export_profile() == text
        assert verify_password("s3cret", t.users.get("u1").password_hash)
    finally:
        await other.close()


V1_PROFILE = """
version: 1
users:
  - {username: alice, password: pw, throughput: 5}
connectors:
  - {id: vendor-a, hosts: ["127.0.0.1:2776"], system_id: acct, password: secret}
routing:
  default_connector: vendor-a
  mo_routes: {"": alice, "3312": alice}
"""


@pytest_twisted.ensureDeferred
async def test_version_1_profile_still_loads(harness: Harness) -> None:
    """Breaks if today's profiles stop working: users, started connectors, the default
    route and the MO prefix routes must all come through."""
    s = await harness.open()
    await s.import_profile(V1_PROFILE)
    alice = s.users.get("alice")
    assert alice.gid == "default" and alice.mt_credential.quota.smpps_throughput == 5.0
    assert s.smpp_connectors.get("vendor-a").started is True
    assert [r.key for r in s.mt_routes.list()] == [0]
    assert [r.key for r in s.mo_routes.list()] == [2, 0]
    assert s.filters.get("mo-3312").obj == DestinationAddrFilter("mo-3312", "^3312")


@pytest_twisted.ensureDeferred
async def test_bad_profile_changes_nothing_and_lists_every_problem(harness: Harness) -> None:
    """Breaks if a bad profile is half applied, or only its first problem is reported."""
    s = await harness.open()
    await routed(s)
    before, exported = s.snapshot, s.export_profile()
    bad = """
version: 2
colour: blue
groups: [{gid: g1}]
users:
  - {uid: u1, gid: nope, username: alice, password: pw}
smpp_connectors:
  - {id: c1, hosts: ["h:1"], system_id: a, password: p, window: ten}
filters:
  - {fid: f1, type: UserFilter, uid: ghost}
mt_routes:
  - {order: 10, type: StaticMTRoute, filters: [missing], connector: c1, rate: "0"}
  - {order: 10, type: DefaultRoute, connector: c1}
"""
    e = await failure(s.import_profile(bad))
    assert isinstance(e, InvalidValue)
    for expected in ("colour: unknown key", "users[0].gid: no group 'nope'",
                     "smpp_connectors[0].window", "filters[0].uid: no user 'ghost'",
                     "mt_routes[0].filters[0]: no filter 'missing'",
                     "mt_routes[1].order: 10 is given twice"):
        assert any(p.startswith(expected) for p in e.problems), (expected, e.problems)
    assert s.snapshot is before and s.export_profile() == exported


# --- the route tester -------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_route_tester(harness: Harness) -> None:
    """Breaks if the tester does not run interceptors then routes on the live snapshot, or
    accepts facts it cannot use."""
    s = await harness.open()
    await routed(s)
    await s.groups.add("g1")
    await s.users.add({"uid": "u1", "gid": "g1", "username": "alice", "password": "pw"})
    await s.mt_interceptors.add({"order": 5, "type": "StaticMTInterceptor",
                                 "filters": ["f33"],
                                 "actions": [{"action": "add_tags", "tags": ["fr"]}]})
    harness.control.binds["vendor-a"] = 1
    test = s.test_mt_route({"user": "u1", "destination_addr": "33612345678",
                            "at": "2026-01-01T10:00:00"})
    interception, route = test.explanation
    assert interception.result.routable.tags == frozenset({"fr"})
    assert interception.result.routable.group == "g1"
    assert test.lines[0] == "MT interceptors:"
    assert route is not None and list(test.lines) == route.lines()
    assert "  route: #10 StaticMTRoute to smppc(vendor-a), rated 0.05" in test.lines
    assert test.lines[-1] == "  connector: smppc(vendor-a)"
    for bad, field in (({"colour": "red"}, "colour"), ({"user": "nobody"}, "user"),
                       ({"at": "yesterday"}, "at"), ({"priority": "1"}, "priority")):
        with pytest.raises(InvalidValue) as e:
            s.test_mt_route(bad)
        assert e.value.field == field


# --- interceptors, composite filters, MO routes, concurrency -------------------------------

@pytest_twisted.ensureDeferred
async def test_interceptor_tables(harness: Harness) -> None:
    """Breaks if interceptor tables are not managed like route tables, or a filter used only
    by an interceptor can be removed."""
    s = await harness.open()
    await s.filters.add(F33)
    rule = await s.mo_interceptors.add({"order": 7, "type": "StaticMOInterceptor",
                                        "filters": ["f33"],
                                        "actions": [{"action": "add_tags", "tags": ["x"]}]})
    assert rule.key == 7 and s.snapshot.mo_interceptors.get(7) is rule.obj
    e = await failure(s.filters.remove("f33"))
    assert isinstance(e, InUse) and e.users == ("mo_interceptor 7",)
    e = await failure(s.mo_interceptors.add({"order": 8, "type": "StaticMTInterceptor",
                                             "filters": ["f33"],
                                             "actions": [{"action": "add_tags", "tags": ["x"]}]}))
    assert isinstance(e, InvalidValue) and e.field == "type"
    await s.mo_interceptors.update(7, {"actions": [{"action": "remove_tags", "tags": ["x"]}]})
    assert s.mo_interceptors.get(7).spec["actions"] == [{"action": "remove_tags",
                                                         "tags": ["x"]}]
    assert await s.mo_interceptors.flush() == 1
    await s.filters.remove("f33")


@pytest_twisted.ensureDeferred
async def test_composite_filters_and_mo_routes(harness: Harness) -> None:
    """Breaks if a member of an AnyOf filter can be removed under it, or MO routes cannot
    reach users, HTTP connectors and storage."""
    s = await harness.open()
    await s.groups.add("g1")
    await s.users.add({"uid": "u1", "gid": "g1", "username": "alice", "password": "pw"})
    await s.http_connectors.add(HTTP)
    await s.filters.add(F33)
    await s.filters.add({"fid": "f44", "type": "DestinationAddrFilter",
                         "destination_addr": "^44"})
    await s.filters.add({"fid": "eu", "type": "AnyOfFilter", "filters": ["f33", "f44"]})
    e = await failure(s.filters.remove("f44"))
    assert isinstance(e, InUse) and e.users == ("filter eu",)
    rule = await s.mo_routes.add({"order": 5, "type": "FailoverMORoute", "filters": ["eu"],
                                  "targets": ["smpps(alice)", "http(http-01)", "store"]})
    assert [t.describe() for t in rule.obj.targets] == ["smpps(alice)", "http(http-01)",
                                                       "store"]
    e = await failure(s.users.remove("u1"))
    assert isinstance(e, InUse) and e.users == ("mo_route 5",)
    e = await failure(s.mo_routes.add({"order": 6, "type": "StaticMORoute", "filters": ["eu"],
                                       "target": "smpps(nobody)"}))
    assert isinstance(e, InvalidValue) and e.message == "target: no user 'nobody'"
    test = s.test_mo_route({"destination_addr": "4412"})
    assert "  target: smpps(alice)" in test.lines


@pytest_twisted.ensureDeferred
async def test_concurrent_changes_are_checked_one_after_the_other(harness: Harness) -> None:
    """Breaks if two changes issued together are both checked against the state before
    either: the second add of one fid must fail, and a route added together with the
    removal of its filter must not leave a dangling reference."""
    s = await harness.open()
    await s.smpp_connectors.add(CONNECTOR)
    first, second = s.filters.add(F33), s.filters.add(F33)
    await first
    assert isinstance(await failure(second), AlreadyExists)
    add, remove = s.mt_routes.add(STATIC_MT), s.filters.remove("f33")
    await add
    assert isinstance(await failure(remove), InUse)
    assert s.snapshot.mt_routes.get(10).filters == (s.snapshot.filters["f33"],)


@pytest_twisted.ensureDeferred
async def test_import_fails_whole_when_the_store_fails(harness: Harness,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Breaks if users and documents of an import are not one store op: here the users part
    fails after writing, and neither the old documents nor the old users may be lost."""
    s = await harness.open()
    await routed(s)
    await s.groups.add("g1")
    await s.users.add({"uid": "u1", "gid": "g1", "username": "alice", "password": "pw"})
    exported = s.export_profile()

    def broken(groups: Any, users: Any, now: float) -> Any:
        def op(conn: Any) -> None:
            conn.execute("DELETE FROM users")
            raise RuntimeError("disk on fire")
        return op
    monkeypatch.setattr("smscd.service.profile_io.replace_all_op", broken)
    e = await failure(s.import_profile("version: 2\ngroups: [{gid: other}]\n"))
    assert isinstance(e, RuntimeError)
    assert s.export_profile() == exported
    s = await harness.reopen()
    assert s.export_profile() == exported


@pytest_twisted.ensureDeferred
async def test_thread_hasher_and_first_start(harness: Harness) -> None:
    """Breaks if the daemon's hasher does not give a verifiable scrypt hash, or a fresh
    store is not seen as a first start."""
    s = await harness.open()
    assert s.is_empty
    hashed = await thread_hasher(reactor)("pw")
    assert verify_password("pw", hashed)
    await s.http_connectors.add(HTTP)
    assert not s.is_empty


@pytest_twisted.ensureDeferred
async def test_profile_file_seeds_an_empty_store_only(harness: Harness, tmp_path: Path) -> None:
    """Breaks if the start-up profile is not loaded into a fresh store, or if it overwrites
    what operators changed since (the store wins once it holds provisioning)."""
    path = tmp_path / "profile.yaml"
    path.write_text(V1_PROFILE)
    s = await harness.open()
    line = await seed_from_file(s, str(path))
    assert line.startswith(f"provisioning loaded from {path}: ") and "1 users" in line
    await s.mt_routes.remove(0)
    line = await seed_from_file(s, str(path))
    assert line.startswith("provisioning from the store;")
    assert s.mt_routes.list() == []
    fresh = Harness(tmp_path / "fresh.db")
    try:
        e = await failure(seed_from_file(await fresh.open(), str(tmp_path / "nope.yaml")))
    finally:
        await fresh.close()
    assert isinstance(e, InvalidValue) and "cannot read" in e.message


@pytest_twisted.ensureDeferred
async def test_python_interceptors_are_checked_when_written(harness: Harness) -> None:
    """Breaks if a rule may name a Python interceptor that is not installed (it would refuse
    every message it matches instead of being refused itself)."""
    installed = [EntryPoint("hlr", "os.path:basename", GROUP)]
    s = await harness.open(PythonInterceptors(reactor, entry_points=lambda: installed))
    await s.filters.add(F33)
    rule = {"order": 5, "type": "StaticMTInterceptor", "filters": ["f33"], "python": "hlr"}
    await s.mt_interceptors.add(rule)
    e = await failure(s.mt_interceptors.add({**rule, "order": 6, "python": "nope"}))
    assert isinstance(e, InvalidValue) and e.field == "python" and "'nope'" in e.message
    await harness.close()
    installed.clear()
    with pytest.raises(InvalidValue, match="'hlr': not installed"):
        await harness.open(PythonInterceptors(reactor, entry_points=lambda: installed))


@pytest_twisted.ensureDeferred
async def test_stored_documents_a_newer_smscd_wrote_are_not_ignored(harness: Harness) -> None:
    """Breaks if start-up silently drops documents it does not understand."""
    await harness.open()
    assert harness.store is not None
    await harness.store.provisioning.apply([Document("sms_firewall", "x", {})])
    await harness.close()
    with pytest.raises(InvalidValue, match="unknown kinds: sms_firewall x"):
        await harness.open()
