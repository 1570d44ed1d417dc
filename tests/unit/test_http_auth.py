"""The HTTP login cache: what it remembers and when it forgets."""
from __future__ import annotations

from smscd.http_api.auth import PasswordCache


def test_remembers_only_the_same_password_and_hash() -> None:
    cache = PasswordCache()
    cache.remember("u", "secret", "hash1")
    assert cache.known("u", "secret", "hash1")
    assert not cache.known("u", "other", "hash1")
    assert not cache.known("u", "secret", "hash2")      # password changed: forgotten
    assert not cache.known("v", "secret", "hash1")


def test_never_holds_the_password() -> None:
    cache = PasswordCache()
    cache.remember("u", "secret", "hash1")
    assert "secret" not in repr(cache._seen) and b"secret" not in repr(cache._seen).encode()


def test_is_bounded() -> None:
    cache = PasswordCache(capacity=2)
    for user in ("a", "b", "c"):
        cache.remember(user, "p", "h")
    assert not cache.known("a", "p", "h") and cache.known("c", "p", "h")
