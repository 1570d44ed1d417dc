# tests: tests/integration/test_http_callbacks.py
"""MO to HTTP callback connectors (Jasmin's httpccm): one try, the MO router decides the rest.

Rules (../shared/reference/jasmin.md §4.6):
- Parameters: `id`, `from`, `to`, `origin-connector`, `content` (the octets as received;
  a long MO arrives here reassembled), `binary` (hex of content), `coding` (the
  data_coding), and, new, `text`: the content decoded for its coding (Jasmin sends only
  the octets, #800), which Jasmin clients ignore.
- The connector's method (GET query or POST form), its headers and basic auth, its
  connect timeout and timeout.
- `deliver` fires once the receiver acknowledged (`ACK/Jasmin`, calls.is_ack) and fails
  with MoCallbackFailed otherwise: failover to the next connector, retries and dead
  letters are the MO router's. Nothing is queued here, so credentials are never stored.
"""
from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from smscd.deliveries import InboundMessage
from smscd.http_connectors import HttpConnectorConfig
from smscd.smpp.coding import decode_text

from .calls import Call, is_ack
from .client import CallbackClient


class MoCallbackFailed(Exception):
    """The receiver did not acknowledge the MO; `reason` says what it did instead."""

    def __init__(self, connector: str, reason: str) -> None:
        super().__init__(f"HTTP connector {connector}: {reason}")
        self.connector = connector
        self.reason = reason


def mo_call(mo: InboundMessage, cfg: HttpConnectorConfig) -> Call:
    content = mo.content
    params = (("id", mo.id), ("from", mo.source.addr), ("to", mo.destination.addr),
              ("origin-connector", mo.connector),
              ("content", content.decode("utf-8", "surrogateescape")),
              ("binary", content.hex()), ("coding", str(mo.data_coding)),
              ("text", decode_text(content, mo.data_coding)))
    return Call(cfg.url, cfg.method, params, f"mo {mo.id}")


class MoHttpDelivery:
    def __init__(self, client: CallbackClient) -> None:
        self.client = client

    def deliver(self, mo: InboundMessage, cfg: HttpConnectorConfig) -> Deferred[None]:
        auth = (cfg.username, cfg.password) \
            if cfg.username is not None and cfg.password is not None else None
        d = self.client.send(mo_call(mo, cfg), cfg.headers, auth, timeout=cfg.timeout,
                             connect_timeout=cfg.connect_timeout)
        return d.addCallbacks(self._answered, self._failed, callbackArgs=(cfg,),
                              errbackArgs=(cfg,))

    def _answered(self, result: tuple[int, bytes], cfg: HttpConnectorConfig) -> None:
        code, body = result
        if not is_ack(code, body):
            raise MoCallbackFailed(cfg.id, f"answered {code} {body[:60]!r}, not ACK/Jasmin")

    def _failed(self, failure: Failure, cfg: HttpConnectorConfig) -> None:
        why = failure.getErrorMessage() or failure.type.__name__
        raise MoCallbackFailed(cfg.id, f"no answer: {why}")
