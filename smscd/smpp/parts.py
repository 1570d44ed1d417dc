# tests: tests/unit/test_send_client.py
"""Turn the parts of a split message into PDUs: UDHI bit, SAR TLVs or message_payload."""
from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from .pdu import DeliverSm, SubmitSm
from .split import Part
from .tlv import STANDARD_TLVS

ESM_UDHI = 0x40
ShortMessagePdu = TypeVar("ShortMessagePdu", SubmitSm, DeliverSm)


def pdus_for_parts(template: ShortMessagePdu, parts: list[Part]) -> list[ShortMessagePdu]:
    """One PDU per part, each a copy of `template` carrying that part."""
    out: list[ShortMessagePdu] = []
    make = STANDARD_TLVS.make
    for part in parts:
        tlvs = template.tlvs
        short_message = part.short_message
        if part.sar is not None:
            ref, total, seq = part.sar
            tlvs += (make("sar_msg_ref_num", ref), make("sar_total_segments", total),
                     make("sar_segment_seqnum", seq))
        if part.in_payload:
            tlvs += (make("message_payload", short_message),)
            short_message = b""
        esm_class = template.esm_class | ESM_UDHI if part.udhi else template.esm_class
        out.append(replace(template, esm_class=esm_class, short_message=short_message,
                           tlvs=tlvs))
    return out

