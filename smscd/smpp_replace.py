# tests: tests/integration/test_smpp_cancel_replace.py, tests/unit/test_smpp_replace.py
"""replace_sm's schedule_delivery_time and validity_period (SMPP 3.4 §4.10.1).

Rules:
- The times are read by `parse_smpp_time`, the parser submit_sm uses (validate.py), with
  the same statuses: ESME_RINVSCHED for schedule_delivery_time, ESME_RINVEXPIRY for
  validity_period; relative (`R`) times count from the replace_sm's arrival.
- An empty field keeps the message's current value (§4.10.1: "set to NULL" = unchanged).
- A validity_period already past is ESME_RINVEXPIRY, as for submit_sm. The message must
  still expire after it is scheduled: if not, the field the replace_sm changed is wrong
  (ESME_RINVEXPIRY when it gave a validity_period, as submit_sm answers; ESME_RINVSCHED
  when it moved only the schedule past the validity it kept).
- The result is the message's new `schedule_at` / `expires_at` (epoch seconds, as
  submit_sm's build_message stores them); MessageLog.replace moves the queue entry's ready
  time and expiry to them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from smscd.message import Message
from smscd.smpp import pdu as P
from smscd.smpp.errors import InvalidPdu
from smscd.smpp.smpp_time import parse_smpp_time
from smscd.smpp.status import CommandStatus as S


@dataclass(frozen=True, slots=True)
class ReplaceTimes:
    """The times a replace_sm gives, as aware UTC datetimes; None keeps the current one."""
    schedule_delivery_time: datetime | None
    validity_period: datetime | None


def parse_replace_times(pdu: P.ReplaceSm, now: datetime) -> ReplaceTimes:
    """Checks that need no message (format, validity already past); raises InvalidPdu."""
    schedule = parse_smpp_time(pdu.schedule_delivery_time, now, status=S.ESME_RINVSCHED)
    validity = parse_smpp_time(pdu.validity_period, now, status=S.ESME_RINVEXPIRY)
    if validity is not None and validity <= now:
        raise InvalidPdu("validity_period is already in the past", S.ESME_RINVEXPIRY)
    return ReplaceTimes(schedule, validity)


def replaced_times(message: Message, times: ReplaceTimes) -> tuple[float | None, float | None]:
    """(schedule_at, expires_at) of `message` after the replace; raises InvalidPdu when
    the message would expire before it is scheduled."""
    schedule, validity = times.schedule_delivery_time, times.validity_period
    schedule_at = message.schedule_at if schedule is None else schedule.timestamp()
    expires_at = message.expires_at if validity is None else validity.timestamp()
    if schedule_at is not None and expires_at is not None and expires_at <= schedule_at:
        if validity is not None:
            raise InvalidPdu("validity_period ends before the message is scheduled",
                             S.ESME_RINVEXPIRY)
        raise InvalidPdu("schedule_delivery_time is after the message's validity",
                         S.ESME_RINVSCHED)
    return schedule_at, expires_at
