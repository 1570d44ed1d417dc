"""Shared by the HTTP API tests: a server on a loopback port with the real store's users,
a fake MT pipeline that records what it is given, and a plain HTTP client."""
from __future__ import annotations

import json
from io import BytesIO
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import urlencode

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, fail, succeed
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers

from smscd.billing import Account
from smscd.config import default_config
from smscd.credentials import MtCredential
from smscd.http_api import http_api_site
from smscd.message import Message
from smscd.mt_pipeline import Quote, Refused
from smscd.stores.interfaces import UserRecord
from smscd.stores.sqlite import SqliteStore


@dataclass
class FakePipeline:
    """Accepts everything (or refuses with `refusal`); `submitted` is what it was given."""
    submitted: list[tuple[str, Message, str]] = field(default_factory=list)
    refusal: Exception | None = None
    rate: Decimal = Decimal("0.02")
    hold: Deferred[None] | None = None         # submissions wait for it when set
    reached: Deferred[None] = field(default_factory=Deferred)   # fired by a held submission

    def submit(self, user: UserRecord, message: Message, channel: str) -> Deferred[str]:
        if self.refusal is not None:
            return fail(self.refusal)
        if self.hold is not None:
            self.submitted.append((user.uid, message, channel))
            self.reached.callback(None)
            return self.hold.addCallback(lambda _: message.id)
        self.submitted.append((user.uid, message, channel))
        return succeed(message.id)

    def quote(self, user: UserRecord, message: Message) -> Deferred[Quote]:
        if self.refusal is not None:
            return fail(self.refusal)
        parts = len(message.parts)
        return succeed(Quote("c1", self.rate, parts, self.rate * parts, "EUR"))


@dataclass
class FakeBalances:
    accounts: dict[str, Account] = field(default_factory=dict)

    def account(self, uid: str) -> Account:
        return self.accounts.get(uid, Account(uid))


class HttpApiSide:
    def __init__(self, tmp_path: Path, max_body_size: int = 65536) -> None:
        self.store = SqliteStore.open(tmp_path / "smscd.sqlite3", reactor)
        self.pipeline = FakePipeline()
        self.balances = FakeBalances()
        config = default_config().http_api
        config = type(config)(host="127.0.0.1", port=0, max_body_size=max_body_size,
                              long_content_split="udh", auth_cache_size=100)
        self.site = http_api_site(self.pipeline, self.store.users, self.balances, reactor,
                                  config, max_parts=10, user_ttl=0)
        self.port = reactor.listenTCP(0, self.site, interface="127.0.0.1")
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        self.agent = Agent(reactor, pool=self.pool)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port.getHost().port}"

    async def add_user(self, uid: str = "u1", password: str = "password",
                       cred: MtCredential | None = None) -> UserRecord:
        return await self.store.users.add(uid, uid, password,
                                          mt_credential=cred or MtCredential())

    async def request(self, method: str, path: str, params: dict[str, Any] | None = None,
                      body: bytes | None = None, content_type: str | None = None
                      ) -> tuple[int, str]:
        url = self.base + path
        if params is not None and method == "GET":
            url += "?" + urlencode(params)
        elif params is not None:
            body = urlencode(params).encode()
            content_type = content_type or "application/x-www-form-urlencoded"
        headers = Headers({"Content-Type": [content_type]} if content_type else {})
        producer = None
        if body is not None:
            producer = FileBodyProducer(BytesIO(body))
        response = await self.agent.request(method.encode(), url.encode(), headers, producer)
        text = (await readBody(response)).decode("utf-8", "replace")
        return response.code, text

    async def get(self, path: str, **params: Any) -> tuple[int, str]:
        return await self.request("GET", path, params)

    async def post_json(self, path: str, obj: Any) -> tuple[int, str]:
        return await self.request("POST", path, body=json.dumps(obj).encode(),
                                  content_type="application/json")

    async def close(self) -> None:
        await self.port.stopListening()
        await self.pool.closeCachedConnections()
        await self.store.close()


@pytest_twisted.async_yield_fixture
async def side(tmp_path: Path) -> AsyncIterator[HttpApiSide]:
    """A started side with user u1 (password "password")."""
    s = HttpApiSide(tmp_path)
    await s.add_user()
    yield s
    await s.close()
