"""The route tester: reasons per filter, the same winner as pick_route, no cursor side effect."""
from datetime import datetime, time, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.explain import explain_route
from routing.filters import (AnyOfFilter, ConnectorFilter, DestinationAddrFilter, NotFilter,
                             ShortMessageFilter, TagFilter, TimeIntervalFilter, UserFilter)
from routing.routable import MO, MT, Routable
from routing.routes import (DefaultMORoute, DefaultRoute, FailoverMORoute, FailoverMTRoute,
                            RandomRoundrobinMTRoute, StaticMTRoute, Target)
from routing.selection import RoundRobinCursor, pick_connector
from routing.table import RouteTable, pick_route
from test_routing_table import messages, mt_tables

LATE = datetime(2026, 11, 23, 23, 0, tzinfo=timezone.utc)
TABLE = RouteTable(MT, {
    0: DefaultRoute("d"),
    20: StaticMTRoute((DestinationAddrFilter("fr-mobile", "^336"), UserFilter("bar", "bar")), "x"),
    10: FailoverMTRoute((DestinationAddrFilter("fr", "33"),
                         TimeIntervalFilter("night", time(22), time(6), "Europe/Paris"),
                         AnyOfFilter("vip-or-not-bar", (TagFilter("vip", "vip"),
                                                        NotFilter("not-bar", UserFilter("bar", "bar"))))),
                        ("a", "b", "c"), Decimal("0.05")),
})


def test_transcript() -> None:
    """The text the shell prints for `mtrouter --test`, interceptor lines first."""
    r = Routable(MT, LATE, user="foo", destination_addr="33612")
    e = explain_route(TABLE, r, lambda c: c != "a", RoundRobinCursor(), ["MT interceptors: none"])
    assert e.lines() == [
        "MT interceptors: none",
        "MT routes:",
        "  #20 StaticMTRoute: no match",
        "    <DA (dst_addr=^336)> matched (destination_addr='33612')",
        "    <U (uid=bar)> did not match (user='foo')",
        "  #10 FailoverMTRoute: matched",
        "    <DA (dst_addr=33)> matched (destination_addr='33612')",
        "    <TI (22:00:00,06:00:00, tz=Europe/Paris)> matched (time 00:00:00 Europe/Paris)",
        "    <ANY (<TG (tag=vip)>, <NOT <U (uid=bar)>>)> matched "
        "(<TG (tag=vip)> no; <NOT <U (uid=bar)>> yes)",
        "  route: #10 FailoverMTRoute to smppc(a), smppc(b), smppc(c), rated 0.05",
        "  connector: smppc(b)",
        "  then, if it goes down: smppc(c)",
        "  down: smppc(a)",
    ]
    assert (e.order, e.choice, e.candidates, e.down) == (10, "b", ("b", "c"), ("a",))
    assert [c.matched for c in e.checks] == [False, True]
    assert e.checks[0].filters[1].seen == "user='foo'"


def test_no_route_and_none_up() -> None:
    r = Routable(MT, LATE, destination_addr="49")
    assert explain_route(RouteTable(MT, {}), r, lambda c: True, RoundRobinCursor()).lines() == [
        "MT routes:", "  route: none matched (no route: the message is refused)"]
    e = explain_route(TABLE, Routable(MT, LATE, user="foo", destination_addr="33"),
                      lambda c: False, RoundRobinCursor())
    assert e.order == 10 and e.choice is None and e.down == ("a", "b", "c")
    assert "  connector: none is up (the message is refused)" in e.lines()


def test_mo_targets_and_content_is_shortened() -> None:
    bind, store = Target("smpps", "foo"), Target("store")
    table = RouteTable(MO, {0: DefaultMORoute(store),
                            5: FailoverMORoute((ConnectorFilter("v", "v1"),
                                                ShortMessageFilter("kw", "STOP")), (bind, store))})
    r = Routable(MO, LATE, connector="v1", content="STOP " + "x" * 60)
    e = explain_route(table, r, lambda t: t != bind, RoundRobinCursor())
    assert e.choice == store and e.down == (bind,)
    assert "    <SM (msg=STOP)> matched (content='STOP " + "x" * 35 + "...')" in e.lines()
    assert "  route: #5 FailoverMORoute to smpps(foo), store" in e.lines()
    assert "  target: store" in e.lines()


def test_testing_does_not_move_the_rotation() -> None:
    route = RandomRoundrobinMTRoute((DestinationAddrFilter("d", "3"),), ("a", "b"), Decimal(0))
    table = RouteTable(MT, {10: route})
    cur = RoundRobinCursor()
    r = Routable(MT, LATE, destination_addr="3")
    for _ in range(3):
        assert explain_route(table, r, lambda c: True, cur).choice == "a"
    assert pick_connector(route, lambda c: True, cur) == "a"
    assert explain_route(table, r, lambda c: True, cur).choice == "b"


@settings(max_examples=100, deadline=None)
@given(mt_tables(), messages(MT))
def test_winner_is_pick_routes(table: RouteTable, r: Routable) -> None:
    """Breaks if the tester ever tells an operator a different route than traffic takes."""
    e = explain_route(table, r, lambda c: True, RoundRobinCursor())
    picked = pick_route(table, r)
    assert (e.order, e.route) == (picked if picked else (None, None))
    assert all(not c.matched for c in e.checks[:-1])
