# tests: tests/unit/test_interceptors_codec.py
"""Interceptors <-> plain mappings, for YAML profiles, the store and the admin API.

Shape (one list per table, like the route tables):

    mt_interceptors:
      - order: 100
        type: StaticMTInterceptor          # or StaticMOInterceptor, DefaultInterceptor
        filters: [U-foo, DA-33]            # filter ids, resolved against the known filters
        actions:
          - {action: set_source, address: ACME, only_if_empty: true}
          - {action: force_ton_npi, side: destination, ton: 1, npi: 1}
          - {action: force_registered_delivery, value: 1}
          - {action: strip_registered_delivery}
          - {action: add_tags, tags: [vip]}
          - {action: remove_tags, tags: [bulk]}
          - {action: set_tlv, tag: "0x1400", value: "0a0b"}   # tag: int, "0x.." or "5120"
          - {action: rewrite, side: source, pattern: "^00", replacement: "+"}
          - {action: reject, smpp_status: ESME_RINVDSTADR, http_status: 412,
             message: blocked}              # status: name, int, or its text ("11", "0x0b")
        python: hlr_lookup                 # optional: an installed smscd.interceptors entry

Rules: types are strict (no "1" for 1, no "yes" for true), except that a TLV tag and an
SMPP status may be given as text (decimal or 0x-hex), as the shell types them. An unknown
key, a wrong type, a dangling filter id, a bad regex or hex value, an unknown action or
type is reported with its path (`mt_interceptors[2].actions[0].pattern: ...`), every problem at once, as one
RuleError. A DefaultInterceptor without `order` sits at 0. Encoding gives back a mapping
that decodes to an equal interceptor.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from smscd.smpp.status import CommandStatus

from .errors import RuleError
from .filters import Filter
from .interceptor_actions import ACTION_TYPES, Action, ForceTonNpi
from .interceptors import (INTERCEPTOR_TYPES, DefaultInterceptor, Interceptor,
                           InterceptorTable, StaticMOInterceptor, StaticMTInterceptor,
                           order_problems)
from .ordered_lists import decode_ordered


def _str(v: object) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected text, got {type(v).__name__}")
    return v


def _bool(v: object) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {v!r}")
    return v


def _int(v: object) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise ValueError(f"expected an integer, got {v!r}")
    return v


def _tags(v: object) -> frozenset[str]:
    if not isinstance(v, list) or not all(isinstance(t, str) for t in v):
        raise ValueError("expected a list of tags (text)")
    return frozenset(v)


def _number_text(v: object, what: str) -> int:
    """An integer, or its text in decimal or 0x-hex (what the shell and YAML give)."""
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            raise ValueError(f"expected {what}, got {v!r}") from None
    return _int(v)


def _tlv_tag(v: object) -> int:
    return _number_text(v, "a tag like 0x1400 or 5120")


def _hex(v: object) -> bytes:
    try:
        return bytes.fromhex(_str(v))
    except ValueError:
        raise ValueError(f"expected hex octets like 0a0b, got {v!r}") from None


def _status(v: object) -> int:
    if isinstance(v, str) and v.startswith("ESME_"):
        try:
            return CommandStatus[v]
        except KeyError:
            raise ValueError(f"unknown SMPP status {v!r}") from None
    return _number_text(v, "an SMPP status name (ESME_...) or number")


def _status_out(v: int) -> object:
    try:
        return CommandStatus(v).name
    except ValueError:
        return v


# Per action: its keys with (decoder, required); encoders where the value is not plain.
_KEYS: dict[str, dict[str, tuple[Callable[[object], Any], bool]]] = {
    "set_source": {"address": (_str, True), "only_if_empty": (_bool, False)},
    "force_ton_npi": {"side": (_str, True), "ton": (_int, False), "npi": (_int, False)},
    "force_registered_delivery": {"value": (_int, True)},
    "strip_registered_delivery": {},
    "add_tags": {"tags": (_tags, True)},
    "remove_tags": {"tags": (_tags, True)},
    "set_tlv": {"tag": (_tlv_tag, True), "value": (_hex, True)},
    "rewrite": {"side": (_str, True), "pattern": (_str, True), "replacement": (_str, True)},
    "reject": {"smpp_status": (_status, True), "http_status": (_int, False),
               "message": (_str, False)},
}
_ENCODE: dict[str, Callable[[Any], object]] = {
    "tags": sorted, "value": lambda v: v.hex() if isinstance(v, bytes) else v,
    "tag": lambda v: f"{v:#06x}", "smpp_status": _status_out,
}


def _checked_keys(raw: Mapping[str, object], allowed: set[str], required: set[str],
                  path: str) -> list[str]:
    problems = [f"{path}.{k}: unknown key" for k in raw if k not in allowed]
    return problems + [f"{path}.{k}: missing" for k in sorted(required - raw.keys())]


def _kind_of(raw: object, path: str, key: str, known: Mapping[str, object], expected: str,
             what: str | None = None) -> tuple[Mapping[str, Any], str]:
    """`raw` as a mapping and its `key` (one of `known`), else a RuleError naming them."""
    if not isinstance(raw, Mapping):
        raise RuleError([f"{path}: expected {expected}"])
    name = raw.get(key)
    if not isinstance(name, str) or name not in known:
        raise RuleError([f"{path}.{key}: unknown {what or key} {name!r}; known: "
                         f"{', '.join(known)}"])
    return raw, name


def action_from_mapping(raw: object, path: str) -> Action:
    raw, name = _kind_of(raw, path, "action", _KEYS, "a mapping with an 'action' key")
    keys = _KEYS[name]
    problems = _checked_keys(raw, set(keys) | {"action"},
                             {k for k, (_, req) in keys.items() if req}, path)
    values: dict[str, Any] = {}
    for key, (decode, _) in keys.items():
        if key in raw:
            try:
                values[key] = decode(raw[key])
            except ValueError as e:
                problems.append(f"{path}.{key}: {e}")
    if problems:
        raise RuleError(problems)
    try:
        return ACTION_TYPES[name](**values)
    except RuleError as e:
        raise e.under(path) from None


def action_to_mapping(action: Action) -> dict[str, object]:
    out: dict[str, object] = {"action": action.name}
    for key in _KEYS[action.name]:
        value = getattr(action, key)
        if _omit(action, key, value):
            continue
        out[key] = _ENCODE[key](value) if key in _ENCODE else value
    return out


def _omit(action: Action, key: str, value: object) -> bool:
    """Leave out optional keys at their default, so listings and profiles stay short."""
    if isinstance(action, ForceTonNpi) and key in ("ton", "npi"):
        return value is None
    return key == "only_if_empty" and value is False


def interceptor_from_mapping(raw: object, direction: str, filters: Mapping[str, Filter],
                             path: str) -> tuple[int, Interceptor]:
    """One table entry -> (order, interceptor); RuleError with every problem under `path`."""
    raw, kind = _kind_of(raw, path, "type", INTERCEPTOR_TYPES, "a mapping",
                         "interceptor type")
    cls = INTERCEPTOR_TYPES[kind]
    static = cls is not DefaultInterceptor
    allowed = {"type", "order", "actions", "python"} | ({"filters"} if static else set())
    problems = _checked_keys(raw, allowed, {"order", "filters"} if static else set(), path)
    order = raw.get("order", 0)

    resolved: list[Filter] = []
    refs = raw.get("filters", [])
    if not isinstance(refs, list):
        problems.append(f"{path}.filters: expected a list of filter ids")
        refs = []
    for i, fid in enumerate(refs):
        if isinstance(fid, str) and fid in filters:
            resolved.append(filters[fid])
        else:
            problems.append(f"{path}.filters[{i}]: no filter {fid!r}")

    actions: list[Action] = []
    raw_actions = raw.get("actions", [])
    if not isinstance(raw_actions, list):
        problems.append(f"{path}.actions: expected a list of actions")
        raw_actions = []
    for i, a in enumerate(raw_actions):
        try:
            actions.append(action_from_mapping(a, f"{path}.actions[{i}]"))
        except RuleError as e:
            problems += e.problems

    python = raw.get("python")
    if python is not None and not isinstance(python, str):
        problems.append(f"{path}.python: expected an entry point name (text)")
    if problems:
        raise RuleError(problems)
    try:
        interceptor: Interceptor
        if cls is StaticMTInterceptor:
            interceptor = StaticMTInterceptor(tuple(resolved), tuple(actions), python)
        elif cls is StaticMOInterceptor:
            interceptor = StaticMOInterceptor(tuple(resolved), tuple(actions), python)
        else:
            interceptor = DefaultInterceptor(tuple(actions), python)
    except RuleError as e:
        raise e.under(path) from None
    if bad := order_problems(direction, order, interceptor):
        raise RuleError(bad).under(path)
    return order, interceptor


def interceptor_to_mapping(order: int, interceptor: Interceptor) -> dict[str, object]:
    out: dict[str, object] = {"order": order, "type": type(interceptor).__name__}
    if not isinstance(interceptor, DefaultInterceptor):
        out["filters"] = [f.fid for f in interceptor.filters]
    out["actions"] = [action_to_mapping(a) for a in interceptor.actions]
    if interceptor.python is not None:
        out["python"] = interceptor.python
    return out


def table_from_mappings(direction: str, raw: object, filters: Mapping[str, Filter],
                        path: str) -> InterceptorTable:
    """A whole table (`path` is e.g. "mt_interceptors"); two entries at one order clash."""
    entries = decode_ordered(raw, path, "interceptors", lambda item, at: (
        interceptor_from_mapping(item, direction, filters, at)))
    return InterceptorTable(direction, entries)


def table_to_mappings(table: InterceptorTable) -> list[dict[str, object]]:
    return [interceptor_to_mapping(order, i) for order, i in table.entries]

