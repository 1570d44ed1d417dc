# tests: tests/unit/test_smpp_time.py
"""SMPP time fields (3.4 §7.1, 5.0 §4.7.23.4) and the dates inside delivery receipts.

Rules:
- schedule_delivery_time / validity_period are "" (immediate / SMSC default) or 16 characters
  `YYMMDDhhmmsstnnp`. p is `+`/`-` (absolute; nn = offset of the local time from UTC in quarter
  hours, 00..48) or `R` (relative; t and nn are ignored).
- Every wrong length, character or range raises InvalidPdu with the status the caller passes
  (ESME_RINVSCHED for schedule_delivery_time, ESME_RINVEXPIRY for validity_period, 5.0 §4.7.6).
  The detail names the problem; it is for logs, never sent to the peer.
- Two-digit years are 2000-2099, both ways (the spec's "xx38" rollover is for 1999 clients;
  none are left). Absolute times come back as aware UTC datetimes.
- A relative time is a calendar duration: years and months are added to `now` on the
  calendar (day clamped to the end of a short month), then days/hours/minutes/seconds.
  Each relative field accepts 00..99: it is a count, so "48 hours" is unambiguous.
  `RelativeTime.nominal()` uses 365-day years and 30-day months, for caps and formatting only.
- `format_relative` writes days/hours/minutes/seconds when the duration is at most 99 days,
  and nominal years/months beyond that; the SMSC applies it to its own clock anyway.
- Receipt dates (`submit date:`/`done date:`) are the SMSC's local wall-clock time with no
  zone: read 10 (YYMMDDhhmm), 12 (+ss) or 14 (YYYYMMDDhhmmss) digits into a naive datetime,
  and return None, not an error, for anything else: a bad date must not lose a receipt.
"""
from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone
from typing import Literal, NamedTuple

from .errors import InvalidPdu
from .status import CommandStatus

TIME_LENGTH = 16
MAX_OFFSET_QUARTERS = 48
_CENTURY = 2000
_NOMINAL_YEAR_DAYS = 365
_NOMINAL_MONTH_DAYS = 30
_MAX_PLAIN_DAYS = 99
_TENTH_US = 100_000

_RECEIPT_DATE = re.compile(r"[0-9]{10}(?:[0-9]{2}){0,2}", re.ASCII)
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))
# Receipts of one minute share their date strings, so readable dates are kept (datetimes are
# immutable: sharing them is safe). Cleared when full rather than LRU: a miss costs one parse
# (about 2 us), a hit one dict lookup. Unreadable dates are not kept; they are rare.
_RECEIPT_DATES: dict[str, datetime] = {}
_RECEIPT_DATES_MAX = 1024


class RelativeTime(NamedTuple):
    """The six counts of a relative (`R`) time, so callers can cap them before use."""

    years: int
    months: int
    days: int
    hours: int
    minutes: int
    seconds: int

    def add_to(self, now: datetime) -> datetime:
        """`now` plus this duration, with calendar years and months (rules above)."""
        month_index = now.month - 1 + self.months
        year = now.year + self.years + month_index // 12
        month = month_index % 12 + 1
        day = min(now.day, calendar.monthrange(year, month)[1])
        shifted = now.replace(year=year, month=month, day=day)
        return shifted + timedelta(days=self.days, hours=self.hours,
                                   minutes=self.minutes, seconds=self.seconds)

    def nominal(self) -> timedelta:
        """The duration with 365-day years and 30-day months: for caps, not for scheduling."""
        days = self.years * _NOMINAL_YEAR_DAYS + self.months * _NOMINAL_MONTH_DAYS + self.days
        return timedelta(days=days, hours=self.hours, minutes=self.minutes, seconds=self.seconds)


def _two_digits(value: str, pos: int, name: str, low: int, high: int, status: CommandStatus) -> int:
    """Read the two digits at `pos`, checking them against [low, high]."""
    chunk = value[pos:pos + 2]
    if not (chunk.isascii() and chunk.isdigit()):
        raise InvalidPdu(f"time {value!r}: {name} {chunk!r} at position {pos} is not two digits",
                         status)
    number = int(chunk)
    if not low <= number <= high:
        raise InvalidPdu(f"time {value!r}: {name} {number:02d} outside {low:02d}..{high:02d}",
                         status)
    return number


def _check_shape(value: str, status: CommandStatus) -> str:
    """Length and the final character, the checks every form shares; returns p."""
    if len(value) != TIME_LENGTH:
        raise InvalidPdu(f"time {value!r}: {len(value)} characters, expected {TIME_LENGTH} or none",
                         status)
    p = value[-1]
    if p not in "+-R":
        raise InvalidPdu(f"time {value!r}: last character {p!r} is not '+', '-' or 'R'", status)
    if not (value[12].isascii() and value[12].isdigit()):
        raise InvalidPdu(f"time {value!r}: tenths {value[12]!r} is not a digit", status)
    return p


def parse_relative(value: str, *, status: CommandStatus) -> RelativeTime:
    """Read a relative (`...R`) time; anything else raises InvalidPdu(status)."""
    if _check_shape(value, status) != "R":
        raise InvalidPdu(f"time {value!r}: not a relative time (no trailing 'R')", status)
    _two_digits(value, 13, "offset", 0, 99, status)      # ignored, but must still be digits
    years, months, days, hours, minutes, seconds = (
        _two_digits(value, pos, name, 0, 99, status)
        for pos, name in ((0, "years"), (2, "months"), (4, "days"),
                          (6, "hours"), (8, "minutes"), (10, "seconds")))
    return RelativeTime(years, months, days, hours, minutes, seconds)


def _parse_absolute(value: str, p: str, status: CommandStatus) -> datetime:
    yy = _two_digits(value, 0, "year", 0, 99, status)
    month = _two_digits(value, 2, "month", 1, 12, status)
    day = _two_digits(value, 4, "day", 1, 31, status)
    hour = _two_digits(value, 6, "hour", 0, 23, status)
    minute = _two_digits(value, 8, "minute", 0, 59, status)
    second = _two_digits(value, 10, "second", 0, 59, status)
    tenths = int(value[12])
    quarters = _two_digits(value, 13, "UTC offset", 0, MAX_OFFSET_QUARTERS, status)
    year = _CENTURY + yy
    if day > calendar.monthrange(year, month)[1]:
        raise InvalidPdu(f"time {value!r}: day {day:02d} does not exist in {year}-{month:02d}",
                         status)
    sign = 1 if p == "+" else -1
    zone = timezone(timedelta(minutes=sign * quarters * 15))
    local = datetime(year, month, day, hour, minute, second, tenths * _TENTH_US, tzinfo=zone)
    return local.astimezone(timezone.utc)


def parse_smpp_time(value: str, now: datetime, *, status: CommandStatus) -> datetime | None:
    """An SMPP time as an aware UTC datetime; None for "" (immediate / SMSC default).

    `now` (aware) is the base of relative times; `status` is what a bad value is answered with.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if value == "":
        return None
    p = _check_shape(value, status)
    if p != "R":
        return _parse_absolute(value, p, status)
    relative = parse_relative(value, status=status)
    try:
        return relative.add_to(now.astimezone(timezone.utc))
    except (OverflowError, ValueError):
        raise InvalidPdu(f"time {value!r}: relative time runs past year 9999", status) from None


def format_absolute(dt: datetime, offset_quarters: int = 0) -> str:
    """`dt` as `YYMMDDhhmmsstnnp` in the zone UTC+offset_quarters*15min; tenths are truncated."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("format_absolute needs an aware datetime")
    if not -MAX_OFFSET_QUARTERS <= offset_quarters <= MAX_OFFSET_QUARTERS:
        raise ValueError(f"offset {offset_quarters} quarter hours outside "
                         f"-{MAX_OFFSET_QUARTERS}..{MAX_OFFSET_QUARTERS}")
    local = dt.astimezone(timezone(timedelta(minutes=15 * offset_quarters)))
    if not _CENTURY <= local.year <= _CENTURY + 99:
        raise ValueError(f"year {local.year} cannot be written with two digits (2000-2099)")
    sign = "+" if offset_quarters >= 0 else "-"
    return (f"{local:%y%m%d%H%M%S}{local.microsecond // _TENTH_US}"
            f"{abs(offset_quarters):02d}{sign}")


def format_relative(td: timedelta) -> str:
    """`td` as `YYMMDDhhmmss000R`: whole seconds only; nominal years/months past 99 days."""
    if td < timedelta(0):
        raise ValueError(f"relative time {td} is negative")
    if td.microseconds:
        raise ValueError(f"relative time {td} is not a whole number of seconds")
    years = months = 0
    days = td.days
    if days > _MAX_PLAIN_DAYS:
        years, days = divmod(days, _NOMINAL_YEAR_DAYS)
        months, days = divmod(days, _NOMINAL_MONTH_DAYS)
    if years > 99:
        raise ValueError(f"relative time {td} exceeds 99 years")
    hours, rest = divmod(td.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{years:02d}{months:02d}{days:02d}{hours:02d}{minutes:02d}{seconds:02d}000R"


def format_receipt_date(dt: datetime, digits: Literal[10, 12] = 10) -> str:
    """A receipt date from `dt`'s wall clock as given: YYMMDDhhmm, or YYMMDDhhmmss with 12."""
    year = dt.year - _CENTURY
    if not 0 <= year <= 99:
        raise ValueError(f"year {dt.year} cannot be written with two digits (2000-2099)")
    # Table lookups, not strftime: this runs twice for every receipt we write (10x faster).
    two = _TWO_DIGITS
    if digits == 10:
        return f"{two[year]}{two[dt.month]}{two[dt.day]}{two[dt.hour]}{two[dt.minute]}"
    if digits == 12:
        return (f"{two[year]}{two[dt.month]}{two[dt.day]}{two[dt.hour]}{two[dt.minute]}"
                f"{two[dt.second]}")
    raise ValueError(f"receipt dates have 10 or 12 digits, not {digits}")


def parse_receipt_date(s: str) -> datetime | None:
    """A receipt date (10, 12 or 14 digits) as a naive local datetime, or None if unreadable."""
    cached = _RECEIPT_DATES.get(s)
    if cached is not None:
        return cached
    token = s.strip()
    if not _RECEIPT_DATE.fullmatch(token):
        return None
    if len(token) == 14:
        year, rest = int(token[:4]), token[4:]
    else:
        year, rest = _CENTURY + int(token[:2]), token[2:]
    fields = [int(rest[i:i + 2]) for i in range(0, len(rest), 2)]
    month, day, hour, minute = fields[:4]
    second = fields[4] if len(fields) > 4 else 0
    try:
        parsed = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if len(token) == len(s):    # bare digits only, so every key is at most 14 characters
        if len(_RECEIPT_DATES) >= _RECEIPT_DATES_MAX:
            _RECEIPT_DATES.clear()
        _RECEIPT_DATES[s] = parsed
    return parsed
