"""The SMPP codec: round trips, golden vectors, error statuses and tolerance of real SMSCs.

References: shared/reference/smpp.md (§1-5, §9, §14) and the raw PDUs from real SMSCs
collected in Jasmin's decoding tests (shared/reference/jasmin.md §10).
"""
from __future__ import annotations

import dataclasses
import struct
from typing import Any, Callable
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smscd.smpp import codec
from smscd.smpp import pdu as P
from smscd.smpp.commands import CommandId as C
from smscd.smpp.errors import InvalidPdu, SmppError
from smscd.smpp.status import CommandStatus as S
from smscd.smpp.tlv import STANDARD_TLVS, Tlv, TlvKind, tlvs, vendor_spec

from strategies import BODIES, PDU_STRATEGIES, pdus

decode, encode = codec.decode, codec.encode
ALL_CLASSES = sorted(P.PDU_CLASSES.values(), key=lambda c: c.command_id)
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Each example of these draws one PDU of every class (33), so fewer examples go a long way.
EVERY_CLASS = settings(PROPERTY, max_examples=40)


def frame(command_id: int, body: bytes = b"", seq: int = 1, status: int = 0) -> bytes:
    """A PDU with a correct command_length around `body`."""
    return struct.pack(">IIII", 16 + len(body), command_id, status, seq) + body


def cstr(text: str) -> bytes:
    return text.encode("latin-1") + b"\0"


def submit_body(source_addr: bytes = b"12345\0", destination_addr: bytes = b"31600000000\0",
                schedule: bytes = b"\0", validity: bytes = b"\0", short_message: bytes = b"hello",
                sm_length: int | None = None, tail: bytes = b"") -> bytes:
    """A submit_sm/deliver_sm body with raw, possibly broken, pieces."""
    length = len(short_message) if sm_length is None else sm_length
    return (b"\0" + b"\x01\x01" + source_addr + b"\x01\x01" + destination_addr
            + b"\x00\x00\x00" + schedule + validity + b"\x01\x00\x00\x00"
            + bytes((length,)) + short_message + tail)


def raises_status(data: bytes, status: int, **kw: Any) -> InvalidPdu:
    with pytest.raises(InvalidPdu) as info:
        decode(data, **kw)
    assert info.value.status == status, info.value
    return info.value


# --- the slow path: the same decode with every regex switched off -----------------------

def _readers_only(cls: type[P.Pdu]) -> Any:
    plan = codec._Plan(cls)
    plan.fast = None
    return plan


_READER_PLANS = {cid: _readers_only(cls) for cid, cls in P.PDU_CLASSES.items()}


def decode_by_readers(data: bytes, **kw: Any) -> P.Pdu:
    """codec.decode with the per-field readers only, as when the fast regex does not match."""
    with mock.patch.dict(codec._PLANS, _READER_PLANS):
        return decode(data, **kw)


def outcome(fn: Callable[[bytes], P.Pdu], data: bytes) -> object:
    try:
        return fn(data)
    except SmppError as e:
        return (type(e).__name__, e.status, e.offset, e.command_id, e.sequence_number)


# --- properties -------------------------------------------------------------------------

def test_strategies_cover_every_pdu_class_and_field() -> None:
    """Breaks when a PDU class or body field is added without a strategy, leaving it untested."""
    assert set(BODIES) == set(P.PDU_CLASSES.values())
    for cls, body in BODIES.items():
        assert list(body) == [f.name for f in dataclasses.fields(cls)][3:], cls.__name__


# One draw per class in every example (rather than @pytest.mark.parametrize over the classes,
# which pytest-twisted 1.14 breaks for @given tests: it re-wraps the shared inner test).

@EVERY_CLASS
@given(data=st.data())
def test_encode_then_decode_gives_the_same_pdu(data: st.DataObject) -> None:
    """Breaks when encode and decode disagree on any field, TLV or length of any PDU class."""
    for cls in ALL_CLASSES:
        pdu = data.draw(PDU_STRATEGIES[cls], label=cls.__name__)
        assert decode(encode(pdu)) == pdu


@EVERY_CLASS
@given(data=st.data())
def test_decode_then_encode_is_byte_exact(data: st.DataObject) -> None:
    """Breaks when re-encoding a decoded PDU changes a byte (a proxied PDU, a vendor TLV)."""
    for cls in ALL_CLASSES:
        wire = encode(data.draw(PDU_STRATEGIES[cls], label=cls.__name__))
        assert encode(decode(wire)) == wire


@PROPERTY
@given(pdus(), st.integers(0, 0x7FFFFFFF))
def test_encode_sequence_number_argument_overrides_the_pdu(pdu: P.Pdu, seq: int) -> None:
    """Breaks when a session's sequence number is not the one written on the wire."""
    assert decode(encode(pdu, sequence_number=seq)) == dataclasses.replace(pdu, sequence_number=seq)


@EVERY_CLASS
@given(data=st.data())
def test_fast_path_and_readers_agree_on_valid_pdus(data: st.DataObject) -> None:
    """Breaks when the regex fast path and the per-field readers decode a valid PDU differently."""
    for cls in ALL_CLASSES:
        wire = encode(data.draw(PDU_STRATEGIES[cls], label=cls.__name__))
        plan = codec._PLANS[cls.command_id]
        if plan.fast is not None and len(wire) > 16:
            # the comparison is only worth something if the fast path really took this PDU
            assert plan.fast.match(wire, 16, len(wire)) is not None
        assert decode(wire) == decode_by_readers(wire)


@st.composite
def damaged(draw: Any) -> bytes:
    """A valid PDU with a few body octets changed, cut or added (command_length kept right)."""
    wire = bytearray(encode(draw(pdus())))
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["set", "cut", "add"]))
        at = draw(st.integers(16, len(wire)))
        if how == "set" and at < len(wire):
            wire[at] = draw(st.sampled_from([0, 1, 0x10, 0x20, 0xFF]) | st.integers(0, 255))
        elif how == "cut":
            del wire[at:at + draw(st.integers(1, 4))]
        else:
            wire[at:at] = draw(st.binary(min_size=1, max_size=4))
    wire[0:4] = len(wire).to_bytes(4, "big")
    return bytes(wire)


@settings(PROPERTY, max_examples=500)
@given(damaged())
def test_fast_path_and_readers_agree_on_damaged_pdus(wire: bytes) -> None:
    """Breaks when the fast path accepts what the readers reject, or reports another status."""
    assert outcome(decode, wire) == outcome(decode_by_readers, wire)


@settings(PROPERTY, max_examples=1000)
@given(st.sampled_from(ALL_CLASSES), st.binary(max_size=300), st.integers(0, 2**32 - 1))
def test_random_body_raises_only_smpp_errors(cls: type[P.Pdu], body: bytes, status: int) -> None:
    """Breaks when a hostile body makes decode raise something the session cannot answer."""
    try:
        decode(frame(cls.command_id, body, status=status))
    except SmppError as e:
        assert e.command_id == cls.command_id and e.sequence_number == 1


@settings(PROPERTY, max_examples=300)
@given(damaged())
def test_damaged_pdu_raises_only_smpp_errors(wire: bytes) -> None:
    """Breaks when a corrupted field escapes as IndexError, UnicodeError, struct.error..."""
    try:
        decode(wire)
    except SmppError:
        pass


# --- golden vectors (smpp.md §14, HDR-03) -------------------------------------------------

def hexb(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


BIND_TRANSMITTER_SPEC = hexb(
    "00 00 00 2F 00 00 00 02 00 00 00 00 00 00 00 01 53 4D 50 50 33 54 45 53 54 00 73 65 63 72"
    " 65 74 30 38 00 53 55 42 4D 49 54 31 00 00 01 01 00")
SUBMIT_SM_HELLO = hexb(
    "00000036 00000004 00000000 00000002 00 01 01 3132333435 00 01 01 3331363030303030303030 00"
    " 00 00 00 00 00 01 00 00 00 05 68656c6c6f")
RECEIPT_TEXT = (b"id:abc sub:001 dlvrd:001 submit date:2611221200 done date:2611221201"
                b" stat:DELIVRD err:000 text:hello")
DELIVER_SM_RECEIPT = hexb(
    "000000a2 00000005 00000000 00000007 00 00 00 3331363030303030303030 00 00 00 3132333435 00"
    " 04 00 00 00 00 00 00 00 00 64") + RECEIPT_TEXT + hexb("001e0004 61626300 0427 0001 02")

GOLDEN = [
    pytest.param(BIND_TRANSMITTER_SPEC, P.BindTransmitter(
        sequence_number=1, system_id="SMPP3TEST", password="secret08", system_type="SUBMIT1",
        interface_version=0, addr_ton=1, addr_npi=1, address_range=""), id="HDR-03-bind"),
    pytest.param(SUBMIT_SM_HELLO, P.SubmitSm(
        sequence_number=2, source_addr_ton=1, source_addr_npi=1, source_addr="12345",
        dest_addr_ton=1, dest_addr_npi=1, destination_addr="31600000000",
        registered_delivery=1, short_message=b"hello"), id="submit_sm-hello"),
    pytest.param(DELIVER_SM_RECEIPT, P.DeliverSm(
        sequence_number=7, source_addr="31600000000", destination_addr="12345", esm_class=0x04,
        short_message=RECEIPT_TEXT,
        tlvs=tlvs(receipted_message_id="abc", message_state=2)), id="deliver_sm-receipt"),
    pytest.param(hexb("00000010 00000015 00000000 00000003"), P.EnquireLink(sequence_number=3),
                 id="enquire_link"),
    pytest.param(hexb("00000010 80000015 00000000 00000003"),
                 P.EnquireLinkResp(sequence_number=3), id="enquire_link_resp"),
    pytest.param(hexb("00000010 80000000 00000003 00000002"),
                 P.GenericNack(command_status=S.ESME_RINVCMDID, sequence_number=2),
                 id="generic_nack"),
]


def test_receipt_vector_text_is_the_100_octets_of_the_spec() -> None:
    """Breaks when the §14 receipt vector was transcribed wrongly (sm_length 0x64)."""
    assert len(RECEIPT_TEXT) == 100 and len(DELIVER_SM_RECEIPT) == 0xA2


@pytest.mark.parametrize("wire, expected", GOLDEN)
def test_golden_vector_decodes(wire: bytes, expected: P.Pdu) -> None:
    """Breaks when a PDU from the spec or an independent codec (smpp34) is misread."""
    assert decode(wire) == expected


@pytest.mark.parametrize("wire, expected", GOLDEN)
def test_golden_vector_encodes_byte_exact(wire: bytes, expected: P.Pdu) -> None:
    """Breaks when we put on the wire something an independent codec would not."""
    assert encode(expected) == wire


# --- errors and their statuses (NAK-01..04, TLV-11/12, TIM-04) ---------------------------

def test_unknown_command_id_is_rinvcmdid_with_header_fields() -> None:
    """Breaks when an unknown command cannot be answered by a generic_nack with its sequence."""
    for command_id in (0x00000099, 0x00010200, 0x0000000A, 0x80000099):
        e = raises_status(frame(command_id, b"xyz", seq=42), S.ESME_RINVCMDID)
        assert (e.command_id, e.sequence_number) == (command_id, 42)


@pytest.mark.parametrize("delta", [-1, 1, 100])
def test_command_length_not_the_frame_length_is_rinvcmdlen(delta: int) -> None:
    """Breaks when decode trusts a command_length that disagrees with the frame."""
    wire = bytearray(SUBMIT_SM_HELLO)
    wire[0:4] = (len(wire) + delta).to_bytes(4, "big")
    e = raises_status(bytes(wire), S.ESME_RINVCMDLEN)
    assert (e.command_id, e.sequence_number) == (C.SUBMIT_SM, 2)


def test_frame_shorter_than_a_header_is_rinvcmdlen() -> None:
    """Breaks when decode indexes into a frame that has no full header."""
    raises_status(b"\x00\x00\x00\x0c\x00\x00\x00\x15\x00\x00\x00\x00", S.ESME_RINVCMDLEN)


def test_body_truncated_inside_any_mandatory_field_is_rinvcmdlen() -> None:
    """Breaks when a cut submit_sm is read past its end or reported as a field error."""
    body = submit_body(short_message=b"")
    for cut in range(len(body)):        # every cut before sm_length is complete
        e = raises_status(frame(C.SUBMIT_SM, body[:cut], seq=9), S.ESME_RINVCMDLEN)
        assert (e.command_id, e.sequence_number) == (C.SUBMIT_SM, 9), cut


def test_body_truncated_inside_a_bind_is_rinvcmdlen() -> None:
    """Breaks when a bind cut inside system_id is answered as a bad system_id."""
    raises_status(frame(C.BIND_TRANSMITTER, b"SMPP3"), S.ESME_RINVCMDLEN)


def test_source_addr_of_21_characters_is_rinvsrcadr() -> None:
    """Breaks when a source_addr without NUL within 21 octets is accepted or misnamed."""
    e = raises_status(frame(C.SUBMIT_SM, submit_body(source_addr=b"1" * 21 + b"\0"), seq=5),
                      S.ESME_RINVSRCADR)
    assert (e.command_id, e.sequence_number, e.offset) == (C.SUBMIT_SM, 5, 19)
    raises_status(frame(C.SUBMIT_SM, submit_body(source_addr=b"1" * 30 + b"\0")),
                  S.ESME_RINVSRCADR)


def test_destination_addr_of_21_characters_is_rinvdstadr() -> None:
    """Breaks when an over-long destination_addr is accepted or answered with another status."""
    raises_status(frame(C.SUBMIT_SM, submit_body(destination_addr=b"3" * 21 + b"\0")),
                  S.ESME_RINVDSTADR)
    raises_status(frame(C.DELIVER_SM, submit_body(destination_addr=b"3" * 40 + b"\0")),
                  S.ESME_RINVDSTADR)


def test_twenty_character_addresses_are_accepted() -> None:
    """Breaks when the C21 limit is off by one (20 characters plus NUL is the maximum)."""
    pdu = decode(frame(C.SUBMIT_SM, submit_body(source_addr=b"1" * 20 + b"\0",
                                                destination_addr=b"3" * 20 + b"\0")))
    assert isinstance(pdu, P.SubmitSm)
    assert (pdu.source_addr, pdu.destination_addr) == ("1" * 20, "3" * 20)


@pytest.mark.parametrize("decoder", [decode, decode_by_readers], ids=["fast", "readers"])
def test_sm_length_beyond_the_body_is_rinvmsglen(decoder: Callable[..., P.Pdu]) -> None:
    """Breaks when short_message is read past the end of the PDU."""
    with pytest.raises(InvalidPdu) as info:
        decoder(frame(C.SUBMIT_SM, submit_body(short_message=b"hello", sm_length=6), seq=3))
    assert info.value.status == S.ESME_RINVMSGLEN
    assert (info.value.command_id, info.value.sequence_number) == (C.SUBMIT_SM, 3)


@pytest.mark.parametrize("field, status", [("schedule", S.ESME_RINVSCHED),
                                           ("validity", S.ESME_RINVEXPIRY)])
@pytest.mark.parametrize("length", [1, 10, 12, 15])
def test_time_string_not_16_characters_is_rinvsched_or_rinvexpiry(
        field: str, status: int, length: int) -> None:
    """Breaks when a malformed schedule/validity time is accepted or answered generically."""
    bad = b"2" * length + b"\0"
    body = submit_body(schedule=bad) if field == "schedule" else submit_body(validity=bad)
    raises_status(frame(C.SUBMIT_SM, body), status)


def test_time_string_of_17_characters_is_rinvsched() -> None:
    """Breaks when a time string without NUL within 17 octets is read as a longer field."""
    raises_status(frame(C.SUBMIT_SM, submit_body(schedule=b"2" * 17 + b"\0")), S.ESME_RINVSCHED)


@pytest.mark.parametrize("stray", [b"\x00", b"\x04\x27", b"\x04\x27\x00"])
def test_stray_octets_after_the_tlvs_are_rinvoptparstream(stray: bytes) -> None:
    """Breaks when 1-3 octets that cannot be a TLV are silently dropped from a request."""
    for tail in (stray, b"\x04\x27\x00\x01\x02" + stray):
        e = raises_status(frame(C.SUBMIT_SM, submit_body(tail=tail), seq=8),
                          S.ESME_RINVOPTPARSTREAM)
        assert e.sequence_number == 8


def test_tlv_length_past_the_end_is_rinvoptparstream() -> None:
    """Breaks when a TLV that claims more octets than the PDU has is read past its end."""
    raises_status(frame(C.SUBMIT_SM, submit_body(tail=b"\x04\x24\x00\x10abc")),
                  S.ESME_RINVOPTPARSTREAM)


def test_message_state_tlv_of_length_2_is_rinvparlen() -> None:
    """Breaks when a known TLV with an impossible length is accepted in a request."""
    e = raises_status(frame(C.DELIVER_SM, submit_body(tail=b"\x04\x27\x00\x02\x00\x02"), seq=4),
                      S.ESME_RINVPARLEN)
    assert (e.command_id, e.sequence_number) == (C.DELIVER_SM, 4)


def test_receipted_message_id_longer_than_65_is_rinvparlen() -> None:
    """Breaks when the C65 limit of receipted_message_id is not enforced on requests."""
    raises_status(frame(C.DELIVER_SM, submit_body(tail=b"\x00\x1e\x00\x42" + b"a" * 65 + b"\0")),
                  S.ESME_RINVPARLEN)


def submit_multi_body(dests: bytes, count: int) -> bytes:
    return (b"\0" + b"\x01\x01" + cstr("12345") + bytes((count,)) + dests
            + b"\x00\x00\x00\x00\x00\x01\x00\x00\x00" + b"\x02hi")


def test_dest_flag_3_in_submit_multi_is_rinvdestflag() -> None:
    """Breaks when an unknown dest_flag is accepted or its PDU is read out of step."""
    dests = b"\x01\x01\x01" + cstr("316") + b"\x03\x01\x01" + cstr("317")
    e = raises_status(frame(C.SUBMIT_MULTI, submit_multi_body(dests, 2), seq=6),
                      S.ESME_RINVDESTFLAG)
    assert (e.command_id, e.sequence_number) == (C.SUBMIT_MULTI, 6)


def test_submit_multi_destination_errors() -> None:
    """Breaks when submit_multi address errors are not reported like submit_sm's."""
    raises_status(frame(C.SUBMIT_MULTI, submit_multi_body(b"\x01\x01\x01" + b"3" * 21 + b"\0", 1)),
                  S.ESME_RINVDSTADR)
    raises_status(frame(C.SUBMIT_MULTI, submit_multi_body(b"\x02" + b"L" * 21 + b"\0", 1)),
                  S.ESME_RINVDLNAME)
    cut = b"\0" + b"\x01\x01" + cstr("12345") + b"\x03" + b"\x01\x01\x01" + cstr("316")
    raises_status(frame(C.SUBMIT_MULTI, cut), S.ESME_RINVCMDLEN)
    raises_status(frame(C.SUBMIT_MULTI, cut + b"\x01\x01"), S.ESME_RINVCMDLEN)


def test_encode_of_a_too_long_source_addr_is_rinvsrcadr() -> None:
    """Breaks when we would put an address on the wire that the peer must reject."""
    with pytest.raises(InvalidPdu) as info:
        encode(P.SubmitSm(source_addr="1" * 21))
    assert info.value.status == S.ESME_RINVSRCADR


@pytest.mark.parametrize("pdu, status", [
    (P.SubmitSm(destination_addr="3" * 21), S.ESME_RINVDSTADR),
    (P.SubmitSm(source_addr="a\0b"), S.ESME_RINVSRCADR),
    (P.SubmitSm(source_addr="€"), S.ESME_RINVSRCADR),
    (P.SubmitSm(schedule_delivery_time="2611221200"), S.ESME_RINVSCHED),
    (P.SubmitSm(validity_period="2611221200"), S.ESME_RINVEXPIRY),
    (P.SubmitSm(short_message=b"x" * 256), S.ESME_RINVMSGLEN),
    (P.BindTransmitter(system_id="s" * 16), S.ESME_RINVSYSID),
    (P.BindTransmitter(password="p" * 9), S.ESME_RINVPASWD),
    (P.SubmitSm(esm_class=256), S.ESME_RSYSERR),
    (P.SubmitSm(sequence_number=2**32), S.ESME_RSYSERR),
    (P.SubmitMulti(dest_addresses=(P.DistributionList("L" * 21),)), S.ESME_RINVDLNAME),
    (P.SubmitMulti(dest_addresses=(P.SmeAddress(1, 1, "3" * 21),)), S.ESME_RINVDSTADR),
    (P.SubmitMulti(dest_addresses=(P.DistributionList("x"),) * 256), S.ESME_RINVNUMDESTS),
    (P.SubmitMulti(dest_addresses=(P.SmeAddress(256, 1, "1"),)), S.ESME_RSYSERR),
    (P.SubmitMulti(dest_addresses=(P.DistributionList("€"),)), S.ESME_RINVDLNAME),
    (P.SubmitMultiResp(unsuccess_smes=(P.UnsuccessSme(1, 1, "1", 2**32),)), S.ESME_RSYSERR),
    (P.SubmitMultiResp(unsuccess_smes=(P.UnsuccessSme(1, 1, "€", 0),)), S.ESME_RINVDSTADR),
    (P.SubmitMultiResp(unsuccess_smes=(P.UnsuccessSme(),) * 256), S.ESME_RSYSERR),
    (P.SubmitSm(tlvs=tlvs(receipted_message_id="€")), S.ESME_RINVOPTPARAMVAL),
])
def test_encode_refuses_values_that_do_not_fit(pdu: P.Pdu, status: int) -> None:
    """Breaks when encode writes a field that does not fit, or names the wrong field."""
    with pytest.raises(InvalidPdu) as info:
        encode(pdu)
    assert info.value.status == status


ANY_INT = st.integers(-2, 2**33)
ANY_TEXT = st.text(max_size=70)


@st.composite
def wrong_pdu(draw: Any) -> P.Pdu:
    """Any PDU class with fields drawn from way outside their valid ranges."""
    cls = draw(st.sampled_from(ALL_CLASSES))
    body: dict[str, object] = {}
    for f in dataclasses.fields(cls)[3:]:
        if f.name == "short_message":
            body[f.name] = draw(st.binary(max_size=300))
        elif f.name == "dest_addresses":
            body[f.name] = tuple(draw(st.lists(st.one_of(
                st.builds(P.SmeAddress, ANY_INT, ANY_INT, ANY_TEXT),
                st.builds(P.DistributionList, ANY_TEXT)), max_size=3)))
        elif f.name == "unsuccess_smes":
            body[f.name] = tuple(draw(st.lists(
                st.builds(P.UnsuccessSme, ANY_INT, ANY_INT, ANY_TEXT, ANY_INT), max_size=3)))
        else:
            body[f.name] = draw(ANY_INT if f.type == "int" else ANY_TEXT)
    known = st.sampled_from(list(STANDARD_TLVS.by_name)).flatmap(
        lambda name: st.builds(STANDARD_TLVS.make, st.just(name),
                               st.one_of(ANY_INT, ANY_TEXT, st.binary(max_size=30))))
    return cls(command_status=draw(ANY_INT), sequence_number=draw(ANY_INT),
               tlvs=tuple(draw(st.lists(known, max_size=3))), **body)


@settings(PROPERTY, max_examples=500)
@given(wrong_pdu())
def test_encode_of_out_of_range_values_raises_only_invalid_pdu(pdu: P.Pdu) -> None:
    """Breaks when a bad value of ours escapes encode as ValueError, OverflowError, UnicodeError."""
    try:
        encode(pdu)
    except InvalidPdu:
        pass


def test_error_names_status_and_offset_for_logs() -> None:
    """Breaks when a decode error no longer says where and which status, for operators."""
    e = raises_status(frame(C.SUBMIT_SM, submit_body(source_addr=b"1" * 25 + b"\0")),
                      S.ESME_RINVSRCADR)
    assert str(e) == "source_addr longer than 20 characters at offset 19 (ESME_RINVSRCADR)"


# --- error responses on the wire (3.4 §4: no body when command_status != 0) ----------------

def test_error_response_is_encoded_header_only() -> None:
    """Breaks when an error response carries a body that 3.4 says must not be returned."""
    wire = encode(P.SubmitSmResp(command_status=S.ESME_RSUBMITFAIL, sequence_number=5,
                                 message_id="ignored"))
    assert wire == hexb("00000010 80000004 00000045 00000005")
    assert decode(wire) == P.SubmitSmResp(command_status=S.ESME_RSUBMITFAIL, sequence_number=5)


def test_error_response_with_tlvs_keeps_its_mandatory_part() -> None:
    """Breaks when an error response's TLVs follow the header directly and are misread."""
    resp = P.SubmitSmResp(command_status=S.ESME_RTHROTTLED, sequence_number=5,
                          tlvs=tlvs(congestion_state=95))
    wire = encode(resp)
    assert wire == hexb("00000016 80000004 00000058 00000005 00 0428 0001 5f")
    assert decode(wire) == resp


# --- tolerance of responses as real SMSCs send them -----------------------------------------

def test_submit_sm_resp_error_with_empty_body_decodes() -> None:
    """Breaks when a header-only error response (the spec's own form) cannot be read."""
    pdu = decode(frame(C.SUBMIT_SM_RESP, b"", seq=11, status=0x45))
    assert pdu == P.SubmitSmResp(command_status=0x45, sequence_number=11, message_id="")


def test_bind_resp_error_with_system_id_decodes() -> None:
    """Breaks when an SMSC that sends system_id with a bind error (BIND-05) is not understood."""
    pdu = decode(frame(C.BIND_TRANSMITTER_RESP, cstr("SMSC"), status=S.ESME_RBINDFAIL))
    assert pdu == P.BindTransmitterResp(command_status=S.ESME_RBINDFAIL, sequence_number=1,
                                        system_id="SMSC")


def test_unknown_command_status_34_decodes() -> None:
    """Breaks when a status value outside the table makes the response unreadable (jasmin #563)."""
    pdu = decode(hexb("00000010800000040000002200000002"))
    assert (type(pdu), pdu.command_status, pdu.sequence_number) == (P.SubmitSmResp, 34, 2)


@pytest.mark.parametrize("garbage", [b"\x01", b"\x01\x02\x03", b"\xff\xff\x00\x10abc", b"xyz"])
def test_submit_sm_resp_with_trailing_garbage_decodes(garbage: bytes) -> None:
    """Breaks when junk after message_id makes us lose a response (and so the message id)."""
    pdu = decode(frame(C.SUBMIT_SM_RESP, cstr("abc123") + garbage, seq=3))
    assert isinstance(pdu, P.SubmitSmResp)
    assert (pdu.message_id, pdu.sequence_number) == ("abc123", 3)


def test_submit_sm_resp_without_nul_decodes() -> None:
    """Breaks when a message_id that runs to the end of the PDU is rejected."""
    pdu = decode(frame(C.SUBMIT_SM_RESP, b"abc123"))
    assert isinstance(pdu, P.SubmitSmResp) and pdu.message_id == "abc123"


def test_response_with_truncated_tlv_tail_keeps_the_good_tlvs() -> None:
    """Breaks when one broken TLV in a response throws away the ones before it."""
    good, cut = b"\x04\x25\x00\x01\x02", b"\x00\x1d\x00\x09ab"
    pdu = decode(frame(C.DATA_SM_RESP, cstr("m1") + good + cut))
    assert pdu.tlvs == tlvs(delivery_failure_reason=2)


def test_response_tlv_with_wrong_length_is_kept_raw_and_byte_exact() -> None:
    """Breaks when a response's odd-length known TLV rejects the PDU or changes on re-encode."""
    wire = frame(C.SUBMIT_SM_RESP, cstr("m1") + b"\x04\x28\x00\x02\x00\x5f")
    pdu = decode(wire)
    assert pdu.tlvs == (Tlv(0x0428, b"\x00\x5f"),)
    assert encode(pdu) == wire


def test_deliver_sm_resp_with_a_message_id_decodes() -> None:
    """Breaks when an ESME that fills deliver_sm_resp.message_id (C1 in 3.4) is refused."""
    pdu = decode(frame(C.DELIVER_SM_RESP, cstr("7f3a-22"), seq=12))
    assert pdu == P.DeliverSmResp(sequence_number=12, message_id="7f3a-22")


def test_receipted_message_id_without_nul_decodes_to_the_text() -> None:
    """Breaks when a receipt from an SMSC that omits the TLV's NUL cannot be correlated."""
    pdu = decode(frame(C.DELIVER_SM, submit_body(tail=b"\x00\x1e\x00\x03abc\x04\x27\x00\x01\x02")))
    assert pdu.tlv("receipted_message_id") == "abc"
    assert pdu.tlv("message_state") == 2


# Raw PDUs from real SMSCs, from Jasmin's decoding tests (issue numbers in the ids).
REAL_WORLD = {
    "bind_transceiver_resp-17-octets-#124": "0000001180000009000000530000000100",
    "submit_sm_resp-error-with-body-#128": "00000019800000040000000a00000002303030303030303000",
    "bind_transceiver_resp-tlv-0x1002-#577":
        "0000001c80000009000000000000000159656e746131001002000134",
    "deliver_sm-tlv-0x1454-0x1418-#322":
        "000000c9000000050000000003088101000101393731353634313034303934000500534b5954454c45434f"
        "4d000400000000000000007b69643a313435313030333135333230323234393537207375623a3030312064"
        "6c7672643a303031207375626d697420646174653a3135313030333137333220646f6e6520646174653a31"
        "35313030333137333220737461743a44454c49565244206572723a3030303020746578743a546573742028"
        "6d65686469290423000303000014540004000000011418000400000030",
    "deliver_sm-source_subaddress-#325":
        "0000004600000005000000001f368007000101393839333437363930383738000201363937300080000000"
        "000000010004546573740202000d2b393839333437363930303030",
    "submit_sm-tlv-0x1403-#325":
        "000000650000000400000000000005860005004a6f6a6f7300010135373331383833303831323900030000"
        "003135313131303134353630373030302b000100f1001a504c454153452049474e4f524520544849532"
        "04d455353414745140300053338363336",
    "deliver_sm-message_payload-receipt": (
        "0000009200000005000000000001693c0000003231363533353230373033000000373738380004000000"
        "0001000000000424004f69643a30303030343336393439207375626d697420646174653a31353034323131"
        "35303820646f6e6520646174653a3135303432313135303820737461743a44454c49565244206572723a30"
        "3030"  "00001e00063661616435000427000102"),
}


@pytest.mark.parametrize("hex_pdu", REAL_WORLD.values(), ids=REAL_WORLD.keys())
def test_real_smsc_pdus_decode(hex_pdu: str) -> None:
    """Breaks when a PDU that a deployed SMSC really sent can no longer be read."""
    pdu = decode(hexb(hex_pdu))
    assert pdu.command_id == int(hex_pdu[8:16], 16)


def test_unknown_vendor_tlv_0x1454_in_a_deliver_sm_is_kept_raw() -> None:
    """Breaks when an unknown vendor TLV rejects a receipt (jasmin #322) or is not passed on."""
    wire = hexb(REAL_WORLD["deliver_sm-tlv-0x1454-0x1418-#322"])
    pdu = decode(wire)
    assert pdu.tlvs == (Tlv(0x0423, b"\x03\x00\x00", "network_error_code"),
                        Tlv(0x1454, b"\x00\x00\x00\x01"), Tlv(0x1418, b"\x00\x00\x00\x30"))
    assert encode(pdu) == wire


def test_message_payload_receipt_has_its_tlvs() -> None:
    """Breaks when a TLV-only receipt loses message_payload, receipted_message_id or state."""
    pdu = decode(hexb(REAL_WORLD["deliver_sm-message_payload-receipt"]))
    assert isinstance(pdu, P.DeliverSm) and pdu.short_message == b""
    assert pdu.tlv("receipted_message_id") == "6aad5"
    assert pdu.tlv("message_state") == 2
    payload = pdu.tlv("message_payload")
    assert isinstance(payload, bytes) and payload.startswith(b"id:0000436949 submit date:")


def test_receipt_with_a_5_0_tag_of_another_length_decodes() -> None:
    """Breaks when a receipt is refused because a 3.4 SMSC reuses a 5.0 tag differently."""
    pdu = decode(hexb(
        "000000de0000000500000000569d3e3600000033353236393136303034303300000030000400000000000000"
        "008569643a3444313943383343207375623a30303120646c7672643a303031207375626d697420646174653a"
        "3135313030393031303520646f6e6520646174653a3135313030393031303520737461743a44454c49565244"
        "206572723a3030303020746578743a4757323530204d43433d323730204d4e433d312042696c6c696e674d4e"
        "433d31001e0009344431394338334300000e000101060d000731323730303100060f00053237303031042700"
        "0102"))
    assert pdu.tlv("receipted_message_id") == "4D19C83C" and pdu.tlv("message_state") == 2
    [odd] = [t for t in pdu.tlvs if t.tag == 0x060F]
    assert odd.value == b"27001" and odd.name is None     # kept raw, re-encodes byte-exact


def test_congestion_state_decodes_in_a_response_and_a_request() -> None:
    """Breaks when 5.0 congestion_state (0x0428) is refused, as Jasmin's codec did."""
    resp = decode(frame(C.SUBMIT_SM_RESP, cstr("m1") + b"\x04\x28\x00\x01\x50"))
    assert resp.tlvs == (Tlv(0x0428, 80, "congestion_state"),)
    req = decode(frame(C.DELIVER_SM, submit_body(tail=b"\x04\x28\x00\x01\x50")))
    assert req.tlv("congestion_state") == 80


def test_vendor_registry_decodes_a_vendor_tag_to_an_int_with_its_name() -> None:
    """Breaks when a connector's vendor TLV table is ignored, or leaks into the standard one."""
    registry = STANDARD_TLVS.extended(vendor_spec(0x1400, "vendor_x", TlvKind.INT, 4, 4))
    wire = frame(C.DELIVER_SM, submit_body(tail=b"\x14\x00\x00\x04\x00\x00\x01\x02"))
    pdu = decode(wire, registry=registry)
    assert pdu.tlvs == (Tlv(0x1400, 258, "vendor_x"),)
    assert encode(pdu, registry=registry) == wire
    assert decode(wire).tlvs == (Tlv(0x1400, b"\x00\x00\x01\x02"),)


# --- submit_multi -----------------------------------------------------------------------------

def test_submit_multi_with_sme_and_distribution_list_destinations() -> None:
    """Breaks when submit_multi destinations are misread, reordered or lose their kind."""
    dests = (b"\x01\x01\x01" + cstr("31600000001") + b"\x02" + cstr("friends")
             + b"\x01\x05\x00" + cstr("ACME"))
    wire = frame(C.SUBMIT_MULTI, submit_multi_body(dests, 3), seq=21)
    expected = P.SubmitMulti(
        sequence_number=21, source_addr_ton=1, source_addr_npi=1, source_addr="12345",
        dest_addresses=(P.SmeAddress(1, 1, "31600000001"), P.DistributionList("friends"),
                        P.SmeAddress(5, 0, "ACME")),
        registered_delivery=1, short_message=b"hi")
    assert decode(wire) == expected
    assert encode(expected) == wire


def test_submit_multi_resp_with_unsuccess_smes() -> None:
    """Breaks when the per-destination failures of a submit_multi_resp are misread."""
    body = (cstr("mid-1") + b"\x02" + b"\x01\x01" + cstr("31600000001") + b"\x00\x00\x00\x0b"
            + b"\x00\x00" + cstr("999") + b"\x00\x00\x00\x45")
    wire = frame(C.SUBMIT_MULTI_RESP, body, seq=21)
    expected = P.SubmitMultiResp(sequence_number=21, message_id="mid-1", unsuccess_smes=(
        P.UnsuccessSme(1, 1, "31600000001", S.ESME_RINVDSTADR),
        P.UnsuccessSme(0, 0, "999", S.ESME_RSUBMITFAIL)))
    assert decode(wire) == expected
    assert encode(expected) == wire


def test_submit_multi_resp_cut_short_keeps_the_complete_entries() -> None:
    """Breaks when a response that stops inside an unsuccess entry loses the whole response."""
    body = (cstr("mid-1") + b"\x02" + b"\x01\x01" + cstr("316") + b"\x00\x00\x00\x0b"
            + b"\x00\x00" + cstr("999") + b"\x00\x00")
    pdu = decode(frame(C.SUBMIT_MULTI_RESP, body))
    assert isinstance(pdu, P.SubmitMultiResp)
    assert pdu.unsuccess_smes == (P.UnsuccessSme(1, 1, "316", S.ESME_RINVDSTADR),)


# --- small API pieces -----------------------------------------------------------------------

def test_pdu_tlv_accessors() -> None:
    """Breaks when repeated TLVs (callback_num) or absent ones are reported wrongly."""
    pdu = P.SubmitSm(tlvs=(*tlvs(callback_num=b"\x00\x01\x01123"),
                           *tlvs(callback_num=b"\x00\x01\x01456")))
    assert pdu.tlv("callback_num") == b"\x00\x01\x01123"
    assert pdu.tlv_all("callback_num") == [b"\x00\x01\x01123", b"\x00\x01\x01456"]
    assert pdu.tlv("message_state") is None and pdu.tlv_all("message_state") == []


def test_command_name() -> None:
    """Breaks when logs show a wrong or missing command name."""
    assert codec.command_name(C.DELIVER_SM_RESP) == "deliver_sm_resp"
    assert codec.command_name(0x00010200) == "0x00010200"

