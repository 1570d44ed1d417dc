# tests: tests/unit/test_routing_selection.py
"""Which connector (MT) or target (MO) of a matched route carries the message.

Rules:
- Static and default routes always give their one connector/target, up or not: the
  message waits in that connector's durable queue (or the user's) while it reconnects,
  as in Jasmin.
- Failover gives the first one in list order that is up; round-robin rotates over the
  list, starting after the last one it gave, skipping those that are down, so traffic
  spreads evenly over those that are up. None up: no choice (None, or no candidates).
- `candidates` is the whole preference order (only those up, except for a static route),
  so the daemon can fall through to the next one when the chosen connector goes down
  before the message is sent (Jasmin #1219 has no such fall-through).
- Each `pick`/`candidates` call is one decision: round-robin advances the caller's
  `RoundRobinCursor` past the one it gave. The cursor is the only state; the caller
  owns it (one per table or per daemon), nothing here is global or random.
- `is_up` takes a connector id (MT) or a Target (MO).
"""
from __future__ import annotations

from typing import Callable, Hashable, TypeVar

from .routes import FAILOVER, ROUNDROBIN, MORoute, MTRoute, Target

T = TypeVar("T", bound=Hashable)


class RoundRobinCursor:
    """Where each round-robin list resumes; keyed by the list itself, so two routes over
    the same connectors share one rotation (and a reordered list starts afresh)."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next: dict[tuple[Hashable, ...], int] = {}

    def copy(self) -> RoundRobinCursor:
        c = RoundRobinCursor()
        c._next = dict(self._next)
        return c

    def take(self, items: tuple[T, ...], is_up: Callable[[T], bool]) -> T | None:
        """The next one up in rotation order, or None; the next decision starts after it."""
        n = len(items)
        start = self._next.get(items, 0)
        for i in range(n):
            j = (start + i) % n
            if is_up(items[j]):
                self._next[items] = (j + 1) % n
                return items[j]
        return None

    def rotate(self, items: tuple[T, ...], is_up: Callable[[T], bool]) -> list[T]:
        """Those up, in rotation order; the next decision starts after the first one."""
        first = self.take(items, is_up)
        if first is None:
            return []
        i = items.index(first)
        return [first] + [c for c in items[i + 1:] + items[:i] if is_up(c)]


def _pick(selection: str, items: tuple[T, ...], is_up: Callable[[T], bool],
          cursor: RoundRobinCursor) -> T | None:
    if selection == ROUNDROBIN:
        return cursor.take(items, is_up)
    if selection == FAILOVER:
        return next((c for c in items if is_up(c)), None)
    return items[0]


def _candidates(selection: str, items: tuple[T, ...], is_up: Callable[[T], bool],
                cursor: RoundRobinCursor) -> list[T]:
    if selection == ROUNDROBIN:
        return cursor.rotate(items, is_up)
    if selection == FAILOVER:
        return [c for c in items if is_up(c)]
    return [items[0]]


def pick_connector(route: MTRoute, is_up: Callable[[str], bool],
                   cursor: RoundRobinCursor) -> str | None:
    """The connector for one MT message, or None when none of a multi-connector route is up."""
    return _pick(route.selection, route.connectors, is_up, cursor)


def candidates(route: MTRoute, is_up: Callable[[str], bool],
               cursor: RoundRobinCursor) -> list[str]:
    """Every connector to try for one MT message, best first."""
    return _candidates(route.selection, route.connectors, is_up, cursor)


def pick_target(route: MORoute, is_up: Callable[[Target], bool],
                cursor: RoundRobinCursor) -> Target | None:
    """The target for one MO message, or None when none of a multi-target route is up."""
    return _pick(route.selection, route.targets, is_up, cursor)


def target_candidates(route: MORoute, is_up: Callable[[Target], bool],
                      cursor: RoundRobinCursor) -> list[Target]:
    """Every target to try for one MO message, best first."""
    return _candidates(route.selection, route.targets, is_up, cursor)
