# tests: tests/integration/test_sqlite_store.py, tests/integration/test_store_crash.py
"""The embedded store: queues, message log, correlations and users in one SQLite file.

`SqliteStore.open(path, reactor)` locks the file for this process, sets WAL mode and
synchronous=FULL, migrates the schema, rebuilds the in-memory queue state from the table
(every un-acked entry ready again: at-least-once), and starts the one writer thread
(`group_commit.GroupCommitWriter`). Its four facets implement the protocols of
`interfaces.py`: `store.queues`, `store.messages`, `store.correlations`, `store.users`.
Every change goes through the writer, so a message log row and its queue entry, or a batch
of acks, commit together; Deferreds fire once per batch on the reactor thread.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path
from typing import IO, Any, Callable, Protocol

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from smscd.stores.group_commit import CommitStats, GroupCommitWriter
from smscd.stores.interfaces import QueueEntry, StoreError
from smscd.stores.schema import migrate
from smscd.stores.sqlite_billing import SqliteBilling, load_billing
from smscd.stores.sqlite_log import DEFAULT_RECENT, SqliteCorrelations, SqliteMessageLog
from smscd.stores.sqlite_mo_parts import SqliteMoParts
from smscd.stores.sqlite_provisioning import SqliteProvisioning
from smscd.stores.sqlite_queues import DelayedCall, SqliteQueues
from smscd.stores.sqlite_users import SqliteUsers
from smscd.stores.sqlite_api_keys import SqliteApiKeys
from smscd.stores.sqlite_idempotency import SqliteIdempotency
from smscd.stores.sqlite_inbound import SqliteInbound
from smscd.stores.sqlite_webhooks import SqliteWebhookEndpoints

log = Logger()


class StoreReactor(Protocol):
    """What the store needs of the reactor: IReactorTime and IReactorThreads."""
    def seconds(self) -> float: ...
    def callLater(self, delay: float, callable: Callable[..., Any], *args: Any,
                  **kw: Any) -> DelayedCall: ...
    def callFromThread(self, callable: Callable[..., Any], *args: Any, **kw: Any) -> None: ...
    def getThreadPool(self) -> ThreadPool: ...


class SqliteStore:
    queues: SqliteQueues
    messages: SqliteMessageLog
    correlations: SqliteCorrelations
    users: SqliteUsers
    provisioning: SqliteProvisioning
    mo_parts: SqliteMoParts
    billing: SqliteBilling

    def __init__(self, writer: GroupCommitWriter, reactor: StoreReactor, lock: IO[bytes],
                 first_id: int, sweep_interval: float, purge_interval: float,
                 recent: int = DEFAULT_RECENT) -> None:
        self._writer = writer
        self._reactor = reactor
        self._lock = lock
        self._sweep_interval = sweep_interval
        self._purge_interval = purge_interval
        self._timers: list[DelayedCall] = []
        self._closing: Deferred[None] | None = None
        self.queues = SqliteQueues(writer, reactor, first_id)
        self.correlations = SqliteCorrelations(writer, reactor, recent)
        self.messages = SqliteMessageLog(writer, self.queues, self.correlations, reactor,
                                         recent)
        self.users = SqliteUsers(writer, reactor, reactor)
        self.provisioning = SqliteProvisioning(writer, reactor)
        self.mo_parts = SqliteMoParts(writer, self.queues)
        self.api_keys = SqliteApiKeys(writer, reactor)            # REST API (rest_api/)
        self.idempotency = SqliteIdempotency(writer, reactor)
        self.inbound = SqliteInbound(writer, reactor)
        self.webhook_endpoints = SqliteWebhookEndpoints(writer)

    @classmethod
    def open(cls, path: str | os.PathLike[str], reactor: StoreReactor, *,
             max_batch: int = 256, group_commit_interval_ms: float = 2.0,
             sweep_interval: float = 1.0, purge_interval: float = 60.0,
             checkpoint_interval: float = 1.0, recent: int = DEFAULT_RECENT) -> SqliteStore:
        """Open (creating if needed) the store at `path`; blocking, call it at startup.
        `recent`: how many recent messages and correlations to keep in memory (each)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = _lock(path)
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                   cached_statements=512)
            try:
                _configure(conn)
                migrate(conn)
                rows = conn.execute("SELECT id, queue, key, payload, attempts, available_at, "
                                    "expires_at FROM queue_entries ORDER BY id").fetchall()
                billing = load_billing(conn, reactor.seconds())
            except BaseException:
                conn.close()
                raise
        except BaseException:
            lock.close()
            raise
        first_id = rows[-1][0] + 1 if rows else 1
        writer = GroupCommitWriter(conn, reactor, max_batch=max_batch,
                                   interval_ms=group_commit_interval_ms,
                                   checkpoint_interval=checkpoint_interval)
        store = cls(writer, reactor, lock, first_id, sweep_interval, purge_interval, recent)
        store.billing = SqliteBilling(writer, reactor, billing)
        for entry_id, queue, key, payload, attempts, available_at, expires_at in rows:
            store.queues.restore(QueueEntry(entry_id, queue, key, payload, None, attempts,
                                            expires_at), available_at)
        log.info("store {path} open: {n} queued entries to hand out again", path=str(path),
                 n=len(rows))
        store._schedule_sweep()
        store._schedule_purge()
        return store

    @property
    def stats(self) -> CommitStats:
        """Group-commit counters (batches, commits, ops, reruns)."""
        return self._writer.stats

    def close(self) -> Deferred[None]:
        """Commit what was submitted, stop the writer, release the file."""
        if self._closing is None:
            for timer in self._timers:
                if timer.active():
                    timer.cancel()
            self.queues.stop()
            self._closing = Deferred()
            self._writer.close().addCallback(self._closed)
        d: Deferred[None] = Deferred()
        self._closing.addCallback(d.callback)
        return d

    def _closed(self, _: None) -> None:
        self._lock.close()
        assert self._closing is not None
        self._closing.callback(None)

    def _schedule_sweep(self) -> None:
        self._timers = [t for t in self._timers if t.active()]
        self._timers.append(self._reactor.callLater(self._sweep_interval, self._sweep))

    def _sweep(self) -> None:
        self.queues.sweep()
        self._schedule_sweep()

    def _schedule_purge(self, delay: float | None = None) -> None:
        self._timers = [t for t in self._timers if t.active()]
        self._timers.append(self._reactor.callLater(
            self._purge_interval if delay is None else delay, self._purge))

    def _purge(self) -> None:
        limit = 10_000
        d = self.correlations.purge(limit)

        def again(n: int) -> None:
            if self._closing is None:     # a full chunk: more may be waiting
                self._schedule_purge(0.1 if n >= limit else None)

        def failed(f: Failure) -> None:
            log.failure("purging expired correlations failed", f)
            if self._closing is None:
                self._schedule_purge()
        d.addCallbacks(again, failed)


def _lock(path: Path) -> IO[bytes]:
    """One process per store file: two would each hand out every queued entry."""
    lock = open(path.with_name(path.name + ".lock"), "ab")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise StoreError(f"{path} is in use by another process") from None
    return lock


def _configure(conn: sqlite3.Connection) -> None:
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(f"cannot put the store in WAL mode (got {mode!r})")
    conn.execute("PRAGMA synchronous = FULL")        # fsync the WAL at every commit
    conn.execute("PRAGMA wal_autocheckpoint = 0")    # the writer does it between batches
    conn.execute("PRAGMA journal_size_limit = 67108864")
    conn.execute("PRAGMA cache_size = -32768")       # 32 MiB
    conn.execute("PRAGMA temp_store = MEMORY")
