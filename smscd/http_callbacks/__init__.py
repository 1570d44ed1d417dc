# tests: tests/integration/test_http_callbacks.py
"""Outbound HTTP: receipt callbacks to a message's dlr-url, and MO to HTTP connectors.

Modules: calls.py (a call as data, the ACK/Jasmin contract), dlr_calls.py (which receipt
callbacks, with Jasmin's parameters), dlr.py (the hooks the dispatcher and connectors
call), sender.py (the durable queue `http:dlr` to the receivers, with retries and dead
letters), mo.py (MO to an HTTP connector, one try), client.py (pooled Agent, timeouts).
`HttpCallbacks` puts them together from the `http_callbacks` settings, for the daemon.
"""
from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred

from smscd.config import HttpCallbacksConfig
from smscd.customer_delivery import RetryPolicy
from smscd.stores.interfaces import Queues

from .client import CallbackClient
from .dlr import DlrCallbacks
from .mo import MoCallbackFailed, MoHttpDelivery
from .sender import DLR_QUEUE, CallbackSender

__all__ = ["DLR_QUEUE", "HttpCallbacks", "MoCallbackFailed"]


class HttpCallbacks:
    """`dlr` (hooks), `mo` (MoHttpDelivery.deliver), `sender`; start() after the store is
    open, stop() before it closes."""

    def __init__(self, reactor: Any, queues: Queues, config: HttpCallbacksConfig) -> None:
        self.client = CallbackClient(reactor, timeout=config.timeout,
                                     connect_timeout=config.connect_timeout)
        self.dlr = DlrCallbacks(queues)
        self.mo = MoHttpDelivery(self.client)
        self.sender = CallbackSender(
            queues, self.client, concurrency=config.concurrency,
            max_attempts=config.max_attempts,
            retry=RetryPolicy(initial=config.retry_delay, factor=2.0,
                              cap=config.retry_max_delay))

    def start(self) -> None:
        self.sender.start()

    def stop(self) -> Deferred[None]:
        """Stop sending (calls in flight go back to the queue) and close connections."""
        self.sender.stop()
        return self.client.close()
