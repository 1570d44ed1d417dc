# tests: tests/integration/test_mo_durable.py
"""`MoParts` on the embedded store: the `mo_parts` table (schema migration 5).

Rules:
- Adds and deletes are `Rows` ops: they commute with every other row of a batch because a
  group name is never reused (mo_parts.py), so the writer may merge them.
- `settle` with a publication goes through `SqliteQueues.publish_with`: the delete and the
  queue entry share one transaction, and the entry becomes visible once that commits.
"""
from __future__ import annotations

import sqlite3
from functools import partial

from twisted.internet.defer import Deferred

from smscd.stores.group_commit import GroupCommitWriter
from smscd.stores.interfaces import Publication
from smscd.stores.mo_parts import StoredPart
from smscd.stores.ops import Read, Rows, Statement
from smscd.stores.sqlite_queues import SqliteQueues

ADD_PART = Statement("INSERT OR IGNORE INTO mo_parts (connector, group_key, part_index, body, "
                     "received_at) VALUES ", "(?, ?, ?, ?, ?)")
DELETE_GROUP = Statement("DELETE FROM mo_parts WHERE (connector, group_key) IN (VALUES ",
                         "(?, ?)", ")")


class SqliteMoParts:
    def __init__(self, writer: GroupCommitWriter, queues: SqliteQueues) -> None:
        self._writer = writer
        self._queues = queues

    def load(self, connector: str) -> Deferred[list[StoredPart]]:
        return self._writer.submit(Read(partial(_load, connector)))

    def add(self, connector: str, group: str, seq: int, body: bytes,
            received_at: float) -> Deferred[None]:
        return self._writer.submit(Rows(((ADD_PART, (connector, group, seq, body,
                                                     received_at)),)))

    def settle(self, connector: str, group: str,
               publication: Publication | None = None) -> Deferred[None]:
        delete = ((DELETE_GROUP, (connector, group)),)
        if publication is None:
            return self._writer.submit(Rows(delete))
        p = publication
        return self._queues.publish_with(delete, p.queue, p.key, p.payload, p.obj, 0.0,
                                         p.expires_at, None)


def _load(connector: str, conn: sqlite3.Connection) -> list[StoredPart]:
    return [StoredPart(*row) for row in conn.execute(
        "SELECT group_key, part_index, body, received_at FROM mo_parts WHERE connector = ? "
        "ORDER BY received_at, group_key, part_index", (connector,))]
