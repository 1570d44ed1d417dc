# tests: tests/unit/test_routing_filters.py
"""Filters: the conditions a route or interceptor puts on a message (Jasmin §5.3).

Jasmin's filter kinds and names are kept so operators can move over; PriorityFilter,
DataCodingFilter, AnyOfFilter and NotFilter are new and fill the role of Jasmin's
EvalPyFilter (OR, NOT, fields it has no filter for) without running operator code.

Rules:
- A filter is a frozen value with an id (`fid`), checked when it is built: a bad regex,
  time or time zone raises RuleError naming the field. Matching never raises.
- Regexes are compiled once, at construction, and match like Jasmin's `re.match`:
  anchored at the start only (`^33` and `33` mean the same; add `$` to anchor the end).
- `matches(r)` looks at the Routable only; time comes from `r.at` (timezone-aware).
- Date and time intervals are inclusive at both ends, read in the filter's own time zone
  (default UTC). A time interval whose left border is after its right one wraps past
  midnight (22:00:00;06:00:00), which Jasmin refuses.
- `describe()` is Jasmin's `filter -l` repr (`<SA (src_addr=^20\\d+)>`), `show(f)` its
  `filter -s` text; `directions` is which tables accept the filter (UserFilter/GroupFilter
  MT only, ConnectorFilter MO only); `needs_content` says the daemon must decode the text
  for this filter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import ClassVar, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import RuleError
from .routable import MO, MT, Routable

BOTH = frozenset({MT, MO})
MT_ONLY = frozenset({MT})
MO_ONLY = frozenset({MO})


def _compile(name: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as e:
        raise RuleError([f"{name}: not a valid regular expression ({e})"]) from None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError([f"tz: unknown time zone {name!r}"]) from None


def _tz_suffix(tz: str) -> str:
    return "" if tz == "UTC" else f", tz={tz}"


@dataclass(frozen=True, slots=True)
class TransparentFilter:
    fid: str
    directions: ClassVar[frozenset[str]] = BOTH
    needs_content: ClassVar[bool] = False

    def matches(self, r: Routable) -> bool:
        return True

    def describe(self) -> str:
        return "<T>"


@dataclass(frozen=True, slots=True)
class UserFilter:
    fid: str
    uid: str
    directions: ClassVar[frozenset[str]] = MT_ONLY
    needs_content: ClassVar[bool] = False

    def matches(self, r: Routable) -> bool:
        return r.user == self.uid

    def describe(self) -> str:
        return f"<U (uid={self.uid})>"


@dataclass(frozen=True, slots=True)
class GroupFilter:
    fid: str
    gid: str
    directions: ClassVar[frozenset[str]] = MT_ONLY
    needs_content: ClassVar[bool] = False

    def matches(self, r: Routable) -> bool:
        return r.group == self.gid

    def describe(self) -> str:
        return f"<G (gid={self.gid})>"


@dataclass(frozen=True, slots=True)
class ConnectorFilter:
    fid: str
    cid: str
    directions: ClassVar[frozenset[str]] = MO_ONLY
    needs_content: ClassVar[bool] = False

    def matches(self, r: Routable) -> bool:
        return r.connector == self.cid

    def describe(self) -> str:
        return f"<C (cid={self.cid})>"


@dataclass(frozen=True, slots=True)
class SourceAddrFilter:
    fid: str
    source_addr: str
    _re: re.Pattern[str] = field(init=False, repr=False, compare=False)
    directions: ClassVar[frozenset[str]] = BOTH
    needs_content: ClassVar[bool] = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "_re", _compile("source_addr", self.source_addr))

    def matches(self, r: Routable) -> bool:
        return self._re.match(r.source_addr) is not None

    def describe(self) -> str:
        return f"<SA (src_addr={self.source_addr})>"


@dataclass(frozen=True, slots=True)
class DestinationAddrFilter:
    fid: str
    destination_addr: str
    _re: re.Pattern[str] = field(init=False, repr=False, compare=False)
    directions: ClassVar[frozenset[str]] = BOTH
    needs_content: ClassVar[bool] = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "_re", _compile("destination_addr", self.destination_addr))

    def matches(self, r: Routable) -> bool:
        return self._re.match(r.destination_addr) is not None

    def describe(self) -> str:
        return f"<DA (dst_addr={self.destination_addr})>"


@dataclass(frozen=True, slots=True)
class ShortMessageFilter:
    """On `Routable.content`: the decoded text of the first part (Jasmin: same)."""
    fid: str
    short_message: str
    _re: re.Pattern[str] = field(init=False, repr=False, compare=False)
    directions: ClassVar[frozenset[str]] = BOTH
    needs_content: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "_re", _compile("short_message", self.short_message))

    def matches(self, r: Routable) -> bool:
        return self._re.match(r.content) is not None

    def describe(self) -> str:
        return f"<SM (msg={self.short_message})>"


@dataclass(frozen=True, slots=True)
class TagFilter:
    fid: str
    tag: str
    directions: ClassVar[frozenset[str]] = BOTH
    needs_content: ClassVar[bool] = False

    def matches(self, r: Routable) -> bool:
        return self.tag in r.tags

    def describe(self) -> str:
        return f"<TG (tag={self.tag})>"


@dataclass(frozen=True, slots=True)
class DateIntervalFilter:
    """Inclusive: left <= the date of `r.at` in `tz` <= right."""
    fid: str
    left: date
    right: date
    tz: str = "UTC"
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    directions: ClassVar[frozenset[str]] = BOTH
    needs_content: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if self.right < self.left:
            raise RuleError([f"date_interval: right border {self.right} is before left "
                             f"border {self.left}"])
        object.__setattr__(self, "_zone", _zone(self.tz))

    def matches(self, r: Routable) -> bool:
        return self.left <= r.at.astimezone(self._zone).date() <= self.right

    def describe(self) -> str:
        return f"<DI ({self.left},{self.right}{_tz_suffix(self.tz)})>"


@dataclass(frozen=True, slots=True)
class TimeIntervalFilter:
    """Inclusive; when left > right the window wraps past midnight (22:00:00;06:00:00)."""
    fid: str
    left: time
    right: time
    tz: str = "UTC"
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    directions: ClassVar[frozenset[str]] = BOTH
    needs_content: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if self.left.tzinfo is not None or self.right.tzinfo is not None:
            raise RuleError(["time_interval: borders are wall-clock times; set tz instead"])
        object.__setattr__(self, "_zone", _zone(self.tz))

    def matches(self, r: Routable) -> bool:
        t = r.at.astimezone(self._zone).time()
        if self.left <= self.right:
            return self.left <= t <= self.right
        return t >= self.left or t <= self.right

    def describe(self) -> str:
        return f"<TI ({self.left},{self.right}{_tz_suffix(self.tz)})>"


@dataclass(frozen=True, slots=True)
class PriorityFilter:
    """priority_flag is one of `priorities` (SMPP 3.4 §5.2.14: 0..3)."""
    fid: str
    priorities: frozenset[int]
    directions: ClassVar[frozenset[str]] = BOTH
    needs_content: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not self.priorities or not all(0 <= p <= 3 for p in self.priorities):
            raise RuleError([f"priorities: expected one or more of 0..3, got "
                             f"{sorted(self.priorities)}"])

    def matches(self, r: Routable) -> bool:
        return r.priority in self.priorities

    def describe(self) -> str:
        return f"<P (priority={','.join(map(str, sorted(self.priorities)))})>"


@dataclass(frozen=True, slots=True)
class DataCodingFilter:
    """data_coding is one of `data_codings` (SMPP 3.4 §5.2.19: 0..255)."""
    fid: str
    data_codings: frozenset[int]
    directions: ClassVar[frozenset[str]] = BOTH
    needs_content: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not self.data_codings or not all(0 <= d <= 255 for d in self.data_codings):
            raise RuleError([f"data_codings: expected one or more of 0..255, got "
                             f"{sorted(self.data_codings)}"])

    def matches(self, r: Routable) -> bool:
        return r.data_coding in self.data_codings

    def describe(self) -> str:
        return f"<DC (data_coding={','.join(map(str, sorted(self.data_codings)))})>"


@dataclass(frozen=True, slots=True)
class AnyOfFilter:
    """OR: matches when at least one of `filters` does."""
    fid: str
    filters: tuple[Filter, ...]

    def __post_init__(self) -> None:
        if not self.filters:
            raise RuleError(["filters: an AnyOfFilter needs at least one filter"])

    @property
    def directions(self) -> frozenset[str]:
        return frozenset.intersection(*(f.directions for f in self.filters))

    @property
    def needs_content(self) -> bool:
        return any(f.needs_content for f in self.filters)

    def matches(self, r: Routable) -> bool:
        return any(f.matches(r) for f in self.filters)

    def describe(self) -> str:
        return f"<ANY ({', '.join(f.describe() for f in self.filters)})>"


@dataclass(frozen=True, slots=True)
class NotFilter:
    fid: str
    filter: Filter

    @property
    def directions(self) -> frozenset[str]:
        return self.filter.directions

    @property
    def needs_content(self) -> bool:
        return self.filter.needs_content

    def matches(self, r: Routable) -> bool:
        return not self.filter.matches(r)

    def describe(self) -> str:
        return f"<NOT {self.filter.describe()}>"


Filter = Union[TransparentFilter, UserFilter, GroupFilter, ConnectorFilter, SourceAddrFilter,
               DestinationAddrFilter, ShortMessageFilter, TagFilter, DateIntervalFilter,
               TimeIntervalFilter, PriorityFilter, DataCodingFilter, AnyOfFilter, NotFilter]

FILTER_TYPES: dict[str, type[Filter]] = {cls.__name__: cls for cls in (
    TransparentFilter, UserFilter, GroupFilter, ConnectorFilter, SourceAddrFilter,
    DestinationAddrFilter, ShortMessageFilter, TagFilter, DateIntervalFilter,
    TimeIntervalFilter, PriorityFilter, DataCodingFilter, AnyOfFilter, NotFilter)}


def routes_label(f: Filter) -> str:
    """The `Routes` column of Jasmin's `filter -l` (unpadded): `MO MT`, `MO` or `MT`."""
    return " ".join(d.upper() for d in (MO, MT) if d in f.directions)


def show(f: Filter) -> str:
    """Jasmin's `filter -s` text: the type, then one `key = value` line per argument."""
    name = type(f).__name__
    if isinstance(f, TransparentFilter):
        return name
    if isinstance(f, (DateIntervalFilter, TimeIntervalFilter)):
        lines = [f"Left border = {f.left}", f"Right border = {f.right}"]
        lines += [] if f.tz == "UTC" else [f"Time zone = {f.tz}"]
    elif isinstance(f, TagFilter):
        lines = [f"has tag = {f.tag}"]
    elif isinstance(f, PriorityFilter):
        lines = [f"priorities = {','.join(map(str, sorted(f.priorities)))}"]
    elif isinstance(f, DataCodingFilter):
        lines = [f"data_codings = {','.join(map(str, sorted(f.data_codings)))}"]
    elif isinstance(f, AnyOfFilter):
        lines = [f"filters = {', '.join(g.fid for g in f.filters)}"]
    elif isinstance(f, NotFilter):
        lines = [f"filter = {f.filter.fid}"]
    else:
        key = {UserFilter: "uid", GroupFilter: "gid", ConnectorFilter: "cid",
               SourceAddrFilter: "source_addr", DestinationAddrFilter: "destination_addr",
               ShortMessageFilter: "short_message"}[type(f)]
        lines = [f"{key} = {getattr(f, key)}"]
    return "\n".join([f"{name}:"] + lines)


def valid_for(f: Filter, direction: str) -> bool:
    """May `f` sit in a table for `direction` (MT or MO)? Jasmin's MTFILTERS/MOFILTERS."""
    return direction in f.directions


def needs_content(filters: tuple[Filter, ...]) -> bool:
    return any(f.needs_content for f in filters)
