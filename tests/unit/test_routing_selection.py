"""Connector/target choice: static, rotating round-robin that skips down ones, failover."""
from collections import Counter
from decimal import Decimal

from routing.filters import TransparentFilter
from routing.routes import (DefaultRoute, FailoverMORoute, FailoverMTRoute,
                            RandomRoundrobinMORoute, RandomRoundrobinMTRoute, StaticMORoute,
                            StaticMTRoute, Target)
from routing.selection import (RoundRobinCursor, candidates, pick_connector, pick_target,
                               target_candidates)

T = (TransparentFilter("t"),)
ALL_UP = lambda c: True  # noqa: E731


def test_static_gives_its_connector_even_when_down() -> None:
    """Jasmin queues to a static route's connector while it reconnects; so do we."""
    cur = RoundRobinCursor()
    assert pick_connector(StaticMTRoute(T, "c1"), lambda c: False, cur) == "c1"
    assert candidates(DefaultRoute("c0"), lambda c: False, cur) == ["c0"]
    assert pick_target(StaticMORoute(T, Target("smpps", "u")), lambda t: False, cur) == Target("smpps", "u")


def test_round_robin_rotates_evenly() -> None:
    """Breaks if round-robin is random or sticky: 3 connectors, 300 picks, 100 each, in turn."""
    route = RandomRoundrobinMTRoute(T, ("a", "b", "c"), Decimal(0))
    cur = RoundRobinCursor()
    picks = [pick_connector(route, ALL_UP, cur) for _ in range(300)]
    assert picks[:6] == ["a", "b", "c", "a", "b", "c"]
    assert Counter(picks) == {"a": 100, "b": 100, "c": 100}


def test_round_robin_skips_down_connectors_and_stays_even() -> None:
    route = RandomRoundrobinMTRoute(T, ("a", "b", "c"), Decimal(0))
    cur = RoundRobinCursor()
    up = {"a", "c"}
    picks = [pick_connector(route, up.__contains__, cur) for _ in range(100)]
    assert Counter(picks) == {"a": 50, "c": 50}
    assert pick_connector(route, lambda c: False, cur) is None
    up = {"a", "b", "c"}
    assert [pick_connector(route, up.__contains__, cur) for _ in range(3)] == ["a", "b", "c"]


def test_round_robin_candidates_rotate_and_advance_once() -> None:
    """candidates() is one decision: best first, the rest as fall-through order."""
    route = RandomRoundrobinMTRoute(T, ("a", "b", "c"), Decimal(0))
    cur = RoundRobinCursor()
    assert candidates(route, ALL_UP, cur) == ["a", "b", "c"]
    assert candidates(route, ALL_UP, cur) == ["b", "c", "a"]
    assert candidates(route, lambda c: c != "c", cur) == ["a", "b"]
    assert candidates(route, lambda c: False, cur) == []


def test_cursor_is_per_connector_list_and_copyable() -> None:
    r1 = RandomRoundrobinMTRoute(T, ("a", "b"), Decimal(0))
    r2 = RandomRoundrobinMTRoute(T, ("x", "y"), Decimal(0))
    cur = RoundRobinCursor()
    assert pick_connector(r1, ALL_UP, cur) == "a"
    assert pick_connector(r2, ALL_UP, cur) == "x"
    snapshot = cur.copy()
    assert pick_connector(r1, ALL_UP, cur) == "b"
    assert pick_connector(r1, ALL_UP, snapshot) == "b"       # the copy did not move
    assert pick_connector(r1, ALL_UP, RoundRobinCursor()) == "a"


def test_failover_gives_first_up_and_falls_through() -> None:
    route = FailoverMTRoute(T, ("primary", "backup", "last"), Decimal(0))
    cur = RoundRobinCursor()
    assert pick_connector(route, ALL_UP, cur) == "primary"
    assert pick_connector(route, lambda c: c != "primary", cur) == "backup"
    assert candidates(route, lambda c: c != "backup", cur) == ["primary", "last"]
    assert pick_connector(route, lambda c: False, cur) is None
    assert candidates(route, lambda c: False, cur) == []


def test_mo_failover_and_round_robin_over_mixed_targets() -> None:
    bind, hook, store = Target("smpps", "foo"), Target("http", "cb"), Target("store")
    fo = FailoverMORoute(T, (bind, hook, store))
    cur = RoundRobinCursor()
    assert pick_target(fo, lambda t: t is not bind, cur) == hook
    assert target_candidates(fo, lambda t: t.kind != "http", cur) == [bind, store]
    rr = RandomRoundrobinMORoute(T, (bind, hook))
    assert [pick_target(rr, ALL_UP, cur) for _ in range(4)] == [bind, hook, bind, hook]
    assert target_candidates(rr, ALL_UP, cur) == [bind, hook]
