"""An in-memory stand-in for smscd.service.api.ProvisioningApi, for transcript tests.

It keeps specs and builds the real routing objects from them with the real codecs (so
listings are the real ones), answers every mutator with an already-fired Deferred, and raises the API's errors.
`run(session, line)` drives a Session like the telnet transport does and returns the
lines the terminal would show for that input line.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed

from connectors.connector_config import ConnectorConfigError, connector_config_from_mapping
from routing.errors import RuleError
from routing.interceptor_codec import interceptor_from_mapping
from routing.rules_codec import filter_from_mapping, route_from_mapping
from smscd.credentials import MtCredential, SmppsCredential
from smscd.http_connectors import HttpConnectorError, http_connector_from_mapping
from smscd.service.api import (AlreadyExists, ConnectorStatus, InUse, InvalidValue,
                               NotFound, Rule, RouteTest, SmppConnector, WrongState)
from smscd.shell.commands import COMMANDS
from smscd.shell.session import Session
from smscd.stores.interfaces import GroupRecord, UserRecord


def _later(fn: Any, *args: Any) -> Deferred[Any]:
    try:
        return succeed(fn(*args))
    except Exception as e:
        return fail(e)


class Table:
    def __init__(self, owner: "FakeService", kind: str) -> None:
        self.owner, self.kind, self.rules = owner, kind, {}

    def list(self) -> list[Rule]:
        return [self.rules[o] for o in sorted(self.rules, reverse=True)]

    def get(self, order: int) -> Rule:
        if order not in self.rules:
            raise NotFound(f"no {self.kind} at order {order}")
        return self.rules[order]

    def _build(self, spec: dict[str, Any]) -> Rule:
        filters = {r.key: r.obj for r in self.owner.filters.list()}
        try:
            if "interceptor" in self.kind:
                order, obj = interceptor_from_mapping(spec, self.kind[:2], filters, "")
            else:
                order, obj = route_from_mapping(spec, self.kind[:2], filters, "")
        except RuleError as e:
            raise InvalidValue(e.problems[0], None, e.problems) from None
        return Rule(order, spec, obj)

    def add(self, spec: Any) -> Deferred[Rule]:
        def run() -> Rule:
            rule = self._build(dict(spec))
            self.rules[int(rule.key)] = rule
            return rule
        return _later(run)

    def update(self, order: int, changes: Any) -> Deferred[Rule]:
        def run() -> Rule:
            rule = self._build({**self.get(order).spec, **changes})
            self.rules[order] = rule
            return rule
        return _later(run)

    def remove(self, order: int) -> Deferred[None]:
        return _later(lambda: self.rules.pop(self.get(order).key) and None)

    def flush(self) -> Deferred[int]:
        def run() -> int:
            n = len(self.rules)
            self.rules.clear()
            return n
        return _later(run)


class Filters:
    def __init__(self, owner: "FakeService") -> None:
        self.owner, self.rules = owner, {}

    def list(self) -> list[Rule]:
        return [self.rules[k] for k in sorted(self.rules)]

    def get(self, fid: str) -> Rule:
        if fid not in self.rules:
            raise NotFound(f"no filter {fid!r}")
        return self.rules[fid]

    def add(self, spec: Any) -> Deferred[Rule]:
        def run() -> Rule:
            if spec["fid"] in self.rules:
                raise AlreadyExists(f"fid: filter {spec['fid']!r} exists", "fid")
            return self._put(dict(spec))
        return _later(run)

    def _put(self, spec: dict[str, Any]) -> Rule:
        try:
            obj = filter_from_mapping(spec, {k: r.obj for k, r in self.rules.items()}, "")
        except RuleError as e:
            raise InvalidValue(e.problems[0], None, e.problems) from None
        rule = self.rules[spec["fid"]] = Rule(spec["fid"], spec, obj)
        return rule

    def update(self, fid: str, changes: Any) -> Deferred[Rule]:
        return _later(lambda: self._put({**self.get(fid).spec, **changes}))

    def remove(self, fid: str) -> Deferred[None]:
        def run() -> None:
            self.get(fid)
            users = [f"mt_route {r.key}" for r in self.owner.mt_routes.list()
                     if fid in r.spec.get("filters", ())]
            if users:
                raise InUse(f"filter {fid!r} is used by {', '.join(users)}", users)
            del self.rules[fid]
        return _later(run)


class Groups:
    def __init__(self) -> None:
        self.records: dict[str, GroupRecord] = {}

    def list(self) -> list[GroupRecord]:
        return [self.records[g] for g in sorted(self.records)]

    def get(self, gid: str) -> GroupRecord:
        if gid not in self.records:
            raise NotFound(f"Unknown Group: {gid}", "gid")
        return self.records[gid]

    def add(self, gid: str) -> Deferred[GroupRecord]:
        def run() -> GroupRecord:
            if gid in self.records:
                raise AlreadyExists(f"gid: group {gid!r} exists", "gid")
            self.records[gid] = GroupRecord(gid)
            return self.records[gid]
        return _later(run)

    def enable(self, gid: str) -> Deferred[None]:
        return _later(lambda: self.records.update({gid: GroupRecord(gid, True)}))

    def disable(self, gid: str) -> Deferred[None]:
        return _later(lambda: self.records.update({gid: GroupRecord(gid, False)}))

    def remove(self, gid: str) -> Deferred[None]:
        return _later(lambda: self.records.pop(gid) and None)


class Users:
    def __init__(self) -> None:
        self.records: dict[str, UserRecord] = {}
        self.unbound: list[str] = []

    def list(self, gid: str | None = None) -> list[UserRecord]:
        return [u for _, u in sorted(self.records.items()) if gid is None or u.gid == gid]

    def get(self, uid: str) -> UserRecord:
        if uid not in self.records:
            raise NotFound(f"Unknown User: {uid}", "uid")
        return self.records[uid]

    def add(self, spec: Any) -> Deferred[UserRecord]:
        def run() -> UserRecord:
            if spec["uid"] in self.records:
                raise AlreadyExists(f"uid: user {spec['uid']!r} exists", "uid")
            user = UserRecord(spec["uid"], spec["username"], "hash:" + spec["password"],
                              spec["gid"], True, spec.get("mt_credential", MtCredential()),
                              spec.get("smpps_credential", SmppsCredential()))
            self.records[user.uid] = user
            return user
        return _later(run)

    def update(self, uid: str, changes: Any) -> Deferred[UserRecord]:
        def run() -> UserRecord:
            fields = {{"mt_credential": "mt_credential"}.get(k, k): v
                      for k, v in changes.items() if k != "password"}
            if "password" in changes:
                fields["password_hash"] = "hash:" + changes["password"]
            self.records[uid] = replace(self.get(uid), **fields)
            return self.records[uid]
        return _later(run)

    def enable(self, uid: str) -> Deferred[None]:
        return self.update(uid, {"enabled": True}).addCallback(lambda _: None)

    def disable(self, uid: str) -> Deferred[None]:
        return self.update(uid, {"enabled": False}).addCallback(lambda _: None)

    def remove(self, uid: str) -> Deferred[None]:
        return _later(lambda: self.records.pop(uid) and None)

    def smpp_unbind(self, uid: str) -> Deferred[int]:
        self.unbound.append(uid)
        return succeed(1)

    def smpp_ban(self, uid: str) -> Deferred[int]:
        self.unbound.append(uid)
        return succeed(1)


class SmppConnectors:
    def __init__(self) -> None:
        self.items: dict[str, SmppConnector] = {}
        self.counts: dict[str, tuple[int, int]] = {}

    def list(self) -> list[SmppConnector]:
        return [self.items[c] for c in sorted(self.items)]

    def get(self, cid: str) -> SmppConnector:
        if cid not in self.items:
            raise NotFound(f"Unknown connector: {cid}", "cid")
        return self.items[cid]

    def _put(self, spec: dict[str, Any], started: bool) -> SmppConnector:
        try:
            config = connector_config_from_mapping(spec, "")
        except ConnectorConfigError as e:
            raise InvalidValue(e.problems[0].lstrip("."), None, e.problems) from None
        self.items[config.id] = SmppConnector(config, spec, started)
        return self.items[config.id]

    def add(self, spec: Any) -> Deferred[SmppConnector]:
        def run() -> SmppConnector:
            if spec.get("id") in self.items:
                raise AlreadyExists(f"id: connector {spec['id']!r} exists", "id")
            return self._put(dict(spec), False)
        return _later(run)

    def update(self, cid: str, changes: Any) -> Deferred[SmppConnector]:
        return _later(lambda: self._put({**self.get(cid).spec, **changes},
                                        self.get(cid).started))

    def remove(self, cid: str) -> Deferred[None]:
        return _later(lambda: self.items.pop(self.get(cid).config.id) and None)

    def start(self, cid: str) -> Deferred[None]:
        def run() -> None:
            if self.get(cid).started:
                raise WrongState(f"connector {cid!r} is started")
            starts, stops = self.counts.get(cid, (0, 0))
            self.counts[cid] = (starts + 1, stops)
            self.items[cid] = replace(self.items[cid], started=True)
        return _later(run)

    def stop(self, cid: str) -> Deferred[None]:
        def run() -> None:
            if not self.get(cid).started:
                raise WrongState(f"connector {cid!r} is stopped")
            starts, stops = self.counts.get(cid, (0, 0))
            self.counts[cid] = (starts, stops + 1)
            self.items[cid] = replace(self.items[cid], started=False)
        return _later(run)

    def status(self, cid: str) -> ConnectorStatus:
        c = self.get(cid)
        starts, stops = self.counts.get(cid, (0, 0))
        if c.started:
            return ConnectorStatus(cid, "started", "BOUND_TRX", 1, 0, 0.0, 0, "", starts, stops)
        return ConnectorStatus(cid, starts=starts, stops=stops)

    def statuses(self) -> list[ConnectorStatus]:
        return [self.status(c) for c in sorted(self.items)]


class HttpConnectors:
    def __init__(self) -> None:
        self.items: dict[str, Any] = {}

    def list(self) -> list[Any]:
        return [self.items[c] for c in sorted(self.items)]

    def get(self, cid: str) -> Any:
        if cid not in self.items:
            raise NotFound(f"Unknown Httpcc: {cid}", "cid")
        return self.items[cid]

    def _put(self, spec: dict[str, Any]) -> Any:
        try:
            c = http_connector_from_mapping(spec, "")
        except HttpConnectorError as e:
            raise InvalidValue(e.problems[0].lstrip("."), None, e.problems) from None
        self.items[c.id] = c
        self.specs[c.id] = spec
        return c

    specs: dict[str, Any] = {}

    def add(self, spec: Any) -> Deferred[Any]:
        return _later(self._put, dict(spec))

    def update(self, cid: str, changes: Any) -> Deferred[Any]:
        return _later(lambda: self._put({**self.specs[cid], **changes}))

    def remove(self, cid: str) -> Deferred[None]:
        return _later(lambda: self.items.pop(self.get(cid).id) and None)


class FakeService:
    def __init__(self) -> None:
        self.groups = Groups()
        self.users = Users()
        self.filters = Filters(self)
        self.mt_routes = Table(self, "mt route")
        self.mo_routes = Table(self, "mo route")
        self.mt_interceptors = Table(self, "mt interceptor")
        self.mo_interceptors = Table(self, "mo interceptor")
        self.smpp_connectors = SmppConnectors()
        self.http_connectors = HttpConnectors()
        self.exported = "version: 2\n"
        self.imported: list[str] = []
        self.tested: list[dict[str, Any]] = []

    def test_mt_route(self, facts: Any) -> RouteTest:
        self.tested.append(dict(facts))
        return RouteTest(None, ("MT route 0 DefaultRoute would take it",))

    def test_mo_route(self, facts: Any) -> RouteTest:
        self.tested.append(dict(facts))
        return RouteTest(None, ("MO route 0 DefaultRoute would take it",))

    def export_profile(self) -> str:
        return self.exported

    def import_profile(self, text: str) -> Deferred[Any]:
        self.imported.append(text)
        if "bad" in text:
            return fail(InvalidValue("users[0].uid: required", None,
                                     ["users[0].uid: required", "groups[1].gid: bad"]))
        return succeed(None)


@dataclass
class Account:
    uid: str
    balance: Decimal | None = None
    sms_count: int | None = None


class FakeBilling:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}

    def account(self, uid: str) -> Account:
        return self.accounts.setdefault(uid, Account(uid))

    def set_balance(self, uid: str, balance: Any) -> Deferred[Account]:
        self.account(uid).balance = None if balance is None else Decimal(balance)
        return succeed(self.account(uid))

    def add_balance(self, uid: str, delta: Any) -> Deferred[Account]:
        a = self.account(uid)
        a.balance = (a.balance or Decimal(0)) + Decimal(delta)
        return succeed(a)

    def set_sms_count(self, uid: str, n: int | None) -> Deferred[Account]:
        self.account(uid).sms_count = n
        return succeed(self.account(uid))

    def add_sms_count(self, uid: str, n: int) -> Deferred[Account]:
        a = self.account(uid)
        a.sms_count = (a.sms_count or 0) + n
        return succeed(a)


def new_session(service: Any = None, **kw: Any) -> Session:
    return Session(COMMANDS, service or FakeService(), "tester", 1, **kw)


def run(session: Session, line: str) -> list[str]:
    """The lines shown for one input line, service calls included (they fire at once)."""
    reply = session.step(line)
    out: list[str] = []
    while True:
        for text in reply.lines:
            out += text.split("\n")
        if reply.call is None:
            return out
        outcome: list[Any] = []
        result = reply.call.run()
        if isinstance(result, Deferred):
            result.addCallbacks(lambda v: outcome.append((v, True)),
                                lambda f: outcome.append((f.value, False)))
            assert outcome, "the fake's Deferreds fire at once"
        else:
            outcome.append((result, True))
        reply = session.finish(reply.call, *outcome[0])


def transcript(session: Session, lines: list[str]) -> list[str]:
    """What a terminal shows: each prompt with its input line, then the answer."""
    out: list[str] = []
    for line in lines:
        out.append(session.prompt + line)
        out += run(session, line)
    return out
