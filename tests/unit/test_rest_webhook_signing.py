"""Webhook signatures: the documented recipe verifies ours and refuses tampering, another
secret, a stale timestamp and malformed headers."""
from __future__ import annotations

import hashlib
import hmac

from hypothesis import given, strategies as st

from smscd.webhooks.signing import header_value, verify

SECRET = "whsec_test"
BODY = b'{"id":"evt_1","type":"message.delivered"}'


def test_the_readme_recipe_gives_the_same_signature() -> None:
    """Breaks if the header is not HMAC-SHA256(secret, "<t>." + body) as documented."""
    header = header_value(SECRET, 1_700_000_000, BODY)
    t, v1 = (item.split("=", 1)[1] for item in header.split(","))
    expected = hmac.new(SECRET.encode(), f"{t}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert (t, v1) == ("1700000000", expected)


def test_verify_accepts_ours_within_the_window_only() -> None:
    """Breaks if a stale, tampered or foreign-secret delivery verifies."""
    header = header_value(SECRET, 1000, BODY)
    assert verify(header, BODY, SECRET, now=1000 + 299)
    assert not verify(header, BODY, SECRET, now=1000 + 301)
    assert not verify(header, BODY, SECRET, now=1000 - 301)
    assert not verify(header, BODY + b" ", SECRET, now=1000)
    assert not verify(header, BODY, "whsec_other", now=1000)


def test_any_matching_v1_is_enough() -> None:
    """Breaks if a receiver checking several v1 values (secret rotation) is refused."""
    ours = header_value(SECRET, 5, BODY).split(",")[1]
    assert verify("t=5,v1=" + "0" * 64 + "," + ours, BODY, SECRET, now=5)


@given(st.text(max_size=80))
def test_garbage_headers_are_refused_not_raised(header: str) -> None:
    """Breaks if a malformed header raises instead of failing verification."""
    assert not verify(header, BODY, SECRET, now=0)
