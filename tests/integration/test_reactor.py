"""The test run itself: Twisted on the asyncio reactor, real loopback sockets, no sleeps."""
import asyncio

import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP4ServerEndpoint, connectProtocol
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Collector(Protocol):
    """Fires `received` once `expected` octets arrived and `lost` when the connection ends."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.buffer = b""
        self.received: Deferred[bytes] = Deferred()
        self.lost: Deferred[None] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= self.expected and not self.received.called:
            self.received.callback(self.buffer)

    def connectionLost(self, reason: Failure = None) -> None:
        self.lost.callback(None)


def test_reactor_is_asyncio() -> None:
    """Breaks if pytest stops installing Twisted's asyncio reactor (aio-pika, redis.asyncio
    and asyncpg could then not share the loop with Twisted)."""
    from twisted.internet import reactor
    from twisted.internet.asyncioreactor import AsyncioSelectorReactor

    assert type(reactor) is AsyncioSelectorReactor


@pytest_twisted.ensureDeferred
async def test_loopback_echo_and_asyncio_future_on_one_loop() -> None:
    """Breaks if async tests cannot drive real loopback sockets through Deferreds, or if an
    asyncio future cannot be awaited from Twisted code (the asyncio loop is not the reactor's)."""
    from twisted.internet import reactor

    future = asyncio.get_running_loop().create_future()
    reactor.callLater(0, future.set_result, "from asyncio")
    assert await Deferred.fromFuture(future) == "from asyncio"

    port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
        Factory.forProtocol(Echo))
    try:
        payload = bytes(range(256)) * 64
        client = await connectProtocol(
            TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port),
            Collector(len(payload)))
        client.transport.write(payload)
        assert await client.received == payload
        client.transport.loseConnection()
        await client.lost
    finally:
        await port.stopListening()
