"""Every filter kind: what it matches, its Jasmin repr, where it is valid, and bad input."""
from datetime import date, datetime, time, timezone

import pytest

from routing.errors import RuleError
from routing.filters import (AnyOfFilter, ConnectorFilter, DataCodingFilter, DateIntervalFilter,
                             DestinationAddrFilter, GroupFilter, NotFilter, PriorityFilter,
                             ShortMessageFilter, SourceAddrFilter, TagFilter, TimeIntervalFilter,
                             TransparentFilter, UserFilter, needs_content, routes_label, show,
                             valid_for)
from routing.routable import MO, MT, Routable

NOON = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)


def mt(**kw: object) -> Routable:
    return Routable(direction=MT, at=kw.pop("at", NOON), **kw)  # type: ignore[arg-type]


def test_transparent_matches_everything() -> None:
    f = TransparentFilter("t")
    assert f.matches(mt()) and f.describe() == "<T>"
    assert routes_label(f) == "MO MT"


def test_user_group_connector_compare_ids() -> None:
    """Breaks if the identity filters compare the wrong Routable field."""
    assert UserFilter("u", "foo").matches(mt(user="foo"))
    assert not UserFilter("u", "foo").matches(mt(user="bar", group="foo"))
    assert GroupFilter("g", "mkt").matches(mt(group="mkt"))
    assert not GroupFilter("g", "mkt").matches(mt(user="mkt"))
    mo = Routable(direction=MO, at=NOON, connector="smppc1")
    assert ConnectorFilter("c", "smppc1").matches(mo)
    assert not ConnectorFilter("c", "smppc2").matches(mo)
    assert UserFilter("u", "foo").describe() == "<U (uid=foo)>"
    assert GroupFilter("g", "mkt").describe() == "<G (gid=mkt)>"
    assert ConnectorFilter("c", "x").describe() == "<C (cid=x)>"


def test_directions_follow_jasmin_table() -> None:
    """Jasmin §5.3: User/Group MT only, Connector MO only, the rest both."""
    assert valid_for(UserFilter("u", "a"), MT) and not valid_for(UserFilter("u", "a"), MO)
    assert valid_for(GroupFilter("g", "a"), MT) and not valid_for(GroupFilter("g", "a"), MO)
    assert valid_for(ConnectorFilter("c", "a"), MO) and not valid_for(ConnectorFilter("c", "a"), MT)
    assert routes_label(UserFilter("u", "a")) == "MT"
    assert routes_label(ConnectorFilter("c", "a")) == "MO"
    for f in (SourceAddrFilter("s", "1"), DestinationAddrFilter("d", "1"), TagFilter("t", "x"),
              ShortMessageFilter("m", "x"), PriorityFilter("p", frozenset({1})),
              DataCodingFilter("dc", frozenset({8}))):
        assert valid_for(f, MT) and valid_for(f, MO)


def test_address_regexes_are_anchored_at_start_only() -> None:
    """Jasmin uses re.match: `33` matches 33612..., not 4433...; the end is free."""
    da = DestinationAddrFilter("d", "33")
    assert da.matches(mt(destination_addr="33612345678"))
    assert not da.matches(mt(destination_addr="4433612345678"))
    assert DestinationAddrFilter("d", r"^\+?44").matches(mt(destination_addr="+447700900"))
    assert not DestinationAddrFilter("d", "^33$").matches(mt(destination_addr="336"))
    sa = SourceAddrFilter("s", r"^20\d+")
    assert sa.matches(mt(source_addr="2012")) and not sa.matches(mt(source_addr="20"))
    assert sa.describe() == r"<SA (src_addr=^20\d+)>"
    assert da.describe() == "<DA (dst_addr=33)>"


def test_short_message_filter_reads_content_and_needs_it() -> None:
    f = ShortMessageFilter("m", "(?i)stop")
    assert f.matches(mt(content="STOP please")) and not f.matches(mt(content="please stop"))
    assert f.needs_content and f.describe() == "<SM (msg=(?i)stop)>"
    assert not DestinationAddrFilter("d", "1").needs_content
    assert needs_content((TransparentFilter("t"), NotFilter("n", f)))
    assert not needs_content((TransparentFilter("t"),))


@pytest.mark.parametrize("cls,field", [(SourceAddrFilter, "source_addr"),
                                        (DestinationAddrFilter, "destination_addr"),
                                        (ShortMessageFilter, "short_message")])
def test_bad_regex_names_the_field(cls: type, field: str) -> None:
    with pytest.raises(RuleError) as e:
        cls("x", "(unclosed")
    assert e.value.problems[0].startswith(f"{field}: not a valid regular expression")


def test_tag_filter() -> None:
    f = TagFilter("tg", "21401")
    assert f.matches(mt(tags=frozenset({"21401", "x"}))) and not f.matches(mt())
    assert f.describe() == "<TG (tag=21401)>"


def test_date_interval_inclusive_in_its_time_zone() -> None:
    f = DateIntervalFilter("di", date(2026, 11, 1), date(2026, 11, 23))
    assert f.matches(mt()) and f.describe() == "<DI (2026-11-01,2026-11-23)>"
    late = datetime(2026, 11, 23, 23, 30, tzinfo=timezone.utc)
    assert f.matches(mt(at=late))
    paris = DateIntervalFilter("di", date(2026, 11, 1), date(2026, 11, 23), tz="Europe/Paris")
    assert not paris.matches(mt(at=late))          # already the 24th in Paris
    assert paris.describe() == "<DI (2026-11-01,2026-11-23, tz=Europe/Paris)>"
    with pytest.raises(RuleError, match="date_interval: right border"):
        DateIntervalFilter("di", date(2026, 11, 2), date(2026, 11, 1))


def test_time_interval_daytime_and_overnight() -> None:
    """Breaks if an overnight window (left > right) stops wrapping past midnight."""
    day = TimeIntervalFilter("ti", time(8), time(18))
    night = TimeIntervalFilter("ti", time(22), time(6))
    at = lambda h, m=0, s=0: mt(at=datetime(2026, 11, 23, h, m, s, tzinfo=timezone.utc))  # noqa: E731
    assert day.matches(at(8)) and day.matches(at(18)) and not day.matches(at(18, 0, 1))
    assert not night.matches(at(12)) and not night.matches(at(21, 59, 59))
    assert night.matches(at(22)) and night.matches(at(23, 59)) and night.matches(at(0))
    assert night.matches(at(6)) and not night.matches(at(6, 0, 1))
    assert night.describe() == "<TI (22:00:00,06:00:00)>"


def test_time_interval_time_zone() -> None:
    """09:00-17:00 in New York is 14:00-22:00 UTC in November."""
    ny = TimeIntervalFilter("ti", time(9), time(17), tz="America/New_York")
    assert ny.matches(mt(at=datetime(2026, 11, 23, 14, 30, tzinfo=timezone.utc)))
    assert not ny.matches(mt(at=datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)))
    assert ny.describe() == "<TI (09:00:00,17:00:00, tz=America/New_York)>"
    with pytest.raises(RuleError, match="tz: unknown time zone 'Mars/Olympus'"):
        TimeIntervalFilter("ti", time(9), time(17), tz="Mars/Olympus")


def test_priority_and_data_coding() -> None:
    p = PriorityFilter("p", frozenset({2, 3}))
    assert p.matches(mt(priority=3)) and not p.matches(mt(priority=0))
    assert p.describe() == "<P (priority=2,3)>"
    dc = DataCodingFilter("dc", frozenset({8}))
    assert dc.matches(mt(data_coding=8)) and not dc.matches(mt())
    assert dc.describe() == "<DC (data_coding=8)>"
    with pytest.raises(RuleError, match="priorities: expected one or more of 0..3"):
        PriorityFilter("p", frozenset({4}))
    with pytest.raises(RuleError, match="data_codings"):
        DataCodingFilter("dc", frozenset())


def test_any_of_and_not() -> None:
    """OR and NOT without code: the EvalPyFilter role."""
    fr_or_de = AnyOfFilter("a", (DestinationAddrFilter("fr", "33"),
                                 DestinationAddrFilter("de", "49")))
    assert fr_or_de.matches(mt(destination_addr="4915"))
    assert fr_or_de.matches(mt(destination_addr="3361"))
    assert not fr_or_de.matches(mt(destination_addr="4477"))
    assert fr_or_de.describe() == "<ANY (<DA (dst_addr=33)>, <DA (dst_addr=49)>)>"
    not_fr = NotFilter("n", DestinationAddrFilter("fr", "33"))
    assert not_fr.matches(mt(destination_addr="49")) and not not_fr.matches(mt(destination_addr="33"))
    assert not_fr.describe() == "<NOT <DA (dst_addr=33)>>"
    mixed = AnyOfFilter("a", (UserFilter("u", "x"), TagFilter("t", "y")))
    assert not valid_for(mixed, MO) and valid_for(mixed, MT)
    assert not valid_for(NotFilter("n", ConnectorFilter("c", "x")), MT)
    with pytest.raises(RuleError, match="filters: an AnyOfFilter needs at least one"):
        AnyOfFilter("a", ())


def test_filters_are_hashable_values() -> None:
    """Equal definitions are equal filters (the compiled regex is not compared)."""
    assert DestinationAddrFilter("d", "33") == DestinationAddrFilter("d", "33")
    assert len({DestinationAddrFilter("d", "33"), DestinationAddrFilter("d", "33")}) == 1


def test_show_is_jasmins_filter_s_text() -> None:
    assert show(TransparentFilter("t")) == "TransparentFilter"
    assert show(UserFilter("u", "1")) == "UserFilter:\nuid = 1"
    assert show(DestinationAddrFilter("d", "^33")) == "DestinationAddrFilter:\ndestination_addr = ^33"
    assert show(TagFilter("t", "21401")) == "TagFilter:\nhas tag = 21401"
    assert show(DateIntervalFilter("d", date(2014, 9, 1), date(2014, 9, 30))) == (
        "DateIntervalFilter:\nLeft border = 2014-09-01\nRight border = 2014-09-30")
    assert show(TimeIntervalFilter("t", time(22), time(6), "Europe/Paris")) == (
        "TimeIntervalFilter:\nLeft border = 22:00:00\nRight border = 06:00:00\n"
        "Time zone = Europe/Paris")
    assert show(PriorityFilter("p", frozenset({3, 2}))) == "PriorityFilter:\npriorities = 2,3"
    assert show(DataCodingFilter("dc", frozenset({8}))) == "DataCodingFilter:\ndata_codings = 8"
    assert show(AnyOfFilter("a", (UserFilter("u1", "x"), TagFilter("t1", "y")))) == (
        "AnyOfFilter:\nfilters = u1, t1")
    assert show(NotFilter("n", UserFilter("u1", "x"))) == "NotFilter:\nfilter = u1"
    assert show(ConnectorFilter("c", "v")) == "ConnectorFilter:\ncid = v"
