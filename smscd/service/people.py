# tests: tests/integration/test_service.py
"""Groups and users: the service's facets over the Users store (smscd.stores.sqlite_users).

Why here and not in the store: removing a user or a group must first be checked against
the routes and filters that name it (InUse), and the service keeps a copy of users and
groups so that reads are synchronous and reference checks need no store round trip.
Rules:
- Every change runs in the service's lock, goes to the Users store (durable before its
  Deferred fires), then updates the copy; the store's errors become ServiceErrors.
- A spec's credentials are mappings (as `smscd.credentials` reads them) or credential
  objects; a password is given in clear (hashed by the store, never kept or logged).
- `smpp_ban` is durable: it sets smpps_cred authorization bind to false, then unbinds.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Mapping

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.python.failure import Failure

from smscd.credentials import (CredentialError, MtCredential, SmppsCredential,
                               mt_credential_from_mapping, smpps_credential_from_mapping)
from smscd.service.api import AlreadyExists, InvalidValue, NotFound, Spec
from smscd.service.facets import deferred as _deferred
from smscd.stores.interfaces import (GroupExists, GroupRecord, UnknownGroup,
                                     UnknownUser, UserExists, UserRecord)

if TYPE_CHECKING:
    from smscd.service.service import ProvisioningService

USER_KEYS = frozenset({"uid", "gid", "username", "password", "enabled", "mt_credential",
                       "smpps_credential"})
_UPDATE_KEYS = USER_KEYS - {"uid", "username"}


def _store_error(f: Failure) -> Failure:
    """The Users store's refusals as ServiceErrors, naming the field."""
    e = f.value
    if isinstance(e, (UserExists, GroupExists)):
        raise AlreadyExists(str(e), "uid" if isinstance(e, UserExists) else "gid")
    if isinstance(e, UnknownGroup):
        raise NotFound(str(e), "gid")
    if isinstance(e, UnknownUser):
        raise NotFound(str(e), "uid")
    if isinstance(e, ValueError):      # "User uid syntax is invalid: ...", "Invalid password ..."
        text = str(e)
        raise InvalidValue(text, next((k for k in ("username", "uid", "gid", "password")
                                       if k in text), None))
    return f


class GroupsFacet:
    def __init__(self, service: ProvisioningService) -> None:
        self._service = service

    def list(self) -> list[GroupRecord]:
        return [g for _, g in sorted(self._service.group_records.items())]

    def get(self, gid: str) -> GroupRecord:
        group = self._service.group_records.get(gid)
        if group is None:
            raise NotFound(f"Unknown Group: {gid}", "gid")
        return group

    @_deferred
    def add(self, gid: str) -> Deferred[GroupRecord]:
        def run() -> Deferred[GroupRecord]:
            if gid in self._service.group_records:
                raise AlreadyExists(f"Group {gid!r} already exists", "gid")
            d = self._service.users_store.add_group(gid).addErrback(_store_error)
            return d.addCallback(self._remember)
        return self._service.serialized(run)

    def _remember(self, group: GroupRecord) -> GroupRecord:
        self._service.group_records[group.gid] = group
        return group

    @_deferred
    def enable(self, gid: str) -> Deferred[None]:
        return self._set_enabled(gid, True)

    @_deferred
    def disable(self, gid: str) -> Deferred[None]:
        return self._set_enabled(gid, False)

    def _set_enabled(self, gid: str, enabled: bool) -> Deferred[None]:
        def run() -> Deferred[None]:
            group = self.get(gid)
            store = self._service.users_store
            d = store.enable_group(gid) if enabled else store.disable_group(gid)
            d.addErrback(_store_error)
            return d.addCallback(lambda _: self._remember(replace(group, enabled=enabled))) \
                .addCallback(lambda _: None)
        return self._service.serialized(run)

    @_deferred
    def remove(self, gid: str) -> Deferred[None]:
        def run() -> Deferred[None]:
            self.get(gid)
            s = self._service
            s.check(s.docs, s.directory(without_gid=gid), set(), f"group {gid!r}")
            d = s.users_store.remove_group(gid).addErrback(_store_error)

            def forget(_: object) -> None:
                del s.group_records[gid]
                for uid in [u.uid for u in s.user_records.values() if u.gid == gid]:
                    del s.user_records[uid]
            return d.addCallback(forget)
        return self._service.serialized(run)


class UsersFacet:
    def __init__(self, service: ProvisioningService) -> None:
        self._service = service

    def list(self, gid: str | None = None) -> list[UserRecord]:
        return [u for _, u in sorted(self._service.user_records.items())
                if gid is None or u.gid == gid]

    def get(self, uid: str) -> UserRecord:
        user = self._service.user_records.get(uid)
        if user is None:
            raise NotFound(f"Unknown User: {uid}", "uid")
        return user

    def by_username(self, username: str) -> UserRecord:
        for user in self._service.user_records.values():
            if user.username == username:
                return user
        raise NotFound(f"Unknown User username: {username}", "username")

    @_deferred
    def add(self, spec: Spec) -> Deferred[UserRecord]:
        spec = _checked(spec, USER_KEYS)
        missing = [k for k in ("uid", "gid", "username", "password") if k not in spec]
        if missing:
            raise InvalidValue(f"{missing[0]}: required (uid, gid, username and password "
                               "must be set)", missing[0])
        enabled = _bool(spec.get("enabled", True))
        mt, smpps = _credentials(spec)

        def run() -> Deferred[UserRecord]:
            d = self._service.users_store.add(
                spec["uid"], spec["username"], spec["password"], spec["gid"],
                mt_credential=mt or MtCredential(), smpps_credential=smpps or SmppsCredential(),
                enabled=enabled)
            return d.addErrback(_store_error).addCallback(self._remember)
        return self._service.serialized(run)

    def _remember(self, user: UserRecord) -> UserRecord:
        self._service.user_records[user.uid] = user
        return user

    @_deferred
    def update(self, uid: str, changes: Spec) -> Deferred[UserRecord]:
        changes = _checked(changes, USER_KEYS)
        for key in ("uid", "username"):
            if key in changes and changes[key] != getattr(self.get(uid), key):
                raise InvalidValue(f"{key}: User {'id' if key == 'uid' else key} can not be "
                                   "modified", key)
        mt, smpps = _credentials(changes)
        enabled = None if "enabled" not in changes else _bool(changes["enabled"])

        def run() -> Deferred[UserRecord]:
            self.get(uid)
            d = self._service.users_store.update(
                uid, password=changes.get("password"), gid=changes.get("gid"),
                mt_credential=mt, smpps_credential=smpps, enabled=enabled)
            return d.addErrback(_store_error).addCallback(self._remember)
        return self._service.serialized(run)

    @_deferred
    def enable(self, uid: str) -> Deferred[None]:
        return self.update(uid, {"enabled": True}).addCallback(lambda _: None)

    @_deferred
    def disable(self, uid: str) -> Deferred[None]:
        return self.update(uid, {"enabled": False}).addCallback(lambda _: None)

    @_deferred
    def remove(self, uid: str) -> Deferred[None]:
        def run() -> Deferred[None]:
            self.get(uid)
            s = self._service
            s.check(s.docs, s.directory(without_uid=uid), set(), f"user {uid!r}")
            d = s.users_store.remove(uid).addErrback(_store_error)
            return d.addCallback(lambda _: s.user_records.pop(uid, None)) \
                .addCallback(lambda _: None)
        return self._service.serialized(run)

    @_deferred
    def smpp_unbind(self, uid: str) -> Deferred[int]:
        return maybeDeferred(self._service.control.unbind_user, self.get(uid).uid)

    @_deferred
    def smpp_ban(self, uid: str) -> Deferred[int]:
        cred = self.get(uid).smpps_credential
        banned = replace(cred, authorization=replace(cred.authorization, bind=False))
        d = self.update(uid, {"smpps_credential": banned})
        return d.addCallback(lambda user: self._service.control.unbind_user(user.uid))


def _checked(spec: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise InvalidValue("expected a mapping of keys to values")
    unknown = sorted(map(str, spec.keys() - allowed))
    if unknown:
        raise InvalidValue(f"Unknown User key: {unknown[0]}", unknown[0])
    for key in ("uid", "gid", "username", "password"):
        if key in spec and not isinstance(spec[key], str):
            raise InvalidValue(f"{key}: expected text", key)
    return dict(spec)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue(f"enabled: expected true or false, got {value!r}", "enabled")
    return value


def _credentials(spec: Mapping[str, Any]) -> tuple[MtCredential | None, SmppsCredential | None]:
    mt, smpps = spec.get("mt_credential"), spec.get("smpps_credential")
    try:
        if mt is not None and not isinstance(mt, MtCredential):
            mt = mt_credential_from_mapping(mt, "mt_credential")
        if smpps is not None and not isinstance(smpps, SmppsCredential):
            smpps = smpps_credential_from_mapping(smpps, "smpps_credential")
    except CredentialError as e:
        raise InvalidValue(str(e), e.where.split(".")[0]) from None
    return mt, smpps


