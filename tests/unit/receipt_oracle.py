"""The receipt read and write paths as they were before they were made fast (commit 4061b74),
kept verbatim as the reference the fast code must match (tests/unit/test_receipt_fast_path.py).

Only the logic is copied; the data types (Receipt, MessageState, Message, DeliverSm, Tlv) are
the product's. When receipt behaviour changes on purpose, change it here too.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Literal, Mapping

from smscd.message import Message
from smscd.smpp.message_state import MessageState, is_final, state_from_int, stat_word
from smscd.smpp.pdu import DeliverSm
from smscd.smpp.receipt import MAX_ID_LENGTH, TEXT_LENGTH, Receipt
from smscd.smpp.tlv import STANDARD_TLVS, Tlv

_CENTURY = 2000
_RECEIPT_DATE = re.compile(r"[0-9]{10}(?:[0-9]{2}){0,2}", re.ASCII)
_NETWORK_ERROR_CODE_LENGTH = 3
_KEY = re.compile(r"(?<!\S)(submit[ _]*date|done[ _]*date|[a-z][a-z0-9_]*)[ \t]*:", re.IGNORECASE)
_TOKEN = re.compile(r"[^\s:]+")
_DEC = re.compile(r"[0-9]+", re.ASCII)
_STATE_BY_WORD = {**{stat_word(s): s for s in MessageState},
                  **{w: MessageState.ENROUTE for w in ("ACKED", "BUFFRED", "BUFFERD")}}
ESM_RECEIPT = 0x04
ESM_INTERMEDIATE = 0x20


# smscd/smpp/message_state.py ------------------------------------------------------------

def state_from_stat(word: str) -> MessageState:
    return _STATE_BY_WORD.get(word.strip().upper(), MessageState.UNKNOWN)


# smscd/smpp/smpp_time.py ----------------------------------------------------------------

def format_receipt_date(dt: datetime, digits: Literal[10, 12] = 10) -> str:
    if not _CENTURY <= dt.year <= _CENTURY + 99:
        raise ValueError(f"year {dt.year} cannot be written with two digits (2000-2099)")
    if digits == 10:
        return f"{dt:%y%m%d%H%M}"
    if digits == 12:
        return f"{dt:%y%m%d%H%M%S}"
    raise ValueError(f"receipt dates have 10 or 12 digits, not {digits}")


def parse_receipt_date(s: str) -> datetime | None:
    s = s.strip()
    if not _RECEIPT_DATE.fullmatch(s):
        return None
    if len(s) == 14:
        year, rest = int(s[:4]), s[4:]
    else:
        year, rest = _CENTURY + int(s[:2]), s[2:]
    fields = [int(rest[i:i + 2]) for i in range(0, len(rest), 2)]
    month, day, hour, minute = fields[:4]
    second = fields[4] if len(fields) > 4 else 0
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


# smscd/smpp/receipt.py ------------------------------------------------------------------

def check_receipt(r: Receipt) -> None:
    """Receipt.__post_init__ as it was."""
    for name, token in (("message_id", r.message_id), ("stat", r.stat), ("error", r.error)):
        if not _TOKEN.fullmatch(token):
            raise ValueError(f"receipt {name} {token!r} must be non-empty, "
                             "without spaces or ':'")
    if len(r.message_id) > MAX_ID_LENGTH:
        raise ValueError(f"receipt id has {len(r.message_id)} characters, "
                         f"more than {MAX_ID_LENGTH}")
    for name, count in (("submitted", r.submitted), ("delivered", r.delivered)):
        if not 0 <= count <= 999:
            raise ValueError(f"receipt {name} {count} outside 0..999")
    if (r.network_error_code is not None
            and len(r.network_error_code) != _NETWORK_ERROR_CODE_LENGTH):
        raise ValueError("network_error_code must be 3 octets (type, error Int2)")


def format_receipt(r: Receipt, *, date_digits: Literal[10, 12] = 10) -> str:
    if r.submit_date is None or r.done_date is None:
        raise ValueError("a receipt text needs both submit and done dates")
    return (f"id:{r.message_id} sub:{r.submitted:03d} dlvrd:{r.delivered:03d}"
            f" submit date:{format_receipt_date(r.submit_date, date_digits)}"
            f" done date:{format_receipt_date(r.done_date, date_digits)}"
            f" stat:{r.stat} err:{r.error} text:{r.text[:TEXT_LENGTH]}")


def receipt_tlvs(r: Receipt) -> dict[str, int | str | bytes]:
    tlvs: dict[str, int | str | bytes] = {
        "receipted_message_id": r.message_id,
        "message_state": int(r.state),
    }
    if r.network_error_code is not None:
        tlvs["network_error_code"] = r.network_error_code
    return tlvs


def _text_fields(text: str) -> dict[str, str]:
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
    fields = _text_fields(text) if text else {}
    message_id = _tlv_id(tlvs) or _first_token(fields.get("id"))
    if message_id is None or len(message_id) > MAX_ID_LENGTH:
        return None
    word = _first_token(fields.get("stat"))
    tlv_state = _tlv_state(tlvs)
    if tlv_state is not None:
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


# smscd/dlr_pdus.py ----------------------------------------------------------------------

def customer_receipt(message: Message, receipt: Receipt, part_index: int = 0,
                     now: float | None = None) -> DeliverSm:
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
    if not message.parts or message.data_coding not in (0, 1, 3):
        return ""
    body = message.parts[min(part_index, len(message.parts) - 1)].short_message
    if message.parts[0].esm_class & 0x40 and body:
        body = body[body[0] + 1:]
    return "".join(c if 32 <= ord(c) < 127 and c != ":" else " "
                   for c in body[:20].decode("latin-1")).strip()
