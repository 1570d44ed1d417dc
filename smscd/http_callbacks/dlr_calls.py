# tests: tests/unit/test_http_callback_calls.py
"""Which receipt callbacks a message sent over HTTP gets, with Jasmin's parameters.

Rules (../shared/reference/jasmin.md §4.5; the message's `extra` from http_api/build.py):
- Only messages with origin "http" and a dlr-url get callbacks; dlr-level 1 means the
  vendor's answer to submit_sm, 2 the receipt, 3 both; dlr-method GET or POST.
- Level 1 (`level_one`): id, message_status (`ESME_ROK`, or the vendor's error status
  name), level=1, connector.
- Level 2 (`level_two`): id, message_status (the receipt's stat word), level=2, id_smsc,
  sub, dlvrd, subdate, donedate, err, text (`ND` for what the receipt lacks), connector.
- A part that failed here, without a vendor receipt (refused by the vendor, retries run
  out), gets a level-1 callback with the vendor's error when level 1 was asked for, else
  a level-2 callback with its final stat word, so a client waiting for either hears of
  the failure.
- `id` is our message id for every part. Every part is reported (fix: Jasmin reports only
  the last part of a long message); a message of several parts adds `part` (1-based) and
  `parts`, which Jasmin clients ignore.
Pure: no Twisted.
"""
from __future__ import annotations

from datetime import datetime, timezone

from smscd.http_api.build import DLR_LEVEL, DLR_METHOD, DLR_URL
from smscd.message import Message
from smscd.smpp.message_state import MessageState, is_final, stat_word
from smscd.smpp.receipt import Receipt
from smscd.smpp.smpp_time import format_receipt_date
from smscd.smpp.status import status_name

from .calls import Call

ND = "ND"


def _level(message: Message) -> int:
    if message.origin != "http" or DLR_URL not in message.extra:
        return 0
    return int(message.extra.get(DLR_LEVEL, "1"))


def _call(message: Message, part_index: int, params: list[tuple[str, str]],
          kind: str) -> Call:
    if len(message.parts) > 1:
        params += [("part", str(part_index + 1)), ("parts", str(len(message.parts)))]
    return Call(message.extra[DLR_URL], message.extra.get(DLR_METHOD, "POST"),
                tuple(params), f"{kind} {message.id}:{part_index}")


def level_one(message: Message, part_index: int, status: str, connector: str) -> Call | None:
    """The level-1 callback for the vendor's answer to one part, if it is wanted."""
    if _level(message) not in (1, 3):
        return None
    return _call(message, part_index, [("id", message.id), ("message_status", status),
                                       ("level", "1"), ("connector", connector)], "dlr1")


def level_two(message: Message, part_index: int, receipt: Receipt) -> Call | None:
    """The level-2 callback for a vendor receipt of one part, if it is wanted."""
    if _level(message) not in (2, 3):
        return None
    return _call(message, part_index, [
        ("id", message.id), ("message_status", receipt.stat), ("level", "2"),
        ("id_smsc", receipt.message_id), ("sub", f"{receipt.submitted:03d}"),
        ("dlvrd", f"{receipt.delivered:03d}"), ("subdate", _date(receipt.submit_date)),
        ("donedate", _date(receipt.done_date)), ("err", receipt.error),
        ("text", receipt.text or ND), ("connector", message.connector)], "dlr2")


def for_state(message: Message, part_index: int, state: MessageState, error: str,
              receipt: Receipt | None, at: float) -> Call | None:
    """The callback for a part's new state (see the rules), if any is wanted."""
    if receipt is not None:
        return level_two(message, part_index, receipt)
    if not is_final(state):
        return None
    level = _level(message)
    if level in (1, 3):
        return level_one(message, part_index, _status_of(error), message.connector)
    if level == 2:
        done = datetime.fromtimestamp(at, timezone.utc)
        return level_two(message, part_index, Receipt(
            message_id=ND, state=state, stat=stat_word(state), submitted=1, delivered=0,
            done_date=done, error=error if error.isalnum() and len(error) <= 3 else "000"))
    return None


def _status_of(error: str) -> str:
    """Our failures carry the vendor's status as three hex digits (connectors.mt_pdus)."""
    try:
        return status_name(int(error, 16))
    except ValueError:
        return error or "ESME_RUNKNOWNERR"


def _date(when: datetime | None) -> str:
    if when is None:
        return ND
    try:
        return format_receipt_date(when)
    except ValueError:          # outside 2000-2099: two digits cannot say it
        return ND
