# tests: tests/unit/test_routing_routes.py
"""Routes: where a message goes once a table picked it (Jasmin §5.2), and at what rate.

Jasmin's route kinds and names are kept. Unlike Jasmin, round-robin truly rotates (and
skips connectors that are down), and an MO failover route may mix target kinds.

Rules:
- A route is a frozen value, checked when it is built (RuleError naming the field):
  filters valid for its direction (Jasmin's MTFILTERS/MOFILTERS), at least one filter
  except on a default route, connectors/targets non-empty and not repeated, two or more
  for round-robin and failover (as Jasmin), rate a `Decimal` >= 0 (never a float).
- MT routes carry connector ids (`connectors`) and a rate per message part; MO routes carry
  `targets` (`Target(kind, id)`: a customer's SMPP bind, an HTTP callback connector, or
  storage) and no rate. `selection` says how one is chosen (routing/selection.py).
- A default route (order 0 in a table) has no filters and always matches. In both tables
  Jasmin calls it `DefaultRoute`; here the MT one is `DefaultRoute`, the MO one
  `DefaultMORoute`, both listed as `DefaultRoute`.
- `listing(order)` is the route's line in `mtrouter -l` / `morouter -l`; `show()` is
  `mtrouter -s` (Jasmin §7.8).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Union

from .errors import RuleError
from .filters import Filter
from .routable import MO, MT

STATIC = "static"
ROUNDROBIN = "roundrobin"
FAILOVER = "failover"

SMPPS = "smpps"      # an MO target: a customer's SMPP bind, by username
HTTP = "http"        # an MO target: an HTTP callback connector, by id
STORE = "store"      # an MO target: kept for retrieval through the API
TARGET_KINDS = (SMPPS, HTTP, STORE)

MT_HEADER = ("#" + "Order".ljust(5) + " " + "Type".ljust(23) + " " + "Rate".ljust(10) + " "
             + "Connector ID(s)".ljust(48) + " " + "Filter(s)")
MO_HEADER = ("#" + "Order".ljust(5) + " " + "Type".ljust(23) + " "
             + "Connector ID(s)".ljust(48) + " " + "Filter(s)")


@dataclass(frozen=True, slots=True)
class Target:
    """Where an MO goes: `smpps(username)`, `http(connector id)` or `store`."""
    kind: str
    id: str = ""

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise RuleError([f"kind: expected one of {', '.join(TARGET_KINDS)}, "
                             f"got {self.kind!r}"])
        if self.kind != STORE and not self.id:
            raise RuleError([f"id: a {self.kind} target needs an id"])

    def describe(self) -> str:
        return f"{self.kind}({self.id})" if self.id else self.kind


def format_rate(rate: Decimal) -> str:
    """The Rate column of `mtrouter -l`: `0 (!)` when not rated, else 5 decimals."""
    return "0 (!)" if rate == 0 else f"{rate:.5f}"


def _problems_filters(filters: tuple[Filter, ...], direction: str, default: bool) -> list[str]:
    if default:
        return ["filters: a DefaultRoute has no filters"] if filters else []
    if not filters:
        return ["filters: at least one filter is needed"]
    return [f"filters[{i}]: {type(f).__name__} {f.fid!r} is not valid in {direction.upper()} "
            f"routes" for i, f in enumerate(filters) if direction not in f.directions]


def _problems_many(name: str, items: tuple[str, ...], least: int) -> list[str]:
    p = [f"{name}[{i}]: expected a non-empty string, got {c!r}"
         for i, c in enumerate(items) if not isinstance(c, str) or not c]
    if len(items) < least:
        p.append(f"{name}: at least {least} needed, got {len(items)}")
    seen: set[str] = set()
    for c in items:
        if c in seen:
            p.append(f"{name}: {c!r} is listed twice")
        seen.add(c)
    return p


def _problems_rate(rate: object) -> list[str]:
    if not isinstance(rate, Decimal):
        return [f"rate: expected a Decimal, got {type(rate).__name__}"]
    if not rate.is_finite() or rate < 0:
        return [f"rate: expected a decimal >= 0, got {rate}"]
    return []


def _check(p: list[str]) -> None:
    if p:
        raise RuleError(p)


def _filters_text(filters: tuple[Filter, ...]) -> str:
    return ", ".join(f.describe() for f in filters)


class _Route:
    """What MT and MO routes share: the listed type name and the single-target builders."""
    __slots__ = ()
    is_default: ClassVar[bool] = False

    @property
    def type_name(self) -> str:
        return "DefaultRoute" if self.is_default else type(self).__name__

    def _init(self, **fields: object) -> None:
        """Sets the frozen fields, then checks them (the __init__ of one-target kinds)."""
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    def __post_init__(self) -> None:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _MTRoute(_Route):
    """What every MT route has; concrete kinds below say how connectors are given."""
    filters: tuple[Filter, ...]
    connectors: tuple[str, ...]
    rate: Decimal
    direction: ClassVar[str] = MT
    selection: ClassVar[str] = STATIC
    is_default: ClassVar[bool] = False
    least: ClassVar[int] = 1

    def __post_init__(self) -> None:
        _check(_problems_filters(self.filters, MT, self.is_default)
               + _problems_many("connectors", self.connectors, self.least)
               + _problems_rate(self.rate))

    def listing(self, order: int) -> str:
        conns = ", ".join(f"smppc({c})" for c in self.connectors)
        return (f"#{str(order).ljust(5)} {self.type_name.ljust(23)} "
                f"{format_rate(self.rate).ljust(10)} {conns.ljust(48)} "
                f"{_filters_text(self.filters)}").rstrip()

    def show(self) -> str:
        rated = "NOT RATED" if self.rate == 0 else f"rated {self.rate:.2f}"
        if len(self.connectors) == 1:
            return f"{self.type_name} to smppc({self.connectors[0]}) {rated}"
        lines = "".join(f"\n\t- smppc({c})" for c in self.connectors)
        return f"{self.type_name} to {len(self.connectors)} connectors:{lines}\n{rated}"


@dataclass(frozen=True, slots=True, init=False)
class DefaultRoute(_MTRoute):
    """MT order 0: always matches."""
    is_default: ClassVar[bool] = True

    def __init__(self, connector: str, rate: Decimal = Decimal(0)) -> None:
        self._init(filters=(), connectors=(connector,), rate=rate)

    @property
    def connector(self) -> str:
        return self.connectors[0]


@dataclass(frozen=True, slots=True, init=False)
class StaticMTRoute(_MTRoute):
    def __init__(self, filters: tuple[Filter, ...], connector: str,
                 rate: Decimal = Decimal(0)) -> None:
        self._init(filters=tuple(filters), connectors=(connector,), rate=rate)

    @property
    def connector(self) -> str:
        return self.connectors[0]


@dataclass(frozen=True, slots=True)
class RandomRoundrobinMTRoute(_MTRoute):
    """Jasmin's name; here it rotates in list order, skipping connectors that are down."""
    selection: ClassVar[str] = ROUNDROBIN
    least: ClassVar[int] = 2


@dataclass(frozen=True, slots=True)
class FailoverMTRoute(_MTRoute):
    """The first connector in list order that is up."""
    selection: ClassVar[str] = FAILOVER
    least: ClassVar[int] = 2


@dataclass(frozen=True, slots=True)
class _MORoute(_Route):
    filters: tuple[Filter, ...]
    targets: tuple[Target, ...]
    direction: ClassVar[str] = MO
    selection: ClassVar[str] = STATIC
    is_default: ClassVar[bool] = False
    least: ClassVar[int] = 1

    def __post_init__(self) -> None:
        p = _problems_filters(self.filters, MO, self.is_default)
        p += [f"targets[{i}]: expected a Target, got {type(t).__name__}"
              for i, t in enumerate(self.targets) if not isinstance(t, Target)]
        _check(p + _problems_many("targets", tuple(t.describe() for t in self.targets
                                                   if isinstance(t, Target)), self.least))

    def listing(self, order: int) -> str:
        targets = ", ".join(t.describe() for t in self.targets)
        return (f"#{str(order).ljust(5)} {self.type_name.ljust(23)} {targets.ljust(48)} "
                f"{_filters_text(self.filters)}").rstrip()

    def show(self) -> str:
        if len(self.targets) == 1:
            return f"{self.type_name} to {self.targets[0].describe()}"
        lines = "".join(f"\n\t- {t.describe()}" for t in self.targets)
        return f"{self.type_name} to {len(self.targets)} connectors:{lines}"


@dataclass(frozen=True, slots=True, init=False)
class DefaultMORoute(_MORoute):
    """MO order 0: always matches."""
    is_default: ClassVar[bool] = True

    def __init__(self, target: Target) -> None:
        self._init(filters=(), targets=(target,))

    @property
    def target(self) -> Target:
        return self.targets[0]


@dataclass(frozen=True, slots=True, init=False)
class StaticMORoute(_MORoute):
    def __init__(self, filters: tuple[Filter, ...], target: Target) -> None:
        self._init(filters=tuple(filters), targets=(target,))

    @property
    def target(self) -> Target:
        return self.targets[0]


@dataclass(frozen=True, slots=True)
class RandomRoundrobinMORoute(_MORoute):
    """Rotates over targets in list order, skipping those that are down; kinds may mix."""
    selection: ClassVar[str] = ROUNDROBIN
    least: ClassVar[int] = 2


@dataclass(frozen=True, slots=True)
class FailoverMORoute(_MORoute):
    """The first target that is up; kinds may mix (Jasmin refuses mixed kinds)."""
    selection: ClassVar[str] = FAILOVER
    least: ClassVar[int] = 2


MTRoute = Union[DefaultRoute, StaticMTRoute, RandomRoundrobinMTRoute, FailoverMTRoute]
MORoute = Union[DefaultMORoute, StaticMORoute, RandomRoundrobinMORoute, FailoverMORoute]
Route = Union[MTRoute, MORoute]
# for isinstance(route, MO_ROUTE_CLASSES), which type checkers narrow
MT_ROUTE_CLASSES = (DefaultRoute, StaticMTRoute, RandomRoundrobinMTRoute, FailoverMTRoute)
MO_ROUTE_CLASSES = (DefaultMORoute, StaticMORoute, RandomRoundrobinMORoute, FailoverMORoute)

MT_ROUTE_TYPES: dict[str, type[MTRoute]] = {
    "DefaultRoute": DefaultRoute, "StaticMTRoute": StaticMTRoute,
    "RandomRoundrobinMTRoute": RandomRoundrobinMTRoute, "FailoverMTRoute": FailoverMTRoute}
MO_ROUTE_TYPES: dict[str, type[MORoute]] = {
    "DefaultRoute": DefaultMORoute, "StaticMORoute": StaticMORoute,
    "RandomRoundrobinMORoute": RandomRoundrobinMORoute, "FailoverMORoute": FailoverMORoute}
