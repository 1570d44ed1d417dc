# tests: tests/unit/test_routing_explain.py
"""The route tester: which route a message would take, and why (shell `mtrouter --test`,
admin API).

Rules:
- `explain_route` walks the table in evaluation order (highest order first) up to the
  first route whose filters all match, evaluating EVERY filter of each route it tries so
  the operator sees each reason with the value the filter looked at. Its winner is
  exactly `pick_route`'s (the tests hold it to that).
- The choice of connector/target is made with `is_up` on a COPY of the caller's cursor:
  testing a route never moves the live round-robin rotation.
- The result is plain data; `lines()` renders it as text. `preface` lines (the interceptor
  part of the tester, routing/interceptor_explain.py `lines()`) come first; pass the
  Routable as the interceptors left it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence, Union
from zoneinfo import ZoneInfo

from .filters import (AnyOfFilter, ConnectorFilter, DataCodingFilter, DateIntervalFilter,
                      DestinationAddrFilter, Filter, GroupFilter, NotFilter, PriorityFilter,
                      ShortMessageFilter, SourceAddrFilter, TagFilter, TimeIntervalFilter,
                      UserFilter)
from .routable import MT, Routable
from .routes import MO_ROUTE_CLASSES, Route, Target
from .selection import RoundRobinCursor, candidates, target_candidates
from .table import RouteTable

Choice = Union[str, Target]
_SHOWN_CONTENT = 40


@dataclass(frozen=True, slots=True)
class FilterCheck:
    fid: str
    description: str
    matched: bool
    seen: str            # what the filter looked at, e.g. "destination_addr='33612'"

    def line(self) -> str:
        return f"{self.description} {'matched' if self.matched else 'did not match'} ({self.seen})"


@dataclass(frozen=True, slots=True)
class RouteCheck:
    order: int
    type_name: str
    filters: tuple[FilterCheck, ...]     # empty for a default route: it always matches

    @property
    def matched(self) -> bool:
        return all(c.matched for c in self.filters)


@dataclass(frozen=True, slots=True)
class RouteExplanation:
    direction: str
    checks: tuple[RouteCheck, ...]       # evaluation order, up to and including the winner
    order: int | None                    # the winner, or None: no route
    route: Route | None
    choice: Choice | None                # what would carry the message; None: none up
    candidates: tuple[Choice, ...]       # fall-through order, best first
    down: tuple[Choice, ...]             # the route's connectors/targets that are down
    preface: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        out = list(self.preface)
        out.append(f"{self.direction.upper()} routes:")
        for check in self.checks:
            out.append(f"  #{check.order} {check.type_name}: "
                       f"{'matched' if check.matched else 'no match'}")
            out += [f"    {c.line()}" for c in check.filters]
        if self.route is None:
            out.append("  route: none matched (no route: the message is refused)")
            return out
        out.append(f"  route: #{self.order} {_route_line(self.route)}")
        if self.choice is None:
            out.append(f"  {_noun(self.direction)}: none is up (the message is refused)")
        else:
            out.append(f"  {_noun(self.direction)}: {_name(self.choice)}")
        if len(self.candidates) > 1:
            out.append(f"  then, if it goes down: {', '.join(map(_name, self.candidates[1:]))}")
        if self.down:
            out.append(f"  down: {', '.join(map(_name, self.down))}")
        return out


def _route_line(route: Route) -> str:
    if isinstance(route, MO_ROUTE_CLASSES):
        return f"{route.type_name} to {', '.join(t.describe() for t in route.targets)}"
    rate = "NOT RATED" if route.rate == 0 else f"rated {route.rate}"
    return f"{route.type_name} to {', '.join(map(_name, route.connectors))}, {rate}"


def _noun(direction: str) -> str:
    return "connector" if direction == MT else "target"


def _name(c: Choice) -> str:
    return c.describe() if isinstance(c, Target) else f"smppc({c})"


def _short(text: str) -> str:
    return repr(text if len(text) <= _SHOWN_CONTENT else text[:_SHOWN_CONTENT] + "...")


def seen(f: Filter, r: Routable) -> str:
    """The part of `r` that `f` looks at, as the tester shows it."""
    if isinstance(f, UserFilter):
        return f"user={r.user!r}"
    if isinstance(f, GroupFilter):
        return f"group={r.group!r}"
    if isinstance(f, ConnectorFilter):
        return f"connector={r.connector!r}"
    if isinstance(f, SourceAddrFilter):
        return f"source_addr={r.source_addr!r}"
    if isinstance(f, DestinationAddrFilter):
        return f"destination_addr={r.destination_addr!r}"
    if isinstance(f, ShortMessageFilter):
        return f"content={_short(r.content)}"
    if isinstance(f, TagFilter):
        return f"tags={sorted(r.tags)}"
    if isinstance(f, DateIntervalFilter):
        return f"date {r.at.astimezone(ZoneInfo(f.tz)).date()} {f.tz}"
    if isinstance(f, TimeIntervalFilter):
        return f"time {r.at.astimezone(ZoneInfo(f.tz)).time().replace(microsecond=0)} {f.tz}"
    if isinstance(f, PriorityFilter):
        return f"priority={r.priority}"
    if isinstance(f, DataCodingFilter):
        return f"data_coding={r.data_coding}"
    if isinstance(f, AnyOfFilter):
        return "; ".join(f"{g.describe()} {'yes' if g.matches(r) else 'no'}" for g in f.filters)
    if isinstance(f, NotFilter):
        return f"{f.filter.describe()} {'matched' if f.filter.matches(r) else 'did not match'}"
    return "always"


def _check(order: int, route: Route, r: Routable) -> RouteCheck:
    return RouteCheck(order, route.type_name,
                      tuple(FilterCheck(f.fid, f.describe(), f.matches(r), seen(f, r))
                            for f in route.filters))


def explain_route(table: RouteTable, r: Routable, is_up: Callable[[Any], bool],
                  cursor: RoundRobinCursor, preface: Sequence[str] = ()) -> RouteExplanation:
    """Why `pick_route(table, r)` gives what it gives, and what would carry the message.
    `is_up` takes a connector id (MT table) or a Target (MO table)."""
    checks: list[RouteCheck] = []
    for order, route in table.routes:
        check = _check(order, route, r)
        checks.append(check)
        if check.matched:
            cur = cursor.copy()
            items: tuple[Choice, ...]
            chosen: tuple[Choice, ...]
            if isinstance(route, MO_ROUTE_CLASSES):
                items, chosen = route.targets, tuple(target_candidates(route, is_up, cur))
            else:
                items, chosen = route.connectors, tuple(candidates(route, is_up, cur))
            return RouteExplanation(
                table.direction, tuple(checks), order, route,
                chosen[0] if chosen else None, chosen,
                tuple(c for c in items if not is_up(c)), tuple(preface))
    return RouteExplanation(table.direction, tuple(checks), None, None, None, (), (),
                            tuple(preface))

