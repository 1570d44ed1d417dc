# tests: tests/integration/test_receipt_race.py, tests/integration/test_pending_settle.py
"""Vendor receipts that arrive before their correlation: kept durably, matched later.

Why: a vendor may send a receipt on one bind before our bind that sent the message has
read its submit_sm_resp (which gives the vendor id we correlate on). Answered OK and
dropped, that receipt would never reach the customer.
Rules:
- `keep` publishes the receipt (the vendor's PDU as received, its arrival time and the
  normalised id, as versioned JSON) to the connector's pending queue, expiring
  `pending_receipt_ttl` seconds after it arrived. It fires once that is durable; only
  then is the vendor answered.
- While the connector runs, kept receipts are looked up again: first 0.2 s after they
  arrived, then at doubling intervals up to 30 s. Found: the part's state (and the
  customer's receipt) and the ack of the entry are ONE durable change
  (`AckingDeliveries.part_state_and_ack`), so a crash never gives the customer that
  receipt twice; if it fails the entry is still ours and is retried. Deliveries without
  it (a log and a queue on different backends) get `part_state`, then the ack: two
  changes, and a crash in between may repeat the receipt, as at-least-once queues do.
  Either way it counts in `receipts_late` once settled. Not found, or the lookup
  failed: retried.
- At its TTL the queue moves the entry to its dead letters (reason "expired"), where an
  operator can list and requeue it; we log it and count it `receipts_given_up`. An entry
  that cannot be read is dead-lettered at once with the reason.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from twisted.internet.defer import CancelledError, Deferred, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.deliveries import AckingDeliveries, Deliveries
from smscd.dlr_pdus import read_vendor_receipt
from smscd.ids import new_message_id
from smscd.smpp import pdu as P
from smscd.smpp.codec import decode, encode
from smscd.smpp.errors import SmppError
from smscd.smpp.receipt import Receipt
from smscd.smpp_protocol import ReactorTime
from smscd.stores.interfaces import Correlations, QueueEntry, Queues
from connectors.connector_config import ConnectorConfig
from connectors.inbound_stats import InboundStats

log = Logger(namespace="connectors.pending_receipts")

FIRST_RETRY = 0.2
MAX_RETRY = 30.0
_TAKE = 100


def pending_receipts_queue(connector_id: str) -> str:
    return "dlr:pending:" + connector_id


@dataclass(frozen=True, slots=True)
class KeptReceipt:
    pdu: P.DeliverSm | P.DataSm
    receipt: Receipt
    key: str            # the vendor id as normalised for the correlations
    at: float           # when it arrived


def dump_kept(kept: KeptReceipt) -> bytes:
    return json.dumps({"v": 1, "key": kept.key, "at": kept.at,
                       "pdu": encode(kept.pdu).hex()}, separators=(",", ":")).encode()


def load_kept(payload: bytes) -> KeptReceipt:
    """The receipt kept in `payload`; ValueError naming what is wrong."""
    try:
        d = json.loads(payload)
        if not isinstance(d, dict) or d.get("v") != 1:
            raise ValueError("not a version 1 kept receipt")
        key, at, pdu = d["key"], float(d["at"]), decode(bytes.fromhex(d["pdu"]))
    except (KeyError, TypeError, SmppError) as e:
        raise ValueError(f"unreadable kept receipt: {e!r}") from e
    if not isinstance(key, str) or not isinstance(pdu, P.DeliverSm | P.DataSm):
        raise ValueError("kept receipt without a vendor id or a deliver_sm/data_sm")
    receipt = read_vendor_receipt(pdu)
    if receipt is None:
        raise ValueError("kept PDU is not a readable receipt")
    return KeptReceipt(pdu, receipt, key, at)


def retry_delay(attempts: int) -> float:
    return min(MAX_RETRY, FIRST_RETRY * 2.0 ** attempts)


class PendingReceipts:
    def __init__(self, cfg: ConnectorConfig, queues: Queues, correlations: Correlations,
                 deliveries: Deliveries, clock: ReactorTime, stats: InboundStats,
                 observer: Callable[[], None] = lambda: None) -> None:
        self.cfg = cfg
        self.queue = pending_receipts_queue(cfg.id)
        self._queues = queues
        self._correlations = correlations
        self._deliveries = deliveries
        self._acking = deliveries if isinstance(deliveries, AckingDeliveries) else None
        self._clock = clock
        self.stats = stats
        self._observer = observer    # told after each receipt matched, given up or failed
        self._waiting: Deferred[None] | None = None
        self.running = False
        queues.on_expired(self.queue, self._given_up)

    def keep(self, kept: KeptReceipt) -> Deferred[int]:
        return self._queues.publish(self.queue, new_message_id(kept.at), dump_kept(kept),
                                    kept, delay=FIRST_RETRY,
                                    expires_at=kept.at + self.cfg.pending_receipt_ttl)

    def start(self) -> None:
        if not self.running:
            self.running = True
            self._watch()

    def stop(self) -> None:
        """Stop taking; entries being looked up finish, the rest wait for the next start."""
        self.running = False
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            waiting.cancel()

    def _watch(self) -> None:
        while self.running:
            d = self._queues.when_ready(self.queue)
            if not d.called:
                self._waiting = d
                d.addCallbacks(self._woken, lambda f: f.trap(CancelledError))
                return
            for entry in self._queues.take(self.queue, _TAKE):
                self._match(entry)

    def _woken(self, _: None) -> None:
        self._waiting = None
        self._watch()

    def _match(self, entry: QueueEntry) -> None:
        try:
            kept = entry.obj if isinstance(entry.obj, KeptReceipt) else load_kept(entry.payload)
        except ValueError as e:
            log.warn("connector {id}: {error}; kept as a dead letter", id=self.cfg.id,
                     error=str(e))
            self._queues.dead_letter(entry, str(e)).addErrback(self._lost, entry)
            return
        d = self._correlations.get(self.cfg.id, kept.key)
        d.addCallback(self._found, entry, kept)
        d.addErrback(self._failed, entry)

    def _found(self, hit: tuple[str, int] | None, entry: QueueEntry,
               kept: KeptReceipt) -> Deferred[None]:
        if hit is None:
            return self._queues.retry(entry, retry_delay(entry.attempts), "no correlation yet")
        message_id, part = hit
        r = kept.receipt
        if self._acking is not None:
            d: Deferred[None] = maybeDeferred(self._acking.part_state_and_ack, message_id,
                                              part, r.state, r.error, r, kept.at, entry)
            return d.addCallback(self._matched)
        d = maybeDeferred(self._deliveries.part_state, message_id, part, r.state, r.error,
                          r, kept.at)
        return d.addCallback(lambda _: self._queues.ack(entry)).addCallback(self._matched)

    def _matched(self, _: None) -> None:
        self.stats.receipts_late += 1
        self._observer()

    def _failed(self, f: Failure, entry: QueueEntry) -> None:
        self.stats.failures += 1
        self.stats.last_error = f"kept receipt: {f.getErrorMessage()}"
        log.failure("connector {id}: a kept receipt could not be settled; trying again", f,
                    id=self.cfg.id)
        self._queues.retry(entry, retry_delay(entry.attempts), self.stats.last_error
                           ).addErrback(self._lost, entry)
        self._observer()

    def _lost(self, f: Failure, entry: QueueEntry) -> None:
        log.failure("connector {id}: kept receipt {key} stays leased until a restart", f,
                    id=self.cfg.id, key=entry.key)

    def _given_up(self, entries: list[QueueEntry]) -> None:
        self.stats.receipts_given_up += len(entries)
        log.warn("connector {id}: {n} receipts found no correlation within {ttl} s; kept "
                 "as dead letters of {queue}", id=self.cfg.id, n=len(entries),
                 ttl=self.cfg.pending_receipt_ttl, queue=self.queue)
        self._observer()
