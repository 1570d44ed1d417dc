"""smscd.http_api.lean: what the lean channel, request and site keep of twisted.web's
behaviour (idle timeout, headers, traversal, body limit) while dropping per-request work.
Timers run on a Clock; requests go through the real channel over a StringTransport, and
one test over a loopback socket."""
from __future__ import annotations

from typing import Any

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.web import server
from twisted.web.client import Agent, readBody
from twisted.web.resource import Resource

from smscd.http_api.lean import ApiChannel, ApiRequest, ApiSite

PEER = IPv4Address("TCP", "10.1.2.3", 40000)
HOST = IPv4Address("TCP", "127.0.0.1", 1401)


class Echo(Resource):
    """A leaf answering its path, the client's address and the body length it saw."""
    isLeaf = True
    requests: list[Any] = []

    def render_GET(self, request: ApiRequest) -> bytes:
        Echo.requests.append(request)
        return b"%s %s" % (request.path, request.getClientAddress().host.encode())

    def render_POST(self, request: ApiRequest) -> bytes:
        return b"%d %s" % (request.body_length, b"too large" if request.too_large else b"ok")


def _site(clock: Clock, max_body: int = 100) -> ApiSite:
    root = Resource()
    echo = Echo()
    root.putChild(b"echo", echo)
    request = type("Req", (ApiRequest,), {"max_body": max_body})
    return ApiSite(root, {b"/echo": echo}, requestFactory=request, reactor=clock, timeout=60)


def _connect(site: ApiSite) -> tuple[ApiChannel, StringTransport]:
    channel = site.buildProtocol(PEER)
    transport = StringTransport(hostAddress=HOST, peerAddress=PEER)
    channel.makeConnection(transport)
    return channel, transport


def test_the_idle_timeout_counts_from_the_last_activity() -> None:
    """Twisted's rule: closed timeOut seconds after the last request, not before."""
    clock = Clock()
    channel, transport = _connect(_site(clock))
    clock.advance(50)
    channel.dataReceived(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
    clock.advance(59)
    assert not transport.disconnecting
    clock.advance(1)
    assert transport.disconnecting


def test_no_timer_is_made_per_request() -> None:
    """One idle timer per connection, whatever the number of requests (TimeoutMixin made
    and cancelled one per request)."""
    clock = Clock()
    made: list[float] = []
    call_later = clock.callLater
    clock.callLater = lambda delay, f, *a, **kw: (  # type: ignore[method-assign]
        made.append(delay), call_later(delay, f, *a, **kw))[1]
    channel, transport = _connect(_site(clock))
    for _ in range(100):
        channel.dataReceived(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
    assert transport.value().count(b"HTTP/1.1 200 OK") == 100
    assert made == [60] and len(clock.getDelayedCalls()) == 1
    channel.connectionLost(server.failure.Failure(ConnectionError()))
    assert clock.getDelayedCalls() == []        # nothing left to hold the channel


def test_a_request_in_progress_is_not_timed_out() -> None:
    """While an answer is pending the timeout is paused (HTTPChannel's setTimeout(None))."""
    clock = Clock()

    class Slow(Resource):
        isLeaf = True

        def render_GET(self, request: ApiRequest) -> Any:
            clock.callLater(200, lambda: (request.write(b"late"), request.finish()))
            return server.NOT_DONE_YET

    root = Resource()
    site = ApiSite(root, {b"/slow": Slow()}, requestFactory=ApiRequest, reactor=clock,
                   timeout=60)
    channel, transport = _connect(site)
    channel.dataReceived(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    clock.advance(150)
    assert not transport.disconnecting
    clock.advance(50)
    assert b"late" in transport.value() and not transport.disconnecting
    clock.advance(60)
    assert transport.disconnecting


def test_direct_pages_answer_as_the_traversal_does() -> None:
    """/echo (served directly) and /echo/x (traversed) both reach the page, with Server
    and Date headers and the connection's client address."""
    clock = Clock()
    clock.advance(1_700_000_000)
    channel, transport = _connect(_site(clock))
    channel.dataReceived(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET /echo/x HTTP/1.1\r\nHost: x\r\n\r\n")
    out = transport.value()
    assert out.count(b"Server: TwistedWeb/") == 2 and out.count(b"\r\nDate: ") == 2
    assert b"Date: Tue, 14 Nov 2023 22:13:20 GMT" in out       # the direct one: the clock's
    assert b"/echo 10.1.2.3" in out and b"/echo/x 10.1.2.3" in out


def test_the_date_header_follows_the_clock() -> None:
    clock = Clock()
    channel, transport = _connect(_site(clock))
    channel.dataReceived(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
    clock.advance(30.5)
    channel.dataReceived(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
    out = transport.value()
    assert b"Date: Thu, 01 Jan 1970 00:00:00 GMT" in out
    assert b"Date: Thu, 01 Jan 1970 00:00:30 GMT" in out


def test_body_length_and_limit() -> None:
    """The kept body is counted; beyond max_body it is dropped and flagged."""
    clock = Clock()
    channel, transport = _connect(_site(clock, max_body=10))
    channel.dataReceived(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    channel.dataReceived(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n")
    out = transport.value()
    assert b"5 ok" in out and b"0 too large" in out


def test_a_lost_connection_marks_its_request_gone() -> None:
    clock = Clock()

    class Never(Resource):
        isLeaf = True

        def render_GET(self, request: ApiRequest) -> Any:
            Never.request = request
            return server.NOT_DONE_YET

    site = ApiSite(Resource(), {b"/never": Never()}, requestFactory=ApiRequest,
                   reactor=clock)
    channel, _ = _connect(site)
    channel.dataReceived(b"GET /never HTTP/1.1\r\nHost: x\r\n\r\n")
    assert not Never.request.gone
    channel.connectionLost(server.failure.Failure(ConnectionError()))
    assert Never.request.gone


@pytest_twisted.ensureDeferred
async def test_over_a_socket_keep_alive_and_unknown_paths() -> None:
    """Over loopback: a page by its exact path, a 404 for a path no resource has."""
    root = Resource()
    echo = Echo()
    root.putChild(b"echo", echo)
    site = ApiSite(root, {b"/echo": echo}, requestFactory=ApiRequest)
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    try:
        agent = Agent(reactor)
        base = f"http://127.0.0.1:{port.getHost().port}".encode()
        response = await agent.request(b"GET", base + b"/echo")
        assert response.code == 200 and await readBody(response) == b"/echo 127.0.0.1"
        response = await agent.request(b"GET", base + b"/nothing")
        assert response.code == 404
        await readBody(response)
    finally:
        await port.stopListening()
