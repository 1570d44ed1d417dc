# tests: tests/unit/test_routing_codec.py
"""Filters and routes <-> plain mappings: the shape of YAML profiles, the provisioning store
and the admin API.

    {"fid": "fr", "type": "DestinationAddrFilter", "destination_addr": "^33"}
    {"fid": "fr-or-de", "type": "AnyOfFilter", "filters": ["fr", "de"]}
    {"type": "StaticMTRoute", "order": 10, "filters": ["fr"], "connector": "c1", "rate": "0.05"}
    {"type": "FailoverMORoute", "order": 5, "filters": ["kw"],
     "targets": ["smpps(foo)", "http(cb1)", "store"]}

Rules:
- Decoding validates everything and raises RuleError listing EVERY problem with its path
  (`mt_routes[3].filters[1]: no filter 'x'`, `filters[2].tz: unknown time zone 'X'`):
  unknown keys, missing keys, wrong types, bad values, dangling references.
- Routes, AnyOfFilter and NotFilter reference filters BY ID; a list of filters may
  reference each other in any order, but not in a cycle.
- Connectors (MT), users (`smpps(...)`) and HTTP callback connectors (`http(...)`) are
  checked against `References` when the caller gives the known ids (None: not checked).
- `type` is matched case-insensitively (as Jasmin's jCli); `DefaultRoute` is the default
  route of either table and defaults to order 0; an MT connector may be written `c1` or
  Jasmin's `smppc(c1)`; MO targets are `smpps(<username>)`, `http(<id>)` or `store`.
- `rate` is a decimal given as text or an integer (a YAML float is read through its
  shortest text, so `0.05` stays 0.05); it is written back as text; omitted means 0.
- Times are "HH:MM:SS" text (quote them in YAML 1.1, where 22:00:00 is a number), dates
  "YYYY-MM-DD" text or YAML dates. Encoding then decoding gives equal rules.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Callable, Collection, Iterable, Mapping, Sequence, TypeVar, cast

from .errors import RuleError
from .filters import (FILTER_TYPES, AnyOfFilter, ConnectorFilter, DataCodingFilter,
                      DateIntervalFilter, DestinationAddrFilter, Filter, GroupFilter, NotFilter,
                      PriorityFilter, ShortMessageFilter, SourceAddrFilter, TagFilter,
                      TimeIntervalFilter, TransparentFilter, UserFilter)
from .ordered_lists import decode_ordered
from .routable import MO, MT
from .routes import (HTTP, MO_ROUTE_CLASSES, MO_ROUTE_TYPES, MT_ROUTE_TYPES, SMPPS, STORE,
                     DefaultMORoute, DefaultRoute, FailoverMORoute, FailoverMTRoute, MORoute,
                     MTRoute, RandomRoundrobinMORoute, RandomRoundrobinMTRoute, Route,
                     StaticMORoute, StaticMTRoute, Target)
from .table import RouteTable, order_problems

_FID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_SMPPC = re.compile(r"^smppc\((.+)\)$")
_TARGET = re.compile(r"^(smpps|http|store)(?:\((.*)\))?$")


T = TypeVar("T")


def _attempt(problems: list[str], fn: Callable[[], T], fallback: T) -> T:
    try:
        return fn()
    except RuleError as e:
        problems += e.problems
        return fallback


@dataclass(frozen=True, slots=True)
class References:
    """Known ids to check references against; None means that kind is not checked."""
    connectors: Collection[str] | None = None         # SMPP client connectors (MT)
    users: Collection[str] | None = None              # usernames (MO smpps targets)
    http_connectors: Collection[str] | None = None    # HTTP callback connectors (MO)


# --- values: each converter takes (value, key, known filters) and raises RuleError ------

def _text(v: object, key: str, known: Mapping[str, Filter]) -> str:
    if isinstance(v, bool) or not isinstance(v, (str, int)) or v == "":
        raise RuleError([f"{key}: expected non-empty text, got {v!r}"])
    return str(v)


def _date(v: object, key: str, known: Mapping[str, Filter]) -> date:
    if isinstance(v, date) and not isinstance(v, datetime):
        return v
    if isinstance(v, str):
        try:
            return date.fromisoformat(v)
        except ValueError:
            pass
    raise RuleError([f"{key}: expected a date YYYY-MM-DD, got {v!r}"])


def _time(v: object, key: str, known: Mapping[str, Filter]) -> time:
    if isinstance(v, str) and re.fullmatch(r"\d\d:\d\d(:\d\d)?", v):
        try:
            return time.fromisoformat(v)
        except ValueError:
            pass
    hint = " (quote it: YAML reads 22:00:00 as a number)" if isinstance(v, int) else ""
    raise RuleError([f"{key}: expected a time HH:MM:SS, got {v!r}{hint}"])


def _ints(v: object, key: str, known: Mapping[str, Filter]) -> frozenset[int]:
    items = v if isinstance(v, list) else [v]
    if not items or any(isinstance(i, bool) or not isinstance(i, int) for i in items):
        raise RuleError([f"{key}: expected an integer or a list of integers, got {v!r}"])
    return frozenset(items)


def _refs(v: object, key: str, known: Mapping[str, Filter]) -> tuple[Filter, ...]:
    if not isinstance(v, list):
        raise RuleError([f"{key}: expected a list of filter ids, got {v!r}"])
    problems = [f"{key}[{i}]: no filter {fid!r}" for i, fid in enumerate(v)
                if not isinstance(fid, str) or fid not in known]
    if problems:
        raise RuleError(problems)
    return tuple(known[fid] for fid in v)


def _ref(v: object, key: str, known: Mapping[str, Filter]) -> Filter:
    if not isinstance(v, str) or v not in known:
        raise RuleError([f"{key}: no filter {v!r}"])
    return known[v]


def _rate(v: object) -> Decimal:
    if isinstance(v, Decimal):
        return v
    if isinstance(v, float):
        v = repr(v)
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        try:
            return Decimal(v)
        except InvalidOperation:
            pass
    raise RuleError([f"rate: expected a decimal number, got {v!r}"])


def _checked_keys(raw: object, required: Iterable[str], optional: Iterable[str]) -> list[str]:
    if not isinstance(raw, Mapping):
        return [f": expected a mapping, got {type(raw).__name__}"]
    allowed = {"type", *required, *optional}
    return ([f".{k}: unknown key" for k in sorted(map(str, raw.keys() - allowed))]
            + [f".{k}: missing" for k in required if k not in raw])


# --- filters --------------------------------------------------------------------------

Convert = Callable[[object, str, Mapping[str, Filter]], object]

# type -> (required keys, optional keys), each with its converter; the keys are the
# filter's own field names, so the class is built with them as keyword arguments.
_FILTERS: dict[str, tuple[dict[str, Convert], dict[str, Convert]]] = {
    "TransparentFilter": ({}, {}),
    "UserFilter": ({"uid": _text}, {}),
    "GroupFilter": ({"gid": _text}, {}),
    "ConnectorFilter": ({"cid": _text}, {}),
    "SourceAddrFilter": ({"source_addr": _text}, {}),
    "DestinationAddrFilter": ({"destination_addr": _text}, {}),
    "ShortMessageFilter": ({"short_message": _text}, {}),
    "TagFilter": ({"tag": _text}, {}),
    "DateIntervalFilter": ({"left": _date, "right": _date}, {"tz": _text}),
    "TimeIntervalFilter": ({"left": _time, "right": _time}, {"tz": _text}),
    "PriorityFilter": ({"priorities": _ints}, {}),
    "DataCodingFilter": ({"data_codings": _ints}, {}),
    "AnyOfFilter": ({"filters": _refs}, {}),
    "NotFilter": ({"filter": _ref}, {}),
}
_FILTER_NAMES = {name.lower(): name for name in _FILTERS}


def _filter_type(raw: Mapping[str, object]) -> str | None:
    kind = raw.get("type")
    return _FILTER_NAMES.get(kind.lower()) if isinstance(kind, str) else None


def filter_from_mapping(raw: object, known: Mapping[str, Filter], path: str) -> Filter:
    """One filter; AnyOfFilter/NotFilter members are looked up in `known` by id."""
    if not isinstance(raw, Mapping):
        raise RuleError([f"{path}: expected a mapping, got {type(raw).__name__}"])
    name = _filter_type(raw)
    if name is None:
        raise RuleError([f"{path}.type: unknown filter type {raw.get('type')!r}; known: "
                         f"{', '.join(_FILTERS)}"])
    required, optional = _FILTERS[name]
    problems = _checked_keys(raw, ("fid", *required), optional)
    fid = raw.get("fid")
    if "fid" in raw and (not isinstance(fid, str) or not _FID.match(fid)):
        problems.append(f".fid: expected 1-64 letters, digits, '_', '.', ':' or '-', "
                        f"got {fid!r}")
    values: dict[str, object] = {}
    for key, convert in {**required, **optional}.items():
        if key in raw:
            values[key] = _attempt(problems, partial(convert, raw[key], key, known), None)
    if problems:
        raise RuleError(problems).under(path)
    try:
        return FILTER_TYPES[name](str(fid), **values)         # type: ignore[arg-type]
    except RuleError as e:
        raise e.under(path) from None


def _members(raw: object) -> list[object]:
    """The filter ids a filter mapping refers to (AnyOfFilter / NotFilter)."""
    if not isinstance(raw, Mapping):
        return []
    if _filter_type(raw) == "AnyOfFilter" and isinstance(raw.get("filters"), list):
        return list(raw["filters"])
    if _filter_type(raw) == "NotFilter":
        return [raw.get("filter")]
    return []


def filters_from_mappings(raw: object, path: str = "filters",
                          known: Mapping[str, Filter] | None = None) -> dict[str, Filter]:
    """A list of filters -> {fid: filter}. Members may be defined anywhere in the list (or
    in `known`); duplicates and reference cycles are problems."""
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        raise RuleError([f"{path}: expected a list of filters"])
    problems: list[str] = []
    first_at: dict[str, int] = {}
    pending: dict[int, object] = {}
    for i, item in enumerate(raw):
        fid = item.get("fid") if isinstance(item, Mapping) else None
        if isinstance(fid, str) and fid in first_at:
            problems.append(f"{path}[{i}].fid: {fid!r} is already used by {path}[{first_at[fid]}]")
            continue
        if isinstance(fid, str):
            first_at[fid] = i
        pending[i] = item
    done: dict[str, Filter] = dict(known or {})
    failed: set[object] = set()
    progress = True
    while pending and progress:
        progress = False
        for i, item in list(pending.items()):
            members = _members(item)
            if any(m in first_at and m not in done and m not in failed and m != _fid(item)
                   for m in members if isinstance(m, str)):
                continue            # a member defined later in the list: next round
            del pending[i]
            progress = True
            bad = [m for m in members if m in failed]
            if bad:
                problems.append(f"{path}[{i}]: member {bad[0]!r} is invalid itself")
                failed.add(_fid(item))
                continue
            try:
                f = filter_from_mapping(item, done, f"{path}[{i}]")
            except RuleError as e:
                problems += e.problems
                failed.add(_fid(item))
                continue
            done[f.fid] = f
    for i, item in pending.items():
        problems.append(f"{path}[{i}]: {_fid(item)!r} is part of a reference cycle")
    if problems:
        raise RuleError(problems)
    return {fid: done[fid] for fid in first_at if fid in done}


def _fid(item: object) -> object:
    return item.get("fid") if isinstance(item, Mapping) else None


_FIELDS: dict[type, tuple[str, ...]] = {
    UserFilter: ("uid",), GroupFilter: ("gid",), ConnectorFilter: ("cid",),
    SourceAddrFilter: ("source_addr",), DestinationAddrFilter: ("destination_addr",),
    ShortMessageFilter: ("short_message",), TagFilter: ("tag",),
}


def filter_to_mapping(f: Filter) -> dict[str, object]:
    """The mapping `filter_from_mapping` reads back; members by id."""
    out: dict[str, object] = {"fid": f.fid, "type": type(f).__name__}
    if isinstance(f, (DateIntervalFilter, TimeIntervalFilter)):
        out.update(left=f.left.isoformat(), right=f.right.isoformat())
        if f.tz != "UTC":
            out["tz"] = f.tz
    elif isinstance(f, PriorityFilter):
        out["priorities"] = sorted(f.priorities)
    elif isinstance(f, DataCodingFilter):
        out["data_codings"] = sorted(f.data_codings)
    elif isinstance(f, AnyOfFilter):
        out["filters"] = [g.fid for g in f.filters]
    elif isinstance(f, NotFilter):
        out["filter"] = f.filter.fid
    else:
        out.update({k: getattr(f, k) for k in _FIELDS.get(type(f), ())})
    return out


def filters_to_mappings(filters: Iterable[Filter]) -> list[dict[str, object]]:
    """Every filter, members included and listed before the filters that use them; two
    different filters with one id are a RuleError."""
    out: dict[str, Filter] = {}

    def add(f: Filter) -> None:
        for member in (f.filters if isinstance(f, AnyOfFilter) else
                       (f.filter,) if isinstance(f, NotFilter) else ()):
            add(member)
        if f.fid in out and out[f.fid] != f:
            raise RuleError([f"fid: {f.fid!r} names two different filters"])
        out[f.fid] = f

    for f in filters:
        add(f)
    return [filter_to_mapping(f) for f in out.values()]



# --- routes ---------------------------------------------------------------------------

_SINGLE = (DefaultRoute, StaticMTRoute, DefaultMORoute, StaticMORoute)
def _values(raw: Mapping[str, object], key: str, single: bool,
            decode: Callable[[object, str], T], fallback: T, problems: list[str]) -> list[T]:
    """`key`'s one value (single) or list of values, decoded; problems collected."""
    if single:
        return [_attempt(problems, lambda: decode(raw[key], key), fallback)]
    v = raw[key]
    if not isinstance(v, list):
        problems.append(f"{key}: expected a list, got {v!r}")
        return []
    return [_attempt(problems, lambda: decode(item, f"{key}[{i}]"), fallback)
            for i, item in enumerate(v)]


def _connector(v: object, key: str, refs: References) -> str:
    if not isinstance(v, str) or not v:
        raise RuleError([f"{key}: expected a connector id, got {v!r}"])
    m = _SMPPC.match(v)
    cid = m.group(1) if m else v
    if refs.connectors is not None and cid not in refs.connectors:
        raise RuleError([f"{key}: no connector {cid!r}"])
    return cid


def _target(v: object, key: str, refs: References) -> Target:
    m = _TARGET.match(v) if isinstance(v, str) else None
    if m is None:
        raise RuleError([f"{key}: expected smpps(<username>), http(<id>) or store, got {v!r}"])
    kind, ident = m.group(1), m.group(2) or ""
    known = {SMPPS: refs.users, HTTP: refs.http_connectors}.get(kind)
    if known is not None and ident not in known:
        raise RuleError([f"{key}: no {'user' if kind == SMPPS else 'HTTP connector'} "
                         f"{ident!r}"])
    try:
        return Target(kind, ident)
    except RuleError as e:
        raise RuleError([f"{key}: {p}" for p in e.problems]) from None


def _mt_route(cls: type[MTRoute], filters: tuple[Filter, ...], conns: list[str],
              rate: Decimal) -> MTRoute:
    if cls is DefaultRoute:
        return DefaultRoute(conns[0], rate)
    if cls is StaticMTRoute:
        return StaticMTRoute(filters, conns[0], rate)
    if cls is RandomRoundrobinMTRoute:
        return RandomRoundrobinMTRoute(filters, tuple(conns), rate)
    return FailoverMTRoute(filters, tuple(conns), rate)


def _mo_route(cls: type[MORoute], filters: tuple[Filter, ...],
              targets: list[Target]) -> MORoute:
    if cls is DefaultMORoute:
        return DefaultMORoute(targets[0])
    if cls is StaticMORoute:
        return StaticMORoute(filters, targets[0])
    if cls is RandomRoundrobinMORoute:
        return RandomRoundrobinMORoute(filters, tuple(targets))
    return FailoverMORoute(filters, tuple(targets))


def route_from_mapping(raw: object, direction: str, filters: Mapping[str, Filter], path: str,
                       refs: References | None = None) -> tuple[int, Route]:
    """One table entry -> (order, route); RuleError with every problem under `path`."""
    known = refs or References()
    types: Mapping[str, type[Route]] = MT_ROUTE_TYPES if direction == MT else MO_ROUTE_TYPES
    if not isinstance(raw, Mapping):
        raise RuleError([f"{path}: expected a mapping, got {type(raw).__name__}"])
    kind = raw.get("type")
    name = {n.lower(): n for n in types}.get(kind.lower()) if isinstance(kind, str) else None
    if name is None:
        raise RuleError([f"{path}.type: unknown {direction.upper()} route type {kind!r}; "
                         f"known: {', '.join(types)}"])
    cls = types[name]
    single = cls in _SINGLE
    key = {(MT, True): "connector", (MT, False): "connectors",
           (MO, True): "target", (MO, False): "targets"}[direction, single]
    required = [key] + ([] if cls.is_default else ["order", "filters"])
    optional = (["order"] if cls.is_default else []) + (["rate"] if direction == MT else [])
    problems = _checked_keys(raw, required, optional)
    if problems:
        raise RuleError(problems).under(path)
    no_filters: tuple[Filter, ...] = ()
    resolved = (_attempt(problems, lambda: _refs(raw["filters"], "filters", filters),
                         no_filters) if not cls.is_default else no_filters)
    build: Callable[[], Route]
    if direction == MT:
        conns = _values(raw, key, single, lambda v, k: _connector(v, k, known), "", problems)
        rate = (_attempt(problems, lambda: _rate(raw["rate"]), Decimal(0)) if "rate" in raw
                else Decimal(0))
        build = lambda: _mt_route(cls, resolved, conns, rate)  # type: ignore[arg-type] # noqa: E731
    else:
        targets = _values(raw, key, single, lambda v, k: _target(v, k, known), Target(STORE),
                          problems)
        build = lambda: _mo_route(cls, resolved, targets)  # type: ignore[arg-type] # noqa: E731
    if problems:
        raise RuleError(problems).under(path)
    try:
        route = build()
    except RuleError as e:
        raise e.under(path) from None
    order = raw.get("order", 0)
    bad = order_problems(direction, order, route)
    if bad:
        raise RuleError(bad).under(path)
    return cast(int, order), route        # order_problems checked it is an int


def route_to_mapping(order: int, route: Route) -> dict[str, object]:
    """The mapping `route_from_mapping` reads back; filters by id."""
    out: dict[str, object] = {"order": order, "type": route.type_name}
    if not route.is_default:
        out["filters"] = [f.fid for f in route.filters]
    single = isinstance(route, _SINGLE)
    if isinstance(route, MO_ROUTE_CLASSES):
        targets = [t.describe() for t in route.targets]
        out.update({"target": targets[0]} if single else {"targets": targets})
    else:
        out.update({"connector": route.connectors[0]} if single
                   else {"connectors": list(route.connectors)})
        out["rate"] = str(route.rate)
    return out


def route_table_from_mappings(direction: str, raw: object, filters: Mapping[str, Filter],
                              path: str, refs: References | None = None) -> RouteTable:
    """A whole table (`path` is e.g. "mt_routes"); two entries at one order clash."""
    routes = decode_ordered(raw, path, "routes", lambda item, at: (
        route_from_mapping(item, direction, filters, at, refs)))
    return RouteTable(direction, routes)


def route_table_to_mappings(table: RouteTable) -> list[dict[str, object]]:
    return [route_to_mapping(order, route) for order, route in table.routes]
