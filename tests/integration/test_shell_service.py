"""The shell against the real provisioning service over the real SQLite store: a Jasmin
runbook (group, user, connector, filter, routes, interceptor) typed into the interpreter
changes the live snapshot, survives a reopen, and persist/load round-trip a profile."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import maybeDeferred
from twisted.internet.threads import deferToThread

from smscd.passwords import hash_password
from smscd.service.api import ConnectorStatus
from smscd.service.service import open_service
from smscd.shell.commands import COMMANDS
from smscd.shell.profiles import ProfileFiles
from smscd.shell.session import Session
from smscd.stores.sqlite import SqliteStore


class Control:
    """The daemon's side, as far as the shell's commands reach it."""

    def __init__(self) -> None:
        self.unbound: list[str] = []

    def connector_status(self, cid: str) -> ConnectorStatus:
        return ConnectorStatus(cid)

    def unbind_user(self, username: str) -> int:
        self.unbound.append(username)
        return 0

    def ban_user(self, username: str) -> int:
        return self.unbind_user(username)


async def open_shell(path: Path, profiles: Path) -> tuple[SqliteStore, Any, Session]:
    store = SqliteStore.open(path, reactor)
    service = await open_service(store.provisioning, store.users, Control(),
                                 lambda pw: deferToThread(hash_password, pw), reactor)
    session = Session(COMMANDS, service, "tester", 1, queues=store.queues,
                      profiles=ProfileFiles(profiles), billing=store.billing)
    return store, service, session


async def shown(session: Session, line: str) -> list[str]:
    """What the terminal shows for `line`, waiting for the service like the transport."""
    reply = session.step(line)
    out: list[str] = []
    while True:
        for text in reply.lines:
            out += text.split("\n")
        if reply.call is None:
            return out
        call = reply.call
        try:
            outcome: tuple[Any, bool] = (await maybeDeferred(call.run), True)
        except Exception as e:          # a refusal: the session shows it
            outcome = (e, False)
        reply = session.finish(call, *outcome)


async def typed(session: Session, lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        out += await shown(session, line)
    return out


RUNBOOK = [
    "group -a", "gid marketing", "ok",
    "user -a", "uid foo", "gid marketing", "username foo", "password bar",
    "mt_messaging_cred valuefilter src_addr ^JASMIN$", "smpps_cred quota max_bindings 2",
    "mt_messaging_cred quota balance 44.2", "ok",
    "smppccm -a", "cid Demo", "host 127.0.0.1", "port 2775", "username smppclient1",
    "password pwd", "submit_throughput 110", "ok",
    "filter -a", "type DestinationAddrFilter", "fid DA33", "destination_addr ^33", "ok",
    "mtrouter -a", "type StaticMTRoute", "filters DA33", "order 10", "connector smppc(Demo)",
    "rate 0.05", "ok",
    "mtrouter -a", "type DefaultRoute", "connector smppc(Demo)", "rate 0", "ok",
    "mtinterceptor -a", "type StaticMTInterceptor", "filters DA33",
    "actions set_source JASMIN", "order 100", "ok",
]


@pytest_twisted.ensureDeferred
async def test_runbook_changes_the_live_snapshot_and_survives_a_reopen(tmp_path: Path) -> None:
    store, service, session = await open_shell(tmp_path / "s.sqlite3", tmp_path / "profiles")
    try:
        out = await typed(session, RUNBOOK)
        assert [ln for ln in out if ln.startswith("Successfully")] == [
            "Successfully added Group [marketing]",
            "Successfully added User [foo] to Group [marketing]",
            "Successfully added connector [Demo]",
            "Successfully added Filter [DestinationAddrFilter] with fid:DA33",
            "Successfully added MTRoute [StaticMTRoute] with order:10",
            "Successfully added MTRoute [DefaultRoute] with order:0",
            "Successfully added MTInterceptor [StaticMTInterceptor] with order:100"], out
        assert "Demo" in service.snapshot.smpp_connectors
        listing = await shown(session, "mtrouter -l")
        assert listing[1].startswith("#10    StaticMTRoute           0.05000    smppc(Demo)")
        assert listing[-1] == "Total MT Routes: 2"
        assert await shown(session, "persist -p backup") == [
            f"{m} configuration persisted (profile:backup)" for m in (
                "group", "user", "mointerceptor", "mtinterceptor", "morouter", "mtrouter",
                "smppcc", "filter", "httpcc")]
        refused = await shown(session, "filter -r DA33")
        assert refused[0].startswith("Error: ") and "mt_route" in refused[0].replace(" ", "_")
    finally:
        await store.close()

    store, service, session = await open_shell(tmp_path / "s.sqlite3", tmp_path / "profiles")
    try:
        assert (await shown(session, "mtrouter -l"))[-1] == "Total MT Routes: 2"
        assert (await shown(session, "user -l"))[1] == \
            "#foo              marketing        foo              44.2    ND     ND/ND   "
        assert await typed(session, ["mtrouter -f", "mtinterceptor -f"]) == [
            "Successfully flushed MT Route table (2 flushed entries)",
            "Successfully flushed MT Interceptor table (1 flushed entries)"]
        loaded = await shown(session, "load -p backup")
        assert loaded[-1] == "httpcc configuration loaded (profile:backup)", loaded
        assert (await shown(session, "mtrouter -l"))[-1] == "Total MT Routes: 2"
        assert (await shown(session, "mtinterceptor -l"))[-1] == "Total MT Interceptors: 1"
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_mo_side_route_tester_and_refusals(tmp_path: Path) -> None:
    store, service, session = await open_shell(tmp_path / "s.sqlite3", tmp_path / "profiles")
    try:
        out = await typed(session, [
            "group -a", "gid g", "ok",
            "user -a", "uid u1", "gid g", "username cust1", "password pw", "ok",
            "smppccm -a", "cid vendor1", "ok",
            "httpccm -a", "cid mo-cb", "url http://127.0.0.1:9/mo", "method POST", "ok",
            "filter -a", "type ConnectorFilter", "fid FromV1", "cid vendor1", "ok",
            "morouter -a", "type StaticMORoute", "filters FromV1", "order 10",
            "connector http(mo-cb)", "ok",
            "morouter -a", "type DefaultRoute", "connector smpps(cust1)", "ok",
            "mointerceptor -a", "type DefaultInterceptor", "actions add_tags mo", "ok"])
        assert [ln for ln in out if ln.startswith(("Successfully", "Error"))] == [
            "Successfully added Group [g]", "Successfully added User [u1] to Group [g]",
            "Successfully added connector [vendor1]",
            "Successfully added Httpcc [HttpConnector] with cid:mo-cb",
            "Successfully added Filter [ConnectorFilter] with fid:FromV1",
            "Successfully added MORoute [StaticMORoute] with order:10",
            "Successfully added MORoute [DefaultRoute] with order:0",
            "Successfully added MOInterceptor [DefaultInterceptor] with order:0"], out
        assert await shown(session, "morouter -l") == [
            "#Order Type                    Connector ID(s)                                  "
            "Filter(s)",
            "#10    StaticMORoute           http(mo-cb)                                      "
            "<C (cid=vendor1)>",
            "#0     DefaultRoute            smpps(cust1)",
            "Total MO Routes: 2"]
        tested = await typed(session, ["morouter --test", "connector vendor1",
                                       "destination 3360", "ok"])
        assert tested[0] == "Testing MO routes: (ok: test, ko: exit)"
        assert any("StaticMORoute" in ln and "matched" in ln for ln in tested), tested
        in_use = await shown(session, "httpccm -r mo-cb")
        assert in_use[0].startswith("Error: ") and "10" in in_use[0], in_use
        assert (await shown(session, "httpccm -l"))[-1] == "Total Httpccs: 1"
        assert await shown(session, "morouter -r 10") == [
            "Successfully removed MO Route with order:10"]
        assert await shown(session, "httpccm -r mo-cb") == [
            "Successfully removed Httpcc id:mo-cb"]
    finally:
        await store.close()
