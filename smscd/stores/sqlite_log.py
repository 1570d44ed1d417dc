# tests: tests/integration/test_sqlite_store.py, test_store_accept_many.py,
# test_store_history.py
"""`MessageLog` and `Correlations` on the embedded store (users: sqlite_users.py).

Every change is one op in the group-commit writer. Reads are ops too (a read then sees
every change submitted before it, and its Deferred fires after that batch commits), except
what a bounded in-memory cache of recent state answers at once:
- correlations, remembered when `put` is submitted: a receipt racing its own correlation
  still finds it (committed-or-pending, as a read in the writer would see it; if the put
  fails the entry stays, and is still true: the vendor gave that id);
- messages, remembered when `accept` / `accept_many` commits (and `replace`):
  `record_state` with `publish` then costs one op, not a read and two writes in three
  commits.
A miss (an old message, after a restart) reads through the writer as before.
Message bodies are `dump_message` bytes. Every later change of a message (sent, state,
cancel) also inserts its `message_events` row (the history) among the rows of the same op:
no op, commit or read more; the history keeps even a late intermediate state that the
part's state ignores. Its "accepted" event is the `messages` row itself (an event row per
message would cost every accept an insert for what that row says already). The log is
never purged today; a purge must take the events too.
"""
from __future__ import annotations

import sqlite3
from collections import OrderedDict
from functools import partial
from typing import Any, Sequence

from twisted.internet.defer import Deferred, fail, succeed

from smscd.message import Message, dump_message, load_message
from smscd.smpp.message_state import MessageState, is_final, state_from_int
from smscd.stores.group_commit import GroupCommitWriter
from smscd.stores.interfaces import (Acceptance, AlsoRows, MessageRecord, PartRecord,
                                     Publication, PublishFor, QueueEntry, Schedule,
                                     StateEvent)
from smscd.stores.ops import Read, Rows, Statement
from smscd.stores.sqlite_queues import ReactorTime, RowList, SqliteQueues
from smscd.stores.states import overall_state

_INTERMEDIATE = tuple(int(s) for s in MessageState if not is_final(s))
_FINAL = frozenset(int(s) for s in MessageState if is_final(s))
DEFAULT_RECENT = 100_000      # cached messages / correlations: ~60 / ~35 MB at most


class SqliteMessageLog:
    def __init__(self, writer: GroupCommitWriter, queues: SqliteQueues,
                 correlations: SqliteCorrelations, clock: ReactorTime,
                 recent: int = DEFAULT_RECENT) -> None:
        self._writer = writer
        self._queues = queues
        self._correlations = correlations
        self._clock = clock
        self._recent: OrderedDict[str, Message] = OrderedDict()
        self._recent_max = recent

    def accept(self, message: Message, queue: str, also: AlsoRows = ()) -> Deferred[None]:
        now = self._clock.seconds()
        body = dump_message(message)
        delay = 0.0 if message.schedule_at is None else message.schedule_at - now
        return self._queues.publish_with(
            ((INSERT_MESSAGE, (message.id, message.user, now, body)),) + also,
            queue, message.id, body, message, delay, message.expires_at, None,
            partial(self._remember, message))

    def accept_many(self, accepts: Sequence[Acceptance], also: AlsoRows = (),
                    publish: Sequence[Publication] = ()) -> Deferred[None]:
        """One op for all: a REST batch costs one multi-row insert per table."""
        if not accepts and not also and not publish:
            return succeed(None)
        now = self._clock.seconds()
        log_rows: list[tuple[Statement, tuple[Any, ...]]] = []
        items: list[tuple[str, str, bytes, object | None, float, float | None]] = []
        for a in accepts:
            m = a.message
            body = dump_message(m)
            log_rows.append((INSERT_MESSAGE, (m.id, m.user, now, body)))
            if a.also:
                log_rows.extend(a.also)
            at = m.schedule_at
            items.append((a.queue, m.id, body, m, now if at is None or at < now else at,
                           m.expires_at))
        items.extend((p.queue, p.key, p.payload, p.obj, now, p.expires_at) for p in publish)
        messages = [a.message for a in accepts]
        return self._queues.publish_all_with(tuple(log_rows) + also, items,
                                             partial(self._remember_all, messages))

    def _remember_all(self, messages: list[Message]) -> None:
        recent = self._recent
        for m in messages:
            recent[m.id] = m
        while len(recent) > self._recent_max:
            recent.popitem(last=False)

    def _remember(self, message: Message) -> None:
        recent = self._recent
        recent[message.id] = message
        if len(recent) > self._recent_max:
            recent.popitem(last=False)

    def record_sent(self, message_id: str, part_index: int, connector: str,
                    vendor_id: str) -> Deferred[None]:
        return self._writer.submit(Rows(_sent(message_id, part_index, connector, vendor_id,
                                              self._clock.seconds())))

    def record_accepted(self, message_id: str, part_index: int, connector: str,
                        vendor_id: str, correlation_key: str, expires_at: float,
                        ack: QueueEntry | None = None) -> Deferred[None]:
        """AcceptedParts: record_sent + the correlation (+ the ack) as one op."""
        rows = _sent(message_id, part_index, connector, vendor_id, self._clock.seconds()) + (
            self._correlations.remember(connector, correlation_key, message_id, part_index,
                                        expires_at),)
        if ack is None:
            return self._writer.submit(Rows(rows))
        return self._queues.ack_with(rows, ack)

    def record_state(self, message_id: str, part_index: int, state: int, error: str,
                     at: float, publish: PublishFor | None = None,
                     ack: QueueEntry | None = None) -> Deferred[None]:
        rows: RowList = ((RECORD_STATE, (message_id, part_index, int(state), error, at)),
                         (INSERT_EVENT, (message_id, part_index, at, "state", int(state), error,
                                         None, None)))
        if publish is None:
            return self._state_and(rows, None, None, ack)
        message = self._recent.get(message_id)
        if message is None:            # not recent: read it first (one more commit)
            d: Deferred[Message | None] = self._writer.submit(
                Read(partial(_get_body, message_id)))
            return d.addCallback(lambda m: self._state_and(rows, m, publish, ack))
        if len(message.parts) == 1 and int(state) in _FINAL:
            del self._recent[message_id]       # its last receipt, in all likelihood
        return self._state_and(rows, message, publish, ack)

    def _state_and(self, rows: RowList, message: Message | None, publish: PublishFor | None,
                   ack: QueueEntry | None) -> Deferred[None]:
        acked = None
        try:
            out = None if publish is None else publish(message)
            if ack is not None:
                ack_rows, acked = self._queues.acking(ack)
                rows += ack_rows
        except Exception:
            return fail()
        if out is None:
            return self._writer.submit(Rows(rows), acked)
        return self._queues.publish_with(rows, out.queue, out.key, out.payload, out.obj,
                                         0.0, out.expires_at, None, acked)

    def get(self, message_id: str, user: str) -> Deferred[MessageRecord | None]:
        return self._writer.submit(Read(partial(_get_message, message_id, user)))

    def search(self, user: str, since: float, until: float, after: int, limit: int
               ) -> Deferred[list[tuple[int, MessageRecord]]]:
        """REST listing: `user`'s messages accepted in [since, until), with row id > `after`
        (the cursor), oldest first, at most `limit`; (row id, record) pairs."""
        return self._writer.submit(Read(partial(_search, user, since, until, after, limit)))

    def history(self, message_id: str, user: str) -> Deferred[list[StateEvent]]:
        return self._writer.submit(Read(partial(_history, message_id, user)))

    def find(self, message_id: str) -> Deferred[MessageRecord | None]:
        return self._writer.submit(Read(partial(_get_message, message_id, None)))

    def cancel(self, message_id: str, user: str, queue: str) -> Deferred[bool]:
        """cancel_sm: if `user`'s message is still queued and not leased, remove it and mark
        every part DELETED, in one durable change. False if it is gone, sent or not theirs."""
        queued = self._queued(queue, message_id)
        if queued is None or queued.user != user:
            return succeed(False)
        return self._queues.remove_with(
            partial(_cancel_all, message_id, len(queued.parts), self._clock.seconds()),
            queue, message_id)

    def replace(self, message: Message, queue: str) -> Deferred[bool]:
        """replace_sm: if the message is still queued, not leased and `message.user`'s,
        store `message` as its new body in the log and the queue, with its schedule_at and
        expires_at as the entry's ready time and expiry, in one durable change."""
        queued = self._queued(queue, message.id)
        if queued is None or queued.user != message.user:
            return succeed(False)
        body = dump_message(message)
        d = self._queues.replace_with(partial(_replace_body, message.id, body), queue,
                                      message.id, body, message,
                                      Schedule(message.schedule_at, message.expires_at))
        return d.addCallback(self._replaced, message)

    def reroute(self, message: Message, queue: str, to_queue: str,
                delay: float = 0.0) -> Deferred[bool]:
        """Fall-through: the queued message moves to `to_queue` with `message` as its body
        in the log and the queue, in one durable change."""
        body = dump_message(message)
        d = self._queues.move_with(partial(_replace_body, message.id, body), queue,
                                   message.id, to_queue, body, message, delay)
        return d.addCallback(self._replaced, message)

    def _replaced(self, done: bool, message: Message) -> bool:
        if done and message.id in self._recent:
            self._recent[message.id] = message
        return done

    def _queued(self, queue: str, message_id: str) -> Message | None:
        entry = self._queues.peek(queue, message_id)
        if entry is None:
            return None
        return entry.obj if isinstance(entry.obj, Message) else load_message(entry.payload)


class SqliteCorrelations:
    def __init__(self, writer: GroupCommitWriter, clock: ReactorTime,
                 recent: int = DEFAULT_RECENT) -> None:
        self._writer = writer
        self._clock = clock
        self._recent: OrderedDict[tuple[str, str], tuple[str, int, float]] = OrderedDict()
        self._recent_max = recent

    def put(self, connector: str, vendor_id: str, message_id: str, part_index: int,
            expires_at: float) -> Deferred[None]:
        return self._writer.submit(Rows((self.remember(connector, vendor_id, message_id,
                                                       part_index, expires_at),)))

    def remember(self, connector: str, vendor_id: str, message_id: str, part_index: int,
                 expires_at: float) -> tuple[Statement, tuple[Any, ...]]:
        """Cache the correlation now; the row to write for it."""
        recent = self._recent
        recent[(connector, vendor_id)] = (message_id, part_index, expires_at)
        if len(recent) > self._recent_max:
            recent.popitem(last=False)
        return PUT_CORRELATION, (connector, vendor_id, message_id, part_index, expires_at)

    def get(self, connector: str, vendor_id: str) -> Deferred[tuple[str, int] | None]:
        now = self._clock.seconds()
        hit = self._recent.get((connector, vendor_id))
        if hit is not None:
            return succeed(None if hit[2] <= now else (hit[0], hit[1]))
        return self._writer.submit(Read(partial(_get_correlation, connector, vendor_id, now)))

    def purge(self, limit: int = 10_000) -> Deferred[int]:
        """Delete up to `limit` expired correlations; fires with how many went."""
        return self._writer.submit(partial(_purge_correlations, self._clock.seconds(), limit))


# --- SQL, run in the writer thread ----------------------------------------------------------

INSERT_MESSAGE = Statement("INSERT INTO messages (id, user, accepted_at, body) VALUES ",
                           "(?, ?, ?, ?)")
RECORD_SENT = Statement(
    "INSERT INTO message_parts (message_id, part_index, connector, vendor_id, sent_at) VALUES ",
    "(?, ?, ?, ?, ?)",
    " ON CONFLICT (message_id, part_index) DO UPDATE SET connector = excluded.connector, "
    "vendor_id = excluded.vendor_id, sent_at = excluded.sent_at")
# An intermediate state never overwrites a final one (receipts arrive out of order).
RECORD_STATE = Statement(
    "INSERT INTO message_parts (message_id, part_index, state, error, state_at) VALUES ",
    "(?, ?, ?, ?, ?)",
    " ON CONFLICT (message_id, part_index) DO UPDATE SET state = excluded.state, "
    "error = excluded.error, state_at = excluded.state_at "
    f"WHERE message_parts.state IS NULL OR message_parts.state IN {_INTERMEDIATE} "
    f"OR excluded.state NOT IN {_INTERMEDIATE}")
INSERT_EVENT = Statement("INSERT INTO message_events (message_id, part_index, at, event, "
                         "state, error, connector, vendor_id) VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?)")
PUT_CORRELATION = Statement(
    "INSERT OR REPLACE INTO correlations (connector, vendor_id, message_id, part_index, "
    "expires_at) VALUES ", "(?, ?, ?, ?, ?)")


def _sent(message_id: str, part_index: int, connector: str, vendor_id: str,
          at: float) -> RowList:
    return ((RECORD_SENT, (message_id, part_index, connector, vendor_id, at)),
            (INSERT_EVENT, (message_id, part_index, at, "sent", None, "", connector, vendor_id)))


def _replace_body(message_id: str, body: bytes, conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE messages SET body = ? WHERE id = ?", (body, message_id))


def _cancel_all(message_id: str, n_parts: int, at: float, conn: sqlite3.Connection) -> None:
    deleted = int(MessageState.DELETED)
    RECORD_STATE.write(conn, [(message_id, i, deleted, "cancelled", at) for i in range(n_parts)])
    conn.execute(INSERT_EVENT.sql(1), (message_id, None, at, "cancelled", deleted, "", None,
                                       None))


def _get_message(message_id: str, user: str | None,
                 conn: sqlite3.Connection) -> MessageRecord | None:
    row = conn.execute("SELECT accepted_at, body, user FROM messages WHERE id = ?",
                       (message_id,)).fetchone()
    if row is None or (user is not None and row[2] != user):
        return None
    accepted_at, body, _ = row
    message = load_message(body)
    found: dict[int, PartRecord] = {}
    for index, connector, vendor_id, sent_at, state, error, state_at in conn.execute(
            "SELECT part_index, connector, vendor_id, sent_at, state, error, state_at "
            "FROM message_parts WHERE message_id = ? ORDER BY part_index", (message_id,)):
        found[index] = PartRecord(index, connector, vendor_id, sent_at,
                                  None if state is None else state_from_int(state),
                                  error, state_at)
    parts = tuple(found.get(i, PartRecord(i)) for i in range(len(message.parts)))
    times = [accepted_at] + [t for p in parts for t in (p.sent_at, p.state_at) if t is not None]
    return MessageRecord(message, accepted_at, overall_state(p.state for p in parts),
                         max(times), parts)


def _history(message_id: str, user: str, conn: sqlite3.Connection) -> list[StateEvent]:
    """The "accepted" event is the message's own row (one insert less per message)."""
    row = conn.execute("SELECT user, accepted_at FROM messages WHERE id = ?",
                       (message_id,)).fetchone()
    if row is None or row[0] != user:
        return []
    return [StateEvent(None, row[1], None, "accepted")] + [
        StateEvent(part_index, at, None if state is None else state_from_int(state), event,
                   error, connector, vendor_id)
        for part_index, at, event, state, error, connector, vendor_id in conn.execute(
            "SELECT part_index, at, event, state, error, connector, vendor_id "
            "FROM message_events WHERE message_id = ? ORDER BY at, rowid", (message_id,))]


def _search(user: str, since: float, until: float, after: int, limit: int,
            conn: sqlite3.Connection) -> list[tuple[int, MessageRecord]]:
    rows = conn.execute("SELECT rowid, id FROM messages WHERE user = ? AND accepted_at >= ? "
                        "AND accepted_at < ? AND rowid > ? ORDER BY rowid LIMIT ?",
                        (user, since, until, after, limit)).fetchall()
    found = [(rowid, _get_message(message_id, user, conn)) for rowid, message_id in rows]
    return [(rowid, record) for rowid, record in found if record is not None]


def _get_body(message_id: str, conn: sqlite3.Connection) -> Message | None:
    row = conn.execute("SELECT body FROM messages WHERE id = ?", (message_id,)).fetchone()
    return None if row is None else load_message(row[0])


def _get_correlation(connector: str, vendor_id: str, now: float,
                     conn: sqlite3.Connection) -> tuple[str, int] | None:
    row = conn.execute("SELECT message_id, part_index, expires_at FROM correlations "
                       "WHERE connector = ? AND vendor_id = ?", (connector, vendor_id)).fetchone()
    if row is None or row[2] <= now:
        return None
    return row[0], row[1]


def _purge_correlations(now: float, limit: int, conn: sqlite3.Connection) -> int:
    return conn.execute(
        "DELETE FROM correlations WHERE (connector, vendor_id) IN (SELECT connector, vendor_id "
        "FROM correlations WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
        (now, limit)).rowcount
