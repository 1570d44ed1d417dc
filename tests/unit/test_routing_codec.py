"""Filters and routes <-> mappings: round trips, and every problem named with its path."""
from datetime import date, time
from decimal import Decimal

import pytest
import yaml

from routing.errors import RuleError
from routing.filters import (FILTER_TYPES, AnyOfFilter, DataCodingFilter, DateIntervalFilter,
                             DestinationAddrFilter, NotFilter, PriorityFilter, TagFilter,
                             TimeIntervalFilter, TransparentFilter, UserFilter)
from routing.routable import MO, MT
from routing.routes import (DefaultMORoute, DefaultRoute, FailoverMORoute, FailoverMTRoute,
                            RandomRoundrobinMORoute, RandomRoundrobinMTRoute, StaticMORoute,
                            StaticMTRoute, Target)
from routing.rules_codec import (_FILTERS, References, filter_from_mapping, filter_to_mapping,
                                 filters_from_mappings, filters_to_mappings, route_from_mapping,
                                 route_table_from_mappings, route_table_to_mappings,
                                 route_to_mapping)
from routing.table import RouteTable

FILTERS = [
    {"fid": "all", "type": "TransparentFilter"},
    {"fid": "u-foo", "type": "UserFilter", "uid": "foo"},
    {"fid": "g-mkt", "type": "GroupFilter", "gid": "mkt"},
    {"fid": "v1", "type": "ConnectorFilter", "cid": "vendor1"},
    {"fid": "from20", "type": "SourceAddrFilter", "source_addr": r"^20\d+"},
    {"fid": "fr", "type": "DestinationAddrFilter", "destination_addr": "^33"},
    {"fid": "de", "type": "DestinationAddrFilter", "destination_addr": "^49"},
    {"fid": "stop", "type": "ShortMessageFilter", "short_message": "(?i)stop"},
    {"fid": "vip", "type": "TagFilter", "tag": "vip"},
    {"fid": "nov", "type": "DateIntervalFilter", "left": "2026-11-01", "right": "2026-11-30"},
    {"fid": "night", "type": "TimeIntervalFilter", "left": "22:00:00", "right": "06:00:00",
     "tz": "Europe/Paris"},
    {"fid": "urgent", "type": "PriorityFilter", "priorities": [2, 3]},
    {"fid": "ucs2", "type": "DataCodingFilter", "data_codings": [8]},
    {"fid": "not-fr", "type": "NotFilter", "filter": "fr"},
    {"fid": "fr-or-de", "type": "AnyOfFilter", "filters": ["fr", "de"]},
]


def test_every_filter_kind_has_a_codec_entry() -> None:
    assert set(_FILTERS) == set(FILTER_TYPES)
    assert {m["type"] for m in FILTERS} == set(FILTER_TYPES)


def test_filters_round_trip() -> None:
    decoded = filters_from_mappings(FILTERS)
    assert decoded["night"] == TimeIntervalFilter("night", time(22), time(6), "Europe/Paris")
    assert decoded["fr-or-de"] == AnyOfFilter("fr-or-de", (DestinationAddrFilter("fr", "^33"),
                                                           DestinationAddrFilter("de", "^49")))
    assert decoded["urgent"] == PriorityFilter("urgent", frozenset({2, 3}))
    assert decoded["nov"] == DateIntervalFilter("nov", date(2026, 11, 1), date(2026, 11, 30))
    assert [filter_to_mapping(f) for f in decoded.values()] == FILTERS
    assert filters_from_mappings(filters_to_mappings(decoded.values())) == decoded


def test_yaml_values_are_read_as_operators_write_them() -> None:
    """Unquoted YAML dates, single ints, tags as numbers, and case-insensitive types."""
    raw = yaml.safe_load("""
- {fid: d, type: dateintervalfilter, left: 2026-11-01, right: 2026-11-30}
- {fid: t, type: TAGFILTER, tag: 21401}
- {fid: dc, type: DataCodingFilter, data_codings: 8}
""")
    got = filters_from_mappings(raw)
    assert got["d"] == DateIntervalFilter("d", date(2026, 11, 1), date(2026, 11, 30))
    assert got["t"] == TagFilter("t", "21401")
    assert got["dc"] == DataCodingFilter("dc", frozenset({8}))


def test_members_may_come_later_but_not_in_a_cycle() -> None:
    got = filters_from_mappings([{"fid": "n", "type": "NotFilter", "filter": "u"},
                                 {"fid": "u", "type": "UserFilter", "uid": "x"}])
    assert got["n"] == NotFilter("n", UserFilter("u", "x"))
    with pytest.raises(RuleError) as e:
        filters_from_mappings([{"fid": "a", "type": "NotFilter", "filter": "b"},
                               {"fid": "b", "type": "AnyOfFilter", "filters": ["a"]}])
    assert e.value.problems == ["filters[0]: 'a' is part of a reference cycle",
                                "filters[1]: 'b' is part of a reference cycle"]
    known = {"fr": DestinationAddrFilter("fr", "33")}
    assert filter_from_mapping({"fid": "x", "type": "NotFilter", "filter": "fr"}, known,
                               "f") == NotFilter("x", known["fr"])


def test_filter_problems_are_all_named_with_their_path() -> None:
    with pytest.raises(RuleError) as e:
        filters_from_mappings([
            {"fid": "a", "type": "DestinationAddrFilter", "destination_addr": "(", "extra": 1},
            {"fid": "b", "type": "Nope"},
            {"fid": "c", "type": "TimeIntervalFilter", "left": 79200, "right": "06:00:00"},
            {"fid": "d", "type": "TimeIntervalFilter", "left": "22:00", "right": "6h", "tz": "X/Y"},
            {"fid": "e", "type": "AnyOfFilter", "filters": ["a", "zz"]},
            {"fid": "a", "type": "TransparentFilter"},
            {"type": "UserFilter"},
            {"fid": "bad id", "type": "TransparentFilter"},
            "fr",
            {"fid": "p", "type": "PriorityFilter", "priorities": [True]},
            {"fid": "q", "type": "DateIntervalFilter", "left": "2026-13-01", "right": 5},
        ])
    assert e.value.problems == [
        "filters[5].fid: 'a' is already used by filters[0]",
        "filters[0].extra: unknown key",
        "filters[1].type: unknown filter type 'Nope'; known: " + ", ".join(_FILTERS),
        "filters[2].left: expected a time HH:MM:SS, got 79200 (quote it: YAML reads "
        "22:00:00 as a number)",
        "filters[3].right: expected a time HH:MM:SS, got '6h'",
        "filters[4]: member 'a' is invalid itself",
        "filters[6].fid: missing",
        "filters[6].uid: missing",
        "filters[7].fid: expected 1-64 letters, digits, '_', '.', ':' or '-', got 'bad id'",
        "filters[8]: expected a mapping, got str",
        "filters[9].priorities: expected an integer or a list of integers, got [True]",
        "filters[10].left: expected a date YYYY-MM-DD, got '2026-13-01'",
        "filters[10].right: expected a date YYYY-MM-DD, got 5",
    ]
    with pytest.raises(RuleError, match=r"f\.destination_addr: not a valid regular expression"):
        filter_from_mapping({"fid": "a", "type": "DestinationAddrFilter",
                             "destination_addr": "("}, {}, "f")
    with pytest.raises(RuleError, match=r"f\.tz: unknown time zone 'X/Y'"):
        filter_from_mapping({"fid": "d", "type": "TimeIntervalFilter", "left": "22:00",
                             "right": "06:00", "tz": "X/Y"}, {}, "f")


F = filters_from_mappings(FILTERS)


def test_mt_routes_round_trip() -> None:
    raw = [
        {"order": 30, "type": "FailoverMTRoute", "filters": ["fr", "night"],
         "connectors": ["a", "b"], "rate": "0.0125"},
        {"order": 20, "type": "RandomRoundrobinMTRoute", "filters": ["fr-or-de"],
         "connectors": ["a", "b", "c"], "rate": "0"},
        {"order": 10, "type": "StaticMTRoute", "filters": ["u-foo"], "connector": "c1",
         "rate": "0.05"},
        {"order": 0, "type": "DefaultRoute", "connector": "d", "rate": "0"},
    ]
    table = route_table_from_mappings(MT, raw, F, "mt_routes")
    assert table.get(30) == FailoverMTRoute((F["fr"], F["night"]), ("a", "b"), Decimal("0.0125"))
    assert table.get(10) == StaticMTRoute((F["u-foo"],), "c1", Decimal("0.05"))
    assert table.get(0) == DefaultRoute("d")
    assert route_table_to_mappings(table) == raw


def test_mo_routes_round_trip_with_mixed_targets() -> None:
    raw = [
        {"order": 20, "type": "FailoverMORoute", "filters": ["v1", "stop"],
         "targets": ["smpps(foo)", "http(cb1)", "store"]},
        {"order": 10, "type": "RandomRoundrobinMORoute", "filters": ["fr"],
         "targets": ["smpps(a)", "smpps(b)"]},
        {"order": 5, "type": "StaticMORoute", "filters": ["de"], "target": "http(cb1)"},
        {"order": 0, "type": "DefaultRoute", "target": "store"},
    ]
    refs = References(users={"foo", "a", "b"}, http_connectors={"cb1"})
    table = route_table_from_mappings(MO, raw, F, "mo_routes", refs)
    assert table.get(20) == FailoverMORoute((F["v1"], F["stop"]), (
        Target("smpps", "foo"), Target("http", "cb1"), Target("store")))
    assert table.get(10) == RandomRoundrobinMORoute((F["fr"],), (Target("smpps", "a"),
                                                                 Target("smpps", "b")))
    assert table.get(5) == StaticMORoute((F["de"],), Target("http", "cb1"))
    assert table.get(0) == DefaultMORoute(Target("store"))
    assert route_table_to_mappings(table) == raw


def test_conveniences_jasmin_syntax_default_order_yaml_float_rate() -> None:
    order, route = route_from_mapping(
        yaml.safe_load("{type: staticmtroute, order: 7, filters: [fr], connector: smppc(c1),"
                       " rate: 0.05}"), MT, F, "r")
    assert (order, route) == (7, StaticMTRoute((F["fr"],), "c1", Decimal("0.05")))
    assert route_from_mapping({"type": "DefaultRoute", "connector": "d"}, MT, F, "r") == (
        0, DefaultRoute("d"))


def test_route_problems_are_all_named_with_their_path() -> None:
    refs = References(connectors={"c1", "c2"}, users={"foo"}, http_connectors={"cb"})
    with pytest.raises(RuleError) as e:
        route_table_from_mappings(MT, [
            {"order": 10, "type": "StaticMTRoute", "filters": ["fr", "x"], "connector": "c9",
             "rate": "abc"},
            {"order": 20, "type": "FailoverMTRoute", "filters": ["v1"], "connectors": ["c1", 3]},
            {"order": 5, "type": "StaticMTRoute", "filters": ["fr"]},
            {"order": 0, "type": "StaticMTRoute", "filters": ["fr"], "connector": "c1"},
            {"order": 4, "type": "DefaultRoute", "connector": "c1"},
            {"order": 11, "type": "StaticMORoute", "filters": ["fr"], "connector": "c1"},
            {"order": 12, "type": "StaticMTRoute", "filters": ["fr"], "connector": "c1",
             "colour": "red"},
            {"order": 13, "type": "StaticMTRoute", "filters": ["fr"], "connector": "c1",
             "rate": 0.5},
            {"order": 13, "type": "StaticMTRoute", "filters": ["fr"], "connector": "c2"},
            {"order": -1, "type": "StaticMTRoute", "filters": ["fr"], "connector": "c2"},
            {"order": 14, "type": "StaticMTRoute", "filters": "fr", "connector": "c2",
             "rate": "-1"},
        ], F, "mt_routes", refs)
    assert e.value.problems == [
        "mt_routes[0].filters[1]: no filter 'x'",
        "mt_routes[0].connector: no connector 'c9'",
        "mt_routes[0].rate: expected a decimal number, got 'abc'",
        "mt_routes[1].connectors[1]: expected a connector id, got 3",
        "mt_routes[2].connector: missing",
        "mt_routes[3].order: 0 is reserved for the DefaultRoute",
        "mt_routes[4].order: a DefaultRoute may only be at order 0, not 4",
        "mt_routes[5].type: unknown MT route type 'StaticMORoute'; known: DefaultRoute, "
        "StaticMTRoute, RandomRoundrobinMTRoute, FailoverMTRoute",
        "mt_routes[6].colour: unknown key",
        "mt_routes[8].order: 13 is already used by mt_routes[7]",
        "mt_routes[9].order: expected an integer >= 0, got -1",
        "mt_routes[10].filters: expected a list of filter ids, got 'fr'",
    ]


def test_route_validation_after_decoding_is_pathed() -> None:
    """Problems the route itself finds (filter direction, rate sign) carry the path too."""
    with pytest.raises(RuleError) as e:
        route_from_mapping({"order": 3, "type": "StaticMTRoute", "filters": ["v1"],
                            "connector": "c", "rate": "-1"}, MT, F, "mt_routes[2]")
    assert e.value.problems == [
        "mt_routes[2].filters[0]: ConnectorFilter 'v1' is not valid in MT routes",
        "mt_routes[2].rate: expected a decimal >= 0, got -1"]


def test_mo_target_problems() -> None:
    refs = References(users={"foo"}, http_connectors={"cb"})
    with pytest.raises(RuleError) as e:
        route_table_from_mappings(MO, [
            {"order": 1, "type": "FailoverMORoute", "filters": ["v1"],
             "targets": ["smpps(bar)", "http(nope)", "ftp(x)", "smpps()"]},
            {"order": 2, "type": "StaticMORoute", "filters": ["u-foo"], "target": "store"},
            {"order": 3, "type": "StaticMORoute", "filters": ["fr"], "target": "smpps(foo)",
             "rate": "1"},
        ], F, "mo_routes", refs)
    assert e.value.problems == [
        "mo_routes[0].targets[0]: no user 'bar'",
        "mo_routes[0].targets[1]: no HTTP connector 'nope'",
        "mo_routes[0].targets[2]: expected smpps(<username>), http(<id>) or store, got 'ftp(x)'",
        "mo_routes[0].targets[3]: no user ''",
        "mo_routes[1].filters[0]: UserFilter 'u-foo' is not valid in MO routes",
        "mo_routes[2].rate: unknown key",
    ]


def test_unchecked_references_when_not_given() -> None:
    _, route = route_from_mapping({"order": 1, "type": "StaticMORoute", "filters": ["fr"],
                                   "target": "smpps(anyone)"}, MO, F, "r")
    assert route == StaticMORoute((F["fr"],), Target("smpps", "anyone"))
    with pytest.raises(RuleError, match=r"r\.target: id: a smpps target needs an id"):
        route_from_mapping({"order": 1, "type": "StaticMORoute", "filters": ["fr"],
                            "target": "smpps()"}, MO, F, "r")


def test_not_a_list_or_mapping() -> None:
    with pytest.raises(RuleError, match="mt_routes: expected a list of routes"):
        route_table_from_mappings(MT, {"order": 1}, F, "mt_routes")
    with pytest.raises(RuleError, match=r"mt_routes\[0\]: expected a mapping, got int"):
        route_table_from_mappings(MT, [1], F, "mt_routes")
    with pytest.raises(RuleError, match="filters: expected a list of filters"):
        filters_from_mappings("fr")
    assert isinstance(route_table_from_mappings(MT, [], F, "mt_routes"), RouteTable)


def test_two_filters_with_one_id_cannot_be_encoded() -> None:
    with pytest.raises(RuleError, match="fid: 'x' names two different filters"):
        filters_to_mappings([UserFilter("x", "a"), NotFilter("n", UserFilter("x", "b"))])
    assert filters_to_mappings([AnyOfFilter("a", (TransparentFilter("t"),))]) == [
        {"fid": "t", "type": "TransparentFilter"},
        {"fid": "a", "type": "AnyOfFilter", "filters": ["t"]}]
    assert route_to_mapping(5, RandomRoundrobinMTRoute((F["fr"],), ("a", "b"), Decimal(1)))[
        "connectors"] == ["a", "b"]
