"""The HTTP login under load: concurrent logins share one store read, and a reused login is
answered at once (HttpAuthenticator.recent) without weakening the lockout or the cache."""
from __future__ import annotations

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from smscd.http_api.auth import HttpAuthenticator
from smscd.stores.interfaces import GroupRecord, UserRecord


class _SlowUsers:
    """A store whose reads answer when the test says so."""

    def __init__(self) -> None:
        self.user = UserRecord(uid="u", username="u", password_hash="h")
        self.pending: list[Deferred[UserRecord | None]] = []
        self.group_reads = 0

    def get(self, username: str) -> Deferred[UserRecord | None]:
        d: Deferred[UserRecord | None] = Deferred()
        self.pending.append(d)
        return d

    def get_group(self, gid: str) -> Deferred[GroupRecord]:
        self.group_reads += 1
        return succeed(GroupRecord(gid))

    def answer(self) -> None:
        for d in self.pending:
            d.callback(self.user)
        self.pending = []


def _auth(users: _SlowUsers, clock: Clock) -> HttpAuthenticator:
    return HttpAuthenticator(users, clock, lambda pw, h: succeed(pw == "pw"),  # type: ignore
                             user_ttl=1.0)


def test_concurrent_logins_share_one_read() -> None:
    """50 requests in flight when the reuse ends cost one user read and one group read."""
    users, clock = _SlowUsers(), Clock()
    auth = _auth(users, clock)
    results: list[UserRecord | None] = []
    for i in range(50):
        auth.authenticate("u", "pw" if i else "bad", "10.0.0.1").addCallback(results.append)
    assert len(users.pending) == 1 and results == []
    users.answer()
    assert users.group_reads == 1
    assert [r is not None for r in results] == [False] + [True] * 49


def test_a_failed_read_fails_every_waiter() -> None:
    users, clock = _SlowUsers(), Clock()
    auth = _auth(users, clock)
    failures: list[object] = []
    for _ in range(3):
        auth.authenticate("u", "pw", "10.0.0.1").addErrback(failures.append)
    users.pending[0].errback(RuntimeError("store closed"))
    assert len(failures) == 3
    auth.authenticate("u", "pw", "10.0.0.1")
    assert len(users.pending) == 2                 # the next login reads again


def test_recent_answers_only_a_reused_login_with_its_password() -> None:
    users, clock = _SlowUsers(), Clock()
    auth = _auth(users, clock)
    assert auth.recent("u", "pw", "10.0.0.1") is None        # nothing reused yet
    auth.authenticate("u", "pw", "10.0.0.1")
    users.answer()
    assert auth.recent("u", "pw", "10.0.0.1") is users.user
    assert auth.recent("u", "other", "10.0.0.1") is None
    clock.advance(1.0)
    assert auth.recent("u", "pw", "10.0.0.1") is None        # user_ttl is over


def test_recent_honours_the_lockout() -> None:
    """A locked address gets nothing at once (authenticate then refuses it)."""
    users, clock = _SlowUsers(), Clock()
    auth = _auth(users, clock)
    auth.authenticate("u", "pw", "10.0.0.1")
    users.answer()
    auth.lockout.failed(("http-addr:10.0.0.9",), clock.seconds())
    for _ in range(3):
        auth.lockout.failed(("http-addr:10.0.0.9",), clock.seconds())
    assert auth.recent("u", "pw", "10.0.0.9") is None
    refused: list[UserRecord | None] = []
    auth.authenticate("u", "pw", "10.0.0.9").addCallback(refused.append)
    assert refused == [None]
    assert auth.recent("u", "pw", "10.0.0.1") is users.user
