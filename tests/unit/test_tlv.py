"""TLVs: the tag table against the spec, typed values both ways, vendor tables (TLV-01..15)."""
from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smscd.smpp import codec
from smscd.smpp import pdu as P
from smscd.smpp.errors import InvalidPdu
from smscd.smpp.status import CommandStatus as S
from smscd.smpp.tlv import (STANDARD_SPECS, STANDARD_TLVS, Tlv, TlvKind, TlvRegistry, TlvSpec,
                            tlvs, vendor_spec)

from strategies import VENDOR_TLV, known_tlv, unknown_tlv

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
INT, CSTR, OCT = TlvKind.INT, TlvKind.CSTR, TlvKind.OCTETS

# shared/reference/smpp.md §4, transcribed: tag -> (name, kind, min, max). Sizes of C
# strings count the NUL. None = the spec gives no single size ("var", a 3.4/5.0 split).
SPEC_TABLE: dict[int, tuple[str, TlvKind, int | None, int | None]] = {
    0x0005: ("dest_addr_subunit", INT, 1, 1), 0x0006: ("dest_network_type", INT, 1, 1),
    0x0007: ("dest_bearer_type", INT, 1, 1), 0x0008: ("dest_telematics_id", INT, 2, 2),
    0x000D: ("source_addr_subunit", INT, 1, 1), 0x000E: ("source_network_type", INT, 1, 1),
    0x000F: ("source_bearer_type", INT, 1, 1), 0x0010: ("source_telematics_id", OCT, None, None),
    0x0017: ("qos_time_to_live", INT, 4, 4), 0x0019: ("payload_type", INT, 1, 1),
    0x001D: ("additional_status_info_text", CSTR, 1, 256),
    0x001E: ("receipted_message_id", CSTR, 1, 65), 0x0030: ("ms_msg_wait_facilities", INT, 1, 1),
    0x0201: ("privacy_indicator", INT, 1, 1), 0x0202: ("source_subaddress", OCT, 2, 23),
    0x0203: ("dest_subaddress", OCT, 2, 23), 0x0204: ("user_message_reference", INT, 2, 2),
    0x0205: ("user_response_code", INT, 1, 1), 0x020A: ("source_port", INT, 2, 2),
    0x020B: ("destination_port", INT, 2, 2), 0x020C: ("sar_msg_ref_num", INT, 2, 2),
    0x020D: ("language_indicator", INT, 1, 1), 0x020E: ("sar_total_segments", INT, 1, 1),
    0x020F: ("sar_segment_seqnum", INT, 1, 1), 0x0210: ("sc_interface_version", INT, 1, 1),
    0x0302: ("callback_num_pres_ind", INT, 1, 1), 0x0303: ("callback_num_atag", OCT, None, 65),
    0x0304: ("number_of_messages", INT, 1, 1), 0x0381: ("callback_num", OCT, 4, 19),
    0x0420: ("dpf_result", INT, 1, 1), 0x0421: ("set_dpf", INT, 1, 1),
    0x0422: ("ms_availability_status", INT, 1, 1), 0x0423: ("network_error_code", OCT, 3, 3),
    0x0424: ("message_payload", OCT, 0, 65535), 0x0425: ("delivery_failure_reason", INT, 1, 1),
    0x0426: ("more_messages_to_send", INT, 1, 1), 0x0427: ("message_state", INT, 1, 1),
    0x0428: ("congestion_state", INT, 1, 1), 0x0501: ("ussd_service_op", OCT, 1, 1),
    0x0600: ("broadcast_channel_indicator", INT, 1, 1),
    0x0601: ("broadcast_content_type", OCT, 3, 3),
    0x0602: ("broadcast_content_type_info", OCT, None, None),
    0x0603: ("broadcast_message_class", INT, 1, 1), 0x0604: ("broadcast_rep_num", INT, 2, 2),
    0x0605: ("broadcast_frequency_interval", OCT, 3, 3),
    0x0606: ("broadcast_area_identifier", OCT, None, None),
    0x0607: ("broadcast_error_status", INT, 4, 4), 0x0608: ("broadcast_area_success", INT, 1, 1),
    0x0609: ("broadcast_end_time", CSTR, None, 17),
    0x060A: ("broadcast_service_group", OCT, 1, 255),
    0x060B: ("billing_identification", OCT, 1, 1024),
    0x060D: ("source_network_id", CSTR, None, 65), 0x060E: ("dest_network_id", CSTR, None, 65),
    0x060F: ("source_node_id", OCT, 6, 6), 0x0610: ("dest_node_id", OCT, 6, 6),
    0x0611: ("dest_addr_np_resolution", INT, 1, 1),
    0x0612: ("dest_addr_np_information", OCT, 10, 10),
    0x0613: ("dest_addr_np_country", OCT, 1, 5),      # "Int 1-5": kept raw, see vendor_spec
    0x1201: ("display_time", INT, 1, 1), 0x1203: ("sms_signal", INT, 2, 2),
    0x1204: ("ms_validity", OCT, 1, 4), 0x130C: ("alert_on_message_delivery", OCT, 0, 1),
    0x1380: ("its_reply_type", INT, 1, 1), 0x1383: ("its_session_info", OCT, 2, 2),
}
# Where the table is laxer than the spec on purpose (peers send these shorter):
# broadcast_end_time C17 and source/dest_network_id C7-65 accept from 1 octet.


def test_standard_table_has_every_spec_tag_with_its_name() -> None:
    """Breaks when a tag is missing, misnamed or invented in the TLV table."""
    assert {s.tag: s.name for s in STANDARD_SPECS} == {t: v[0] for t, v in SPEC_TABLE.items()}


@pytest.mark.parametrize("spec", STANDARD_SPECS, ids=lambda s: s.name)
def test_standard_table_kind_and_sizes_follow_the_spec(spec: TlvSpec) -> None:
    """Breaks when a TLV is decoded as the wrong type or checked against a wrong length."""
    _, kind, lo, hi = SPEC_TABLE[spec.tag]
    assert spec.kind is kind
    assert lo is None or spec.min_len == lo
    assert hi is None or spec.max_len == hi


def test_vendor_tags_are_not_in_the_standard_table() -> None:
    """Breaks when a 3.4 vendor-range tag (0x1400-0x3FFF) is given a standard meaning."""
    assert not [s for s in STANDARD_SPECS if 0x1400 <= s.tag <= 0x3FFF]


def in_pdu(*items: Tlv) -> P.DeliverSm:
    return P.DeliverSm(sequence_number=1, tlvs=items)


@settings(PROPERTY, max_examples=300)
@given(st.lists(known_tlv(), min_size=1, max_size=6))
def test_known_tlvs_round_trip_typed(items: list[Tlv]) -> None:
    """Breaks when a typed TLV value (int, text, octets) changes type or value on the wire."""
    assert codec.decode(codec.encode(in_pdu(*items))).tlvs == tuple(items)


@settings(PROPERTY, max_examples=300)
@given(st.lists(st.one_of(unknown_tlv(), VENDOR_TLV), min_size=1, max_size=6))
def test_unknown_and_vendor_tlvs_are_kept_byte_exact(items: list[Tlv]) -> None:
    """Breaks when a TLV we do not know is dropped, reordered or altered when passed on."""
    wire = codec.encode(in_pdu(*items))
    assert wire.endswith(b"".join(struct.pack(">HH", t.tag, len(t.value)) + t.value
                                  for t in items if isinstance(t.value, bytes)))
    pdu = codec.decode(wire)
    assert pdu.tlvs == tuple(items) and codec.encode(pdu) == wire


@pytest.mark.parametrize("tlv, wire", [
    (Tlv(0x0427, 2, "message_state"), "0427 0001 02"),
    (Tlv(0x0204, 0x1234, "user_message_reference"), "0204 0002 1234"),
    (Tlv(0x0017, 86400, "qos_time_to_live"), "0017 0004 00015180"),
    (Tlv(0x001E, "abc", "receipted_message_id"), "001e 0004 61626300"),
    (Tlv(0x001E, "", "receipted_message_id"), "001e 0001 00"),
    (Tlv(0x0423, b"\x03\x00\x01", "network_error_code"), "0423 0003 030001"),
    (Tlv(0x0424, b"", "message_payload"), "0424 0000"),
    (Tlv(0x130C, b"", "alert_on_message_delivery"), "130c 0000"),
    (Tlv(0x1454, b"\x00\x00\x00\x01"), "1454 0004 00000001"),
    (Tlv(0x0427, b"\x00\x02"), "0427 0002 0002"),   # a peer's odd length, kept raw
])
def test_encode_tlv_bytes(tlv: Tlv, wire: str) -> None:
    """Breaks when a TLV header or value is laid out differently from 3.4 §3.2.4."""
    assert codec.encode_tlv(tlv) == bytes.fromhex(wire.replace(" ", ""))


@pytest.mark.parametrize("tlv, status", [
    (Tlv(0x0427, 256, "message_state"), S.ESME_RINVOPTPARAMVAL),
    (Tlv(0x0427, -1, "message_state"), S.ESME_RINVOPTPARAMVAL),
    (Tlv(0x0427, "2", "message_state"), S.ESME_RINVOPTPARAMVAL),
    (Tlv(0x001E, "a" * 65, "receipted_message_id"), S.ESME_RINVPARLEN),
    (Tlv(0x001E, "€", "receipted_message_id"), S.ESME_RINVOPTPARAMVAL),
    (Tlv(0x001E, 5, "receipted_message_id"), S.ESME_RINVOPTPARAMVAL),
    (Tlv(0x0423, b"\x03\x00", "network_error_code"), S.ESME_RINVPARLEN),
    (Tlv(0x0424, b"x" * 65536, "message_payload"), S.ESME_RINVPARLEN),
    (Tlv(0x1454, 1), S.ESME_RINVOPTPARAMVAL),
    (Tlv(0x1454, b"x" * 65536), S.ESME_RINVPARLEN),
])
def test_encode_tlv_refuses_values_that_do_not_fit(tlv: Tlv, status: int) -> None:
    """Breaks when we would send a TLV the peer must answer with a TLV error."""
    with pytest.raises(InvalidPdu) as info:
        codec.encode_tlv(tlv)
    assert info.value.status == status


def test_message_payload_of_65535_octets_round_trips() -> None:
    """Breaks when the largest message_payload (16-bit TLV length) is cut or refused."""
    pdu = P.SubmitSm(sequence_number=1, tlvs=tlvs(message_payload=b"\xaa" * 65535))
    assert codec.decode(codec.encode(pdu)) == pdu


def test_tlvs_in_any_order_and_repeated() -> None:
    """Breaks when TLV order is not kept or a repeatable TLV (callback_num) is collapsed."""
    items = (*tlvs(message_state=2), *tlvs(callback_num=b"\x00\x01\x01123"),
             *tlvs(receipted_message_id="x"), *tlvs(callback_num=b"\x00\x01\x01456"))
    assert codec.decode(codec.encode(in_pdu(*items))).tlvs == items


def test_tlvs_helper_builds_named_standard_tlvs() -> None:
    """Breaks when tlvs(name=value) does not produce the tag and name the decoder produces."""
    assert tlvs(receipted_message_id="abc", message_state=2) == (
        Tlv(0x001E, "abc", "receipted_message_id"), Tlv(0x0427, 2, "message_state"))
    with pytest.raises(KeyError):
        tlvs(no_such_tlv=1)


def test_extended_registry_leaves_the_standard_one_alone() -> None:
    """Breaks when one connector's vendor TLVs change how every other connector decodes."""
    vendor = STANDARD_TLVS.extended(vendor_spec(0x1400, "vendor_x", INT, 4, 4),
                                    vendor_spec(0x1401, "vendor_text", CSTR, 1, 33))
    assert vendor.by_name["vendor_x"].tag == 0x1400
    assert vendor.by_tag[0x0427].name == "message_state"
    assert 0x1400 not in STANDARD_TLVS.by_tag and "vendor_text" not in STANDARD_TLVS.by_name
    assert vendor.make("vendor_text", "hi") == Tlv(0x1401, "hi", "vendor_text")
    pdu = in_pdu(vendor.make("vendor_x", 7), vendor.make("vendor_text", "hi"))
    assert codec.decode(codec.encode(pdu, registry=vendor), registry=vendor) == pdu


@pytest.mark.parametrize("args", [
    (0x1000, "low", INT, 1, 1), (0x4000, "high", INT, 1, 1),   # outside the vendor range
    (0x1400, "varint", INT, 1, 4), (0x1400, "empty", INT, 0, 0),
])
def test_vendor_spec_refuses_what_cannot_work(args: tuple[int, str, TlvKind, int, int]) -> None:
    """Breaks when a vendor TLV could shadow a standard tag or re-encode to another size."""
    with pytest.raises(ValueError):
        vendor_spec(*args)


def test_registry_refuses_duplicates() -> None:
    """Breaks when a vendor table can silently redefine a tag or a name."""
    with pytest.raises(ValueError):
        STANDARD_TLVS.extended(TlvSpec(0x0427, "other_state", INT, 1, 1))
    with pytest.raises(ValueError):
        STANDARD_TLVS.extended(vendor_spec(0x1400, "message_state", INT, 1, 1))
    with pytest.raises(ValueError):
        TlvRegistry((vendor_spec(0x1400, "a", INT, 1, 1), vendor_spec(0x1400, "b", INT, 1, 1)))


def test_variable_size_vendor_value_as_octets_round_trips() -> None:
    """Breaks when a vendor value of varying size does not survive decode and encode."""
    vendor = STANDARD_TLVS.extended(vendor_spec(0x1402, "vendor_counter", OCT, 1, 4))
    wire = codec.encode(in_pdu(Tlv(0x1402, b"\x01\x02", "vendor_counter")), registry=vendor)
    assert codec.encode(codec.decode(wire, registry=vendor), registry=vendor) == wire


def test_known_tlv_of_a_wrong_length_in_a_request_is_rinvparlen() -> None:
    """Breaks when a request with a broken known TLV is accepted (TLV-12)."""
    wire = codec.encode(in_pdu()) + bytes.fromhex("0423 0002 0300")
    wire = len(wire).to_bytes(4, "big") + wire[4:]
    with pytest.raises(InvalidPdu) as info:
        codec.decode(wire)
    assert info.value.status == S.ESME_RINVPARLEN
