# tests: tests/unit/test_message_state.py
"""message_state values, the receipt `stat:` words, and which states a submitter asked to hear about.

Rules:
- One table (`_STAT_WORDS`) maps each state to its 7-letter receipt word (SMPP 3.4 §5.2.28,
  5.0 §4.7.15, App. B); both directions are derived from it.
- Reading a word is tolerant: any case, surrounding spaces, Kannel's intermediate words
  ACKED / BUFFRED / BUFFERD (-> ENROUTE). A word we do not know becomes UNKNOWN, never an error:
  vendors invent words (FAILED, ...) and dropping their receipts loses the outcome (Jasmin #447).
- Classes: SCHEDULED and ENROUTE are intermediate; everything else is final. DELIVERED and
  ACCEPTED are successes; every other final state, UNKNOWN included, is a failure (SMPPSim's
  "failure" = any state except DELIVERED/ACCEPTED; Kannel ends the DLR on an unknown word).
- `wants_receipt` reads registered_delivery bits 1-0 and bit 4 only; the SME-ack bits 3-2 and
  the reserved bits 7-5 never change the answer.
"""
from __future__ import annotations

from enum import IntEnum
from types import MappingProxyType
from typing import Mapping


class MessageState(IntEnum):
    """SMPP message_state (query_sm_resp field, message_state TLV 0x0427)."""

    SCHEDULED = 0       # 5.0 only; 3.4 SMSCs report ENROUTE
    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8
    SKIPPED = 9         # 5.0 only


_STAT_WORDS: Mapping[MessageState, str] = MappingProxyType({
    MessageState.SCHEDULED: "SCHEDLD",
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
    MessageState.SKIPPED: "SKIPPED",
})

# Words seen in the field for "still travelling" (Kannel smsc_smpp.c treats them as buffered).
_INTERMEDIATE_ALIASES = ("ACKED", "BUFFRED", "BUFFERD")

_STATE_BY_WORD: Mapping[str, MessageState] = MappingProxyType({
    **{word: state for state, word in _STAT_WORDS.items()},
    **{word: MessageState.ENROUTE for word in _INTERMEDIATE_ALIASES},
})

_INTERMEDIATE = frozenset({MessageState.SCHEDULED, MessageState.ENROUTE})
_SUCCESS = frozenset({MessageState.DELIVERED, MessageState.ACCEPTED})

# registered_delivery (3.4 §5.2.17, 5.0 §4.7.21)
_RECEIPT_MASK = 0x03
_RECEIPT_NONE = 0x00
_RECEIPT_FINAL = 0x01          # final success or failure
_RECEIPT_FAILURE = 0x02        # failure only (5.0: includes cancellation)
_RECEIPT_SUCCESS = 0x03        # 3.4 reserved, 5.0 success only
_INTERMEDIATE_NOTIFICATION = 0x10


def stat_word(state: MessageState) -> str:
    """The receipt `stat:` word for `state`, e.g. DELIVERED -> "DELIVRD"."""
    return _STAT_WORDS[MessageState(state)]


def state_from_stat(word: str) -> MessageState:
    """Read a receipt `stat:` word; unknown words are UNKNOWN so the receipt is kept, not dropped."""
    state = _STATE_BY_WORD.get(word)       # the usual case: a table word exactly as written
    if state is None:
        state = _STATE_BY_WORD.get(word.strip().upper(), MessageState.UNKNOWN)
    return state


def state_from_int(value: int) -> MessageState:
    """Read a message_state TLV; values outside 0..9 are UNKNOWN rather than a decode error."""
    try:
        return MessageState(value)
    except ValueError:
        return MessageState.UNKNOWN


def is_final(state: MessageState) -> bool:
    """True when no further receipt is expected, so the correlation entry can go."""
    return state not in _INTERMEDIATE


def is_success(state: MessageState) -> bool:
    """True for DELIVERED and ACCEPTED; UNKNOWN and the other finals count as failures."""
    return state in _SUCCESS


def wants_receipt(registered_delivery: int, state: MessageState) -> bool:
    """Whether a submitter with this registered_delivery gets a receipt for `state` (DLR-04).

    Bits 1-0: 0 none, 1 final success or failure, 2 failure only, 3 success only (5.0).
    Bit 4 (0x10): intermediate notifications.
    """
    if not 0 <= registered_delivery <= 0xFF:
        raise ValueError(f"registered_delivery {registered_delivery} is not one octet")
    if not is_final(state):
        return bool(registered_delivery & _INTERMEDIATE_NOTIFICATION)
    wanted = registered_delivery & _RECEIPT_MASK
    if wanted == _RECEIPT_NONE:
        return False
    if wanted == _RECEIPT_FAILURE:
        return not is_success(state)
    if wanted == _RECEIPT_SUCCESS:
        return is_success(state)
    return True        # _RECEIPT_FINAL
