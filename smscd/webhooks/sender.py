# tests: tests/integration/test_webhooks.py
"""Webhook deliveries from their durable queue to the endpoints, signed, in order.

Rules:
- Deliveries wait in the store's queue `webhooks` (at least once: one in flight at a
  crash is sent again). At most `concurrency` are in flight.
- Each attempt is a JSON POST signed with the endpoint's current secret and the time of
  the attempt (signing.py), with headers Smscd-Signature, Smscd-Event, Smscd-Delivery
  (the queue key: a receiver can drop duplicates by it). Any 2xx is success.
- Anything else, a connection error or the timeout: retry after an exponential backoff
  (RetryPolicy) while the delays so far stay within `period` seconds; then the entry is
  a dead letter with the last reason, which `replay` (or `smscd queue requeue ID`) puts
  back with a fresh period.
- Order per subject and endpoint: a delivery is not sent while an older one (lower entry
  id) of the same subject to the same endpoint is unsettled (in flight or waiting for a
  retry); it stays leased, parked, and goes once the older one is acked or dead. At start
  every waiting entry counts as unsettled, so a restart keeps the order too. A receipt
  therefore never overtakes the acceptance event of its message.
- An entry whose endpoint was deleted is dropped (acked); one that cannot be read, or a
  URL the client refuses, is a dead letter at once.
"""
from __future__ import annotations

import bisect
from io import BytesIO
from typing import Any, Callable, Protocol, cast

from twisted.internet.defer import CancelledError, Deferred, maybeDeferred
from twisted.internet.protocol import Protocol as ByteProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer, IResponse

from smscd.customer_delivery import RetryPolicy
from smscd.http_callbacks.client import USER_AGENT
from smscd.message import UnsupportedFormat
from smscd.outbound_retry import QueueSender
from smscd.stores.interfaces import QueueEntry, Queues
from smscd.stores.sqlite_webhooks import Endpoint

from . import signing
from .events import Delivery, load_delivery

QUEUE = "webhooks"


class Clock(Protocol):
    def seconds(self) -> float: ...


class _Discard(ByteProtocol):
    """Reads an answer's body to its end (so the connection can be reused) and drops it."""

    def __init__(self) -> None:
        self.done: Deferred[None] = Deferred(self.cancel)

    def cancel(self, _: Deferred[None]) -> None:
        if self.transport is not None:
            self.transport.stopProducing()        # aborts the connection

    def connectionLost(self, reason: Failure = Failure(ResponseDone())) -> None:
        if self.done.called:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            self.done.callback(None)
        else:
            self.done.errback(reason)


def subject_of(key: str) -> str:
    """`<endpoint>:<subject>` of a queue key `<endpoint>:<subject>:<event id>`."""
    return key.rpartition(":")[0]


class WebhookSender(QueueSender):
    noun = "webhook"
    log = Logger(namespace="smscd.webhooks")

    def __init__(self, reactor: Any, queues: Queues, pool: HTTPConnectionPool,
                 endpoint: Callable[[str], Endpoint | None], *, concurrency: int = 20,
                 retry: RetryPolicy = RetryPolicy(), period: float = 86400.0,
                 timeout: float = 10.0, connect_timeout: float = 5.0) -> None:
        super().__init__(queues, QUEUE, concurrency=concurrency, retry=retry)
        self.reactor = reactor
        self.agent = Agent(reactor, connectTimeout=connect_timeout, pool=pool)
        self.endpoint = endpoint
        self.period = period
        self.timeout = timeout
        self._unsettled: dict[str, list[int]] = {}
        self._parked: dict[str, list[QueueEntry]] = {}

    def start(self) -> None:
        for entry in self.queues.waiting(QUEUE):
            self._register(entry)
        super().start()

    def stop(self) -> None:
        super().stop()
        for parked in self._parked.values():
            for entry in parked:
                self.queues.release(entry)
        self._parked.clear()

    def _dispatch(self, entry: QueueEntry) -> None:
        subject = self._register(entry)
        if self._unsettled[subject][0] < entry.id:
            parked = self._parked.setdefault(subject, [])
            parked.append(entry)
            parked.sort(key=lambda e: e.id)
        else:
            self._send(entry)

    def _exhausted(self, entry: QueueEntry) -> bool:
        return sum(self.retry.delay(i) for i in range(entry.attempts + 1)) > self.period

    def _register(self, entry: QueueEntry) -> str:
        subject = subject_of(entry.key)
        ids = self._unsettled.setdefault(subject, [])
        i = bisect.bisect_left(ids, entry.id)
        if i == len(ids) or ids[i] != entry.id:
            ids.insert(i, entry.id)
        return subject

    def _send(self, entry: QueueEntry) -> None:
        try:
            delivery = entry.obj if isinstance(entry.obj, Delivery) else load_delivery(
                entry.payload)
        except UnsupportedFormat as e:
            self._bury(entry, f"unreadable: {e}")
            return
        endpoint = self.endpoint(delivery.endpoint)
        if endpoint is None:
            self._gone(entry, self.queues.ack(entry))
            return
        d = maybeDeferred(self._post, endpoint, delivery, entry.key)
        self.in_flight[entry.id] = d
        d.addBoth(self._answered, entry)

    def _post(self, endpoint: Endpoint, delivery: Delivery, key: str) -> Deferred[int]:
        timestamp = int(self.reactor.seconds())
        headers = Headers({
            "Content-Type": ["application/json"], "User-Agent": [USER_AGENT],
            signing.HEADER: [signing.header_value(endpoint.secret, timestamp, delivery.body)],
            "Smscd-Event": [delivery.event], "Smscd-Delivery": [key]})
        d: Deferred[Any] = self.agent.request(b"POST", endpoint.url.encode("ascii"), headers,
                                              cast(IBodyProducer,
                                                   FileBodyProducer(BytesIO(delivery.body))))
        d.addCallback(self._read)
        d.addTimeout(self.timeout, self.reactor)
        return d

    def _read(self, response: IResponse) -> Deferred[int]:
        body = _Discard()
        response.deliverBody(body)  # type: ignore[call-arg,misc]
        return body.done.addCallback(lambda _: response.code)

    def _answered(self, result: int | Failure, entry: QueueEntry) -> None:
        self.in_flight.pop(entry.id, None)
        if isinstance(result, Failure):
            if result.check(CancelledError) and self._stopped:
                self._released(entry)
                return
            if result.check(UnicodeError, ValueError):
                self._bury(entry, f"cannot post: {result.getErrorMessage()}")
                self.pump()
                return
            reason = f"no answer: {result.getErrorMessage() or result.type.__name__}"
        elif 200 <= result < 300:
            self.delivered += 1
            self._gone(entry, self.queues.ack(entry))
            return
        else:
            reason = f"answered {result}"
        self._failed(entry, f"webhook {entry.key}", reason)

    def _gone(self, entry: QueueEntry, d: Deferred[None]) -> None:
        """`entry` is gone for good: the next delivery of its subject may go."""
        subject = subject_of(entry.key)
        ids = self._unsettled.get(subject, [])
        if entry.id in ids:
            ids.remove(entry.id)
        if not ids:
            self._unsettled.pop(subject, None)
        parked = self._parked.get(subject)
        if parked and ids and parked[0].id == ids[0]:
            self._send(parked.pop(0))
        if not parked:
            self._parked.pop(subject, None)
        self._settle(d)
        self.pump()
