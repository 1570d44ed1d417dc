# tests: tests/integration/test_rest_inbound.py
"""MO kept for a user to read through `GET /v1/inbound` (MO routes with target `store`).

Rules:
- `store(uid, item)` keeps one MO (a JSON object: id, from, to, text, coding, received_at,
  ...) durably before its Deferred fires; `after(uid, cursor, limit)` reads the user's,
  oldest first, after the cursor (the last row id seen): cursor pagination that never
  skips or repeats an item while new ones arrive.
- Scoped: a user reads only its own.
"""
from __future__ import annotations

import json
import sqlite3
from functools import partial
from typing import Any, Protocol

from twisted.internet.defer import Deferred

from smscd.stores.group_commit import GroupCommitWriter
from smscd.stores.ops import Read


class Clock(Protocol):
    def seconds(self) -> float: ...


class SqliteInbound:
    def __init__(self, writer: GroupCommitWriter, clock: Clock) -> None:
        self._writer = writer
        self._clock = clock

    def store(self, uid: str, item: dict[str, Any]) -> Deferred[int]:
        """Fires with the row id (the item's cursor) once durable."""
        body = json.dumps(item, separators=(",", ":"))
        return self._writer.submit(partial(_insert, uid, self._clock.seconds(), body))

    def after(self, uid: str, cursor: int, limit: int
              ) -> Deferred[list[tuple[int, dict[str, Any]]]]:
        return self._writer.submit(Read(partial(_after, uid, cursor, limit)))


def _insert(uid: str, now: float, body: str, conn: sqlite3.Connection) -> int:
    cur = conn.execute("INSERT INTO inbound_messages (uid, received_at, body) VALUES (?, ?, ?)",
                       (uid, now, body))
    return int(cur.lastrowid or 0)


def _after(uid: str, cursor: int, limit: int, conn: sqlite3.Connection
           ) -> list[tuple[int, dict[str, Any]]]:
    return [(row[0], json.loads(row[1])) for row in conn.execute(
        "SELECT id, body FROM inbound_messages WHERE uid = ? AND id > ? ORDER BY id LIMIT ?",
        (uid, cursor, limit))]
