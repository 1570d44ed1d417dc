"""The embedded store on real SQLite files: durability across reopen, queue semantics,
group commit, the message log, correlations and users. Time that matters to the store
(delays, expiry) comes from a `task.Clock`; threads hand results back through the real
reactor, and tests wait on Deferreds, never on sleeps."""
from __future__ import annotations

import dataclasses
import sqlite3
import threading
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import CancelledError, Deferred, DeferredList, gatherResults
from twisted.internet.task import Clock

from smscd.ids import new_message_id
from smscd.message import Address, Message, Part, dump_message, load_message
from smscd.passwords import verify_password
from smscd.smpp.message_state import MessageState
from smscd.stores.group_commit import GroupCommitWriter
from smscd.stores.interfaces import QueueEntry, StoreError, UserExists
from smscd.stores.schema import SCHEMA_VERSION
from smscd.stores.sqlite import SqliteStore

T0 = 1_700_000_000.0


class ClockedReactor:
    """Store time from a Clock; threads and their results through the real reactor."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def seconds(self) -> float:
        return self.clock.seconds()

    def callLater(self, delay: float, f: Callable[..., Any], *a: Any, **kw: Any) -> Any:
        return self.clock.callLater(delay, f, *a, **kw)

    def callFromThread(self, f: Callable[..., Any], *a: Any, **kw: Any) -> None:
        reactor.callFromThread(f, *a, **kw)

    def getThreadPool(self) -> Any:
        return reactor.getThreadPool()


class Stores:
    """Opens stores on one file and closes them all at the end of the test."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = Clock()
        self.clock.advance(T0)
        self.opened: list[SqliteStore] = []

    def open(self, **options: Any) -> SqliteStore:
        store = SqliteStore.open(self.path, ClockedReactor(self.clock), **options)
        self.opened.append(store)
        return store

    async def reopen(self, store: SqliteStore, **options: Any) -> SqliteStore:
        await store.close()
        return self.open(**options)


@pytest_twisted.async_yield_fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    s = Stores(tmp_path / "var" / "smscd.sqlite3")
    yield s
    for store in s.opened:
        await store.close()


@pytest.fixture
def store(stores: Stores) -> SqliteStore:
    return stores.open()


def message(user: str = "alice", text: bytes = b"hello", parts: int = 1,
            **fields: Any) -> Message:
    return Message(new_message_id(T0), user, Address("SHOP", 5, 0), Address("447700900001", 1, 1),
                   tuple(Part(text + b"%d" % i) for i in range(parts)), T0, **fields)


# --- accept and durability ------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_accepted_message_and_queue_entry_survive_reopen(stores: Stores,
                                                               store: SqliteStore) -> None:
    """Breaks if a message whose submit_sm_resp was sent is missing from the log or the
    queue after the daemon restarts."""
    m = message(parts=2)
    await store.messages.accept(m, "mt:vendor1")
    store = await stores.reopen(store)
    record = await store.messages.get(m.id, "alice")
    assert record is not None and record.message == m
    assert record.state is MessageState.ENROUTE and len(record.parts) == 2
    [entry] = store.queues.take("mt:vendor1", 10)
    assert entry.key == m.id and load_message(entry.payload) == m
    assert entry.obj is None and entry.attempts == 0


@pytest_twisted.ensureDeferred
async def test_accept_hands_the_message_object_to_the_consumer(store: SqliteStore) -> None:
    """Breaks if an in-process consumer must decode what the publisher already had, or
    sees an entry before it is durable."""
    m = message()
    d = store.messages.accept(m, "q")
    assert store.queues.take("q", 1) == []        # not committed yet: not visible
    await d
    [entry] = store.queues.take("q", 1)
    assert entry.obj is m


@pytest_twisted.ensureDeferred
async def test_files_live_under_the_data_directory_in_wal_mode(stores: Stores,
                                                               store: SqliteStore) -> None:
    """Breaks if the store is not in WAL mode or not created under the data directory."""
    await store.messages.accept(message(), "q")
    await store.close()
    assert stores.path.exists() and stores.path.parent.name == "var"
    with sqlite3.connect(stores.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION


@pytest_twisted.ensureDeferred
async def test_many_accepts_in_one_turn_share_few_transactions(store: SqliteStore) -> None:
    """Breaks if group commit stops batching (one fsync per message: a thousand times the
    cost the performance budget allows)."""
    before = store.stats.commits
    await gatherResults([store.messages.accept(message(), "q") for _ in range(1000)])
    assert store.stats.commits - before < 100
    assert store.stats.largest_batch > 10
    assert store.queues.depth("q") == 1000


@pytest_twisted.ensureDeferred
async def test_wal_is_copied_back_and_reused(stores: Stores) -> None:
    """Breaks if WAL checkpoints stop (the -wal file would grow with all traffic ever
    written, and every page lookup would slow down with it)."""
    store = stores.open(checkpoint_interval=0.0)        # after every batch
    for _ in range(8):
        await gatherResults([store.messages.accept(message(), "q") for _ in range(250)])
    wal = stores.path.with_name(stores.path.name + "-wal")
    assert store.stats.checkpoints >= 7
    assert wal.stat().st_size < 2_000_000                # 2,000 accepts write about 3.5 MB


@pytest_twisted.ensureDeferred
async def test_duplicate_id_fails_alone(store: SqliteStore) -> None:
    """Breaks if one failing op fails the other accepts of its batch (or half-applies)."""
    first = message()
    await store.messages.accept(first, "q")
    others = [message() for _ in range(20)]
    results = await DeferredList([store.messages.accept(m, "q") for m in others[:10]]
                                 + [store.messages.accept(first, "q")]
                                 + [store.messages.accept(m, "q") for m in others[10:]])
    assert [ok for ok, _ in results] == [True] * 10 + [False] + [True] * 10
    assert results[10][1].check(sqlite3.IntegrityError)
    assert store.queues.depth("q") == 21                      # no second entry for `first`
    for m in others:
        assert await store.messages.get(m.id, "alice") is not None


@pytest_twisted.ensureDeferred
async def test_failing_op_in_a_batch_does_not_fail_the_others(tmp_path: Path) -> None:
    """Breaks if the writer fails a whole batch for one op, or commits the failed op's
    partial changes (the savepoint re-run)."""
    conn = sqlite3.connect(tmp_path / "w.db", isolation_level=None, check_same_thread=False)
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
    writer = GroupCommitWriter(conn, reactor, max_batch=256, interval_ms=0)
    started, release = Deferred(), threading.Event()

    def blocker(c: sqlite3.Connection) -> None:
        reactor.callFromThread(started.callback, None)
        release.wait()
    first = writer.submit(blocker)
    await started                                   # the writer is busy: the rest queue up

    def insert(k: int) -> Callable[[sqlite3.Connection], int]:
        def op(c: sqlite3.Connection) -> int:
            c.execute("INSERT INTO t VALUES (?)", (k,))
            if k == 5:
                c.execute("INSERT INTO t VALUES (?)", (k,))     # second insert fails
            return k
        return op
    ds = [writer.submit(insert(k)) for k in range(10)]
    batches = writer.stats.batches
    release.set()
    await first
    results = await DeferredList(ds)
    assert [ok for ok, _ in results] == [k != 5 for k in range(10)]
    assert writer.stats.batches == batches + 1 and writer.stats.reruns == 1
    await writer.close()
    rows = sqlite3.connect(tmp_path / "w.db").execute("SELECT k FROM t ORDER BY k").fetchall()
    assert [k for (k,) in rows] == [0, 1, 2, 3, 4, 6, 7, 8, 9]


# --- queue semantics ------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_take_leases_each_entry_once_until_restart(stores: Stores,
                                                         store: SqliteStore) -> None:
    """Breaks if two consumers get the same entry, or if an entry leased when the process
    died is not handed out again after the restart (at-least-once)."""
    for i in range(5):
        await store.queues.publish("q", f"k{i}", b"p%d" % i)
    a, b = store.queues.take("q", 3), store.queues.take("q", 3)
    assert [e.key for e in a] == ["k0", "k1", "k2"] and [e.key for e in b] == ["k3", "k4"]
    assert store.queues.take("q", 3) == [] and store.queues.depth("q") == 0
    await store.queues.ack(a[0])
    store = await stores.reopen(store)
    assert [e.key for e in store.queues.take("q", 10)] == ["k1", "k2", "k3", "k4"]


@pytest_twisted.ensureDeferred
async def test_ack_is_durable_and_only_once(stores: Stores, store: SqliteStore) -> None:
    """Breaks if an acked entry comes back after a restart, or a double ack is accepted."""
    await store.queues.publish("q", "k", b"p")
    [e] = store.queues.take("q", 1)
    await store.queues.ack(e)
    with pytest.raises(StoreError):
        await store.queues.ack(e)
    store = await stores.reopen(store)
    assert store.queues.take("q", 1) == []


@pytest_twisted.ensureDeferred
async def test_retry_comes_back_after_its_delay_with_one_more_attempt(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if a retried message is resent at once, never, or with a lost attempt count
    (bounded retries would then never end), also across a restart."""
    await store.queues.publish("q", "k", b"p")
    [e] = store.queues.take("q", 1)
    await store.queues.retry(e, 30.0, "throttled")
    assert store.queues.take("q", 1) == [] and store.queues.depth("q") == 1
    ready = store.queues.when_ready("q")
    stores.clock.advance(29)
    assert not ready.called
    stores.clock.advance(1)
    await ready
    [again] = store.queues.take("q", 1)
    assert again.attempts == 1 and again.payload == b"p"
    await store.queues.retry(again, 5.0, "timeout")
    store = await stores.reopen(store)
    assert store.queues.take("q", 1) == []
    stores.clock.advance(5)
    [third] = store.queues.take("q", 1)
    assert third.attempts == 2


@pytest_twisted.ensureDeferred
async def test_release_gives_the_entry_back_unchanged_at_the_head(store: SqliteStore) -> None:
    """Breaks if stopping a connector reorders its queue or counts an attempt."""
    for k in ("a", "b"):
        await store.queues.publish("q", k, b"p")
    [a] = store.queues.take("q", 1)
    await store.queues.release(a)
    taken = store.queues.take("q", 2)
    assert [e.key for e in taken] == ["a", "b"] and taken[0].attempts == 0


@pytest_twisted.ensureDeferred
async def test_dead_letters_are_listed_and_requeued(stores: Stores,
                                                    store: SqliteStore) -> None:
    """Breaks if a message that could not be processed is lost instead of kept for the
    operator, or cannot be put back."""
    await store.queues.publish("q", "k", b"payload")
    [e] = store.queues.take("q", 1)
    await store.queues.retry(e, 0, "first")
    [e] = store.queues.take("q", 1)
    await store.queues.dead_letter(e, "permanent: 0x0b")
    assert store.queues.depth("q") == 0
    store = await stores.reopen(store)
    [dead] = await store.queues.dead_letters("q")
    assert (dead.key, dead.payload, dead.attempts, dead.reason) == ("k", b"payload", 1,
                                                                     "permanent: 0x0b")
    assert await store.queues.requeue_dead(dead.id)
    assert not await store.queues.requeue_dead(dead.id)
    assert await store.queues.dead_letters("q") == []
    [back] = store.queues.take("q", 1)
    assert (back.key, back.payload, back.attempts) == ("k", b"payload", 0)


@pytest_twisted.ensureDeferred
async def test_remove_and_replace_only_while_queued(stores: Stores,
                                                    store: SqliteStore) -> None:
    """Breaks if cancel_sm/replace_sm touch a message already being sent, or their effect
    is lost on restart."""
    for k in ("a", "b", "c"):
        await store.queues.publish("q", k, b"old-" + k.encode())
    [a] = store.queues.take("q", 1)
    assert not await store.queues.remove("q", "a")
    assert not await store.queues.replace("q", "a", b"new")
    assert not await store.queues.remove("q", "nope")
    assert await store.queues.remove("q", "b")
    assert await store.queues.replace("q", "c", b"new-c", "obj")
    [c] = store.queues.take("q", 5)
    assert (c.key, c.payload, c.obj) == ("c", b"new-c", "obj")
    store = await stores.reopen(store)
    assert sorted((e.key, e.payload) for e in store.queues.take("q", 5)) == [
        ("a", b"old-a"), ("c", b"new-c")]


@pytest_twisted.ensureDeferred
async def test_expired_entries_are_never_handed_out_but_reported(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if a message past its validity is sent upstream, or vanishes without its
    owner hearing of it (no EXPIRED receipt) and without a trace for the operator."""
    reported: Deferred[list[QueueEntry]] = Deferred()
    store.queues.on_expired("q", reported.callback)
    await store.queues.publish("q", "soon", b"1", expires_at=T0 + 10)
    await store.queues.publish("q", "later", b"2", expires_at=T0 + 100)
    await store.queues.publish("q", "never", b"3")
    stores.clock.advance(11)
    assert [e.key for e in store.queues.take("q", 10)] == ["later", "never"]
    assert [e.key for e in await reported] == ["soon"]
    [dead] = await store.queues.dead_letters("q")
    assert (dead.key, dead.reason) == ("soon", "expired")
    store = await stores.reopen(store)
    assert [e.key for e in store.queues.take("q", 10)] == ["later", "never"]


@pytest_twisted.ensureDeferred
async def test_sweep_expires_entries_nobody_takes(stores: Stores, store: SqliteStore) -> None:
    """Breaks if messages queued for a connector that stays down never expire (their
    customers would never get the EXPIRED receipt)."""
    swept = Deferred()
    store.queues.on_expired("q", swept.callback)
    await store.queues.publish("q", "k", b"1", delay=50, expires_at=T0 + 30)
    stores.clock.advance(31)                 # the store's one-second sweep runs on the clock
    entries = await swept
    assert [e.key for e in entries] == ["k"] and store.queues.depth("q") == 0


@pytest_twisted.ensureDeferred
async def test_when_ready_wakes_a_sleeping_consumer_and_can_be_cancelled(
        store: SqliteStore) -> None:
    """Breaks if a consumer waiting for work is not woken by a publish, or a stopped
    consumer's wait cannot be abandoned."""
    waiting = store.queues.when_ready("q")
    abandoned = store.queues.when_ready("q")
    abandoned.cancel()
    assert not waiting.called
    await store.queues.publish("q", "k", b"p")
    await waiting
    assert [e.key for e in store.queues.take("q", 5)] == ["k"]
    with pytest.raises(CancelledError):
        await abandoned


@pytest_twisted.ensureDeferred
async def test_delayed_publish_waits(stores: Stores, store: SqliteStore) -> None:
    """Breaks if a scheduled message (schedule_delivery_time) goes out early."""
    m = message(schedule_at=T0 + 60)
    await store.messages.accept(m, "q")
    assert store.queues.take("q", 1) == [] and store.queues.depth("q") == 1
    stores.clock.advance(60)
    assert [e.key for e in store.queues.take("q", 1)] == [m.id]


# --- message log ----------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_get_is_scoped_to_the_owner(store: SqliteStore) -> None:
    """Breaks if one customer can query (or learn of) another customer's message."""
    m = message(user="alice")
    await store.messages.accept(m, "q")
    assert await store.messages.get(m.id, "mallory") is None
    assert await store.messages.get("0" * 32, "alice") is None
    assert (await store.messages.get(m.id, "alice")).message.id == m.id
    assert (await store.messages.find(m.id)).message.user == "alice"


@pytest_twisted.ensureDeferred
async def test_parts_record_vendor_ids_and_states(stores: Stores, store: SqliteStore) -> None:
    """Breaks if query_sm loses a part's vendor id or state, reports a long message
    delivered too early, or lets a late intermediate receipt undo a final one."""
    m = message(parts=2)
    await store.messages.accept(m, "q")
    await store.messages.record_sent(m.id, 0, "vendor1", "v-0")
    await store.messages.record_sent(m.id, 1, "vendor1", "v-1")
    await store.messages.record_state(m.id, 0, MessageState.DELIVERED, "", T0 + 5)
    r = await store.messages.get(m.id, "alice")
    assert r.state is MessageState.ENROUTE
    assert [(p.vendor_id, p.state) for p in r.parts] == [("v-0", MessageState.DELIVERED),
                                                         ("v-1", None)]
    await store.messages.record_state(m.id, 1, MessageState.DELIVERED, "", T0 + 6)
    await store.messages.record_state(m.id, 1, MessageState.ENROUTE, "", T0 + 7)
    store = await stores.reopen(store)
    r = await store.messages.get(m.id, "alice")
    assert r.state is MessageState.DELIVERED and r.updated_at == T0 + 6
    assert [p.connector for p in r.parts] == ["vendor1", "vendor1"]
    await store.messages.record_state(m.id, 1, MessageState.UNDELIVERABLE, "0x0b", T0 + 8)
    r = await store.messages.get(m.id, "alice")
    assert r.state is MessageState.UNDELIVERABLE and r.parts[1].error == "0x0b"


@pytest_twisted.ensureDeferred
async def test_cancel_and_replace_change_log_and_queue_together(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if cancel_sm/replace_sm leave the log and the queue disagreeing, act for
    another customer, or act on a message already leased for sending."""
    a, b, c = message(), message(), message()
    for m in (a, b, c):
        await store.messages.accept(m, "q")
    [leased] = store.queues.take("q", 1)
    assert leased.key == a.id
    assert not await store.messages.cancel(a.id, "alice", "q")
    assert not await store.messages.cancel(b.id, "mallory", "q")
    assert await store.messages.cancel(b.id, "alice", "q")
    new_c = dataclasses.replace(c, parts=(Part(b"replaced"),))
    assert not await store.messages.replace(dataclasses.replace(new_c, user="mallory"), "q")
    assert await store.messages.replace(new_c, "q")
    store = await stores.reopen(store)
    rb = await store.messages.get(b.id, "alice")
    assert rb.state is MessageState.DELETED
    rc = await store.messages.get(c.id, "alice")
    assert rc.message.parts == (Part(b"replaced"),)
    entries = store.queues.take("q", 5)
    assert [e.key for e in entries] == [a.id, c.id]
    assert load_message(entries[1].payload).parts == (Part(b"replaced"),)


# --- correlations ---------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_correlation_put_get_and_expiry(stores: Stores, store: SqliteStore) -> None:
    """Breaks if a receipt cannot find its message by vendor id, finds one of another
    connector, or finds one after its TTL (and expired ones are never purged)."""
    await store.correlations.put("vendor1", "abc", "m1", 0, T0 + 100)
    await store.correlations.put("vendor1", "short", "m2", 1, T0 + 10)
    assert await store.correlations.get("vendor1", "abc") == ("m1", 0)
    assert await store.correlations.get("vendor2", "abc") is None
    stores.clock.advance(11)
    assert await store.correlations.get("vendor1", "short") is None
    assert await store.correlations.purge() == 1
    store = await stores.reopen(store)
    assert await store.correlations.get("vendor1", "abc") == ("m1", 0)


@pytest_twisted.ensureDeferred
async def test_correlation_read_sees_a_put_submitted_just_before(store: SqliteStore) -> None:
    """Breaks if a receipt arriving right after the submit_sm_resp misses the correlation
    still waiting in the same group commit."""
    put = store.correlations.put("vendor1", "fast", "m1", 0, T0 + 100)
    got = store.correlations.get("vendor1", "fast")
    await put
    assert await got == ("m1", 0)


# --- users ----------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_users_are_stored_with_hashed_passwords(stores: Stores,
                                                      store: SqliteStore) -> None:
    """Breaks if a password is stored in the clear, a user is lost on restart, or a
    username can be created twice."""
    created = await store.users.create("alice", "pa55word", max_bindings=3, throughput=50.0)
    assert created.password_hash != "pa55word" and "pa55word" not in repr(created)
    with pytest.raises(UserExists):
        await store.users.create("alice", "other")
    store = await stores.reopen(store)
    user = await store.users.get("alice")
    assert user is not None and (user.smpps_credential.quota.max_bindings,
                                 user.mt_credential.quota.smpps_throughput) == (3, 50.0)
    assert verify_password("pa55word", user.password_hash)
    assert not verify_password("other", user.password_hash)
    assert await store.users.get("bob") is None
    await store.close()
    assert all(b"pa55word" not in f.read_bytes() for f in stores.path.parent.iterdir())


# --- opening --------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_one_process_per_store_file(stores: Stores, store: SqliteStore) -> None:
    """Breaks if a second daemon can open the same store (both would send every queued
    message)."""
    with pytest.raises(StoreError, match="in use"):
        stores.open()


@pytest_twisted.ensureDeferred
async def test_newer_schema_is_refused(stores: Stores, store: SqliteStore) -> None:
    """Breaks if an older smscd opens (and corrupts) a database migrated by a newer one."""
    await store.close()
    with sqlite3.connect(stores.path) as conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer"):
        stores.open()


@pytest_twisted.ensureDeferred
async def test_payloads_are_the_bytes_given(stores: Stores, store: SqliteStore) -> None:
    """Breaks if the store pickles or re-encodes what callers give it."""
    m = message()
    await store.messages.accept(m, "q")
    await store.queues.publish("raw", "k", b"\x00\xffbytes")
    await store.close()
    with sqlite3.connect(stores.path) as conn:
        assert conn.execute("SELECT body FROM messages").fetchone()[0] == dump_message(m)
        payloads = {k: p for k, p in conn.execute("SELECT key, payload FROM queue_entries")}
    assert payloads == {m.id: dump_message(m), "k": b"\x00\xffbytes"}
