# tests: tests/integration/test_http_lean.py, tests/integration/test_http_send.py
"""twisted.web's HTTP/1.1 server minus the per-request work the API's pages do not need.

At thousands of /send requests a second, twisted.web's own bookkeeping cost more than the
request's real work (issue 6). Parsing, header validation, keep-alive, pipelining, response
framing and error pages stay Twisted's; these classes only drop or cache:
- the idle timeout: TimeoutMixin cancels and schedules a DelayedCall for every request
  (twice); `ApiChannel` keeps the time of the last activity and one timer per connection
  that looks at it, so an idle connection still closes `timeOut` seconds after its last
  activity (Twisted's rule) and no timer is made per request.
- the peer and host addresses: read once per connection, not per request (getHost() is a
  getsockname system call).
- the HTTP/2 negotiation wrapper (`_GenericHTTPChannelProtocol`): the API listens without
  TLS, so HTTP/2 is never negotiated; the channel is HTTP/1.1 directly.
- resource traversal and the Date header's formatting for the site's own pages: a request
  whose path is exactly one of `ApiSite.pages` goes straight to it (the traversal would find
  the same page), with a Date header made once a second. Other paths (/v1, /send/x) take
  Twisted's traversal.
- cookie parsing: no page reads cookies.
- the access log line per request (`log`), which costs more than a request.
`LimitedRequest` also keeps the body within `max_body` and notes a client that went away
(`gone`), so a page needs no notifyFinish Deferred per request.
"""
from __future__ import annotations

from io import BytesIO
from typing import Any, Mapping, Protocol, cast

from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.web import http, server
from twisted.web.resource import IResource


class LimitedRequest(server.Request):
    """A request whose body is dropped, not kept, beyond `max_body` octets."""
    max_body = 65536
    too_large = False
    body_length = 0          # octets of body kept
    gone = False             # the connection was lost before the answer

    def gotLength(self, length: int | None) -> None:
        if length is not None and length > self.max_body:
            self.too_large = True
            length = 0
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self.too_large:
            return
        if self.body_length + len(data) > self.max_body:
            self.too_large = True
            self.body_length = 0
            self.content = BytesIO()         # type: ignore[assignment]
            return
        self.body_length += len(data)
        super().handleContentChunk(data)

    def connectionLost(self, reason: Failure) -> None:
        self.gone = True
        super().connectionLost(reason)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        """Twisted's, without its Content-Type parse (the `email` package, ~20 % of a JSON
        POST's CPU) when the type cannot be a form: only a type naming a form can make
        Twisted parse the body into `args`, so form and multipart POSTs keep its parser."""
        ctype = self.requestHeaders.getRawHeaders(b"content-type")
        if ctype and b"form" not in ctype[0].lower():
            self._parsePOSTFormSubmission = False
        super().requestReceived(command, path, version)


class ApiRequest(LimitedRequest):
    """A LimitedRequest served the short way when the site knows its page (see above)."""

    def parseCookies(self) -> None:
        """No page reads cookies: received_cookies stays empty."""

    def process(self) -> None:
        site = cast(Any, self.channel).site
        page = site.pages.get(self.path) if isinstance(site, ApiSite) else None
        if page is None:
            super().process()
            return
        self.site = site
        self.setHeader(b"server", server.version)
        self.setHeader(b"date", site.date())
        self.sitepath: list[bytes] = []
        self.prepath, self.postpath = [self.path[1:]], []
        try:
            self.render(page)
        except BaseException:
            self.processingFailed(Failure())


class Clock(Protocol):
    def seconds(self) -> float: ...


class ApiChannel(http.HTTPChannel):
    """HTTP/1.1 with the idle timeout and the addresses kept per connection (see above)."""
    clock: Clock                       # the site's reactor
    _last_activity = 0.0
    _idle_timer: Any = None            # the IDelayedCall of the idle check
    _peer: IAddress
    _host: IAddress

    def connectionMade(self) -> None:
        transport = cast(Any, self.transport)
        self._peer, self._host = transport.getPeer(), transport.getHost()
        super().connectionMade()

    def getPeer(self) -> IAddress:
        return self._peer

    def getHost(self) -> IAddress:
        return self._host

    def resetTimeout(self) -> None:
        self._last_activity = self.clock.seconds()

    def setTimeout(self, period: int | None) -> int | None:
        """TimeoutMixin's contract (None pauses the timeout), without a timer per call."""
        previous, self.timeOut = self.timeOut, period
        self._last_activity = self.clock.seconds()
        if period is not None and self._idle_timer is None:
            self._idle_timer = self.callLater(period, self._idle_check)
        return previous

    def _idle_check(self) -> None:
        self._idle_timer = None
        if self.timeOut is None:
            return                   # paused: the next setTimeout(period) arms it again
        idle = self.clock.seconds() - self._last_activity
        if idle >= self.timeOut:
            self.timeoutConnection()
        else:
            self._idle_timer = self.callLater(self.timeOut - idle, self._idle_check)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        super().connectionLost(reason)


class ApiSite(server.Site):
    """A Site of ApiChannels with `pages` (exact path -> leaf page) served directly."""
    protocol = ApiChannel        # type: ignore[assignment]

    def __init__(self, resource: IResource, pages: Mapping[bytes, IResource],
                 requestFactory: Any, **kwargs: Any) -> None:
        super().__init__(resource, requestFactory=requestFactory, **kwargs)
        self.pages = dict(pages)
        self._date_second = -1
        self._date = b""

    def buildProtocol(self, addr: IAddress | None) -> ApiChannel:  # type: ignore[override]
        """An ApiChannel itself, not Twisted's HTTP/2 negotiation wrapper."""
        channel = cast(ApiChannel, super().buildProtocol(addr))
        channel.clock = cast(Clock, self.reactor)
        return channel

    def date(self) -> bytes:
        """The Date header's value, formatted once a second."""
        now = int(cast(Clock, self.reactor).seconds())
        if now != self._date_second:
            self._date_second, self._date = now, http.datetimeToString(now)
        return self._date

    def log(self, request: http.Request) -> None:
        """No access-log line per request: it would cost more than the request."""


class QuietSite(server.Site):
    """A plain Site without the access-log line per request (hot path)."""

    def log(self, request: http.Request) -> None:
        pass
