"""Route kinds: validation of what they carry, and their Jasmin listing and show texts."""
from decimal import Decimal

import pytest

from routing.errors import RuleError
from routing.filters import ConnectorFilter, DestinationAddrFilter, TransparentFilter, UserFilter
from routing.routes import (FAILOVER, MO_HEADER, MT_HEADER, ROUNDROBIN, STATIC, DefaultMORoute,
                            DefaultRoute, FailoverMORoute, FailoverMTRoute,
                            RandomRoundrobinMORoute, RandomRoundrobinMTRoute, StaticMORoute,
                            StaticMTRoute, Target, format_rate)

T = TransparentFilter("t")


def test_mt_listing_matches_jasmin_columns() -> None:
    """Jasmin §7.8 transcript, character for character."""
    assert MT_HEADER == ("#Order Type                    Rate       Connector ID(s)"
                         "                                  Filter(s)")
    assert StaticMTRoute((T, T), "smppcc_1").listing(10) == (
        "#10    StaticMTRoute           0 (!)      smppc(smppcc_1)"
        "                                  <T>, <T>")
    assert DefaultRoute("smppcc_default").listing(0) == (
        "#0     DefaultRoute            0 (!)      smppc(smppcc_default)")


def test_mo_listing_has_no_rate_column() -> None:
    assert MO_HEADER == ("#Order Type                    Connector ID(s)"
                         "                                  Filter(s)")
    line = StaticMORoute((ConnectorFilter("c", "v1"),), Target("http", "cb1")).listing(20)
    assert line == "#20    StaticMORoute           http(cb1)" + " " * 40 + "<C (cid=v1)>"


def test_rate_column_and_show_text() -> None:
    assert format_rate(Decimal(0)) == "0 (!)" and format_rate(Decimal("0.05")) == "0.05000"
    assert StaticMTRoute((T,), "c1").show() == "StaticMTRoute to smppc(c1) NOT RATED"
    assert StaticMTRoute((T,), "c1", Decimal("0.0525")).show() == "StaticMTRoute to smppc(c1) rated 0.05"
    assert RandomRoundrobinMTRoute((T,), ("a", "b"), Decimal(0)).show() == (
        "RandomRoundrobinMTRoute to 2 connectors:\n\t- smppc(a)\n\t- smppc(b)\nNOT RATED")
    assert DefaultMORoute(Target("smpps", "foo")).show() == "DefaultRoute to smpps(foo)"
    assert FailoverMORoute((T,), (Target("smpps", "u"), Target("store"))).show() == (
        "FailoverMORoute to 2 connectors:\n\t- smpps(u)\n\t- store")


def test_kinds_and_selection() -> None:
    assert DefaultRoute("c").type_name == "DefaultRoute" and DefaultRoute("c").is_default
    assert DefaultMORoute(Target("store")).type_name == "DefaultRoute"
    assert StaticMTRoute((T,), "c").selection == STATIC
    assert RandomRoundrobinMTRoute((T,), ("a", "b"), Decimal(0)).selection == ROUNDROBIN
    assert FailoverMTRoute((T,), ("a", "b"), Decimal(0)).selection == FAILOVER
    assert RandomRoundrobinMORoute((T,), (Target("store"), Target("http", "h"))).selection == ROUNDROBIN
    assert StaticMTRoute((T,), "c", Decimal(1)).connector == "c"
    assert StaticMORoute((T,), Target("store")).target == Target("store")


def test_rate_must_be_a_non_negative_decimal() -> None:
    """Money is never a float."""
    with pytest.raises(RuleError, match="rate: expected a Decimal, got float"):
        StaticMTRoute((T,), "c", 0.05)  # type: ignore[arg-type]
    with pytest.raises(RuleError, match=r"rate: expected a decimal >= 0, got -1"):
        DefaultRoute("c", Decimal(-1))
    with pytest.raises(RuleError, match="rate: expected a decimal >= 0, got NaN"):
        DefaultRoute("c", Decimal("NaN"))


def test_filters_must_suit_the_direction_and_exist() -> None:
    with pytest.raises(RuleError) as e:
        StaticMTRoute((T, ConnectorFilter("cf", "x")), "c")
    assert e.value.problems == ["filters[1]: ConnectorFilter 'cf' is not valid in MT routes"]
    with pytest.raises(RuleError, match="filters\\[0\\]: UserFilter 'u' is not valid in MO"):
        StaticMORoute((UserFilter("u", "x"),), Target("store"))
    with pytest.raises(RuleError, match="filters: at least one filter is needed"):
        StaticMTRoute((), "c")


def test_multi_connector_routes_need_two_distinct() -> None:
    with pytest.raises(RuleError, match="connectors: at least 2 needed, got 1"):
        FailoverMTRoute((T,), ("a",), Decimal(0))
    with pytest.raises(RuleError, match="connectors: 'a' is listed twice"):
        RandomRoundrobinMTRoute((T,), ("a", "a"), Decimal(0))
    with pytest.raises(RuleError, match="targets: 'smpps\\(u\\)' is listed twice"):
        FailoverMORoute((T,), (Target("smpps", "u"), Target("smpps", "u")))
    with pytest.raises(RuleError, match="connectors\\[0\\]: expected a non-empty string"):
        DefaultRoute("")


def test_mo_failover_may_mix_target_kinds() -> None:
    """Jasmin refuses mixed kinds; here a customer bind can fail over to HTTP, then storage."""
    r = FailoverMORoute((DestinationAddrFilter("d", "33"),),
                        (Target("smpps", "foo"), Target("http", "cb"), Target("store")))
    assert [t.kind for t in r.targets] == ["smpps", "http", "store"]


def test_target_validation() -> None:
    with pytest.raises(RuleError, match="kind: expected one of smpps, http, store, got 'ftp'"):
        Target("ftp", "x")
    with pytest.raises(RuleError, match="id: a smpps target needs an id"):
        Target("smpps")
    assert Target("store").describe() == "store" and Target("http", "h").describe() == "http(h)"
    with pytest.raises(RuleError, match="targets\\[0\\]: expected a Target, got str"):
        FailoverMORoute((T,), ("smpps(u)", Target("store")))  # type: ignore[arg-type]


def test_routes_are_values() -> None:
    assert StaticMTRoute((T,), "c") == StaticMTRoute((T,), "c")
    assert StaticMTRoute((T,), "c") != StaticMTRoute((T,), "d")
    assert hash(DefaultRoute("c")) == hash(DefaultRoute("c"))
