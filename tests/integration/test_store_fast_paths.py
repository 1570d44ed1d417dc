"""The embedded store's fast paths on the receipt route: the state of a part and the
customer receipt it causes as one durable change, and lookups answered from memory that
must agree with what a read in the writer would have answered."""
from __future__ import annotations

import dataclasses
import sqlite3
from typing import Any

import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from smscd.message import Message, Part
from smscd.smpp.message_state import MessageState
from smscd.stores.interfaces import Publication
from smscd.stores.sqlite import SqliteStore
from test_sqlite_store import T0, Stores, message, store, stores  # noqa: F401  (fixtures)


@pytest_twisted.ensureDeferred
async def test_state_and_its_receipt_are_one_durable_change(stores: Stores,
                                                            store: SqliteStore) -> None:
    """Breaks if a vendor receipt's state and the customer receipt it causes take more than
    one commit, if `publish` does not see the message (recent, or read back after a
    restart), or sees one for an unknown id."""
    m = message()
    await store.messages.accept(m, "q")
    seen: list[Message | None] = []

    def publish(found: Message | None) -> Publication | None:
        seen.append(found)
        return None if found is None else Publication("deliver:alice", f"dlr:{found.id}",
                                                      b"receipt", "obj", T0 + 60)
    commits = store.stats.commits
    await store.messages.record_state(m.id, 0, MessageState.ENROUTE, "", T0 + 1, publish)
    assert store.stats.commits == commits + 1 and seen == [m]
    [entry] = store.queues.take("deliver:alice", 5)
    assert (entry.key, entry.payload, entry.obj) == (f"dlr:{m.id}", b"receipt", "obj")
    await store.queues.ack(entry)
    store = await stores.reopen(store)
    await store.messages.record_state(m.id, 0, MessageState.DELIVERED, "", T0 + 2, publish)
    await store.messages.record_state("0" * 32, 0, MessageState.DELIVERED, "", T0 + 2,
                                      publish)
    assert seen[1:] == [m, None]
    assert (await store.messages.get(m.id, "alice")).state is MessageState.DELIVERED
    [entry] = store.queues.take("deliver:alice", 5)
    assert entry.payload == b"receipt"


@pytest_twisted.ensureDeferred
async def test_a_failing_publish_records_nothing(store: SqliteStore) -> None:
    """Breaks if an exception in `publish` escapes synchronously or still writes the state
    (the vendor's receipt must be answered with an error and sent again)."""
    m = message()
    await store.messages.accept(m, "q")

    def publish(found: Message | None) -> Publication | None:
        raise ValueError("broken")
    d = store.messages.record_state(m.id, 0, MessageState.DELIVERED, "", T0 + 1, publish)
    failures: list[object] = []
    d.addErrback(failures.append)
    assert len(failures) == 1
    assert (await store.messages.get(m.id, "alice")).parts[0].state is None


@pytest_twisted.ensureDeferred
async def test_recent_correlations_answer_like_the_table(stores: Stores) -> None:
    """Breaks if a correlation answered from memory differs from the table's answer: a
    replaced vendor id, an expired one, another connector's, or one evicted from memory."""
    store = stores.open(recent=2)
    await store.correlations.put("vendor1", "a", "m1", 0, T0 + 100)
    await store.correlations.put("vendor1", "a", "m2", 1, T0 + 100)
    await store.correlations.put("vendor1", "b", "m3", 0, T0 + 10)
    await store.correlations.put("vendor1", "c", "m4", 0, T0 + 100)      # evicts "a"
    assert await store.correlations.get("vendor1", "a") == ("m2", 1)
    assert await store.correlations.get("vendor2", "c") is None
    stores.clock.advance(11)
    assert await store.correlations.get("vendor1", "b") is None
    assert await store.correlations.get("vendor1", "c") == ("m4", 0)


@pytest_twisted.ensureDeferred
async def test_accepted_part_correlation_and_ack_are_one_durable_change(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if the vendor's acceptance of a one-part message (log row, correlation, ack)
    takes more than one commit, or if any of the three is missing after a restart."""
    m = message()
    await store.messages.accept(m, "q")
    [entry] = store.queues.take("q", 1)
    commits = store.stats.commits
    await store.messages.record_accepted(m.id, 0, "vendor1", "V-1", "v-1", T0 + 100, entry)
    assert store.stats.commits == commits + 1
    assert store.queues.leased("q") == 0
    store = await stores.reopen(store)
    assert store.queues.take("q", 1) == []
    assert await store.correlations.get("vendor1", "v-1") == (m.id, 0)
    record = await store.messages.get(m.id, "alice")
    assert (record.parts[0].connector, record.parts[0].vendor_id) == ("vendor1", "V-1")


@pytest_twisted.ensureDeferred
async def test_accepted_part_with_an_entry_not_leased_changes_nothing(
        store: SqliteStore) -> None:
    """Breaks if an ack for an entry nobody holds is written anyway (with its rows)."""
    m = message()
    await store.messages.accept(m, "q")
    [entry] = store.queues.take("q", 1)
    await store.queues.release(entry)
    d = store.messages.record_accepted(m.id, 0, "vendor1", "V-1", "v-1", T0 + 100, entry)
    failures: list[object] = []
    d.addErrback(failures.append)
    assert len(failures) == 1 and store.queues.depth("q") == 1
    assert (await store.messages.get(m.id, "alice")).parts[0].vendor_id is None


def fail_writes(stores: Stores, table: str, when: str) -> None:
    """Make the store's writes to `table` fail (inside its transaction) where `when` holds:
    a trigger added through a second connection, so the writer's op fails as a disk or
    constraint error would, after the reactor side already did its part."""
    with sqlite3.connect(stores.path) as conn:
        for event in ("INSERT", "UPDATE"):
            conn.execute(f"CREATE TRIGGER fail_{table}_{event.lower()} BEFORE {event} ON "
                         f"{table} WHEN {when} BEGIN SELECT RAISE(ABORT, 'injected'); END")


def stop_failing(stores: Stores, table: str) -> None:
    with sqlite3.connect(stores.path) as conn:
        for event in ("insert", "update"):
            conn.execute(f"DROP TRIGGER fail_{table}_{event}")


async def failure_of(d: Deferred[Any]) -> Failure:
    try:
        await d
    except Exception:
        return Failure()
    raise AssertionError("expected the store operation to fail")


@pytest_twisted.ensureDeferred
async def test_failed_accepted_part_leaves_nothing_durable_and_the_entry_leased(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if a failing record_accepted makes part of its change durable (the log row
    without the correlation, or the ack without either) or lets go of the leased entry:
    the connector must be able to try again or hand the message out again."""
    m = message()
    await store.messages.accept(m, "q")
    [entry] = store.queues.take("q", 1)
    fail_writes(stores, "correlations", "NEW.vendor_id = 'v-1'")
    f = await failure_of(store.messages.record_accepted(m.id, 0, "vendor1", "V-1", "v-1",
                                                        T0 + 100, entry))
    assert "injected" in f.getErrorMessage()
    assert store.queues.leased("q") == 1 and store.queues.depth("q") == 0
    assert (await store.messages.get(m.id, "alice")).parts[0].vendor_id is None
    stop_failing(stores, "correlations")
    await store.messages.record_accepted(m.id, 0, "vendor1", "V-1", "v-1", T0 + 100, entry)
    assert store.queues.leased("q") == 0


@pytest_twisted.ensureDeferred
async def test_failed_accepted_part_is_handed_out_again_after_a_restart(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if any of the log row, the correlation or the ack of a failed
    record_accepted survives a restart."""
    m = message()
    await store.messages.accept(m, "q")
    [entry] = store.queues.take("q", 1)
    fail_writes(stores, "correlations", "1")
    await failure_of(store.messages.record_accepted(m.id, 0, "vendor1", "V-1", "v-1",
                                                    T0 + 100, entry))
    store = await stores.reopen(store)
    assert [e.key for e in store.queues.take("q", 5)] == [m.id]
    assert await store.correlations.get("vendor1", "v-1") is None
    assert (await store.messages.get(m.id, "alice")).parts[0].vendor_id is None


@pytest_twisted.ensureDeferred
async def test_failed_state_publishes_no_receipt(stores: Stores, store: SqliteStore) -> None:
    """Breaks if the customer's receipt is published although the state it reports was
    not recorded (or the reverse), for a recent message and for one read back."""
    recent, old = message(), message()
    await store.messages.accept(old, "q")
    store = await stores.reopen(store)                      # `old` is no longer cached
    await store.messages.accept(recent, "q")

    def publish(found: Message | None) -> Publication | None:
        assert found is not None
        return Publication("deliver:alice", f"dlr:{found.id}", b"receipt")
    fail_writes(stores, "message_parts", "NEW.state IS NOT NULL")
    for m in (recent, old):
        await failure_of(store.messages.record_state(m.id, 0, MessageState.DELIVERED, "",
                                                     T0 + 1, publish))
    assert store.queues.depth("deliver:alice") == 0
    store = await stores.reopen(store)
    assert store.queues.depth("deliver:alice") == 0
    for m in (recent, old):
        assert (await store.messages.get(m.id, "alice")).parts[0].state is None


@pytest_twisted.ensureDeferred
async def test_message_evicted_from_memory_is_read_back_the_same(stores: Stores) -> None:
    """Breaks if `record_state` with `publish` gives a message it no longer caches (evicted,
    or dropped after its final receipt) differently from the cached one, or not at all,
    or answers a miss without reading the database (no extra commit)."""
    store = stores.open(recent=1)
    first, second = message(parts=2), message()
    await store.messages.accept(first, "q")
    seen: list[Message | None] = []

    def publish(found: Message | None) -> None:
        seen.append(found)
    commits = store.stats.commits
    await store.messages.record_state(first.id, 0, MessageState.DELIVERED, "", T0, publish)
    assert store.stats.commits == commits + 1                    # from memory
    await store.messages.accept(second, "q")                     # evicts `first`
    commits = store.stats.commits
    await store.messages.record_state(first.id, 1, MessageState.DELIVERED, "", T0, publish)
    assert store.stats.commits == commits + 2                    # read, then write
    await store.messages.record_state(second.id, 0, MessageState.DELIVERED, "", T0, publish)
    await store.messages.record_state(second.id, 0, MessageState.DELIVERED, "", T0, publish)
    assert seen == [first, first, second, second]
    assert seen[0] is first and seen[1] is not first             # one cached, one read


@pytest_twisted.ensureDeferred
async def test_replaced_message_is_the_one_remembered(stores: Stores) -> None:
    """Breaks if replace_sm leaves the old body in the memory cache: the customer's
    receipt would then quote the text it replaced, unlike after a restart."""
    store = stores.open()
    m = message()
    await store.messages.accept(m, "q")
    new = dataclasses.replace(m, parts=(Part(b"replaced"),))
    assert await store.messages.replace(new, "q")
    seen: list[Message | None] = []
    await store.messages.record_state(m.id, 0, MessageState.ENROUTE, "", T0, seen.append)
    store = await stores.reopen(store)
    await store.messages.record_state(m.id, 0, MessageState.ENROUTE, "", T0, seen.append)
    assert seen == [new, new]


@pytest_twisted.ensureDeferred
async def test_cached_correlations_agree_with_the_table_after_a_restart(
        stores: Stores) -> None:
    """Breaks if a correlation answered from memory (latest put wins, expiry honoured) is
    not what the table answers once memory is gone."""
    store = stores.open()
    await store.correlations.put("vendor1", "a", "m1", 0, T0 + 100)
    await store.correlations.put("vendor1", "a", "m2", 1, T0 + 100)
    await store.correlations.put("vendor1", "b", "m3", 0, T0 + 10)
    keys = [("vendor1", "a"), ("vendor1", "b"), ("vendor2", "a")]
    stores.clock.advance(11)
    cached = [await store.correlations.get(c, v) for c, v in keys]
    store = await stores.reopen(store)
    assert [await store.correlations.get(c, v) for c, v in keys] == cached
    assert cached == [("m2", 1), None, None]


def kept_receipt_publish(found: Message | None) -> Publication | None:
    return None if found is None else Publication("deliver:alice", f"dlr:{found.id}",
                                                  b"receipt")


@pytest_twisted.ensureDeferred
async def test_state_receipt_and_ack_of_a_kept_receipt_are_one_durable_change(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if settling a kept vendor receipt (the part's state, the customer's receipt,
    the ack of its pending entry) takes more than one commit, or if any of the three is
    missing after a restart: a crash between them would send the customer the receipt
    twice."""
    m = message()
    await store.messages.accept(m, "q")
    await store.queues.publish("dlr:pending:vendor1", "kept-1", b"kept")
    [kept] = store.queues.take("dlr:pending:vendor1", 1)
    commits = store.stats.commits
    await store.messages.record_state(m.id, 0, MessageState.DELIVERED, "", T0 + 1,
                                      kept_receipt_publish, ack=kept)
    assert store.stats.commits == commits + 1
    assert store.queues.leased("dlr:pending:vendor1") == 0
    store = await stores.reopen(store)
    assert store.queues.take("dlr:pending:vendor1", 5) == []
    assert [e.key for e in store.queues.take("deliver:alice", 5)] == [f"dlr:{m.id}"]
    assert (await store.messages.get(m.id, "alice")).state is MessageState.DELIVERED


@pytest_twisted.ensureDeferred
async def test_failed_state_keeps_the_kept_receipt_leased_and_unacked(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if the pending entry of a kept receipt is acked although its state (and the
    customer's receipt) were not stored: the receipt would be lost for good."""
    recent, old = message(), message()
    await store.messages.accept(old, "q")
    store = await stores.reopen(store)                      # `old` is no longer cached
    await store.messages.accept(recent, "q")
    for key in ("k-recent", "k-old", "k-bare"):
        await store.queues.publish("pending", key, b"kept")
    entries = store.queues.take("pending", 3)
    fail_writes(stores, "message_parts", "NEW.state IS NOT NULL")
    for m, entry, publish in ((recent, entries[0], kept_receipt_publish),
                              (old, entries[1], kept_receipt_publish),
                              (recent, entries[2], None)):
        await failure_of(store.messages.record_state(m.id, 0, MessageState.DELIVERED, "",
                                                     T0 + 1, publish, ack=entry))
    assert store.queues.leased("pending") == 3 and store.queues.depth("deliver:alice") == 0
    await store.queues.retry(entries[0], 0, "again")      # the caller still holds them
    store = await stores.reopen(store)
    assert sorted(e.key for e in store.queues.take("pending", 5)) == [
        "k-bare", "k-old", "k-recent"]
    for m in (recent, old):
        assert (await store.messages.get(m.id, "alice")).parts[0].state is None


@pytest_twisted.ensureDeferred
async def test_state_with_an_entry_not_leased_writes_nothing(store: SqliteStore) -> None:
    """Breaks if a state is recorded with an ack of an entry nobody holds (acked twice, or
    released), instead of failing as a whole."""
    m = message()
    await store.messages.accept(m, "q")
    await store.queues.publish("pending", "k", b"kept")
    [entry] = store.queues.take("pending", 1)
    await store.queues.release(entry)
    await failure_of(store.messages.record_state(m.id, 0, MessageState.DELIVERED, "", T0 + 1,
                                                 kept_receipt_publish, ack=entry))
    assert store.queues.depth("deliver:alice") == 0 and store.queues.depth("pending") == 1
    assert (await store.messages.get(m.id, "alice")).parts[0].state is None
