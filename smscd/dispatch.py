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
- Receipts of messages sent over HTTP become callbacks (`dlr_callbacks.state_publication`)
  queued in the same durable change as the state; those of REST messages become webhook
  events (`webhooks.part_state`) once the state is durable.
- inbound routes an MO with the MO router (smscd/mo_router.py: MO interceptors, then the
  MO route table). When its first target is a customer's SMPP bind (`smpps`: the user's
  deliver queue, expiring after `mo_expiry`) or a bare `store` (the durable `mo:store:`
  queue, for an operator), that publication is the MO's one durable change. Otherwise
  (an HTTP connector first, `store(<username>)`: kept in the user's inbox that the REST
  API's GET /v1/inbound reads, with a message.inbound webhook; a Python interceptor to
  run; no route) the MO goes to `mo:unrouted` first and is routed from there: targets
  are tried in order (an HTTP connector that does not acknowledge -> the next target),
  and one nobody took is a dead letter with the reason (inbound fires once that is done). `start()` watches the
  queue, so an MO an operator requeues is routed again at once, under the rules then.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from functools import partial
from typing import Any, Protocol

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.deliveries import InboundMessage, deliver_queue
from smscd.delivery_items import MO, RECEIPT, DeliverItem, dump_item, item_of, watch_expiry
from smscd.dlr_pdus import customer_receipt
from smscd.message import Address, Message
from smscd.mo_router import MoDecision, MoRouter
from routing.routes import HTTP, SMPPS, STORE, Target
from smscd.smpp.coding import decode_text
from smscd.smpp.message_state import MessageState, stat_word, wants_receipt
from smscd.smpp.pdu import DeliverSm
from smscd.smpp.receipt import Receipt
from smscd.smpp.tlv import STANDARD_TLVS
from smscd.smpp_multi import MULTI_ID
from smscd.stores.interfaces import MessageLog, Publication, QueueEntry, Queues

log = Logger(namespace="smscd.dispatch")

UNROUTED_MO = "mo:unrouted"
STORED_MO_PREFIX = "mo:store:"     # + the store target's id: MO kept for the API
DEFAULT_EXPIRY = 72 * 3600.0
_MAX_SHORT_MESSAGE = 254
_NOT_PASSED_ON = frozenset({"message_payload", "sar_msg_ref_num", "sar_total_segments",
                            "sar_segment_seqnum"})


class Clock(Protocol):
    def seconds(self) -> float: ...


def stored_mo_queue(target_id: str) -> str:
    return STORED_MO_PREFIX + target_id


class MoHttp(Protocol):
    """smscd.http_callbacks.MoHttpDelivery: fires once the receiver acknowledged."""
    def deliver(self, mo: InboundMessage, cfg: Any) -> Deferred[None]: ...


class Inbox(Protocol):
    """smscd.stores.sqlite_inbound.SqliteInbound: MO kept for a user, durably."""
    def store(self, uid: str, item: dict[str, Any]) -> Deferred[int]: ...


class RestHooks(Protocol):
    """smscd.webhooks.Webhooks: events for REST users (a kept MO, a part's new state)."""
    def inbound(self, uid: str, item: dict[str, Any]) -> Deferred[None]: ...

    def part_state(self, message: Message, part_index: int, state: MessageState,
                   error: str = "") -> Deferred[None]: ...


class DlrPublications(Protocol):
    """smscd.http_callbacks.dlr.DlrCallbacks: the callback for an HTTP message's state."""
    def state_publication(self, message: Message, part_index: int, state: MessageState,
                          error: str, receipt: Receipt | None, at: float
                          ) -> Publication | None: ...


class Dispatcher:
    def __init__(self, log_: MessageLog, queues: Queues, clock: Clock, mo_router: MoRouter,
                 receipt_expiry: float = DEFAULT_EXPIRY, mo_expiry: float = DEFAULT_EXPIRY,
                 http_mo: MoHttp | None = None,
                 dlr_callbacks: DlrPublications | None = None, inbox: Inbox | None = None,
                 webhooks: RestHooks | None = None) -> None:
        self.log = log_
        self.queues = queues
        self.clock = clock
        self.mo_router = mo_router
        self.http_mo = http_mo
        self.dlr_callbacks = dlr_callbacks
        self.inbox = inbox
        self.webhooks = webhooks
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
        return self.part_state_and_ack(message_id, part_index, state, error, receipt, at, None)

    def part_state_and_ack(self, message_id: str, part_index: int, state: MessageState,
                           error: str, receipt: Receipt | None, at: float,
                           ack: QueueEntry | None) -> Deferred[None]:
        """deliveries.AckingDeliveries: with `ack` (a kept vendor receipt's leased entry)
        acked in the same durable change as the state and the customer's receipt."""
        # One store operation: the state and, if the customer wants it, its receipt.
        rest: list[Message] = []
        d = self.log.record_state(message_id, part_index, state, error, at,
                                  partial(self._receipt, part_index, state, error, receipt,
                                          at, rest), ack=ack)
        if self.webhooks is None:
            return d
        hooks = self.webhooks
        return d.addCallback(lambda _: hooks.part_state(rest[0], part_index, state, error)
                             if rest else None)

    def _receipt(self, part_index: int, state: MessageState, error: str,
                 receipt: Receipt | None, at: float, rest: list[Message],
                 message: Message | None) -> Publication | None:
        if message is None:
            log.warn("state {state} for an unknown message; dropped", state=state.name)
            return None
        if message.origin == "rest":     # its webhook once the state is durable
            rest.append(message)
            return None
        if message.origin == "http":
            if self.dlr_callbacks is None:
                return None
            return self.dlr_callbacks.state_publication(message, part_index, state, error,
                                                        receipt, at)
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
        decision = self.mo_router.decide(mo)
        if decision.targets and decision.pending is None:
            p = self._target_publication(decision.targets[0], decision.mo, f"mo:{mo.id}")
            if p is not None:
                return p
        item = DeliverItem(MO, mo.id, mo_pdu(mo), mo.connector)
        return Publication(UNROUTED_MO, f"mo:{mo.id}", dump_item(item), item)

    def _target_publication(self, target: Target, mo: InboundMessage, key: str
                            ) -> Publication | None:
        """The durable publication for an smpps or store target; None for an HTTP target,
        a user's inbox, or an smpps target whose user is gone (handled from mo:unrouted)."""
        if target.kind == HTTP or (target.kind == STORE and target.id
                                   and self.inbox is not None):
            return None
        item = DeliverItem(MO, mo.id, mo_pdu(mo), mo.connector)
        if target.kind == STORE:
            return Publication(stored_mo_queue(target.id), key, dump_item(item), item)
        uid = self.mo_router.uid_of(target.id)
        if uid is None:
            return None
        return self._publication(uid, key, item, self.mo_expiry)

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
        mo = inbound_of(item_of(entry.obj, entry.payload), self.clock.seconds())
        return self.mo_router.decide_later(mo).addCallback(self._deliver, entry, [])

    def _deliver(self, decision: MoDecision, entry: QueueEntry,
                 failures: list[str]) -> Deferred[None]:
        """Try the decision's targets in order; a dead letter when none takes the MO."""
        mo = decision.mo
        for i, target in enumerate(decision.targets):
            p = self._target_publication(target, mo, entry.key)
            if p is not None:
                d = self.queues.publish(p.queue, p.key, p.payload, p.obj,
                                        expires_at=p.expires_at)
                return d.addCallback(lambda _: self.queues.ack(entry))
            if target.kind != HTTP:
                uid = self.mo_router.uid_of(target.id)
                if uid is None:
                    failures.append(f"{target.describe()}: no such user")
                    continue
                return self._keep(mo, uid, entry)
            cfg = self.mo_router.http_connector(target.id)
            if cfg is None or self.http_mo is None:
                failures.append(f"{target.describe()}: not available")
                continue
            rest = MoDecision(mo, decision.targets[i + 1:])
            return self.http_mo.deliver(mo, cfg).addCallbacks(
                lambda _: self.queues.ack(entry), self._http_failed,
                errbackArgs=(target, rest, entry, failures))
        reason = "; ".join(failures) or decision.refused
        log.warn("MO {id} to {destination}: {reason}; kept as a dead letter", id=mo.id,
                 destination=mo.destination.addr, reason=reason)
        return self.queues.dead_letter(entry, reason)

    def _keep(self, mo: InboundMessage, uid: str, entry: QueueEntry) -> Deferred[None]:
        """Into the user's inbox (REST API), then its message.inbound webhook."""
        assert self.inbox is not None
        item = inbox_item(mo)
        d = self.inbox.store(uid, item)
        if self.webhooks is not None:
            hooks = self.webhooks
            d.addCallback(lambda _: hooks.inbound(uid, item))
        return d.addCallback(lambda _: self.queues.ack(entry))

    def _http_failed(self, failure: Failure, target: Target, rest: MoDecision,
                     entry: QueueEntry, failures: list[str]) -> Deferred[None]:
        failures.append(f"{target.describe()}: {failure.getErrorMessage()}")
        return self._deliver(rest, entry, failures)

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


def inbox_item(mo: InboundMessage) -> dict[str, Any]:
    """An MO as the REST API shows it (GET /v1/inbound, message.inbound)."""
    return {"id": mo.id, "from": mo.source.addr, "to": mo.destination.addr,
            "text": decode_text(mo.content, mo.data_coding), "coding": mo.data_coding,
            "binary": mo.content.hex(), "origin_connector": mo.connector,
            "received_at": mo.received_at}


def inbound_of(item: DeliverItem, now: float) -> InboundMessage:
    """The MO a queued item holds (its text whole, as mo_pdu put it), to route it again."""
    pdu = item.pdu
    payload = pdu.tlv("message_payload")
    content = payload if isinstance(payload, bytes) else pdu.short_message
    return InboundMessage(
        item.ref, item.origin, Address(pdu.source_addr, pdu.source_addr_ton,
                                       pdu.source_addr_npi),
        Address(pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi), pdu.data_coding,
        pdu.esm_class, content, now, tuple(t for t in pdu.tlvs if t.name != "message_payload"))


def _with_id(message: Message, message_id: str) -> Message:
    return replace(message, id=message_id)
