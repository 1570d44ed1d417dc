# tests: tests/integration/test_webhooks.py
"""Webhook endpoints on the embedded store: per user, a URL, its event types, its secret.

Rules: the secret signs every delivery (smscd.webhooks.signing), so it is kept as given
(it is shown to its owner once, at creation). Changes are durable before their Deferred
fires; `all()` is read once at start by the Webhooks service, which keeps them in memory.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import partial

from twisted.internet.defer import Deferred

from smscd.stores.group_commit import GroupCommitWriter
from smscd.stores.ops import Read


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    uid: str
    url: str
    events: tuple[str, ...]
    secret: str
    created_at: float


class SqliteWebhookEndpoints:
    def __init__(self, writer: GroupCommitWriter) -> None:
        self._writer = writer

    def add(self, endpoint: Endpoint) -> Deferred[None]:
        return self._writer.submit(partial(_insert, endpoint))

    def remove(self, uid: str, endpoint_id: str) -> Deferred[bool]:
        return self._writer.submit(partial(_delete, uid, endpoint_id))

    def all(self) -> Deferred[list[Endpoint]]:
        return self._writer.submit(Read(_all))


def _insert(e: Endpoint, conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO webhook_endpoints (id, uid, url, events, secret, created_at) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 (e.id, e.uid, e.url, ",".join(e.events), e.secret, e.created_at))


def _delete(uid: str, endpoint_id: str, conn: sqlite3.Connection) -> bool:
    return conn.execute("DELETE FROM webhook_endpoints WHERE id = ? AND uid = ?",
                        (endpoint_id, uid)).rowcount > 0


def _all(conn: sqlite3.Connection) -> list[Endpoint]:
    return [Endpoint(i, uid, url, tuple(ev.split(",")) if ev else (), secret, at)
            for i, uid, url, ev, secret, at in conn.execute(
                "SELECT id, uid, url, events, secret, created_at FROM webhook_endpoints "
                "ORDER BY created_at, id")]
