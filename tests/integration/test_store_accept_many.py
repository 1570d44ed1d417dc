"""MessageLog.accept_many on the embedded store: many messages (a REST batch), their rows
and extra queue publications as ONE durable change, with the entries each message would
have had from `accept` (ready, delayed, expiring), and nothing at all if any of it fails."""
from __future__ import annotations

import pytest_twisted
from twisted.internet.defer import Deferred

from smscd.message import Message
from smscd.smpp.message_state import MessageState
from smscd.stores.interfaces import Acceptance, Publication, QueueEntry
from smscd.stores.ops import Statement
from smscd.stores.sqlite import SqliteStore
from test_sqlite_store import T0, Stores, message, store, stores  # noqa: F401  (fixtures)
from test_store_fast_paths import failure_of

# A row that cannot be written: mo_parts.body is NOT NULL.
BAD_ROW = (Statement("INSERT INTO mo_parts (connector, group_key, part_index, body, "
                     "received_at) VALUES ", "(?, ?, ?, ?, ?)"), ("c", "g", 0, None, T0))
GOOD_ROW = (BAD_ROW[0], ("c", "g", 1, b"part", T0))


@pytest_twisted.ensureDeferred
async def test_many_messages_are_one_op_and_one_commit(stores: Stores,
                                                       store: SqliteStore) -> None:
    """Breaks if a batch of recipients costs an op (or a commit) per message, or if a
    message of it is missing from the log or its queue after a restart."""
    messages = [message(text=b"m%d" % i) for i in range(1000)]
    accepts = [Acceptance(m, "q1" if i % 2 else "q2") for i, m in enumerate(messages)]
    ops, commits = store.stats.ops, store.stats.commits
    await store.messages.accept_many(accepts)
    assert (store.stats.ops, store.stats.commits) == (ops + 1, commits + 1)
    assert (store.queues.depth("q1"), store.queues.depth("q2")) == (500, 500)
    taken = store.queues.take("q2", 1000)
    assert [e.obj for e in taken] == messages[0::2]          # in order, objects handed over
    store = await stores.reopen(store)
    assert [e.key for e in store.queues.take("q1", 1000)] == [m.id for m in messages[1::2]]
    for m in (messages[0], messages[999]):
        record = await store.messages.get(m.id, "alice")
        assert record is not None and record.message == m


@pytest_twisted.ensureDeferred
async def test_a_failing_row_leaves_nothing_durable_and_nothing_queued(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if a failing part of the change (one message's hold row here) lets any other
    message, row or publication of it be logged, queued or handed to a consumer."""
    ms = [message() for _ in range(3)]
    accepts = [Acceptance(ms[0], "q", (GOOD_ROW,)), Acceptance(ms[1], "q", (BAD_ROW,)),
               Acceptance(ms[2], "q")]
    f = await failure_of(store.messages.accept_many(
        accepts, publish=[Publication("events", "e1", b"accepted")]))
    assert "NOT NULL" in f.getErrorMessage()
    assert store.queues.depth("q") == 0 and store.queues.depth("events") == 0
    assert store.queues.take("q", 5) == []
    store = await stores.reopen(store)
    assert store.queues.depth("q") == 0 and store.queues.depth("events") == 0
    for m in ms:
        assert await store.messages.get(m.id, "alice") is None
    assert await store.mo_parts.load("c") == []               # the good row went too


@pytest_twisted.ensureDeferred
async def test_a_duplicate_id_fails_the_whole_batch_alone(store: SqliteStore) -> None:
    """Breaks if a batch holding an id already accepted is half written, or fails other
    changes of its group commit."""
    first = message()
    await store.messages.accept(first, "q")
    other = message()
    batch = store.messages.accept_many([Acceptance(message(), "q"), Acceptance(first, "q")])
    alone = store.messages.accept(other, "q")
    await failure_of(batch)
    await alone
    assert [e.key for e in store.queues.take("q", 10)] == [first.id, other.id]


@pytest_twisted.ensureDeferred
async def test_entries_are_ready_delayed_and_expiring_as_accept_makes_them(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if a scheduled message of a batch goes out early, an expired one is handed
    out, or a past schedule_at holds a message back."""
    now_m = message(expires_at=T0 + 100)
    past = message(schedule_at=T0 - 10)
    later = message(schedule_at=T0 + 60, expires_at=T0 + 200)
    short = message(expires_at=T0 + 5)
    expired: Deferred[list[QueueEntry]] = Deferred()
    store.queues.on_expired("q", expired.callback)
    await store.messages.accept_many([Acceptance(m, "q") for m in (now_m, past, later, short)])
    assert store.queues.depth("q") == 4
    stores.clock.advance(10)
    assert [e.key for e in store.queues.take("q", 10)] == [now_m.id, past.id]
    assert [e.key for e in await expired] == [short.id]
    assert [e.expires_at for e in store.queues.waiting("q")] == [T0 + 200]
    stores.clock.advance(50)
    [e] = store.queues.take("q", 10)
    assert (e.key, e.expires_at) == (later.id, T0 + 200)


@pytest_twisted.ensureDeferred
async def test_publications_and_rows_commit_with_the_messages(stores: Stores,
                                                              store: SqliteStore) -> None:
    """Breaks if the extra publications (webhook events) or rows (an idempotency record)
    of a batch are not in the same durable change as its messages."""
    m = message()
    waiting = store.queues.when_ready("events")
    commits = store.stats.commits
    await store.messages.accept_many(
        [Acceptance(m, "q")], also=(GOOD_ROW,),
        publish=[Publication("events", "e1", b"accepted", "obj", T0 + 30)])
    assert store.stats.commits == commits + 1
    await waiting
    [e] = store.queues.take("events", 5)
    assert (e.key, e.payload, e.obj, e.expires_at) == ("e1", b"accepted", "obj", T0 + 30)
    store = await stores.reopen(store)
    assert [p.body for p in await store.mo_parts.load("c")] == [b"part"]
    assert [e.key for e in store.queues.take("events", 5)] == ["e1"]


@pytest_twisted.ensureDeferred
async def test_accepted_messages_are_remembered_for_their_receipts(store: SqliteStore) -> None:
    """Breaks if a receipt for a message of a batch must read the message back (one commit
    more per receipt), as it need not after `accept`."""
    ms = [message() for _ in range(3)]
    await store.messages.accept_many([Acceptance(m, "q") for m in ms])
    seen: list[Message | None] = []
    commits = store.stats.commits
    await store.messages.record_state(ms[1].id, 0, MessageState.DELIVERED, "", T0,
                                      seen.append)
    assert store.stats.commits == commits + 1 and seen[0] is ms[1]


@pytest_twisted.ensureDeferred
async def test_an_empty_batch_changes_nothing(store: SqliteStore) -> None:
    """Breaks if a batch whose every recipient was refused fails or writes something."""
    ops = store.stats.ops
    await store.messages.accept_many([])
    assert store.stats.ops == ops
