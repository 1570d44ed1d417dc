# tests: tests/unit/test_sim_pdus.py
"""What the SMSC simulator says, as pure functions: message ids, outcomes, receipts, MO.

No Twisted and no clock: time and randomness are arguments, so every choice is
reproducible from the seed.
"""
from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from typing import Mapping

from smscd.smpp.message_state import MessageState
from smscd.smpp.pdu import DeliverSm
from smscd.smpp.receipt import Receipt, format_receipt, network_error_code
from smscd.smpp.split import ReferenceAllocator, SplitMethod, split_bytes, split_text
from smscd.smpp.tlv import STANDARD_TLVS, Tlv

ESM_RECEIPT = 0x04
ESM_UDHI = 0x40
_TEXT_CODINGS = frozenset({0, 1, 3})
_GSM_NETWORK = 3
_ERRORS: Mapping[MessageState, int] = {          # err: and network_error_code per outcome
    MessageState.DELIVERED: 0, MessageState.UNDELIVERABLE: 1, MessageState.EXPIRED: 27,
    MessageState.REJECTED: 11, MessageState.DELETED: 0, MessageState.ACCEPTED: 0,
    MessageState.UNKNOWN: 255, MessageState.SKIPPED: 0}
_RECEIPTED_ID = STANDARD_TLVS.by_name["receipted_message_id"].tag
_MESSAGE_STATE = STANDARD_TLVS.by_name["message_state"].tag
_NETWORK_ERROR = STANDARD_TLVS.by_name["network_error_code"].tag


class MessageIds:
    """Sequential ids, hex (lower case) or decimal, from a start drawn off the seed."""
    __slots__ = ("_next", "_hex")

    def __init__(self, fmt: str, first: int) -> None:
        self._next = first
        self._hex = fmt == "hex"

    def next(self) -> str:
        n = self._next
        self._next = n + 1
        return f"{n:x}" if self._hex else str(n)


class OutcomePicker:
    """Draws a final state with the configured percentages."""
    __slots__ = ("_states", "_bounds", "_total", "_rng")

    def __init__(self, outcomes: Mapping[MessageState, float], rng: random.Random) -> None:
        items = [(MessageState(s), w) for s, w in outcomes.items() if w > 0]
        self._states = [s for s, _ in items]
        self._bounds = list(accumulate(w for _, w in items))
        self._total = self._bounds[-1]
        self._rng = rng

    def pick(self) -> MessageState:
        if len(self._states) == 1:
            return self._states[0]
        i = bisect_right(self._bounds, self._rng.random() * self._total)
        return self._states[min(i, len(self._states) - 1)]


@dataclass(slots=True)
class PendingReceipt:
    """A submitted message whose receipt is due later; `origin` is the submitting bind."""
    message_id: str
    system_id: str
    origin: object
    state: MessageState
    submitted_at: float
    source: tuple[int, int, str]
    destination: tuple[int, int, str]
    text: str


# Receipt text: printable ASCII kept, every other octet a space.
_PRINTABLE = bytes(b if 32 <= b < 127 else 32 for b in range(256))


def receipt_text(short_message: bytes, data_coding: int, esm_class: int) -> str:
    """The `text:` of a receipt: the first 20 characters of plain text, else nothing."""
    if data_coding not in _TEXT_CODINGS or esm_class & ESM_UDHI or not short_message:
        return ""
    return short_message[:20].translate(_PRINTABLE).decode("ascii").strip()


class ReceiptBuilder:
    """deliver_sm receipts, from the message's destination to its source (3.4 App. B).

    The text comes from `format_receipt`, once per (state, submit minute, done minute):
    receipt dates have minute resolution, so a batch shares one template and each
    receipt only splices in its id and text.
    """
    _ID = "\x01"          # placeholder id: a token `Receipt` accepts, never a real id
    _MAX_TEMPLATES = 256

    def __init__(self) -> None:
        self._templates: dict[tuple[MessageState, int, int], tuple[str, str]] = {}
        self._state_tlvs = {s: Tlv(_MESSAGE_STATE, int(s), "message_state")
                            for s in MessageState}
        self._network_errors = {s: Tlv(_NETWORK_ERROR, network_error_code(_GSM_NETWORK, e),
                                       "network_error_code")
                                for s, e in _ERRORS.items() if e}

    def _template(self, state: MessageState, submitted_at: float, done_at: float
                  ) -> tuple[str, str]:
        key = (state, int(submitted_at // 60), int(done_at // 60))
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) >= self._MAX_TEMPLATES:
                self._templates.clear()
            receipt = Receipt.for_state(
                self._ID, state, submit_date=datetime.fromtimestamp(submitted_at),
                done_date=datetime.fromtimestamp(done_at),
                error=f"{_ERRORS.get(state, 0):03d}")
            head, tail = format_receipt(receipt).split(self._ID)
            template = self._templates[key] = (head, tail)
        return template

    def build(self, p: PendingReceipt, done_at: float) -> DeliverSm:
        head, tail = self._template(p.state, p.submitted_at, done_at)
        text = f"{head}{p.message_id}{tail}{p.text}"
        tlvs: tuple[Tlv, ...] = (Tlv(_RECEIPTED_ID, p.message_id, "receipted_message_id"),
                self._state_tlvs[p.state])
        network_error = self._network_errors.get(p.state)
        if network_error is not None:
            tlvs += (network_error,)
        return DeliverSm(
            source_addr_ton=p.destination[0], source_addr_npi=p.destination[1],
            source_addr=p.destination[2], dest_addr_ton=p.source[0],
            dest_addr_npi=p.source[1], destination_addr=p.source[2], esm_class=ESM_RECEIPT,
            short_message=text.encode("latin-1"), tlvs=tlvs)


def mo_pdus(content: str | bytes, source: str, destination: str, data_coding: int,
            method: SplitMethod, references: ReferenceAllocator,
            source_ton: int = 1, source_npi: int = 1) -> list[DeliverSm]:
    """An MO as one deliver_sm, or several tied by UDH (IEI 0x00/0x08) or SAR TLVs."""
    ref = references.next(source)
    if isinstance(content, str):
        parts = split_text(content, data_coding, method, ref)
    else:
        parts = split_bytes(content, data_coding, method, ref)
    out = []
    for part in parts:
        tlvs: tuple[Tlv, ...] = ()
        if part.sar is not None:
            tlvs = (STANDARD_TLVS.make("sar_msg_ref_num", part.sar[0]),
                    STANDARD_TLVS.make("sar_total_segments", part.sar[1]),
                    STANDARD_TLVS.make("sar_segment_seqnum", part.sar[2]))
        body = part.short_message
        if part.in_payload:
            tlvs += (STANDARD_TLVS.make("message_payload", body),)
            body = b""
        out.append(DeliverSm(
            source_addr_ton=source_ton, source_addr_npi=source_npi, source_addr=source,
            dest_addr_ton=0, dest_addr_npi=1, destination_addr=destination,
            esm_class=ESM_UDHI if part.udhi else 0, data_coding=data_coding,
            short_message=body, tlvs=tlvs))
    return out
