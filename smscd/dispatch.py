# tests: tests/integration/test_dispatch.py
"""`Deliveries` for the customer side: part states, customer receipts, and MO routing.

Rules:
- Every Deferred returned here fires only once what it did is durable, so the connector
  answers its vendor only then; a failure propagates, and the vendor sends it again.
- part_state records the state and, if the customer's registered_delivery asks for it
  (`wants_receipt`), publishes the customer's receipt (our id, `customer_receipt`) to
  `deliver_queue(user)`, expiring after `receipt_expiry`, as ONE durable change
  (`MessageLog.record_state` with `publish`). `CustomerDeliveries` sends it.
  A message of a submit_multi reports the id its customer was given (`multi_id`).
  Receipts for HTTP customers are not queued here (their callbacks come later).
- inbound routes an MO by destination-address prefix (longest wins; "" is a catch-all) to
  a user's deliver queue, expiring after `mo_expiry`. An MO no rule claims goes to the
  `mo:unrouted` queue and from there to its dead letters (inbound fires once it is there):
  an operator can list it and requeue it, and `start()` watches the queue so a requeued
  one is routed again at once, under the rules then.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from functools import partial
from typing import Mapping, Protocol

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.deliveries import InboundMessage, deliver_queue
from smscd.delivery_items import MO, RECEIPT, DeliverItem, dump_item, item_of, watch_expiry
from smscd.dlr_pdus import customer_receipt
from smscd.message import Message
from smscd.smpp.message_state import MessageState, stat_word, wants_receipt
from smscd.smpp.pdu import DeliverSm
from smscd.smpp.receipt import Receipt
from smscd.smpp.tlv import STANDARD_TLVS
from smscd.smpp_multi import MULTI_ID
from smscd.stores.interfaces import MessageLog, Publication, QueueEntry, Queues

log = Logger(namespace="smscd.dispatch")

UNROUTED_MO = "mo:unrouted"
DEFAULT_EXPIRY = 72 * 3600.0
_MAX_SHORT_MESSAGE = 254
_NOT_PASSED_ON = frozenset({"message_payload", "sar_msg_ref_num", "sar_total_segments",
                            "sar_segment_seqnum"})


class Clock(Protocol):
    def seconds(self) -> float: ...


class MoPrefixRules:
    """destination_addr prefix -> username; the longest matching prefix wins."""

    def __init__(self, rules: Mapping[str, str]) -> None:
        self._rules = dict(rules)
        self._lengths = sorted({len(p) for p in self._rules}, reverse=True)

    def user_for(self, destination: str) -> str | None:
        for n in self._lengths:
            if n <= len(destination):
                user = self._rules.get(destination[:n])
                if user is not None:
                    return user
        return None


class Dispatcher:
    def __init__(self, log_: MessageLog, queues: Queues, clock: Clock, mo_rules: MoPrefixRules,
                 receipt_expiry: float = DEFAULT_EXPIRY, mo_expiry: float = DEFAULT_EXPIRY
                 ) -> None:
        self.log = log_
        self.queues = queues
        self.clock = clock
        self.mo_rules = mo_rules
        self.receipt_expiry = receipt_expiry
        self.mo_expiry = mo_expiry
        self._unrouted_busy = 0
        self._idle: list[Deferred[None]] = []
        self._watching: Deferred[None] | None = None
        self._stopped = True
        self._expiry_watched: set[str] = set()     # users whose deliver queue reports expiries

    # -- receipts -------------------------------------------------------------------------
    def part_state(self, message_id: str, part_index: int, state: MessageState, error: str,
                   receipt: Receipt | None, at: float) -> Deferred[None]:
        # One store operation: the state and, if the customer wants it, its receipt.
        return self.log.record_state(message_id, part_index, state, error, at,
                                     partial(self._receipt, part_index, state, error,
                                             receipt, at))

    def _receipt(self, part_index: int, state: MessageState, error: str,
                 receipt: Receipt | None, at: float,
                 message: Message | None) -> Publication | None:
        if message is None:
            log.warn("state {state} for an unknown message; dropped", state=state.name)
            return None
        if message.origin != "smpp" or not wants_receipt(message.registered_delivery, state):
            return None
        if receipt is None:          # decided here (permanent failure): no vendor receipt
            receipt = Receipt(message_id=message.id, state=state, stat=stat_word(state),
                              error=error if error.isdigit() and len(error) <= 3 else "000",
                              done_date=datetime.fromtimestamp(at, timezone.utc))
        multi_id = message.extra.get(MULTI_ID)
        shown = message if multi_id is None else _with_id(message, multi_id)
        item = DeliverItem(RECEIPT, shown.id, customer_receipt(shown, receipt, part_index, at))
        return self._publication(message.user, f"dlr:{message.id}:{part_index}:{int(state)}",
                                 item, self.receipt_expiry)

    # -- MO -------------------------------------------------------------------------------
    def inbound(self, mo: InboundMessage) -> Deferred[None]:
        p = self.inbound_publication(mo)
        d = self.queues.publish(p.queue, p.key, p.payload, p.obj, expires_at=p.expires_at)
        if p.queue == UNROUTED_MO:
            return d.addCallback(self._unclaimed_stored)
        return d.addCallback(lambda _: None)

    def inbound_publication(self, mo: InboundMessage) -> Publication:
        """What `inbound` publishes, for a caller that publishes it together with its own
        change (the last part of a long MO deletes the kept parts in the same commit); an
        unclaimed one goes to mo:unrouted, where the `start()` watcher takes it."""
        item = DeliverItem(MO, mo.id, mo_pdu(mo))
        user = self.mo_rules.user_for(mo.destination.addr)
        if user is not None:
            return self._publication(user, f"mo:{mo.id}", item, self.mo_expiry)
        return Publication(UNROUTED_MO, f"mo:{mo.id}", dump_item(item), item)

    def _unclaimed_stored(self, _: int) -> Deferred[None]:
        self._route_unrouted()        # no-op if the watcher took it already
        return self._when_idle()

    def start(self) -> None:
        """Watch mo:unrouted, so that MO an operator requeues are routed again at once."""
        self._stopped = False
        self._watch()

    def stop(self) -> None:
        self._stopped = True
        watch, self._watching = self._watching, None
        if watch is not None:
            watch.cancel()

    def _watch(self) -> None:
        while not self._stopped:
            d = self.queues.when_ready(UNROUTED_MO)
            if not d.called:
                self._watching = d
                d.addCallbacks(self._watched, lambda f: f.trap(CancelledError))
                return
            self._route_unrouted()

    def _watched(self, _: None) -> None:
        self._watching = None
        self._route_unrouted()
        self._watch()

    def _route_unrouted(self) -> None:
        """Every MO waiting in mo:unrouted: to its user if a rule claims it now, else to the
        dead letters."""
        for entry in self.queues.take(UNROUTED_MO, 10_000):
            self._unrouted_busy += 1
            self._route_again(entry).addBoth(self._routed_again, entry)

    def _route_again(self, entry: QueueEntry) -> Deferred[None]:
        item = item_of(entry.obj, entry.payload)
        destination = item.pdu.destination_addr
        user = self.mo_rules.user_for(destination)
        if user is None:
            log.warn("MO {id} to {destination}: no MO rule claims it; kept as a dead letter",
                     id=item.ref, destination=destination)
            return self.queues.dead_letter(entry, f"no MO rule for {destination}")
        return self._publish(user, entry.key, item, self.mo_expiry).addCallback(
            lambda _: self.queues.ack(entry))

    def _routed_again(self, result: object, entry: QueueEntry) -> None:
        if isinstance(result, Failure):
            log.failure("routing unclaimed MO {key} failed; it stays in mo:unrouted until a "
                        "restart", result, key=entry.key)
        self._unrouted_busy -= 1
        if not self._unrouted_busy:
            idle, self._idle = self._idle, []
            for d in idle:
                d.callback(None)

    def _when_idle(self) -> Deferred[None]:
        if not self._unrouted_busy:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._idle.append(d)
        return d

    def _publish(self, user: str, key: str, item: DeliverItem, expiry: float) -> Deferred[None]:
        p = self._publication(user, key, item, expiry)
        d = self.queues.publish(p.queue, p.key, p.payload, p.obj, expires_at=p.expires_at)
        return d.addCallback(lambda _: None)

    def _publication(self, user: str, key: str, item: DeliverItem,
                     expiry: float) -> Publication:
        if user not in self._expiry_watched:
            self._expiry_watched.add(user)
            watch_expiry(self.queues, user)
        return Publication(deliver_queue(user), key, dump_item(item), item,
                           self.clock.seconds() + expiry)


def mo_pdu(mo: InboundMessage) -> DeliverSm:
    """The deliver_sm a customer gets for an MO: the whole text, in message_payload when it
    does not fit in short_message (a reassembled long MO)."""
    tlvs = tuple(t for t in mo.tlvs if t.name not in _NOT_PASSED_ON)
    content = mo.content
    if len(content) > _MAX_SHORT_MESSAGE:
        tlvs += (STANDARD_TLVS.make("message_payload", content),)
        content = b""
    return DeliverSm(source_addr_ton=mo.source.ton, source_addr_npi=mo.source.npi,
                     source_addr=mo.source.addr, dest_addr_ton=mo.destination.ton,
                     dest_addr_npi=mo.destination.npi, destination_addr=mo.destination.addr,
                     esm_class=mo.esm_class, data_coding=mo.data_coding, short_message=content,
                     tlvs=tlvs)


def _with_id(message: Message, message_id: str) -> Message:
    return replace(message, id=message_id)
