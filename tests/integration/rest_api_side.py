"""Shared by the REST API tests: /v1 on a loopback port over the real store (message log,
billing, users, keys, idempotency, inbound) and the real MT pipeline with a default route,
plus a plain JSON HTTP client."""
from __future__ import annotations

import base64
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from twisted.internet import reactor
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource

from routing.interceptors import InterceptorTable
from routing.routable import MO, MT
from routing.routes import DefaultRoute
from routing.table import RouteTable
from smscd.http_api.resources import LimitedRequest, QuietSite
from smscd.mt_pipeline import Pipeline
from smscd.rest_api import rest_api_resource
from smscd.service.api import RoutingSnapshot
from smscd.stores.sqlite import SqliteStore
from smscd.webhooks import WebhookSettings, Webhooks

from json_client import json_call


class Rules:
    def __init__(self, rate: Decimal = Decimal("0.05")) -> None:
        self.snapshot = RoutingSnapshot(1, {}, RouteTable(MT, {0: DefaultRoute("c1", rate)}),
                                        RouteTable(MO, {}), InterceptorTable(MT, {}),
                                        InterceptorTable(MO, {}), {}, {})


class RestSide:
    def __init__(self, tmp_path: Path, max_body: int = 1 << 20,
                 settings: WebhookSettings = WebhookSettings()) -> None:
        self.path = tmp_path / "smscd.sqlite3"
        self.store = s = SqliteStore.open(self.path, reactor)
        self.pipeline = Pipeline(Rules(), lambda c: True, s.messages, s.billing, reactor)
        self.webhooks = Webhooks(reactor, s.queues, s.webhook_endpoints, settings)
        self.is_busy = False
        root = Resource()
        root.putChild(b"v1", rest_api_resource(
            self.pipeline, s.messages, s.users, s.billing, s.api_keys, s.idempotency, reactor,
            inbound=s.inbound, webhooks=self.webhooks, busy=lambda: self.is_busy))
        request = type("Req", (LimitedRequest,), {"max_body": max_body})
        self.site = QuietSite(root, requestFactory=request)
        self.port = reactor.listenTCP(0, self.site, interface="127.0.0.1")
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        self.agent = Agent(reactor, pool=self.pool)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port.getHost().port}"

    async def start(self) -> None:
        await self.webhooks.start()

    async def user(self, uid: str, password: str = "secret") -> str:
        """A user with an API key; returns its Authorization header."""
        await self.store.users.add(uid, uid, password)
        key = await self.store.api_keys.create(uid, "test")
        return f"Bearer {key.key}"

    @staticmethod
    def basic(username: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    async def call(self, method: str, path: str, auth: str | None = None, body: Any = None,
                   raw: bytes | None = None, content_type: str = "application/json",
                   headers: dict[str, str] | None = None
                   ) -> tuple[int, Any, Headers]:
        return await json_call(self.agent, method, self.base + path, auth, body, raw,
                               content_type, headers)

    def fail_inserts(self, table: str, when: str = "1") -> None:
        """Make the store's inserts into `table` fail where `when` holds, inside the
        writer's transaction (a trigger, added through a second connection): a durable
        change holding such a row fails as a disk error would."""
        with sqlite3.connect(self.path) as conn:
            conn.execute(f"CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} WHEN {when} "
                         "BEGIN SELECT RAISE(ABORT, 'injected'); END")

    def stop_failing(self, table: str) -> None:
        with sqlite3.connect(self.path) as conn:
            conn.execute(f"DROP TRIGGER fail_{table}")

    def count(self, sql: str) -> int:
        """A count read from the database file itself (what survives a crash)."""
        with sqlite3.connect(self.path) as conn:
            return int(conn.execute(sql).fetchone()[0])

    async def close(self) -> None:
        await self.port.stopListening()
        await self.pool.closeCachedConnections()
        await self.webhooks.stop()
        await self.store.close()
