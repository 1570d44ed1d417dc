# tests: tests/integration/test_billing_store.py, tests/integration/test_billing_flow.py
"""`Billing` on the embedded store: balances and holds in memory, made durable in SQLite.

Theory of operation:
- One process owns the store file, so the balances in memory are authoritative: `reserve`
  decides and takes the money synchronously on the reactor thread, and two submits (from
  any binds) can never both spend the same money. What it took is written by the caller's
  `MessageLog.accept(..., also=reservation.rows)`: the hold and the message commit together
  or not at all. If the accept fails, `cancel` gives the money back in memory.
- Durable balance = `billing_accounts` row + the sum of its `billing_journal` deltas.
  The journal is insert-only, so its rows commute with every other row of a group-commit
  batch (ops.py) whatever the order of submission; a set by an operator folds the user's
  journal and replaces the value in one plain op, ordered with the rest. The journal is
  folded into the accounts at open and every `fold_every` rows.
- One `billing_records` row per billed message (rate > 0 or a limited sms_count; a free
  message with no sms_count costs nothing here), rewritten whole at each change: a record's
  changes are submitted in the order they happen, so the last write is the latest state.
- Hooks (`part_accepted`, `part_failed`, `message_failed`) change memory at once and write
  through the group-commit writer; a hook for a part already settled, or for a message with
  no open hold, does nothing. A write that fails is logged; the next open repairs it.
- Open (`load_billing`, blocking, before the writer starts) folds the journal and reconciles
  every record still held against the message log: a part the vendor took (sent_at, or a
  success state) is captured; a part failed for good before a vendor took it, or left
  unsent by a message no longer queued (expired, dead-lettered), is released. So a crash
  between the vendor's answer and the capture loses nothing.
- A released part stays released: a dead letter an operator requeues after its hold was
  released, or a refused part resent after a restart, goes out unbilled (never charged
  twice, never charged after a refund).
- Every timestamp comes from the injected clock.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from typing import Any, Iterable, Iterator, Protocol

from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.billing import (CAPTURED, HELD, RELEASED, ZERO, Account, BillingRecord, Hold,
                           RecordState, Refusal, charge, early_share, hold_for, parse_amount,
                           parse_delta, record_state, refund)
from smscd.smpp.message_state import MessageState, is_final
from smscd.stores.billing_interface import Reservation
from smscd.stores.group_commit import GroupCommitWriter
from smscd.stores.ops import Read, Rows, Statement

log = Logger(namespace="smscd.billing")

DEFAULT_CURRENCY = "EUR"
_SUCCESS = (int(MessageState.DELIVERED), int(MessageState.ACCEPTED))
_FAILED = frozenset(int(s) for s in MessageState if is_final(s)) - frozenset(_SUCCESS)


class Clock(Protocol):
    def seconds(self) -> float: ...


class BillingError(ValueError):
    """An operator's change that cannot be made (the message names the field)."""


@dataclass
class BillingState:
    """What `load_billing` read at open."""
    accounts: dict[str, Account] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)
    reconciled: int = 0            # records settled by the reconciliation


class SqliteBilling:
    def __init__(self, writer: GroupCommitWriter, clock: Clock, state: BillingState,
                 currency: str = DEFAULT_CURRENCY, unbilled_channels: Iterable[str] = (),
                 fold_every: int = 10_000) -> None:
        self._writer = writer
        self._clock = clock
        self._accounts = state.accounts
        self._holds = state.holds
        self.currency = currency
        # Channels with billing off (Jasmin's billing_feature=False): "smpp", "http". Any
        # other channel is billed, so a new ingress cannot be free by mistake.
        self.unbilled_channels = frozenset(unbilled_channels)
        self.fold_every = fold_every
        self._journal_rows = 0

    # --- accounts ------------------------------------------------------------------------
    def account(self, uid: str) -> Account:
        """A copy of `uid`'s quotas (unlimited if never set)."""
        found = self._accounts.get(uid)
        return Account(uid) if found is None else replace(found)

    def currency_of(self, uid: str) -> str:
        """The currency `uid` is billed in: its own, or the system-wide one."""
        found = self._accounts.get(uid)
        return (found.currency if found is not None else None) or self.currency

    def set_balance(self, uid: str, balance: Decimal | str | None) -> Deferred[Account]:
        try:
            value = None if balance is None else parse_amount(balance, "balance")
        except ValueError as e:
            return fail(BillingError(str(e)))
        account = self._account(uid)
        account.balance = value
        account.balance_epoch += 1
        return self._set(account, "balance", None if value is None else str(value))

    def add_balance(self, uid: str, delta: Decimal | str) -> Deferred[Account]:
        account = self._account(uid)
        try:
            amount = parse_delta(delta, "balance")
        except ValueError as e:
            return fail(BillingError(str(e)))
        if account.balance is None:
            return fail(BillingError(f"balance: {uid} has an unlimited balance; set one first"))
        if account.balance + amount < 0:
            return fail(BillingError(f"balance: {account.balance} + {amount} is negative"))
        account.balance += amount
        return self._journal(account, str(amount), 0)

    def set_sms_count(self, uid: str, sms_count: int | None) -> Deferred[Account]:
        if sms_count is not None and (not isinstance(sms_count, int) or
                                      isinstance(sms_count, bool) or sms_count < 0):
            return fail(BillingError(f"sms_count: {sms_count!r} is not a count >= 0"))
        account = self._account(uid)
        account.sms_count = sms_count
        account.sms_epoch += 1
        return self._set(account, "sms_count", sms_count)

    def add_sms_count(self, uid: str, delta: int) -> Deferred[Account]:
        account = self._account(uid)
        if not isinstance(delta, int) or isinstance(delta, bool):
            return fail(BillingError(f"sms_count: delta {delta!r} is not an integer"))
        if account.sms_count is None:
            return fail(BillingError(f"sms_count: {uid} has an unlimited sms_count; "
                                     "set one first"))
        if account.sms_count + delta < 0:
            return fail(BillingError(f"sms_count: {account.sms_count} + {delta} is negative"))
        account.sms_count += delta
        return self._journal(account, None, delta)

    def set_currency(self, uid: str, currency: str | None) -> Deferred[Account]:
        if currency is not None and not (len(currency) == 3 and currency.isalpha()
                                         and currency.isupper()):
            return fail(BillingError(f"currency: {currency!r} is not an ISO 4217 code "
                                     "such as EUR"))
        account = self._account(uid)
        account.currency = currency
        return self._set(account, "currency", currency)

    def _account(self, uid: str) -> Account:
        account = self._accounts.get(uid)
        if account is None:
            account = self._accounts[uid] = Account(uid)
        return account

    def _set(self, account: Account, column: str, value: object) -> Deferred[Account]:
        d = self._writer.submit(partial(_set_column, account.uid, column, value,
                                        self._clock.seconds()))
        return d.addCallback(lambda _: replace(account))

    def _journal(self, account: Account, money: str | None, sms: int) -> Deferred[Account]:
        self._count_journal()
        d: Deferred[None] = self._writer.submit(
            Rows(((INSERT_JOURNAL, (account.uid, money, sms)),), None))
        return d.addCallback(lambda _: replace(account))

    # --- acceptance ----------------------------------------------------------------------
    def reserve(self, uid: str, message_id: str, rate: Decimal, parts: int,
                early_percent: int | None, route: str, connector: str,
                channel: str) -> Reservation | Refusal:
        """Synchronous: decide and take the money in memory now; the returned rows go to
        `MessageLog.accept(also=...)` in this same reactor turn."""
        if channel in self.unbilled_channels:
            return Reservation(message_id, uid)
        if message_id in self._holds:
            raise ValueError(f"message_id: {message_id} already has a billing hold")
        account = self._accounts.get(uid) or Account(uid)
        decided = hold_for(account, message_id, rate, parts, early_percent, route, connector,
                           channel, account.currency or self.currency, self._clock.seconds())
        if decided is None or isinstance(decided, Refusal):
            return decided or Reservation(message_id, uid)
        money, sms = charge(decided)
        if money or sms:
            account = self._account(uid)
            if money:
                account.balance -= money    # type: ignore[operator]  # prepaid: not None
            if sms:
                account.sms_count -= sms    # type: ignore[operator]  # counted: not None
        self._holds[message_id] = decided
        rows: tuple[tuple[Statement, tuple[Any, ...]], ...] = (
            (UPSERT_RECORD, hold_row(decided)),)
        if money or sms:
            self._count_journal()
            rows += ((INSERT_JOURNAL, (uid, str(-money) if money else None, -sms)),)
        return Reservation(message_id, uid, money, sms, rows, account.balance_epoch,
                           account.sms_epoch)

    def cancel(self, reservation: Reservation) -> None:
        """The accept carrying `reservation.rows` failed: give back what it took."""
        hold = self._holds.pop(reservation.message_id, None)
        if hold is None or not reservation.rows:
            return
        account = self._accounts.get(reservation.uid)
        if account is None:
            return
        if (reservation.money and account.balance is not None
                and account.balance_epoch == reservation.balance_epoch):
            account.balance += reservation.money
        if (reservation.sms and account.sms_count is not None
                and account.sms_epoch == reservation.sms_epoch):
            account.sms_count += reservation.sms

    # --- what became of the parts --------------------------------------------------------
    def part_accepted(self, message_id: str, part_index: int) -> Deferred[None]:
        """A vendor took the part: capture its held share."""
        hold = self._holds.get(message_id)
        if hold is None or hold.settle(part_index, CAPTURED, self._clock.seconds()) is None:
            return succeed(None)
        return self._write(hold, ZERO, 0)

    def part_failed(self, message_id: str, part_index: int) -> Deferred[None]:
        """The part failed for good before a vendor took it: release its held share."""
        return self._release(message_id, (part_index,))

    def message_failed(self, message_id: str) -> Deferred[None]:
        """The message will never be sent (expired, cancelled): release every held part."""
        hold = self._holds.get(message_id)
        if hold is None:
            return succeed(None)
        return self._release(message_id, range(hold.parts))

    def _release(self, message_id: str, indexes: Iterable[int]) -> Deferred[None]:
        hold = self._holds.get(message_id)
        if hold is None:
            return succeed(None)
        now, money, sms, changed = self._clock.seconds(), ZERO, 0, False
        for index in indexes:
            share = hold.settle(index, RELEASED, now)
            if share is not None:
                changed = True
                part_money, part_sms = refund(hold, share)
                money += part_money
                sms += part_sms
        if not changed:
            return succeed(None)
        account = self._accounts.get(hold.uid)
        if account is not None:
            if money and account.balance is not None:
                account.balance += money
            if sms and account.sms_count is not None:
                account.sms_count += sms
        return self._write(hold, money, sms)

    def _write(self, hold: Hold, money: Decimal, sms: int) -> Deferred[None]:
        if HELD not in hold.part_states:
            del self._holds[hold.message_id]
        rows: tuple[tuple[Statement, tuple[Any, ...]], ...] = (
            (UPSERT_RECORD, hold_row(hold)),)
        if money or sms:
            self._count_journal()
            rows += ((INSERT_JOURNAL, (hold.uid, str(money) if money else None, sms)),)
        return self._writer.submit(Rows(rows, None)).addErrback(self._failed, hold.message_id)

    @staticmethod
    def _failed(f: Failure, message_id: str) -> None:
        log.failure("billing write for message {id} failed; the next start reconciles it",
                    f, id=message_id)

    # --- journal -------------------------------------------------------------------------
    def _count_journal(self) -> None:
        self._journal_rows += 1
        if self._journal_rows >= self.fold_every:
            self.fold()

    def fold(self) -> Deferred[int]:
        """Fold the journal into the accounts; fires with the rows folded."""
        self._journal_rows = 0
        return self._writer.submit(partial(fold_journal, self._clock.seconds()))

    # --- reads ---------------------------------------------------------------------------
    def holds(self) -> int:
        """Messages with a part still held (in memory)."""
        return len(self._holds)

    def record(self, message_id: str) -> Deferred[BillingRecord | None]:
        return self._writer.submit(Read(partial(read_record, message_id)))

    def records(self, since: float, until: float,
                uid: str | None = None) -> Deferred[list[BillingRecord]]:
        """Records created in [since, until), oldest first; only `uid`'s when given."""
        return self._writer.submit(Read(partial(read_records, since, until, uid)))


# --- SQL ------------------------------------------------------------------------------------

INSERT_JOURNAL = Statement("INSERT INTO billing_journal (uid, balance_delta, sms_delta) "
                           "VALUES ", "(?, ?, ?)")
_RECORD_COLUMNS = ("message_id, uid, route, connector, channel, parts, rate, early_percent, "
                   "currency, prepaid, counts_sms, part_states, amount, held, captured, "
                   "released, state, created_at, updated_at")
UPSERT_RECORD = Statement(
    f"INSERT INTO billing_records ({_RECORD_COLUMNS}) VALUES ",
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    " ON CONFLICT (message_id) DO UPDATE SET part_states = excluded.part_states, "
    "held = excluded.held, captured = excluded.captured, released = excluded.released, "
    "state = excluded.state, updated_at = excluded.updated_at")


def hold_row(h: Hold) -> tuple[Any, ...]:
    amount, held, captured, released = h.amounts()
    return (h.message_id, h.uid, h.route, h.connector, h.channel, len(h.part_states),
            str(h.rate), h.early_percent, h.currency, int(h.prepaid), int(h.counts_sms),
            "".join(h.part_states), str(amount), str(held), str(captured), str(released),
            record_state(h.part_states).value, h.created_at, h.updated_at)


def _record_of(row: tuple[Any, ...]) -> BillingRecord:
    (message_id, uid, route, connector, channel, parts, rate, early_percent, currency,
     prepaid, counts_sms, part_states, amount, held, captured, released, state, created_at,
     updated_at) = row
    return BillingRecord(message_id, uid, route, connector, channel, parts, Decimal(rate),
                         early_percent, currency, bool(prepaid), bool(counts_sms),
                         part_states, Decimal(amount), Decimal(held), Decimal(captured),
                         Decimal(released), RecordState(state), created_at, updated_at)


def _hold_of(r: BillingRecord) -> Hold:
    return Hold(r.message_id, r.uid, r.route, r.connector, r.channel, r.rate,
                r.early_percent, r.currency, r.prepaid, r.counts_sms, list(r.part_states),
                r.created_at, r.updated_at, early_share(r.rate, r.early_percent))


def read_record(message_id: str, conn: sqlite3.Connection) -> BillingRecord | None:
    row = conn.execute(f"SELECT {_RECORD_COLUMNS} FROM billing_records WHERE message_id = ?",
                       (message_id,)).fetchone()
    return None if row is None else _record_of(row)


def read_records(since: float, until: float, uid: str | None,
                 conn: sqlite3.Connection) -> list[BillingRecord]:
    return list(iter_records(since, until, uid, conn))


def iter_records(since: float, until: float, uid: str | None,
                 conn: sqlite3.Connection) -> Iterator[BillingRecord]:
    """Records created in [since, until), oldest first, read as they are consumed (an
    export of a busy month does not sit in memory)."""
    sql = (f"SELECT {_RECORD_COLUMNS} FROM billing_records "
           "WHERE created_at >= ? AND created_at < ?")
    args: tuple[Any, ...] = (since, until)
    if uid is not None:
        sql += " AND uid = ?"
        args += (uid,)
    for row in conn.execute(sql + " ORDER BY created_at, rowid", args):
        yield _record_of(row)


def read_account(uid: str, conn: sqlite3.Connection) -> Account:
    """The durable account (row + journal), for a reader such as `smscd billing balance`."""
    row = conn.execute("SELECT balance, sms_count, currency FROM billing_accounts "
                       "WHERE uid = ?", (uid,)).fetchone()
    account = Account(uid) if row is None else Account(
        uid, None if row[0] is None else Decimal(row[0]), row[1], row[2])
    for money, sms in conn.execute("SELECT balance_delta, sms_delta FROM billing_journal "
                                   "WHERE uid = ?", (uid,)):
        _apply(account, money, sms)
    return account


def _apply(account: Account, money: str | None, sms: int) -> None:
    if money is not None and account.balance is not None:
        account.balance += Decimal(money)
    if sms and account.sms_count is not None:
        account.sms_count += sms


def fold_journal(now: float, conn: sqlite3.Connection, uid: str | None = None) -> int:
    """Add the journal's deltas (all, or `uid`'s) to their accounts and empty it."""
    where, args = ("", ()) if uid is None else (" WHERE uid = ?", (uid,))
    rows = conn.execute(f"SELECT id, uid, balance_delta, sms_delta FROM billing_journal{where}"
                        " ORDER BY id", args).fetchall()
    if not rows:
        return 0
    accounts: dict[str, Account] = {}
    for _, who, money, sms in rows:
        account = accounts.get(who)
        if account is None:
            account = accounts[who] = _account_row(who, conn)
        _apply(account, money, sms)
    for account in accounts.values():
        conn.execute("INSERT INTO billing_accounts (uid, balance, sms_count, updated_at) "
                     "VALUES (?, ?, ?, ?) ON CONFLICT (uid) DO UPDATE SET "
                     "balance = excluded.balance, sms_count = excluded.sms_count, "
                     "updated_at = excluded.updated_at",
                     (account.uid, None if account.balance is None else str(account.balance),
                      account.sms_count, now))
    conn.execute(f"DELETE FROM billing_journal WHERE id <= ?{' AND uid = ?' if uid else ''}",
                 (rows[-1][0],) + args)
    return len(rows)


def _account_row(uid: str, conn: sqlite3.Connection) -> Account:
    row = conn.execute("SELECT balance, sms_count, currency FROM billing_accounts "
                       "WHERE uid = ?", (uid,)).fetchone()
    if row is None:
        return Account(uid)
    return Account(uid, None if row[0] is None else Decimal(row[0]), row[1], row[2])


def _set_column(uid: str, column: str, value: object, now: float,
                conn: sqlite3.Connection) -> None:
    """An operator's set: fold the user's journal (what came before), then replace."""
    fold_journal(now, conn, uid)
    conn.execute(f"INSERT INTO billing_accounts (uid, {column}, updated_at) VALUES (?, ?, ?) "
                 f"ON CONFLICT (uid) DO UPDATE SET {column} = excluded.{column}, "
                 "updated_at = excluded.updated_at", (uid, value, now))


def load_billing(conn: sqlite3.Connection, now: float) -> BillingState:
    """At open, before the writer starts: fold the journal, reconcile open holds against
    the message log and the queues (one transaction), and read what memory needs."""
    state = BillingState()
    conn.execute("BEGIN IMMEDIATE")
    try:
        fold_journal(now, conn)
        held = [_hold_of(_record_of(row)) for row in conn.execute(
            f"SELECT {_RECORD_COLUMNS} FROM billing_records WHERE state = ?",
            (RecordState.HELD.value,))]
        queued = {key for (key,) in conn.execute("SELECT key FROM queue_entries")} \
            if held else set()
        for hold in held:
            if _reconcile(hold, queued, now, conn):
                state.reconciled += 1
            if HELD in hold.part_states:
                state.holds[hold.message_id] = hold
        fold_journal(now, conn)
        for uid, balance, sms_count, currency in conn.execute(
                "SELECT uid, balance, sms_count, currency FROM billing_accounts"):
            state.accounts[uid] = Account(uid, None if balance is None else Decimal(balance),
                                          sms_count, currency)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if state.reconciled:
        log.info("billing: {n} held record(s) settled from the message log at open",
                 n=state.reconciled)
    return state


def _reconcile(hold: Hold, queued: set[str], now: float, conn: sqlite3.Connection) -> bool:
    parts = {index: (sent_at, part_state) for index, sent_at, part_state in conn.execute(
        "SELECT part_index, sent_at, state FROM message_parts WHERE message_id = ?",
        (hold.message_id,))}
    money, sms, changed = ZERO, 0, False
    for index in range(hold.parts):
        sent_at, part_state = parts.get(index, (None, None))
        if sent_at is not None or part_state in _SUCCESS:
            changed = hold.settle(index, CAPTURED, now) is not None or changed
        elif part_state in _FAILED or hold.message_id not in queued:
            share = hold.settle(index, RELEASED, now)
            if share is not None:
                changed = True
                part_money, part_sms = refund(hold, share)
                money += part_money
                sms += part_sms
    if not changed:
        return False
    UPSERT_RECORD.write(conn, [hold_row(hold)])
    if money or sms:
        INSERT_JOURNAL.write(conn, [(hold.uid, str(money) if money else None, sms)])
    return True
