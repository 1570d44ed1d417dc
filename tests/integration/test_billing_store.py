"""Billing on the real SQLite store: holds commit with their message or not at all,
balances survive a reopen exactly, hooks are idempotent, the reconciliation at open
settles what a crash left held, and concurrent submits never spend the same money twice.
Time comes from a `task.Clock`; tests wait on Deferreds, never on sleeps."""
from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import gatherResults

from smscd.billing import Refusal, RecordState
from smscd.ids import new_message_id
from smscd.message import Address, Message, Part
from smscd.smpp.message_state import MessageState
from smscd.stores.billing_interface import Reservation
from smscd.stores.sqlite import SqliteStore
from smscd.stores.sqlite_billing import BillingError
from test_sqlite_store import T0, Stores, store, stores  # noqa: F401  (fixtures)

D = Decimal
Q = "mt:vendor"


def message(user: str = "alice", parts: int = 1) -> Message:
    return Message(new_message_id(T0), user, Address("SHOP"), Address("447700900001", 1, 1),
                   tuple(Part(b"part%d" % i) for i in range(parts)), T0, connector="vendor")


def reserve(store: SqliteStore, m: Message, rate: str = "0.10",
            early: int | None = None, channel: str = "smpp") -> Reservation | Refusal:
    return store.billing.reserve(m.user, m.id, D(rate), len(m.parts), early, "10", "vendor",
                                 channel)


async def submit(store: SqliteStore, m: Message, rate: str = "0.10",
                 early: int | None = None) -> Reservation:
    """What the MT pipeline does: reserve, then accept with the hold in the same turn."""
    r = reserve(store, m, rate, early)
    assert isinstance(r, Reservation), r
    await store.messages.accept(m, Q, also=r.rows)
    return r


def journal_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM billing_journal").fetchone()[0])


# --- accounts -------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_operator_changes_survive_reopen(stores: Stores, store: SqliteStore) -> None:
    """Breaks if a balance, sms_count or currency set by an operator is lost on restart."""
    await store.billing.set_balance("alice", "10.50")
    await store.billing.add_balance("alice", "-0.25")
    await store.billing.add_balance("alice", "+1")
    await store.billing.set_sms_count("alice", 100)
    await store.billing.add_sms_count("alice", -3)
    account = await store.billing.set_currency("alice", "USD")
    assert (account.balance, account.sms_count, account.currency) == (D("11.25"), 97, "USD")
    store = await stores.reopen(store)
    account = store.billing.account("alice")
    assert (account.balance, account.sms_count, account.currency) == (D("11.25"), 97, "USD")
    assert (store.billing.currency_of("alice"), store.billing.currency_of("bob")) == \
        ("USD", "EUR")
    assert journal_rows(stores.path) == 0                 # folded at open
    assert store.billing.account("nobody").balance is None


@pytest_twisted.ensureDeferred
async def test_bad_operator_changes_fail_naming_the_field(store: SqliteStore) -> None:
    """Breaks if a bad value is stored, or the error does not say which quota."""
    with pytest.raises(BillingError, match="balance: 'x' is not a decimal"):
        await store.billing.set_balance("alice", "x")
    with pytest.raises(BillingError, match="unlimited balance"):
        await store.billing.add_balance("alice", "5")
    await store.billing.set_balance("alice", "1")
    with pytest.raises(BillingError, match="negative"):
        await store.billing.add_balance("alice", "-2")
    with pytest.raises(BillingError, match="sms_count"):
        await store.billing.set_sms_count("alice", -1)
    with pytest.raises(BillingError, match="currency"):
        await store.billing.set_currency("alice", "euro")
    assert store.billing.account("alice").balance == D(1)


# --- holds with their message ---------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_hold_commits_with_the_message(stores: Stores, store: SqliteStore) -> None:
    """Breaks if an accepted message's charge is lost on restart."""
    await store.billing.set_balance("alice", "1.00")
    await store.billing.set_sms_count("alice", 10)
    m = message(parts=3)
    r = await submit(store, m, early=30)
    assert (r.money, r.sms) == (D("0.30"), 3)
    assert store.billing.account("alice").balance == D("0.70")
    store = await stores.reopen(store)
    account = store.billing.account("alice")
    assert (account.balance, account.sms_count) == (D("0.70"), 7)
    record = await store.billing.record(m.id)
    assert record is not None
    assert (record.uid, record.route, record.connector, record.channel, record.parts,
            record.rate, record.currency) == ("alice", "10", "vendor", "smpp", 3, D("0.10"),
                                              "EUR")
    assert (record.state, record.held, record.captured) == (RecordState.HELD, D("0.21"),
                                                            D("0.09"))


@pytest_twisted.ensureDeferred
async def test_a_failed_accept_leaves_no_hold(stores: Stores, store: SqliteStore) -> None:
    """Breaks if an accept that failed still charged the customer (an orphan hold), or if
    cancel does not give the money back."""
    await store.billing.set_balance("alice", "1.00")
    m = message()
    await store.messages.accept(m, Q)                     # the id is taken: the next fails
    r = reserve(store, m)
    assert isinstance(r, Reservation) and r.rows
    with pytest.raises(sqlite3.IntegrityError):
        await store.messages.accept(m, Q, also=r.rows)
    store.billing.cancel(r)
    assert store.billing.account("alice").balance == D("1.00")
    store = await stores.reopen(store)
    assert store.billing.account("alice").balance == D("1.00")
    assert await store.billing.record(m.id) is None


@pytest_twisted.ensureDeferred
async def test_cancel_after_an_operator_set_keeps_the_set_value(stores: Stores,
                                                                store: SqliteStore) -> None:
    """Breaks if memory and disk disagree when an operator sets a balance between a
    reservation and its failed accept."""
    await store.billing.set_balance("alice", "1.00")
    m = message()
    await store.messages.accept(m, Q)
    r = reserve(store, m)
    assert isinstance(r, Reservation)
    failing = store.messages.accept(m, Q, also=r.rows)
    await store.billing.set_balance("alice", "5.00")
    with pytest.raises(sqlite3.IntegrityError):
        await failing
    store.billing.cancel(r)
    assert store.billing.account("alice").balance == D("5.00")
    store = await stores.reopen(store)
    assert store.billing.account("alice").balance == D("5.00")


@pytest_twisted.ensureDeferred
async def test_refusals_take_nothing(store: SqliteStore) -> None:
    """Breaks if a refused message still takes money or sms_count."""
    await store.billing.set_balance("alice", "0.15")
    await store.billing.set_sms_count("alice", 5)
    refusal = reserve(store, message(parts=2))
    assert isinstance(refusal, Refusal) and refusal.field == "balance"
    account = store.billing.account("alice")
    assert (account.balance, account.sms_count) == (D("0.15"), 5)


@pytest_twisted.ensureDeferred
async def test_free_and_unlimited_messages_write_nothing(store: SqliteStore) -> None:
    """Breaks if the hot path pays for billing rows when nothing is billed."""
    r = reserve(store, message(), rate="0")
    assert isinstance(r, Reservation) and r.rows == ()
    await store.billing.set_balance("alice", "0")
    store.billing.unbilled_channels = frozenset({"http"})     # billing_feature off on HTTP
    off = reserve(store, message(), channel="http")
    assert isinstance(off, Reservation) and off.rows == ()
    assert isinstance(reserve(store, message(), channel="rest"), Refusal)   # others billed


# --- what became of the parts ---------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_capture_and_release_per_part_are_durable_and_idempotent(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if a released part is not refunded, a captured one is, or a repeated hook
    moves money twice."""
    await store.billing.set_balance("alice", "1.00")
    await store.billing.set_sms_count("alice", 10)
    m = message(parts=3)
    await submit(store, m, early=50)
    await store.billing.part_accepted(m.id, 0)
    await store.billing.part_accepted(m.id, 0)           # duplicate submit_sm_resp
    await store.billing.part_failed(m.id, 1)
    await store.billing.part_failed(m.id, 1)             # told twice
    await store.billing.part_failed(m.id, 0)             # failure receipt after capture
    account = store.billing.account("alice")
    assert (account.balance, account.sms_count) == (D("0.75"), 8)   # 0.05 back, 1 sms back
    await store.billing.part_accepted(m.id, 2)
    assert store.billing.holds() == 0
    store = await stores.reopen(store)
    account = store.billing.account("alice")
    assert (account.balance, account.sms_count) == (D("0.75"), 8)
    record = await store.billing.record(m.id)
    assert record is not None
    assert (record.state, record.part_states) == (RecordState.PARTIAL, "CRC")
    assert (record.captured, record.released, record.held) == (D("0.25"), D("0.05"), 0)


@pytest_twisted.ensureDeferred
async def test_message_failed_releases_every_held_part(store: SqliteStore) -> None:
    """Breaks if an expired or cancelled message keeps its customer's money."""
    await store.billing.set_balance("alice", "1.00")
    m = message(parts=2)
    await submit(store, m)
    await store.billing.part_accepted(m.id, 0)
    await store.billing.message_failed(m.id)
    assert store.billing.account("alice").balance == D("0.90")
    record = await store.billing.record(m.id)
    assert record is not None and record.part_states == "CR"


# --- reconciliation at open ------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_open_settles_holds_from_the_message_log(stores: Stores,
                                                       store: SqliteStore) -> None:
    """Breaks if a crash between a vendor's answer and its capture (or a failure and its
    release) leaves the money held for ever or refunds a part the vendor took."""
    await store.billing.set_balance("alice", "10.00")
    await store.billing.set_sms_count("alice", 100)
    sent, failed, gone, waiting = (message(parts=2), message(), message(), message())
    for m in (sent, failed, gone, waiting):
        await submit(store, m)
    # What the connector wrote before the "crash", without the billing hooks:
    await store.messages.record_sent(sent.id, 0, "vendor", "v-1")
    await store.messages.record_state(sent.id, 1, MessageState.DELIVERED, "000", T0)
    await store.messages.record_state(failed.id, 0, MessageState.REJECTED, "088", T0)
    [entry] = [e for e in store.queues.take(Q, 10) if e.key == gone.id] or [None]
    assert entry is not None
    await store.queues.dead_letter(entry, "expired")      # no longer queued, never sent
    store = await stores.reopen(store)
    records = {m.id: await store.billing.record(m.id) for m in (sent, failed, gone, waiting)}
    states = {k: (r.state if r else None) for k, r in records.items()}
    assert states == {sent.id: RecordState.CAPTURED, failed.id: RecordState.RELEASED,
                      gone.id: RecordState.RELEASED, waiting.id: RecordState.HELD}
    account = store.billing.account("alice")
    assert (account.balance, account.sms_count) == (D("9.70"), 97)  # 5 parts, 2 given back
    assert store.billing.holds() == 1
    await store.billing.part_accepted(waiting.id, 0)       # the survivor is live again
    assert store.billing.holds() == 0
    store = await stores.reopen(store)                     # and reconciling is idempotent
    assert store.billing.account("alice").balance == D("9.70")


@pytest_twisted.ensureDeferred
async def test_a_cancelled_message_is_released_at_the_latest_at_open(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if a message the customer cancelled (cancel_sm) stays charged across a
    restart, even when nothing called the billing hook."""
    await store.billing.set_balance("alice", "1.00")
    m = message(parts=2)
    await submit(store, m)
    assert await store.messages.cancel(m.id, "alice", Q)
    store = await stores.reopen(store)
    assert store.billing.account("alice").balance == D("1.00")
    record = await store.billing.record(m.id)
    assert record is not None and record.state is RecordState.RELEASED


# --- concurrent spend -----------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_concurrent_submits_never_spend_the_same_money(stores: Stores,
                                                             store: SqliteStore) -> None:
    """Breaks if two binds submitting at once can both spend the last of a balance: of 200
    messages at 0.07 against 10.00, exactly floor(10.00 / 0.07) = 142 are accepted, the
    rest refused, and the durable balance is exact after a restart."""
    await store.billing.set_balance("alice", "10.00")
    bind_a = [message() for _ in range(100)]
    bind_b = [message() for _ in range(100)]
    accepted, refused = [], 0
    pending = []
    for a, b in zip(bind_a, bind_b):                      # interleaved, in one reactor turn
        for m in (a, b):
            r = reserve(store, m, rate="0.07")
            if isinstance(r, Refusal):
                refused += 1
                continue
            accepted.append(m)
            pending.append(store.messages.accept(m, Q, also=r.rows))
        assert store.billing.account("alice").balance >= 0
    await gatherResults(pending)
    assert (len(accepted), refused) == (142, 58)
    assert store.billing.account("alice").balance == D("10.00") - 142 * D("0.07")
    store = await stores.reopen(store)
    assert store.billing.account("alice").balance == D("0.06")
    records = await store.billing.records(T0 - 1, T0 + 1, "alice")
    assert len(records) == 142 and sum(r.amount for r in records) == D("9.94")


# --- journal and reads ----------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_the_journal_folds_without_changing_balances(stores: Stores,
                                                           store: SqliteStore) -> None:
    """Breaks if folding the journal into the accounts loses or doubles a delta."""
    await store.billing.set_balance("alice", "5")
    await store.billing.set_balance("bob", "5")
    for user in ("alice", "bob") * 5:
        await submit(store, message(user))
    assert journal_rows(stores.path) == 10
    assert await store.billing.fold() == 10
    assert journal_rows(stores.path) == 0
    await submit(store, message("bob"))
    store = await stores.reopen(store)
    assert store.billing.account("alice").balance == D("4.50")
    assert store.billing.account("bob").balance == D("4.40")


@pytest_twisted.ensureDeferred
async def test_the_journal_folds_itself_every_few_rows(stores: Stores,
                                                       store: SqliteStore) -> None:
    """Breaks if the journal grows without bound on a busy day, or if the automatic fold
    (which runs among accepts in the same batches) loses a delta."""
    store.billing.fold_every = 4
    await store.billing.set_balance("alice", "5")
    for _ in range(10):
        await submit(store, message())
    await store.billing.record("barrier")
    assert journal_rows(stores.path) < 4
    assert store.billing.account("alice").balance == D("4.00")
    store = await stores.reopen(store)
    assert store.billing.account("alice").balance == D("4.00")


@pytest_twisted.ensureDeferred
async def test_records_are_read_per_period_and_per_user(stores: Stores,
                                                        store: SqliteStore) -> None:
    """Breaks if an export shows another user's records or misses the period's bounds."""
    first = message("alice")
    await submit(store, first)
    stores.clock.advance(60)
    await submit(store, message("bob"))
    stores.clock.advance(60)
    last = message("alice")
    await submit(store, last)
    everyone = await store.billing.records(T0, T0 + 121)
    assert [r.uid for r in everyone] == ["alice", "bob", "alice"]
    alice = await store.billing.records(T0, T0 + 121, uid="alice")
    assert [r.message_id for r in alice] == [first.id, last.id]
    assert [r.uid for r in await store.billing.records(T0 + 1, T0 + 120)] == ["bob"]


# --- kill -9 ---------------------------------------------------------------------------------

CHILD = Path(__file__).with_name("billing_crash_child.py")
ROOT = Path(__file__).resolve().parents[2]


def read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
    assert ready, "the child stopped printing"
    return proc.stdout.readline()


@pytest_twisted.ensureDeferred
async def test_kill_9_loses_no_charge_and_makes_no_orphan(tmp_path: Path) -> None:
    """Breaks if a crash mid-traffic loses a charge the customer was answered for, keeps a
    hold without its message, or leaves the durable balance out of step with the records
    (balance = funded - what the records still take, to the last cent)."""
    path = tmp_path / "smscd.sqlite3"
    proc = subprocess.Popen([sys.executable, str(CHILD), str(path)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    try:
        assert read_line(proc, deadline) == "open\n"
        confirmed = [read_line(proc, deadline).strip() for _ in range(150)]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        rest, _ = proc.communicate(timeout=30)
    confirmed += rest.split()
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(path) as conn:
        charged = conn.execute("SELECT amount, released FROM billing_records").fetchall()
        orphans = conn.execute("SELECT count(*) FROM billing_records WHERE message_id NOT IN "
                               "(SELECT id FROM messages)").fetchone()[0]
        recorded = {i for (i,) in conn.execute("SELECT message_id FROM billing_records")}
    assert orphans == 0 and set(confirmed) <= recorded
    taken = sum(D(amount) - D(released) for amount, released in charged)
    sms_taken = sum(1 for amount, released in charged if D(released) == 0)
    store = SqliteStore.open(path, reactor)
    try:
        account = store.billing.account("payer")
    finally:
        await store.close()
    assert account.balance == D(1000) - taken
    assert account.sms_count == 1_000_000 - sms_taken
