"""replace_sm's times (smscd/smpp_replace.py): which value the message keeps or gets, and
which status each impossible combination is refused with."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from smscd.message import Address, Message, Part
from smscd.smpp import pdu as P
from smscd.smpp.errors import InvalidPdu
from smscd.smpp.smpp_time import format_absolute
from smscd.smpp.status import CommandStatus as S
from smscd.smpp_replace import parse_replace_times, replaced_times

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
T = NOW.timestamp()
HOUR = 3600.0


def _message(schedule_at: float | None, expires_at: float | None) -> Message:
    return Message("m1", "alice", Address("SHOP"), Address("33600000001"), (Part(b"x"),),
                   T - 10, schedule_at=schedule_at, expires_at=expires_at)


def _times(schedule: str = "", validity: str = "") -> tuple[float | None, float | None]:
    return replaced_times(_message(T + HOUR, T + 3 * HOUR), parse_replace_times(
        P.ReplaceSm(message_id="m1", schedule_delivery_time=schedule,
                    validity_period=validity), NOW))


@pytest.mark.parametrize("schedule, validity, expected", [
    ("", "", (T + HOUR, T + 3 * HOUR)),                                 # both kept
    ("000000020000000R", "", (T + 2 * HOUR, T + 3 * HOUR)),             # relative to now
    ("", "000000050000000R", (T + HOUR, T + 5 * HOUR)),
    (format_absolute(NOW + timedelta(minutes=30)), "", (T + HOUR / 2, T + 3 * HOUR)),
    (format_absolute(NOW - timedelta(hours=1)), "", (T - HOUR, T + 3 * HOUR)),  # past = now
    ("000000040000000R", "000000050000000R", (T + 4 * HOUR, T + 5 * HOUR)),
])
def test_given_times_replace_empty_ones_keep(schedule: str, validity: str,
                                             expected: tuple[float, float]) -> None:
    """Breaks if an empty field does not keep the current value or a given one (absolute
    or relative to the replace's arrival) is not taken."""
    assert _times(schedule, validity) == expected


@pytest.mark.parametrize("schedule, validity, status", [
    ("", format_absolute(NOW - timedelta(seconds=1)), S.ESME_RINVEXPIRY),   # already past
    ("", "000000000000000R", S.ESME_RINVEXPIRY),                            # now is past
    ("261301120000000+", "", S.ESME_RINVSCHED),                             # month 13
    ("", "26112312000000-R", S.ESME_RINVEXPIRY),                            # malformed
    ("000000040000000R", "", S.ESME_RINVSCHED),          # schedule after the kept validity
    ("", "000000003000000R", S.ESME_RINVEXPIRY),         # validity before the kept schedule
    ("000000050000000R", "000000040000000R", S.ESME_RINVEXPIRY),   # as submit_sm answers
])
def test_impossible_times_are_refused_with_their_status(schedule: str, validity: str,
                                                        status: int) -> None:
    """Breaks if a replace that would leave the message expiring before it is scheduled,
    or with a past or malformed time, is not refused with the field's status."""
    with pytest.raises(InvalidPdu) as raised:
        _times(schedule, validity)
    assert raised.value.status == status


def test_unscheduled_message_without_validity_keeps_none() -> None:
    """Breaks if an empty field invents a schedule or an expiry the message did not have."""
    times = parse_replace_times(P.ReplaceSm(message_id="m1"), NOW)
    assert replaced_times(_message(None, None), times) == (None, None)
