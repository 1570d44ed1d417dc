"""A kept vendor receipt (connectors/pending_receipts.py) is settled as ONE durable change
on the embedded store: the part's state, the customer's receipt and the ack of its pending
entry commit together, so a crash can neither repeat nor lose the customer's receipt; if
that change fails the entry stays ours and is tried again. Deliveries that cannot share
the change get the state, then the ack, as before. Real store, store time on a Clock."""
from __future__ import annotations

from typing import Callable

import pytest_twisted
from twisted.internet.defer import Deferred

from connectors.inbound_stats import InboundStats
from connectors.pending_receipts import KeptReceipt, PendingReceipts, pending_receipts_queue
from smscd.deliveries import AckingDeliveries, InboundMessage
from smscd.dispatch import Dispatcher
from smscd.dlr_pdus import read_vendor_receipt
from smscd.message import Message
from smscd.smpp.message_state import MessageState
from smscd.smpp.receipt import Receipt
from smscd.stores.interfaces import Publication, QueueEntry
from smscd.stores.sqlite import SqliteStore
from customer_side import prefix_router
from test_connector import CID, connector_config, receipt_pdu
from test_sqlite_store import T0, Stores, message, store, stores  # noqa: F401  (fixtures)
from test_store_fast_paths import fail_writes, stop_failing

PENDING = pending_receipts_queue(CID)


def customer_receipt(found: Message | None) -> Publication | None:
    return None if found is None else Publication("deliver:alice", f"dlr:{found.id}",
                                                  b"receipt")


class StateDeliveries:
    """Deliveries that record the state (with the customer's receipt) on the real log."""

    def __init__(self, store: SqliteStore) -> None:
        self.log = store.messages

    def part_state(self, message_id: str, part_index: int, state: MessageState, error: str,
                   receipt: Receipt | None, at: float) -> Deferred[None]:
        return self.log.record_state(message_id, part_index, state, error, at,
                                     customer_receipt)

    def inbound(self, mo: InboundMessage) -> Deferred[None]:
        raise AssertionError("no MO here")


class AckingStateDeliveries(StateDeliveries):
    def part_state_and_ack(self, message_id: str, part_index: int, state: MessageState,
                           error: str, receipt: Receipt | None, at: float,
                           ack: QueueEntry) -> Deferred[None]:
        return self.log.record_state(message_id, part_index, state, error, at,
                                     customer_receipt, ack=ack)


class Watched:
    """PendingReceipts' observer: Deferreds that fire once a condition on it holds."""

    def __init__(self) -> None:
        self._waiting: list[tuple[Callable[[], bool], Deferred[None]]] = []

    def __call__(self) -> None:
        still = []
        for condition, d in self._waiting:
            if condition():
                d.callback(None)
            else:
                still.append((condition, d))
        self._waiting = still

    def until(self, condition: Callable[[], bool]) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        self._waiting.append((condition, d))
        return d


async def kept_for(stores: Stores, store: SqliteStore, deliveries: StateDeliveries
                   ) -> tuple[Message, PendingReceipts, Watched]:
    """A message sent as vendor id V1 whose receipt was kept, its correlation now known."""
    m = message()
    await store.messages.accept(m, "q")
    await store.correlations.put(CID, "v1", m.id, 0, T0 + 100)
    watched = Watched()
    pending = PendingReceipts(connector_config(1), store.queues, store.correlations,
                              deliveries, stores.clock, InboundStats(), watched)
    pdu = receipt_pdu("V1")
    receipt = read_vendor_receipt(pdu)
    assert receipt is not None
    await pending.keep(KeptReceipt(pdu, receipt, "v1", T0))
    return m, pending, watched


@pytest_twisted.ensureDeferred
async def test_state_receipt_and_ack_commit_together(stores: Stores,
                                                     store: SqliteStore) -> None:
    """Breaks if settling a kept receipt takes more than one commit (a crash in between
    would send the customer its receipt twice) or leaves any of the three undone."""
    deliveries = AckingStateDeliveries(store)
    assert isinstance(deliveries, AckingDeliveries)
    m, pending, watched = await kept_for(stores, store, deliveries)
    commits = store.stats.commits
    pending.start()
    stores.clock.advance(0.2)
    await watched.until(lambda: pending.stats.receipts_late == 1)
    pending.stop()
    assert store.stats.commits == commits + 1
    assert store.queues.leased(PENDING) == 0 and store.queues.depth(PENDING) == 0
    store = await stores.reopen(store)
    assert store.queues.take(PENDING, 5) == []
    assert [e.key for e in store.queues.take("deliver:alice", 5)] == [f"dlr:{m.id}"]
    assert (await store.messages.get(m.id, "alice")).state is MessageState.DELIVERED


@pytest_twisted.ensureDeferred
async def test_a_failed_change_leaves_the_entry_leased_and_no_state(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if the pending entry is acked although the state and the customer's receipt
    were not stored (the receipt would be lost), or if it is not tried again."""
    m, pending, watched = await kept_for(stores, store, AckingStateDeliveries(store))
    fail_writes(stores, "message_parts", "NEW.state IS NOT NULL")
    pending.start()
    stores.clock.advance(0.2)
    await watched.until(lambda: pending.stats.failures == 1)
    assert store.queues.depth(PENDING) == 1 and store.queues.depth("deliver:alice") == 0
    assert (await store.messages.get(m.id, "alice")).parts[0].state is None
    stop_failing(stores, "message_parts")
    stores.clock.advance(0.4)                          # its retry delay after one attempt
    await watched.until(lambda: pending.stats.receipts_late == 1)
    pending.stop()
    assert store.queues.leased(PENDING) == 0 and store.queues.depth(PENDING) == 0
    assert (await store.messages.get(m.id, "alice")).state is MessageState.DELIVERED


@pytest_twisted.ensureDeferred
async def test_deliveries_without_it_get_the_state_then_the_ack(stores: Stores,
                                                                store: SqliteStore) -> None:
    """Breaks if a Deliveries that cannot share the change (another backend) no longer
    settles kept receipts: the state first, then the ack, two changes."""
    deliveries = StateDeliveries(store)
    assert not isinstance(deliveries, AckingDeliveries)
    m, pending, watched = await kept_for(stores, store, deliveries)
    commits = store.stats.commits
    pending.start()
    stores.clock.advance(0.2)
    await watched.until(lambda: pending.stats.receipts_late == 1)
    pending.stop()
    assert store.stats.commits == commits + 2
    assert store.queues.leased(PENDING) == 0 and store.queues.depth(PENDING) == 0
    assert (await store.messages.get(m.id, "alice")).state is MessageState.DELIVERED


@pytest_twisted.ensureDeferred
async def test_the_daemons_dispatcher_settles_a_kept_receipt_in_one_change(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if the Deliveries the daemon gives its connectors (the Dispatcher) stops
    sharing the change: kept receipts would again be settled, then acked, in two."""
    dispatcher = Dispatcher(store.messages, store.queues, stores.clock, prefix_router({}))
    assert isinstance(dispatcher, AckingDeliveries)
    m, pending, watched = await kept_for(stores, store, dispatcher)  # type: ignore[arg-type]
    commits = store.stats.commits
    pending.start()
    stores.clock.advance(0.2)
    await watched.until(lambda: pending.stats.receipts_late == 1)
    pending.stop()
    assert store.stats.commits == commits + 1
    assert store.queues.leased(PENDING) == 0 and store.queues.depth(PENDING) == 0
    assert (await store.messages.get(m.id, "alice")).parts[0].state is MessageState.DELIVERED
