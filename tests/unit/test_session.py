"""The sans-IO SMPP session (smscd/smpp/session.py), both roles, against the reference checklist.

Two kinds of test: an SMSC and an ESME session wired back to back (`transfer` moves one side's
`data_to_send()` into the other's `receive_data()`), and one session against hand-built bytes
(`codec.encode`, or raw headers when the codec would refuse to write them). Time is only ever the
`now` argument: no clock, no sleeps. Test ids (SES-01, NAK-02, ...) are those of
shared/reference/smpp.md §8-§10.
"""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smscd.smpp import pdu as P
from smscd.smpp.codec import decode, encode
from smscd.smpp.commands import CommandId as C
from smscd.smpp.errors import InvalidPdu
from smscd.smpp.frame_buffer import DEFAULT_MAX_PDU, FrameBuffer
from smscd.smpp.session import (ENQUIRE_LINK_RECEIVED, MAX_SEQUENCE, Bound, BindRejected,
                                CloseConnection, Event, ProtocolError, RequestFailed,
                                RequestReceived, ResponseReceived, Role, Session, SessionConfig,
                                State, Unbound, UnexpectedResponse, WindowFull)
from smscd.smpp.status import CommandStatus as S
from smscd.smpp.tlv import tlvs

T0 = 100.0
BINDS = [(P.BindTransmitter, State.BOUND_TX), (P.BindReceiver, State.BOUND_RX),
         (P.BindTransceiver, State.BOUND_TRX)]
BIND_RESP = {C.BIND_TRANSMITTER: P.BindTransmitterResp, C.BIND_RECEIVER: P.BindReceiverResp,
             C.BIND_TRANSCEIVER: P.BindTransceiverResp}
SUBMIT = P.SubmitSm(source_addr_ton=1, source_addr_npi=1, source_addr="12345",
                    dest_addr_ton=1, dest_addr_npi=1, destination_addr="31600000000",
                    short_message=b"hello")
DELIVER = P.DeliverSm(source_addr="31600000000", destination_addr="12345",
                      short_message=b"hi there")
Bind = P.BindTransmitter | P.BindReceiver | P.BindTransceiver


# --- helpers ----------------------------------------------------------------------------------

def config(**changes: object) -> SessionConfig:
    """Every timer off unless the test turns it on, so next_deadline() has one answer."""
    values: dict[str, object] = dict(enquire_link_interval=0.0, session_init_timeout=0.0,
                                     inactivity_timeout=0.0, response_timeout=10.0)
    values.update(changes)
    return SessionConfig(**values)  # type: ignore[arg-type]


def pdus(data: bytes) -> list[P.Pdu]:
    """Cut and decode bytes a session wrote; raises if they are not whole, valid PDUs."""
    buf = FrameBuffer()
    out = [decode(frame) for frame in buf.feed(data)]
    assert buf.pending == 0, "a session wrote a partial PDU"
    return out


def sent(session: Session) -> list[P.Pdu]:
    return pdus(session.data_to_send())


def transfer(src: Session, dst: Session, now: float) -> list[Event]:
    """Move everything `src` wrote into `dst`; return what `dst` reports."""
    return dst.receive_data(src.data_to_send(), now)


def of(events: list[Event], cls: type) -> list:
    return [e for e in events if isinstance(e, cls)]


def header(length: int, command_id: int, status: int = 0, seq: int = 1) -> bytes:
    return struct.pack(">IIII", length, command_id, status, seq)


def patched(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace one field's octets in an encoded PDU and fix command_length: builds PDUs the
    encoder refuses to write."""
    assert data.count(old) == 1
    out = data.replace(old, new)
    return struct.pack(">I", len(out)) + out[4:]


def make_bind(cls: type[Bind] = P.BindTransceiver, version: int = 0x34) -> Bind:
    return cls(system_id="esme1", password="secret", system_type="", interface_version=version)


def smsc_session(now: float = T0, **cfg: object) -> Session:
    return Session(Role.SMSC, now, config(**cfg))


def bound_smsc(cls: type[Bind] = P.BindTransceiver, version: int = 0x34, now: float = T0,
               **cfg: object) -> Session:
    """An SMSC session that accepted a bind sent as bytes with sequence number 1."""
    smsc = smsc_session(now, **cfg)
    [event] = smsc.receive_data(encode(make_bind(cls, version), 1), now)
    assert isinstance(event, RequestReceived)
    smsc.accept_bind(event.pdu, "smscd", now)
    smsc.data_to_send()
    return smsc


def bound_esme(cls: type[Bind] = P.BindTransceiver, now: float = T0, **cfg: object) -> Session:
    """An ESME session whose bind a hand-built bind_*_resp accepted."""
    esme = Session(Role.ESME, now, config(**cfg))
    seq = esme.bind(make_bind(cls), now)
    esme.data_to_send()
    events = esme.receive_data(encode(BIND_RESP[cls.command_id](system_id="vendor"), seq), now)
    assert of(events, Bound)
    return esme


def bound_pair(cls: type[Bind] = P.BindTransceiver, version: int = 0x34, now: float = T0,
               **cfg: object) -> tuple[Session, Session]:
    """(smsc, esme), bound to each other over `transfer`."""
    smsc, esme = smsc_session(now, **cfg), Session(Role.ESME, now, config(**cfg))
    esme.bind(make_bind(cls, version), now)
    [request] = transfer(esme, smsc, now)
    assert isinstance(request, RequestReceived)
    smsc.accept_bind(request.pdu, "smscd", now)
    assert of(transfer(smsc, esme, now), Bound)
    return smsc, esme


# --- bind -------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, state", BINDS)
def test_bind_accepted_binds_both_sides(cls: type[Bind], state: State) -> None:
    """Each bind kind must bind both sides to the matching state, with Bound on each."""
    smsc, esme = smsc_session(), Session(Role.ESME, T0, config())
    seq = esme.bind(make_bind(cls), T0)
    assert esme.state is State.BINDING
    [request] = transfer(esme, smsc, T0)
    assert isinstance(request, RequestReceived) and request.pdu.command_id == cls.command_id
    assert request.pdu.sequence_number == seq
    assert smsc.accept_bind(request.pdu, "smscd", T0) == [Bound(state, "esme1")]
    assert smsc.state is state and smsc.bound and smsc.system_id == "esme1"
    assert transfer(smsc, esme, T0) == [Bound(state, "esme1")]
    assert esme.state is state and esme.bound


@pytest.mark.parametrize("cls, state", BINDS)
def test_bind_resp_carries_sc_interface_version_for_a_34_esme(cls: type[Bind],
                                                              state: State) -> None:
    """A 3.4 ESME's bind_resp must carry sc_interface_version 0x34 and our system_id."""
    smsc = smsc_session()
    [request] = smsc.receive_data(encode(make_bind(cls, 0x34), 7), T0)
    smsc.accept_bind(request.pdu, "smscd", T0)
    [resp] = sent(smsc)
    assert resp.command_id == cls.command_id | 0x80000000
    assert resp.sequence_number == 7 and resp.command_status == S.ESME_ROK
    assert resp.system_id == "smscd"  # type: ignore[attr-defined]
    assert resp.tlv("sc_interface_version") == 0x34


def test_bind_resp_to_a_33_esme_has_no_tlv() -> None:
    """A 3.3 ESME cannot parse TLVs: its bind_resp must be the mandatory body only."""
    smsc = smsc_session()
    [request] = smsc.receive_data(encode(make_bind(P.BindTransceiver, 0x33), 1), T0)
    smsc.accept_bind(request.pdu, "smscd", T0)
    [resp] = sent(smsc)
    assert resp.tlvs == () and resp.system_id == "smscd"  # type: ignore[attr-defined]


@pytest.mark.parametrize("cls, _state", BINDS)
def test_rejected_bind_is_header_only_and_may_be_retried(cls: type[Bind], _state: State) -> None:
    """SES-04: a refused bind is header-only, gives BindRejected, stays OPEN, may be retried."""
    smsc, esme = smsc_session(), Session(Role.ESME, T0, config())
    seq = esme.bind(make_bind(cls), T0)
    [request] = transfer(esme, smsc, T0)
    smsc.reject_bind(request.pdu, S.ESME_RINVPASWD, T0)
    raw = smsc.data_to_send()
    assert raw == header(16, cls.command_id | 0x80000000, S.ESME_RINVPASWD, seq)
    assert esme.receive_data(raw, T0) == [BindRejected(S.ESME_RINVPASWD)]
    assert smsc.state is State.OPEN and esme.state is State.OPEN
    assert esme.in_flight == 0 and smsc.inbound_pending == 0
    esme.bind(make_bind(cls), T0 + 1)
    [again] = transfer(esme, smsc, T0 + 1)
    smsc.accept_bind(again.pdu, "smscd", T0 + 1)
    assert of(transfer(smsc, esme, T0 + 1), Bound) and esme.bound and smsc.bound


def test_bind_answered_with_generic_nack_is_a_rejection() -> None:
    """SES-05: a generic_nack to our bind must return us to OPEN to retry another bind type."""
    esme = Session(Role.ESME, T0, config())
    seq = esme.bind(make_bind(P.BindTransmitter), T0)
    esme.data_to_send()
    events = esme.receive_data(encode(P.GenericNack(command_status=S.ESME_RINVCMDID), seq), T0)
    assert of(events, BindRejected) == [BindRejected(S.ESME_RINVCMDID)]
    assert esme.state is State.OPEN and esme.may_send(C.BIND_TRANSCEIVER)


def test_bind_without_answer_times_out() -> None:
    """A bind never answered must time out and leave BINDING for OPEN."""
    esme = Session(Role.ESME, T0, config(response_timeout=10.0))
    bind = make_bind()
    esme.bind(bind, T0)
    assert esme.next_deadline() == T0 + 10
    assert esme.on_time(T0 + 9.5) == []
    events = esme.on_time(T0 + 10)
    assert of(events, RequestFailed) == [RequestFailed(bind, None, "timeout")]
    assert of(events, BindRejected) and esme.state is State.OPEN


# --- what may be sent in which state (§8) -----------------------------------------------------

def test_ses01_submit_sm_before_bind_is_answered_rinvbndsts() -> None:
    """SES-01: submit_sm in OPEN gets RINVBNDSTS with its seq, not passed up; stays OPEN."""
    smsc = smsc_session()
    events = smsc.receive_data(encode(SUBMIT, 42), T0)
    assert not of(events, RequestReceived) and of(events, ProtocolError)
    assert smsc.data_to_send() == header(16, C.SUBMIT_SM_RESP, S.ESME_RINVBNDSTS, 42)
    assert smsc.state is State.OPEN and not smsc.closed


@pytest.mark.parametrize("cls, _state", BINDS)
def test_ses02_second_bind_is_answered_ralybnd(cls: type[Bind], _state: State) -> None:
    """SES-02: a bind on a bound session gets its bind_resp with ESME_RALYBND; the bind stays."""
    smsc = bound_smsc(P.BindTransceiver)
    events = smsc.receive_data(encode(make_bind(cls), 2), T0)
    assert not of(events, RequestReceived)
    assert smsc.data_to_send() == header(16, cls.command_id | 0x80000000, S.ESME_RALYBND, 2)
    assert smsc.state is State.BOUND_TRX


def test_ses03_receiver_may_not_submit() -> None:
    """SES-03: submit_sm from a BOUND_RX ESME must be refused with ESME_RINVBNDSTS."""
    smsc = bound_smsc(P.BindReceiver)
    events = smsc.receive_data(encode(SUBMIT, 5), T0)
    assert not of(events, RequestReceived)
    assert smsc.data_to_send() == header(16, C.SUBMIT_SM_RESP, S.ESME_RINVBNDSTS, 5)
    assert smsc.state is State.BOUND_RX


@pytest.mark.parametrize("cls", [P.BindTransmitter, P.BindTransceiver])
def test_transmitter_may_submit(cls: type[Bind]) -> None:
    """submit_sm from a BOUND_TX or BOUND_TRX ESME must reach the application."""
    smsc = bound_smsc(cls)
    [event] = smsc.receive_data(encode(SUBMIT, 5), T0)
    assert isinstance(event, RequestReceived) and event.pdu == decode(encode(SUBMIT, 5))
    assert smsc.data_to_send() == b"" and smsc.inbound_pending == 1


def test_smsc_may_not_deliver_to_a_transmitter() -> None:
    """SES-03: deliver_sm to a BOUND_TX ESME must raise RINVBNDSTS and write nothing."""
    smsc = bound_smsc(P.BindTransmitter)
    with pytest.raises(InvalidPdu) as caught:
        smsc.send_request(DELIVER, T0)
    assert caught.value.status == S.ESME_RINVBNDSTS
    assert smsc.data_to_send() == b"" and smsc.in_flight == 0


@pytest.mark.parametrize("cls", [P.BindReceiver, P.BindTransceiver])
def test_smsc_may_deliver_to_a_receiver(cls: type[Bind]) -> None:
    """deliver_sm to a BOUND_RX or BOUND_TRX ESME must go out with its sequence number."""
    smsc = bound_smsc(cls)
    seq = smsc.send_request(DELIVER, T0)
    [out] = sent(smsc)
    assert out == decode(encode(DELIVER, seq)) and smsc.in_flight == 1


def test_smsc_may_not_send_before_bind() -> None:
    """An SMSC session must refuse to send any request before the ESME binds."""
    smsc = smsc_session()
    for request in (DELIVER, P.EnquireLink(), P.Unbind()):
        with pytest.raises(InvalidPdu) as caught:
            smsc.send_request(request, T0)
        assert caught.value.status == S.ESME_RINVBNDSTS
    assert smsc.data_to_send() == b""


@pytest.mark.parametrize("when", ["open", "binding"])
def test_esme_rejects_deliver_sm_before_bound(when: str) -> None:
    """An ESME must answer deliver_sm with RINVBNDSTS until its bind is accepted."""
    esme = Session(Role.ESME, T0, config())
    if when == "binding":
        esme.bind(make_bind(), T0)
        esme.data_to_send()
    events = esme.receive_data(encode(DELIVER, 3), T0)
    assert not of(events, RequestReceived)
    assert esme.data_to_send() == header(16, C.DELIVER_SM_RESP, S.ESME_RINVBNDSTS, 3)


def test_esme_bound_as_transmitter_rejects_deliver_sm() -> None:
    """A vendor may not deliver to our BOUND_TX connector."""
    esme = bound_esme(P.BindTransmitter)
    assert not of(esme.receive_data(encode(DELIVER, 3), T0), RequestReceived)
    assert esme.data_to_send() == header(16, C.DELIVER_SM_RESP, S.ESME_RINVBNDSTS, 3)


def test_esme_may_not_submit_before_bound_or_as_receiver() -> None:
    """send_request must refuse submit_sm before the bind and on a BOUND_RX connector."""
    for esme in (Session(Role.ESME, T0, config()), bound_esme(P.BindReceiver)):
        with pytest.raises(InvalidPdu) as caught:
            esme.send_request(SUBMIT, T0)
        assert caught.value.status == S.ESME_RINVBNDSTS
        assert esme.data_to_send() == b""


# --- generic_nack and bad PDUs (§9) -----------------------------------------------------------

@pytest.mark.parametrize("command_id", [0x00000099, 0x0000000A, 0x00010200])
def test_nak01_unknown_command_gets_generic_nack_and_bind_survives(command_id: int) -> None:
    """NAK-01: an unknown command_id gets generic_nack RINVCMDID, same seq; the bind survives."""
    smsc = bound_smsc()
    events = smsc.receive_data(header(16, command_id, 0, 77) + encode(SUBMIT, 78), T0)
    [error] = of(events, ProtocolError)
    assert error.error.status == S.ESME_RINVCMDID
    assert smsc.data_to_send() == header(16, C.GENERIC_NACK, S.ESME_RINVCMDID, 77)
    assert [e.pdu.sequence_number for e in of(events, RequestReceived)] == [78]
    assert smsc.state is State.BOUND_TRX and not of(events, CloseConnection)


@pytest.mark.parametrize("length", [0, 8, 15])
def test_nak02_command_length_below_16_nacks_then_closes(length: int) -> None:
    """NAK-02: command_length < 16 loses framing: generic_nack ESME_RINVCMDLEN, then close."""
    smsc = bound_smsc()
    events = smsc.receive_data(header(length, C.SUBMIT_SM, 0, 9) + b"\0" * 20, T0)
    [nack] = sent(smsc)
    assert nack.command_id == C.GENERIC_NACK and nack.command_status == S.ESME_RINVCMDLEN
    assert isinstance(events[-1], CloseConnection) and smsc.closed
    assert smsc.receive_data(encode(P.EnquireLink(), 10), T0) == []
    assert smsc.data_to_send() == b""


def test_nak02_command_length_above_maximum_nacks_with_its_sequence_then_closes() -> None:
    """NAK-02/03: a PDU over max_pdu_size gets generic_nack RINVCMDLEN with its seq, then close."""
    smsc = bound_smsc(max_pdu_size=1024)
    events = smsc.receive_data(header(1025, C.SUBMIT_SM, 0, 9), T0)
    assert smsc.data_to_send() == header(16, C.GENERIC_NACK, S.ESME_RINVCMDLEN, 9)
    assert of(events, ProtocolError) and isinstance(events[-1], CloseConnection)
    assert smsc.closed and smsc.next_deadline() is None


def test_nak02_close_fails_nothing_silently_after_connection_lost() -> None:
    """After a framing close, connection_lost must still fail each in-flight request once."""
    smsc = bound_smsc()
    smsc.send_request(DELIVER, T0, context="d1")
    smsc.receive_data(header(3, 0, 0, 0), T0)
    assert smsc.closed
    assert [(e.context, e.reason) for e in smsc.connection_lost()] == [("d1", "closed")]
    assert smsc.connection_lost() == []


def test_pdus_before_lost_framing_in_the_same_read_are_still_served() -> None:
    """A response read together with garbage must still be matched, not failed and resent."""
    esme = bound_esme()
    seq = esme.send_request(SUBMIT, T0, context="c")
    esme.data_to_send()
    events = esme.receive_data(encode(P.SubmitSmResp(message_id="X"), seq) + b"\xff" * 16, T0)
    assert [e.context for e in of(events, ResponseReceived)] == ["c"]
    assert of(events, CloseConnection)


def test_pdu_exactly_at_maximum_is_accepted() -> None:
    """The length cap is inclusive: a PDU of exactly max_pdu_size octets must be served."""
    data = encode(SUBMIT, 4)
    smsc = bound_smsc(max_pdu_size=len(data))
    assert of(smsc.receive_data(data, T0), RequestReceived) and not smsc.closed


SUBMIT_FIELDS = P.SubmitSm(source_addr="S" * 20, destination_addr="D" * 20,
                           schedule_delivery_time="261123120000000+", short_message=b"m")


@pytest.mark.parametrize("old, new, status", [
    (b"S" * 20 + b"\0", b"S" * 25 + b"\0", S.ESME_RINVSRCADR),
    (b"D" * 20 + b"\0", b"D" * 22 + b"\0", S.ESME_RINVDSTADR),
    (b"261123120000000+\0", b"2611231200000000000+\0", S.ESME_RINVSCHED),
    (b"\x01m", b"\x09m", S.ESME_RINVMSGLEN),
])
def test_nak04_bad_field_gets_the_requests_resp_with_the_fields_status(
        old: bytes, new: bytes, status: int) -> None:
    """NAK-04: a bad field gets the request's own resp with the field's status; bind survives."""
    smsc = bound_smsc()
    events = smsc.receive_data(patched(encode(SUBMIT_FIELDS, 31), old, new), T0)
    [error] = of(events, ProtocolError)
    assert error.error.status == status and not of(events, RequestReceived)
    assert smsc.data_to_send() == header(16, C.SUBMIT_SM_RESP, status, 31)
    assert smsc.state is State.BOUND_TRX
    assert of(smsc.receive_data(encode(SUBMIT, 32), T0), RequestReceived)


def test_nak04_bad_system_id_in_bind_gets_bind_resp_rinvsysid() -> None:
    """A bind whose system_id is too long is answered with its bind_resp and RINVSYSID."""
    smsc = smsc_session()
    data = patched(encode(P.BindTransceiver(system_id="X" * 15), 1), b"X" * 15, b"X" * 16)
    smsc.receive_data(data, T0)
    assert smsc.data_to_send() == header(16, C.BIND_TRANSCEIVER_RESP, S.ESME_RINVSYSID, 1)
    assert smsc.state is State.OPEN


@pytest.mark.parametrize("response", [
    P.SubmitSmResp(message_id="x"), P.DeliverSmResp(), P.GenericNack(command_status=3),
    P.EnquireLinkResp(), P.UnbindResp(), P.BindTransceiverResp(system_id="x"),
])
def test_nak05_a_response_matching_nothing_is_reported_never_answered(response: P.Pdu) -> None:
    """NAK-05: a response matching nothing is reported as UnexpectedResponse, never answered."""
    smsc = bound_smsc()
    events = smsc.receive_data(encode(response, 1234), T0)
    assert smsc.data_to_send() == b""
    expected = [] if response.command_id == C.ENQUIRE_LINK_RESP else \
        [UnexpectedResponse(decode(encode(response, 1234)))]
    assert events == expected and smsc.state is State.BOUND_TRX


def test_nak05_undecodable_responses_are_never_answered() -> None:
    """NAK-05: an undecodable response or generic_nack must not be nacked back."""
    smsc = bound_smsc()
    smsc.receive_data(header(16, 0x80000099, 0, 5) + header(16, C.GENERIC_NACK, 3, 0), T0)
    assert smsc.data_to_send() == b"" and smsc.state is State.BOUND_TRX


def test_generic_nack_to_our_request_fails_it_with_the_status() -> None:
    """NAK-05: a generic_nack fails our request with its status and frees the window slot."""
    smsc = bound_smsc()
    seq = smsc.send_request(DELIVER, T0, context="ctx")
    smsc.data_to_send()
    events = smsc.receive_data(encode(P.GenericNack(command_status=S.ESME_RINVCMDLEN), seq), T0)
    assert events == [RequestFailed(DELIVER, "ctx", "generic_nack", S.ESME_RINVCMDLEN)]
    assert smsc.in_flight == 0 and smsc.data_to_send() == b""


def test_late_response_after_timeout_is_unexpected() -> None:
    """A response after its request timed out must not be delivered as an answer."""
    smsc = bound_smsc(response_timeout=5.0)
    seq = smsc.send_request(DELIVER, T0, context="ctx")
    assert of(smsc.on_time(T0 + 5), RequestFailed)
    late = encode(P.DeliverSmResp(), seq)
    assert smsc.receive_data(late, T0 + 6) == [UnexpectedResponse(decode(late))]


def test_response_of_the_wrong_command_leaves_the_request_waiting() -> None:
    """A wrong-command response is unexpected; its request still times out on its own deadline."""
    smsc = bound_smsc(response_timeout=10.0)
    first = smsc.send_request(DELIVER, T0, context="first")
    smsc.send_request(DELIVER, T0 + 1, context="second")
    wrong = encode(P.SubmitSmResp(message_id="m"), first)
    assert smsc.receive_data(wrong, T0 + 2) == [UnexpectedResponse(decode(wrong))]
    assert smsc.in_flight == 2
    assert smsc.next_deadline() == T0 + 10
    assert [e.context for e in smsc.on_time(T0 + 10)] == ["first"]
    assert smsc.next_deadline() == T0 + 11


def test_out_of_order_responses_are_matched_by_sequence_number() -> None:
    """SEQ-05: responses in any order must each reach their own request and context."""
    smsc, esme = bound_pair()
    seqs = {esme.send_request(SUBMIT, T0, context=f"msg{i}"): f"msg{i}" for i in range(3)}
    requests = transfer(esme, smsc, T0)
    assert len(requests) == 3
    for i, event in enumerate(reversed(requests)):
        smsc.respond(event.pdu, P.SubmitSmResp(message_id=f"id{event.pdu.sequence_number}"),
                     T0 + i)
    events = transfer(smsc, esme, T0 + 3)
    assert [type(e) for e in events] == [ResponseReceived] * 3
    for e in events:
        assert e.context == seqs[e.response.sequence_number]
        assert e.request == SUBMIT
        assert e.response.message_id == f"id{e.response.sequence_number}"
    assert esme.in_flight == 0 and smsc.inbound_pending == 0


def test_error_response_is_delivered_as_a_response() -> None:
    """A submit_sm_resp with a non-zero status is an answer (ResponseReceived), not a failure."""
    smsc, esme = bound_pair()
    esme.send_request(SUBMIT, T0, context="c")
    [request] = transfer(esme, smsc, T0)
    smsc.respond(request.pdu, P.SubmitSmResp(command_status=S.ESME_RTHROTTLED), T0)
    [event] = transfer(smsc, esme, T0)
    assert isinstance(event, ResponseReceived) and event.context == "c"
    assert event.response.command_status == S.ESME_RTHROTTLED


# --- window and response timer (§10) ----------------------------------------------------------

def test_window_full_raises_and_a_response_frees_a_slot() -> None:
    """WIN-01: a full window raises WindowFull and writes nothing; a response frees one slot."""
    smsc, esme = bound_pair(window=3)
    seqs = [esme.send_request(SUBMIT, T0) for _ in range(3)]
    assert esme.window_free == 0 and esme.in_flight == 3
    before = esme.data_to_send()
    with pytest.raises(WindowFull):
        esme.send_request(SUBMIT, T0)
    assert esme.data_to_send() == b""
    esme.receive_data(encode(P.SubmitSmResp(message_id="a"), seqs[1]), T0 + 1)
    assert esme.window_free == 1
    fourth = esme.send_request(SUBMIT, T0 + 1)
    assert fourth not in seqs[0:1] + seqs[2:]
    with pytest.raises(WindowFull):
        esme.send_request(SUBMIT, T0 + 1)
    assert len(pdus(before)) == 3


def test_response_timeout_fires_exactly_at_the_deadline() -> None:
    """An unanswered request fails 'timeout' at exactly its deadline, which next_deadline shows."""
    smsc = bound_smsc(response_timeout=10.0)
    smsc.send_request(DELIVER, T0, context="a")
    smsc.send_request(DELIVER, T0 + 4, context="b")
    assert smsc.next_deadline() == T0 + 10
    assert smsc.on_time(T0 + 9.999) == [] and smsc.in_flight == 2
    assert smsc.on_time(T0 + 10) == [RequestFailed(DELIVER, "a", "timeout")]
    assert smsc.next_deadline() == T0 + 14 and smsc.window_free == smsc.config.window - 1
    assert smsc.on_time(T0 + 20) == [RequestFailed(DELIVER, "b", "timeout")]
    assert smsc.next_deadline() is None and smsc.state is State.BOUND_TRX


def test_answered_request_has_no_deadline() -> None:
    """Once answered, a request must neither time out nor keep a deadline."""
    smsc = bound_smsc(response_timeout=10.0)
    seq = smsc.send_request(DELIVER, T0, context="a")
    smsc.receive_data(encode(P.DeliverSmResp(), seq), T0 + 1)
    assert smsc.next_deadline() is None and smsc.on_time(T0 + 10) == []


# --- enquire_link (§9 ENQ) --------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: bound_smsc(), lambda: smsc_session(), lambda: Session(Role.ESME, T0, config()),
    lambda: bound_esme(),
], ids=["smsc-bound", "smsc-open", "esme-open", "esme-bound"])
def test_enq01_enquire_link_is_answered_at_once(make) -> None:  # type: ignore[no-untyped-def]
    """ENQ-01: enquire_link gets a header-only resp with its seq at once, in any state."""
    session = make()
    state = session.state
    assert session.receive_data(encode(P.EnquireLink(), 555), T0) == [ENQUIRE_LINK_RECEIVED]
    assert session.data_to_send() == header(16, C.ENQUIRE_LINK_RESP, 0, 555)
    assert session.state is state


def test_enq02_enquire_link_only_after_silence() -> None:
    """ENQ-02: enquire_link only after an interval of silence; any PDU received resets it."""
    smsc = bound_smsc(enquire_link_interval=30.0, response_timeout=10.0)
    assert smsc.next_deadline() == T0 + 30
    assert smsc.on_time(T0 + 29.9) == [] and smsc.data_to_send() == b""
    smsc.receive_data(encode(SUBMIT, 2), T0 + 20)
    assert smsc.next_deadline() == T0 + 50
    assert smsc.on_time(T0 + 30) == [] and smsc.data_to_send() == b""
    smsc.receive_data(encode(P.EnquireLink(), 3), T0 + 40)
    smsc.data_to_send()
    assert smsc.next_deadline() == T0 + 70
    seq = smsc.send_request(DELIVER, T0 + 45)
    smsc.receive_data(encode(P.DeliverSmResp(), seq), T0 + 50)
    smsc.data_to_send()
    assert smsc.next_deadline() == T0 + 80
    assert smsc.on_time(T0 + 80) == []
    [probe] = sent(smsc)
    assert probe.command_id == C.ENQUIRE_LINK and probe.sequence_number > seq


def test_enq02_answered_probe_keeps_the_session() -> None:
    """An answered enquire_link keeps the session and the next probe waits a full interval."""
    smsc, esme = bound_pair(enquire_link_interval=30.0, response_timeout=10.0)
    smsc.on_time(T0 + 30)
    assert smsc.next_deadline() == T0 + 40
    assert transfer(smsc, esme, T0 + 31) == [ENQUIRE_LINK_RECEIVED]
    assert transfer(esme, smsc, T0 + 32) == []
    assert smsc.next_deadline() == T0 + 32 + 30
    assert smsc.on_time(T0 + 40) == [] and not smsc.closed


def test_enq02_unanswered_probe_closes_and_fails_in_flight_requests() -> None:
    """ENQ-02: an unanswered enquire_link closes the session and fails requests in flight."""
    smsc = bound_smsc(enquire_link_interval=30.0, response_timeout=10.0)
    assert smsc.on_time(T0 + 30) == []
    smsc.data_to_send()
    smsc.send_request(DELIVER, T0 + 35, context="d")
    assert smsc.next_deadline() == T0 + 40
    assert smsc.on_time(T0 + 39.9) == []
    events = smsc.on_time(T0 + 40)
    assert events[0] == RequestFailed(DELIVER, "d", "closed")
    assert isinstance(events[-1], CloseConnection) and smsc.closed
    assert smsc.next_deadline() is None and smsc.connection_lost() == []


def test_no_enquire_link_before_bind() -> None:
    """An unbound session must not probe with enquire_link."""
    esme = Session(Role.ESME, T0, config(enquire_link_interval=30.0))
    assert esme.next_deadline() is None
    assert esme.on_time(T0 + 300) == [] and esme.data_to_send() == b""


# --- session_init and inactivity timers (TMR-01, SES-06) --------------------------------------

def test_session_init_timeout_closes_an_unbound_smsc_session() -> None:
    """SES-06: a connection that does not bind within session_init_timeout is closed."""
    smsc = smsc_session(session_init_timeout=30.0)
    assert smsc.next_deadline() == T0 + 30
    assert smsc.on_time(T0 + 29.9) == []
    [close] = smsc.on_time(T0 + 30)
    assert isinstance(close, CloseConnection) and smsc.closed


def test_session_init_timeout_is_not_reset_by_a_rejected_bind_or_enquire_link() -> None:
    """Failed binds and enquire_links must not keep an unbound connection open."""
    smsc = smsc_session(session_init_timeout=30.0)
    [request] = smsc.receive_data(encode(make_bind(), 1), T0 + 10)
    smsc.reject_bind(request.pdu, S.ESME_RBINDFAIL, T0 + 10)
    smsc.receive_data(encode(P.EnquireLink(), 2), T0 + 20)
    assert smsc.next_deadline() == T0 + 30
    assert of(smsc.on_time(T0 + 30), CloseConnection)


def test_session_init_timeout_does_not_close_a_bound_session() -> None:
    """Once bound, the session_init timer must be gone."""
    smsc = bound_smsc(session_init_timeout=30.0, now=T0)
    assert smsc.next_deadline() is None
    assert smsc.on_time(T0 + 30) == [] and smsc.bound


def test_esme_role_has_no_session_init_timer() -> None:
    """session_init is the SMSC's timer: an unbound ESME must not be closed by it."""
    esme = Session(Role.ESME, T0, config(session_init_timeout=30.0))
    assert esme.next_deadline() is None and esme.on_time(T0 + 30) == []


def test_inactivity_timeout_sends_unbind() -> None:
    """TMR-01: no transaction (enquire_link is none) for inactivity_timeout sends unbind."""
    smsc = bound_smsc(inactivity_timeout=60.0)
    assert smsc.next_deadline() == T0 + 60
    smsc.receive_data(encode(P.EnquireLink(), 2), T0 + 50)
    smsc.data_to_send()
    assert smsc.next_deadline() == T0 + 60
    [request] = smsc.receive_data(encode(SUBMIT, 3), T0 + 55)
    smsc.respond(request.pdu, P.SubmitSmResp(message_id="1"), T0 + 56)
    smsc.data_to_send()
    assert smsc.next_deadline() == T0 + 116
    assert smsc.on_time(T0 + 115.9) == [] and smsc.data_to_send() == b""
    assert smsc.on_time(T0 + 116) == []
    [unbind] = sent(smsc)
    assert unbind.command_id == C.UNBIND and smsc.state is State.UNBINDING


def test_inactivity_timeout_zero_never_unbinds() -> None:
    """inactivity_timeout 0 must disable the timer."""
    smsc = bound_smsc(inactivity_timeout=0.0)
    assert smsc.next_deadline() is None and smsc.on_time(T0 + 1e6) == [] and smsc.bound


# --- unbind (§9 UNB) --------------------------------------------------------------------------

def test_unb01_peer_unbind_is_answered_and_closes() -> None:
    """UNB-01: peer unbind gets unbind_resp and Unbound; with nothing in flight it closes."""
    smsc = bound_smsc()
    events = smsc.receive_data(encode(P.Unbind(), 66), T0 + 1)
    assert smsc.data_to_send() == header(16, C.UNBIND_RESP, 0, 66)
    assert events == [Unbound(by_peer=True)] and smsc.state is State.UNBOUND
    assert smsc.next_deadline() is not None and smsc.next_deadline() <= T0 + 1
    [close] = smsc.on_time(T0 + 1)
    assert isinstance(close, CloseConnection) and smsc.closed


def test_unb01_answers_in_flight_still_pass_after_a_peer_unbind() -> None:
    """UNB-01: after a peer unbind our pending answers still go out and theirs still come in,
    so no accepted message loses its response; then the session closes."""
    smsc = bound_smsc()
    smsc.send_request(DELIVER, T0, context="d")
    smsc.data_to_send()
    [request] = smsc.receive_data(encode(SUBMIT, 5), T0)
    smsc.receive_data(encode(P.Unbind(), 6), T0)
    smsc.data_to_send()
    assert smsc.on_time(T0) == [] and not smsc.closed
    smsc.respond(request.pdu, P.SubmitSmResp(message_id="m"), T0)
    assert sent(smsc) == [P.SubmitSmResp(message_id="m", sequence_number=5)]
    [answer] = smsc.receive_data(encode(P.DeliverSmResp(), 1), T0 + 1)
    assert isinstance(answer, ResponseReceived) and answer.context == "d"
    [close] = smsc.on_time(T0 + 1)
    assert isinstance(close, CloseConnection)


def test_unb01_after_a_peer_unbind_the_wait_for_answers_is_bounded() -> None:
    """Answers that never come fail at the response timeout, then the session closes."""
    smsc = bound_smsc(response_timeout=10.0)
    smsc.send_request(DELIVER, T0, context="d")
    smsc.receive_data(encode(P.Unbind(), 6), T0)
    assert smsc.next_deadline() == T0 + 10
    assert smsc.on_time(T0 + 9.9) == []
    events = smsc.on_time(T0 + 10)
    assert isinstance(events[0], RequestFailed) and events[0].context == "d"
    assert isinstance(events[-1], CloseConnection) and smsc.closed


def test_nothing_after_a_peer_unbind_is_served() -> None:
    """UNB-02: requests read after a peer's unbind are refused, not served."""
    smsc = bound_smsc()
    events = smsc.receive_data(encode(P.Unbind(), 2) + encode(SUBMIT, 3), T0)
    assert not of(events, RequestReceived)
    assert [(p.command_id, p.command_status, p.sequence_number) for p in sent(smsc)] == [
        (C.UNBIND_RESP, 0, 2), (C.SUBMIT_SM_RESP, S.ESME_RINVBNDSTS, 3)]


def test_our_unbind_completes_on_unbind_resp() -> None:
    """Our unbind ends with Unbound(by_peer=False) and close when unbind_resp arrives."""
    smsc, esme = bound_pair()
    esme.unbind(T0)
    assert esme.state is State.UNBINDING
    peer = transfer(esme, smsc, T0)
    assert peer == [Unbound(by_peer=True)]
    ours = transfer(smsc, esme, T0 + 1)
    assert ours[0] == Unbound(by_peer=False) and isinstance(ours[1], CloseConnection)
    assert esme.closed
    assert isinstance(smsc.on_time(T0 + 1)[0], CloseConnection) and smsc.closed


def test_our_unbind_fails_requests_still_in_flight_when_it_completes() -> None:
    """While UNBINDING answers are delivered; requests still open at unbind_resp fail."""
    esme = bound_esme()
    a = esme.send_request(SUBMIT, T0, context="a")
    esme.send_request(SUBMIT, T0, context="b")
    esme.unbind(T0 + 1)
    [_, _, unbind] = sent(esme)
    [answer] = esme.receive_data(encode(P.SubmitSmResp(message_id="x"), a), T0 + 2)
    assert isinstance(answer, ResponseReceived) and answer.context == "a"
    events = esme.receive_data(encode(P.UnbindResp(), unbind.sequence_number), T0 + 3)
    assert events[:2] == [RequestFailed(SUBMIT, "b", "unbound"), Unbound(by_peer=False)]
    assert isinstance(events[2], CloseConnection)


def test_our_unbind_without_answer_closes_at_the_response_timeout() -> None:
    """Without unbind_resp, our unbind must close the session at the response timeout."""
    smsc = bound_smsc(response_timeout=10.0)
    smsc.unbind(T0)
    assert smsc.next_deadline() == T0 + 10
    assert smsc.on_time(T0 + 9.9) == [] and smsc.state is State.UNBINDING
    events = smsc.on_time(T0 + 10)
    assert events[0] == Unbound(by_peer=False) and isinstance(events[1], CloseConnection)
    assert smsc.closed


def test_requests_while_unbinding_are_refused() -> None:
    """UNB-02: once we sent unbind, requests both ways are refused with RINVBNDSTS."""
    smsc = bound_smsc()
    smsc.unbind(T0)
    smsc.data_to_send()
    events = smsc.receive_data(encode(SUBMIT, 8), T0 + 1)
    assert not of(events, RequestReceived)
    assert smsc.data_to_send() == header(16, C.SUBMIT_SM_RESP, S.ESME_RINVBNDSTS, 8)
    with pytest.raises(InvalidPdu):
        smsc.send_request(DELIVER, T0 + 1)
    assert smsc.state is State.UNBINDING


def test_responses_to_requests_received_before_unbind_may_still_be_sent() -> None:
    """UNB-01: answers to earlier requests must still go out while UNBINDING."""
    smsc = bound_smsc()
    [request] = smsc.receive_data(encode(SUBMIT, 8), T0)
    smsc.unbind(T0 + 1)
    smsc.data_to_send()
    smsc.respond(request.pdu, P.SubmitSmResp(message_id="m"), T0 + 2)
    assert sent(smsc) == [P.SubmitSmResp(message_id="m", sequence_number=8)]


def test_send_request_unbind_returns_the_unbinds_sequence_number() -> None:
    """send_request(Unbind()) must return the unbind's wire seq, even 0x7FFFFFFF."""
    esme = bound_esme()
    esme._next_seq = MAX_SEQUENCE   # no public way to reach the top of the sequence space
    seq = esme.send_request(P.Unbind(), T0)
    [unbind] = sent(esme)
    assert unbind.command_id == C.UNBIND and seq == unbind.sequence_number == MAX_SEQUENCE
    assert esme.state is State.UNBINDING


def test_unbind_before_bind_does_nothing() -> None:
    """unbind() in OPEN has nothing to end: no PDU and no state change."""
    esme = Session(Role.ESME, T0, config())
    esme.unbind(T0)
    assert esme.data_to_send() == b"" and esme.state is State.OPEN


# --- connection loss --------------------------------------------------------------------------

def test_connection_lost_fails_everything_in_flight() -> None:
    """connection_lost fails every request in flight as 'closed' and silences the session."""
    smsc = bound_smsc(enquire_link_interval=30.0)
    smsc.send_request(DELIVER, T0, context=1)
    smsc.send_request(DELIVER, T0, context=2)
    smsc.data_to_send()
    events = smsc.connection_lost()
    assert events == [RequestFailed(DELIVER, 1, "closed"), RequestFailed(DELIVER, 2, "closed")]
    assert smsc.closed and smsc.in_flight == 0 and smsc.next_deadline() is None
    assert smsc.on_time(T0 + 1000) == []
    assert smsc.receive_data(encode(SUBMIT, 9), T0) == [] and smsc.data_to_send() == b""


# --- requests without responses ---------------------------------------------------------------

def test_alert_notification_gets_no_response() -> None:
    """ALT-01: alert_notification reaches the application and nothing is written back."""
    esme = bound_esme(P.BindReceiver)
    alert = P.AlertNotification(source_addr="3160", esme_addr="1234")
    [event] = esme.receive_data(encode(alert, 12), T0)
    assert isinstance(event, RequestReceived) and event.pdu.command_id == C.ALERT_NOTIFICATION
    assert esme.data_to_send() == b"" and esme.inbound_pending == 0


def test_alert_notification_in_the_wrong_state_still_gets_no_response() -> None:
    """ALT-01: alert_notification in a wrong state is refused without any response."""
    esme = bound_esme(P.BindTransmitter)
    events = esme.receive_data(encode(P.AlertNotification(), 12), T0)
    assert not of(events, RequestReceived) and esme.data_to_send() == b""


def test_outbind_in_esme_open_comes_out_as_a_request() -> None:
    """SES-07: an outbind in ESME OPEN comes out as RequestReceived and is not answered."""
    esme = Session(Role.ESME, T0, config())
    outbind = P.Outbind(system_id="vendor", password="pw")
    [event] = esme.receive_data(encode(outbind, 1), T0)
    assert isinstance(event, RequestReceived) and event.pdu == decode(encode(outbind, 1))
    assert esme.data_to_send() == b""
    esme.bind(make_bind(P.BindReceiver), T0)
    assert esme.state is State.BINDING


def test_outbind_to_the_smsc_role_is_ignored() -> None:
    """An outbind sent to the SMSC role must not be passed up or answered."""
    smsc = smsc_session()
    events = smsc.receive_data(encode(P.Outbind(system_id="x"), 1), T0)
    assert not of(events, RequestReceived) and smsc.data_to_send() == b""


# --- inbound back-pressure --------------------------------------------------------------------

def test_too_many_unanswered_requests_get_rthrottled() -> None:
    """Past max_inbound_pending, requests get RTHROTTLED; answering one makes room."""
    smsc = bound_smsc(max_inbound_pending=2)
    first, second = smsc.receive_data(encode(SUBMIT, 1) + encode(SUBMIT, 2), T0)
    assert smsc.inbound_pending == 2
    events = smsc.receive_data(encode(SUBMIT, 3), T0)
    assert not of(events, RequestReceived)
    assert smsc.data_to_send() == header(16, C.SUBMIT_SM_RESP, S.ESME_RTHROTTLED, 3)
    smsc.respond(first.pdu, P.SubmitSmResp(message_id="a"), T0)
    assert smsc.inbound_pending == 1
    assert of(smsc.receive_data(encode(SUBMIT, 4), T0), RequestReceived)


def test_enquire_link_is_answered_even_when_throttling() -> None:
    """enquire_link must be answered even when the inbound queue is full."""
    smsc = bound_smsc(max_inbound_pending=1)
    smsc.receive_data(encode(SUBMIT, 1), T0)
    smsc.receive_data(encode(P.EnquireLink(), 2), T0)
    assert smsc.data_to_send() == header(16, C.ENQUIRE_LINK_RESP, 0, 2)


def test_respond_uses_the_requests_sequence_number() -> None:
    """A response must go out with its request's sequence number, whatever it carries."""
    smsc = bound_smsc()
    [request] = smsc.receive_data(encode(SUBMIT, 0x1234), T0)
    smsc.respond(request.pdu, P.SubmitSmResp(message_id="abc", sequence_number=9), T0)
    assert sent(smsc) == [P.SubmitSmResp(message_id="abc", sequence_number=0x1234)]
    assert smsc.inbound_pending == 0


# --- sequence numbers (§10) -------------------------------------------------------------------

def test_sequence_numbers_start_at_1_and_increase() -> None:
    """SEQ-01/02: a new session must number its requests 1, 2, 3, ..."""
    esme = Session(Role.ESME, T0, config())
    assert esme.bind(make_bind(), T0) == 1
    esme.receive_data(encode(P.BindTransceiverResp(system_id="v"), 1), T0)
    assert [esme.send_request(SUBMIT, T0) for _ in range(3)] == [2, 3, 4]
    assert [p.sequence_number for p in sent(esme)] == [1, 2, 3, 4]


def test_seq01_sequence_numbers_wrap_to_1_and_skip_those_in_flight() -> None:
    """SEQ-01/04: after 0x7FFFFFFF comes 1, never 0, and numbers in flight are skipped."""
    esme = bound_esme()                               # bind used 1, now answered
    in_flight = esme.send_request(SUBMIT, T0)         # 2, left unanswered
    esme._next_seq = MAX_SEQUENCE   # no public way to reach the top of the sequence space
    got = [esme.send_request(SUBMIT, T0) for _ in range(3)]
    assert in_flight == 2 and got == [MAX_SEQUENCE, 1, 3]
    assert [p.sequence_number for p in sent(esme)] == [2, MAX_SEQUENCE, 1, 3]


def test_seq03_each_side_has_its_own_sequence_space() -> None:
    """SEQ-03: equal seqs in the two directions must each match the right request."""
    smsc, esme = bound_pair()
    s_seq = esme.send_request(SUBMIT, T0, context="submit")      # 2: the bind used 1
    smsc.send_request(DELIVER, T0, context="other")               # 1
    d_seq = smsc.send_request(DELIVER, T0, context="deliver")     # 2
    assert s_seq == d_seq == 2
    [submit] = transfer(esme, smsc, T0)
    deliveries = transfer(smsc, esme, T0)
    [deliver] = [e for e in deliveries if e.pdu.sequence_number == d_seq]
    smsc.respond(submit.pdu, P.SubmitSmResp(message_id="m"), T0)
    esme.respond(deliver.pdu, P.DeliverSmResp(), T0)
    [at_esme] = transfer(smsc, esme, T0)
    [at_smsc] = transfer(esme, smsc, T0)
    assert isinstance(at_esme, ResponseReceived) and at_esme.context == "submit"
    assert isinstance(at_smsc, ResponseReceived) and at_smsc.context == "deliver"
    assert esme.in_flight == 0 and smsc.in_flight == 1


# --- interface version ------------------------------------------------------------------------

def test_esme_bound_with_version_33_gets_deliver_sm_without_tlvs() -> None:
    """A 3.3 ESME must get deliver_sm without TLVs and with the body intact."""
    smsc, esme = bound_pair(P.BindReceiver, version=0x33)
    receipt = P.DeliverSm(esm_class=0x04, short_message=b"id:1 stat:DELIVRD",
                          tlvs=tlvs(receipted_message_id="1", message_state=2))
    smsc.send_request(receipt, T0, context="r")
    [event] = transfer(smsc, esme, T0)
    assert event.pdu.tlvs == () and event.pdu.short_message == b"id:1 stat:DELIVRD"
    esme.respond(event.pdu, P.DeliverSmResp(), T0)
    [answer] = transfer(esme, smsc, T0)
    assert isinstance(answer, ResponseReceived) and answer.context == "r"


def test_esme_bound_with_version_34_gets_deliver_sm_with_tlvs() -> None:
    """A 3.4 ESME must receive deliver_sm TLVs (receipted_message_id, message_state)."""
    smsc, esme = bound_pair(P.BindReceiver, version=0x34)
    receipt = P.DeliverSm(esm_class=0x04, tlvs=tlvs(receipted_message_id="1", message_state=2))
    smsc.send_request(receipt, T0)
    [event] = transfer(smsc, esme, T0)
    assert event.pdu.tlv("receipted_message_id") == "1" and event.pdu.tlv("message_state") == 2


# --- framing across receive_data calls --------------------------------------------------------

def test_several_pdus_in_one_call_are_all_served_in_order() -> None:
    """Several PDUs in one read must all be handled, answers in order."""
    smsc = bound_smsc()
    data = (encode(P.EnquireLink(), 1) + encode(SUBMIT, 2) + encode(P.EnquireLink(), 3)
            + encode(SUBMIT, 4))
    events = smsc.receive_data(data, T0)
    assert events[0::2] == [ENQUIRE_LINK_RECEIVED] * 2
    assert [e.pdu.sequence_number for e in events[1::2]] == [2, 4]
    assert [(p.command_id, p.sequence_number) for p in sent(smsc)] == [
        (C.ENQUIRE_LINK_RESP, 1), (C.ENQUIRE_LINK_RESP, 3)]


def test_a_pdu_split_across_calls_is_served_once_complete() -> None:
    """A PDU arriving one octet at a time must come out once, on its last octet."""
    smsc = bound_smsc()
    data = encode(SUBMIT, 2) + encode(P.EnquireLink(), 3)
    split_at = len(encode(SUBMIT, 2))
    events: list[Event] = []
    for i in range(len(data)):
        got = smsc.receive_data(data[i:i + 1], T0 + i)
        if i not in (split_at - 1, len(data) - 1):
            assert got == []
        events += got
    assert [e.pdu for e in events[:1]] == [decode(encode(SUBMIT, 2))]
    assert events[1:] == [ENQUIRE_LINK_RECEIVED]
    assert smsc.data_to_send() == header(16, C.ENQUIRE_LINK_RESP, 0, 3)


def test_back_to_back_submit_round_trip() -> None:
    """submit_sm through both sessions must come back as ResponseReceived with its context."""
    smsc, esme = bound_pair(P.BindTransmitter)
    esme.send_request(SUBMIT, T0, context={"id": 7})
    [request] = transfer(esme, smsc, T0)
    assert request.pdu == decode(encode(SUBMIT, request.pdu.sequence_number))
    smsc.respond(request.pdu, P.SubmitSmResp(message_id="abc"), T0)
    [answer] = transfer(smsc, esme, T0)
    assert answer == ResponseReceived(SUBMIT, P.SubmitSmResp(message_id="abc", sequence_number=2),
                                      {"id": 7})
    assert esme.data_to_send() == smsc.data_to_send() == b""
    assert esme.in_flight == smsc.inbound_pending == 0


# --- garbage in, only events out (hypothesis) -------------------------------------------------

KNOWN_IDS = [int(c) for c in C]


@st.composite
def framed_pdus(draw: st.DrawFn) -> bytes:
    """A well-framed PDU (command_length right) with a plausible or random header and a random
    body: reaches the decoder and the state table rather than stopping at the frame buffer."""
    command_id = draw(st.one_of(st.sampled_from(KNOWN_IDS), st.integers(0, 2**32 - 1)))
    status = draw(st.one_of(st.just(0), st.integers(0, 2**32 - 1)))
    seq = draw(st.one_of(st.integers(1, 4), st.integers(0, 2**32 - 1)))
    body = draw(st.binary(max_size=120))
    return header(16 + len(body), command_id, status, seq) + body


def header_seqs(stream: bytes) -> set[int]:
    """Sequence numbers of every header the frame buffer reads in `stream`."""
    seqs: set[int] = set()
    pos = 0
    while len(stream) - pos >= 16:
        length = int.from_bytes(stream[pos:pos + 4], "big")
        seqs.add(int.from_bytes(stream[pos + 12:pos + 16], "big"))
        if not 16 <= length <= DEFAULT_MAX_PDU:
            break
        pos += length
    return seqs


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


def feed_checked(stream: bytes, cuts: list[int]) -> tuple[Session, list[Event], bytes]:
    """Feed `stream` in pieces to a bound TRX SMSC with three deliver_sm in flight, calling
    on_time as time passes; return the session, every event and every byte it wrote."""
    smsc = bound_smsc(enquire_link_interval=3.0, response_timeout=5.0, inactivity_timeout=20.0)
    for i in range(3):
        smsc.send_request(DELIVER, T0, context=i)
    written = smsc.data_to_send()
    events: list[Event] = []
    now = T0
    for piece in chunks(stream, cuts):
        now += 1.0
        events += smsc.receive_data(piece, now)
        events += smsc.on_time(now)
        written += smsc.data_to_send()
    assert all(isinstance(e, Event) for e in events)
    pdus(written)                                   # every byte written is a valid PDU
    return smsc, events, written


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=10))
def test_random_bytes_in_random_chunks_only_produce_events(data: bytes, cuts: list[int]) -> None:
    """Any bytes in any chunks must never raise, and all we write must decode as PDUs."""
    smsc, events, _ = feed_checked(data, cuts)
    if of(events, CloseConnection):
        assert smsc.closed


@settings(max_examples=150, deadline=None)
@given(st.lists(framed_pdus(), max_size=12), st.lists(st.integers(0, 2000), max_size=10),
       st.binary(max_size=40))
def test_random_framed_pdus_only_produce_events(frames: list[bytes], cuts: list[int],
                                                tail: bytes) -> None:
    """Random framed PDUs must never raise; we answer only seqs we read, with valid PDUs."""
    stream = b"".join(frames) + tail
    _, _, written = feed_checked(stream, cuts)
    received_seqs = header_seqs(stream)
    for out in pdus(written)[3:]:
        if out.command_id in (C.ENQUIRE_LINK, C.UNBIND):
            continue
        assert out.command_id & 0x80000000
        assert out.sequence_number in received_seqs or out.sequence_number == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0x80000000, 0xFFFFFFFF) | st.sampled_from(
    [i for i in KNOWN_IDS if i & 0x80000000]), st.binary(max_size=60),
    st.integers(0, 2**32 - 1) | st.integers(1, 4)), max_size=10))
def test_nak05_responses_of_any_shape_are_never_answered(
        frames: list[tuple[int, bytes, int]]) -> None:
    """NAK-05: responses of any shape must never be answered nor end the bind."""
    smsc = bound_smsc()
    for i in range(3):
        smsc.send_request(DELIVER, T0, context=i)
    smsc.data_to_send()
    data = b"".join(header(16 + len(body), cid, 0, seq) + body for cid, body, seq in frames)
    events = smsc.receive_data(data, T0 + 1)
    assert smsc.data_to_send() == b""
    assert not of(events, CloseConnection) and smsc.state is State.BOUND_TRX
