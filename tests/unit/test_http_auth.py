"""The HTTP login cache: what it remembers and when it forgets."""
from __future__ import annotations

from dataclasses import replace

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from smscd.http_api.auth import HttpAuthenticator, PasswordCache
from smscd.stores.interfaces import GroupRecord, UserRecord


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


class _Users:
    """Counts store reads; one user in one group."""

    def __init__(self) -> None:
        self.user = UserRecord(uid="u", username="u", password_hash="h")
        self.group = GroupRecord("default")
        self.reads = 0

    def get(self, username: str) -> Deferred[UserRecord | None]:
        self.reads += 1
        return succeed(self.user if username == "u" else None)

    def get_group(self, gid: str) -> Deferred[GroupRecord]:
        return succeed(self.group)


def test_a_recent_login_is_reused_for_user_ttl_only() -> None:
    """Within user_ttl the store is not read again; after it, a disabled user is seen."""
    users, clock, verified = _Users(), Clock(), []

    def verify(password: str, stored: str) -> Deferred[bool]:
        verified.append(password)
        return succeed(password == "pw")

    auth = HttpAuthenticator(users, clock, verify, user_ttl=1.0)  # type: ignore[arg-type]
    results: list[UserRecord | None] = []
    for password in ("pw", "pw", "bad"):
        auth.authenticate("u", password, "10.0.0.1").addCallback(results.append)
    assert [r is not None for r in results] == [True, True, False]
    assert users.reads == 2 and verified == ["pw", "bad"]
    users.user = replace(users.user, enabled=False)
    clock.advance(1.0)
    auth.authenticate("u", "pw", "10.0.0.1").addCallback(results.append)
    assert results[-1] is None


def test_repeated_failures_lock_out_without_scrypt() -> None:
    """After the free failures, even the right password is refused for a while, and no
    verification runs; once the delay passed, the right password gets in again."""
    users, clock, verified = _Users(), Clock(), []

    def verify(password: str, stored: str) -> Deferred[bool]:
        verified.append(password)
        return succeed(password == "pw")

    auth = HttpAuthenticator(users, clock, verify, user_ttl=0)  # type: ignore[arg-type]
    results: list[UserRecord | None] = []
    for _ in range(4):                   # three free failures, the fourth locks
        auth.authenticate("u", "bad", "10.0.0.1").addCallback(results.append)
    auth.authenticate("u", "pw", "10.0.0.2").addCallback(results.append)
    assert results == [None] * 5 and verified == ["bad"] * 4     # locked by username
    clock.advance(1.0)
    auth.authenticate("u", "pw", "10.0.0.2").addCallback(results.append)
    assert results[-1] is not None
