# tests: tests/unit/test_interceptors.py
"""MT and MO interceptor tables: rewrite or refuse a message before it is routed.

Same table semantics as the route tables and Jasmin's interception tables (§5.5):
{order: interceptor}, highest order first, the first interceptor whose filters ALL match
wins and the others are not looked at. Order 0 may hold a DefaultInterceptor (it matches
everything); a DefaultInterceptor sits only at order 0. Unlike a route table, a table may
be empty or have no default: then the message goes on unchanged.

Rules:
- An interceptor is a frozen value checked when it is built (RuleError naming the field):
  static ones need filters valid for their direction, every interceptor does something
  (actions or a Python interceptor), a `reject` is the last action and no Python
  interceptor follows it (nothing would run after it).
- The winner's actions apply in order; a Reject stops there and refuses the message.
  Otherwise the rule may name a Python interceptor (an installed entry point, run by
  smscd/python_interceptors.py, never here): it runs on the already-rewritten message.
- `listing`/`show`/`HEADER` are the shell's `-l`/`-s` output (Jasmin §7.9 layout).
- `intercept` is pure and never raises; routing/interceptor_explain.py says why, for the
  route tester.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Mapping, Union

from .errors import RuleError
from .filters import Filter, valid_for
from .interceptor_actions import Action, Reject
from .routable import MO, MT, Routable

_PYTHON_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")


def _body_problems(actions: tuple[Action, ...], python: str | None) -> list[str]:
    problems = []
    if not actions and python is None:
        problems.append("actions: an interceptor needs at least one action or a python "
                        "interceptor")
    for i, a in enumerate(actions[:-1]):
        if isinstance(a, Reject):
            problems.append(f"actions[{i}]: reject must be the last action")
    if actions and isinstance(actions[-1], Reject) and python is not None:
        problems.append("python: never runs after a reject action")
    if python is not None and not _PYTHON_NAME.match(python):
        problems.append(f"python: {python!r} is not an entry point name")
    return problems


def _static_problems(kind: str, direction: str, filters: tuple[Filter, ...]) -> list[str]:
    if not filters:
        return [f"filters: a {kind} needs at least one filter"]
    table = "MTInterceptor" if direction == MT else "MOInterceptor"
    return [f"filters[{i}]: {type(f).__name__}#{f.fid} is not a valid filter for {table}"
            for i, f in enumerate(filters) if not valid_for(f, direction)]


def _describe(actions: tuple[Action, ...], python: str | None) -> str:
    parts = [a.describe() for a in actions]
    if python is not None:
        parts.append(f"<PY ({python})>")
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class DefaultInterceptor:
    """Order 0: applies to every message no other interceptor took."""
    actions: tuple[Action, ...] = ()
    python: str | None = None
    filters: ClassVar[tuple[Filter, ...]] = ()
    directions: ClassVar[frozenset[str]] = frozenset({MT, MO})

    def __post_init__(self) -> None:
        if problems := _body_problems(self.actions, self.python):
            raise RuleError(problems)

    def describe(self) -> str:
        return _describe(self.actions, self.python)


@dataclass(frozen=True, slots=True)
class StaticMTInterceptor:
    filters: tuple[Filter, ...]
    actions: tuple[Action, ...] = ()
    python: str | None = None
    directions: ClassVar[frozenset[str]] = frozenset({MT})

    def __post_init__(self) -> None:
        problems = _static_problems("StaticMTInterceptor", MT, self.filters)
        if problems := problems + _body_problems(self.actions, self.python):
            raise RuleError(problems)

    def describe(self) -> str:
        return _describe(self.actions, self.python)


@dataclass(frozen=True, slots=True)
class StaticMOInterceptor:
    filters: tuple[Filter, ...]
    actions: tuple[Action, ...] = ()
    python: str | None = None
    directions: ClassVar[frozenset[str]] = frozenset({MO})

    def __post_init__(self) -> None:
        problems = _static_problems("StaticMOInterceptor", MO, self.filters)
        if problems := problems + _body_problems(self.actions, self.python):
            raise RuleError(problems)

    def describe(self) -> str:
        return _describe(self.actions, self.python)


Interceptor = Union[DefaultInterceptor, StaticMTInterceptor, StaticMOInterceptor]

INTERCEPTOR_TYPES: dict[str, type[Interceptor]] = {cls.__name__: cls for cls in (
    DefaultInterceptor, StaticMTInterceptor, StaticMOInterceptor)}


HEADER = ("#" + "Order".ljust(5) + " " + "Type".ljust(20) + " " + "Action(s)".ljust(47) + " "
          + "Filter(s)")


def listing(order: int, interceptor: Interceptor) -> str:
    """The interceptor's line in `mtinterceptor -l` / `mointerceptor -l`: Jasmin's §7.9
    layout, its Script column becoming Action(s) (the actions, then the Python one)."""
    filters = ", ".join(f.describe() for f in interceptor.filters)
    return (f"#{str(order).ljust(5)} {type(interceptor).__name__.ljust(20)} "
            f"{interceptor.describe().ljust(47)} {filters}").rstrip()


def show(interceptor: Interceptor) -> str:
    """`mtinterceptor -s ORDER`: Jasmin prints `StaticMTInterceptor/<MTIS (...)>`."""
    return f"{type(interceptor).__name__}/{interceptor.describe()}"


def order_problems(direction: str, order: object, interceptor: Interceptor) -> list[str]:
    """Why `interceptor` may not sit at `order` in a `direction` table (empty: it may)."""
    kind = type(interceptor).__name__
    if direction not in interceptor.directions:
        return [f"type: a {kind} does not belong in an {direction.upper()} table"]
    if not isinstance(order, int) or isinstance(order, bool) or order < 0:
        return [f"order: must be an integer >= 0, got {order!r}"]
    if order == 0 and not isinstance(interceptor, DefaultInterceptor):
        return ["order: 0 is reserved for DefaultInterceptor"]
    if order != 0 and isinstance(interceptor, DefaultInterceptor):
        return [f"order: a DefaultInterceptor sits at order 0, not {order}"]
    return []


class InterceptorTable:
    """An immutable MT or MO interceptor table; building it checks every order."""
    __slots__ = ("direction", "entries", "needs_content", "python_names")

    def __init__(self, direction: str, interceptors: Mapping[int, Interceptor]) -> None:
        if direction not in (MT, MO):
            raise RuleError([f"direction: expected {MT!r} or {MO!r}, got {direction!r}"])
        problems = [f"[{order}].{p}" for order, icpt in interceptors.items()
                    for p in order_problems(direction, order, icpt)]
        if problems:
            raise RuleError(problems)
        self.direction = direction
        self.entries: tuple[tuple[int, Interceptor], ...] = tuple(
            sorted(interceptors.items(), key=lambda e: e[0], reverse=True))
        self.needs_content = any(f.needs_content for _, i in self.entries for f in i.filters)
        self.python_names = frozenset(i.python for _, i in self.entries
                                      if i.python is not None)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, order: int) -> Interceptor | None:
        return next((i for o, i in self.entries if o == order), None)


@dataclass(frozen=True, slots=True)
class Interception:
    """What the table decided: go on with `routable` (then run `python` if set), or
    refuse with `rejection`. `order` is the interceptor that matched, None if none did."""
    routable: Routable
    order: int | None = None
    rejection: Reject | None = None
    python: str | None = None


def _run(order: int, interceptor: Interceptor, r: Routable) -> Interception:
    for action in interceptor.actions:
        if isinstance(action, Reject):
            return Interception(r, order, rejection=action)
        r = action.apply(r)
    return Interception(r, order, python=interceptor.python)


def intercept(table: InterceptorTable, r: Routable) -> Interception:
    """The hot-path decision: the first all-matching interceptor's result."""
    for order, interceptor in table.entries:
        if all(f.matches(r) for f in interceptor.filters):
            return _run(order, interceptor, r)
    return Interception(r)
