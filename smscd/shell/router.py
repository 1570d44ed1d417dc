# tests: tests/unit/test_shell_modules.py
"""jCli `mtrouter` / `morouter` (reference §7.8, route kinds §5.2), `-u` and `--test`.

Connector syntax as in jCli: MT `smppc(<cid>)`, MO `http(<cid>)` or `smpps(<username>)`,
several separated by `;` for round-robin and failover routes. `--test` opens a draft of
message facts (user, source, destination, content, tags, time, ...) and `ok` prints what
the route tester (the service's test_mt_route / test_mo_route) says would happen.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from routing import routes as rules

from .common import refusal, exists
from .drafts import KeyDraft
from .grammar import Command, Context, Opt
from .reply import Reply, say
from .tables import TableKind, filter_ids, table_options

_MT_CONNECTOR = re.compile(r"^smppc\(([^()]+)\)$")
_MO_CONNECTOR = re.compile(r"^(smpps|http)\(([^()]+)\)$")
MT_TYPES = {"DefaultRoute": ("connector", "rate"),
            "StaticMTRoute": ("filters", "connector", "rate"),
            "RandomRoundrobinMTRoute": ("filters", "connectors", "rate"),
            "FailoverMTRoute": ("filters", "connectors", "rate")}
MO_TYPES = {"DefaultRoute": ("connector",),
            "StaticMORoute": ("filters", "connector"),
            "RandomRoundrobinMORoute": ("filters", "connectors"),
            "FailoverMORoute": ("filters", "connectors")}


def _mt_connector(ctx: Context, text: str) -> tuple[str | None, str | None]:
    m = _MT_CONNECTOR.match(text.strip())
    if m is None:
        return None, "Invalid syntax for connector id, must be smppc(some_id)."
    if not exists(ctx.service.smpp_connectors.get, m.group(1)):
        return None, f"Unknown smppc cid: {m.group(1)}"
    return m.group(1), None


def _mo_connector(ctx: Context, text: str) -> tuple[str | None, str | None]:
    m = _MO_CONNECTOR.match(text.strip())
    if m is None:
        return None, "Invalid syntax for connector id, must be smpps(some_id) or http(some_id)."
    kind, cid = m.groups()
    if kind == "http" and not exists(ctx.service.http_connectors.get, cid):
        return None, f"Unknown http cid: {cid}"
    return f"{kind}({cid})", None


def _many(parse: Callable[[Context, str], tuple[str | None, str | None]]) \
        -> Callable[[Context, str], tuple[object, str | None]]:
    def check(ctx: Context, value: str) -> tuple[object, str | None]:
        items = [v for v in value.split(";") if v.strip()]
        if len(items) < 2:
            return None, ('connectors option value must contain a minimum of 2 connector IDs '
                          'separated with ";".')
        out = []
        for item in items:
            parsed, error = parse(ctx, item)
            if error is not None:
                return None, error
            out.append(parsed)
        return out, None
    return check


def _rate(ctx: Context, value: str) -> tuple[object, str | None]:
    try:
        rate = Decimal(value)
    except InvalidOperation:
        return None, f"Incorrect rate (must be float): {value}"
    if not rate.is_finite() or rate < 0:
        return None, f"Incorrect rate (must be float): {value}"
    return str(rate), None


def _mt_spec(values: dict[str, Any]) -> dict[str, Any]:
    """rules_codec's MT route mapping: type, order, filters (ids), connector(s), rate."""
    return dict(values)


def _mo_spec(values: dict[str, Any]) -> dict[str, Any]:
    """rules_codec's MO route mapping: jCli's connector(s) are its target(s)."""
    names = {"connector": "target", "connectors": "targets"}
    return {names.get(k, k): v for k, v in values.items()}


def _kind(direction: str) -> TableKind:
    mt = direction == "MT"
    parse = _mt_connector if mt else _mo_connector
    checks = {"filters": filter_ids, "connector": parse, "connectors": _many(parse)}
    if mt:
        checks["rate"] = _rate
    return TableKind(
        facet=f"{direction.lower()}_routes", thing=f"{direction} Route",
        added=f"{direction}Route", key_word="Route", types=MT_TYPES if mt else MO_TYPES,
        class_path="jasmin.routing.Routes", default_type="DefaultRoute", checks=checks,
        header=rules.MT_HEADER if mt else rules.MO_HEADER,
        listing=lambda order, route: route.listing(order), show=lambda route: route.show(),
        to_spec=_mt_spec if mt else _mo_spec)


# --- the route tester ------------------------------------------------------------------------

MT_FACTS = {"user": "user", "source": "source_addr", "destination": "destination_addr",
            "content": "content", "tags": "tags", "time": "at", "priority": "priority",
            "data_coding": "data_coding", "channel": "channel"}
MO_FACTS = {"connector": "connector", "source": "source_addr",
            "destination": "destination_addr", "content": "content", "tags": "tags",
            "time": "at", "priority": "priority", "data_coding": "data_coding"}
INT_FACTS = ("priority", "data_coding")


def _fact(key: str) -> Callable[[str], tuple[object, str | None]]:
    def check(value: str) -> tuple[object, str | None]:
        if key == "tags":
            return [t for t in value.replace(";", ",").split(",") if t], None
        if key in INT_FACTS:
            return (int(value), None) if value.isdigit() else \
                (None, f"Error: {key} must be an integer")
        return value, None
    return check


def _tester(direction: str) -> Callable[[Context, object, str], Reply]:
    facts = MT_FACTS if direction == "MT" else MO_FACTS

    def open_tester(ctx: Context, _: object, arg: str) -> Reply:
        def run(values: dict[str, object]) -> Reply:
            test = (ctx.service.test_mt_route if direction == "MT"
                    else ctx.service.test_mo_route)
            try:
                result = test({facts[k]: v for k, v in values.items()})
            except Exception as e:         # a ServiceError naming the fact, or a bug
                return say(refusal(e, "Failed testing routes, check log for details"))
            return Reply(lines=tuple(result.lines), leave_draft=True)

        draft = KeyDraft(f"Testing {direction} routes: (ok: test, ko: exit)",
                         {k: _fact(k) for k in facts}, "Unknown test key: %s", run)
        return Reply(lines=(draft.announcement,), draft=draft)
    return open_tester


def _command(direction: str) -> Command:
    doc = f"{direction} Router management"
    return Command(f"{direction.lower()}router", doc, (
        *table_options(_kind(direction)),
        Opt(None, "--test", f"Test which {direction} interceptor and route a message would "
            "take", _tester(direction)),
    ))


MT_COMMAND = _command("MT")
MO_COMMAND = _command("MO")
