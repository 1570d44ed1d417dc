# tests: tests/unit/test_http_auth.py, tests/integration/test_http_send.py
"""Who is calling: username and password on every request, as Jasmin's HTTP API wants.

Rules:
- scrypt costs tens of ms: a successful verification is remembered in memory, keyed by
  username, as a keyed BLAKE2b of the password (a MAC: 1 us a request where HMAC-SHA-256
  cost 3-5 us) under a key made at start (never the password, and useless outside this
  process), together with the stored password hash it was checked against. A remembered
  entry counts only while the user's stored hash is the same, so a password change
  invalidates it at once. Failures are never remembered.
- Unknown user, wrong password, disabled user and disabled group are all one answer
  (None): HTTP 403 `Authentication failure for username:<u>` (Jasmin's words).
- scrypt runs in the reactor's thread pool (`verify`), never on the reactor thread.
- Guessing is slowed as for SMPP binds (smscd.lockout): after a few failures a client
  address and a username are refused without any scrypt or store read for a growing
  delay, with the same 403; a success clears them. A Jasmin client that logs in right
  never notices.
- The user record (with its group's enabled flag) is reused for `user_ttl` seconds after
  a successful login, instead of two store reads per request: a change to a user or its
  group (password, disabled, credentials) reaches the HTTP API within `user_ttl`
  (default 1 s; 0 reads the store every time). Only successes are reused.
- Requests for a username whose record is being read share that read (user and group):
  when the reuse ends under load, the requests in flight cost one read, not one each.
- The password never reaches a log line.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from collections import OrderedDict
from typing import Protocol

from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure

from smscd.lockout import BindLockout
from smscd.smpp_auth import Verifier, verify_in_thread
from smscd.stores.interfaces import UserRecord, Users


class PasswordCache:
    """Bounded memory of successful verifications (least recently used forgotten first)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._key = os.urandom(32)
        self.capacity = capacity
        self._seen: OrderedDict[str, tuple[bytes, str]] = OrderedDict()

    def _digest(self, password: str) -> bytes:
        return hashlib.blake2b(password.encode("utf-8", "surrogateescape"), key=self._key,
                               digest_size=32).digest()

    def known(self, username: str, password: str, password_hash: str) -> bool:
        seen = self._seen.get(username)
        if seen is None or seen[1] != password_hash:
            return False
        if not hmac.compare_digest(seen[0], self._digest(password)):
            return False
        self._seen.move_to_end(username)
        return True

    def remember(self, username: str, password: str, password_hash: str) -> None:
        self._seen[username] = (self._digest(password), password_hash)
        self._seen.move_to_end(username)
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)


class Clock(Protocol):
    def seconds(self) -> float: ...


class HttpAuthenticator:
    def __init__(self, users: Users, clock: Clock, verify: Verifier = verify_in_thread,
                 cache: PasswordCache | None = None, user_ttl: float = 1.0,
                 lockout: BindLockout | None = None) -> None:
        self.users = users
        self.lockout = lockout if lockout is not None else BindLockout()
        self.clock = clock
        self.verify = verify
        self.cache = cache if cache is not None else PasswordCache()
        self.user_ttl = user_ttl
        self._recent: dict[str, tuple[float, UserRecord]] = {}
        self._reading: dict[str, list[Deferred[UserRecord | None]]] = {}

    def authenticate(self, username: str, password: str, peer: str
                     ) -> Deferred[UserRecord | None]:
        """The user, or None when it may not use the API (see the rules)."""
        keys = (f"http-addr:{peer}", f"http-user:{username}")
        if self.lockout.locked_for(keys, self.clock.seconds()) > 0:
            return succeed(None)
        user = self._reused(username, password)
        if user is not None:
            d: Deferred[UserRecord | None] = succeed(user)
        else:
            d = self._record(username).addCallback(self._check, password)
        return d.addCallback(self._counted, keys)

    def recent(self, username: str, password: str, peer: str) -> UserRecord | None:
        """The user at once, without a Deferred, when its record is reused (see the rules)
        with the password remembered and no lock; None: ask `authenticate`."""
        user = self._reused(username, password)
        if user is None:
            return None
        keys = (f"http-addr:{peer}", f"http-user:{username}")
        if self.lockout.locked_for(keys, self.clock.seconds()) > 0:
            return None
        self.lockout.succeeded(keys)
        return user

    def _reused(self, username: str, password: str) -> UserRecord | None:
        recent = self._recent.get(username)
        if recent is None:
            return None
        until, user = recent
        if until <= self.clock.seconds():
            del self._recent[username]
            return None
        return user if self.cache.known(username, password, user.password_hash) else None

    def _counted(self, user: UserRecord | None, keys: tuple[str, str]) -> UserRecord | None:
        if user is None:
            self.lockout.failed(keys, self.clock.seconds())
        else:
            self.lockout.succeeded(keys)
        return user

    def _record(self, username: str) -> Deferred[UserRecord | None]:
        """The user when it and its group are enabled; concurrent asks share one read."""
        d: Deferred[UserRecord | None] = Deferred()
        waiting = self._reading.get(username)
        if waiting is not None:
            waiting.append(d)
            return d
        self._reading[username] = [d]
        self.users.get(username).addCallback(self._group_enabled).addBoth(
            self._read, username)
        return d

    def _group_enabled(self, user: UserRecord | None) -> Deferred[UserRecord | None] | None:
        if user is None or not user.enabled:
            return None
        return self.users.get_group(user.gid).addCallback(
            lambda group: user if group is not None and group.enabled else None)

    def _read(self, result: UserRecord | None | Failure, username: str) -> None:
        for d in self._reading.pop(username):
            if isinstance(result, Failure):
                d.errback(result)
            else:
                d.callback(result)

    def _check(self, user: UserRecord | None, password: str
               ) -> Deferred[UserRecord | None] | UserRecord | None:
        if user is None:
            return None
        if self.cache.known(user.username, password, user.password_hash):
            return self._reuse(user)
        return self.verify(password, user.password_hash).addCallback(
            self._verified, user, password)

    def _verified(self, ok: bool, user: UserRecord, password: str) -> UserRecord | None:
        if not ok:
            return None
        self.cache.remember(user.username, password, user.password_hash)
        return self._reuse(user)

    def _reuse(self, user: UserRecord) -> UserRecord:
        """Remember a successful login's record for user_ttl."""
        if self.user_ttl > 0:
            if len(self._recent) >= self.cache.capacity:
                self._recent.clear()
            self._recent[user.username] = (self.clock.seconds() + self.user_ttl, user)
        return user
