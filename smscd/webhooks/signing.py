# tests: tests/unit/test_rest_webhook_signing.py
"""Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>` with the endpoint's secret.

Header: `Smscd-Signature: t=<unix seconds>,v1=<hex digest>`. A receiver verifies with
`verify` (or the recipe in smscd/webhooks/README.md, which is this function in prose):
1. split the header on ",", take `t` and every `v1`;
2. compute HMAC-SHA256(secret, f"{t}.".encode() + raw_body) in hex;
3. compare in constant time with each `v1`; one must match;
4. refuse when |now - t| > the replay window (default 300 s).
The timestamp is the time of the attempt, so a retried delivery carries a fresh one.
Pure: no Twisted.
"""
from __future__ import annotations

import hashlib
import hmac

HEADER = "Smscd-Signature"
TOLERANCE = 300.0


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body,
                    hashlib.sha256).hexdigest()


def header_value(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(header: str, body: bytes, secret: str, now: float,
           tolerance: float = TOLERANCE) -> bool:
    """True if `header` signs `body` with `secret` within `tolerance` seconds of `now`."""
    timestamp: int | None = None
    given: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            given.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, g) for g in given)
