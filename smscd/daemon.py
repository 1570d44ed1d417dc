# tests: tests/integration/test_daemon.py
"""The daemon: one process wiring store, customer server, connectors and deliveries.

Start order: store (blocking open; a store locked by another smscd stops us with one
clear line), provisioning (users created, connectors and routes read), the demo setup
when asked (an in-process simulator as vendor "demo-simulator", a "demo" user whose
generated password is printed once), dispatcher and customer deliveries, connectors,
and last the customer listener: nothing is accepted before everything behind it runs.
Stop order is the reverse: stop listening, unbind customers (their answers in flight
still go out), stop connectors (waiting for vendor answers up to their timeout), then
close the store, which commits what is pending. Queued messages resume at the next start.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Callable

from twisted.internet.defer import Deferred, DeferredList, gatherResults
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.logger import Logger

from connectors.connector_config import ConnectorConfig, connector_config_from_mapping
from connectors.sim_config import SimulatorConfig
from connectors.simulator import SimulatorService
from connectors.smpp_client import ConnectorService
from smscd.bind_registry import BindRegistry
from smscd.config import Config
from smscd.customer_delivery import CustomerDeliveries
from smscd.dispatch import Dispatcher, MoPrefixRules
from smscd.message import Message
from smscd.provisioning import Profile, UserSpec, load_profile_file
from smscd.smpp.session import SessionConfig
from smscd.smpp_server import ServerSettings, smpp_server_factory
from smscd.stores.interfaces import UserExists
from smscd.stores.sqlite import SqliteStore

log = Logger(namespace="smscd.daemon")

DEMO_USER = "demo"
DEMO_CONNECTOR = "demo-simulator"


class StartupError(Exception):
    """smscd cannot start; the message says why in one line."""


@dataclass
class Daemon:
    config: Config
    reactor: Any
    say: Callable[[str], None]
    store: SqliteStore | None = None
    simulator: SimulatorService | None = None
    connectors: list[ConnectorService] = field(default_factory=list)
    registry: BindRegistry = field(default_factory=BindRegistry)
    deliveries: CustomerDeliveries | None = None
    dispatcher: Dispatcher | None = None
    listening: Any = None
    port: int = 0

    async def start(self) -> None:
        cfg = self.config
        profile = self._profile()
        try:
            self.store = SqliteStore.open(
                cfg.store_path, self.reactor, max_batch=cfg.store.group_commit_max_batch,
                group_commit_interval_ms=cfg.store.group_commit_interval_ms)
        except Exception as e:
            raise StartupError(f"cannot open the store {cfg.store_path}: {e}") from None
        store = self.store
        for user in profile.users:
            await self._ensure_user(user, announce=False)
        connectors = list(profile.connectors)
        default_connector = profile.default_connector
        mo_routes = dict(profile.mo_routes)
        if cfg.demo.simulator:
            demo = await self._start_demo()
            connectors.append(demo)
            default_connector = default_connector or demo.id
            mo_routes.setdefault("", DEMO_USER)
        self.dispatcher = dispatcher = Dispatcher(store.messages, store.queues, self.reactor,
                                                  MoPrefixRules(mo_routes))
        dispatcher.start()
        self.deliveries = CustomerDeliveries(store.queues, self.registry)
        for connector in connectors:
            service = ConnectorService(connector, self.reactor, store.queues, store.messages,
                                       store.correlations, dispatcher,
                                       mo_parts=store.mo_parts)
            self.connectors.append(service)
            service.startService()

        def route(message: Message) -> str | None:
            return default_connector

        server = cfg.smpp_server
        settings = ServerSettings(session=SessionConfig(
            window=server.window, response_timeout=server.response_timeout,
            enquire_link_interval=server.enquire_link_interval,
            inactivity_timeout=server.inactivity_timeout,
            session_init_timeout=server.session_init_timeout,
            max_pdu_size=server.max_pdu_size))
        factory = smpp_server_factory(users=store.users, log=store.messages, route=route,
                                      registry=self.registry, clock=self.reactor,
                                      settings=settings)
        endpoint_class = TCP6ServerEndpoint if ":" in server.host else TCP4ServerEndpoint
        endpoint = endpoint_class(self.reactor, server.port, interface=server.host)
        try:
            self.listening = await endpoint.listen(factory)
        except Exception as e:
            raise StartupError(f"cannot listen on {server.host}:{server.port}: {e}") from None
        self.port = self.listening.getHost().port
        self.say(f"smscd listening for SMPP on {server.host}:{self.port}"
                 f" (data in {cfg.data_dir}, connectors: "
                 f"{', '.join(c.id for c in connectors) or 'none'})")

    def _profile(self) -> Profile:
        path = self.config.provisioning.file
        if path is None:
            return Profile()
        try:
            return load_profile_file(str(path))
        except ValueError as e:
            raise StartupError(str(e)) from None

    async def _ensure_user(self, user: UserSpec, announce: bool) -> bool:
        """Create `user` unless it exists; True when it was created now."""
        assert self.store is not None
        if await self.store.users.get(user.username) is not None:
            return False
        if user.password is None:
            raise StartupError(f"user {user.username!r} does not exist yet: give its password")
        try:
            await self.store.users.create(user.username, user.password, user.max_bindings,
                                          user.throughput)
        except UserExists:
            return False
        if announce:
            self.say(f"created user {user.username!r} with password {user.password!r} "
                     "(shown once; the store keeps only its hash)")
        return True

    async def _start_demo(self) -> ConnectorConfig:
        """The demo vendor: a simulator on a free loopback port, and the demo user."""
        account, password = "smscd", secrets.token_hex(4)
        self.simulator = SimulatorService(
            SimulatorConfig(accounts={account: password}, receipt_delay=1.0), self.reactor)
        sim_port = await self.simulator.start(0, "127.0.0.1")
        created = await self._ensure_user(
            UserSpec(DEMO_USER, secrets.token_urlsafe(6)[:8]), announce=True)
        if not created:
            self.say(f"demo user {DEMO_USER!r} exists (its password was shown when it "
                     "was created)")
        return connector_config_from_mapping({
            "id": DEMO_CONNECTOR, "hosts": [f"127.0.0.1:{sim_port}"],
            "system_id": account, "password": password, "window": 100,
            "registered_delivery": "as_requested", "response_timeout": 10})

    def stop(self) -> Deferred[Any]:
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        if self.listening is not None:
            await self.listening.stopListening()
        customers = self.registry.all_binds()
        for proto in customers:
            proto.unbind()
        await DeferredList([_bounded(proto.when_closed(), 10.0, self.reactor)
                            for proto in customers])
        await gatherResults([c.stop() for c in self.connectors])
        if self.deliveries is not None:
            self.deliveries.stop()
        if self.dispatcher is not None:
            self.dispatcher.stop()
        if self.simulator is not None:
            await self.simulator.stop()
        if self.store is not None:
            await self.store.close()
        self.say("smscd stopped")


def _bounded(d: Deferred[Any], seconds: float, reactor: Any) -> Deferred[Any]:
    """`d`, or nothing after `seconds`: a customer that never closes must not hold us."""
    timer = reactor.callLater(seconds, d.cancel)
    return d.addBoth(lambda result: (timer.active() and timer.cancel(), result)[1])


__all__ = ["Daemon", "StartupError"]
