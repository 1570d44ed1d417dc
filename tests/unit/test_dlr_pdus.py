"""Receipts in and out: vendor receipts recognised and read; customer receipts carry our id."""
from smscd.dlr_pdus import customer_receipt, is_receipt, read_vendor_receipt
from smscd.message import Address, Message, Part
from smscd.smpp.codec import decode, encode
from smscd.smpp.message_state import MessageState
from smscd.smpp.pdu import DeliverSm
from smscd.smpp.receipt import parse_receipt
from smscd.smpp.tlv import tlvs

VENDOR_TEXT = (b"id:7f00aa sub:001 dlvrd:001 submit date:2611221200 done date:2611221201 "
               b"stat:DELIVRD err:000 text:hello")
MESSAGE = Message(id="01a2b3c4d5e6f708090a0b0c0d0e0f10", user="alice",
                  source=Address("12345", 5, 0), destination=Address("31600000000", 1, 1),
                  parts=(Part(b"hello world"),), created_at=1_764_000_000.0,
                  registered_delivery=1, tlvs=tlvs(user_message_reference=42))


def test_receipt_recognised_by_esm_class_or_tlv():
    """A receipt must not be mistaken for an MO, nor an MO for a receipt."""
    assert is_receipt(DeliverSm(esm_class=0x04))
    assert is_receipt(DeliverSm(esm_class=0x20))
    assert is_receipt(DeliverSm(tlvs=tlvs(receipted_message_id="x")))
    assert not is_receipt(DeliverSm(esm_class=0x40, short_message=b"\x05\x00\x03\x01\x02\x01hi"))


def test_vendor_receipt_read_from_text_and_tlvs():
    """The vendor id and state come out of the text, TLVs taking precedence."""
    r = read_vendor_receipt(DeliverSm(esm_class=4, short_message=VENDOR_TEXT))
    assert r is not None and r.message_id == "7f00aa" and r.state is MessageState.DELIVERED
    r = read_vendor_receipt(DeliverSm(esm_class=4, short_message=VENDOR_TEXT,
                                      tlvs=tlvs(message_state=5)))
    assert r is not None and r.state is MessageState.UNDELIVERABLE


def test_vendor_receipt_in_message_payload():
    """Receipts sent in message_payload (sm_length 0) are read too."""
    r = read_vendor_receipt(DeliverSm(esm_class=4, tlvs=tlvs(message_payload=VENDOR_TEXT)))
    assert r is not None and r.message_id == "7f00aa"


def test_customer_receipt_carries_our_id_and_reverses_addresses():
    """The customer must see its own message id, from the number it sent to."""
    vendor = read_vendor_receipt(DeliverSm(esm_class=4, short_message=VENDOR_TEXT))
    assert vendor is not None
    pdu = decode(encode(customer_receipt(MESSAGE, vendor, now=1_764_000_060.0), 9))
    assert isinstance(pdu, DeliverSm)
    assert (pdu.source_addr, pdu.destination_addr) == ("31600000000", "12345")
    assert (pdu.dest_addr_ton, pdu.source_addr_ton) == (5, 1)
    assert pdu.esm_class == 0x04
    assert pdu.tlv("receipted_message_id") == MESSAGE.id
    assert pdu.tlv("message_state") == MessageState.DELIVERED
    assert pdu.tlv("user_message_reference") == 42
    parsed = parse_receipt(pdu.short_message.decode(), {})
    assert parsed is not None and parsed.message_id == MESSAGE.id
    assert parsed.stat == "DELIVRD" and parsed.text == "hello world"


def test_intermediate_state_uses_intermediate_esm_class():
    """ENROUTE notifications must not look final to the customer."""
    vendor = parse_receipt("id:1 stat:ENROUTE", {})
    assert vendor is not None
    assert customer_receipt(MESSAGE, vendor).esm_class == 0x20
