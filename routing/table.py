# tests: tests/unit/test_routing_table.py
"""Route tables: ordered, first match wins (Jasmin §5.1), without scanning every route.

Rules:
- Built from {order: route}; orders are ints >= 0; order 0, when present, holds a default
  route and a default route sits only at order 0; every route is of the table's direction.
  Building reports every problem at once (RuleError, each naming the order).
- Evaluation order is highest order first. `pick_route(table, r)` returns the first
  (order, route) whose filters ALL match, or None; `pick_route_linear` is the same scan
  written plainly, the reference the index is tested against.
- The table is immutable: `with_route` / `without_route` build a new one, so a reader
  holding the old table never sees half a change.

Theory of operation (the index): each route is filed under at most one necessary condition
that can be looked up in a dict: the literal prefixes of a DestinationAddrFilter or
SourceAddrFilter regex (routing/prefixes.py), or a UserFilter, ConnectorFilter, GroupFilter
or TagFilter value; an AnyOfFilter whose members all give conditions of one kind gives
their union. Of several, the one shared by the fewest routes is used. A route
that cannot match unless its condition holds is only evaluated when the message meets the
condition; routes with no condition are always evaluated. For one message, the candidates
(positions in evaluation order) from each lookup are merged and sorted and their filters
run in that order: the first full match is the one the linear scan would find, since every
route skipped was one that could not match.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterator, Mapping

from .errors import RuleError
from .filters import (AnyOfFilter, ConnectorFilter, DestinationAddrFilter, Filter, GroupFilter,
                      SourceAddrFilter, TagFilter, UserFilter)
from .prefixes import literal_prefixes
from .routable import MO, MT, Routable
from .routes import MO_HEADER, MT_HEADER, Route

DEST = "dest"
SOURCE = "source"
USER = "user"
CONNECTOR = "connector"
GROUP = "group"
TAG = "tag"
_KINDS = (DEST, SOURCE, USER, CONNECTOR, GROUP, TAG)

Entry = tuple[tuple[int, Route], tuple[Callable[[Routable], bool], ...]]  # ((order, route), checks)
Condition = tuple[str, frozenset[str]]


def _condition(f: Filter) -> Condition | None:
    """(kind, values): the filter cannot match unless the message has one of the values
    (for DEST and SOURCE: its address starts with one of them)."""
    if isinstance(f, (DestinationAddrFilter, SourceAddrFilter)):
        kind, pattern = ((DEST, f.destination_addr) if isinstance(f, DestinationAddrFilter)
                         else (SOURCE, f.source_addr))
        prefixes = literal_prefixes(pattern)
        return None if prefixes is None else (kind, prefixes)
    if isinstance(f, UserFilter):
        return USER, frozenset({f.uid})
    if isinstance(f, ConnectorFilter):
        return CONNECTOR, frozenset({f.cid})
    if isinstance(f, GroupFilter):
        return GROUP, frozenset({f.gid})
    if isinstance(f, TagFilter):
        return TAG, frozenset({f.tag})
    if isinstance(f, AnyOfFilter):
        parts = [_condition(g) for g in f.filters]
        kinds = {p[0] for p in parts if p is not None}
        if None in parts or len(kinds) != 1:
            return None
        return kinds.pop(), frozenset().union(*(p[1] for p in parts if p is not None))
    return None


class _Index:
    """Positions (in evaluation order) of the routes each condition value admits.

    A route with several conditions is filed under the one that admits the fewest other
    routes (the smallest buckets), so a common value (a group of thousands) is not used
    when a rarer one (a prefix) is at hand."""

    __slots__ = ("always", "dest", "dest_lengths", "source", "source_lengths", "user",
                 "connector", "group", "tag")

    def __init__(self, entries: tuple[Entry, ...]) -> None:
        conditions = [[c for c in map(_condition, route.filters) if c is not None]
                      for (_, route), _ in entries]
        sizes: dict[tuple[str, str], int] = defaultdict(int)
        for conds in conditions:
            for kind, values in conds:
                for v in values:
                    sizes[kind, v] += 1
        always: list[int] = []
        buckets: dict[str, defaultdict[str, list[int]]] = {k: defaultdict(list) for k in _KINDS}
        for pos, conds in enumerate(conditions):
            if not conds:
                always.append(pos)
                continue
            kind, values = min(conds, key=lambda c: sum(sizes[c[0], v] for v in c[1]))
            for v in values:
                buckets[kind][v].append(pos)
        self.always = tuple(always)
        frozen = {k: {v: tuple(p) for v, p in b.items()} for k, b in buckets.items()}
        self.dest, self.source = frozen[DEST], frozen[SOURCE]
        self.dest_lengths = tuple(sorted({len(v) for v in self.dest}))
        self.source_lengths = tuple(sorted({len(v) for v in self.source}))
        self.user, self.connector = frozen[USER], frozen[CONNECTOR]
        self.group, self.tag = frozen[GROUP], frozen[TAG]

    def candidates(self, r: Routable) -> list[int]:
        found = list(self.always)
        if self.dest:
            _by_prefix(self.dest, self.dest_lengths, r.destination_addr, found)
        if self.source:
            _by_prefix(self.source, self.source_lengths, r.source_addr, found)
        if self.user and r.user in self.user:
            found += self.user[r.user]
        if self.connector and r.connector in self.connector:
            found += self.connector[r.connector]
        if self.group and r.group in self.group:
            found += self.group[r.group]
        if self.tag:
            for t in r.tags:
                hit = self.tag.get(t)
                if hit:
                    found += hit
        if len(found) > len(self.always):
            found.sort()
        return found


def _by_prefix(index: dict[str, tuple[int, ...]], lengths: tuple[int, ...], addr: str,
               found: list[int]) -> None:
    n = len(addr)
    for length in lengths:
        if length > n:
            break
        hit = index.get(addr[:length])
        if hit:
            found += hit


class RouteTable:
    """An immutable MT or MO route table; see the module docstring."""

    __slots__ = ("direction", "_entries", "_by_order", "_index", "needs_content")

    def __init__(self, direction: str, routes: Mapping[int, Route]) -> None:
        problems = _problems(direction, routes)
        if problems:
            raise RuleError(problems)
        self.direction = direction
        ordered = sorted(routes.items(), key=lambda item: -item[0])
        self._entries: tuple[Entry, ...] = tuple(
            ((order, route), tuple(f.matches for f in route.filters)) for order, route in ordered)
        self._by_order: dict[int, Route] = dict(ordered)
        self._index = _Index(self._entries)
        self.needs_content = any(f.needs_content for _, r in ordered for f in r.filters)

    @property
    def routes(self) -> tuple[tuple[int, Route], ...]:
        """(order, route) in evaluation order: highest order first."""
        return tuple(hit for hit, _ in self._entries)

    def get(self, order: int) -> Route | None:
        return self._by_order.get(order)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[tuple[int, Route]]:
        return iter(self.routes)

    def with_route(self, order: int, route: Route) -> RouteTable:
        """A new table with `route` at `order` (replacing any route there, as Jasmin)."""
        return RouteTable(self.direction, {**self._by_order, order: route})

    def without_route(self, order: int) -> RouteTable:
        return RouteTable(self.direction,
                          {o: r for o, r in self._by_order.items() if o != order})

    def listing(self) -> list[str]:
        """`mtrouter -l` / `morouter -l` without the total line: header, then one per route."""
        header = MT_HEADER if self.direction == MT else MO_HEADER
        return [header] + [route.listing(order) for (order, route), _ in self._entries]


def order_problems(direction: str, order: object, route: Route) -> list[str]:
    """Can `route` sit at `order` in a `direction` table? Problems name the field."""
    if route.direction != direction:
        return [f"type: {type(route).__name__} is not an {direction.upper()} route"]
    if not isinstance(order, int) or isinstance(order, bool) or order < 0:
        return [f"order: expected an integer >= 0, got {order!r}"]
    if order == 0 and not route.is_default:
        return ["order: 0 is reserved for the DefaultRoute"]
    if order != 0 and route.is_default:
        return [f"order: a DefaultRoute may only be at order 0, not {order}"]
    return []


def _problems(direction: str, routes: Mapping[int, Route]) -> list[str]:
    if direction not in (MT, MO):
        return [f"direction: expected {MT!r} or {MO!r}, got {direction!r}"]
    return [f"routes[{order!r}].{p}" for order, route in routes.items()
            for p in order_problems(direction, order, route)]


def pick_route(table: RouteTable, r: Routable) -> tuple[int, Route] | None:
    """The first route (highest order first) whose filters all match `r`, or None."""
    entries = table._entries
    for pos in table._index.candidates(r):
        hit, checks = entries[pos]
        for check in checks:
            if not check(r):
                break
        else:
            return hit
    return None


def pick_route_linear(table: RouteTable, r: Routable) -> tuple[int, Route] | None:
    """The same answer by scanning every route: the reference for pick_route."""
    for order, route in table.routes:
        if all(f.matches(r) for f in route.filters):
            return order, route
    return None

