# tests: tests/integration/test_rest_idempotency.py
"""Idempotency-Key records of the REST API on the embedded store.

Rules:
- One record per (user, key): the request's fingerprint (SHA-256 of method, path and
  body) and the response sent (status, JSON body). Records older than `ttl` (24 h) are
  ignored, and deleted a few at a time as new ones are written (by age index).
- `rows` is the record as rows of another durable change (`MessageLog.accept_many`'s
  `also`): a request that sends commits its record with its messages. `put` writes the
  same rows alone and is durable before its Deferred fires.
- Writing (user, key) again keeps the first record unless it expired: the first
  response stays the answer.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from smscd.stores.group_commit import GroupCommitWriter
from smscd.stores.interfaces import AlsoRows
from smscd.stores.ops import Read, Rows, Statement

DAY = 86400.0
_PURGE_EVERY = 64         # records written between two purges
_PURGE_MAX = 2 * _PURGE_EVERY

log = Logger(namespace="smscd.stores.idempotency")


class Clock(Protocol):
    def seconds(self) -> float: ...


@dataclass(frozen=True, slots=True)
class StoredResponse:
    fingerprint: str
    status: int
    body: bytes


class SqliteIdempotency:
    def __init__(self, writer: GroupCommitWriter, clock: Clock, ttl: float = DAY) -> None:
        self._writer = writer
        self._clock = clock
        self.ttl = ttl
        self._upserts: dict[float, Statement] = {}
        self._written = 0

    def get(self, uid: str, key: str) -> Deferred[StoredResponse | None]:
        since = self._clock.seconds() - self.ttl
        return self._writer.submit(Read(partial(_get, uid, key, since)))

    def put(self, uid: str, key: str, response: StoredResponse) -> Deferred[None]:
        return self._writer.submit(Rows(self.rows(uid, key, response)))

    def rows(self, uid: str, key: str, response: StoredResponse) -> AlsoRows:
        now = self._clock.seconds()
        self._written += 1
        if self._written % _PURGE_EVERY == 0:
            self._writer.submit(partial(_purge, now - self.ttl, _PURGE_MAX)).addErrback(
                lambda f: log.failure("purging expired idempotency records failed", f))
        return ((self._upsert(), (uid, key, response.fingerprint, response.status,
                                  response.body, now)),)

    def _upsert(self) -> Statement:
        """The insert that replaces only an expired record; its SQL holds `ttl` (a multi-row
        statement has no room for a parameter after its rows), one per ttl in use."""
        ttl = float(self.ttl)
        statement = self._upserts.get(ttl)
        if statement is None:
            statement = self._upserts[ttl] = Statement(
                "INSERT INTO idempotency (uid, key, fingerprint, status, body, created_at) "
                "VALUES ", "(?, ?, ?, ?, ?, ?)",
                " ON CONFLICT (uid, key) DO UPDATE SET fingerprint = excluded.fingerprint, "
                "status = excluded.status, body = excluded.body, "
                "created_at = excluded.created_at "
                f"WHERE idempotency.created_at < excluded.created_at - {ttl!r}")
        return statement


def _get(uid: str, key: str, since: float, conn: sqlite3.Connection
         ) -> StoredResponse | None:
    row = conn.execute("SELECT fingerprint, status, body FROM idempotency WHERE uid = ? "
                       "AND key = ? AND created_at >= ?", (uid, key, since)).fetchone()
    return None if row is None else StoredResponse(row[0], row[1], bytes(row[2]))


def _purge(before: float, limit: int, conn: sqlite3.Connection) -> int:
    return conn.execute("DELETE FROM idempotency WHERE (uid, key) IN (SELECT uid, key FROM "
                        "idempotency WHERE created_at < ? ORDER BY created_at LIMIT ?)",
                        (before, limit)).rowcount
