# tests: tests/unit/test_bearer_tokens.py
"""The format shared by the bearer tokens smscd issues (REST API keys, admin API tokens).

Why: both are `<prefix><id>_<secret>` strings checked on every request; one module makes
them, reads them and keeps only what may be stored.
Rules:
- `id` is 12 hex digits (6 random octets): it names the token in lists and revocations.
- `secret` is 32 random octets, base64url without padding (43 characters). Only its
  SHA-256 is stored: it is high-entropy, so a slow hash (scrypt) would only cost CPU per
  request.
- `parse` answers None for anything that is not exactly this format with this prefix.
- Stored and presented digests are compared in constant time (`same_digest`).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Minted:
    id: str
    secret_sha256: str     # what is stored
    token: str             # the whole token, shown once


class TokenFormat:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._pattern = re.compile(re.escape(prefix) + r"([0-9a-f]{12})_([A-Za-z0-9_-]{43})\Z")

    def mint(self) -> Minted:
        """A fresh random token."""
        key_id = os.urandom(6).hex()
        secret = base64.urlsafe_b64encode(os.urandom(32)).decode("ascii").rstrip("=")
        return Minted(key_id, _digest(secret), f"{self.prefix}{key_id}_{secret}")

    def parse(self, token: str) -> tuple[str, str] | None:
        """(id, SHA-256 of the secret) of a well-formed token, else None."""
        m = self._pattern.match(token)
        return None if m is None else (m.group(1), _digest(m.group(2)))


def same_digest(stored: str, presented: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(stored, presented)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()
