"""The per-message history (GET /v1/messages/{id}) on the embedded store: one event per
change of the message log, written in the same durable change (no extra commit), read
back in order and only by the message's owner; stores made before it get their history
from what they knew."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest_twisted
from twisted.internet.task import Clock

from smscd.message import dump_message
from smscd.smpp.message_state import MessageState
from smscd.stores.interfaces import Acceptance, StateEvent
from smscd.stores.schema import MIGRATIONS
from smscd.stores.sqlite import SqliteStore
from test_sqlite_store import (T0, ClockedReactor, Stores, message, store,  # noqa: F401
                               stores)
from test_store_fast_paths import fail_writes, failure_of, stop_failing

D, E, U = MessageState.DELIVERED, MessageState.ENROUTE, MessageState.UNDELIVERABLE


@pytest_twisted.ensureDeferred
async def test_a_message_life_is_its_history_in_order(stores: Stores,
                                                      store: SqliteStore) -> None:
    """Breaks if an event of the life (accepted, each part sent, each receipt, a late
    intermediate receipt the part state ignores) is missing, out of order or wrong, or
    lost on restart."""
    m = message(parts=2, connector="vendor1")
    await store.messages.accept(m, "q")
    stores.clock.advance(1)
    await store.messages.record_sent(m.id, 0, "vendor1", "V-0")
    stores.clock.advance(1)
    await store.messages.record_accepted(m.id, 1, "vendor1", "V-1", "v-1", T0 + 100)
    await store.messages.record_state(m.id, 1, D, "", T0 + 5)
    await store.messages.record_state(m.id, 0, U, "0x0b", T0 + 4, lambda found: None)
    await store.messages.record_state(m.id, 1, E, "", T0 + 6)
    expected = [StateEvent(None, T0, None, "accepted"),
                StateEvent(0, T0 + 1, None, "sent", "", "vendor1", "V-0"),
                StateEvent(1, T0 + 2, None, "sent", "", "vendor1", "V-1"),
                StateEvent(0, T0 + 4, U, "state", "0x0b"),
                StateEvent(1, T0 + 5, D, "state"),
                StateEvent(1, T0 + 6, E, "state")]
    assert await store.messages.history(m.id, "alice") == expected
    assert (await store.messages.get(m.id, "alice")).parts[1].state is D
    store = await stores.reopen(store)
    assert await store.messages.history(m.id, "alice") == expected


@pytest_twisted.ensureDeferred
async def test_history_is_only_the_owners(store: SqliteStore) -> None:
    """Breaks if a customer can read (or learn of) another customer's message history."""
    m = message(user="alice")
    await store.messages.accept(m, "q")
    assert await store.messages.history(m.id, "mallory") == []
    assert await store.messages.history("0" * 32, "alice") == []
    assert len(await store.messages.history(m.id, "alice")) == 1


@pytest_twisted.ensureDeferred
async def test_events_cost_no_extra_op_or_commit(store: SqliteStore) -> None:
    """Breaks if writing the history takes its own op or commit beside the change it
    records (it would double the store's cost per message)."""
    m = message()
    for change in (lambda: store.messages.accept(m, "q"),
                   lambda: store.messages.record_sent(m.id, 0, "vendor1", "V-0"),
                   lambda: store.messages.record_state(m.id, 0, D, "", T0)):
        ops, commits = store.stats.ops, store.stats.commits
        await change()
        assert (store.stats.ops, store.stats.commits) == (ops + 1, commits + 1)
    assert [e.event for e in await store.messages.history(m.id, "alice")] == [
        "accepted", "sent", "state"]


@pytest_twisted.ensureDeferred
async def test_an_event_and_its_change_are_durable_together(stores: Stores,
                                                            store: SqliteStore) -> None:
    """Breaks if a state can be recorded without its history event (or the reverse): the
    history would then disagree with the record."""
    m = message()
    await store.messages.accept(m, "q")
    fail_writes(stores, "message_events", "NEW.event = 'state'")
    await failure_of(store.messages.record_state(m.id, 0, D, "", T0 + 1))
    assert (await store.messages.get(m.id, "alice")).parts[0].state is None
    stop_failing(stores, "message_events")
    fail_writes(stores, "message_parts", "NEW.state IS NOT NULL")
    await failure_of(store.messages.record_state(m.id, 0, D, "", T0 + 1))
    assert [e.event for e in await store.messages.history(m.id, "alice")] == ["accepted"]


@pytest_twisted.ensureDeferred
async def test_cancel_and_batches_write_their_events(stores: Stores,
                                                     store: SqliteStore) -> None:
    """Breaks if a cancelled message's history does not say so, or messages accepted in
    a batch have no "accepted" event."""
    a, b = message(parts=3), message(connector="vendor2")
    await store.messages.accept_many([Acceptance(a, "q"), Acceptance(b, "q")])
    stores.clock.advance(3)
    assert await store.messages.cancel(a.id, "alice", "q")
    assert await store.messages.history(a.id, "alice") == [
        StateEvent(None, T0, None, "accepted"),
        StateEvent(None, T0 + 3, MessageState.DELETED, "cancelled")]
    assert await store.messages.history(b.id, "alice") == [
        StateEvent(None, T0, None, "accepted")]


@pytest_twisted.ensureDeferred
async def test_a_store_made_before_history_opens_with_what_it_knew(tmp_path: Path) -> None:
    """Breaks if a store of schema version 6 no longer opens, or its messages have an
    empty history although their acceptance, sendings and states are known."""
    path = tmp_path / "old.sqlite3"
    m = message(parts=2, connector="vendor1")
    cancelled = message()
    conn = sqlite3.connect(path, isolation_level=None)
    for statements in MIGRATIONS[:6]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (6)")
    for old in (m, cancelled):
        conn.execute("INSERT INTO messages (id, user, accepted_at, body) VALUES (?, ?, ?, ?)",
                     (old.id, old.user, T0, dump_message(old)))
    conn.executemany("INSERT INTO message_parts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        (m.id, 0, "vendor1", "V-0", T0 + 1, int(D), "", T0 + 3),
        (m.id, 1, "vendor1", "V-1", T0 + 2, None, "", None),
        (cancelled.id, 0, None, None, None, int(MessageState.DELETED), "cancelled", T0 + 4)])
    conn.close()
    store = SqliteStore.open(path, ClockedReactor(Clock()))
    try:
        assert await store.messages.history(m.id, "alice") == [
            StateEvent(None, T0, None, "accepted"),
            StateEvent(0, T0 + 1, None, "sent", "", "vendor1", "V-0"),
            StateEvent(1, T0 + 2, None, "sent", "", "vendor1", "V-1"),
            StateEvent(0, T0 + 3, D, "state")]
        assert await store.messages.history(cancelled.id, "alice") == [
            StateEvent(None, T0, None, "accepted"),
            StateEvent(0, T0 + 4, MessageState.DELETED, "cancelled")]
    finally:
        await store.close()
