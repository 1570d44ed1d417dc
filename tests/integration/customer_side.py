"""Test harness for the customer side: the real SQLite store in a temporary directory, the
SMPP server on a loopback port, the dispatcher and customer delivery, and ESME helpers."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.endpoints import TCP4ServerEndpoint

from smscd.bind_registry import BindRegistry
from smscd.customer_delivery import CustomerDeliveries, RetryPolicy
from smscd.dispatch import Dispatcher
from smscd.lockout import BindLockout
from routing.filters import DestinationAddrFilter, NotFilter
from routing.interceptors import InterceptorTable
from routing.routable import MO, MT
from routing.routes import SMPPS, DefaultMORoute, StaticMORoute, StaticMTRoute, Target
from routing.table import RouteTable
from smscd.mo_router import MoRouter
from smscd.mt_pipeline import Pipeline
from smscd.service.api import RoutingSnapshot
from smscd.smpp import pdu as P
from smscd.smpp.session import Event, RequestReceived, SessionConfig, UnexpectedResponse
from smscd.smpp.status import CommandStatus as S
from smscd.smpp_protocol import HandlerBase, SmppFactory, SmppProtocol, connect_and_bind
from smscd.smpp_server import ServerSettings, smpp_server_factory
from smscd.stores.sqlite import SqliteStore

PASSWORD = "s3cret!8"
NO_ROUTE_PREFIX = "999"


def default_rules() -> StaticRules:
    """Everything to "vendor1", except destinations starting with NO_ROUTE_PREFIX."""
    not_999 = NotFilter("not-999", DestinationAddrFilter("to-999", f"^{NO_ROUTE_PREFIX}"))
    return StaticRules(RoutingSnapshot(
        1, {}, RouteTable(MT, {10: StaticMTRoute((not_999,), "vendor1")}), RouteTable(MO, {}),
        InterceptorTable(MT, {}), InterceptorTable(MO, {}), {}, {}))


@dataclass
class StaticRules:
    snapshot: RoutingSnapshot


def prefix_router(rules: dict[str, str]) -> MoRouter:
    """An MO router from {destination prefix: username} (the longest prefix wins, "" is the
    default), as a v1 profile's mo_routes become; usernames are uids here."""
    from twisted.internet import reactor
    routes: dict[int, Any] = {}
    for i, (prefix, user) in enumerate(sorted(rules.items())):
        if prefix:
            routes[len(prefix) * 1000 + i + 1] = StaticMORoute(
                (DestinationAddrFilter(f"mo-{prefix}", f"^{prefix}"),), Target(SMPPS, user))
        else:
            routes[0] = DefaultMORoute(Target(SMPPS, user))
    snapshot = RoutingSnapshot(1, {}, RouteTable(MT, {}), RouteTable(MO, routes),
                               InterceptorTable(MT, {}), InterceptorTable(MO, {}), {}, {})
    return MoRouter(StaticRules(snapshot), reactor, lambda username: username,
                    lambda uid: True)


class ManualClock:
    """The reactor's timers with hand-moved time: lockout and throttling without waiting."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.now = float(reactor.seconds())

    def seconds(self) -> float:
        return self.now

    def callLater(self, delay: float, f: Callable[..., Any], *a: Any, **kw: Any) -> Any:
        return self.reactor.callLater(delay, f, *a, **kw)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Inbox(HandlerBase):
    """ESME handler: answers deliver_sm with `statuses` in turn (then ESME_ROK), records
    what came and when, and fires waiters once enough arrived."""

    def __init__(self, reactor: Any, statuses: tuple[int, ...] = ()) -> None:
        self.reactor = reactor
        self.statuses = list(statuses)
        self.pdus: list[P.DeliverSm] = []
        self.times: list[float] = []
        self.unexpected: list[P.Pdu] = []
        self._waiters: list[tuple[int, Deferred[list[P.DeliverSm]]]] = []
        self._barriers: dict[int, Deferred[None]] = {}
        self._next_barrier = 0x7F000000

    def barrier(self, proto: SmppProtocol) -> Deferred[None]:
        """Fires once the server has answered everything it answers synchronously that was
        sent before: a raw unknown command comes back as generic_nack, in order. (Our
        session gives no event for an enquire_link_resp, so that cannot serve.)"""
        self._next_barrier += 1
        seq = self._next_barrier
        d: Deferred[None] = Deferred()
        self._barriers[seq] = d
        proto.transport.write(struct.pack(">IIII", 16, 0x000000F0, 0, seq))
        return d

    def event(self, proto: SmppProtocol, event: Event) -> None:
        if isinstance(event, UnexpectedResponse):
            self.unexpected.append(event.pdu)
            barrier = self._barriers.pop(event.pdu.sequence_number, None)
            if barrier is not None:
                barrier.callback(None)
        if not isinstance(event, RequestReceived):
            return
        status = self.statuses.pop(0) if self.statuses else S.ESME_ROK
        proto.respond(event.pdu, P.DeliverSmResp(command_status=status))
        assert isinstance(event.pdu, P.DeliverSm)
        self.pdus.append(event.pdu)
        self.times.append(self.reactor.seconds())
        for n, d in [w for w in self._waiters if len(self.pdus) >= w[0]]:
            self._waiters.remove((n, d))
            d.callback(self.pdus[:n])

    def when(self, n: int) -> Deferred[list[P.DeliverSm]]:
        d: Deferred[list[P.DeliverSm]] = Deferred()
        if len(self.pdus) >= n:
            d.callback(self.pdus[:n])
        else:
            self._waiters.append((n, d))
        return d


@dataclass
class Gateway:
    reactor: Any
    store: SqliteStore
    registry: BindRegistry
    dispatcher: Dispatcher
    deliveries: CustomerDeliveries
    factory: SmppFactory
    port: int = 0
    clients: list[SmppProtocol] = field(default_factory=list)
    _listening: Any = None

    async def bind(self, user: str = "alice", password: str = PASSWORD,
                   kind: type[P.BindTransmitter | P.BindReceiver | P.BindTransceiver]
                   = P.BindTransceiver, handler: HandlerBase | None = None,
                   window: int = 10) -> SmppProtocol:
        proto = await connect_and_bind(
            self.reactor, "127.0.0.1", self.port, kind(system_id=user, password=password),
            handler or HandlerBase(), SessionConfig(window=window, enquire_link_interval=0))
        self.clients.append(proto)
        return proto

    async def close(self) -> None:
        closing = [p.when_closed() for p in self.clients]
        for proto in self.clients:
            proto.close()
        await DeferredList(closing)
        if self._listening is not None:
            await maybeDeferred(self._listening.stopListening)
        self.deliveries.stop()
        self.dispatcher.stop()
        await self.store.close()


async def start_gateway(tmp_path: Path, *, clock: Any = None,
                        settings: ServerSettings = ServerSettings(),
                        lockout: BindLockout | None = None,
                        rules: StaticRules | None = None,
                        mo_rules: dict[str, str] | None = None,
                        retry: RetryPolicy = RetryPolicy(initial=0.05, cap=0.2),
                        wrap_log: Callable[[Any], Any] | None = None,
                        users: dict[str, dict[str, Any]] | None = None) -> Gateway:
    from twisted.internet import reactor
    store = SqliteStore.open(tmp_path / "smscd.db", reactor)
    for name, options in (users or {"alice": {}, "bob": {}}).items():
        await store.users.create(name, PASSWORD, **options)
    registry = BindRegistry()
    message_log = wrap_log(store.messages) if wrap_log else store.messages
    pipeline = Pipeline(rules or default_rules(), lambda cid: True, message_log,
                        store.billing, clock or reactor)
    factory = smpp_server_factory(users=store.users, log=message_log, pipeline=pipeline,
                                  registry=registry, clock=clock or reactor,
                                  settings=settings, lockout=lockout)
    dispatcher = Dispatcher(store.messages, store.queues, reactor,
                            prefix_router(mo_rules or {}))
    dispatcher.start()
    deliveries = CustomerDeliveries(store.queues, registry, retry)
    gateway = Gateway(reactor, store, registry, dispatcher, deliveries, factory)
    gateway._listening = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1"
                                                  ).listen(factory)
    gateway.port = gateway._listening.getHost().port
    return gateway


def submit(destination: str = "33600000001", text: bytes = b"hello", **fields: Any
           ) -> P.SubmitSm:
    values: dict[str, Any] = dict(source_addr="SHOP", source_addr_ton=5,
                                  destination_addr=destination, dest_addr_ton=1,
                                  dest_addr_npi=1, short_message=text)
    values.update(fields)
    return P.SubmitSm(**values)
