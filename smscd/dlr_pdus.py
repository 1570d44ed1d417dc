# tests: tests/unit/test_dlr_pdus.py
"""Receipts between PDUs and `Receipt`s: reading a vendor's, writing a customer's.

A vendor receipt is recognised by esm_class (0x04 receipt, 0x20 intermediate) or by a
receipted_message_id TLV; anything else from a vendor is an MO. The customer's receipt
carries OUR message id, in the text and in receipted_message_id, and goes from the
original destination to the original source (3.4 §2.11), echoing user_message_reference.
"""
from __future__ import annotations

from datetime import datetime, timezone

from smscd.message import Message
from smscd.smpp.message_state import MessageState, is_final
from smscd.smpp.pdu import DataSm, DeliverSm
from smscd.smpp.receipt import Receipt, format_receipt, parse_receipt, receipt_tlvs
from smscd.smpp.tlv import STANDARD_TLVS, Tlv

ESM_RECEIPT = 0x04
ESM_INTERMEDIATE = 0x20
_MESSAGE_TYPE = 0x3C


def is_receipt(pdu: DeliverSm | DataSm) -> bool:
    kind = pdu.esm_class & _MESSAGE_TYPE
    return kind in (ESM_RECEIPT, ESM_INTERMEDIATE) or pdu.tlv("receipted_message_id") is not None


def read_vendor_receipt(pdu: DeliverSm | DataSm) -> Receipt | None:
    """The receipt in a vendor's deliver_sm/data_sm, or None if it cannot be read as one."""
    payload = pdu.tlv("message_payload")
    raw = payload if isinstance(payload, bytes) else getattr(pdu, "short_message", b"")
    text = raw.decode("latin-1") if raw else None     # receipt text is ASCII in practice
    return parse_receipt(text, {t.name: t.value for t in pdu.tlvs if t.name is not None})


def customer_receipt(message: Message, receipt: Receipt, part_index: int = 0,
                     now: float | None = None) -> DeliverSm:
    """The deliver_sm that tells the customer what became of `message` (or one part)."""
    done = datetime.fromtimestamp(now, timezone.utc) if now is not None else receipt.done_date
    ours = Receipt(
        message_id=message.id, state=receipt.state, stat=receipt.stat,
        submitted=1, delivered=1 if receipt.state is MessageState.DELIVERED else 0,
        submit_date=receipt.submit_date or datetime.fromtimestamp(message.created_at,
                                                                  timezone.utc),
        done_date=done or datetime.fromtimestamp(message.created_at, timezone.utc),
        error=receipt.error, text=_preview(message, part_index),
        network_error_code=receipt.network_error_code)
    tlvs = [STANDARD_TLVS.make(name, value) for name, value in receipt_tlvs(ours).items()]
    reference = next((t for t in message.tlvs if t.name == "user_message_reference"), None)
    if reference is not None:
        tlvs.append(Tlv(reference.tag, reference.value, reference.name))
    return DeliverSm(
        source_addr_ton=message.destination.ton, source_addr_npi=message.destination.npi,
        source_addr=message.destination.addr,
        dest_addr_ton=message.source.ton, dest_addr_npi=message.source.npi,
        destination_addr=message.source.addr,
        esm_class=ESM_RECEIPT if is_final(receipt.state) else ESM_INTERMEDIATE,
        short_message=format_receipt(ours).encode("latin-1", "replace"),
        tlvs=tuple(tlvs))


def _preview(message: Message, part_index: int) -> str:
    """The first characters of the part, printable ASCII only (receipt text is not coded)."""
    if not message.parts or message.data_coding not in (0, 1, 3):
        return ""
    body = message.parts[min(part_index, len(message.parts) - 1)].short_message
    if message.parts[0].esm_class & 0x40 and body:
        body = body[body[0] + 1:]
    return "".join(c if 32 <= ord(c) < 127 and c != ":" else " "
                   for c in body[:20].decode("latin-1")).strip()
