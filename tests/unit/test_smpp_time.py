"""SMPP absolute/relative times (TIM-01..06) and receipt dates."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smscd.smpp.errors import InvalidPdu
from smscd.smpp.smpp_time import (
    RelativeTime,
    format_absolute,
    format_receipt_date,
    format_relative,
    parse_receipt_date,
    parse_relative,
    parse_smpp_time,
)
from smscd.smpp.status import CommandStatus

UTC = timezone.utc
NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
SCHED = CommandStatus.ESME_RINVSCHED
EXPIRY = CommandStatus.ESME_RINVEXPIRY
STATUSES = [SCHED, EXPIRY]


def test_spec_absolute_example() -> None:
    """TIM-02: 14:30 local at UTC+03:00 must be 11:30 UTC; a sign error shifts every schedule."""
    got = parse_smpp_time("261122143000012+", NOW, status=SCHED)
    assert got == datetime(2026, 11, 22, 11, 30, tzinfo=UTC)
    assert got is not None and got.utcoffset() == timedelta(0)


def test_negative_offset_and_tenths() -> None:
    """A '-' offset is behind UTC, and the tenths digit must survive."""
    got = parse_smpp_time("261122143000716-", NOW, status=SCHED)
    assert got == datetime(2026, 11, 22, 18, 30, 0, 700_000, tzinfo=UTC)


def test_year_mapping_is_2000_to_2099() -> None:
    """TIM-06: 00 must be 2000 and 99 must be 2099, not 1999."""
    assert parse_smpp_time("000101000000000+", NOW, status=SCHED) == datetime(2000, 1, 1, tzinfo=UTC)
    assert parse_smpp_time("991231235959900+", NOW, status=SCHED) == datetime(
        2099, 12, 31, 23, 59, 59, 900_000, tzinfo=UTC)


def test_maximum_offset() -> None:
    """Offsets up to 48 quarter hours (12 h) are valid."""
    assert parse_smpp_time("261122120000048+", NOW, status=SCHED) == datetime(
        2026, 11, 22, 0, 0, tzinfo=UTC)
    assert parse_smpp_time("261122120000048-", NOW, status=SCHED) == datetime(
        2026, 11, 23, 0, 0, tzinfo=UTC)


def test_spec_relative_example() -> None:
    """TIM-03: the spec's relative example must read as its six counts."""
    assert parse_relative("020610233429000R", status=EXPIRY) == RelativeTime(2, 6, 10, 23, 34, 29)


def test_relative_is_added_to_now() -> None:
    """A relative validity must count from the injected now, not from a wall clock."""
    got = parse_smpp_time("000007000000000R", NOW, status=EXPIRY)
    assert got == NOW + timedelta(days=7)


def test_relative_spec_example_on_the_calendar() -> None:
    """Years and months are calendar steps; days, hours, minutes and seconds are exact."""
    got = parse_smpp_time("020610233429000R", NOW, status=EXPIRY)
    assert got == datetime(2029, 6, 2, 11, 34, 29, tzinfo=UTC)   # 2029-05-22 12:00 + 10d 23:34:29


def test_relative_month_clamps_to_month_end() -> None:
    """Jan 31 + 1 month must be Feb 28, not an exception or March 3."""
    now = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
    assert parse_smpp_time("000100000000000R", now, status=EXPIRY) == datetime(
        2027, 2, 28, 10, 0, tzinfo=UTC)


def test_relative_from_non_utc_now_is_utc() -> None:
    """Results are always UTC so callers can compare them with each other."""
    now = datetime(2026, 11, 22, 15, 0, tzinfo=timezone(timedelta(hours=3)))
    got = parse_smpp_time("000000010000000R", now, status=EXPIRY)
    assert got == datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
    assert got is not None and got.tzinfo == UTC


def test_relative_ignores_tenths_and_offset() -> None:
    """TIM-03: t and nn are ignored in relative times."""
    assert parse_relative("000001000000512R", status=EXPIRY) == RelativeTime(0, 0, 1, 0, 0, 0)


def test_relative_counts_are_not_clock_ranges() -> None:
    """A relative '48 hours' is a valid duration, not an out-of-range hour."""
    got = parse_smpp_time("000000480000000R", NOW, status=EXPIRY)
    assert got == NOW + timedelta(hours=48)


def test_relative_nominal_duration() -> None:
    """nominal() must use 365-day years and 30-day months, the same lengths format_relative uses."""
    assert RelativeTime(1, 2, 3, 4, 5, 6).nominal() == timedelta(
        days=365 + 60 + 3, hours=4, minutes=5, seconds=6)


def test_empty_means_immediate() -> None:
    """TIM-01: the NULL time is "immediate/default", not an error."""
    assert parse_smpp_time("", NOW, status=SCHED) is None


def test_naive_now_is_a_caller_bug() -> None:
    """A naive now would silently mix local and UTC times."""
    with pytest.raises(ValueError):
        parse_smpp_time("", datetime(2026, 1, 1), status=SCHED)


BAD_TIMES = [
    ("26112214300001+", "characters"),        # 15 chars
    ("2611221430000120+", "characters"),      # 17 chars
    ("261122143000012", "characters"),        # no sign
    ("261122143000012 ", "last character"),
    ("261122143000012Z", "last character"),
    ("261122143000012r", "last character"),
    ("2611221430000120", "last character"),
    ("2a1122143000012+", "year"),
    ("261322143000012+", "month"),
    ("261022143000012+", None),               # valid control row, see test below
    ("261100143000012+", "day"),
    ("261132143000012+", "day"),
    ("260230143000012+", "day"),              # 30 February
    ("270229120000000+", "day"),              # 2027 is not a leap year
    ("261122243000012+", "hour"),
    ("261122146000012+", "minute"),
    ("261122143060012+", "second"),
    ("261122143000x12+", "tenths"),
    ("26112214300x012+", "second"),
    ("261122143000049+", "offset"),
    ("261122143000099-", "offset"),
    ("2611221430000a2+", "offset"),
    ("２61122143000012+", "year"),            # full-width digit
    ("26112214300001²+", "offset"),
    ("0206102334290x0R", "offset"),
    ("02061023342x000R", "second"),
    ("0206102334290 0R", "offset"),
    ("-20610233429000R", "years"),
    ("020610233429x00R", "tenths"),
]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize(("value", "named"), [b for b in BAD_TIMES if b[1] is not None])
def test_bad_times_raise_with_the_callers_status(value: str, named: str, status: CommandStatus) -> None:
    """TIM-04: a bad field must be answered with the status of the field it came in."""
    with pytest.raises(InvalidPdu) as caught:
        parse_smpp_time(value, NOW, status=status)
    assert caught.value.status == status
    assert named in caught.value.detail


def test_control_row_is_valid() -> None:
    """Guards the table above: its only valid row must parse."""
    assert parse_smpp_time("261022143000012+", NOW, status=SCHED) is not None


@pytest.mark.parametrize("status", STATUSES)
def test_parse_relative_rejects_absolute(status: CommandStatus) -> None:
    """parse_relative on an absolute time must fail with the caller's status, not return counts."""
    with pytest.raises(InvalidPdu) as caught:
        parse_relative("261122143000012+", status=status)
    assert caught.value.status == status


@pytest.mark.parametrize("status", STATUSES)
def test_relative_past_year_9999_is_invalid(status: CommandStatus) -> None:
    """An overflow must be a protocol error with the caller's status, not an OverflowError."""
    now = datetime(9950, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidPdu) as caught:
        parse_smpp_time("990000000000000R", now, status=status)
    assert caught.value.status == status


@given(st.text(max_size=20), st.sampled_from(STATUSES))
def test_garbage_only_raises_invalid_pdu(value: str, status: CommandStatus) -> None:
    """Whatever the peer sends, the only failure is InvalidPdu carrying the caller's status."""
    try:
        parse_smpp_time(value, NOW, status=status)
    except InvalidPdu as e:
        assert e.status == status


@given(st.from_regex(r"\A[0-9]{15}[+\-R]\Z"), st.sampled_from(STATUSES))
def test_well_shaped_values_only_raise_invalid_pdu(value: str, status: CommandStatus) -> None:
    """Digit strings with a valid sign reach the range checks; those too raise only InvalidPdu."""
    try:
        got = parse_smpp_time(value, NOW, status=status)
    except InvalidPdu as e:
        assert e.status == status
    else:
        assert got is not None and got.tzinfo == UTC


# Round trips -------------------------------------------------------------------------------

offsets = st.integers(min_value=-48, max_value=48)
utc_instants = st.datetimes(min_value=datetime(2000, 1, 1, 12), max_value=datetime(2099, 12, 31, 11),
                            timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=d.microsecond // 100_000 * 100_000))
zones = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda m: timezone(timedelta(minutes=m)))


@given(utc_instants, zones, offsets)
def test_absolute_round_trip(instant: datetime, zone: timezone, quarters: int) -> None:
    """Any aware time with whole tenths, written at any quarter-hour offset, reads back as the same instant."""
    text = format_absolute(instant.astimezone(zone), quarters)
    assert len(text) == 16
    assert parse_smpp_time(text, NOW, status=SCHED) == instant


@given(utc_instants)
def test_absolute_truncates_below_tenths(instant: datetime) -> None:
    """Sub-tenth precision is dropped, never rounded up into the next tenth or second."""
    text = format_absolute(instant + timedelta(microseconds=99_999))
    assert parse_smpp_time(text, NOW, status=SCHED) == instant


def test_format_absolute_spec_example() -> None:
    """The spec's example must be produced exactly."""
    assert format_absolute(datetime(2026, 11, 22, 11, 30, tzinfo=UTC), 12) == "261122143000012+"
    assert format_absolute(datetime(2026, 11, 22, 18, 30, 0, 700_000, tzinfo=UTC), -16) == \
        "261122143000716-"


@pytest.mark.parametrize(("dt", "quarters"), [
    (datetime(2026, 1, 1), 0),                                  # naive
    (datetime(2026, 1, 1, tzinfo=UTC), 49),
    (datetime(2026, 1, 1, tzinfo=UTC), -49),
    (datetime(1999, 12, 31, 23, tzinfo=UTC), 0),
    (datetime(2099, 12, 31, 23, tzinfo=UTC), 4),                # 2100 locally
])
def test_format_absolute_refuses_what_it_cannot_write(dt: datetime, quarters: int) -> None:
    """format_absolute output is always valid, so impossible inputs must raise instead."""
    with pytest.raises(ValueError):
        format_absolute(dt, quarters)


max_nominal = timedelta(days=99 * 365 + 364, hours=23, minutes=59, seconds=59)
whole_seconds = st.integers(min_value=0, max_value=int(max_nominal.total_seconds())).map(
    lambda s: timedelta(seconds=s))
short_durations = st.integers(min_value=0, max_value=100 * 86400 - 1).map(
    lambda s: timedelta(seconds=s))


@given(whole_seconds)
def test_relative_round_trip(td: timedelta) -> None:
    """Any whole-second duration up to 99 nominal years formats and reads back to itself."""
    text = format_relative(td)
    assert len(text) == 16 and text.endswith("000R")
    assert parse_relative(text, status=EXPIRY).nominal() == td


@given(short_durations)
def test_short_relative_round_trip_through_parse_smpp_time(td: timedelta) -> None:
    """Up to 99 days no years/months are written, so the SMSC's result is exactly now + td."""
    text = format_relative(td)
    assert text[:4] == "0000"
    assert parse_smpp_time(text, NOW, status=EXPIRY) == NOW + td


def test_format_relative_examples() -> None:
    """Expected layouts: plain days up to 99, nominal years/months beyond."""
    assert format_relative(timedelta(days=7)) == "000007000000000R"
    assert format_relative(timedelta(days=99, hours=23, minutes=59, seconds=59)) == "000099235959000R"
    assert format_relative(timedelta(days=100)) == "000310000000000R"
    assert format_relative(timedelta(days=365 + 45, seconds=1)) == "010115000001000R"


@pytest.mark.parametrize("td", [timedelta(seconds=-1), timedelta(milliseconds=1500),
                                max_nominal + timedelta(seconds=1)])
def test_format_relative_refuses_what_it_cannot_write(td: timedelta) -> None:
    """Negative, sub-second and over-99-year durations have no relative form."""
    with pytest.raises(ValueError):
        format_relative(td)


# Receipt dates ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("2611221200", datetime(2026, 11, 22, 12, 0)),
    ("261122120059", datetime(2026, 11, 22, 12, 0, 59)),
    ("20261122120059", datetime(2026, 11, 22, 12, 0, 59)),
    (" 2611221200 ", datetime(2026, 11, 22, 12, 0)),
    ("0001010000", datetime(2000, 1, 1)),
])
def test_receipt_dates(text: str, expected: datetime) -> None:
    """TIM-05/DLR-02: 10, 12 and 14-digit receipt dates read as naive local times."""
    assert parse_receipt_date(text) == expected


@pytest.mark.parametrize("text", ["", "ND", "261122120", "26112212000", "2611221200591",
                                  "261322120000", "261122250000", "2602301200", "２611221200",
                                  "2611221200 00"])
def test_unreadable_receipt_dates_are_none(text: str) -> None:
    """A bad receipt date reads as None so the rest of the receipt is kept."""
    assert parse_receipt_date(text) is None


@given(st.text(max_size=16))
def test_receipt_date_garbage_never_raises(text: str) -> None:
    """No vendor date may raise: that would drop the receipt."""
    got = parse_receipt_date(text)
    assert got is None or got.tzinfo is None


receipt_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59))


@given(receipt_times)
def test_receipt_date_round_trip(dt: datetime) -> None:
    """10 digits keep the minute, 12 digits keep the second."""
    assert parse_receipt_date(format_receipt_date(dt)) == dt.replace(second=0, microsecond=0)
    assert parse_receipt_date(format_receipt_date(dt, 12)) == dt.replace(microsecond=0)


def test_receipt_date_uses_the_wall_clock_given() -> None:
    """Receipt dates are the SMSC's local time: an aware value is written as its own wall clock."""
    dt = datetime(2026, 11, 22, 14, 30, tzinfo=timezone(timedelta(hours=3)))
    assert format_receipt_date(dt) == "2611221430"


def test_receipt_date_refuses_three_digit_centuries() -> None:
    """Years outside 2000-2099 cannot be written with two digits."""
    with pytest.raises(ValueError):
        format_receipt_date(datetime(1999, 12, 31))
