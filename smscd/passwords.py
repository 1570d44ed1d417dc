# tests: tests/unit/test_passwords.py
"""Password hashing for customer and operator credentials: scrypt, salted, self-describing.

The stored string is `scrypt$<n>$<r>$<p>$<salt, base64>$<key, base64>`, so the cost can be
raised later without breaking existing hashes. Verification recomputes with the stored
parameters and compares with `hmac.compare_digest`. Hashing costs tens of milliseconds of
CPU on purpose: call it from a thread (`deferToThreadPool`), never on the reactor thread
for every bind. Passwords never reach a log line, an exception message or a repr.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

SCHEME = "scrypt"
N, R, P = 2 ** 14, 8, 1          # 16 MiB, about 50 ms: OWASP's scrypt minimum
SALT_BYTES, KEY_BYTES = 16, 32
_MAX_N = 2 ** 20                 # refuse stored strings that would ask for > 1 GiB


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=128 * r * (n + p + 2) + (1 << 20), dklen=length)


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """A new salted scrypt hash of `password`; two calls never return the same string."""
    salt = os.urandom(SALT_BYTES)
    key = _derive(password, salt, n, r, p, KEY_BYTES)
    b64 = base64.b64encode
    return f"{SCHEME}${n}${r}${p}${b64(salt).decode()}${b64(key).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; a malformed `stored` string is simply False."""
    try:
        scheme, n_s, r_s, p_s, salt_s, key_s = stored.split("$")
        n, r, p = int(n_s), int(r_s), int(p_s)
        salt, key = base64.b64decode(salt_s, validate=True), base64.b64decode(key_s, validate=True)
    except ValueError:
        return False
    if scheme != SCHEME or not (1 < n <= _MAX_N and 0 < r <= 64 and 0 < p <= 16) or not key:
        return False
    try:
        candidate = _derive(password, salt, n, r, p, len(key))
    except ValueError:            # n not a power of two, memory limit: a corrupt entry
        return False
    return hmac.compare_digest(candidate, key)
