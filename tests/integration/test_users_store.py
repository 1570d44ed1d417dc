"""Groups, users and their credentials in the real embedded store: CRUD, errors, durability
across reopen, the cascade of a group's removal, and the migration of version-1 users."""
from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import AsyncIterator

import pytest
import pytest_twisted
from twisted.internet import reactor

from smscd.credentials import MtCredential, SmppsCredential, set_mt, set_smpps
from smscd.passwords import hash_password, verify_password
from smscd.stores.interfaces import (DEFAULT_GROUP, GroupExists, GroupRecord, UnknownGroup,
                                     UnknownUser, UserExists)
from smscd.stores.schema import MIGRATIONS
from smscd.stores.sqlite import SqliteStore


class Opener:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.current: SqliteStore | None = None

    def open(self) -> SqliteStore:
        self.current = SqliteStore.open(self.path, reactor)
        return self.current

    async def reopen(self) -> SqliteStore:
        assert self.current is not None
        await self.current.close()
        return self.open()


@pytest_twisted.async_yield_fixture
async def opener(tmp_path: Path) -> AsyncIterator[Opener]:
    o = Opener(tmp_path / "smscd.db")
    yield o
    if o.current is not None:
        await o.current.close()


def mt_cred() -> MtCredential:
    cred = set_mt(MtCredential(), "valuefilter", "src_addr", "^JASMIN$")
    cred = set_mt(cred, "authorization", "http_send", "no")
    return set_mt(cred, "quota", "smpps_throughput", "2")


def smpps_cred() -> SmppsCredential:
    return set_smpps(set_smpps(SmppsCredential(), "quota", "max_bindings", "2"),
                     "authorization", "ip", "10.0.0.0/8")


@pytest_twisted.ensureDeferred
async def test_groups_add_list_enable_disable_remove(opener: Opener) -> None:
    """Breaks if a group cannot be added, listed, disabled and enabled again, if a taken
    or malformed gid is accepted, or an unknown gid is reported as changed."""
    users = opener.open().users
    assert await users.add_group("marketing") == GroupRecord("marketing", True)
    with pytest.raises(GroupExists):
        await users.add_group("marketing")
    with pytest.raises(ValueError, match="gid syntax"):
        await users.add_group("bad gid!")
    assert await users.disable_group("marketing") is True
    assert await users.get_group("marketing") == GroupRecord("marketing", False)
    assert await users.list_groups() == [GroupRecord(DEFAULT_GROUP, True),
                                         GroupRecord("marketing", False)]
    assert await users.enable_group("marketing") is True
    assert (await users.get_group("marketing")).enabled            # type: ignore[union-attr]
    assert await users.disable_group("nope") is False
    assert await users.remove_group("nope") is False
    assert await users.remove_group("marketing") is True
    assert await users.get_group("marketing") is None


@pytest_twisted.ensureDeferred
async def test_users_crud_and_errors(opener: Opener) -> None:
    """Breaks if a user's fields and credentials are not kept, if uid or username can be
    taken twice, if a user can join a group that does not exist, or a bad name or password
    is stored."""
    users = opener.open().users
    await users.add_group("marketing")
    foo = await users.add("foo_id", "foo", "bar", "marketing", mt_credential=mt_cred(),
                          smpps_credential=smpps_cred())
    assert (foo.uid, foo.username, foo.gid, foo.enabled) == ("foo_id", "foo", "marketing", True)
    assert await users.get("foo") == foo
    assert await users.get_by_uid("foo_id") == foo
    assert await users.get("foo_id") is None and await users.get_by_uid("foo") is None
    with pytest.raises(UserExists):
        await users.add("foo_id", "other", "pw")
    with pytest.raises(UserExists):
        await users.add("other", "foo", "pw")
    with pytest.raises(UnknownGroup, match="Unknown Group gid:sales"):
        await users.add("bar", "bar", "pw", "sales")
    for uid, username, password in (("x" * 17, "x", "pw"), ("x", "y" * 16, "pw"),
                                    ("x", "x y", "pw"), ("x", "x", ""), ("x", "x", "p" * 17)):
        with pytest.raises(ValueError):
            await users.add(uid, username, password)
    bar = await users.add("bar", "bar", "pw")
    assert bar.gid == DEFAULT_GROUP and bar.mt_credential == MtCredential()
    assert [u.uid for u in await users.list_users()] == ["bar", "foo_id"]
    assert [u.uid for u in await users.list_users("marketing")] == ["foo_id"]


@pytest_twisted.ensureDeferred
async def test_update_is_partial(opener: Opener) -> None:
    """Breaks if an update changes what it was not given, does not change what it was given
    (password, group, credentials, enabled), or accepts an unknown user or group."""
    users = opener.open().users
    await users.add_group("marketing")
    before = await users.add("foo", "foo", "old", mt_credential=mt_cred())
    after = await users.update("foo", password="new")
    assert verify_password("new", after.password_hash)
    assert replace(after, password_hash=before.password_hash) == before
    moved = await users.update("foo", gid="marketing", smpps_credential=smpps_cred(),
                               enabled=False)
    assert (moved.gid, moved.enabled, moved.smpps_credential) == ("marketing", False,
                                                                 smpps_cred())
    assert moved.mt_credential == mt_cred() and await users.get("foo") == moved
    cleared = await users.update("foo", mt_credential=MtCredential())
    assert cleared.mt_credential == MtCredential()
    with pytest.raises(UnknownUser):
        await users.update("nobody", enabled=True)
    with pytest.raises(UnknownGroup):
        await users.update("foo", gid="sales")
    assert (await users.get("foo")).gid == "marketing"          # type: ignore[union-attr]


@pytest_twisted.ensureDeferred
async def test_enable_disable_remove_users(opener: Opener) -> None:
    """Breaks if disabling, enabling or removing a user does not take, or an unknown uid is
    reported as changed."""
    users = opener.open().users
    await users.add("foo", "foo", "pw")
    assert await users.disable("foo") is True
    assert not (await users.get("foo")).enabled                 # type: ignore[union-attr]
    assert await users.enable("foo") is True
    assert (await users.get("foo")).enabled                     # type: ignore[union-attr]
    assert await users.disable("nobody") is False
    assert await users.remove("foo") is True
    assert await users.get("foo") is None and await users.remove("foo") is False


@pytest_twisted.ensureDeferred
async def test_everything_survives_a_reopen(opener: Opener) -> None:
    """Breaks if a group, a user, its credentials (with their compiled filters) or a
    password change is not durable once its Deferred fired."""
    users = opener.open().users
    await users.add_group("marketing")
    await users.disable_group("marketing")
    await users.add("foo", "foo", "old", "marketing", mt_credential=mt_cred(),
                    smpps_credential=smpps_cred())
    await users.update("foo", password="new")
    users = (await opener.reopen()).users
    assert await users.get_group("marketing") == GroupRecord("marketing", False)
    foo = await users.get("foo")
    assert foo is not None and foo.mt_credential == mt_cred()
    assert foo.mt_credential.valuefilter.src_addr.regex is not None
    assert foo.smpps_credential == smpps_cred()
    assert verify_password("new", foo.password_hash)


@pytest_twisted.ensureDeferred
async def test_removing_a_group_removes_its_users_only(opener: Opener) -> None:
    """Breaks if a group's users outlive it (Jasmin removes them), or users of other groups
    go with it."""
    users = opener.open().users
    await users.add_group("marketing")
    await users.add("foo", "foo", "pw", "marketing")
    await users.add("baz", "baz", "pw", "marketing")
    await users.add("bar", "bar", "pw")
    assert await users.remove_group("marketing") is True
    users = (await opener.reopen()).users
    assert [u.uid for u in await users.list_users()] == ["bar"]


@pytest_twisted.ensureDeferred
async def test_create_keeps_the_old_shape_working(opener: Opener) -> None:
    """Breaks if `create` (demo user, provisioning profiles) does not give uid = username in
    the default group with its max_bindings and throughput as SMPP credentials, even after
    the default group was removed."""
    users = opener.open().users
    await users.remove_group(DEFAULT_GROUP)
    alice = await users.create("alice", "pw", max_bindings=3, throughput=50.0)
    assert (alice.uid, alice.gid) == ("alice", DEFAULT_GROUP)
    assert alice.smpps_credential.quota.max_bindings == 3
    assert alice.mt_credential.quota.smpps_throughput == 50.0
    assert await users.get_group(DEFAULT_GROUP) == GroupRecord(DEFAULT_GROUP, True)
    unlimited = await users.create("bob", "pw")
    assert unlimited.smpps_credential == SmppsCredential()
    assert unlimited.mt_credential == MtCredential()


@pytest_twisted.ensureDeferred
async def test_version_1_users_are_migrated(opener: Opener) -> None:
    """Breaks if users stored before groups and credentials existed are lost, lose their
    password, or do not get uid = username, group "default" and their max_bindings and
    throughput as credentials."""
    conn = sqlite3.connect(str(opener.path), isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("INSERT INTO schema_version (version) VALUES (1)")
    conn.executemany("INSERT INTO users (username, password_hash, max_bindings, throughput, "
                     "created_at) VALUES (?, ?, ?, ?, ?)",
                     [("alice", hash_password("pa55"), 3, 50.0, 1.0),
                      ("bob", hash_password("w0rd"), 10, None, 2.0)])
    conn.close()
    users = opener.open().users
    assert await users.list_groups() == [GroupRecord(DEFAULT_GROUP, True)]
    alice, bob = await users.list_users()
    assert (alice.uid, alice.username, alice.gid, alice.enabled, alice.created_at) == (
        "alice", "alice", DEFAULT_GROUP, True, 1.0)
    assert alice.smpps_credential.quota.max_bindings == 3
    assert alice.mt_credential.quota.smpps_throughput == 50.0
    assert (bob.smpps_credential.quota.max_bindings, bob.mt_credential) == (10, MtCredential())
    assert verify_password("pa55", alice.password_hash)
    assert verify_password("w0rd", bob.password_hash)
    await users.add("carol", "carol", "pw")            # the new shape takes new users


@pytest_twisted.ensureDeferred
async def test_passwords_never_reach_the_file(opener: Opener) -> None:
    """Breaks if a password, added or changed, is written anywhere in clear."""
    users = opener.open().users
    await users.add("foo", "foo", "firstpw1")
    await users.update("foo", password="secondpw")
    assert opener.current is not None
    await opener.current.close()
    opener.current = None
    data = b"".join(f.read_bytes() for f in opener.path.parent.iterdir() if f.is_file())
    assert b"firstpw1" not in data and b"secondpw" not in data
