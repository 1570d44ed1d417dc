# tests: tests/integration/test_http_callbacks.py
"""The outbound HTTP client of callbacks: pooled connections, timeouts, bounded answers.

Rules:
- One `twisted.web.client.Agent` over one persistent `HTTPConnectionPool` per daemon, so
  receivers that take many callbacks keep their connections (treq is not installed; Agent
  is what treq wraps).
- `connect_timeout` bounds the connection; `timeout` bounds the whole exchange (request,
  status and body) and cancels it when it runs out.
- Only the first `MAX_BODY` octets of an answer are kept: the ACK is at its start.
- Headers: `Accept: text/plain`, a User-Agent naming smscd, the call's own (MO connectors:
  custom headers and basic auth). Never logged: they may carry credentials.
"""
from __future__ import annotations

from base64 import b64encode
from io import BytesIO
from typing import Any, cast
from urllib.parse import quote

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer, IResponse

from smscd import __version__

from .calls import Call

MAX_BODY = 4096
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"      # a URL's own syntax; the rest is percent-encoded
USER_AGENT = f"smscd/{__version__} (Jasmin gateway/1.0 compatible)"


class _FirstOctets(Protocol):
    def __init__(self) -> None:
        self.done: Deferred[bytes] = Deferred(self.cancel)
        self.data = bytearray()

    def cancel(self, _: Deferred[bytes]) -> None:
        if self.transport is not None:
            self.transport.stopProducing()        # aborts the connection

    def dataReceived(self, data: bytes) -> None:
        room = MAX_BODY - len(self.data)
        if room > 0:
            self.data += data[:room]

    def connectionLost(self, reason: Failure = Failure(ResponseDone())) -> None:
        if self.done.called:                       # cancelled
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            self.done.callback(bytes(self.data))
        else:
            self.done.errback(reason)


class CallbackClient:
    def __init__(self, reactor: Any, *, timeout: float = 30.0, connect_timeout: float = 10.0,
                 pool_size: int = 10) -> None:
        self.reactor = reactor
        self.timeout = timeout
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        self.pool.maxPersistentPerHost = pool_size
        self.connect_timeout = connect_timeout
        self._agents: dict[float, Agent] = {}

    def _agent(self, connect_timeout: float) -> Agent:
        """One Agent per connect timeout, all over the one pool."""
        agent = self._agents.get(connect_timeout)
        if agent is None:
            agent = self._agents[connect_timeout] = Agent(
                self.reactor, connectTimeout=connect_timeout, pool=self.pool)
        return agent

    def send(self, call: Call, headers: tuple[tuple[str, str], ...] = (),
             basic_auth: tuple[str, str] | None = None, *, timeout: float | None = None,
             connect_timeout: float | None = None) -> Deferred[tuple[int, bytes]]:
        """Fires with (status code, first octets of the body); fails on connection errors
        and on the timeout (the client's unless given)."""
        h = Headers({"Accept": ["text/plain"], "User-Agent": [USER_AGENT]})
        for name, value in headers:
            h.addRawHeader(name, value)
        if basic_auth is not None:
            token = b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode("ascii")
            h.setRawHeaders("Authorization", [f"Basic {token}"])
        body = call.body()
        producer: IBodyProducer | None = None
        if body is not None:
            h.setRawHeaders("Content-Type", ["application/x-www-form-urlencoded"])
            producer = cast(IBodyProducer, FileBodyProducer(BytesIO(body)))
        url = quote(call.target(), safe=_URL_SAFE).encode("ascii")
        agent = self._agent(connect_timeout or self.connect_timeout)
        d: Deferred[Any] = agent.request(call.method.encode("ascii"), url, h, producer)
        d.addCallback(self._read)
        d.addTimeout(timeout or self.timeout, self.reactor)
        return cast("Deferred[tuple[int, bytes]]", d)

    def _read(self, response: IResponse) -> Deferred[tuple[int, bytes]]:
        body = _FirstOctets()
        response.deliverBody(body)  # type: ignore[call-arg,misc]
        return body.done.addCallback(lambda body: (response.code, body))

    def close(self) -> Deferred[None]:
        return self.pool.closeCachedConnections()
