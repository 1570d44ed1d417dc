# tests: tests/integration/test_daemon.py, tests/integration/test_runbook.py,
#        tests/integration/test_daemon_wiring.py
"""The daemon: one process wiring store, provisioning, routing, listeners and connectors.

Start order: store (blocking open; a store locked by another smscd stops us with one clear
line), billing settings, Python interceptors (their own thread pool: scrypt uses the
reactor's), the provisioning service over the store (`provisioning.file` seeds an empty
store, v1 or v2), the demo setup when asked (an in-process simulator as connector
"demo-simulator", user "demo" in group "default", an MT DefaultRoute to the simulator and
an MO DefaultRoute to the demo user, each created only if absent; the simulator's address is
updated at every start), the dispatcher (MO router, HTTP callbacks) and customer
deliveries, the connectors as provisioned (LiveConnectors follows every later change), the
MT pipeline, failover fall-through (connectors/fallthrough.py), REST webhooks, then the
listeners: SMPP, HTTP API (Jasmin's API with the REST API mounted at /v1), admin shell,
admin REST API. Nothing is accepted before everything behind it runs. On a fresh start the
generated passwords of the demo user and of the shell operator are printed once.
Stop order is the reverse: stop moving messages between connectors, stop listening, unbind
customers (their answers in flight still go out), stop connectors (waiting for vendor
answers up to their timeout), HTTP callbacks, deliveries, then close the store, which
commits what is pending. Queued messages resume at the next start.
"""
from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field
from typing import Any, Callable

from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from connectors.connector_config import ConnectorConfig
from connectors.fallthrough import FallThrough
from connectors.sim_config import SimulatorConfig
from connectors.simulator import SimulatorService
from connectors.smpp_client import ConnectorService
from smscd.bind_registry import BindRegistry
from smscd.config import Config
from smscd.customer_delivery import CustomerDeliveries
from smscd.dispatch import Dispatcher
from smscd.admin_api import AdminTokens, admin_api_site
from smscd.deliveries import mt_queue
from smscd.http_api import http_api_site, http_authenticator
from smscd.http_callbacks import HttpCallbacks
from smscd.mo_router import MoRouter
from smscd.mt_pipeline import Pipeline
from smscd.python_interceptors import PythonInterceptors
from smscd.rest_api import rest_api_resource
from smscd.service.api import NotFound, ServiceError
from smscd.service.live_connectors import LiveConnectors
from smscd.service.profile_io import seed_from_file
from smscd.service.service import ProvisioningService, open_service, thread_hasher
from smscd.shell.audit import AUDIT_FILE, AuditLog
from smscd.shell.listener import start_shell
from smscd.shell.operators import DEFAULT_OPERATOR, ensure_operator
from smscd.smpp.session import SessionConfig
from smscd.smpp_cancel import WaitingMt
from smscd.smpp_server import ServerSettings, smpp_server_factory
from smscd.stats import Stats
from smscd.stores.interfaces import DEFAULT_GROUP
from smscd.stores.sqlite import SqliteStore
from smscd.webhooks import Webhooks, WebhookSettings

log = Logger(namespace="smscd.daemon")

DEMO_USER = "demo"
DEMO_CONNECTOR = "demo-simulator"
INTERCEPTOR_THREADS = 4


class StartupError(Exception):
    """smscd cannot start; the message says why in one line."""


@dataclass
class Daemon:
    config: Config
    reactor: Any
    say: Callable[[str], None]
    store: SqliteStore | None = None
    simulator: SimulatorService | None = None
    registry: BindRegistry = field(default_factory=BindRegistry)
    stats: Stats | None = None               # jCli `stats` counters, made at start
    service: ProvisioningService | None = None
    live: LiveConnectors | None = None
    pipeline: Pipeline | None = None
    fallthrough: FallThrough | None = None
    deliveries: CustomerDeliveries | None = None
    dispatcher: Dispatcher | None = None
    callbacks: HttpCallbacks | None = None
    webhooks: Webhooks | None = None
    pool: ThreadPool | None = None
    listening: Any = None
    http_listening: Any = None
    shell_listening: Any = None
    admin_listening: Any = None
    port: int = 0
    http_port: int = 0
    shell_port: int = 0
    admin_port: int = 0

    async def start(self) -> None:
        """Start everything; on a failure, what was started is stopped again (the store's
        lock released) before the StartupError goes up."""
        try:
            await self._start()
        except BaseException:
            await self._stop()
            raise

    async def _start(self) -> None:
        cfg, reactor = self.config, self.reactor
        self.stats = Stats(reactor.seconds())
        try:
            self.store = SqliteStore.open(
                cfg.store_path, reactor, max_batch=cfg.store.group_commit_max_batch,
                group_commit_interval_ms=cfg.store.group_commit_interval_ms)
        except Exception as e:
            raise StartupError(f"cannot open the store {cfg.store_path}: {e}") from None
        store = self.store
        store.billing.currency = cfg.billing.currency
        store.billing.unbilled_channels = frozenset(
            channel for channel, billed in (("smpp", cfg.billing.smpp),
                                            ("http", cfg.billing.http)) if not billed)
        self.pool = ThreadPool(0, INTERCEPTOR_THREADS, "python-interceptors")
        self.pool.start()
        python = PythonInterceptors(reactor, threadpool=self.pool)
        self.callbacks = HttpCallbacks(reactor, store.queues, cfg.http_callbacks)
        self.live = live = LiveConnectors(self._connector, self._unbind)
        try:
            self.service = service = await open_service(
                store.provisioning, store.users, live, thread_hasher(reactor), reactor,
                python=python)
            if cfg.provisioning.file is not None:
                self.say(await seed_from_file(service, str(cfg.provisioning.file)))
            if cfg.demo.simulator:
                await self._demo(service)
        except ServiceError as e:
            raise StartupError(str(e)) from None
        router = MoRouter(service, reactor, self._uid_of,
                          lambda uid: bool(self.registry.receivers(uid)), python)
        self.webhooks = Webhooks(reactor, store.queues, store.webhook_endpoints,
                                 WebhookSettings(**dataclasses.asdict(cfg.webhooks)))
        await self.webhooks.start()
        self.dispatcher = dispatcher = Dispatcher(
            store.messages, store.queues, reactor, router, http_mo=self.callbacks.mo,
            dlr_callbacks=self.callbacks.dlr, inbox=store.inbound,
            webhooks=self.webhooks)
        dispatcher.start()
        self.deliveries = CustomerDeliveries(store.queues, self.registry, stats=self.stats)
        self.callbacks.start()
        await live.follow(service)
        self.pipeline = pipeline = Pipeline(service, self._is_up, store.messages,
                                            store.billing, reactor, python,
                                            on_intercepted=self.stats.interceptor)
        self.fallthrough = FallThrough(
            store.queues, store.messages, pipeline.is_up,
            lambda: service.snapshot.smpp_connectors, reactor,
            after=cfg.routing.fallthrough_after)
        self.fallthrough.start()
        await self._listen_smpp(pipeline)
        await self._listen_http(pipeline)
        await self._listen_shell(service)
        await self._listen_admin(service)

    # --- wiring helpers ------------------------------------------------------------------
    def _connector(self, config: ConnectorConfig) -> ConnectorService:
        store = self.store
        assert store is not None and self.dispatcher is not None
        assert self.callbacks is not None
        return ConnectorService(config, self.reactor, store.queues, store.messages,
                                store.correlations, self.dispatcher, billing=store.billing,
                                mo_parts=store.mo_parts, dlr=self.callbacks.dlr.part_accepted)

    def _unbind(self, uid: str) -> int:
        binds = self.registry.binds(uid)
        for proto in binds:
            proto.unbind()
        return len(binds)

    def _uid_of(self, username: str) -> str | None:
        assert self.service is not None
        try:
            return str(self.service.users.by_username(username).uid)
        except NotFound:
            return None

    def _busy(self) -> bool:
        """More messages wait in the connectors' MT queues than rest_api.busy_queue_depth."""
        limit = self.config.rest_api.busy_queue_depth
        if limit == 0 or self.store is None or self.service is None:
            return False
        queues = self.store.queues
        return sum(queues.depth(mt_queue(cid))
                   for cid in self.service.snapshot.smpp_connectors) > limit

    def _is_up(self, cid: str) -> bool:
        """A connector is up when it runs and one of its binds is bound now."""
        assert self.live is not None
        runner = self.live.running.get(cid)
        return runner is not None and any(
            proto.session.bound for proto in getattr(runner, "bound", ()))

    async def _demo(self, service: ProvisioningService) -> None:
        """The demo vendor (a simulator on a free loopback port) and what uses it."""
        account, password = "smscd", secrets.token_hex(4)
        self.simulator = SimulatorService(
            SimulatorConfig(accounts={account: password}, receipt_delay=1.0), self.reactor)
        sim_port = await self.simulator.start(0, "127.0.0.1")
        where = {"hosts": [f"127.0.0.1:{sim_port}"], "system_id": account,
                 "password": password}
        if DEMO_CONNECTOR in service.snapshot.smpp_connectors:
            await service.smpp_connectors.update(DEMO_CONNECTOR, where)
        else:
            await service.smpp_connectors.add({
                "id": DEMO_CONNECTOR, **where, "window": 100,
                "registered_delivery": "as_requested", "response_timeout": 10})
            await service.smpp_connectors.start(DEMO_CONNECTOR)
        if DEFAULT_GROUP not in service.group_records:
            await service.groups.add(DEFAULT_GROUP)
        if self._uid_of(DEMO_USER) is None:
            demo_password = secrets.token_urlsafe(6)[:8]
            await service.users.add({"uid": DEMO_USER, "gid": DEFAULT_GROUP,
                                     "username": DEMO_USER, "password": demo_password})
            self.say(f"created user {DEMO_USER!r} with password {demo_password!r} "
                     "(shown once; the store keeps only its hash)")
        else:
            self.say(f"demo user {DEMO_USER!r} exists (its password was shown when it "
                     "was created)")
        if service.snapshot.mt_routes.get(0) is None:
            await service.mt_routes.add({"order": 0, "type": "DefaultRoute",
                                         "connector": DEMO_CONNECTOR})
        if service.snapshot.mo_routes.get(0) is None:
            await service.mo_routes.add({"order": 0, "type": "DefaultRoute",
                                         "target": f"smpps({DEMO_USER})"})

    async def _listen_smpp(self, pipeline: Pipeline) -> None:
        cfg, store = self.config, self.store
        assert store is not None
        server = cfg.smpp_server
        settings = ServerSettings(session=SessionConfig(
            window=server.window, response_timeout=server.response_timeout,
            enquire_link_interval=server.enquire_link_interval,
            inactivity_timeout=server.inactivity_timeout,
            session_init_timeout=server.session_init_timeout,
            max_pdu_size=server.max_pdu_size), max_parts=cfg.text.max_parts)
        service = self.service
        assert service is not None
        factory = smpp_server_factory(users=store.users, log=store.messages,
                                      pipeline=pipeline, registry=self.registry,
                                      clock=self.reactor, settings=settings,
                                      billing=store.billing, stats=self.stats,
                                      queued=WaitingMt(store.queues,
                                                       lambda: service.snapshot.smpp_connectors))
        self.listening = await self._listen("SMPP", server.host, server.port, factory)
        self.port = self.listening.getHost().port
        running = sorted(self.live.running) if self.live is not None else []
        self.say(f"smscd listening for SMPP on {server.host}:{self.port}"
                 f" (data in {cfg.data_dir}, connectors: {', '.join(running) or 'none'})")

    async def _listen_http(self, pipeline: Pipeline) -> None:
        cfg, store = self.config, self.store
        assert store is not None
        auth = http_authenticator(store.users, self.reactor, cfg.http_api)
        site = http_api_site(pipeline, store.users, store.billing, self.reactor, cfg.http_api,
                             max_parts=cfg.text.max_parts, stats=self.stats, auth=auth,
                             listen_max_body=cfg.rest_api.max_body_size)
        site.resource.putChild(b"v1", rest_api_resource(
            pipeline, store.messages, store.users, store.billing, store.api_keys,
            store.idempotency, self.reactor, basic=auth, inbound=store.inbound,
            webhooks=self.webhooks, busy=self._busy, max_body=cfg.rest_api.max_body_size))
        self.http_listening = await self._listen("HTTP", cfg.http_api.host, cfg.http_api.port,
                                                 site)
        self.http_port = self.http_listening.getHost().port
        self.say(f"smscd listening for HTTP on {cfg.http_api.host}:{self.http_port}")

    async def _listen_shell(self, service: ProvisioningService) -> None:
        cfg, store = self.config, self.store
        assert store is not None
        try:
            self.shell_listening = await start_shell(self.reactor, service, cfg,
                                                     queues=store.queues,
                                                     billing=store.billing,
                                                     api_keys=store.api_keys,
                                                     stats=self.stats)
        except Exception as e:
            raise StartupError(f"cannot listen for the shell on {cfg.shell.host}:"
                               f"{cfg.shell.port}: {e}") from None
        self.shell_port = self.shell_listening.getHost().port
        operator_password = ensure_operator(cfg.data_dir)
        if operator_password is not None:
            self.say(f"created shell operator {DEFAULT_OPERATOR!r} with password "
                     f"{operator_password!r} (shown once)")
        self.say(f"smscd listening for the admin shell on {cfg.shell.host}:{self.shell_port}"
                 " (`smscd shell`)")

    async def _listen_admin(self, service: ProvisioningService) -> None:
        cfg, store = self.config, self.store
        assert store is not None
        site = admin_api_site(service, store.queues, store.billing,
                              AdminTokens(cfg.admin_tokens_path), api_keys=store.api_keys,
                              audit=AuditLog(cfg.data_dir / AUDIT_FILE), stats=self.stats)
        self.admin_listening = await self._listen("the admin API", cfg.admin_api.host,
                                                  cfg.admin_api.port, site)
        self.admin_port = self.admin_listening.getHost().port
        self.say(f"smscd listening for the admin API on {cfg.admin_api.host}:"
                 f"{self.admin_port} (tokens: `smscd admin-token create`)")

    async def _listen(self, what: str, host: str, port: int, factory: Any) -> Any:
        endpoint_class = TCP6ServerEndpoint if ":" in host else TCP4ServerEndpoint
        try:
            return await endpoint_class(self.reactor, port, interface=host).listen(factory)
        except Exception as e:
            raise StartupError(f"cannot listen for {what} on {host}:{port}: {e}") from None

    # --- stop ----------------------------------------------------------------------------
    def stop(self) -> Deferred[Any]:
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        if self.fallthrough is not None:
            self.fallthrough.stop()
        for port in (self.admin_listening, self.shell_listening, self.http_listening,
                     self.listening):
            if port is not None:
                await port.stopListening()
        customers = self.registry.all_binds()
        for proto in customers:
            proto.unbind()
        await DeferredList([_bounded(proto.when_closed(), 10.0, self.reactor)
                            for proto in customers])
        if self.live is not None:
            await self.live.stop_all()
        if self.callbacks is not None:
            await self.callbacks.stop()
        if self.webhooks is not None:
            await self.webhooks.stop()
        if self.deliveries is not None:
            self.deliveries.stop()
        if self.dispatcher is not None:
            self.dispatcher.stop()
        if self.simulator is not None:
            await self.simulator.stop()
        if self.pool is not None:
            self.pool.stop()
        if self.store is not None:
            await self.store.close()
        self.say("smscd stopped")


def _bounded(d: Deferred[Any], seconds: float, reactor: Any) -> Deferred[Any]:
    """`d`, or nothing after `seconds`: a customer that never closes must not hold us."""
    timer = reactor.callLater(seconds, d.cancel)
    return d.addBoth(lambda result: (timer.active() and timer.cancel(), result)[1])


__all__ = ["Daemon", "StartupError"]
