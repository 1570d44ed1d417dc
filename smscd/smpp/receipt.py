# tests: tests/unit/test_receipt.py, tests/unit/test_receipt_fast_path.py
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
- Speed (bench/receipts.py): the canonical shape is read by one regex (`_CANONICAL`), the
  rest by the general parser; the two must read every text alike, which
  tests/unit/test_receipt_fast_path.py checks against each other and against the code
  before the fast path. Parsed receipts skip __post_init__: what the parser builds passes it.
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
_KEY_SEPARATORS = re.compile(r"[ _]+")
_TOKEN = re.compile(r"[^\s:]+")
_HEX = re.compile(r"[0-9a-fA-F]+", re.ASCII)
_DEC = re.compile(r"[0-9]+", re.ASCII)


def _any_case(key: str) -> str:
    """`key` as a pattern matching its ASCII letters in either case; other characters (a
    `[ _]` class) are kept. Not re.IGNORECASE: that also lets 'ſ' match s, 'K' (Kelvin) k
    and 'İ' i, which the general parser does not read as these keys (it compares
    `key.lower()`), and the two parsers must agree."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isascii() and c.isalpha() else c
                   for c in key)


# The canonical shape, what we write (DLR-01) and what most SMSCs send, read in one match:
# these keys in this order, any case, one space apart (`submit_date` too); sub, dlvrd and
# text may be missing. Values are tokens as the general parser reads them ([^\s:]+; sub and
# dlvrd 1-3 ASCII digits, as `_count` accepts), and no value can hide a key (a key follows
# whitespace; values have none), so both parsers see the same fields: the hypothesis tests
# in tests/unit/test_receipt_fast_path.py check it. Anything else (other spacing, extra
# fields, another order) falls back to the general parser.
_VALUE = r"[^\s:]+"
_COUNT = r"[0-9]{1,3}"
_CANONICAL = re.compile(
    f"{_any_case('id')}:(?P<id>{_VALUE}) "
    f"(?:{_any_case('sub')}:(?P<sub>{_COUNT}) )?"
    f"(?:{_any_case('dlvrd')}:(?P<dlvrd>{_COUNT}) )?"
    f"{_any_case('submit[ _]date')}:(?P<submit_date>{_VALUE}) "
    f"{_any_case('done[ _]date')}:(?P<done_date>{_VALUE}) "
    f"{_any_case('stat')}:(?P<stat>{_VALUE}) "
    f"{_any_case('err')}:(?P<err>{_VALUE})"
    rf"(?: {_any_case('text')}:(?P<text>.*))?\Z",
    re.DOTALL)

_STATE_OF_INT = {int(s): s for s in MessageState}
_STAT_WORD_OF = {s: stat_word(s) for s in MessageState}
_TABLE_WORDS = frozenset(_STAT_WORD_OF.values())


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
        is_token = _TOKEN.fullmatch
        if not (is_token(self.message_id) and (self.stat in _TABLE_WORDS or is_token(self.stat))
                and is_token(self.error)):
            for name, token in (("message_id", self.message_id), ("stat", self.stat),
                                ("error", self.error)):
                if not is_token(token):
                    raise _not_a_token(name, token)
        if len(self.message_id) > MAX_ID_LENGTH:
            raise _id_too_long(self.message_id)
        if not (0 <= self.submitted <= 999 and 0 <= self.delivered <= 999):
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

    def relayed(self, message_id: str, *, submit_date: datetime | None,
                done_date: datetime | None, text: str) -> Receipt:
        """This receipt passed on under another message id (ours, to our customer): sub 1,
        dlvrd 1 only when delivered, this receipt's stat, err and network error. Only the new
        id is checked; the rest passed __post_init__ when this receipt was made."""
        if not _TOKEN.fullmatch(message_id):
            raise _not_a_token("message_id", message_id)
        if len(message_id) > MAX_ID_LENGTH:
            raise _id_too_long(message_id)
        return _unchecked_receipt(message_id, self.state, self.stat, 1,
                                  1 if self.state is MessageState.DELIVERED else 0,
                                  submit_date, done_date, self.error, text,
                                  self.network_error_code)


def _not_a_token(name: str, token: str) -> ValueError:
    return ValueError(f"receipt {name} {token!r} must be non-empty, without spaces or ':'")


def _id_too_long(message_id: str) -> ValueError:
    return ValueError(f"receipt id has {len(message_id)} characters, more than {MAX_ID_LENGTH}")


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
        key = match.group(1).lower()
        if " " in key or "_" in key:
            key = _KEY_SEPARATORS.sub(" ", key)
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


def _tlv_id(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return _first_token(value.rstrip("\x00"))


def _tlv_state(value: object) -> MessageState | None:
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
    if text:
        match = _CANONICAL.match(text)
        if match is not None:
            text_id, sub, dlvrd, submit_date, done_date, word, error, rest = match.groups()
            return _receipt(tlvs, text_id, word, error, None if sub is None else int(sub),
                            None if dlvrd is None else int(dlvrd),
                            parse_receipt_date(submit_date), parse_receipt_date(done_date),
                            "" if rest is None else rest)
    return _parse_general(text, tlvs)


def _parse_general(text: str | None, tlvs: Mapping[str, object]) -> Receipt | None:
    """Any receipt text vendors send: keys found anywhere, in any order, spacing and case."""
    fields = _text_fields(text) if text else {}
    return _receipt(tlvs, _first_token(fields.get("id")), _first_token(fields.get("stat")),
                    _first_token(fields.get("err")), _count(fields.get("sub")),
                    _count(fields.get("dlvrd")), _date(fields.get("submit date")),
                    _date(fields.get("done date")), fields.get("text", ""))


def _receipt(tlvs: Mapping[str, object], text_id: str | None, word: str | None,
             error: str | None, submitted: int | None, delivered: int | None,
             submit_date: datetime | None, done_date: datetime | None,
             text: str) -> Receipt | None:
    """The receipt from the text's tokens (None where absent) and the TLVs, which win."""
    value = tlvs.get("receipted_message_id")
    if value is None:
        message_id = text_id
    elif isinstance(value, str) and value == text_id and value[-1] != "\x00":
        message_id = text_id          # the usual case: the TLV repeats the text's id token
    else:
        message_id = _tlv_id(value) or text_id
    if message_id is None or len(message_id) > MAX_ID_LENGTH:
        return None
    value = tlvs.get("message_state")
    if value is None:
        tlv_state = None
    elif type(value) is int:
        tlv_state = _STATE_OF_INT.get(value, MessageState.UNKNOWN)
    else:
        tlv_state = _tlv_state(value)
    if tlv_state is not None:
        # The TLV decides; keep the vendor's word only when it says the same thing.
        state = tlv_state
        stat = (word if word is not None and state_from_stat(word) is state
                else _STAT_WORD_OF[state])
    elif word is not None:
        state, stat = state_from_stat(word), word
    else:
        return None
    network_error = _tlv_network_error(tlvs)
    if error is None:
        error = f"{int.from_bytes(network_error[1:], 'big'):03d}" if network_error else "000"
    elif len(error) < 3 and error.isascii() and error.isdigit():   # _DEC, without the regex
        error = error.zfill(3)
    if delivered is None:
        delivered = 1 if state is MessageState.DELIVERED else 0
    # Every field is what __post_init__ would accept: ids, stat and err are whole _TOKEN
    # matches (or table words, or three digits), the id is at most MAX_ID_LENGTH, counts have
    # at most three digits and network_error is 3 octets. So the checks are skipped here.
    return _unchecked_receipt(message_id, state, stat, 1 if submitted is None else submitted,
                              delivered, submit_date, done_date, error,
                              text.strip()[:TEXT_LENGTH], network_error)


_new = object.__new__
# Receipt's slot setters (it is frozen: setattr would refuse). A field added to Receipt but
# not set below fails tests/unit/test_receipt_fast_path.py (AttributeError on compare).
_set_message_id = Receipt.__dict__["message_id"].__set__
_set_state = Receipt.__dict__["state"].__set__
_set_stat = Receipt.__dict__["stat"].__set__
_set_submitted = Receipt.__dict__["submitted"].__set__
_set_delivered = Receipt.__dict__["delivered"].__set__
_set_submit_date = Receipt.__dict__["submit_date"].__set__
_set_done_date = Receipt.__dict__["done_date"].__set__
_set_error = Receipt.__dict__["error"].__set__
_set_text = Receipt.__dict__["text"].__set__
_set_network_error_code = Receipt.__dict__["network_error_code"].__set__


def _unchecked_receipt(message_id: str, state: MessageState, stat: str, submitted: int,
                       delivered: int, submit_date: datetime | None, done_date: datetime | None,
                       error: str, text: str, network_error_code: bytes | None) -> Receipt:
    """A Receipt from values the caller has already checked, without running __post_init__
    (a third of the parse). Only for the parser and `Receipt.relayed`: what they build
    passes every check."""
    receipt: Receipt = _new(Receipt)
    _set_message_id(receipt, message_id)
    _set_state(receipt, state)
    _set_stat(receipt, stat)
    _set_submitted(receipt, submitted)
    _set_delivered(receipt, delivered)
    _set_submit_date(receipt, submit_date)
    _set_done_date(receipt, done_date)
    _set_error(receipt, error)
    _set_text(receipt, text)
    _set_network_error_code(receipt, network_error_code)
    return receipt


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
