# tests: tests/integration/test_webhooks.py
"""Signed webhooks for REST users: endpoints per user and event type, durable deliveries.

Modules: signing.py (HMAC header, verification), events.py (bodies, queue entries),
sender.py (the queue `webhooks` to the endpoints: retries, dead letters, order).
`Webhooks` is the service the daemon starts after the store is open:
- endpoint management (the REST API's /v1/webhooks): `add`, `list`, `remove`, kept in
  memory after `start` loaded them, so the hooks below cost nothing for a user without
  endpoints;
- `accepted(message)`: the message.accepted deliveries as queue publications, which the
  REST API commits in the same durable change as the message (`MessageLog.accept_many`),
  so the event exists exactly when the message does and is queued before any receipt;
- hooks: `part_state(message, part_index, state, error)` when a part's state is
  durable, `inbound(uid, item)` when an MO is stored for the user. Each publishes one
  delivery per endpoint of the user that wants the event, in the order the hooks are
  called;
- dead letters: `dead_letters(uid)` and `replay(uid, dead_id)`, scoped to the user.
Rules: an endpoint URL is http or https with a host; events are of EVENT_TYPES; the
secret (`whsec_` + 32 random octets, hex) is shown once, in `add`'s answer.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
import builtins
from typing import Any, Protocol
from urllib.parse import urlsplit

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.web.client import HTTPConnectionPool

from smscd.customer_delivery import RetryPolicy
from smscd.message import Message
from smscd.smpp.message_state import MessageState
from smscd.stores.interfaces import DeadLetter, Publication, Queues
from smscd.stores.sqlite_webhooks import Endpoint

from . import events
from .events import EVENT_TYPES, Delivery, dump_delivery
from .sender import QUEUE, WebhookSender

__all__ = ["EVENT_TYPES", "Endpoint", "QUEUE", "WebhookSettings", "Webhooks"]


class EndpointStore(Protocol):
    def add(self, endpoint: Endpoint) -> Deferred[None]: ...
    def remove(self, uid: str, endpoint_id: str) -> Deferred[bool]: ...
    def all(self) -> Deferred[list[Endpoint]]: ...


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    concurrency: int = 20
    retry_delay: float = 5.0
    retry_max_delay: float = 600.0
    period: float = 86400.0          # retried for this long, then a dead letter
    timeout: float = 10.0
    connect_timeout: float = 5.0
    max_endpoints: int = 20          # per user


class Webhooks:
    def __init__(self, reactor: Any, queues: Queues, store: EndpointStore,
                 settings: WebhookSettings = WebhookSettings(),
                 pool: HTTPConnectionPool | None = None) -> None:
        self.reactor = reactor
        self.queues = queues
        self.store = store
        self.settings = settings
        self.pool = pool if pool is not None else HTTPConnectionPool(reactor, persistent=True)
        self._by_id: dict[str, Endpoint] = {}
        self._by_user: dict[str, list[Endpoint]] = {}
        self.sender = WebhookSender(
            reactor, queues, self.pool, self._by_id.get, concurrency=settings.concurrency,
            retry=RetryPolicy(settings.retry_delay, 2.0, settings.retry_max_delay),
            period=settings.period, timeout=settings.timeout,
            connect_timeout=settings.connect_timeout)

    def start(self) -> Deferred[None]:
        return self.store.all().addCallback(self._loaded)

    def _loaded(self, endpoints: list[Endpoint]) -> None:
        for e in endpoints:
            self._keep(e)
        self.sender.start()

    def stop(self) -> Deferred[None]:
        self.sender.stop()
        return self.pool.closeCachedConnections()

    # --- endpoints ---------------------------------------------------------------------
    def add(self, uid: str, url: str, event_types: list[str]) -> Deferred[Endpoint]:
        """ValueError naming the field for a bad URL or event type, or too many endpoints."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url: must be an http or https URL with a host")
        unknown = [e for e in event_types if e not in EVENT_TYPES]
        if unknown or not event_types:
            raise ValueError(f"events: each must be one of {', '.join(EVENT_TYPES)}")
        if len(self._by_user.get(uid, ())) >= self.settings.max_endpoints:
            raise ValueError(f"url: at most {self.settings.max_endpoints} endpoints per user")
        endpoint = Endpoint("we_" + os.urandom(8).hex(), uid, url,
                            tuple(dict.fromkeys(event_types)),
                            "whsec_" + os.urandom(32).hex(), self.reactor.seconds())
        return self.store.add(endpoint).addCallback(lambda _: self._keep(endpoint))

    def _keep(self, endpoint: Endpoint) -> Endpoint:
        self._by_id[endpoint.id] = endpoint
        self._by_user.setdefault(endpoint.uid, []).append(endpoint)
        return endpoint

    def list(self, uid: str) -> builtins.list[Endpoint]:
        return list(self._by_user.get(uid, ()))

    def remove(self, uid: str, endpoint_id: str) -> Deferred[bool]:
        endpoint = self._by_id.get(endpoint_id)
        if endpoint is None or endpoint.uid != uid:
            return succeed(False)
        del self._by_id[endpoint_id]
        self._by_user[uid] = [e for e in self._by_user[uid] if e.id != endpoint_id]
        return self.store.remove(uid, endpoint_id)

    def wants(self, uid: str, event: str) -> bool:
        return any(event in e.events for e in self._by_user.get(uid, ()))

    # --- events ------------------------------------------------------------------------
    def accepted(self, message: Message) -> builtins.list[Publication]:
        """`message`'s message.accepted deliveries, to publish with its accept."""
        return self._publications(message.user, events.ACCEPTED, message.id,
                                  events.accepted_data(message))

    def part_state(self, message: Message, part_index: int, state: MessageState,
                   error: str = "") -> Deferred[None]:
        event = events.state_event(state)
        if event is None:
            return succeed(None)
        return self._publish(message.user, event, message.id,
                             events.state_data(message, part_index, state, error))

    def inbound(self, uid: str, item: dict[str, Any]) -> Deferred[None]:
        return self._publish(uid, events.INBOUND, str(item.get("id", "")), item)

    def _publish(self, uid: str, event: str, subject: str, data: dict[str, Any]
                 ) -> Deferred[None]:
        found = self._publications(uid, event, subject, data)
        if not found:
            return succeed(None)
        ds = [self.queues.publish(p.queue, p.key, p.payload, p.obj) for p in found]
        return gatherResults(ds, consumeErrors=True).addCallback(lambda _: None)

    def _publications(self, uid: str, event: str, subject: str, data: dict[str, Any]
                      ) -> builtins.list[Publication]:
        """One delivery per endpoint of `uid` that wants `event`, with one body (one
        event id) for all of them."""
        targets = [e for e in self._by_user.get(uid, ()) if event in e.events]
        if not targets:
            return []
        body = events.event_body(event, data, self.reactor.seconds())
        found = []
        for endpoint in targets:
            delivery = Delivery(endpoint.id, event, subject, body)
            found.append(Publication(QUEUE, delivery.key, dump_delivery(delivery), delivery))
        return found

    # --- dead letters ------------------------------------------------------------------
    def dead_letters(self, uid: str, limit: int = 100
                     ) -> Deferred[builtins.list[DeadLetter]]:
        mine = {e.id for e in self._by_user.get(uid, ())}
        d = self.queues.dead_letters(QUEUE, 10_000)
        return d.addCallback(lambda dead: [x for x in dead
                                           if x.key.split(":", 1)[0] in mine][:limit])

    def replay(self, uid: str, dead_id: int) -> Deferred[bool]:
        """Put `uid`'s dead letter back in the queue with a fresh period; False if unknown."""
        def found(dead: builtins.list[DeadLetter]) -> Deferred[bool]:
            if not any(x.id == dead_id for x in dead):
                return succeed(False)
            return self.queues.requeue_dead(dead_id)
        return self.dead_letters(uid, 10_000).addCallback(found)

