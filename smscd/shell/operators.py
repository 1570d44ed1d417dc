# tests: tests/unit/test_shell_operators.py
"""Operator accounts of the admin shell, and the local token `smscd shell` logs in with.

Rules:
- Accounts live in `<data_dir>/operators.json` (version 1, mode 0600): username -> scrypt
  hash from smscd/passwords.py. A password is never stored, logged or shown, except the
  generated one that `ensure_operator` returns once for the daemon to print at first start.
- Usernames are `[A-Za-z0-9_.-]{1,32}`; `@local` is reserved: it is the token login of
  `smscd shell` on the same machine, checked against `<data_dir>/shell.token` (0600, new at
  every daemon start), so only the daemon's user (who can read the file) gets in without a
  password.
- Verifying costs ~50 ms of scrypt: the transport calls `verify` from a thread.
"""
from __future__ import annotations

import functools
import hmac
import json
import re
import secrets
from pathlib import Path

from smscd.passwords import hash_password, verify_password

from .files import write_private

OPERATORS_FILE = "operators.json"
TOKEN_FILE = "shell.token"
LOCAL_USER = "@local"
DEFAULT_OPERATOR = "admin"
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_VERSION = 1


class OperatorError(ValueError):
    """A bad operator name or an unreadable accounts file; the message says which."""


class Operators:
    """The accounts file of one data directory, read at each check (it is tiny)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / OPERATORS_FILE
        self.token_path = Path(data_dir) / TOKEN_FILE

    def accounts(self) -> dict[str, str]:
        """username -> password hash; empty when the file does not exist yet."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise OperatorError(f"{self.path}: cannot read operator accounts: {e}") from None
        if not isinstance(raw, dict) or raw.get("version") != _VERSION \
                or not isinstance(raw.get("operators"), dict):
            raise OperatorError(f"{self.path}: not a version {_VERSION} operator accounts file")
        return {str(k): str(v) for k, v in raw["operators"].items()}

    def set_password(self, username: str, password: str) -> None:
        """Create the account or change its password."""
        if not _USERNAME.match(username):
            raise OperatorError(f"operator name {username!r}: 1..32 characters among "
                                "A-Z a-z 0-9 _ . -")
        if not password:
            raise OperatorError("operator password: must not be empty")
        accounts = self.accounts()
        accounts[username] = hash_password(password)
        body = {"version": _VERSION, "operators": dict(sorted(accounts.items()))}
        write_private(self.path, (json.dumps(body, indent=2) + "\n").encode())

    def verify(self, username: str, password: str) -> bool:
        """True when the pair is an operator account or the local token login."""
        if username == LOCAL_USER:
            token = self.local_token()
            return token is not None and hmac.compare_digest(password.encode(), token.encode())
        stored = self.accounts().get(username)
        if stored is None:
            verify_password(password, _dummy_hash())   # same cost for unknown names
            return False
        return verify_password(password, stored)

    def new_local_token(self) -> str:
        """A fresh token for `smscd shell`, written 0600 (the daemon calls it at start)."""
        token = secrets.token_urlsafe(32)
        write_private(self.token_path, token.encode() + b"\n")
        return token

    def local_token(self) -> str | None:
        try:
            return self.token_path.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(8))


def ensure_operator(data_dir: Path, username: str = DEFAULT_OPERATOR) -> str | None:
    """Create the first operator account with a generated password and return that
    password (to print once), or None when accounts exist already."""
    operators = Operators(data_dir)
    if operators.accounts():
        return None
    password = secrets.token_urlsafe(12)
    operators.set_password(username, password)
    return password
