# tests: tests/integration/test_sqlite_store.py
"""Group commit: one writer thread owns the SQLite connection and commits in batches.

Theory of operation:
- The reactor thread `submit`s ops. An op is a callable run in the writer thread with the
  connection, inside the batch's transaction. It must do nothing outside the database,
  because it may run twice (below). Its return value is the Deferred's result.
- The writer blocks for a first op, sleeps `interval_ms` while more arrive (unless it
  already holds `max_batch`), takes what arrived up to `max_batch`, runs them in one
  BEGIN IMMEDIATE ... COMMIT (with synchronous=FULL the COMMIT fsyncs the WAL), then
  hands every result back with ONE `reactor.callFromThread`.
  Deferreds therefore fire only once their change is durable, in submission order.
- The batch first runs the fast way (`ops.run_merged`: rows of `Rows` ops merged into
  multi-row statements, reads last, no SAVEPOINTs). One failing op must not fail the
  others: if anything raises, the transaction is rolled back and the batch runs again op by
  op, each under its own SAVEPOINT, so only the failing ops fail.
- If SQLite abandons the transaction itself (I/O error, disk full) or COMMIT fails, every
  op of the batch fails: nothing of it is durable.
- Every `checkpoint_interval` seconds, between batches, the writer copies the WAL back into
  the database file (see `_checkpoint`).
"""
from __future__ import annotations

import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol, TypeVar

from twisted.internet.defer import Deferred, fail
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.stores.interfaces import StoreError
from smscd.stores.ops import run_merged

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], T]
_Outcome = tuple[bool, Any]          # (True, result) or (False, exception)
_Item = tuple[Op[Any], "Deferred[Any]", "Callable[[], object] | None"]

log = Logger()


class ThreadReactor(Protocol):
    """What the writer needs of the reactor (IReactorThreads)."""
    def callFromThread(self, callable: Callable[..., Any], *args: Any, **kw: Any) -> None: ...


@dataclass
class CommitStats:
    """Counters written by the writer thread, read anywhere (plain ints)."""
    batches: int = 0          # transactions run (committed or not)
    commits: int = 0          # transactions committed
    ops: int = 0              # ops run (an op re-run after a failure counts once)
    reruns: int = 0           # batches re-run with savepoints because an op failed
    largest_batch: int = 0
    checkpoints: int = 0      # WAL checkpoints run between batches
    checkpoint_seconds: float = 0.0


_STOP = object()


class GroupCommitWriter:
    def __init__(self, connection: sqlite3.Connection, reactor: ThreadReactor, *,
                 max_batch: int = 256, interval_ms: float = 2.0,
                 checkpoint_interval: float = 1.0, name: str = "smscd-store") -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._conn = connection
        self._reactor = reactor
        self._max_batch = max_batch
        self._interval = max(0.0, interval_ms) / 1000.0
        self._checkpoint_interval = checkpoint_interval
        self._next_checkpoint = time.monotonic() + checkpoint_interval
        self._pending: queue.SimpleQueue[Any] = queue.SimpleQueue()   # lists of items, _STOP
        self._outbox: list[_Item] = []          # reactor thread: this turn's submissions
        self._carry: list[_Item] = []           # writer thread: received, not yet run
        self._stopping = False                  # writer thread: _STOP received
        self._closed = False
        self._stopped: Deferred[None] = Deferred()
        self.stats = CommitStats()
        # Reactor thread, after a batch's Deferreds fired: lets consumers be woken once per
        # batch rather than once per entry.
        self.after_batch: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, op: Op[T], on_commit: Callable[[], object] | None = None) -> Deferred[T]:
        """Run `op` in the next batch; the Deferred fires after that batch committed.
        `on_commit` (reactor thread) runs just before, if `op` succeeded: cheaper than a
        callback, and done before any callback of the caller's."""
        if self._closed:
            return fail(StoreError("store is closed"))
        d: Deferred[T] = Deferred()
        if not self._outbox:
            # One hand-over per reactor turn, not one per op: every put may wake the writer,
            # and a woken writer fights the reactor thread for the GIL.
            self._reactor.callFromThread(self._hand_over)
        self._outbox.append((op, d, on_commit))
        return d

    def _hand_over(self) -> None:
        if self._outbox:
            self._pending.put(self._outbox)
            self._outbox = []

    def close(self) -> Deferred[None]:
        """Commit everything submitted so far, then stop the thread and close the connection."""
        if not self._closed:
            self._closed = True
            self._hand_over()
            self._pending.put(_STOP)
        return self._stopped

    # --- the writer thread ---------------------------------------------------------------

    def _gather(self) -> list[_Item]:
        """The next batch: block for work, then gather for up to `interval`."""
        carry = self._carry
        if not carry and not self._stopping:
            first = self._pending.get()
            if first is _STOP:
                self._stopping = True
            else:
                carry.extend(first)
        if self._interval and len(carry) < self._max_batch and not self._stopping:
            # Sleep rather than wait on the queue: a waiting writer is woken by every
            # hand-over and takes the GIL from the reactor thread each time.
            time.sleep(self._interval)
        while len(carry) < self._max_batch and not self._stopping:
            try:
                more = self._pending.get_nowait()
            except queue.Empty:
                break
            if more is _STOP:
                self._stopping = True
            else:
                carry.extend(more)
        batch = carry[:self._max_batch]
        del carry[:self._max_batch]
        return batch

    def _run(self) -> None:
        while not (self._stopping and not self._carry):
            batch = self._gather()
            if batch:
                ops = [item[0] for item in batch]
                try:
                    outcomes = self._execute(ops)
                except Exception as e:          # a bug here must not strand the Deferreds
                    log.failure("store writer failed a batch of {n} ops", n=len(ops))
                    self._rollback()
                    outcomes = [(False, e)] * len(ops)
                self._reactor.callFromThread(self._deliver, batch, outcomes)
                if time.monotonic() >= self._next_checkpoint:
                    self._checkpoint()
        try:
            self._conn.close()
        finally:
            self._reactor.callFromThread(self._stopped.callback, None)

    def _execute(self, ops: list[Op[Any]]) -> list[_Outcome]:
        stats = self.stats
        stats.batches += 1
        stats.ops += len(ops)
        stats.largest_batch = max(stats.largest_batch, len(ops))
        try:
            results = self._attempt(ops, isolated=False)
        except _OpFailed:
            self._rollback()
            stats.reruns += 1
            try:
                results = self._attempt(ops, isolated=True)
            except _BatchFailed as e:
                self._rollback()
                return [(False, e.error)] * len(ops)
        except _BatchFailed as e:
            self._rollback()
            return [(False, e.error)] * len(ops)
        try:
            self._conn.execute("COMMIT")
        except Exception as e:
            log.failure("store commit failed; failing the batch of {n} ops", n=len(ops))
            self._rollback()
            return [(False, e)] * len(ops)
        stats.commits += 1
        return results

    def _attempt(self, ops: list[Op[Any]], isolated: bool) -> list[_Outcome]:
        """Run `ops` in a new transaction, left open. Not isolated: merged, and any failure
        raises _OpFailed. Isolated: each op alone under a SAVEPOINT; failures are outcomes."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except Exception as e:
            raise _BatchFailed(e) from e
        results: list[_Outcome] = []
        if not isolated:
            try:
                run_merged(conn, ops, results)
            except Exception as e:
                raise _OpFailed() from e
            return results
        for op in ops:
            conn.execute("SAVEPOINT op")
            try:
                results.append((True, op(conn)))
                conn.execute("RELEASE op")
            except Exception as e:
                if not conn.in_transaction:       # SQLite abandoned the whole transaction
                    raise _BatchFailed(e) from e
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
                results.append((False, e))
        return results

    def _deliver(self, batch: list[_Item], outcomes: list[_Outcome]) -> None:
        """Reactor thread: fire one batch's Deferreds, in submission order."""
        for (_, d, on_commit), (ok, value) in zip(batch, outcomes):
            if ok:
                if on_commit is not None:
                    on_commit()
                d.callback(value)
            else:
                d.errback(Failure(value))  # type: ignore[no-untyped-call]
        if self.after_batch is not None:
            self.after_batch()

    def _checkpoint(self) -> None:
        """Copy the WAL back into the database file, between batches (after the last one's
        Deferreds were handed over). SQLite's own auto-checkpoint is off: it runs inside a
        COMMIT every 1000 pages. Here, with no reader holding an older snapshot, a PASSIVE
        checkpoint copies every frame, so the next transaction restarts the WAL from its
        start and the file stays small; pages rewritten many times in between (queue and
        part rows) are copied once."""
        started = time.monotonic()
        try:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as e:
            log.warn("store checkpoint failed: {error}", error=e)
        done = time.monotonic()
        self.stats.checkpoints += 1
        self.stats.checkpoint_seconds += done - started
        self._next_checkpoint = done + self._checkpoint_interval

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                log.failure("store rollback failed")


class _OpFailed(Exception):
    pass


class _BatchFailed(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


