# tests: tests/integration/test_sqlite_store.py
"""`Queues` on the embedded store: durable rows in `queue_entries`, consumer state in memory.

Rules:
- A published entry becomes visible to `take` only once its insert is committed, so nothing
  is sent upstream that a restart could forget.
- Leases exist only in memory (`MemoryQueue`); a restart hands every un-acked entry out
  again. This is at-least-once: an entry in flight at a crash may be sent twice.
- ack/retry/dead_letter/release change the memory state at once (the entry is leased, so
  no one else can see it in between) and the row in the next group commit; their Deferreds
  fire when that is durable. remove/replace/move act only on entries not leased.
- `move` keeps the entry's id and expiry and resets its attempts (they counted another
  connector's failures); one UPDATE, so the entry is in exactly one queue on disk.
- Expired entries are never handed out: they move to `dead_letters` (reason "expired") in
  one durable change, are logged with a count, and go to the queue's `on_expired` handler.
"""
from __future__ import annotations

import itertools
import sqlite3
from dataclasses import replace
from functools import partial
from typing import Any, Callable, Protocol, Sequence

from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.stores.group_commit import GroupCommitWriter
from smscd.stores.interfaces import (DeadLetter, ExpiredHandler, QueueEntry, Schedule,
                                     StoreError)
from smscd.stores.memqueue import MemoryQueue
from smscd.stores.ops import Read, Rows, Statement

log = Logger()

SqlOp = Callable[[sqlite3.Connection], Any]
_ID: Any = object()                     # publish_with's default result: the entry id
RowList = tuple[tuple[Statement, tuple[Any, ...]], ...]

INSERT_ENTRY = Statement("INSERT INTO queue_entries (id, queue, key, payload, attempts, "
                         "available_at, expires_at) VALUES ", "(?, ?, ?, ?, ?, ?, ?)")
DELETE_ENTRY = Statement("DELETE FROM queue_entries WHERE id IN (", "?", ")", sep=",")
INSERT_DEAD = Statement("INSERT INTO dead_letters (queue, key, payload, attempts, reason, "
                        "dead_at, expires_at) VALUES ", "(?, ?, ?, ?, ?, ?, ?)")


class DelayedCall(Protocol):
    def cancel(self) -> None: ...
    def active(self) -> bool: ...
    def getTime(self) -> float: ...


class ReactorTime(Protocol):
    """What we need of IReactorTime: the reactor, or `task.Clock` in tests."""
    def seconds(self) -> float: ...
    def callLater(self, delay: float, callable: Callable[..., Any], *args: Any,
                  **kw: Any) -> DelayedCall: ...


class SqliteQueues:
    def __init__(self, writer: GroupCommitWriter, clock: ReactorTime, first_id: int) -> None:
        self._writer = writer
        self._clock = clock
        self._ids = itertools.count(first_id)
        self._queues: dict[str, MemoryQueue] = {}
        self._waiters: dict[str, list[Deferred[None]]] = {}
        self._timers: dict[str, DelayedCall] = {}
        self._expired_handlers: dict[str, ExpiredHandler] = {}
        self._grown: set[str] = set()       # queues that gained entries in this batch
        writer.after_batch = self._wake_grown

    def _q(self, queue: str) -> MemoryQueue:
        q = self._queues.get(queue)
        if q is None:
            q = self._queues[queue] = MemoryQueue()
        return q

    def restore(self, entry: QueueEntry, available_at: float) -> None:
        """Open: put back an entry read from the table (unleased, obj None)."""
        self._q(entry.queue).add(entry, available_at, self._clock.seconds())

    # --- Queues -----------------------------------------------------------------------------

    def publish(self, queue: str, key: str, payload: bytes, obj: object | None = None,
                delay: float = 0.0, expires_at: float | None = None) -> Deferred[int]:
        return self.publish_with((), queue, key, payload, obj, delay, expires_at)

    def publish_with(self, also: RowList, queue: str, key: str, payload: bytes,
                     obj: object | None, delay: float, expires_at: float | None,
                     result: object = _ID,
                     on_commit: Callable[[], object] | None = None) -> Deferred[Any]:
        """`publish`, with the rows `also` written in the same transaction (accept), firing
        with `result` (default: the entry id); `on_commit` runs first, once durable."""
        available_at = self._clock.seconds() + max(0.0, delay)
        entry = QueueEntry(next(self._ids), queue, key, payload, obj, 0, expires_at)
        row = (entry.id, queue, key, payload, 0, available_at, expires_at)
        op: Rows[Any] = Rows(also + ((INSERT_ENTRY, row),),
                             entry.id if result is _ID else result)
        return self._writer.submit(op, partial(self._published, entry, available_at,
                                               on_commit))

    def _published(self, entry: QueueEntry, available_at: float,
                   on_commit: Callable[[], object] | None) -> None:
        self._q(entry.queue).add(entry, available_at, self._clock.seconds())
        self._grown.add(entry.queue)        # consumers are woken after the whole batch
        if on_commit is not None:
            on_commit()

    def publish_all_with(self, also: RowList,
                         items: Sequence[tuple[str, str, bytes, object | None, float,
                                               float | None]],
                         on_commit: Callable[[], object] | None = None) -> Deferred[None]:
        """Publish every (queue, key, payload, obj, available_at, expires_at) of `items`,
        with the rows `also`, as ONE op (accept_many): one multi-row insert, no Deferred per
        entry, consumers woken once per queue. Entries are visible only once committed."""
        ids = self._ids
        entries = [(QueueEntry(next(ids), queue, key, payload, obj, 0, expires_at), available_at)
                   for queue, key, payload, obj, available_at, expires_at in items]
        rows = also + tuple((INSERT_ENTRY, (e.id, e.queue, e.key, e.payload, 0, available_at,
                                            e.expires_at)) for e, available_at in entries)
        return self._writer.submit(Rows(rows), partial(self._published_all, entries, on_commit))

    def _published_all(self, entries: list[tuple[QueueEntry, float]],
                       on_commit: Callable[[], object] | None) -> None:
        now, grown, last = self._clock.seconds(), self._grown, None
        for entry, available_at in entries:
            if entry.queue != last:
                q, last = self._q(entry.queue), entry.queue
                grown.add(last)
            q.add(entry, available_at, now)
        if on_commit is not None:
            on_commit()

    def _wake_grown(self) -> None:
        if self._grown:
            grown, self._grown = self._grown, set()
            for queue in grown:
                self._wake(queue)

    def take(self, queue: str, max_n: int) -> list[QueueEntry]:
        q = self._queues.get(queue)
        if q is None:
            return []
        taken, expired = q.take(max_n, self._clock.seconds())
        if expired:
            self._expire(queue, expired)
        return taken

    def when_ready(self, queue: str) -> Deferred[None]:
        q = self._q(queue)
        q.promote(self._clock.seconds())
        if q.n_ready:
            return succeed(None)
        waiters = self._waiters.setdefault(queue, [])
        d: Deferred[None] = Deferred(lambda d: waiters.remove(d) if d in waiters else None)
        waiters.append(d)
        self._arm(queue)
        return d

    def ack(self, entry: QueueEntry) -> Deferred[None]:
        if not self._q(entry.queue).finish(entry):
            return fail(StoreError(f"queue entry {entry.id} is not leased"))
        return self._writer.submit(Rows(((DELETE_ENTRY, (entry.id,)),)))

    def ack_with(self, also: RowList, entry: QueueEntry) -> Deferred[None]:
        """`ack`, with the rows `also` written in the same transaction. The entry stays
        leased until that commits, so on failure the caller still holds it."""
        try:
            rows, acked = self.acking(entry)
        except StoreError:
            return fail()
        return self._writer.submit(Rows(also + rows), acked)

    def acking(self, entry: QueueEntry) -> tuple[RowList, Callable[[], None]]:
        """The rows that ack the leased `entry` within another op, and what to run once that
        op committed (the lease stays until then); StoreError if it is not leased."""
        if not self._q(entry.queue).leased(entry):
            raise StoreError(f"queue entry {entry.id} is not leased")
        return ((DELETE_ENTRY, (entry.id,)),), partial(self._acked, entry)

    def _acked(self, entry: QueueEntry) -> None:
        self._q(entry.queue).finish(entry)

    def retry(self, entry: QueueEntry, delay: float, reason: str) -> Deferred[None]:
        now = self._clock.seconds()
        new = replace(entry, attempts=entry.attempts + 1)
        available_at = now + max(0.0, delay)
        if not self._q(entry.queue).requeue(entry, new, available_at, now, front=False):
            return fail(StoreError(f"queue entry {entry.id} is not leased"))
        self._wake(entry.queue)
        return self._writer.submit(partial(_retry_entry, new.id, new.attempts, available_at,
                                           reason))

    def dead_letter(self, entry: QueueEntry, reason: str) -> Deferred[None]:
        if not self._q(entry.queue).finish(entry):
            return fail(StoreError(f"queue entry {entry.id} is not leased"))
        return self._writer.submit(_bury([entry], reason, self._clock.seconds()))

    def release(self, entry: QueueEntry) -> Deferred[None]:
        now = self._clock.seconds()
        if not self._q(entry.queue).requeue(entry, entry, now, now, front=True):
            return fail(StoreError(f"queue entry {entry.id} is not leased"))
        self._wake(entry.queue)
        return succeed(None)

    def remove(self, queue: str, key: str) -> Deferred[bool]:
        return self.remove_with(None, queue, key)

    def remove_with(self, also: SqlOp | None, queue: str, key: str) -> Deferred[bool]:
        """`remove`, with `also` run in the same transaction if the entry was there."""
        q = self._queues.get(queue)
        entry = q.remove_key(key) if q is not None else None
        if entry is None:
            return succeed(False)

        def undo(failure: Failure) -> Failure:
            self._q(queue).add(entry, self._clock.seconds(), self._clock.seconds())
            self._wake(queue)
            return failure
        d = self._writer.submit(partial(_remove_entry, also, entry.id))
        d.addErrback(undo)
        return d

    def replace(self, queue: str, key: str, payload: bytes, obj: object | None = None,
                schedule: Schedule | None = None) -> Deferred[bool]:
        return self.replace_with(None, queue, key, payload, obj, schedule)

    def replace_with(self, also: SqlOp | None, queue: str, key: str, payload: bytes,
                     obj: object | None, schedule: Schedule | None = None) -> Deferred[bool]:
        """`replace`, with `also` run in the same transaction if the entry was there. The
        new payload and schedule apply in memory at once (a consumer must not take the entry
        by its old schedule meanwhile) and are undone if the change fails while it waits."""
        q = self._queues.get(queue)
        now = self._clock.seconds()
        timing = None if schedule is None else (
            now if schedule.ready_at is None else schedule.ready_at, schedule.expires_at)
        found = q.replace_key(key, payload, obj, timing, now) if q is not None else None
        if found is None:
            return succeed(False)
        old, old_available_at = found
        if timing is not None:
            self._wake(queue)

        def undo(failure: Failure) -> Failure:
            self._q(queue).replace_key(key, old.payload, old.obj,
                                       (old_available_at, old.expires_at),
                                       self._clock.seconds())
            self._wake(queue)
            return failure
        d = self._writer.submit(partial(_replace_payload, also, old.id, payload, timing))
        d.addErrback(undo)
        return d

    def move(self, queue: str, key: str, to_queue: str, payload: bytes,
             obj: object | None = None, delay: float = 0.0) -> Deferred[bool]:
        return self.move_with(None, queue, key, to_queue, payload, obj, delay)

    def move_with(self, also: SqlOp | None, queue: str, key: str, to_queue: str,
                  payload: bytes, obj: object | None, delay: float) -> Deferred[bool]:
        """`move`, with `also` run in the same transaction if the entry was there. Between
        the call and the commit the entry is in neither queue, so no one can take it."""
        q = self._queues.get(queue)
        old = q.remove_key(key) if q is not None else None
        if old is None:
            return succeed(False)
        now = self._clock.seconds()
        new = QueueEntry(old.id, to_queue, key, payload, obj, 0, old.expires_at)
        available_at = now + max(0.0, delay)

        def moved(done: bool) -> bool:
            if done:
                self._q(to_queue).add(new, available_at, self._clock.seconds())
                self._wake(to_queue)
            return done

        def undo(failure: Failure) -> Failure:
            self._q(queue).add(old, now, self._clock.seconds())
            self._wake(queue)
            return failure
        d = self._writer.submit(partial(_move_entry, also, old.id, to_queue, payload,
                                        available_at))
        return d.addCallbacks(moved, undo)

    def waiting(self, queue: str) -> list[QueueEntry]:
        q = self._queues.get(queue)
        return q.waiting() if q is not None else []

    def peek(self, queue: str, key: str) -> QueueEntry | None:
        """The waiting (not leased) entry named `key`, if any."""
        q = self._queues.get(queue)
        return q.peek_key(key) if q is not None else None

    def depth(self, queue: str) -> int:
        q = self._queues.get(queue)
        return q.depth() if q is not None else 0

    def leased(self, queue: str) -> int:
        q = self._queues.get(queue)
        return q.n_leased if q is not None else 0

    def dead_letters(self, queue: str, limit: int = 100,
                     after_id: int = 0) -> Deferred[list[DeadLetter]]:
        return self._writer.submit(Read(partial(_list_dead, queue, limit, after_id)))

    def requeue_dead(self, dead_id: int) -> Deferred[bool]:
        new_id = next(self._ids)
        now = self._clock.seconds()
        d = self._writer.submit(partial(_unbury, dead_id, new_id, now))
        return d.addCallback(self._requeued, now)

    def purge_dead(self, queue: str) -> Deferred[int]:
        """Drop every dead letter of `queue` for good; fires with how many (operators)."""
        return self._writer.submit(partial(_purge_dead, queue))

    def _requeued(self, entry: QueueEntry | None, now: float) -> bool:
        if entry is None:
            return False
        self._q(entry.queue).add(entry, now, self._clock.seconds())
        self._wake(entry.queue)
        return True

    def on_expired(self, queue: str, handler: ExpiredHandler | None) -> None:
        if handler is None:
            self._expired_handlers.pop(queue, None)
        else:
            self._expired_handlers[queue] = handler

    def sweep(self) -> int:
        """Drop the waiting entries whose expiry passed (the store calls this every second)."""
        now, n = self._clock.seconds(), 0
        for name, q in self._queues.items():
            expired = q.expire_due(now)
            if expired:
                n += len(expired)
                self._expire(name, expired)
        return n

    def stop(self) -> None:
        for timer in self._timers.values():
            if timer.active():
                timer.cancel()
        self._timers.clear()

    # --- internals --------------------------------------------------------------------------

    def _expire(self, queue: str, entries: list[QueueEntry]) -> None:
        d = self._writer.submit(_bury(entries, "expired", self._clock.seconds()))

        def report(_: object) -> None:
            log.info("queue {queue}: {n} entries expired before delivery; kept as dead "
                     "letters", queue=queue, n=len(entries))
            handler = self._expired_handlers.get(queue)
            if handler is not None:
                try:
                    handler(entries)
                except Exception:
                    log.failure("queue {queue}: on_expired handler failed", queue=queue)

        d.addCallback(report)
        d.addErrback(lambda f: log.failure("queue {queue}: recording {n} expired entries failed",
                                           f, queue=queue, n=len(entries)))

    def _wake(self, queue: str) -> None:
        waiters = self._waiters.get(queue)
        if not waiters:
            return
        q = self._q(queue)
        q.promote(self._clock.seconds())
        if q.n_ready:
            del self._waiters[queue]
            for d in waiters:
                d.callback(None)
        else:
            self._arm(queue)

    def _arm(self, queue: str) -> None:
        """Schedule a wake-up for when the earliest delayed entry of `queue` is due."""
        at = self._q(queue).next_available()
        if at is None:
            return
        timer = self._timers.get(queue)
        if timer is not None and timer.active():
            if timer.getTime() <= at:
                return
            timer.cancel()
        delay = max(0.0, at - self._clock.seconds())
        self._timers[queue] = self._clock.callLater(delay, self._on_timer, queue)

    def _on_timer(self, queue: str) -> None:
        self._timers.pop(queue, None)
        self._wake(queue)


# --- SQL, run in the writer thread ----------------------------------------------------------

def _retry_entry(entry_id: int, attempts: int, available_at: float, reason: str,
                 conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE queue_entries SET attempts = ?, available_at = ?, last_error = ? "
                 "WHERE id = ?", (attempts, available_at, reason, entry_id))


def _remove_entry(also: SqlOp | None, entry_id: int, conn: sqlite3.Connection) -> bool:
    if conn.execute("DELETE FROM queue_entries WHERE id = ?", (entry_id,)).rowcount != 1:
        return False
    if also is not None:
        also(conn)
    return True


def _move_entry(also: SqlOp | None, entry_id: int, to_queue: str, payload: bytes,
                available_at: float, conn: sqlite3.Connection) -> bool:
    cur = conn.execute("UPDATE queue_entries SET queue = ?, payload = ?, attempts = 0, "
                       "available_at = ?, last_error = '' WHERE id = ?",
                       (to_queue, payload, available_at, entry_id))
    if cur.rowcount != 1:
        return False
    if also is not None:
        also(conn)
    return True


def _replace_payload(also: SqlOp | None, entry_id: int, payload: bytes,
                     timing: tuple[float, float | None] | None,
                     conn: sqlite3.Connection) -> bool:
    if timing is None:
        cur = conn.execute("UPDATE queue_entries SET payload = ? WHERE id = ?",
                           (payload, entry_id))
    else:
        cur = conn.execute("UPDATE queue_entries SET payload = ?, available_at = ?, "
                           "expires_at = ? WHERE id = ?", (payload, *timing, entry_id))
    if cur.rowcount != 1:
        return False
    if also is not None:
        also(conn)
    return True


def _bury(entries: list[QueueEntry], reason: str, now: float) -> Rows[None]:
    return Rows(tuple((INSERT_DEAD, (e.queue, e.key, e.payload, e.attempts, reason, now,
                                     e.expires_at)) for e in entries)
                + tuple((DELETE_ENTRY, (e.id,)) for e in entries))


def _list_dead(queue: str, limit: int, after_id: int,
               conn: sqlite3.Connection) -> list[DeadLetter]:
    rows = conn.execute(
        "SELECT id, queue, key, payload, attempts, reason, dead_at, expires_at "
        "FROM dead_letters WHERE queue = ? AND id > ? ORDER BY id LIMIT ?",
        (queue, after_id, limit)).fetchall()
    return [DeadLetter(*row) for row in rows]


def _purge_dead(queue: str, conn: sqlite3.Connection) -> int:
    return conn.execute("DELETE FROM dead_letters WHERE queue = ?", (queue,)).rowcount


def _unbury(dead_id: int, new_id: int, now: float,
            conn: sqlite3.Connection) -> QueueEntry | None:
    row = conn.execute("SELECT queue, key, payload, expires_at FROM dead_letters WHERE id = ?",
                       (dead_id,)).fetchone()
    if row is None:
        return None
    queue, key, payload, expires_at = row
    conn.execute("DELETE FROM dead_letters WHERE id = ?", (dead_id,))
    conn.execute(INSERT_ENTRY.sql(1), (new_id, queue, key, payload, 0, now, expires_at))
    return QueueEntry(new_id, queue, key, payload, None, 0, expires_at)
