# tests: tests/unit/test_receipt.py
"""The de-facto delivery receipt (SMPP 3.4 App. B) and its TLVs, both ways, plus id normalisation.

Rules:
- We write exactly `id:<id> sub:001 dlvrd:<000|001> submit date:<YYMMDDhhmm> done date:<...>
  stat:<STAT> err:<NNN> text:<first 20 chars>` (DLR-01), with receipted_message_id,
  message_state and (when known) network_error_code beside it.
- We read what vendors actually send (DLR-02): keys in any case, `submit_date`, extra
  vendor fields, extra spaces, missing sub/dlvrd/err/text, 10/12/14-digit dates, `err:0`,
  ids of up to 65 non-space characters kept exactly (leading zeros and case are significant
  here; correlation normalises, see below), and TLV-only receipts.
- TLVs win over text: receipted_message_id over `id:`, message_state over `stat:`.
- A receipt needs an id and a state; without both `parse_receipt` returns None (it is an MO,
  or a receipt we cannot correlate). An unreadable date becomes None, an unknown stat word
  becomes UNKNOWN: parts of a receipt never make us drop the rest.
- Everything after `text:` is the text, even if it looks like more fields.
- Id correlation (DLR-03): a connector says how its vendor's receipt ids relate to its
  submit_sm_resp ids (`ReceiptIdMode`). `normalise_receipt_id` and `normalise_submitted_id`
  turn each side into the same key. Converted ids are compared as numbers (decimal without
  leading zeros, lowercase hex without leading zeros), so the case and zero-stripping
  vendors apply (Jasmin #643) cannot break the match. AS_IS ids are opaque and kept exactly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal, Mapping

from .message_state import MessageState, state_from_int, state_from_stat, stat_word
from .smpp_time import format_receipt_date, parse_receipt_date

MAX_ID_LENGTH = 65
TEXT_LENGTH = 20
_NETWORK_ERROR_CODE_LENGTH = 3

# A key starts the text or follows whitespace; "submit date" is the one key with a space in it.
_KEY = re.compile(r"(?<!\S)(submit[ _]*date|done[ _]*date|[a-z][a-z0-9_]*)[ \t]*:", re.IGNORECASE)
_TOKEN = re.compile(r"[^\s:]+")
_HEX = re.compile(r"[0-9a-fA-F]+", re.ASCII)
_DEC = re.compile(r"[0-9]+", re.ASCII)


@dataclass(frozen=True, slots=True)
class Receipt:
    """One delivery receipt. `stat` is the word as the vendor wrote it (kept for reports even
    when it is not in the table); `state` is what it means. Dates are SMSC local time."""

    message_id: str
    state: MessageState
    stat: str
    submitted: int = 1
    delivered: int = 0
    submit_date: datetime | None = None
    done_date: datetime | None = None
    error: str = "000"
    text: str = ""
    network_error_code: bytes | None = None

    def __post_init__(self) -> None:
        """Reject what cannot be written back as a receipt, so formatting never fails late."""
        for name, token in (("message_id", self.message_id), ("stat", self.stat),
                            ("error", self.error)):
            if not _TOKEN.fullmatch(token):
                raise ValueError(f"receipt {name} {token!r} must be non-empty, "
                                 "without spaces or ':'")
        if len(self.message_id) > MAX_ID_LENGTH:
            raise ValueError(f"receipt id has {len(self.message_id)} characters, "
                             f"more than {MAX_ID_LENGTH}")
        for name, count in (("submitted", self.submitted), ("delivered", self.delivered)):
            if not 0 <= count <= 999:
                raise ValueError(f"receipt {name} {count} outside 0..999")
        if (self.network_error_code is not None
                and len(self.network_error_code) != _NETWORK_ERROR_CODE_LENGTH):
            raise ValueError("network_error_code must be 3 octets (type, error Int2)")

    @classmethod
    def for_state(cls, message_id: str, state: MessageState, *,
                  submit_date: datetime | None = None, done_date: datetime | None = None,
                  error: str = "000", text: str = "",
                  network_error_code: bytes | None = None) -> Receipt:
        """A receipt we generate: the table's stat word, sub 1, dlvrd 1 only when delivered."""
        return cls(message_id, state, stat_word(state), 1,
                   1 if state == MessageState.DELIVERED else 0,
                   submit_date, done_date, error, text, network_error_code)


def network_error_code(network_type: int, error: int) -> bytes:
    """The 3-octet network_error_code TLV value: network type (1 ANSI-136, 2 IS-95, 3 GSM, ...)
    and the network's error code (Int2)."""
    if not 0 <= network_type <= 0xFF or not 0 <= error <= 0xFFFF:
        raise ValueError(f"network_error_code ({network_type}, {error}) out of range")
    return bytes((network_type,)) + error.to_bytes(2, "big")


def format_receipt(r: Receipt, *, date_digits: Literal[10, 12] = 10) -> str:
    """The receipt text for deliver_sm short_message (DLR-01); both dates are required."""
    if r.submit_date is None or r.done_date is None:
        raise ValueError("a receipt text needs both submit and done dates")
    return (f"id:{r.message_id} sub:{r.submitted:03d} dlvrd:{r.delivered:03d}"
            f" submit date:{format_receipt_date(r.submit_date, date_digits)}"
            f" done date:{format_receipt_date(r.done_date, date_digits)}"
            f" stat:{r.stat} err:{r.error} text:{r.text[:TEXT_LENGTH]}")


def receipt_tlvs(r: Receipt) -> dict[str, int | str | bytes]:
    """The TLVs a receipt should carry (3.4 §4.6.1): id, state, and the network error if known."""
    tlvs: dict[str, int | str | bytes] = {
        "receipted_message_id": r.message_id,
        "message_state": int(r.state),
    }
    if r.network_error_code is not None:
        tlvs["network_error_code"] = r.network_error_code
    return tlvs


def _text_fields(text: str) -> dict[str, str]:
    """Split receipt text into lower-case keys and raw values; `text` takes the rest."""
    fields: dict[str, str] = {}
    matches = list(_KEY.finditer(text))
    for i, match in enumerate(matches):
        key = re.sub(r"[ _]+", " ", match.group(1).lower())
        if key == "text":
            fields.setdefault(key, text[match.end():])
            break
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        fields.setdefault(key, text[match.end():end])
    return fields


def _first_token(value: str | None) -> str | None:
    if value is None:
        return None
    token = _TOKEN.match(value.strip())
    return token.group(0) if token else None


def _count(value: str | None) -> int | None:
    token = _first_token(value)
    if token is None or not _DEC.fullmatch(token) or len(token) > 3:
        return None
    return int(token)


def _date(value: str | None) -> datetime | None:
    token = _first_token(value)
    return None if token is None else parse_receipt_date(token)


def _tlv_id(tlvs: Mapping[str, object]) -> str | None:
    value = tlvs.get("receipted_message_id")
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return _first_token(value.rstrip("\x00"))


def _tlv_state(tlvs: Mapping[str, object]) -> MessageState | None:
    value = tlvs.get("message_state")
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return state_from_int(value)


def _tlv_network_error(tlvs: Mapping[str, object]) -> bytes | None:
    value = tlvs.get("network_error_code")
    if isinstance(value, bytes) and len(value) == _NETWORK_ERROR_CODE_LENGTH:
        return value
    return None


def parse_receipt(text: str | None, tlvs: Mapping[str, object]) -> Receipt | None:
    """Read a receipt from short_message text and/or TLVs; None when it is not one (DLR-02)."""
    fields = _text_fields(text) if text else {}
    message_id = _tlv_id(tlvs) or _first_token(fields.get("id"))
    if message_id is None or len(message_id) > MAX_ID_LENGTH:
        return None
    word = _first_token(fields.get("stat"))
    tlv_state = _tlv_state(tlvs)
    if tlv_state is not None:
        # The TLV decides; keep the vendor's word only when it says the same thing.
        state = tlv_state
        stat = word if word is not None and state_from_stat(word) == state else stat_word(state)
    elif word is not None:
        state, stat = state_from_stat(word), word
    else:
        return None
    network_error = _tlv_network_error(tlvs)
    error = _first_token(fields.get("err"))
    if error is None:
        error = f"{int.from_bytes(network_error[1:], 'big'):03d}" if network_error else "000"
    elif _DEC.fullmatch(error):
        error = error.zfill(3)
    submitted = _count(fields.get("sub"))
    delivered = _count(fields.get("dlvrd"))
    return Receipt(
        message_id=message_id,
        state=state,
        stat=stat,
        submitted=1 if submitted is None else submitted,
        delivered=(1 if state == MessageState.DELIVERED else 0) if delivered is None else delivered,
        submit_date=_date(fields.get("submit date")),
        done_date=_date(fields.get("done date")),
        error=error,
        text=fields.get("text", "").strip()[:TEXT_LENGTH],
        network_error_code=network_error,
    )


class ReceiptIdMode(Enum):
    """How a vendor's receipt ids relate to the ids in its submit_sm_resp (Jasmin `dlr_msgid`)."""

    AS_IS = "as_is"            # same string in both
    HEX_TO_DEC = "hex_to_dec"  # receipt id is hex, submit_sm_resp id is decimal
    DEC_TO_HEX = "dec_to_hex"  # receipt id is decimal, submit_sm_resp id is hex


def _as_number(message_id: str, pattern: re.Pattern[str], base: int, what: str) -> int:
    if not pattern.fullmatch(message_id):
        raise ValueError(f"message id {message_id!r} is not {what}")
    return int(message_id, base)


def _key(number: int, base: int) -> str:
    return f"{number:x}" if base == 16 else str(number)


def normalise_receipt_id(message_id: str, mode: ReceiptIdMode) -> str:
    """The correlation key for an id read from a receipt: converted to the submit_sm_resp base."""
    if mode is ReceiptIdMode.AS_IS:
        return message_id
    if mode is ReceiptIdMode.HEX_TO_DEC:
        return _key(_as_number(message_id, _HEX, 16, "hexadecimal"), 10)
    return _key(_as_number(message_id, _DEC, 10, "decimal"), 16)


def normalise_submitted_id(message_id: str, mode: ReceiptIdMode) -> str:
    """The correlation key for a submit_sm_resp id, comparable with `normalise_receipt_id`."""
    if mode is ReceiptIdMode.AS_IS:
        return message_id
    if mode is ReceiptIdMode.HEX_TO_DEC:
        return _key(_as_number(message_id, _DEC, 10, "decimal"), 10)
    return _key(_as_number(message_id, _HEX, 16, "hexadecimal"), 16)
