# tests: tests/integration/test_rest_idempotency.py
"""Idempotency-Key records of the REST API on the embedded store.

Rules:
- One record per (user, key): the request's fingerprint (SHA-256 of method, path and
  body) and the response sent (status, JSON body). Records older than `ttl` (24 h) are
  ignored and deleted as new ones are written (a few per write, by age index).
- `put` is durable before its Deferred fires; a second `put` of the same (user, key)
  keeps the first record unless it expired: the first response stays the answer.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from twisted.internet.defer import Deferred

from smscd.stores.group_commit import GroupCommitWriter
from smscd.stores.ops import Read

DAY = 86400.0
_PURGE_PER_WRITE = 10


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

    def get(self, uid: str, key: str) -> Deferred[StoredResponse | None]:
        since = self._clock.seconds() - self.ttl
        return self._writer.submit(Read(partial(_get, uid, key, since)))

    def put(self, uid: str, key: str, response: StoredResponse) -> Deferred[None]:
        now = self._clock.seconds()
        return self._writer.submit(partial(_put, uid, key, response, now, now - self.ttl))


def _get(uid: str, key: str, since: float, conn: sqlite3.Connection
         ) -> StoredResponse | None:
    row = conn.execute("SELECT fingerprint, status, body FROM idempotency WHERE uid = ? "
                       "AND key = ? AND created_at >= ?", (uid, key, since)).fetchone()
    return None if row is None else StoredResponse(row[0], row[1], bytes(row[2]))


def _put(uid: str, key: str, r: StoredResponse, now: float, before: float,
         conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM idempotency WHERE (uid, key) IN (SELECT uid, key FROM idempotency "
                 "WHERE created_at < ? ORDER BY created_at LIMIT ?)", (before, _PURGE_PER_WRITE))
    conn.execute("INSERT INTO idempotency (uid, key, fingerprint, status, body, created_at) "
                 "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (uid, key) DO UPDATE SET "
                 "fingerprint = excluded.fingerprint, status = excluded.status, "
                 "body = excluded.body, created_at = excluded.created_at "
                 "WHERE idempotency.created_at < ?",
                 (uid, key, r.fingerprint, r.status, r.body, now, before))
