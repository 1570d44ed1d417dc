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
from smscd.smpp.receipt import Receipt, format_receipt, parse_receipt
from smscd.smpp.tlv import STANDARD_TLVS, Tlv

ESM_RECEIPT = 0x04
ESM_INTERMEDIATE = 0x20
_MESSAGE_TYPE = 0x3C

_RECEIPTED_MESSAGE_ID = STANDARD_TLVS.by_name["receipted_message_id"].tag
_NETWORK_ERROR_CODE = STANDARD_TLVS.by_name["network_error_code"].tag
_MESSAGE_STATE_TLVS = {s: STANDARD_TLVS.make("message_state", int(s)) for s in MessageState}
_DELIVER_SM_DEFAULTS = dict(DeliverSm().__dict__)
_new = object.__new__
# Preview octets: printable ASCII except ':' kept, every other octet (and ':') a space.
_PREVIEW_OCTETS = bytes(b if 32 <= b < 127 and b != ord(":") else ord(" ") for b in range(256))


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
    state = receipt.state
    done = datetime.fromtimestamp(now, timezone.utc) if now is not None else receipt.done_date
    ours = receipt.relayed(
        message.id,
        submit_date=receipt.submit_date or datetime.fromtimestamp(message.created_at,
                                                                  timezone.utc),
        done_date=done or datetime.fromtimestamp(message.created_at, timezone.utc),
        text=_preview(message, part_index))
    # The TLVs of receipt_tlvs(ours), built directly: message_state ones are shared.
    state_tlv = _MESSAGE_STATE_TLVS.get(state)
    if state_tlv is None:       # a state outside the enum: Receipt does not refuse one
        state_tlv = STANDARD_TLVS.make("message_state", int(state))
    tlvs = [Tlv(_RECEIPTED_MESSAGE_ID, ours.message_id, "receipted_message_id"), state_tlv]
    if ours.network_error_code is not None:
        tlvs.append(Tlv(_NETWORK_ERROR_CODE, ours.network_error_code, "network_error_code"))
    for t in message.tlvs:
        if t.name == "user_message_reference":
            tlvs.append(t)          # Tlv is frozen: the customer's own can be passed on
            break
    destination, source = message.destination, message.source
    # Filled like the codec fills decoded PDUs (see pdu.py): a third of the frozen __init__.
    pdu: DeliverSm = _new(DeliverSm)
    pdu.__dict__.update(
        _DELIVER_SM_DEFAULTS,
        source_addr_ton=destination.ton, source_addr_npi=destination.npi,
        source_addr=destination.addr,
        dest_addr_ton=source.ton, dest_addr_npi=source.npi, destination_addr=source.addr,
        esm_class=ESM_RECEIPT if is_final(state) else ESM_INTERMEDIATE,
        short_message=format_receipt(ours).encode("latin-1", "replace"),
        tlvs=tuple(tlvs))
    return pdu


def _preview(message: Message, part_index: int) -> str:
    """The first characters of the part, printable ASCII only (receipt text is not coded)."""
    if not message.parts or message.data_coding not in (0, 1, 3):
        return ""
    body = message.parts[min(part_index, len(message.parts) - 1)].short_message
    if message.parts[0].esm_class & 0x40 and body:
        body = body[body[0] + 1:]
    return body[:20].translate(_PREVIEW_OCTETS).decode("ascii").strip()
