"""The embedded store's fast paths on the receipt route: the state of a part and the
customer receipt it causes as one durable change, and lookups answered from memory that
must agree with what a read in the writer would have answered."""
from __future__ import annotations

import pytest_twisted

from smscd.message import Message
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
