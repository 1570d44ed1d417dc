"""Our codec against smpplib 2.2.4, an independent SMPP implementation, with no sockets.

PDUs that smpplib generates must decode with ours to the same field values, and PDUs we
encode must parse in smpplib to the same values. smpplib quirks to keep in mind: it
parses C-strings to bytes; its GSM table has a backtick at 0x5F (smpp.md §12), so
short_message is compared as raw octets, never as decoded text; its generic_nack and
*_resp take their sequence number from the client object.
"""
from __future__ import annotations

from typing import Any

import pytest
import smpplib.gsm
import smpplib.smpp

from smscd.smpp import codec
from smscd.smpp import pdu as P
from smscd.smpp.status import CommandStatus as S
from smscd.smpp.tlv import Tlv, tlvs

RECEIPT_TEXT = (b"id:abc123 sub:001 dlvrd:001 submit date:2611221200 done date:2611221201"
                b" stat:DELIVRD err:000 text:hello")


class FakeClient:
    """What smpplib PDUs ask of a client: the sequence number to use (no connection)."""

    def __init__(self, sequence: int) -> None:
        self.sequence = sequence

    def next_sequence(self) -> int:
        return self.sequence


def smpplib_bytes(command: str, seq: int, **fields: Any) -> bytes:
    pdu = smpplib.smpp.make_pdu(command, client=FakeClient(seq), **fields)
    data: bytes = pdu.generate()
    return data


def smpplib_parse(data: bytes) -> Any:
    return smpplib.smpp.parse_pdu(data, client=FakeClient(0), allow_unknown_opt_params=True)


def as_bytes(value: str) -> bytes:
    return value.encode("latin-1")


# --- smpplib -> ours ------------------------------------------------------------------------

@pytest.mark.parametrize("command, cls", [("bind_transmitter", P.BindTransmitter),
                                          ("bind_transceiver", P.BindTransceiver),
                                          ("bind_receiver", P.BindReceiver)])
def test_smpplib_bind_decodes(command: str, cls: type[P.Pdu]) -> None:
    """Breaks when an smpplib ESME's bind is misread (credentials, version, address range)."""
    data = smpplib_bytes(command, 1, system_id="esme01", password="s3cret", system_type="VMS",
                         addr_ton=1, addr_npi=1, address_range="^316")
    assert codec.decode(data) == cls(
        sequence_number=1, system_id="esme01", password="s3cret", system_type="VMS",
        interface_version=0x34, addr_ton=1, addr_npi=1, address_range="^316")


def submit_fields(**extra: Any) -> dict[str, Any]:
    return dict(service_type="", source_addr_ton=5, source_addr_npi=0, source_addr="ACME",
                dest_addr_ton=1, dest_addr_npi=1, destination_addr="31600000001",
                registered_delivery=1, **extra)


def test_smpplib_short_submit_sm_decodes() -> None:
    """Breaks when a plain GSM submit_sm from smpplib is misread."""
    text = smpplib.gsm.gsm_encode("Hello @ world $5")
    data = smpplib_bytes("submit_sm", 17, **submit_fields(short_message=text))
    assert codec.decode(data) == P.SubmitSm(
        sequence_number=17, source_addr_ton=5, source_addr="ACME", dest_addr_ton=1,
        dest_addr_npi=1, destination_addr="31600000001", registered_delivery=1,
        short_message=text)


def test_smpplib_udh_long_message_parts_decode() -> None:
    """Breaks when a concatenated part (esm_class 0x40, UDH 05 00 03) loses octets or flags."""
    parts, encoding, esm_class = smpplib.gsm.make_parts("0123456789" * 20)
    assert (len(parts), esm_class) == (2, 0x40) and parts[0][:3] == b"\x05\x00\x03"
    for i, part in enumerate(parts, start=1):
        data = smpplib_bytes("submit_sm", i, **submit_fields(
            short_message=part, esm_class=esm_class, data_coding=encoding))
        pdu = codec.decode(data)
        assert isinstance(pdu, P.SubmitSm)
        assert (pdu.esm_class, pdu.data_coding, pdu.short_message) == (0x40, 0, part)
        assert pdu.short_message[5] == i and len(pdu.short_message) == len(part)


def test_smpplib_sar_submit_sm_decodes() -> None:
    """Breaks when the SAR TLVs of a segmented submit_sm are lost or mistyped."""
    data = smpplib_bytes("submit_sm", 4, **submit_fields(
        short_message=b"part one", sar_msg_ref_num=0x1234, sar_total_segments=3,
        sar_segment_seqnum=1))
    pdu = codec.decode(data)
    assert pdu.tlvs == tlvs(sar_msg_ref_num=0x1234, sar_total_segments=3, sar_segment_seqnum=1)


def test_smpplib_ucs2_submit_sm_decodes() -> None:
    """Breaks when UCS-2 octets (with NULs inside) are cut or altered."""
    body = "Привет, 世界".encode("utf-16-be")
    data = smpplib_bytes("submit_sm", 5, **submit_fields(short_message=body, data_coding=8))
    pdu = codec.decode(data)
    assert isinstance(pdu, P.SubmitSm)
    assert (pdu.data_coding, pdu.short_message) == (8, body)


def test_smpplib_receipt_deliver_sm_decodes() -> None:
    """Breaks when an smpplib-built receipt loses its text, id or state TLVs."""
    data = smpplib_bytes("deliver_sm", 8, source_addr_ton=1, source_addr_npi=1,
                         source_addr="31600000001", dest_addr_ton=5, dest_addr_npi=0,
                         destination_addr="ACME", esm_class=4, short_message=RECEIPT_TEXT,
                         network_error_code=b"\x03\x00\x00", message_state=2,
                         receipted_message_id="abc123")
    assert codec.decode(data) == P.DeliverSm(
        sequence_number=8, source_addr_ton=1, source_addr_npi=1, source_addr="31600000001",
        dest_addr_ton=5, destination_addr="ACME", esm_class=4, short_message=RECEIPT_TEXT,
        tlvs=tlvs(network_error_code=b"\x03\x00\x00", message_state=2,
                  receipted_message_id="abc123"))


@pytest.mark.parametrize("command, fields, expected", [
    ("submit_sm_resp", {"message_id": "a1b2c3"}, P.SubmitSmResp(sequence_number=9,
                                                                 message_id="a1b2c3")),
    ("submit_sm_resp", {"message_id": "", "status": 0x58},
     P.SubmitSmResp(command_status=S.ESME_RTHROTTLED, sequence_number=9)),
    ("deliver_sm_resp", {}, P.DeliverSmResp(sequence_number=9)),
    ("enquire_link", {}, P.EnquireLink(sequence_number=9)),
    ("enquire_link_resp", {}, P.EnquireLinkResp(sequence_number=9)),
    ("generic_nack", {"status": S.ESME_RINVCMDID},
     P.GenericNack(command_status=S.ESME_RINVCMDID, sequence_number=9)),
    ("unbind", {}, P.Unbind(sequence_number=9)),
    ("bind_transceiver_resp", {"system_id": "SMSC", "sc_interface_version": 0x34},
     P.BindTransceiverResp(sequence_number=9, system_id="SMSC",
                           tlvs=tlvs(sc_interface_version=0x34))),
])
def test_smpplib_small_pdus_decode(command: str, fields: dict[str, Any],
                                   expected: P.Pdu) -> None:
    """Breaks when a response or header-only PDU from smpplib is misread."""
    assert codec.decode(smpplib_bytes(command, 9, **fields)) == expected


# --- ours -> smpplib ------------------------------------------------------------------------

def test_our_binds_parse_in_smpplib() -> None:
    """Breaks when an smpplib-based SMSC could not read our connector's bind."""
    for cls, command in ((P.BindTransmitter, "bind_transmitter"),
                         (P.BindTransceiver, "bind_transceiver")):
        parsed = smpplib_parse(codec.encode(cls(
            sequence_number=3, system_id="smscd", password="pw12", system_type="",
            addr_ton=1, addr_npi=1, address_range="")))
        assert (parsed.command, parsed.sequence, parsed.status) == (command, 3, 0)
        assert (parsed.system_id, parsed.password, parsed.system_type) == (b"smscd", b"pw12", b"")
        assert (parsed.interface_version, parsed.addr_ton, parsed.addr_npi) == (0x34, 1, 1)


def our_submit(**kw: Any) -> P.SubmitSm:
    base: dict[str, Any] = dict(sequence_number=21, source_addr_ton=5, source_addr="ACME",
                                dest_addr_ton=1, dest_addr_npi=1,
                                destination_addr="31600000001", registered_delivery=1)
    return P.SubmitSm(**{**base, **kw})


def assert_submit_fields(parsed: Any, pdu: P.SubmitSm) -> None:
    assert parsed.command == "submit_sm" and parsed.sequence == pdu.sequence_number
    for name in ("source_addr", "destination_addr", "service_type"):
        assert getattr(parsed, name) == as_bytes(getattr(pdu, name)), name
    for name in ("source_addr_ton", "source_addr_npi", "dest_addr_ton", "dest_addr_npi",
                 "esm_class", "registered_delivery", "data_coding", "sm_length"):
        expected = len(pdu.short_message) if name == "sm_length" else getattr(pdu, name)
        assert getattr(parsed, name) == expected, name
    assert parsed.short_message == pdu.short_message


@pytest.mark.parametrize("pdu", [
    our_submit(short_message=smpplib.gsm.gsm_encode("Hello @ world $5")),
    our_submit(esm_class=0x40, short_message=b"\x05\x00\x03\x2a\x02\x01" + b"A" * 153),
    our_submit(data_coding=8, short_message="Привет, 世界".encode("utf-16-be")),
    our_submit(short_message=b"part one",
               tlvs=tlvs(sar_msg_ref_num=0x1234, sar_total_segments=3, sar_segment_seqnum=1)),
], ids=["gsm", "udh-part", "ucs2", "sar"])
def test_our_submit_sm_parses_in_smpplib(pdu: P.SubmitSm) -> None:
    """Breaks when an smpplib-based SMSC would read our submit_sm differently."""
    parsed = smpplib_parse(codec.encode(pdu))
    assert_submit_fields(parsed, pdu)
    for t in pdu.tlvs:
        assert getattr(parsed, str(t.name)) == t.value


def test_our_receipt_parses_in_smpplib() -> None:
    """Breaks when an smpplib ESME could not correlate the receipts we deliver."""
    pdu = P.DeliverSm(sequence_number=30, source_addr_ton=1, source_addr_npi=1,
                      source_addr="31600000001", dest_addr_ton=5, destination_addr="ACME",
                      esm_class=4, short_message=RECEIPT_TEXT,
                      tlvs=tlvs(receipted_message_id="abc123", message_state=2,
                                network_error_code=b"\x03\x00\x00"))
    parsed = smpplib_parse(codec.encode(pdu))
    assert (parsed.command, parsed.sequence, parsed.esm_class) == ("deliver_sm", 30, 4)
    assert parsed.short_message == RECEIPT_TEXT
    assert parsed.receipted_message_id == b"abc123"
    assert parsed.message_state == 2
    assert parsed.network_error_code == b"\x03\x00\x00"


def test_our_vendor_tlv_is_skipped_by_smpplib() -> None:
    """Breaks when a vendor TLV we pass through shifts the fields an ESME reads after it."""
    pdu = P.DeliverSm(sequence_number=31, source_addr="316", destination_addr="ACME",
                      esm_class=4, short_message=RECEIPT_TEXT,
                      tlvs=(Tlv(0x1454, b"\x00\x00\x00\x01"), *tlvs(message_state=2)))
    parsed = smpplib_parse(codec.encode(pdu))
    assert parsed.short_message == RECEIPT_TEXT and parsed.message_state == 2


@pytest.mark.parametrize("pdu, command, fields", [
    (P.SubmitSmResp(sequence_number=40, message_id="a1b2c3"), "submit_sm_resp",
     {"message_id": b"a1b2c3"}),
    (P.DeliverSmResp(sequence_number=41), "deliver_sm_resp", {"message_id": b""}),
    (P.EnquireLink(sequence_number=42), "enquire_link", {}),
    (P.EnquireLinkResp(sequence_number=42), "enquire_link_resp", {}),
    (P.GenericNack(command_status=S.ESME_RINVCMDLEN, sequence_number=0), "generic_nack", {}),
    (P.SubmitSmResp(command_status=S.ESME_RTHROTTLED, sequence_number=43), "submit_sm_resp", {}),
    (P.BindTransmitterResp(sequence_number=1, system_id="smscd",
                           tlvs=tlvs(sc_interface_version=0x34)),
     "bind_transmitter_resp", {"system_id": b"smscd", "sc_interface_version": 0x34}),
])
def test_our_small_pdus_parse_in_smpplib(pdu: P.Pdu, command: str,
                                         fields: dict[str, Any]) -> None:
    """Breaks when an smpplib client would misread our responses or keep-alives."""
    parsed = smpplib_parse(codec.encode(pdu))
    assert (parsed.command, parsed.sequence, parsed.status) == (
        command, pdu.sequence_number, pdu.command_status)
    for name, value in fields.items():
        assert getattr(parsed, name) == value, name
