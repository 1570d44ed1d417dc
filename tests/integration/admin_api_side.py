"""Shared by the admin API tests: /admin/v1 on a loopback port over a real
ProvisioningService and the real SQLite store (queues, billing, API keys), three tokens
(read-write, read-only, revoked) and a plain JSON HTTP client."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.http_headers import Headers

from smscd.admin_api import AdminTokens, admin_api_site
from smscd.passwords import hash_password
from smscd.service.api import ConnectorStatus
from smscd.service.service import ProvisioningService, open_service
from smscd.shell.audit import AuditLog
from smscd.stores.sqlite import SqliteStore

from json_client import json_call


def quick_hash(password: str) -> Deferred[str]:
    return succeed(hash_password(password, n=16, r=1, p=1))


class Control:
    """The daemon's side: a started connector counts as bound once."""

    def __init__(self) -> None:
        self.started: set[str] = set()

    def connector_status(self, cid: str) -> ConnectorStatus:
        up = cid in self.started
        return ConnectorStatus(cid, "started" if up else "stopped",
                               "BOUND_TRX" if up else "NONE", binds=int(up))

    def unbind_user(self, uid: str) -> int:
        return 1


class AdminSide:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.tokens = AdminTokens(tmp_path / "admin_tokens.json")
        self.audit = AuditLog(tmp_path / "shell-audit.log")
        self.write = "Bearer " + self.tokens.create("ops").token
        self.read = "Bearer " + self.tokens.create("viewer", read_only=True).token
        gone = self.tokens.create("old")
        self.tokens.revoke(gone.info.id)
        self.revoked = "Bearer " + gone.token
        self.store = SqliteStore.open(tmp_path / "smscd.sqlite3", reactor)
        self.control = Control()
        self.service: ProvisioningService | None = None
        self.port: Any = None
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        self.agent = Agent(reactor, pool=self.pool)

    async def start(self) -> None:
        self.service = s = await open_service(self.store.provisioning, self.store.users,
                                              self.control, quick_hash, reactor)
        s.on_change(self._started)
        site = admin_api_site(s, self.store.queues, self.store.billing, self.tokens,
                              api_keys=self.store.api_keys, audit=self.audit,
                              max_body=64 * 1024)
        self.port = reactor.listenTCP(0, site, interface="127.0.0.1")

    def _started(self, old: Any, new: Any) -> None:
        self.control.started = {cid for cid, c in new.smpp_connectors.items() if c.started}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port.getHost().port}"

    async def call(self, method: str, path: str, body: Any = None, auth: str | None = "",
                   raw: bytes | None = None, content_type: str = "application/json",
                   base: str | None = None) -> tuple[int, Any, Headers]:
        """`auth` "" means the read-write token, None no Authorization header; `base`: another
        listener than this side's."""
        return await json_call(self.agent, method, (base or self.base) + "/admin/v1" + path,
                               self.write if auth == "" else auth, body, raw, content_type)

    async def close(self) -> None:
        if self.port is not None:
            await self.port.stopListening()
        await self.pool.closeCachedConnections()
        await self.store.close()
