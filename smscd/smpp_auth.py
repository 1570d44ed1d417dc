# tests: tests/integration/test_smpp_server.py, tests/integration/test_smpp_credentials.py
"""Who may bind: user lookup, password, lockout, user and group enabled, the user's SMPP
server credential (bind authorization, allowed IP networks, maximum simultaneous binds).

Rules:
- Checks in this order, each with its status (Jasmin's, ../shared/reference/jasmin.md §3.1):
  locked out ESME_RBINDFAIL, unknown user ESME_RINVSYSID, wrong password ESME_RINVPASWD,
  user or group disabled ESME_RINVPASWD (as Jasmin answers them), `smpps_cred
  authorization bind` false ESME_RBINDFAIL, peer address outside `authorization ip`
  ESME_RBINDFAIL (an error there fails closed, unlike Jasmin), `quota max_bindings` reached
  (all types, all connections of this node) ESME_RBINDFAIL. A refusal says which in the
  log line, never the password.
- Lockout (BindLockout) is keyed by source address and by username; unknown users and
  wrong passwords count as failures, a refusal while locked does not (a client retrying
  every few seconds would otherwise never get out), a right password clears both keys
  (the refusals after it are policy, not guessing).
- scrypt costs tens of ms of CPU: `verify` runs it off the reactor thread. A locked-out
  or unknown user costs no scrypt at all.
- The bind count is checked when the answer is ready, in the same reactor turn as the
  caller's `accept_bind`, so two binds verified at once cannot both take the last slot.
"""
from __future__ import annotations

from typing import Callable, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.logger import Logger

from smscd.credentials import bind_allowed_from
from smscd.lockout import BindLockout
from smscd.passwords import verify_password
from smscd.smpp.status import CommandStatus as S
from smscd.stores.interfaces import GroupRecord, UserRecord, Users

log = Logger(namespace="smscd.smpp_auth")

Verifier = Callable[[str, str], "Deferred[bool]"]


class Clock(Protocol):
    def seconds(self) -> float: ...


class BindRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def verify_in_thread(password: str, stored: str) -> Deferred[bool]:
    """`verify_password` in the reactor's thread pool."""
    return deferToThread(verify_password, password, stored)


class Authenticator:
    def __init__(self, users: Users, clock: Clock, lockout: BindLockout,
                 count_binds: Callable[[str], int], verify: Verifier = verify_in_thread
                 ) -> None:
        self.users = users
        self.clock = clock
        self.lockout = lockout
        self.count_binds = count_binds
        self.verify = verify

    def authenticate(self, system_id: str, password: str, peer_host: str
                     ) -> Deferred[UserRecord]:
        """Fires with the user, or fails with BindRefused."""
        keys = (f"addr:{peer_host}", f"user:{system_id}")
        left = self.lockout.locked_for(keys, self.clock.seconds())
        d: Deferred[UserRecord]
        if left > 0:
            d = Deferred()
            d.errback(BindRefused(S.ESME_RBINDFAIL, f"locked out for {left:.0f} s more"))
            return d
        d = self.users.get(system_id).addCallback(self._check_password, password, keys,
                                                  peer_host)
        return d

    def _check_password(self, user: UserRecord | None, password: str,
                        keys: tuple[str, str], peer_host: str) -> Deferred[UserRecord]:
        if user is None:
            self.lockout.failed(keys, self.clock.seconds())
            raise BindRefused(S.ESME_RINVSYSID, "unknown user")
        return self.verify(password, user.password_hash).addCallback(self._verified, user,
                                                                     keys, peer_host)

    def _verified(self, ok: bool, user: UserRecord, keys: tuple[str, str],
                  peer_host: str) -> Deferred[UserRecord]:
        if not ok:
            self.lockout.failed(keys, self.clock.seconds())
            raise BindRefused(S.ESME_RINVPASWD, "wrong password")
        self.lockout.succeeded(keys)
        if not user.enabled:
            raise BindRefused(S.ESME_RINVPASWD, "user disabled")
        return self.users.get_group(user.gid).addCallback(self._allowed, user, peer_host)

    def _allowed(self, group: GroupRecord | None, user: UserRecord,
                 peer_host: str) -> UserRecord:
        if group is None or not group.enabled:
            raise BindRefused(S.ESME_RINVPASWD, f"group {user.gid!r} disabled")
        smpps = user.smpps_credential
        if not smpps.authorization.bind:
            raise BindRefused(S.ESME_RBINDFAIL, "bind not authorized (smpps_cred)")
        if not bind_allowed_from(smpps, peer_host):
            raise BindRefused(S.ESME_RBINDFAIL, f"address {peer_host} not allowed (smpps_cred)")
        limit = smpps.quota.max_bindings
        if limit is not None and self.count_binds(user.uid) >= limit:
            raise BindRefused(S.ESME_RBINDFAIL, f"already {limit} binds (max_bindings)")
        return user
