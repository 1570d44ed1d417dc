"""Route tables: validation, first-match-highest-order, and the index agreeing with a scan."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.errors import RuleError
from routing.filters import (AnyOfFilter, ConnectorFilter, DestinationAddrFilter, Filter,
                             GroupFilter, NotFilter, PriorityFilter, ShortMessageFilter,
                             SourceAddrFilter, TagFilter, TransparentFilter, UserFilter)
from routing.routable import MO, MT, Routable
from routing.routes import (DefaultMORoute, DefaultRoute, FailoverMTRoute, StaticMORoute,
                            StaticMTRoute, Target)
from routing.table import RouteTable, pick_route, pick_route_linear

AT = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)
T = TransparentFilter("t")


def mt(**kw: object) -> Routable:
    return Routable(direction=MT, at=AT, **kw)  # type: ignore[arg-type]


def da(p: str) -> DestinationAddrFilter:
    return DestinationAddrFilter(f"da-{p}", p)


def test_highest_order_first_match_wins() -> None:
    table = RouteTable(MT, {
        0: DefaultRoute("default"),
        10: StaticMTRoute((da("33"),), "fr"),
        20: StaticMTRoute((da("336"), UserFilter("u", "foo")), "fr-mobile-foo"),
        5: StaticMTRoute((T,), "catch-all"),
    })
    assert [o for o, _ in table.routes] == [20, 10, 5, 0]
    assert pick_route(table, mt(destination_addr="33612", user="foo")) == (20, table.get(20))
    assert pick_route(table, mt(destination_addr="33612", user="bar"))[0] == 10  # type: ignore[index]
    assert pick_route(table, mt(destination_addr="4477"))[0] == 5  # type: ignore[index]


def test_no_match_without_default() -> None:
    table = RouteTable(MT, {10: StaticMTRoute((da("33"),), "fr")})
    assert pick_route(table, mt(destination_addr="49")) is None
    assert pick_route(RouteTable(MT, {}), mt()) is None


def test_validation_reports_every_problem_with_its_order() -> None:
    with pytest.raises(RuleError) as e:
        RouteTable(MT, {0: StaticMTRoute((T,), "c"), 5: DefaultRoute("d"), -1: DefaultRoute("x"),
                        7: StaticMORoute((T,), Target("store"))})
    assert e.value.problems == [
        "routes[0].order: 0 is reserved for the DefaultRoute",
        "routes[5].order: a DefaultRoute may only be at order 0, not 5",
        "routes[-1].order: expected an integer >= 0, got -1",
        "routes[7].type: StaticMORoute is not an MT route",
    ]
    with pytest.raises(RuleError, match=r"routes\[True\]\.order: expected an integer >= 0"):
        RouteTable(MT, {True: DefaultRoute("d")})   # type: ignore[dict-item]
    with pytest.raises(RuleError, match="direction: expected 'mt' or 'mo'"):
        RouteTable("sideways", {})


def test_immutable_updates_build_new_tables() -> None:
    t1 = RouteTable(MT, {0: DefaultRoute("a")})
    t2 = t1.with_route(10, StaticMTRoute((da("33"),), "fr"))
    t3 = t2.with_route(0, DefaultRoute("b")).without_route(10)
    assert len(t1) == 1 and len(t2) == 2 and len(t3) == 1
    assert t1.get(0) == DefaultRoute("a") and t3.get(0) == DefaultRoute("b")
    with pytest.raises(RuleError):
        t1.with_route(3, DefaultRoute("x"))


def test_needs_content_only_with_a_content_filter() -> None:
    assert not RouteTable(MT, {10: StaticMTRoute((da("33"),), "c")}).needs_content
    sm = AnyOfFilter("a", (da("33"), ShortMessageFilter("s", "STOP")))
    assert RouteTable(MT, {10: StaticMTRoute((sm,), "c")}).needs_content


def test_listing() -> None:
    table = RouteTable(MO, {0: DefaultMORoute(Target("store")),
                            10: StaticMORoute((ConnectorFilter("c", "v"),), Target("smpps", "u"))})
    lines = table.listing()
    assert lines[0].startswith("#Order Type") and "Rate" not in lines[0]
    assert lines[1].startswith("#10    StaticMORoute           smpps(u)")
    assert lines[2] == "#0     DefaultRoute            store"


def test_mo_table_indexes_connector_filters() -> None:
    table = RouteTable(MO, {10: StaticMORoute((ConnectorFilter("c", "v1"),), Target("smpps", "a")),
                            20: StaticMORoute((ConnectorFilter("c", "v2"),), Target("smpps", "b"))})
    mo = Routable(direction=MO, at=AT, connector="v1")
    assert pick_route(table, mo) == (10, table.get(10))


def test_many_prefix_routes_pick_the_right_one() -> None:
    """10,000 prefix routes (33000..42999) plus one with a tag: the matching one wins."""
    routes = {i + 1: StaticMTRoute((da(f"^{33000 + i}"),), f"c{i}") for i in range(10_000)}
    routes[20_000] = StaticMTRoute((da(r"^\+?4420"), TagFilter("t", "vip")), "uk-vip")
    table = RouteTable(MT, {0: DefaultRoute("d"), **routes})
    assert pick_route(table, mt(destination_addr="3312345"))[1].connectors == ("c123",)  # type: ignore[index]
    assert pick_route(table, mt(destination_addr="+44207", tags=frozenset({"vip"})))[0] == 20_000  # type: ignore[index]
    assert pick_route(table, mt(destination_addr="+44207"))[0] == 0  # type: ignore[index]


# --- the index gives exactly the linear scan's answer -----------------------------------

PATTERNS = ["^33", "33", "^336", r"^\+?44", "^(33|34)", "^3[34]", "^4", "^33|^49", r"^\d",
            "^.", "^33$", "^(?:44)?33", "^3+", "^49(1|5)"]
DESTS = ["", "3", "33", "336", "3361", "34", "+44", "44", "447", "49", "491", "495", "4433", "9"]


def filters(direction: str) -> st.SearchStrategy[Filter]:
    base = [st.sampled_from(PATTERNS).map(da),
            st.sampled_from(PATTERNS).map(lambda p: SourceAddrFilter("s", p)),
            st.sampled_from(["a", "b"]).map(lambda t: TagFilter("tg", t)),
            st.sampled_from([{0}, {1, 2}]).map(lambda p: PriorityFilter("p", frozenset(p))),
            st.sampled_from(["(?i)stop", "hi"]).map(lambda p: ShortMessageFilter("m", p)),
            st.just(T)]
    base += ([st.sampled_from(["u1", "u2"]).map(lambda u: UserFilter("u", u)),
              st.sampled_from(["g1", "g2"]).map(lambda g: GroupFilter("g", g))] if direction == MT
             else [st.sampled_from(["v1", "v2"]).map(lambda c: ConnectorFilter("c", c))])
    leaf = st.one_of(base)
    combo = st.one_of(st.lists(leaf, min_size=1, max_size=3).map(lambda f: AnyOfFilter("any", tuple(f))),
                      leaf.map(lambda f: NotFilter("not", f)))
    return st.one_of(leaf, leaf, combo)


@st.composite
def mt_tables(draw: st.DrawFn) -> RouteTable:
    orders = draw(st.lists(st.integers(1, 60), unique=True, max_size=25))
    routes = {o: (StaticMTRoute(tuple(draw(st.lists(filters(MT), min_size=1, max_size=3))), f"c{o}")
                  if o % 2 else
                  FailoverMTRoute(tuple(draw(st.lists(filters(MT), min_size=1, max_size=3))),
                                  (f"c{o}", "spare"), Decimal(0)))
              for o in orders}
    if draw(st.booleans()):
        routes[0] = DefaultRoute("default")
    return RouteTable(MT, routes)


@st.composite
def mo_tables(draw: st.DrawFn) -> RouteTable:
    orders = draw(st.lists(st.integers(1, 60), unique=True, max_size=25))
    return RouteTable(MO, {o: StaticMORoute(tuple(draw(st.lists(filters(MO), min_size=1, max_size=3))),
                                            Target("smpps", f"u{o}")) for o in orders})


def messages(direction: str) -> st.SearchStrategy[Routable]:
    return st.builds(
        Routable, direction=st.just(direction), at=st.just(AT),
        user=st.sampled_from(["", "u1", "u2"]), group=st.sampled_from(["", "g1", "g2"]),
        connector=st.sampled_from(["", "v1", "v2"]),
        source_addr=st.sampled_from(DESTS),
        destination_addr=st.one_of(st.sampled_from(DESTS),
                                   st.tuples(st.sampled_from(DESTS), st.text("0123456789+", max_size=4)).map("".join)),
        content=st.sampled_from(["", "STOP", "hi there", "stop"]),
        priority=st.integers(0, 3),
        tags=st.frozensets(st.sampled_from(["a", "b", "c"]), max_size=2))


@settings(max_examples=200, deadline=None)
@given(mt_tables(), st.lists(messages(MT), min_size=1, max_size=10))
def test_indexed_pick_equals_linear_scan_mt(table: RouteTable, msgs: list[Routable]) -> None:
    """Breaks if the index ever skips a route that the plain scan would have chosen."""
    for m in msgs:
        assert pick_route(table, m) == pick_route_linear(table, m)


@settings(max_examples=100, deadline=None)
@given(mo_tables(), st.lists(messages(MO), min_size=1, max_size=10))
def test_indexed_pick_equals_linear_scan_mo(table: RouteTable, msgs: list[Routable]) -> None:
    for m in msgs:
        assert pick_route(table, m) == pick_route_linear(table, m)


def test_linear_reference_is_first_all_matching() -> None:
    """The reference itself, by hand: order 30 fails one filter, 20 matches all."""
    table = RouteTable(MT, {30: StaticMTRoute((da("33"), UserFilter("u", "x")), "a"),
                            20: StaticMTRoute((da("33"), T), "b"),
                            10: StaticMTRoute((T,), "c")})
    m = mt(destination_addr="331", user="y")
    assert pick_route_linear(table, m)[0] == 20 == pick_route(table, m)[0]  # type: ignore[index]
