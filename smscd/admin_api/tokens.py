# tests: tests/unit/test_admin_tokens.py
"""Admin API tokens: created (shown once), listed, revoked, verified; kept in one JSON file.

Why a file and not a store table: `smscd admin-token` must work while the daemon holds the
store, as `smscd shell --set-password` does for operators; the daemon notices a changed
file (its mtime and size) at the next request, so a revoked token stops at once.
Rules:
- A token is `adm_<id>_<secret>` (smscd.bearer_tokens): `id` names it in lists and
  revocations; only SHA-256 of the secret is stored.
- `verify` compares digests in constant time; a malformed, unknown or revoked token is None.
- `read_only` tokens may only read (the resource answers 403 on a write).
- The file is written atomically with mode 0600 (smscd.shell.files.write_private); a file
  that is not a valid token list is an AdminTokenError naming it, never a silent reset.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

from smscd.bearer_tokens import TokenFormat, same_digest
from smscd.shell.files import write_private

PREFIX = "adm_"
_FORMAT = TokenFormat(PREFIX)
MAX_LABEL = 100


class AdminTokenError(Exception):
    """The token file cannot be read or a request to it is invalid."""


@dataclass(frozen=True, slots=True)
class AdminToken:
    """A token as listed: never its secret."""
    id: str
    label: str
    read_only: bool
    created_at: float
    revoked_at: float | None = None


@dataclass(frozen=True, slots=True)
class NewAdminToken:
    info: AdminToken
    token: str             # the whole token, shown once


class AdminTokens:
    def __init__(self, path: Path, now: Callable[[], float] = time.time) -> None:
        self.path = path
        self._now = now
        self._seen: tuple[int, int] | None = None        # (mtime_ns, size) last read
        self._rows: dict[str, tuple[AdminToken, str]] = {}   # id -> (info, digest)

    def create(self, label: str = "", read_only: bool = False) -> NewAdminToken:
        if len(label) > MAX_LABEL:
            raise AdminTokenError(f"label: at most {MAX_LABEL} characters")
        rows = self._load()
        minted = _FORMAT.mint()
        info = AdminToken(minted.id, label, read_only, self._now())
        rows[minted.id] = (info, minted.secret_sha256)
        self._save(rows)
        return NewAdminToken(info, minted.token)

    def list(self) -> list[AdminToken]:
        return sorted((info for info, _ in self._load().values()), key=lambda t: t.created_at)

    def revoke(self, key_id: str) -> bool:
        """False if there is no such live token."""
        rows = self._load()
        row = rows.get(key_id)
        if row is None or row[0].revoked_at is not None:
            return False
        rows[key_id] = (replace(row[0], revoked_at=self._now()), row[1])
        self._save(rows)
        return True

    def verify(self, token: str) -> AdminToken | None:
        parsed = _FORMAT.parse(token)
        if parsed is None:
            return None
        key_id, digest = parsed
        row = self._load().get(key_id)
        if row is None or row[0].revoked_at is not None:
            return None
        return row[0] if same_digest(row[1], digest) else None

    def _load(self) -> dict[str, tuple[AdminToken, str]]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._seen, self._rows = None, {}
            return dict(self._rows)
        if self._seen != (st.st_mtime_ns, st.st_size):
            self._rows = _parse(self.path)
            self._seen = (st.st_mtime_ns, st.st_size)
        return dict(self._rows)

    def _save(self, rows: dict[str, tuple[AdminToken, str]]) -> None:
        body = {"version": 1, "tokens": [{**asdict(info), "secret_sha256": digest}
                                         for info, digest in rows.values()]}
        write_private(self.path, json.dumps(body, indent=1).encode())
        self._seen = None
        self._rows = rows


def _parse(path: Path) -> dict[str, tuple[AdminToken, str]]:
    try:
        raw: Any = json.loads(path.read_bytes())
        if raw.get("version") != 1:
            raise ValueError(f"version {raw.get('version')!r} is not 1")
        rows = {}
        for item in raw["tokens"]:
            digest = item.pop("secret_sha256")
            info = AdminToken(**item)
            rows[info.id] = (info, str(digest))
        return rows
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise AdminTokenError(f"{path}: not a valid admin token file ({e})") from None
