"""The Twisted adapter: coalesced writes, one timer, close handling, handler failures, and
one round trip over a real loopback socket with smpplib as the independent ESME."""
from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
import smpplib.client
import smpplib.consts
from twisted.internet.task import Clock
from twisted.internet.threads import deferToThread
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher
from twisted.python.failure import Failure

from smscd.smpp import pdu as P
from smscd.smpp.codec import decode, encode
from smscd.smpp.frame_buffer import FrameBuffer
from smscd.smpp.session import (Bound, CloseConnection, Event, RequestFailed, RequestReceived,
                                ResponseReceived, Role, Session, SessionConfig, Unbound)
from smscd.smpp.status import CommandStatus as S
from smscd.smpp_protocol import (BindFailed, HandlerBase, RequestFailedError, SmppProtocol,
                                 server_factory)


class CountingTransport(StringTransport):
    """StringTransport that also counts writes (the coalescing is what we test)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes += 1
        super().write(data)

    def abortConnection(self) -> None:
        self.aborted = True
        super().abortConnection()

    def pdus(self) -> list[P.Pdu]:
        frames = FrameBuffer().feed(self.value())
        self.clear()
        return [decode(f) for f in frames]


class Recorder(HandlerBase):
    """Accepts any bind; answers submit_sm now (`answer_now`) or keeps it for later."""

    def __init__(self, answer_now: bool = True, fail_on: type[P.Pdu] | None = None,
                 answer_then_fail: bool = False) -> None:
        self.events: list[Event] = []
        self.kept: list[P.Pdu] = []
        self.answer_now = answer_now
        self.fail_on = fail_on
        self.answer_then_fail = answer_then_fail
        self.lost: Failure | None = None
        self.connects = 0

    def connected(self, proto: SmppProtocol) -> None:
        self.connects += 1

    def event(self, proto: SmppProtocol, event: Event) -> None:
        self.events.append(event)
        if not isinstance(event, RequestReceived):
            return
        pdu = event.pdu
        if isinstance(pdu, P.BindTransceiver | P.BindTransmitter | P.BindReceiver):
            proto.accept_bind(pdu, "test")
            return
        if self.fail_on is not None and isinstance(pdu, self.fail_on):
            if self.answer_then_fail:
                proto.respond(pdu, P.SubmitSmResp(message_id="done"))
            raise RuntimeError("secret internal detail")
        if isinstance(pdu, P.SubmitSm):
            if self.answer_now:
                proto.respond(pdu, P.SubmitSmResp(message_id=str(pdu.sequence_number)))
            else:
                self.kept.append(pdu)
        elif isinstance(pdu, P.DeliverSm):
            proto.respond(pdu, P.DeliverSmResp())

    def disconnected(self, proto: SmppProtocol, reason: Failure) -> None:
        self.lost = reason


CONFIG = SessionConfig(window=10, response_timeout=5.0, enquire_link_interval=30.0)


def make(role: Role = Role.SMSC, handler: Recorder | None = None,
         config: SessionConfig = CONFIG) -> tuple[SmppProtocol, CountingTransport, Clock,
                                                  Recorder]:
    clock = Clock()
    clock.advance(1000.0)
    handler = handler or Recorder()
    proto = SmppProtocol(Session(role, clock.seconds(), config), handler, clock)
    transport = CountingTransport()
    proto.makeConnection(transport)
    return proto, transport, clock, handler


def bound_server(handler: Recorder | None = None, config: SessionConfig = CONFIG
                 ) -> tuple[SmppProtocol, CountingTransport, Clock, Recorder]:
    proto, transport, clock, handler = make(Role.SMSC, handler, config)
    proto.dataReceived(encode(P.BindTransceiver(system_id="u", password="p"), 1))
    assert [type(p) for p in transport.pdus()] == [P.BindTransceiverResp]
    transport.writes = 0
    return proto, transport, clock, handler


def submits(first_seq: int, count: int) -> bytes:
    return b"".join(encode(P.SubmitSm(destination_addr="33600000000", short_message=b"hi"),
                           first_seq + i) for i in range(count))


# --- coalescing -----------------------------------------------------------------------------

def test_responses_to_one_read_leave_in_one_write() -> None:
    """Breaks if the adapter writes per PDU instead of once per dataReceived."""
    proto, transport, clock, handler = bound_server()
    proto.dataReceived(submits(10, 50))
    assert transport.writes == 1
    assert [p.sequence_number for p in transport.pdus()] == list(range(10, 60))


def test_responses_answered_later_in_one_turn_are_one_write() -> None:
    """Breaks if answers given after a commit (outside dataReceived) are written one by one,
    or are not written at all until more data arrives."""
    proto, transport, clock, handler = bound_server(Recorder(answer_now=False))
    for start in range(1, 201, 20):
        proto.dataReceived(submits(start, 20))
    assert transport.writes == 0 and len(handler.kept) == 200
    for request in handler.kept:
        proto.respond(request, P.SubmitSmResp(message_id="m"))
    assert transport.writes == 0          # nothing until the end of the reactor turn
    clock.advance(0)
    assert transport.writes == 1
    assert len(transport.pdus()) == 200


def test_requests_sent_later_are_coalesced_and_tracked() -> None:
    """Breaks if send_request outside dataReceived is not flushed, or flushed per request."""
    proto, transport, clock, handler = bound_server()
    seqs = [proto.send_request(P.DeliverSm(short_message=b"mo")) for _ in range(5)]
    clock.advance(0)
    assert transport.writes == 1
    assert [p.sequence_number for p in transport.pdus()] == seqs
    proto.dataReceived(b"".join(encode(P.DeliverSmResp(), s) for s in seqs))
    answered = [e for e in handler.events if isinstance(e, ResponseReceived)]
    assert [e.response.sequence_number for e in answered] == seqs


# --- timers ---------------------------------------------------------------------------------

def test_one_timer_follows_the_session_deadline() -> None:
    """Breaks if the adapter keeps more than one DelayedCall, or never sends enquire_link
    after the configured idle interval."""
    proto, transport, clock, handler = bound_server()
    for i in range(20):
        proto.dataReceived(submits(100 + i, 1))
        clock.advance(1.0)
    transport.clear()
    assert len(clock.getDelayedCalls()) == 1
    clock.advance(30.0)
    assert [type(p) for p in transport.pdus()] == [P.EnquireLink]
    assert len(clock.getDelayedCalls()) == 1


def test_response_timeout_fails_the_request() -> None:
    """Breaks if the timer does not drive on_time: a request never answered must fail."""
    proto, transport, clock, handler = bound_server()
    d = proto.request(P.DeliverSm(short_message=b"x"))
    proto.send_request(P.DeliverSm(short_message=b"y"), context="ctx")
    clock.advance(0)
    clock.advance(CONFIG.response_timeout)
    errors: list[Failure] = []
    d.addErrback(errors.append)
    assert errors and errors[0].check(RequestFailedError)
    failed = [e for e in handler.events if isinstance(e, RequestFailed)]
    assert [(e.context, e.reason) for e in failed] == [("ctx", "timeout")]


def test_session_init_timeout_closes_the_connection() -> None:
    """Breaks if a connection that never binds is kept open forever."""
    config = SessionConfig(session_init_timeout=10.0)
    proto, transport, clock, handler = make(Role.SMSC, config=config)
    clock.advance(10.0)
    assert transport.disconnecting
    assert any(isinstance(e, CloseConnection) for e in handler.events)


# --- close and loss -------------------------------------------------------------------------

def test_peer_unbind_is_answered_then_the_connection_closes() -> None:
    """Breaks if CloseConnection is not flushed before loseConnection (unbind_resp lost), or
    if the session's "drained, close now" deadline is not acted on."""
    proto, transport, clock, handler = bound_server()
    proto.dataReceived(encode(P.Unbind(), 7))
    assert [type(p) for p in transport.pdus()] == [P.UnbindResp]
    clock.advance(0)                 # nothing in flight: the session closes on its timer
    assert transport.disconnecting
    assert any(isinstance(e, Unbound) and e.by_peer for e in handler.events)


def test_answer_given_after_a_peer_unbind_still_leaves_before_the_close() -> None:
    """Breaks if the adapter closes before an answer pending at the peer's unbind is sent
    (the customer would lose the submit_sm_resp of an accepted message, UNB-01)."""
    proto, transport, clock, handler = bound_server(Recorder(answer_now=False))
    proto.dataReceived(submits(3, 1) + encode(P.Unbind(), 4))
    assert [type(p) for p in transport.pdus()] == [P.UnbindResp]
    clock.advance(0)
    assert not transport.disconnecting
    proto.respond(handler.kept[0], P.SubmitSmResp(message_id="late"))
    clock.advance(0)
    assert [(type(p), p.sequence_number) for p in transport.pdus()] == [(P.SubmitSmResp, 3)]
    assert transport.disconnecting


def test_connection_lost_fails_requests_in_flight_and_fires_closed() -> None:
    """Breaks if requests in flight are forgotten on a lost connection, or the handler and
    the `when_closed` Deferred are not told."""
    proto, transport, clock, handler = bound_server()
    proto.send_request(P.DeliverSm(), context="a")
    pending = proto.request(P.DeliverSm())
    closed = proto.when_closed()
    errors: list[Failure] = []
    pending.addErrback(errors.append)
    proto.connectionLost(Failure(ConnectionError("gone")))
    assert [(e.context, e.reason) for e in handler.events if isinstance(e, RequestFailed)] \
        == [("a", "closed")]
    assert errors and errors[0].value.event.reason == "closed"
    assert closed.called and handler.lost is not None
    assert clock.getDelayedCalls() == []


# --- handler failures -----------------------------------------------------------------------

@pytest.fixture
def logged() -> Any:
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def test_handler_exception_answers_rsyserr_and_logs_a_correlation_id(logged: Any) -> None:
    """Breaks if a handler bug kills the bind, leaves the request unanswered, or sends the
    exception text to the peer."""
    proto, transport, clock, handler = bound_server(Recorder(fail_on=P.SubmitSm))
    proto.dataReceived(submits(5, 2))
    raw = transport.value()
    answers = transport.pdus()
    assert [(type(p), p.command_status, p.sequence_number) for p in answers] == \
        [(P.SubmitSmResp, S.ESME_RSYSERR, 5), (P.SubmitSmResp, S.ESME_RSYSERR, 6)]
    assert b"secret" not in raw
    assert not transport.disconnecting
    failures = [e for e in logged if e.get("log_failure") is not None]
    assert len(failures) == 2 and all(len(e["correlation"]) == 12 for e in failures)


def test_handler_exception_after_answering_does_not_answer_twice(logged: Any) -> None:
    """Breaks if the adapter sends a second response to a request the handler answered."""
    proto, transport, clock, handler = bound_server(
        Recorder(fail_on=P.SubmitSm, answer_then_fail=True))
    proto.dataReceived(submits(5, 1))
    assert [(p.command_status, p.sequence_number) for p in transport.pdus()] == [(0, 5)]


# --- ESME role ------------------------------------------------------------------------------

def test_esme_bind_fires_when_bound() -> None:
    """Breaks if `bind` is not written or `when_bound` does not fire on bind_resp."""
    proto, transport, clock, handler = make(Role.ESME)
    d = proto.bind(P.BindTransceiver(system_id="me", password="pw"))
    clock.advance(0)
    [bind] = transport.pdus()
    assert isinstance(bind, P.BindTransceiver) and bind.system_id == "me"
    proto.dataReceived(encode(P.BindTransceiverResp(system_id="smsc"), bind.sequence_number))
    got: list[Bound] = []
    d.addCallback(got.append)
    assert got and got[0].system_id == "me"
    assert proto.when_bound().called


def test_esme_bind_rejected_fails_with_the_status() -> None:
    """Breaks if a refused bind leaves the caller waiting forever."""
    proto, transport, clock, handler = make(Role.ESME)
    d = proto.bind(P.BindTransmitter(system_id="me", password="bad"))
    clock.advance(0)
    [bind] = transport.pdus()
    proto.dataReceived(encode(P.BindTransmitterResp(command_status=S.ESME_RINVPASWD),
                              bind.sequence_number))
    errors: list[Failure] = []
    d.addErrback(errors.append)
    assert errors[0].check(BindFailed) and errors[0].value.status == S.ESME_RINVPASWD


# --- real loopback socket, smpplib as the peer ----------------------------------------------

def _smpplib_round_trip(port: int) -> list[tuple[int, str]]:
    """Blocking smpplib: bind, submit two messages, read both resps, unbind."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    answers: list[tuple[int, str]] = []
    client.set_message_sent_handler(
        lambda pdu: answers.append((pdu.status, pdu.message_id.decode())))
    client.connect()
    try:
        client.bind_transceiver(system_id="u", password="p")
        for text in (b"one", b"two"):
            client.send_message(source_addr="1", destination_addr="33611111111",
                                short_message=text)
        while len(answers) < 2:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return answers


@pytest_twisted.ensureDeferred
async def test_loopback_round_trip_with_smpplib() -> None:
    """Breaks if the adapter does not work over a real TCP socket against an independent
    ESME: bind, two submits answered by sequence number, unbind, close."""
    from twisted.internet import reactor
    from twisted.internet.endpoints import TCP4ServerEndpoint

    handler = Recorder()
    connections: list[SmppProtocol] = []

    def make_handler() -> Recorder:
        return handler

    factory = server_factory(make_handler, reactor, SessionConfig())
    build = factory.buildProtocol

    def build_and_keep(addr: Any) -> SmppProtocol:
        proto = build(addr)
        connections.append(proto)
        return proto

    factory.buildProtocol = build_and_keep      # type: ignore[method-assign]
    port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(factory)
    try:
        answers = await deferToThread(_smpplib_round_trip, port.getHost().port)
        await connections[0].when_closed()
    finally:
        await port.stopListening()
    assert [status for status, _ in answers] == [0, 0]
    got = [e.pdu for e in handler.events if isinstance(e, RequestReceived)]
    assert [type(p) for p in got] == [P.BindTransceiver, P.SubmitSm, P.SubmitSm]
    assert any(isinstance(e, Unbound) for e in handler.events)
    assert handler.lost is not None
