# tests: tests/integration/test_dispatch.py
"""Receipts and MO from each user's deliver queue to its receiver binds.

Rules:
- Per user with at least one RX/TRX bind: `take` only as many entries as the binds' windows
  have room for, send each as deliver_sm on the next bind with room (round-robin), and ack
  it on ESME_ROK. Any other status, a response timeout, or a bind lost with the request in
  flight: `retry` after an exponential backoff (capped). Never a fixed number of tries:
  an item lives until it expires, then the store keeps it as a dead letter and we log it
  (Jasmin drops receipts after three tries 30 s apart).
- With no receiver bind, items wait in the queue; the BindRegistry tells us when one binds
  and sending resumes at once. With room in a window but nothing ready, we wait on
  `when_ready`; with full windows, the next response starts the next round.
- An entry that cannot be read (corrupt payload) goes to the dead letters at once.
- No Deferred chain or log line per item beyond the request's own.
"""
from __future__ import annotations

from dataclasses import dataclass

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.bind_registry import BindRegistry
from smscd.deliveries import deliver_queue
from smscd.delivery_items import DeliverItem, item_of, watch_expiry
from smscd.message import UnsupportedFormat
from smscd.smpp import pdu as P
from smscd.smpp.commands import CommandId as C
from smscd.smpp.status import CommandStatus as S, status_name
from smscd.smpp_protocol import RequestFailedError, SmppProtocol
from smscd.stats import Stats
from smscd.stores.interfaces import QueueEntry, Queues

log = Logger(namespace="smscd.customer_delivery")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Delay before the next try: initial * factor ** attempts, at most `cap` seconds."""
    initial: float = 5.0
    factor: float = 2.0
    cap: float = 300.0

    def delay(self, attempts: int) -> float:
        return min(self.cap, self.initial * self.factor ** min(attempts, 64))


class CustomerDeliveries:
    """Listens to the BindRegistry; one `UserDelivery` per user that has bound."""

    def __init__(self, queues: Queues, registry: BindRegistry,
                 retry: RetryPolicy = RetryPolicy(), stats: Stats | None = None) -> None:
        self.queues = queues
        self.registry = registry
        self.retry = retry
        self.stats = stats or Stats(0.0)       # deliver_sm/data_sm counts for jCli `stats`
        self.users: dict[str, UserDelivery] = {}
        registry.add_listener(self)

    def receiver_bound(self, user: str, proto: SmppProtocol) -> None:
        delivery = self.users.get(user)
        if delivery is None:
            delivery = self.users[user] = UserDelivery(user, self.queues, self.registry,
                                                       self.retry, self.stats)
        delivery.pump()

    def receiver_gone(self, user: str, proto: SmppProtocol) -> None:
        delivery = self.users.get(user)
        if delivery is not None:
            delivery.pump()          # stops waiting when no receiver is left

    def stop(self) -> None:
        for delivery in self.users.values():
            delivery.stop()


class UserDelivery:
    def __init__(self, user: str, queues: Queues, registry: BindRegistry,
                 retry: RetryPolicy, stats: Stats) -> None:
        self.user = user
        self.stats = stats
        self.queue = deliver_queue(user)
        self.queues = queues
        self.registry = registry
        self.retry = retry
        self.in_flight = 0
        self._wait: Deferred[None] | None = None
        self._next_bind = 0
        self._pumping = False
        self._again = False
        self._stopped = False
        watch_expiry(queues, user)

    def stop(self) -> None:
        self._stopped = True
        self._cancel_wait()

    def pump(self) -> None:
        """Send what the windows have room for; safe to call at any time, even re-entered."""
        if self._pumping:
            self._again = True
            return
        self._pumping = True
        try:
            self._again = True
            while self._again and not self._stopped:
                self._again = False
                self._round()
        finally:
            self._pumping = False

    def _round(self) -> None:
        binds = [p for p in self.registry.receivers(self.user)
                 if p.session.may_send(C.DELIVER_SM)]
        if not binds:
            self._cancel_wait()
            return
        room = sum(max(0, p.session.window_free) for p in binds)
        if room == 0:
            return                   # a response will call pump
        entries = self.queues.take(self.queue, room)
        if not entries:
            if self._wait is None:
                d = self.queues.when_ready(self.queue)
                if d.called:
                    self._again = True
                else:
                    self._wait = d
                    d.addCallbacks(self._ready, self._wait_cancelled)
            return
        for entry in entries:
            self._send(entry, binds)
        self._again = True

    def _ready(self, _: None) -> None:
        self._wait = None
        self.pump()

    def _wait_cancelled(self, failure: Failure) -> None:
        failure.trap(CancelledError)

    def _cancel_wait(self) -> None:
        wait, self._wait = self._wait, None
        if wait is not None:
            wait.cancel()

    def _pick(self, binds: list[SmppProtocol]) -> SmppProtocol | None:
        n = len(binds)
        for i in range(n):
            proto = binds[(self._next_bind + i) % n]
            if proto.session.window_free > 0:
                self._next_bind = (self._next_bind + i + 1) % n
                return proto
        return None

    def _send(self, entry: QueueEntry, binds: list[SmppProtocol]) -> None:
        try:
            item = item_of(entry.obj, entry.payload)
        except UnsupportedFormat as e:
            log.error("{queue} entry {key} is unreadable ({error}); kept as a dead letter",
                      queue=self.queue, key=entry.key, error=str(e))
            self._settle(self.queues.dead_letter(entry, f"unreadable: {e}"))
            return
        proto = self._pick(binds)
        if proto is None:            # cannot happen: room was counted on these binds
            self._settle(self.queues.release(entry))
            return
        try:
            sent = proto.request(item.pdu)
        except Exception as e:       # e.g. a field this bind cannot carry: never retried
            log.error("{kind} {ref} for {user} cannot be sent ({error}); kept as a dead letter",
                      kind=item.kind, ref=item.ref, user=self.user, error=str(e))
            self._settle(self.queues.dead_letter(entry, f"cannot send: {e}"))
            return
        self.in_flight += 1
        self.stats.smpp_delivered(self.user, item.pdu.command_id == C.DATA_SM,
                                  proto.clock.seconds())
        sent.addCallbacks(self._answered, self._failed, callbackArgs=(entry, item),
                          errbackArgs=(entry, item))

    def _answered(self, resp: P.Pdu, entry: QueueEntry, item: DeliverItem) -> None:
        self.in_flight -= 1
        if resp.command_status == S.ESME_ROK:
            self._settle(self.queues.ack(entry))
        else:
            self._again_later(entry, item, f"customer answered {status_name(resp.command_status)}")
        self.pump()

    def _failed(self, failure: Failure, entry: QueueEntry, item: DeliverItem) -> None:
        self.in_flight -= 1
        reason = f"no answer: {failure.value.event.reason}" \
            if failure.check(RequestFailedError) else f"error: {failure.getErrorMessage()}"
        self._again_later(entry, item, reason)
        self.pump()

    def _again_later(self, entry: QueueEntry, item: DeliverItem, reason: str) -> None:
        delay = self.retry.delay(entry.attempts)
        log.info("{kind} {ref} to {user}: {reason}; try {n} in {delay:.0f} s",
                 kind=item.kind, ref=item.ref, user=self.user, reason=reason,
                 n=entry.attempts + 2, delay=delay)
        self._settle(self.queues.retry(entry, delay, reason))

    def _settle(self, d: Deferred[None]) -> None:
        d.addErrback(lambda f: log.failure("{queue}: store update failed", f,
                                           queue=self.queue))
