# tests: tests/integration/test_rest_api.py
"""API keys of the REST API on the embedded store: create (shown once), list, revoke, verify.

Rules:
- A key is `sk_<id>_<secret>` (smscd.bearer_tokens): `id` names it in lists and
  revocations; only SHA-256 of the secret is stored.
- `verify` compares the digest in constant time and fires with the owner's uid, or None
  for a malformed, unknown or revoked key. Verified keys are remembered in memory (id ->
  digest, uid) so that a request costs no store read; `revoke` forgets at once.
- Every change is durable before its Deferred fires (the group-commit writer).
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from twisted.internet.defer import Deferred, succeed

from smscd.bearer_tokens import TokenFormat, same_digest
from smscd.stores.group_commit import GroupCommitWriter
from smscd.stores.ops import Read

PREFIX = "sk_"
_FORMAT = TokenFormat(PREFIX)
MAX_LABEL = 100


class Clock(Protocol):
    def seconds(self) -> float: ...


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """A key as listed: never its secret."""
    id: str
    uid: str
    label: str
    created_at: float
    revoked_at: float | None = None


@dataclass(frozen=True, slots=True)
class NewApiKey:
    info: ApiKeyInfo
    key: str               # the whole key, shown once


class SqliteApiKeys:
    def __init__(self, writer: GroupCommitWriter, clock: Clock) -> None:
        self._writer = writer
        self._clock = clock
        self._known: dict[str, tuple[str, str]] = {}      # id -> (digest, uid)

    def create(self, uid: str, label: str = "") -> Deferred[NewApiKey]:
        """A new key for `uid`; ValueError for a label that is too long."""
        if len(label) > MAX_LABEL:
            raise ValueError(f"label: at most {MAX_LABEL} characters")
        minted = _FORMAT.mint()
        info = ApiKeyInfo(minted.id, uid, label, self._clock.seconds())
        d: Deferred[None] = self._writer.submit(partial(_insert, info, minted.secret_sha256))
        return d.addCallback(lambda _: NewApiKey(info, minted.token))

    def list(self, uid: str) -> Deferred[list[ApiKeyInfo]]:
        return self._writer.submit(Read(partial(_list, uid)))

    def revoke(self, uid: str, key_id: str) -> Deferred[bool]:
        """False if `uid` has no such live key."""
        self._known.pop(key_id, None)
        return self._writer.submit(partial(_revoke, uid, key_id, self._clock.seconds()))

    def verify(self, key: str) -> Deferred[str | None]:
        parsed = _FORMAT.parse(key)
        if parsed is None:
            return succeed(None)
        key_id, digest = parsed
        known = self._known.get(key_id)
        if known is not None:
            return succeed(known[1] if same_digest(known[0], digest) else None)
        d: Deferred[tuple[str, str] | None] = self._writer.submit(Read(partial(_live, key_id)))
        return d.addCallback(self._checked, key_id, digest)

    def _checked(self, row: tuple[str, str] | None, key_id: str, digest: str) -> str | None:
        if row is None or not same_digest(row[0], digest):
            return None
        self._known[key_id] = row
        return row[1]


def _insert(info: ApiKeyInfo, digest: str, conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO api_keys (id, uid, label, secret_hash, created_at) "
                 "VALUES (?, ?, ?, ?, ?)", (info.id, info.uid, info.label, digest,
                                             info.created_at))


def _list(uid: str, conn: sqlite3.Connection) -> list[ApiKeyInfo]:
    return [ApiKeyInfo(*row) for row in conn.execute(
        "SELECT id, uid, label, created_at, revoked_at FROM api_keys WHERE uid = ? "
        "ORDER BY created_at, id", (uid,))]


def _revoke(uid: str, key_id: str, now: float, conn: sqlite3.Connection) -> bool:
    return conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND uid = ? "
                        "AND revoked_at IS NULL", (now, key_id, uid)).rowcount > 0


def _live(key_id: str, conn: sqlite3.Connection) -> tuple[str, str] | None:
    row = conn.execute("SELECT secret_hash, uid FROM api_keys WHERE id = ? "
                       "AND revoked_at IS NULL", (key_id,)).fetchone()
    return None if row is None else (row[0], row[1])
