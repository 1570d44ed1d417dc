"""The MT pipeline over the real SQLite store and billing: interceptors, routes, live
connector state, throughput and billing holds, with the statuses both ingresses answer."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from connectors.fallthrough import CANDIDATES
from routing.filters import DestinationAddrFilter, TagFilter, UserFilter
from routing.interceptor_actions import Reject, SetSource
from routing.interceptors import Interception, InterceptorTable, StaticMTInterceptor
from routing.routable import MO, MT
from routing.routes import (DefaultRoute, FailoverMTRoute, RandomRoundrobinMTRoute,
                            StaticMTRoute)
from routing.table import RouteTable
from smscd.credentials import MtCredential, MtQuotas
from smscd.message import Address, Message, Part
from smscd.mt_pipeline import Pipeline, Refused
from smscd.service.api import RoutingSnapshot
from smscd.smpp.status import CommandStatus as S
from smscd.stores.interfaces import Publication, UserRecord
from smscd.stores.sqlite import SqliteStore

ALICE = UserRecord("alice", "alice", "x", "g1")


@dataclass
class Rules:
    snapshot: RoutingSnapshot


def snapshot(routes: dict[int, Any], interceptors: dict[int, Any] | None = None
             ) -> RoutingSnapshot:
    return RoutingSnapshot(1, {}, RouteTable(MT, routes), RouteTable(MO, {}),
                           InterceptorTable(MT, interceptors or {}), InterceptorTable(MO, {}),
                           {}, {})


def message(n: int = 0, destination: str = "33600000001", parts: int = 1) -> Message:
    return Message(f"m{n}", "alice", Address("SHOP"), Address(destination),
                   tuple(Part(b"hello") for _ in range(parts)), 0.0)


class Side:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.clock = Clock()
        self.up: set[str] = set()
        self.rules = Rules(snapshot({0: DefaultRoute("c1")}))
        self.pipeline = Pipeline(self.rules, self.up.__contains__, store.messages,
                                 store.billing, self.clock)

    async def refused(self, m: Message, user: UserRecord = ALICE) -> Refused:
        with pytest.raises(Refused) as caught:
            await self.pipeline.submit(user, m, "smpp")
        return caught.value


@pytest_twisted.async_yield_fixture
async def side(tmp_path: Path) -> AsyncIterator[Side]:
    store = SqliteStore.open(tmp_path / "smscd.sqlite3", reactor)
    yield Side(store)
    await store.close()


@pytest_twisted.ensureDeferred
async def test_no_route_is_invalid_destination_and_412(side: Side) -> None:
    """Breaks if a message no route takes is accepted or answered with other statuses."""
    side.rules.snapshot = snapshot({10: StaticMTRoute(
        (DestinationAddrFilter("fr", "^33"),), "c1")})
    e = await side.refused(message(destination="4470000"))
    assert (e.smpp_status, e.http_status, e.text) == (S.ESME_RINVDSTADR, 412, "No route found")
    assert await side.pipeline.submit(ALICE, message(1), "smpp") == "m1"
    record = await side.store.messages.get("m1", "alice")
    assert record is not None and record.message.connector == "c1"


@pytest_twisted.ensureDeferred
async def test_failover_takes_the_first_up_and_keeps_the_rest_as_candidates(side: Side
                                                                            ) -> None:
    """Breaks if failover ignores connector state, or the fall-through list is lost."""
    side.rules.snapshot = snapshot({0: DefaultRoute("c9"), 10: FailoverMTRoute(
        (UserFilter("u", "alice"),), ("c1", "c2", "c3"), Decimal(0))})
    e = await side.refused(message(0))
    assert (e.smpp_status, e.http_status) == (S.ESME_RSUBMITFAIL, 412)
    side.up.update({"c2", "c3"})
    await side.pipeline.submit(ALICE, message(1), "smpp")
    record = await side.store.messages.get("m1", "alice")
    assert record is not None and record.message.connector == "c2"
    assert record.message.extra[CANDIDATES] == "c3"
    assert side.store.queues.depth("mt:c2") == 1


@pytest_twisted.ensureDeferred
async def test_round_robin_rotates_evenly_over_those_up(side: Side) -> None:
    """Breaks if round-robin is random, sticky, or sends to a connector that is down."""
    side.rules.snapshot = snapshot({10: RandomRoundrobinMTRoute(
        (UserFilter("u", "alice"),), ("c1", "c2", "c3"), Decimal(0))})
    side.up.update({"c1", "c3"})
    for i in range(6):
        await side.pipeline.submit(ALICE, message(i), "smpp")
    assert (side.store.queues.depth("mt:c1"), side.store.queues.depth("mt:c2"),
            side.store.queues.depth("mt:c3")) == (3, 0, 3)


@pytest_twisted.ensureDeferred
async def test_interceptors_rewrite_the_source_or_reject(side: Side) -> None:
    """Breaks if an interceptor's change is not what is stored and routed, or if a
    reject action does not refuse with its own statuses."""
    side.rules.snapshot = snapshot(
        {0: DefaultRoute("c1")},
        {20: StaticMTInterceptor((DestinationAddrFilter("bad", "^999"),),
                                 (Reject(int(S.ESME_RINVDSTADR), 422, "blocked"),)),
         10: StaticMTInterceptor((UserFilter("u", "alice"),), (SetSource("BRAND"),))})
    e = await side.refused(message(0, destination="9991"))
    assert (e.smpp_status, e.http_status, e.text) == (S.ESME_RINVDSTADR, 422, "blocked")
    await side.pipeline.submit(ALICE, message(1), "http")
    record = await side.store.messages.get("m1", "alice")
    assert record is not None and record.message.source.addr == "BRAND"


@pytest_twisted.ensureDeferred
async def test_throughput_bucket_per_user_and_channel(side: Side) -> None:
    """Breaks if smpps_throughput is not a bucket with a small burst, if it is not
    refilled with time, or if it limits the HTTP channel too."""
    user = UserRecord("alice", "alice", "x", "g1",
                      mt_credential=MtCredential(quota=MtQuotas(smpps_throughput=2.0)))
    for i in range(2):
        await side.pipeline.submit(user, message(i), "smpp")
    e = await side.refused(message(2), user)
    assert (e.smpp_status, e.http_status, e.text) == (S.ESME_RTHROTTLED, 403,
                                                      "User throughput exceeded")
    await side.pipeline.submit(user, message(3), "http")
    side.clock.advance(0.5)
    await side.pipeline.submit(user, message(4), "smpp")


@pytest_twisted.ensureDeferred
async def test_balance_is_held_per_part_and_refused_when_short(side: Side) -> None:
    """Breaks if the hold is not rate x parts, if a short balance is accepted, or if the
    refusal is not billing's (ESME_RSYSERR, 403 and Jasmin's text)."""
    side.rules.snapshot = snapshot({0: DefaultRoute("c1", Decimal("0.02"))})
    await side.store.billing.set_balance("alice", "0.05")
    await side.pipeline.submit(ALICE, message(0, parts=2), "smpp")
    assert side.store.billing.account("alice").balance == Decimal("0.01")
    e = await side.refused(message(1))
    assert (e.smpp_status, e.http_status, e.field) == (S.ESME_RSYSERR, 403, "balance")
    assert e.text.startswith("Cannot charge submit_sm")
    record = await side.store.billing.record("m0")
    assert record is not None and record.amount == Decimal("0.04")
    quote = await side.pipeline.quote(ALICE, message(2, parts=3))
    assert (quote.connector, quote.rate, quote.parts, quote.amount) == (
        "c1", Decimal("0.02"), 3, Decimal("0.06"))


@pytest_twisted.ensureDeferred
async def test_a_failed_accept_gives_the_hold_back(side: Side) -> None:
    """Breaks if money taken for a message that was never stored stays taken."""
    side.rules.snapshot = snapshot({0: DefaultRoute("c1", Decimal("1"))})
    await side.store.billing.set_balance("alice", "5")

    class BrokenLog:
        def accept(self, *args: Any, **kw: Any) -> Any:
            return fail(OSError("disk full"))
    side.pipeline.log = BrokenLog()        # type: ignore[assignment]
    e = await side.refused(message(0))
    assert (e.smpp_status, e.http_status) == (S.ESME_RSYSERR, 500)
    assert side.store.billing.account("alice").balance == Decimal("5")


@pytest_twisted.ensureDeferred
async def test_a_python_interceptor_decides_before_routing(side: Side) -> None:
    """Breaks if the Python interceptor a rule names is not run, if its tags do not steer
    the route, or if its Reject does not refuse."""
    class Runner:
        def run(self, interception: Interception) -> Deferred[Interception]:
            r = interception.routable
            if r.destination_addr.startswith("999"):
                return succeed(dataclasses.replace(
                    interception, rejection=Reject(int(S.ESME_RSYSERR), 503, "no HLR")))
            return succeed(dataclasses.replace(
                interception, routable=dataclasses.replace(r, tags=frozenset({"vip"}))))
    side.pipeline.python = Runner()
    side.rules.snapshot = snapshot(
        {0: DefaultRoute("c1"), 10: StaticMTRoute((TagFilter("t", "vip"),), "c2")},
        {10: StaticMTInterceptor((UserFilter("u", "alice"),), python="hlr")})
    e = await side.refused(message(0, destination="9990"))
    assert (e.smpp_status, e.http_status, e.text) == (S.ESME_RSYSERR, 503, "no HLR")
    await side.pipeline.submit(ALICE, message(1), "smpp")
    record = await side.store.messages.get("m1", "alice")
    assert record is not None and record.message.connector == "c2"
    assert record.message.extra["tags"] == "vip"


@pytest_twisted.ensureDeferred
async def test_on_intercepted_is_told_of_each_match_and_whether_it_refused(side: Side
                                                                          ) -> None:
    """Breaks if the hook misses a declarative match, a declarative or Python reject, is
    called when no rule matched, or names the wrong channel."""
    seen: list[tuple[str, bool]] = []
    side.pipeline.on_intercepted = lambda channel, refused: seen.append((channel, refused))

    class Runner:
        def run(self, interception: Interception) -> Deferred[Interception]:
            return succeed(dataclasses.replace(
                interception, rejection=Reject(int(S.ESME_RSYSERR), 503, "no HLR")))
    side.pipeline.python = Runner()
    side.rules.snapshot = snapshot(
        {0: DefaultRoute("c1")},
        {30: StaticMTInterceptor((DestinationAddrFilter("hlr", "^888"),), python="hlr"),
         20: StaticMTInterceptor((DestinationAddrFilter("bad", "^999"),),
                                 (Reject(int(S.ESME_RINVDSTADR), 422, "blocked"),)),
         10: StaticMTInterceptor((DestinationAddrFilter("fr", "^33"),),
                                 (SetSource("BRAND"),))})
    await side.pipeline.submit(ALICE, message(0, destination="4470000"), "smpp")
    assert seen == []
    await side.pipeline.submit(ALICE, message(1, destination="3360000"), "http")
    await side.refused(message(2, destination="9991"))
    await side.refused(message(3, destination="8881"))
    await side.pipeline.quote(ALICE, message(4, destination="3360000"))
    assert seen == [("http", False), ("smpp", True), ("smpp", True), ("http", False)]


@pytest_twisted.ensureDeferred
async def test_submit_many_refuses_per_message_and_commits_the_rest_at_once(side: Side
                                                                           ) -> None:
    """Breaks if one refusal refuses the others, outcomes lose their order, holds are not
    taken per message, or the accepted messages and the caller's extra rows and
    publications are not one durable change."""
    side.rules.snapshot = snapshot({10: StaticMTRoute(
        (DestinationAddrFilter("fr", "^33"),), "c1", Decimal("1"))})
    await side.store.billing.set_balance("alice", "2")
    seen: list[tuple[list[object], list[str]]] = []

    def extra(outcomes: Any, accepted: Any) -> Any:
        seen.append((list(outcomes), [m.id for m in accepted]))
        return (), [Publication("events", "e1", b"accepted")]
    ms = [message(0), message(1, destination="4470000"), message(2), message(3)]
    ops = side.store.stats.ops
    outcomes = await side.pipeline.submit_many(ALICE, ms, "http", extra)
    assert side.store.stats.ops == ops + 1
    assert outcomes[0] == "m0" and outcomes[2] == "m2"
    assert isinstance(outcomes[1], Refused) and outcomes[1].http_status == 412
    assert isinstance(outcomes[3], Refused) and outcomes[3].field == "balance"
    assert seen == [(outcomes, ["m0", "m2"])]
    assert side.store.queues.depth("mt:c1") == 2 and side.store.queues.depth("events") == 1
    assert side.store.billing.account("alice").balance == Decimal("0")
    record = await side.store.messages.get("m2", "alice")
    assert record is not None and record.message.connector == "c1"


@pytest_twisted.ensureDeferred
async def test_submit_many_failed_accept_refuses_all_and_gives_every_hold_back(
        side: Side) -> None:
    """Breaks if money taken for messages that were never stored stays taken, or a
    message of a failed commit is answered as accepted."""
    side.rules.snapshot = snapshot({0: DefaultRoute("c1", Decimal("1"))})
    await side.store.billing.set_balance("alice", "5")

    class BrokenLog:
        def accept_many(self, *args: Any, **kw: Any) -> Any:
            return fail(OSError("disk full"))
    side.pipeline.log = BrokenLog()        # type: ignore[assignment]
    outcomes = await side.pipeline.submit_many(ALICE, [message(0), message(1)], "http")
    assert all(isinstance(o, Refused) and (o.smpp_status, o.http_status) ==
               (S.ESME_RSYSERR, 500) for o in outcomes)
    assert side.store.billing.account("alice").balance == Decimal("5")

    def broken_extra(outcomes: Any, accepted: Any) -> Any:
        raise ValueError("bug")
    side.pipeline.log = side.store.messages
    outcomes = await side.pipeline.submit_many(ALICE, [message(2)], "http", broken_extra)
    assert isinstance(outcomes[0], Refused) and outcomes[0].http_status == 500
    assert side.store.billing.account("alice").balance == Decimal("5")
    assert side.store.queues.depth("mt:c1") == 0


@pytest_twisted.ensureDeferred
async def test_submit_many_waits_for_python_interceptors_in_order(side: Side) -> None:
    """Breaks if a message decided later (a Python interceptor) loses its place among
    the outcomes, or its refusal or a broken interceptor fails the whole batch."""
    pending: list[tuple[Interception, Deferred[Interception]]] = []

    class Runner:
        def run(self, interception: Interception) -> Deferred[Interception]:
            d: Deferred[Interception] = Deferred()
            pending.append((interception, d))
            return d
    side.pipeline.python = Runner()
    side.rules.snapshot = snapshot(
        {0: DefaultRoute("c1")},
        {10: StaticMTInterceptor((DestinationAddrFilter("slow", "^999"),), python="hlr")})
    ms = [message(0, destination="9990"), message(1), message(2, destination="9991"),
          message(3, destination="9992")]
    d = side.pipeline.submit_many(ALICE, ms, "http")
    (ok, d0), (no, d2), (_, d3) = pending
    d2.callback(dataclasses.replace(no, rejection=Reject(int(S.ESME_RSYSERR), 503, "no HLR")))
    d3.errback(RuntimeError("interceptor broke"))
    d0.callback(ok)
    outcomes = await d
    assert outcomes[:2] == ["m0", "m1"]
    assert isinstance(outcomes[2], Refused) and outcomes[2].text == "no HLR"
    assert isinstance(outcomes[3], Refused) and outcomes[3].http_status == 500
    assert side.store.queues.depth("mt:c1") == 2
