# tests: tests/integration/test_smpp_protocol.py
"""The one Twisted adapter every SMPP endpoint uses: bytes and timers in and out of a Session.

Rules:
- The protocol holds no business rules. Bytes go to `Session.receive_data`, the events it
  returns go to an `SmppHandler`, and whatever the session queued leaves in ONE
  `transport.write` per `dataReceived` (or per timer, or per reactor turn, see below).
- One `DelayedCall` on an injected `IReactorTime` follows `session.next_deadline()`. It is
  re-armed lazily: if it is due before the new deadline it stays, fires early, and
  `on_time` does nothing harmful; so steady traffic costs no cancel/reschedule per read.
- Handlers answer synchronously (inside `event`) or later (after a database commit, a
  vendor answer...). Later calls to `respond`/`send_request`/`unbind` schedule one
  `callLater(0, flush)` if none is pending, so a batch answered in one turn is one write.
- A handler exception never kills the connection silently: it is logged with a
  correlation id, and an unanswered request gets ESME_RSYSERR. Exception text never
  reaches the peer.
- `CloseConnection` from the session: flush, then `loseConnection()`. `connectionLost`:
  `session.connection_lost()`, its events (requests in flight fail) go to the handler,
  then `disconnected`.
"""
from __future__ import annotations

import uuid
from typing import Any, Callable, Protocol as TypingProtocol, cast

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.smpp import pdu as P
from smscd.smpp.session import (BindRejected, Bound, CloseConnection, Event, RequestFailed,
                                RequestReceived, ResponseReceived, Role, Session,
                                SessionConfig)
from smscd.smpp.status import CommandStatus as S, status_name

log = Logger(namespace="smscd.smpp_protocol")

BindPdu = P.BindTransmitter | P.BindReceiver | P.BindTransceiver


# Structural views of the Twisted interfaces we use (IReactorTime, DelayedCall, ITCPTransport):
# zope interfaces do not type-check without a mypy plugin; the reactor and Clock fit these.
class DelayedCall(TypingProtocol):
    def getTime(self) -> float: ...
    def cancel(self) -> None: ...
    def active(self) -> bool: ...


class ReactorTime(TypingProtocol):
    """What we need of `IReactorTime`: the reactor in production, `task.Clock` in tests."""
    def seconds(self) -> float: ...
    def callLater(self, delay: float, callable: Callable[..., Any], *args: Any,
                  **kw: Any) -> DelayedCall: ...


class _Transport(TypingProtocol):
    def write(self, data: bytes) -> None: ...
    def loseConnection(self) -> None: ...
    def abortConnection(self) -> None: ...
    def getPeer(self) -> Any: ...


class SmppHandler(TypingProtocol):
    """What an endpoint (server, connector, simulator, client) plugs into the adapter."""

    def connected(self, proto: SmppProtocol) -> None:
        """The TCP connection is up; an ESME handler sends its bind here."""

    def event(self, proto: SmppProtocol, event: Event) -> None:
        """One session event; answer a RequestReceived with `proto.respond`, now or later."""

    def disconnected(self, proto: SmppProtocol, reason: Failure) -> None:
        """The connection is gone; the events for requests in flight came just before."""


class HandlerBase:
    """A handler that ignores everything; subclass what you need."""

    def connected(self, proto: SmppProtocol) -> None:
        pass

    def event(self, proto: SmppProtocol, event: Event) -> None:
        pass

    def disconnected(self, proto: SmppProtocol, reason: Failure) -> None:
        pass


class BindFailed(Exception):
    """The bind was refused (status), timed out, or the connection closed first."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{detail} ({status_name(status)})")
        self.status = status


class RequestFailedError(Exception):
    """A request sent with `SmppProtocol.request` will never be answered."""

    def __init__(self, event: RequestFailed) -> None:
        super().__init__(f"{event.request.command_id.name.lower()} failed: {event.reason}"
                         + (f" ({status_name(event.status)})" if event.status else ""))
        self.event = event


class _Waiter:
    """Context of a request whose answer fires a Deferred instead of reaching the handler."""
    __slots__ = ("deferred",)

    def __init__(self, deferred: Deferred[P.Pdu]) -> None:
        self.deferred = deferred


class SmppProtocol(Protocol):
    """One SMPP connection: a `Session`, an `SmppHandler`, and a clock."""

    def __init__(self, session: Session, handler: SmppHandler, clock: ReactorTime) -> None:
        self.session = session
        self.handler = handler
        self.clock = clock
        self._timer: DelayedCall | None = None
        self._flush_call: DelayedCall | None = None
        self._dispatching = False
        self._closing = False
        self._aborted = False
        self._lost: Failure | None = None
        self._current: P.Pdu | None = None     # request being handed to the handler
        self._current_answered = False
        self._bound_waiters: list[Deferred[Bound]] = []
        self._closed_waiters: list[Deferred[None]] = []
        self._bound_event: Bound | None = None

    # -- Twisted callbacks ------------------------------------------------------------------
    def connectionMade(self) -> None:
        # We coalesce writes ourselves; Nagle plus delayed ACKs would hold each batch
        # until the peer acknowledged the last (tens of ms per window on loopback).
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            set_no_delay(True)
        try:
            self.handler.connected(self)
        except Exception:
            self._log_failure("connected", None)
            self.close()
        self._rearm()

    def dataReceived(self, data: bytes) -> None:
        self._dispatching = True
        try:
            events = self.session.receive_data(data, self.clock.seconds())
            self._dispatch(events)
        except Exception:
            # A bug below the handler (the session itself): the stream cannot be trusted.
            self._log_failure("receive_data", None)
            self._closing = True
        finally:
            self._dispatching = False
        self._after_io()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._lost = reason
        self._closing = True
        for call in (self._timer, self._flush_call):
            if call is not None and call.active():
                call.cancel()
        self._timer = self._flush_call = None
        self._dispatching = True
        try:
            self._dispatch(self.session.connection_lost())
        finally:
            self._dispatching = False
        self.session.data_to_send()            # nowhere to go any more
        try:
            self.handler.disconnected(self, reason)
        except Exception:
            self._log_failure("disconnected", None)
        self._fail_bound(BindFailed(S.ESME_RSYSERR, "connection closed before bind"))
        waiters, self._closed_waiters = self._closed_waiters, []
        for closed in waiters:
            closed.callback(None)

    # -- what handlers and clients call -----------------------------------------------------
    def send_request(self, pdu: P.Pdu, context: object = None) -> int:
        """Queue a request; returns its sequence number. Raises the session's WindowFull or
        InvalidPdu (state does not allow it). The answer comes as ResponseReceived."""
        seq = self.session.send_request(pdu, self.clock.seconds(), context)
        self._written()
        return seq

    def request(self, pdu: P.Pdu) -> Deferred[P.Pdu]:
        """Send a request and get its response (any command_status) from a Deferred, which
        fails with RequestFailedError on timeout, generic_nack or a lost connection.
        Meant for clients and tests; the handler does not see this request's answer."""
        d: Deferred[P.Pdu] = Deferred()
        self.send_request(pdu, _Waiter(d))
        return d

    def respond(self, request: P.Pdu, response: P.Pdu) -> None:
        """Answer a RequestReceived (now or later)."""
        if request is self._current:
            self._current_answered = True
        self.session.respond(request, response, self.clock.seconds())
        self._written()

    def bind(self, request: BindPdu) -> Deferred[Bound]:
        """ESME role: send our bind; the Deferred fires on Bound or fails with BindFailed."""
        self.session.bind(request, self.clock.seconds())
        self._written()
        return self.when_bound()

    def accept_bind(self, request: P.Pdu, system_id: str) -> None:
        """SMSC role: answer a bind with ESME_ROK; the session is bound from now on."""
        if request is self._current:
            self._current_answered = True
        self.session.accept_bind(request, system_id, self.clock.seconds())
        self._written()
        # The session emits no Bound for an accepted bind; we make the one waiters expect.
        self._fire_bound(Bound(self.session.state, self.session.system_id))

    def reject_bind(self, request: P.Pdu, status: int) -> None:
        """SMSC role: refuse a bind; the connection stays open for another try."""
        if request is self._current:
            self._current_answered = True
        self.session.reject_bind(request, status, self.clock.seconds())
        self._written()

    def unbind(self) -> None:
        """Start the unbind handshake; Unbound, then CloseConnection, follow."""
        self.session.unbind(self.clock.seconds())
        self._written()

    def close(self) -> None:
        """Flush what is queued and close the connection."""
        self._closing = True
        if not self._dispatching:
            self._after_io()

    def abort(self) -> None:
        """Drop the connection at once, discarding what is queued (simulated failures)."""
        self._closing = self._aborted = True
        self.session.data_to_send()
        if self.transport is not None and self._lost is None:
            cast(_Transport, self.transport).abortConnection()

    def when_bound(self) -> Deferred[Bound]:
        """Fires with the Bound event (at once if already bound); fails with BindFailed."""
        d: Deferred[Bound] = Deferred()
        if self._bound_event is not None and self.session.bound:
            d.callback(self._bound_event)
        elif self._lost is not None:
            d.errback(BindFailed(S.ESME_RSYSERR, "connection closed before bind"))
        else:
            self._bound_waiters.append(d)
        return d

    def when_closed(self) -> Deferred[None]:
        """Fires when the connection is gone (at once if it is); never fails. The reason is
        `lost_reason`."""
        d: Deferred[None] = Deferred()
        if self._lost is not None:
            d.callback(None)
        else:
            self._closed_waiters.append(d)
        return d

    @property
    def lost_reason(self) -> Failure | None:
        """Why the connection ended, once it has."""
        return self._lost

    @property
    def connected_peer(self) -> str:
        """host:port of the peer, for logs."""
        peer = cast(_Transport, self.transport).getPeer() if self.transport is not None else None
        host, port = getattr(peer, "host", "?"), getattr(peer, "port", "?")
        return f"{host}:{port}"

    # -- internals --------------------------------------------------------------------------
    def _dispatch(self, events: list[Event]) -> None:
        handler = self.handler
        for event in events:
            if self._aborted and self._lost is None:
                break                                    # the rest was never received
            if type(event) is RequestReceived:           # the hot path: one check
                self._current = event.pdu
                self._current_answered = False
                try:
                    handler.event(self, event)
                except Exception:
                    self._request_failed(event)
                self._current = None
                continue
            if isinstance(event, ResponseReceived | RequestFailed) \
                    and type(event.context) is _Waiter:
                if isinstance(event, ResponseReceived):
                    event.context.deferred.callback(event.response)
                else:
                    event.context.deferred.errback(RequestFailedError(event))
                continue
            if isinstance(event, CloseConnection):
                self._closing = True
            elif isinstance(event, Bound):
                self._fire_bound(event)
            elif isinstance(event, BindRejected):
                self._fail_bound(BindFailed(event.status, "bind rejected"))
            try:
                handler.event(self, event)
            except Exception:
                self._log_failure("event", event)

    def _request_failed(self, event: RequestReceived) -> None:
        correlation = self._log_failure("event", event)
        if self._current_answered:
            return
        request = event.pdu
        response_class = P.RESPONSE_CLASS.get(request.command_id)
        if response_class is None:
            if request.command_id in (P.AlertNotification.command_id, P.Outbind.command_id):
                return                                            # no response exists
            response_class = P.GenericNack
        try:
            self.session.respond(request, response_class(command_status=S.ESME_RSYSERR),
                                 self.clock.seconds())
        except Exception:
            self._log_failure("answer ESME_RSYSERR", event, correlation)

    def _log_failure(self, where: str, event: Event | None, correlation: str | None = None
                     ) -> str:
        correlation = correlation or uuid.uuid4().hex[:12]
        log.failure("SMPP handler failed in {where} on {event} from {peer} [{correlation}]",
                    where=where, event=type(event).__name__ if event else "-",
                    peer=self.connected_peer, correlation=correlation)
        return correlation

    def _fire_bound(self, event: Bound) -> None:
        self._bound_event = event
        waiters, self._bound_waiters = self._bound_waiters, []
        for d in waiters:
            d.callback(event)

    def _fail_bound(self, error: BindFailed) -> None:
        waiters, self._bound_waiters = self._bound_waiters, []
        for d in waiters:
            d.errback(error)

    def _written(self) -> None:
        """Something was queued outside dataReceived: flush it at the end of this turn."""
        if self._dispatching or self._flush_call is not None or self._lost is not None:
            return
        self._flush_call = self.clock.callLater(0, self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._flush_call = None
        self._after_io()

    def _on_timer(self) -> None:
        self._timer = None
        self._dispatching = True
        try:
            self._dispatch(self.session.on_time(self.clock.seconds()))
        finally:
            self._dispatching = False
        self._after_io()

    def _after_io(self) -> None:
        if self._lost is not None:
            return
        out = self.session.data_to_send()
        transport = cast(_Transport | None, self.transport)
        if out and transport is not None and not self._aborted:
            transport.write(out)
        if self._closing:
            if self._timer is not None and self._timer.active():
                self._timer.cancel()
            self._timer = None
            if transport is not None:
                transport.loseConnection()
            return
        self._rearm()

    def _rearm(self) -> None:
        due = self.session.next_deadline()
        timer = self._timer
        if due is None:
            if timer is not None and timer.active():
                timer.cancel()
            self._timer = None
            return
        if timer is not None and timer.active():
            if timer.getTime() <= due:
                return                           # fires early, on_time is a no-op, re-arms
            timer.cancel()
        self._timer = self.clock.callLater(max(0.0, due - self.clock.seconds()), self._on_timer)


class SmppFactory(Factory):
    """Builds one `SmppProtocol` per connection with a fresh `Session` of `role`."""

    noisy = False          # no "Starting factory" log line per connection attempt

    def __init__(self, role: Role, handler_factory: Callable[[], SmppHandler],
                 clock: ReactorTime, config: SessionConfig = SessionConfig()) -> None:
        self.role = role
        self.handler_factory = handler_factory
        self.clock = clock
        self.config = config

    def buildProtocol(self, addr: Any) -> SmppProtocol:
        session = Session(self.role, self.clock.seconds(), self.config)
        proto = SmppProtocol(session, self.handler_factory(), self.clock)
        proto.factory = self
        return proto


def server_factory(handler_factory: Callable[[], SmppHandler], clock: ReactorTime,
                   config: SessionConfig = SessionConfig()) -> SmppFactory:
    """A factory for listening endpoints: we are the SMSC, peers bind to us."""
    return SmppFactory(Role.SMSC, handler_factory, clock, config)


def client_factory(handler_factory: Callable[[], SmppHandler], clock: ReactorTime,
                   config: SessionConfig = SessionConfig()) -> SmppFactory:
    """A factory for connecting endpoints: we are the ESME and bind to a peer."""
    return SmppFactory(Role.ESME, handler_factory, clock, config)


async def connect_and_bind(reactor: Any, host: str, port: int, bind: BindPdu,
                           handler: SmppHandler | None = None,
                           config: SessionConfig = SessionConfig(),
                           timeout: float = 30.0) -> SmppProtocol:
    """Connect as an ESME, bind, and return the bound protocol (raises BindFailed).
    For clients, tests and benchmarks; connectors use ClientService instead."""
    endpoint = TCP4ClientEndpoint(reactor, host, port, timeout=timeout)
    factory = client_factory(lambda: handler or HandlerBase(), reactor, config)
    proto = await endpoint.connect(factory)  # type: ignore[arg-type]  # zope, see ReactorTime
    assert isinstance(proto, SmppProtocol)
    try:
        await proto.bind(bind)
    except BindFailed:
        proto.close()
        raise
    return proto


__all__ = ["BindFailed", "HandlerBase", "RequestFailedError", "SmppFactory", "SmppHandler",
           "SmppProtocol", "client_factory", "connect_and_bind", "server_factory"]
