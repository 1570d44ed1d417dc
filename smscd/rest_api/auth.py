# tests: tests/integration/test_rest_api.py
"""Who calls the REST API: `Authorization: Bearer <API key>` or HTTP Basic.

Rules:
- Bearer: an API key (smscd.stores.sqlite_api_keys) names its user by uid; the user and
  its group must be enabled. Basic: username and password through the Jasmin API's
  `HttpAuthenticator` (its verification cache, user cache and lockout are shared).
- Every failure is the same 401 `unauthorized` with `WWW-Authenticate`; failed keys
  count against the client address in the shared lockout (no store read while locked).
- A user found by key is reused for `user_ttl` seconds, as the Basic path does; requests
  that miss it together share one store read (at the TTL's end, every concurrent
  request of a busy key used to read the user again).
"""
from __future__ import annotations

import base64
import binascii
from typing import Protocol

from twisted.internet.defer import Deferred

from smscd.http_api.auth import Clock, HttpAuthenticator
from smscd.stores.interfaces import GroupRecord, UserRecord, Users

from .errors import ApiError

UNAUTHORIZED = "Missing or invalid credentials (Bearer API key or Basic)."


class KeyVerifier(Protocol):
    def verify(self, key: str) -> Deferred[str | None]: ...


class RestAuthenticator:
    def __init__(self, basic: HttpAuthenticator, keys: KeyVerifier, users: Users,
                 clock: Clock, user_ttl: float = 1.0) -> None:
        self.basic = basic
        self.keys = keys
        self.users = users
        self.clock = clock
        self.user_ttl = user_ttl
        self._recent: dict[str, tuple[float, UserRecord]] = {}
        self._loading: dict[str, list[Deferred[UserRecord | None]]] = {}

    async def authenticate(self, authorization: str | None, peer: str) -> UserRecord:
        scheme, _, credentials = (authorization or "").partition(" ")
        credentials = credentials.strip()
        user: UserRecord | None = None
        if scheme.lower() == "bearer" and credentials:
            user = await self._by_key(credentials, peer)
        elif scheme.lower() == "basic" and credentials:
            pair = _basic(credentials)
            if pair is not None:
                user = await self.basic.authenticate(pair[0], pair[1], peer)
        if user is None:
            raise ApiError(401, "unauthorized", UNAUTHORIZED)
        return user

    async def _by_key(self, key: str, peer: str) -> UserRecord | None:
        lockout, keys = self.basic.lockout, (f"http-addr:{peer}",)
        if lockout.locked_for(keys, self.clock.seconds()) > 0:
            return None
        uid = await self.keys.verify(key)
        user = None if uid is None else await self._user(uid)
        if user is None:
            lockout.failed(keys, self.clock.seconds())
        return user

    async def _user(self, uid: str) -> UserRecord | None:
        now = self.clock.seconds()
        recent = self._recent.get(uid)
        if recent is not None and recent[0] > now:
            return recent[1]
        waiting = self._loading.get(uid)
        if waiting is not None:                # another request reads it: share that read
            shared: Deferred[UserRecord | None] = Deferred()
            waiting.append(shared)
            return await shared
        self._loading[uid] = waiting = []
        try:
            user = await self._load(uid, now)
        except BaseException as e:
            del self._loading[uid]
            for w in waiting:
                w.errback(e)
            raise
        del self._loading[uid]
        for w in waiting:
            w.callback(user)
        return user

    async def _load(self, uid: str, now: float) -> UserRecord | None:
        user = await self.users.get_by_uid(uid)
        if user is None or not user.enabled:
            return None
        group: GroupRecord | None = await self.users.get_group(user.gid)
        if group is None or not group.enabled:
            return None
        if self.user_ttl > 0:
            if len(self._recent) > 10_000:
                self._recent.clear()
            self._recent[uid] = (now + self.user_ttl, user)
        return user


def _basic(credentials: str) -> tuple[str, str] | None:
    try:
        text = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = text.partition(":")
    return (username, password) if colon else None
