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

from twisted.internet.defer import CancelledError, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.error import SchemeNotSupported

from smscd.customer_delivery import RetryPolicy
from smscd.message import UnsupportedFormat
from smscd.outbound_retry import QueueSender
from smscd.stores.interfaces import QueueEntry, Queues

from .calls import Call, is_ack, load_call
from .client import CallbackClient

DLR_QUEUE = "http:dlr"


class CallbackSender(QueueSender):
    noun = "callback"
    log = Logger(namespace="smscd.http_callbacks")

    def __init__(self, queues: Queues, client: CallbackClient, *, concurrency: int = 50,
                 max_attempts: int = 15, retry: RetryPolicy = RetryPolicy(),
                 queue: str = DLR_QUEUE) -> None:
        super().__init__(queues, queue, concurrency=concurrency, retry=retry)
        self.client = client
        self.max_attempts = max_attempts

    def _exhausted(self, entry: QueueEntry) -> bool:
        return entry.attempts + 1 >= self.max_attempts

    def _dispatch(self, entry: QueueEntry) -> None:
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
                self._released(entry)
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
        self._failed(entry, f"callback {call.ref} to {call.url}", reason)
