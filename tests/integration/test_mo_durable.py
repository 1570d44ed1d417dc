"""Multipart MO outlives a restart: the parts of an incomplete long MO are kept in the
embedded store (`mo_parts`) before the vendor is answered, and the whole message is
published to the customer and the parts deleted in one durable change. Store-level tests
use a Clock for store time; connector tests run over loopback with the real store."""
from __future__ import annotations

import sqlite3

import pytest_twisted

from smscd.stores.interfaces import Publication
from smscd.stores.mo_parts import StoredPart
from smscd.stores.sqlite import SqliteStore
from test_sqlite_store import T0, Stores, store, stores  # noqa: F401  (fixtures)
from test_store_fast_paths import fail_writes, failure_of


@pytest_twisted.ensureDeferred
async def test_parts_are_kept_per_connector_first_copy_winning(stores: Stores,
                                                             store: SqliteStore) -> None:
    """Breaks if a kept part is lost by a restart, if a resent copy replaces the first,
    or if one connector's parts are loaded for another."""
    await store.mo_parts.add("vendor1", "g1", 2, b"two", T0 + 1)
    await store.mo_parts.add("vendor1", "g1", 1, b"one", T0 + 2)
    await store.mo_parts.add("vendor1", "g1", 1, b"resent", T0 + 3)
    await store.mo_parts.add("vendor2", "g1", 1, b"other", T0)
    store = await stores.reopen(store)
    assert await store.mo_parts.load("vendor1") == [StoredPart("g1", 2, b"two", T0 + 1),
                                                    StoredPart("g1", 1, b"one", T0 + 2)]
    assert [p.body for p in await store.mo_parts.load("vendor2")] == [b"other"]


@pytest_twisted.ensureDeferred
async def test_settling_deletes_the_group_and_publishes_in_one_change(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if the whole MO and the deletion of its parts take two commits (a crash in
    between would deliver it twice or lose it), or if another group's parts go too."""
    for seq in (1, 2):
        await store.mo_parts.add("vendor1", "g1", seq, b"p%d" % seq, T0)
    await store.mo_parts.add("vendor1", "g2", 1, b"q1", T0)
    commits = store.stats.commits
    await store.mo_parts.settle("vendor1", "g1",
                                Publication("deliver:acme", "mo:1", b"whole", "obj", T0 + 60))
    assert store.stats.commits == commits + 1
    [entry] = store.queues.take("deliver:acme", 5)
    assert (entry.payload, entry.obj, entry.expires_at) == (b"whole", "obj", T0 + 60)
    await store.mo_parts.settle("vendor1", "nothing")
    store = await stores.reopen(store)
    assert [(p.group, p.seq) for p in await store.mo_parts.load("vendor1")] == [("g2", 1)]
    assert [e.payload for e in store.queues.take("deliver:acme", 5)] == [b"whole"]


@pytest_twisted.ensureDeferred
async def test_a_failed_settle_keeps_the_parts_and_publishes_nothing(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if a failing settle deletes the parts without the publication or the reverse."""
    await store.mo_parts.add("vendor1", "g1", 1, b"p1", T0)
    fail_writes(stores, "queue_entries", "NEW.queue = 'deliver:acme'")
    await failure_of(store.mo_parts.settle("vendor1", "g1",
                                           Publication("deliver:acme", "mo:1", b"whole")))
    store = await stores.reopen(store)
    assert [p.body for p in await store.mo_parts.load("vendor1")] == [b"p1"]
    assert store.queues.depth("deliver:acme") == 0
    with sqlite3.connect(stores.path) as conn:
        assert conn.execute("SELECT count(*) FROM queue_entries").fetchone()[0] == 0
