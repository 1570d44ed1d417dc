"""replace_sm on the embedded store: `MessageLog.replace` makes the queued message's new
schedule_at its ready time and its new expires_at its expiry, in the same durable change
as its new body, and puts everything back if that change fails."""
from __future__ import annotations

import dataclasses

import pytest_twisted
from twisted.internet.defer import Deferred

from smscd.message import Part, load_message
from smscd.stores.interfaces import QueueEntry
from smscd.stores.sqlite import SqliteStore
from test_sqlite_store import T0, Stores, message, store, stores  # noqa: F401  (fixtures)
from test_store_fast_paths import fail_writes, failure_of


@pytest_twisted.ensureDeferred
async def test_a_new_schedule_holds_the_message_back_across_a_restart(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if a message replaced with a later schedule_delivery_time is sent at once,
    before its new time, or at its old time after the daemon restarts."""
    m = message()
    await store.messages.accept(m, "q")
    later = dataclasses.replace(m, parts=(Part(b"later"),), schedule_at=T0 + 60)
    assert await store.messages.replace(later, "q")
    assert store.queues.take("q", 5) == [] and store.queues.depth("q") == 1
    store = await stores.reopen(store)
    stores.clock.advance(59)
    assert store.queues.take("q", 5) == []
    stores.clock.advance(1)
    [e] = store.queues.take("q", 5)
    assert load_message(e.payload) == later


@pytest_twisted.ensureDeferred
async def test_an_earlier_schedule_wakes_the_consumer(stores: Stores,
                                                      store: SqliteStore) -> None:
    """Breaks if a scheduled message replaced with "now" (or an earlier time) still waits
    for its old time, or a waiting connector is not woken for it."""
    m = message(schedule_at=T0 + 3600)
    await store.messages.accept(m, "q")
    waiting = store.queues.when_ready("q")
    assert await store.messages.replace(dataclasses.replace(m, schedule_at=T0 + 10), "q")
    stores.clock.advance(10)
    await waiting
    assert [e.key for e in store.queues.take("q", 5)] == [m.id]
    n = message(schedule_at=T0 + 3600)
    await store.messages.accept(n, "q")
    assert await store.messages.replace(dataclasses.replace(n, schedule_at=None), "q")
    assert [e.key for e in store.queues.take("q", 5)] == [n.id]


@pytest_twisted.ensureDeferred
async def test_a_new_validity_is_the_expiry(stores: Stores, store: SqliteStore) -> None:
    """Breaks if replace_sm's validity_period is ignored: a shortened one must expire the
    message (EXPIRED, kept as a dead letter), a lengthened one must not let the old one
    expire it, also after a restart."""
    short, long_ = message(expires_at=T0 + 100), message(expires_at=T0 + 10)
    expired: Deferred[list[QueueEntry]] = Deferred()
    store.queues.on_expired("q", expired.callback)
    for m in (short, long_):
        await store.messages.accept(m, "q")
    assert await store.messages.replace(dataclasses.replace(short, expires_at=T0 + 20), "q")
    assert await store.messages.replace(dataclasses.replace(long_, expires_at=T0 + 200), "q")
    store = await stores.reopen(store)
    store.queues.on_expired("q", expired.callback)
    stores.clock.advance(21)
    [e] = store.queues.take("q", 5)
    assert (e.key, e.expires_at) == (long_.id, T0 + 200)
    assert [x.key for x in await expired] == [short.id]


@pytest_twisted.ensureDeferred
async def test_a_failed_replace_keeps_the_old_body_and_schedule(stores: Stores,
                                                                store: SqliteStore) -> None:
    """Breaks if a replace_sm whose change could not be stored (the customer got an error)
    still changes what is sent or when."""
    m = message(schedule_at=T0 + 60, expires_at=T0 + 600)
    await store.messages.accept(m, "q")
    fail_writes(stores, "messages", "1")
    await failure_of(store.messages.replace(
        dataclasses.replace(m, parts=(Part(b"new"),), schedule_at=None, expires_at=T0 + 5),
        "q"))
    assert store.queues.take("q", 5) == []
    stores.clock.advance(60)
    [e] = store.queues.take("q", 5)
    assert (e.obj, e.expires_at) == (m, T0 + 600)
    store = await stores.reopen(store)
    [e] = store.queues.take("q", 5)
    assert (load_message(e.payload), e.expires_at) == (m, T0 + 600)
