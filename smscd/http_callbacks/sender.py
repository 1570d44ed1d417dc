# tests: tests/integration/test_http_callbacks.py
"""Receipt callbacks from their durable queue to the customers' URLs.

Rules:
- Callbacks wait in the store's queue `http:dlr` (published in the same durable change as
  the state they report, see dlr.py), so none is lost at a crash or a restart; a
  callback in flight at a crash is sent again (at least once, as every queue here).
- At most `concurrency` calls are in flight. An acknowledged call (calls.is_ack) is acked
  in the queue. Any other answer, a connection error or a timeout: `retry` after an
  exponential backoff (RetryPolicy), until `max_attempts` tries, then the entry becomes a
  dead letter with the last reason: `smscd queue dead http:dlr` lists it and `smscd queue
  requeue ID` replays it with a fresh set of tries (Jasmin drops after 4 tries 30 s apart).
- An entry that cannot be read, or a call that cannot even be made (a URL the client
  refuses), is a dead letter at once: trying again cannot help.
- A requeued dead letter is sent at once: the sender waits on `when_ready`.
"""
from __future__ import annotations

from typing import Any

from twisted.internet.defer import CancelledError, Deferred, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.error import SchemeNotSupported

from connectors.conditions import Conditions
from smscd.customer_delivery import RetryPolicy
from smscd.message import UnsupportedFormat
from smscd.stores.interfaces import QueueEntry, Queues

from .calls import Call, is_ack, load_call
from .client import CallbackClient

log = Logger(namespace="smscd.http_callbacks")

DLR_QUEUE = "http:dlr"


class CallbackSender:
    def __init__(self, queues: Queues, client: CallbackClient, *, concurrency: int = 50,
                 max_attempts: int = 15, retry: RetryPolicy = RetryPolicy(),
                 queue: str = DLR_QUEUE) -> None:
        self.queues = queues
        self.client = client
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.retry = retry
        self.queue = queue
        self.in_flight: dict[int, Deferred[Any]] = {}
        self.delivered = 0
        self.failures = 0
        self.dead_lettered = 0
        self.conditions: Conditions[CallbackSender] = Conditions(self)
        self._wait: Deferred[None] | None = None
        self._stopped = True
        self._pumping = False
        self._again = False

    def start(self) -> None:
        self._stopped = False
        self.pump()

    def stop(self) -> None:
        """Stop taking entries; calls in flight are cancelled and tried again later."""
        self._stopped = True
        wait, self._wait = self._wait, None
        if wait is not None:
            wait.cancel()
        for d in list(self.in_flight.values()):
            d.cancel()

    def until(self, condition: Any) -> Deferred[None]:
        """Fires once `condition(sender)` holds (tests, operators)."""
        return self.conditions.until(condition)

    def pump(self) -> None:
        """Send what there is room for; safe to call at any time, even re-entered."""
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
        room = self.concurrency - len(self.in_flight)
        if room <= 0:
            return                       # an answer will call pump
        entries = self.queues.take(self.queue, room)
        if not entries:
            if self._wait is None:
                d = self.queues.when_ready(self.queue)
                if d.called:
                    self._again = True
                else:
                    self._wait = d
                    d.addCallbacks(self._ready, lambda f: f.trap(CancelledError))
            return
        for entry in entries:
            self._send(entry)
        self._again = True

    def _ready(self, _: None) -> None:
        self._wait = None
        self.pump()

    def _send(self, entry: QueueEntry) -> None:
        try:
            call = entry.obj if isinstance(entry.obj, Call) else load_call(entry.payload)
        except UnsupportedFormat as e:
            self._bury(entry, f"unreadable: {e}")
            return
        d = maybeDeferred(self.client.send, call)
        self.in_flight[entry.id] = d
        d.addBoth(self._answered, entry, call)

    def _answered(self, result: tuple[int, bytes] | Failure, entry: QueueEntry,
                  call: Call) -> None:
        self.in_flight.pop(entry.id, None)
        if isinstance(result, Failure):
            if result.check(CancelledError) and self._stopped:
                self._settle(self.queues.release(entry))
                return
            if result.check(UnicodeError, ValueError, SchemeNotSupported):
                self._bury(entry, f"cannot call {call.url!r}: {result.getErrorMessage()}")
                self.pump()
                return
            reason = f"no answer: {result.getErrorMessage() or result.type.__name__}"
        else:
            code, body = result
            if is_ack(code, body):
                self.delivered += 1
                self._settle(self.queues.ack(entry))
                self.pump()
                return
            reason = f"answered {code} {body[:60]!r}, not ACK/Jasmin"
        self.failures += 1
        if entry.attempts + 1 >= self.max_attempts:
            self._bury(entry, f"{entry.attempts + 1} attempts, last: {reason}")
        else:
            delay = self.retry.delay(entry.attempts)
            log.info("callback {ref} to {url}: {reason}; try {n} in {delay:.1f} s",
                     ref=call.ref, url=call.url, reason=reason, n=entry.attempts + 2,
                     delay=delay)
            self._settle(self.queues.retry(entry, delay, reason))
        self.pump()

    def _bury(self, entry: QueueEntry, reason: str) -> None:
        log.warn("callback {key}: {reason}; kept as a dead letter in {queue}",
                 key=entry.key, reason=reason, queue=self.queue)
        self.dead_lettered += 1
        self._settle(self.queues.dead_letter(entry, reason))

    def _settle(self, d: Deferred[None]) -> None:
        d.addErrback(lambda f: log.failure("{queue}: store update failed", f,
                                           queue=self.queue))
        d.addBoth(lambda _: self.conditions.check())
