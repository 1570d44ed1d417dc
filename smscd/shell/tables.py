# tests: tests/unit/test_shell_modules.py
"""What mtrouter, morouter, mtinterceptor and mointerceptor share (reference §7.8, §7.9).

An ordered table: `-l` lists it highest order first, `-a` opens a draft (`type` first
announces the type's arguments, then `order` and those arguments, any order), `-u ORDER`
changes a rule in place (new in smscd: Jasmin can only remove and re-add), `-r ORDER`,
`-s ORDER`, `-f` flushes. Each module gives a `TableKind`: its names, its types with their
arguments, a check per key and the translation of the draft into a service spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .common import exists, refusal, saving_call
from .grammar import Context, Opt
from .reply import Reply, call, say

# (ctx, value) -> (value to keep, or None and the error line)
TableCheck = Callable[[Context, str], "tuple[object, str | None]"]


@dataclass(frozen=True)
class TableKind:
    facet: str                    # attribute of the service: "mt_routes", ...
    thing: str                    # "MT Route", "MO Interceptor"
    added: str                    # "MTRoute", "MOInterceptor" (the `-a` success line)
    key_word: str                 # "Route", "Interceptor" (`Unknown Route key: x`)
    types: dict[str, tuple[str, ...]]          # type name -> its arguments
    class_path: str               # the jCli echo: "jasmin.routing.Routes"
    default_type: str             # "DefaultRoute" / "DefaultInterceptor"
    checks: dict[str, TableCheck]
    header: str
    listing: Callable[[int, Any], str]
    show: Callable[[Any], str]
    to_spec: Callable[[dict[str, Any]], dict[str, Any]]
    extra_keys: tuple[str, ...] = ()           # smscd keys any type accepts
    optional: tuple[str, ...] = ()             # arguments `ok` does not insist on
    refused: dict[str, str] = field(default_factory=dict)   # key -> why it is refused


class TableDraft:
    def __init__(self, ctx: Context, kind: TableKind, announcement: str,
                 save: Callable[[dict[str, Any]], Reply], order: int | None = None,
                 rule_type: str | None = None) -> None:
        self.ctx, self.kind, self.announcement, self._save = ctx, kind, announcement, save
        self.values: dict[str, Any] = {}
        self.fixed_order = order
        self.rule_type = rule_type

    def keys(self) -> tuple[str, ...]:
        args = self.kind.types.get(self.rule_type or "", ())
        base = ("type", "order") if self.fixed_order is None else ()
        return (*base, *(args or {a for t in self.kind.types.values() for a in t}),
                *self.kind.extra_keys)

    def set(self, key: str, value: str) -> Reply:
        kind = self.kind
        if key in kind.refused:
            return say(kind.refused[key])
        if key == "type" and self.fixed_order is None:
            return self._set_type(value)
        if key == "order" and self.fixed_order is None:
            return self._set_order(value)
        if key in ("type", "order"):
            return say(f"{kind.thing} {key} can not be modified !")
        check = kind.checks.get(key)
        if check is None or (key not in kind.extra_keys and self.rule_type is not None
                             and key not in kind.types[self.rule_type]):
            return say(f"Unknown {kind.key_word} key: {key}")
        kept, error = check(self.ctx, value)
        if error is not None:
            return say(error)
        self.values[key] = kept
        return Reply()

    def _set_type(self, value: str) -> Reply:
        kind = self.kind
        found = next((t for t in kind.types if t.lower() == value.lower()), None)
        if found is None:
            return say(f"Unknown {kind.thing} type:{value}, available types: "
                       f"{', '.join(kind.types)}")
        self.rule_type = found
        lines = [f"<class '{kind.class_path}.{found}'> arguments:",
                 ", ".join(kind.types[found]) or "None"]
        if found == kind.default_type:
            self.values["order"] = 0
        return say(*lines)

    def _set_order(self, value: str) -> Reply:
        word = self.kind.key_word
        if self.rule_type == self.kind.default_type:
            self.values["order"] = 0
            return say(f"{word} order forced to 0 since it is a {self.kind.default_type}")
        if not value.isdigit():
            return say(f"{word} order must be a positive integer")
        if int(value) == 0:
            return say(f"This {word.lower()} order (0) is reserved for "
                       f"{self.kind.default_type} only")
        self.values["order"] = int(value)
        return Reply()

    def save(self) -> Reply:
        if self.fixed_order is None:
            needed = ["order", "type", *self.kind.types.get(self.rule_type or "", ())]
            have = {**self.values, **({"type": 1} if self.rule_type else {})}
            if any(k not in have and k not in self.kind.optional for k in needed):
                return say(f"You must set these options before saving: {', '.join(needed)}")
        return self._save(dict(self.values))


def table_options(kind: TableKind) -> tuple[Opt, ...]:
    """The options of a table command, with their jCli help lines."""
    noun = kind.thing.split()[1].lower()                 # "route" / "interceptor"
    table = "routing" if noun == "route" else "interception"
    prefix = kind.thing.split()[0]
    return (
        Opt("-l", "--list", f"List {prefix} {noun}s", lambda c, v, a: _list(kind, c)),
        Opt("-a", "--add", f"Add a new {prefix} {noun}", lambda c, v, a: _add(kind, c)),
        Opt("-u", "--update", f"Update {prefix} {noun} in place using it's ORDER",
            lambda c, v, a: _update(kind, c, v), "ORDER"),
        Opt("-r", "--remove", f"Remove {prefix} {noun} using it's ORDER",
            lambda c, v, a: _remove(kind, c, v), "ORDER"),
        Opt("-s", "--show", f"Show {prefix} {noun} using it's ORDER",
            lambda c, v, a: _show(kind, c, v), "ORDER"),
        Opt("-f", "--flush", f"Flush {prefix} {table} table", lambda c, v, a: _flush(kind, c)),
    )


def _api(kind: TableKind, ctx: Context) -> Any:
    return getattr(ctx.service, kind.facet)


def _order(kind: TableKind, ctx: Context, text: str) -> tuple[int | None, str | None]:
    if not text.isdigit():
        return None, f"{kind.thing} order must be a positive integer"
    if not exists(_api(kind, ctx).get, int(text)):
        return None, f"Unknown {kind.thing}: {text}"
    return int(text), None


def _list(kind: TableKind, ctx: Context) -> Reply:
    rules = _api(kind, ctx).list()
    lines = [kind.header] if rules else []
    lines += [kind.listing(int(r.key), r.obj) for r in rules]
    return say(*lines, f"Total {kind.thing}s: {len(rules)}")


def _add(kind: TableKind, ctx: Context) -> Reply:
    def save(values: dict[str, Any]) -> Reply:
        spec = kind.to_spec({**values, "type": draft.rule_type})
        order = spec["order"]
        return saving_call(lambda: _api(kind, ctx).add(spec),
                           f"{_command(kind)} -a: {_audit(spec)}",
                           lambda _: f"Successfully added {kind.added} [{draft.rule_type}] "
                                     f"with order:{order}",
                           f"Failed adding {kind.added}, check log for details")

    draft = TableDraft(ctx, kind, f"Adding a new {kind.thing}: (ok: save, ko: exit)", save)
    return Reply(lines=(draft.announcement,), draft=draft)


def _update(kind: TableKind, ctx: Context, text: str) -> Reply:
    order, error = _order(kind, ctx, text)
    if order is None:
        return say(error or "")
    rule = _api(kind, ctx).get(order)
    rule_type = type(rule.obj).__name__
    if rule_type not in kind.types:                     # DefaultMORoute is listed as DefaultRoute
        rule_type = kind.default_type

    def save(values: dict[str, Any]) -> Reply:
        if not values:
            return say("Nothing to save")
        changes = kind.to_spec({**values, "type": rule_type, "order": order})
        changes.pop("type", None)
        changes.pop("order", None)
        return saving_call(lambda: _api(kind, ctx).update(order, changes),
                           f"{_command(kind)} -u {order}: {_audit(changes)}",
                           lambda _: f"Successfully updated {kind.added} with order:{order}",
                           f"Failed updating {kind.added}, check log for details")

    draft = TableDraft(ctx, kind, f"Updating {kind.thing} order [{order}]: "
                                  f"(ok: save, ko: exit)", save, order=order,
                       rule_type=rule_type)
    return Reply(lines=(draft.announcement,), draft=draft)


def _remove(kind: TableKind, ctx: Context, text: str) -> Reply:
    order, error = _order(kind, ctx, text)
    if order is None:
        return say(error or "")
    return call(lambda: _api(kind, ctx).remove(order), f"{_command(kind)} -r {order}",
                lambda _: say(f"Successfully removed {kind.thing} with order:{order}"),
                lambda e: say(refusal(e, f"Failed removing {kind.thing}, check log for "
                                         "details")))


def _show(kind: TableKind, ctx: Context, text: str) -> Reply:
    order, error = _order(kind, ctx, text)
    if order is None:
        return say(error or "")
    return say(kind.show(_api(kind, ctx).get(order).obj))


def _flush(kind: TableKind, ctx: Context) -> Reply:
    return call(lambda: _api(kind, ctx).flush(), f"{_command(kind)} -f",
                lambda n: say(f"Successfully flushed {kind.thing} table ({n} flushed entries)"),
                lambda e: say(refusal(e, f"Failed flushing {kind.thing} table, check log "
                                         "for details")))


def _command(kind: TableKind) -> str:
    prefix, noun = kind.thing.lower().split()
    return f"{prefix}{'router' if noun == 'route' else 'interceptor'}"


def _audit(spec: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in spec.items())


def filter_ids(ctx: Context, value: str) -> tuple[object, str | None]:
    """`filters f1;f2`: every id must name an existing filter."""
    fids = [f for f in value.split(";") if f]
    if not fids:
        return None, "filters option value must contain at least one filter id"
    for fid in fids:
        if not exists(ctx.service.filters.get, fid):
            return None, f"Unknown fid: {fid}"
    return fids, None

