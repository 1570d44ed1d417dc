# tests: tests/integration/test_users_store.py
"""`Users` on the embedded store: groups, users and their credentials.

Rules:
- Every change and every read is one op in the group-commit writer, so a change is durable
  before its Deferred fires and a read sees every change submitted before it.
- Credentials are stored as their versioned JSON mappings (smscd.credentials); nothing is
  pickled. Passwords are scrypt-hashed in the reactor's thread pool (tens of ms of CPU:
  neither the reactor thread nor the writer thread), before the op is submitted.
- uid and username are each unique; a group's removal removes its users in the same op.
- Names follow Jasmin's syntax (§6.1), plus '.' which our provisioning profiles allowed:
  uid and gid 1..16, username 1..15 (the SMPP system_id) of letters, digits, '_', '-', '.';
  a password has 1..16 characters (SMPP itself carries at most 8).
"""
from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import replace
from functools import partial
from typing import Any, Callable, Protocol

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from smscd.credentials import (MtCredential, SmppsCredential, SmppsQuotas,
                               mt_credential_from_mapping, mt_credential_to_mapping,
                               smpps_credential_from_mapping, smpps_credential_to_mapping)
from smscd.passwords import hash_password
from smscd.stores.group_commit import GroupCommitWriter
from smscd.stores.interfaces import (DEFAULT_GROUP, GroupExists, GroupRecord, UnknownGroup,
                                     UnknownUser, UserExists, UserRecord)
from smscd.stores.ops import Read
from smscd.stores.sqlite_queues import ReactorTime

ID_SYNTAX = re.compile(r"^[A-Za-z0-9_.-]{1,16}$")
USERNAME_SYNTAX = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
_COLUMNS = ("uid, username, password_hash, gid, enabled, mt_credential, smpps_credential, "
            "created_at")


class ThreadReactor(Protocol):
    def getThreadPool(self) -> ThreadPool: ...


def check_id(what: str, value: str) -> None:
    if not isinstance(value, str) or not ID_SYNTAX.match(value):
        raise ValueError(f"{what} syntax is invalid: {value!r} (1 to 16 letters, digits, "
                         "'_', '-' or '.')")


def check_username(value: str) -> None:
    if not isinstance(value, str) or not USERNAME_SYNTAX.match(value):
        raise ValueError(f"User username syntax is invalid: {value!r} (1 to 15 letters, "
                         "digits, '_', '-' or '.')")


def check_password(value: str) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= 16:
        raise ValueError("Invalid password length: 1 to 16 characters")


class SqliteUsers:
    def __init__(self, writer: GroupCommitWriter, clock: ReactorTime,
                 reactor: ThreadReactor, hasher: Callable[[str], str] = hash_password) -> None:
        self._writer = writer
        self._clock = clock
        self._reactor = reactor
        self._hasher = hasher

    # -- groups -------------------------------------------------------------------------------
    def list_groups(self) -> Deferred[list[GroupRecord]]:
        return self._writer.submit(Read(_list_groups))

    def get_group(self, gid: str) -> Deferred[GroupRecord | None]:
        return self._writer.submit(Read(partial(_get_group, gid)))

    def add_group(self, gid: str, enabled: bool = True) -> Deferred[GroupRecord]:
        try:
            check_id("Group gid", gid)
        except ValueError:
            return fail()
        return self._writer.submit(partial(_insert_group, GroupRecord(gid, enabled),
                                           self._clock.seconds()))

    def enable_group(self, gid: str) -> Deferred[bool]:
        return self._writer.submit(partial(_set_group_enabled, gid, True))

    def disable_group(self, gid: str) -> Deferred[bool]:
        return self._writer.submit(partial(_set_group_enabled, gid, False))

    def remove_group(self, gid: str) -> Deferred[bool]:
        return self._writer.submit(partial(_delete_group, gid))

    # -- users --------------------------------------------------------------------------------
    def list_users(self, gid: str | None = None) -> Deferred[list[UserRecord]]:
        return self._writer.submit(Read(partial(_list_users, gid)))

    def get(self, username: str) -> Deferred[UserRecord | None]:
        return self._writer.submit(Read(partial(_get_user, "username", username)))

    def get_by_uid(self, uid: str) -> Deferred[UserRecord | None]:
        return self._writer.submit(Read(partial(_get_user, "uid", uid)))

    def add(self, uid: str, username: str, password: str, gid: str = DEFAULT_GROUP, *,
            mt_credential: MtCredential = MtCredential(),
            smpps_credential: SmppsCredential = SmppsCredential(),
            enabled: bool = True) -> Deferred[UserRecord]:
        return self._add(uid, username, password, gid, mt_credential, smpps_credential,
                         enabled, make_group=False)

    def create(self, username: str, password: str, max_bindings: int | None = None,
               throughput: float | None = None) -> Deferred[UserRecord]:
        mt = MtCredential()
        if throughput:
            mt = replace(mt, quota=replace(mt.quota, smpps_throughput=float(throughput)))
        return self._add(username, username, password, DEFAULT_GROUP, mt,
                         SmppsCredential(quota=SmppsQuotas(max_bindings)), True,
                         make_group=True)

    def _add(self, uid: str, username: str, password: str, gid: str, mt: MtCredential,
             smpps: SmppsCredential, enabled: bool, make_group: bool) -> Deferred[UserRecord]:
        try:
            check_id("User uid", uid)
            check_username(username)
            check_id("Group gid", gid)
            check_password(password)
        except ValueError:
            return fail()

        def store(password_hash: str) -> Deferred[UserRecord]:
            record = UserRecord(uid, username, password_hash, gid, enabled, mt, smpps,
                                self._clock.seconds())
            return self._writer.submit(partial(_insert_user, record, make_group))
        return self._hash(password).addCallback(store)

    def update(self, uid: str, *, password: str | None = None, gid: str | None = None,
               mt_credential: MtCredential | None = None,
               smpps_credential: SmppsCredential | None = None,
               enabled: bool | None = None) -> Deferred[UserRecord]:
        try:
            if gid is not None:
                check_id("Group gid", gid)
            if password is not None:
                check_password(password)
        except ValueError:
            return fail()
        changes: dict[str, Any] = {}
        if gid is not None:
            changes["gid"] = gid
        if mt_credential is not None:
            changes["mt_credential"] = mt_credential
        if smpps_credential is not None:
            changes["smpps_credential"] = smpps_credential
        if enabled is not None:
            changes["enabled"] = enabled

        def store(password_hash: str | None) -> Deferred[UserRecord]:
            if password_hash is not None:
                changes["password_hash"] = password_hash
            return self._writer.submit(partial(_update_user, uid, changes))
        d = self._hash(password) if password is not None else succeed(None)
        return d.addCallback(store)

    def enable(self, uid: str) -> Deferred[bool]:
        return self._writer.submit(partial(_set_user_enabled, uid, True))

    def disable(self, uid: str) -> Deferred[bool]:
        return self._writer.submit(partial(_set_user_enabled, uid, False))

    def remove(self, uid: str) -> Deferred[bool]:
        return self._writer.submit(partial(_delete_user, uid))

    def _hash(self, password: str) -> Deferred[str]:
        return deferToThreadPool(self._reactor, self._reactor.getThreadPool(),  # type: ignore[arg-type]
                                 self._hasher, password)


# --- SQL, run in the writer thread ----------------------------------------------------------

def _list_groups(conn: sqlite3.Connection) -> list[GroupRecord]:
    return [GroupRecord(gid, bool(enabled)) for gid, enabled in
            conn.execute("SELECT gid, enabled FROM groups ORDER BY gid")]


def _get_group(gid: str, conn: sqlite3.Connection) -> GroupRecord | None:
    row = conn.execute("SELECT gid, enabled FROM groups WHERE gid = ?", (gid,)).fetchone()
    return None if row is None else GroupRecord(row[0], bool(row[1]))


def _insert_group(group: GroupRecord, now: float, conn: sqlite3.Connection) -> GroupRecord:
    try:
        conn.execute("INSERT INTO groups (gid, enabled, created_at) VALUES (?, ?, ?)",
                     (group.gid, int(group.enabled), now))
    except sqlite3.IntegrityError:
        raise GroupExists(f"group {group.gid!r} already exists") from None
    return group


def _set_group_enabled(gid: str, enabled: bool, conn: sqlite3.Connection) -> bool:
    return conn.execute("UPDATE groups SET enabled = ? WHERE gid = ?",
                        (int(enabled), gid)).rowcount > 0


def _delete_group(gid: str, conn: sqlite3.Connection) -> bool:
    conn.execute("DELETE FROM users WHERE gid = ?", (gid,))
    return conn.execute("DELETE FROM groups WHERE gid = ?", (gid,)).rowcount > 0


def _user_from_row(row: tuple[Any, ...]) -> UserRecord:
    uid, username, password_hash, gid, enabled, mt, smpps, created_at = row
    return UserRecord(uid, username, password_hash, gid, bool(enabled),
                      mt_credential_from_mapping(json.loads(mt)),
                      smpps_credential_from_mapping(json.loads(smpps)), created_at)


def _list_users(gid: str | None, conn: sqlite3.Connection) -> list[UserRecord]:
    if gid is None:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM users ORDER BY uid")
    else:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE gid = ? ORDER BY uid", (gid,))
    return [_user_from_row(row) for row in rows]


def _get_user(column: str, value: str, conn: sqlite3.Connection) -> UserRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE {column} = ?", (value,)).fetchone()
    return None if row is None else _user_from_row(row)


def _insert_user(user: UserRecord, make_group: bool, conn: sqlite3.Connection) -> UserRecord:
    if make_group:
        conn.execute("INSERT OR IGNORE INTO groups (gid, enabled, created_at) VALUES (?, 1, ?)",
                     (user.gid, user.created_at))
    elif _get_group(user.gid, conn) is None:
        raise UnknownGroup(f"Unknown Group gid:{user.gid}, you must first create the Group")
    try:
        conn.execute(f"INSERT INTO users ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (user.uid, user.username, user.password_hash, user.gid,
                      int(user.enabled), _mt_json(user.mt_credential),
                      _smpps_json(user.smpps_credential), user.created_at))
    except sqlite3.IntegrityError:
        raise UserExists(f"user uid {user.uid!r} or username {user.username!r} "
                         "already exists") from None
    return user


def _update_user(uid: str, changes: dict[str, Any], conn: sqlite3.Connection) -> UserRecord:
    user = _get_user("uid", uid, conn)
    if user is None:
        raise UnknownUser(f"Unknown User: {uid}")
    new = replace(user, **changes)
    if new.gid != user.gid and _get_group(new.gid, conn) is None:
        raise UnknownGroup(f"Unknown Group gid:{new.gid}, you must first create the Group")
    conn.execute("UPDATE users SET password_hash = ?, gid = ?, enabled = ?, mt_credential = ?, "
                 "smpps_credential = ? WHERE uid = ?",
                 (new.password_hash, new.gid, int(new.enabled), _mt_json(new.mt_credential),
                  _smpps_json(new.smpps_credential), uid))
    return new


def _set_user_enabled(uid: str, enabled: bool, conn: sqlite3.Connection) -> bool:
    return conn.execute("UPDATE users SET enabled = ? WHERE uid = ?",
                        (int(enabled), uid)).rowcount > 0


def _delete_user(uid: str, conn: sqlite3.Connection) -> bool:
    return conn.execute("DELETE FROM users WHERE uid = ?", (uid,)).rowcount > 0


def _mt_json(cred: MtCredential) -> str:
    return json.dumps(mt_credential_to_mapping(cred), separators=(",", ":"))


def _smpps_json(cred: SmppsCredential) -> str:
    return json.dumps(smpps_credential_to_mapping(cred), separators=(",", ":"))


def replace_all_op(groups: list[GroupRecord], users: list[UserRecord],
                   now: float) -> Callable[[sqlite3.Connection], None]:
    """Every group and user replaced by these, in the caller's transaction: a profile
    import (smscd.service.profile_io) writes it in one op with the provisioning documents."""
    def op(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM users")
        conn.execute("DELETE FROM groups")
        for group in groups:
            _insert_group(group, now, conn)
        for user in users:
            _insert_user(user, False, conn)
    return op
