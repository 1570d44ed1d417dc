# tests: tests/integration/test_provisioning_store.py
"""Provisioning documents in the embedded store: one row per (kind, id), versioned JSON.

Why documents: filters, routes, interceptors and connectors are rules as plain data; the
service decodes them into rule objects, so the store only keeps what an operator wrote.
Rules:
- A body is JSON `{"v": 1, ...}`, never pickle; `load` refuses a version it does not know
  (a newer smscd wrote it) instead of guessing.
- `apply` writes a whole change (puts and deletes, or a full replacement) as ONE op of the
  group-commit writer, so it commits entirely or not at all; its Deferred fires once the
  change is durable.
- Kinds and ids are the service's business (e.g. ("mt_route", "10")); the store checks
  nothing about them.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Mapping, Protocol, Sequence

from twisted.internet.defer import Deferred, fail

from smscd.stores.group_commit import GroupCommitWriter
from smscd.stores.interfaces import StoreError
from smscd.stores.ops import Read

BODY_VERSION = 1
Op = Callable[[sqlite3.Connection], Any]


class Clock(Protocol):
    def seconds(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Document:
    kind: str
    id: str
    body: Mapping[str, Any]          # JSON-safe; "v" is added and stripped by the store


class SqliteProvisioning:
    def __init__(self, writer: GroupCommitWriter, clock: Clock) -> None:
        self._writer = writer
        self._clock = clock

    def load(self) -> Deferred[list[Document]]:
        """Every document, ordered by kind then id; StoreError on an unknown body version."""
        return self._writer.submit(Read(_load))

    def apply(self, puts: Sequence[Document] = (), deletes: Sequence[tuple[str, str]] = (),
              replace_all: bool = False, also: Op | None = None) -> Deferred[None]:
        """One durable change: `also` (an op on the same database, e.g. the users of a
        profile import) runs first; with `replace_all` every document is dropped; then
        `deletes` are removed and `puts` inserted or replaced."""
        try:
            rows = [(d.kind, d.id, _dump(d.body)) for d in puts]
        except (TypeError, ValueError) as e:     # not JSON-safe: nothing is written
            return fail(e)
        return self._writer.submit(partial(_apply, rows, tuple(deletes), replace_all, also,
                                           self._clock.seconds()))


def _dump(body: Mapping[str, Any]) -> str:
    return json.dumps({"v": BODY_VERSION, **body}, separators=(",", ":"), sort_keys=True)


def _load(conn: sqlite3.Connection) -> list[Document]:
    out = []
    for kind, doc_id, text in conn.execute(
            "SELECT kind, id, body FROM provisioning ORDER BY kind, id"):
        body = json.loads(text)
        version = body.pop("v", None) if isinstance(body, dict) else None
        if version != BODY_VERSION:
            raise StoreError(f"provisioning document {kind} {doc_id!r} has body version "
                             f"{version!r}; this smscd reads version {BODY_VERSION}")
        out.append(Document(kind, doc_id, body))
    return out


def _apply(rows: list[tuple[str, str, str]], deletes: tuple[tuple[str, str], ...],
           replace_all: bool, also: Op | None, now: float, conn: sqlite3.Connection) -> None:
    if also is not None:
        also(conn)
    if replace_all:
        conn.execute("DELETE FROM provisioning")
    conn.executemany("DELETE FROM provisioning WHERE kind = ? AND id = ?", deletes)
    conn.executemany("INSERT OR REPLACE INTO provisioning (kind, id, body, updated_at) "
                     "VALUES (?, ?, ?, ?)", [row + (now,) for row in rows])
