# tests: tests/integration/test_smpp_server.py
"""A customer's submit_sm / data_sm / submit_multi (one destination) as our `Message`.

Rules:
- The submission has passed `validate_submission`; this only reshapes it. No I/O.
- One Part per submission, as the customer sent it: long messages the customer split
  (UDH or SAR) arrive as separate submissions and stay separate messages (each with its
  id and its receipt), as Jasmin does. A message_payload stays in the part's TLVs.
- What belongs to the part (UDHI, message_payload, sar_* TLVs) goes in the Part; every
  other customer TLV is kept on the message and passed upstream as it came.
- A message_payload that would cost more than `max_parts` network segments is refused with
  ESME_RINVMSGLEN, before anything is stored.
"""
from __future__ import annotations

from datetime import datetime

from smscd.message import Address, Message, Part
from smscd.smpp.pdu import DataSm, SubmitMulti, SubmitSm
from smscd.smpp.split import TooManyParts, count_parts
from smscd.smpp.validate import ESM_UDHI, SubmitTimes

_PART_TLVS = frozenset({"message_payload", "sar_msg_ref_num", "sar_total_segments",
                        "sar_segment_seqnum"})
_OCTETS_PER_SEGMENT = 134     # 8-bit parts with an 8-bit-reference UDH


def build_message(pdu: SubmitSm | DataSm | SubmitMulti, *, message_id: str, user: str,
                  destination: Address, times: SubmitTimes, now: float,
                  max_parts: int, extra: dict[str, str] | None = None) -> Message:
    """Raises TooManyParts (ESME_RINVMSGLEN) for a message_payload that is too long."""
    payload = pdu.tlv("message_payload")
    if isinstance(payload, bytes) and len(payload) > _OCTETS_PER_SEGMENT:
        needed = _segments(payload, pdu.data_coding)
        if needed > max_parts:
            raise TooManyParts(needed, max_parts)
    short_message = b"" if isinstance(pdu, DataSm) else pdu.short_message
    part = Part(short_message=short_message, esm_class=pdu.esm_class & ESM_UDHI,
                tlvs=tuple(t for t in pdu.tlvs if t.name in _PART_TLVS))
    return Message(
        id=message_id, user=user,
        source=Address(pdu.source_addr, pdu.source_addr_ton, pdu.source_addr_npi),
        destination=destination, parts=(part,), created_at=now,
        data_coding=pdu.data_coding, esm_class=pdu.esm_class & ~ESM_UDHI,
        protocol_id=0 if isinstance(pdu, DataSm) else pdu.protocol_id,
        priority=0 if isinstance(pdu, DataSm) else pdu.priority_flag,
        registered_delivery=pdu.registered_delivery, service_type=pdu.service_type,
        tlvs=tuple(t for t in pdu.tlvs if t.name not in _PART_TLVS),
        schedule_at=_epoch(times.schedule_delivery_time),
        expires_at=_epoch(times.validity_period),
        origin="smpp", extra=extra or {})


def routed(message: Message, connector: str) -> Message:
    """`message`, fresh from build_message and not yet seen by anyone else, with the
    connector the router chose. Set in place: the message is frozen for everyone after
    this, and dataclasses.replace would build all 22 fields again (~8 us a message)."""
    object.__setattr__(message, "connector", connector)
    return message


def destination_of(pdu: SubmitSm | DataSm) -> Address:
    return Address(pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi)


def _segments(payload: bytes, data_coding: int) -> int:
    try:
        return count_parts(payload, data_coding)
    except Exception:          # a coding we cannot count in: count octets
        return -(-len(payload) // _OCTETS_PER_SEGMENT)


def _epoch(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()
