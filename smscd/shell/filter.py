# tests: tests/unit/test_shell_modules.py
"""jCli `filter` (reference §7.7, filter kinds §5.3), plus `-u` in place.

Filters live in the daemon (shared by every session, durable at once), unlike Jasmin's
per-session copies (#473). Jasmin's EvalPyFilter (`pyCode`) is refused: smscd runs no
operator code; PriorityFilter, DataCodingFilter, AnyOfFilter and NotFilter cover its uses.
The draft's jCli keys become the service spec of routing/rules_codec (`SPEC_KEYS`).
"""
from __future__ import annotations

import re
from datetime import date, time
from typing import Any, Callable

from routing.filters import routes_label, show

from .common import exists, row, saving_call, simple_call
from .grammar import Command, Context, Opt
from .reply import Reply, say

# type -> its jCli arguments, in Jasmin's order; then smscd's own filters
TYPES: dict[str, tuple[str, ...]] = {
    "TransparentFilter": (), "UserFilter": ("uid",), "GroupFilter": ("gid",),
    "ConnectorFilter": ("cid",), "SourceAddrFilter": ("source_addr",),
    "DestinationAddrFilter": ("destination_addr",), "ShortMessageFilter": ("short_message",),
    "DateIntervalFilter": ("dateInterval",), "TimeIntervalFilter": ("timeInterval",),
    "EvalPyFilter": ("pyCode",), "TagFilter": ("tag",),
    "PriorityFilter": ("priorities",), "DataCodingFilter": ("data_codings",),
    "AnyOfFilter": ("filters",), "NotFilter": ("filter",),
}
OPTIONAL = ("tz",)                     # a time zone for the interval filters (default UTC)
PYCODE_REFUSED = ("Error: smscd does not run filter code; use PriorityFilter, "
                  "DataCodingFilter, AnyOfFilter, NotFilter or a regex filter instead")
_FID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
Check = Callable[[Context, str, str], "tuple[Any, str | None]"]


def _regex(ctx: Context, key: str, value: str) -> tuple[Any, str | None]:
    try:
        re.compile(value)
    except re.error:
        return None, f"{key} option is not a valid regular expression"
    return value, None


def _interval(parse: Callable[[str], Any], date_kind: bool) -> Check:
    def check(ctx: Context, key: str, value: str) -> tuple[Any, str | None]:
        parts = value.split(";")
        if len(parts) != 2:
            return None, f'{key} option value must be composed of 2 values with a ";" separator.'
        try:
            left, right = parse(parts[0].strip()), parse(parts[1].strip())
        except ValueError:
            return None, f"{value} is not a valid {key} value"
        if date_kind and right <= left:
            return None, "Right border must be greater than left border"
        return {"left": left.isoformat(), "right": right.isoformat()}, None
    return check


def _numbers(ctx: Context, key: str, value: str) -> tuple[Any, str | None]:
    items = [v.strip() for v in value.replace(",", ";").split(";") if v.strip()]
    if not items or not all(i.isdigit() for i in items):
        return None, f"{value} is not a valid {key} value"
    return [int(i) for i in items], None


def _fids(ctx: Context, key: str, value: str) -> tuple[Any, str | None]:
    fids = [f for f in value.split(";") if f]
    for fid in fids:
        if not exists(ctx.service.filters.get, fid):
            return None, f"Unknown fid: {fid}"
    if not fids or (key == "filter" and len(fids) != 1):
        return None, f"{value} is not a valid {key} value"
    return fids if key == "filters" else fids[0], None


def _text(ctx: Context, key: str, value: str) -> tuple[Any, str | None]:
    return (value, None) if value else (None, f"{value} is not a valid {key} value")


CHECKS: dict[str, Check] = {
    "uid": _text, "gid": _text, "cid": _text, "tag": _text, "tz": _text,
    "source_addr": _regex, "destination_addr": _regex, "short_message": _regex,
    "dateInterval": _interval(date.fromisoformat, True),
    "timeInterval": _interval(time.fromisoformat, False),
    "priorities": _numbers, "data_codings": _numbers, "filters": _fids, "filter": _fids,
}


def to_spec(rule_type: str, fid: str, values: dict[str, Any]) -> dict[str, Any]:
    """The rules_codec mapping of a filter typed in jCli keys."""
    spec: dict[str, Any] = {"fid": fid, "type": rule_type}
    for key, value in values.items():
        if key in ("dateInterval", "timeInterval"):
            spec.update(value)
        else:
            spec[key] = value
    return spec


class FilterDraft:
    def __init__(self, ctx: Context, announcement: str,
                 save: Callable[["FilterDraft"], Reply], fid: str | None = None,
                 rule_type: str | None = None) -> None:
        self.ctx, self.announcement, self._save = ctx, announcement, save
        self.fid, self.rule_type, self.updating = fid, rule_type, fid is not None
        self.values: dict[str, Any] = {}

    def keys(self) -> tuple[str, ...]:
        args = TYPES.get(self.rule_type or "", ())
        return (*(() if self.updating else ("type", "fid")), *args, *OPTIONAL)

    def set(self, key: str, value: str) -> Reply:
        if self.updating and key in ("type", "fid"):
            return say(f"Filter {key} can not be modified !")
        if key == "type":
            found = next((t for t in TYPES if t.lower() == value.lower()), None)
            if found is None:
                return say(f'Unknown Filter type: "{value}", available types: '
                           f'{", ".join(TYPES)}')
            if found == "EvalPyFilter":
                return say(PYCODE_REFUSED)
            self.rule_type = found
            return say(f"<class 'jasmin.routing.Filters.{found}'> arguments:",
                       ", ".join(TYPES[found]) or "None")
        if key == "fid":
            if not _FID.match(value):
                return say(f"Invalid Filter fid syntax: {value}")
            self.fid = value
            return Reply()
        if key == "pyCode":
            return say(PYCODE_REFUSED)
        allowed = (*TYPES.get(self.rule_type or "", ()), *OPTIONAL) if self.rule_type \
            else tuple(CHECKS)
        if key not in CHECKS or key not in allowed:
            return say(f"Unknown Filter key: {key}")
        kept, error = CHECKS[key](self.ctx, key, value)
        if error is not None:
            return say(error)
        self.values[key] = kept
        return Reply()

    def save(self) -> Reply:
        return self._save(self)


def _add(ctx: Context, _: object, arg: str) -> Reply:
    def save(draft: FilterDraft) -> Reply:
        args = TYPES.get(draft.rule_type or "", ())
        if draft.rule_type is None or draft.fid is None or any(a not in draft.values
                                                                for a in args):
            return say("You must set these options before saving: "
                       + ", ".join(("type", "fid", *args)))
        spec = to_spec(draft.rule_type, draft.fid, draft.values)
        fid, rule_type = draft.fid, draft.rule_type
        return saving_call(lambda: ctx.service.filters.add(spec),
                           f"filter -a: {_audit(spec)}",
                           lambda _: f"Successfully added Filter [{rule_type}] with fid:{fid}",
                           "Failed adding Filter, check log for details")

    draft = FilterDraft(ctx, "Adding a new Filter: (ok: save, ko: exit)", save)
    return Reply(lines=(draft.announcement,), draft=draft)


def _update(ctx: Context, fid: str, arg: str) -> Reply:
    api = ctx.service.filters
    if not exists(api.get, fid):
        return say(f"Unknown Filter: {fid}")
    rule_type = str(api.get(fid).spec.get("type", type(api.get(fid).obj).__name__))

    def save(draft: FilterDraft) -> Reply:
        if not draft.values:
            return say("Nothing to save")
        changes = to_spec(rule_type, fid, draft.values)
        del changes["fid"], changes["type"]
        return saving_call(lambda: api.update(fid, changes), f"filter -u {fid}: "
                           f"{_audit(changes)}",
                           lambda _: f"Successfully updated Filter id:{fid}",
                           "Failed updating Filter, check log for details")

    draft = FilterDraft(ctx, f"Updating Filter id [{fid}]: (ok: save, ko: exit)", save,
                        fid=fid, rule_type=rule_type)
    return Reply(lines=(draft.announcement,), draft=draft)


def _audit(spec: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in spec.items())


def _list(ctx: Context, _: object, arg: str) -> Reply:
    rules = ctx.service.filters.list()
    widths = [16, 22, 6]
    lines = [row(["Filter id", "Type", "Routes", "Description"], widths)] if rules else []
    lines += [row([str(r.key), type(r.obj).__name__, routes_label(r.obj), r.obj.describe()],
                  widths) for r in rules]
    return say(*lines, f"Total Filters: {len(rules)}")


def _show(ctx: Context, fid: str, arg: str) -> Reply:
    api = ctx.service.filters
    if not exists(api.get, fid):
        return say(f"Unknown Filter: {fid}")
    return say(show(api.get(fid).obj))


def _remove(ctx: Context, fid: str, arg: str) -> Reply:
    api = ctx.service.filters
    if not exists(api.get, fid):
        return say(f"Unknown Filter: {fid}")
    return simple_call(lambda: api.remove(fid), f"filter -r {fid}",
                       f"Successfully removed Filter id:{fid}",
                       "Failed removing Filter, check log for details")


COMMAND = Command("filter", "Filter management", (
    Opt("-l", "--list", "List filters", _list),
    Opt("-a", "--add", "Add filter", _add),
    Opt("-u", "--update", "Update filter in place using it's FID", _update, "FID"),
    Opt("-r", "--remove", "Remove filter using it's FID", _remove, "FID"),
    Opt("-s", "--show", "Show filter using it's FID", _show, "FID"),
))
