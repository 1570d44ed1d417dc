"""MT route decisions per second on one core, for tables of 10, 1,000 and 10,000 routes.

Run from the repository root:  python3 bench/routing.py [--runs N] [--seconds S]

A decision is what the daemon does per message: `pick_route` on the table, then
`pick_connector` on the winner (round-robin cursor, failover `is_up`). Tables are
destination-prefix heavy with mixed filters, the shape of an operator's price list:
of every 20 routes, 14 are one destination prefix (`^33612`, `^\\+?4420`, `^(4915|4916)`),
2 a prefix and a user, 1 a prefix and a night window, 1 a user only, 1 a group and a
prefix, 1 a tag and a source-address regex; plus a DefaultRoute. Messages: 2,000 generated from
the table's own prefixes (80 %) and random numbers (20 %), users u0..u49. The linear
scan is measured too, for comparison. Results are kept in bench/README.md.
"""
from __future__ import annotations

import argparse
import random
import sys
import timeit
from datetime import datetime, time, timezone
from decimal import Decimal
from pathlib import Path

# This file's name is the `routing` package's: keep its own folder off the import path.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench.codec import machine  # noqa: E402

from routing.filters import (DestinationAddrFilter, Filter, GroupFilter,  # noqa: E402
                             SourceAddrFilter, TagFilter, TimeIntervalFilter, UserFilter)
from routing.routable import MT, Routable  # noqa: E402
from routing.routes import (DefaultRoute, FailoverMTRoute, RandomRoundrobinMTRoute,  # noqa: E402
                            Route, StaticMTRoute)
from routing.selection import RoundRobinCursor, pick_connector  # noqa: E402
from routing.table import RouteTable, pick_route, pick_route_linear  # noqa: E402

SIZES = (10, 1_000, 10_000)
AT = datetime(2026, 11, 23, 23, 30, tzinfo=timezone.utc)


def prefix_pattern(rng: random.Random, prefix: str) -> str:
    shape = rng.random()
    if shape < 0.7:
        return f"^{prefix}"
    if shape < 0.85:
        return rf"^\+?{prefix}"
    return f"^({prefix}|{prefix[:-1]}{(int(prefix[-1]) + 1) % 10})"


def build_table(size: int, rng: random.Random) -> tuple[RouteTable, list[str]]:
    prefixes: list[str] = []
    routes: dict[int, Route] = {0: DefaultRoute("default")}
    for order in range(1, size):
        prefix = str(rng.randint(1, 9)) + "".join(rng.choices("0123456789", k=rng.randint(1, 5)))
        slot = order % 20
        da = DestinationAddrFilter(f"da{order}", prefix_pattern(rng, prefix))
        filters: tuple[Filter, ...]
        if slot < 14:
            filters = (da,)
        elif slot < 16:
            filters = (da, UserFilter(f"u{order}", f"u{rng.randrange(50)}"))
        elif slot == 16:
            filters = (da, TimeIntervalFilter(f"ti{order}", time(22), time(6)))
        elif slot == 17:
            filters = (UserFilter(f"u{order}", f"u{rng.randrange(50)}"),)
        elif slot == 18:
            filters = (GroupFilter(f"g{order}", f"g{rng.randrange(5)}"), da)
        else:
            filters = (TagFilter("t", "bulk"),
                       SourceAddrFilter(f"sa{order}", rf"^{rng.randrange(100)}\d{{3}}$"))
        if slot not in (17, 19):
            prefixes.append(prefix)
        if order % 7 == 0:
            routes[order] = FailoverMTRoute(filters, ("c1", "c2"), Decimal("0.01"))
        elif order % 11 == 0:
            routes[order] = RandomRoundrobinMTRoute(filters, ("c1", "c2", "c3"), Decimal("0.01"))
        else:
            routes[order] = StaticMTRoute(filters, f"c{order % 5}", Decimal("0.02"))
    return RouteTable(MT, routes), prefixes


def messages(prefixes: list[str], rng: random.Random, n: int = 2_000) -> list[Routable]:
    out = []
    for _ in range(n):
        if prefixes and rng.random() < 0.8:
            dest = rng.choice(prefixes) + "".join(rng.choices("0123456789", k=6))
        else:
            dest = "".join(rng.choices("0123456789", k=11))
        out.append(Routable(MT, AT, user=f"u{rng.randrange(50)}", group=f"g{rng.randrange(5)}",
                            source_addr=str(rng.randrange(100_000)), destination_addr=dest,
                            tags=frozenset({"bulk"}) if rng.random() < 0.1 else frozenset()))
    return out


def decisions_per_second(table: RouteTable, msgs: list[Routable], runs: int, seconds: float,
                         linear: bool = False) -> float:
    pick = pick_route_linear if linear else pick_route
    cursor = RoundRobinCursor()
    up = {"c1", "c3"}.__contains__

    def decide_all() -> None:
        for m in msgs:
            hit = pick(table, m)
            if hit is not None:
                pick_connector(hit[1], up, cursor)       # type: ignore[arg-type]

    timer = timeit.Timer(decide_all)
    number, _ = timer.autorange()
    number = max(1, int(number * seconds / 0.2))
    best = min(timer.repeat(repeat=runs, number=number))
    return number * len(msgs) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    print(*machine(), sep="\n")
    print(f"{'routes':>7} {'indexed decisions/s':>20} {'linear decisions/s':>19}  routed")
    for size in SIZES:
        rng = random.Random(size)
        table, prefixes = build_table(size, rng)
        msgs = messages(prefixes, rng)
        assert all(pick_route(table, m) == pick_route_linear(table, m) for m in msgs[:300])
        routed = sum(1 for m in msgs if (pick_route(table, m) or (0,))[0] != 0) / len(msgs)
        fast = decisions_per_second(table, msgs, args.runs, args.seconds)
        slow_msgs = msgs if size <= 1_000 else msgs[:200]
        slow = decisions_per_second(table, slow_msgs, max(1, args.runs // 2), args.seconds / 2,
                                    linear=True)
        print(f"{size:>7} {fast:>20,.0f} {slow:>19,.0f}  {routed:.0%} past the default")


if __name__ == "__main__":
    main()
