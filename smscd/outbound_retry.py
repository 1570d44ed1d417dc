# tests: tests/integration/test_http_callbacks.py, tests/integration/test_webhooks.py
"""The sending loop shared by the outbound HTTP senders (receipt callbacks, webhooks).

Why: both take entries from one durable store queue, keep at most `concurrency` calls in
flight, retry a failed call after an exponential backoff and keep the hopeless ones as
dead letters; one loop serves both, a subclass says how an entry is sent and when it has
had enough tries.

Rules:
- `pump` sends what there is room for; it is safe to call at any time, even re-entered.
  With nothing waiting it waits on the queue's `when_ready` (so a requeued dead letter
  goes at once).
- `stop` stops taking entries and cancels the calls in flight; a call cancelled by a stop
  is released to the queue and tried again later.
- A failed call counts in `failures`; it is retried after `retry.delay(attempts)` unless
  `_exhausted(entry)`, then it is a dead letter with the last reason (`dead_lettered`).
- Every store update is settled by `_settle`: a failed update is logged, and the
  conditions are checked after it (`until` fires on them).
"""
from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger

from connectors.conditions import Conditions
from smscd.customer_delivery import RetryPolicy
from smscd.stores.interfaces import QueueEntry, Queues


class QueueSender:
    """Subclasses set `noun` and `log`, and define `_dispatch` and `_exhausted`."""

    noun = "call"
    log = Logger(namespace="smscd.outbound_retry")

    def __init__(self, queues: Queues, queue: str, *, concurrency: int,
                 retry: RetryPolicy) -> None:
        self.queues = queues
        self.queue = queue
        self.concurrency = concurrency
        self.retry = retry
        self.in_flight: dict[int, Deferred[Any]] = {}
        self.delivered = self.failures = self.dead_lettered = 0
        self.conditions: Conditions[Any] = Conditions(self)
        self._wait: Deferred[None] | None = None
        self._stopped = True
        self._pumping = self._again = False

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

    def until(self, condition: Callable[[Any], bool]) -> Deferred[None]:
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
            self._dispatch(entry)
        self._again = True

    def _ready(self, _: None) -> None:
        self._wait = None
        self.pump()

    def _dispatch(self, entry: QueueEntry) -> None:
        """Send `entry` (or hold it back); its answer must end in `_failed` or a settle."""
        raise NotImplementedError

    def _exhausted(self, entry: QueueEntry) -> bool:
        """True once `entry`, which has just failed, has had all the tries it gets."""
        raise NotImplementedError

    def _released(self, entry: QueueEntry) -> None:
        """A call cancelled by `stop`: its entry goes back to the queue for later."""
        self._settle(self.queues.release(entry))

    def _failed(self, entry: QueueEntry, what: str, reason: str) -> None:
        """The call for `entry` (described by `what`) failed for `reason`: retry or bury."""
        self.failures += 1
        if self._exhausted(entry):
            self._bury(entry, f"{entry.attempts + 1} attempts, last: {reason}")
        else:
            delay = self.retry.delay(entry.attempts)
            self.log.info("{what}: {reason}; try {n} in {delay:.1f} s", what=what,
                          reason=reason, n=entry.attempts + 2, delay=delay)
            self._settle(self.queues.retry(entry, delay, reason))
        self.pump()

    def _bury(self, entry: QueueEntry, reason: str) -> None:
        self.log.warn("{noun} {key}: {reason}; kept as a dead letter in {queue}",
                      noun=self.noun, key=entry.key, reason=reason, queue=self.queue)
        self.dead_lettered += 1
        self._gone(entry, self.queues.dead_letter(entry, reason))

    def _gone(self, entry: QueueEntry, d: Deferred[None]) -> None:
        """`entry` is settled for good (acked or dead) by the store update `d`."""
        self._settle(d)

    def _settle(self, d: Deferred[None]) -> None:
        d.addErrback(lambda f: self.log.failure("{queue}: store update failed", f,
                                                queue=self.queue))
        d.addBoth(lambda _: self.conditions.check())
