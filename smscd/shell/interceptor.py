# tests: tests/unit/test_shell_modules.py
"""jCli `mtinterceptor` / `mointerceptor` (reference §7.9), declarative instead of scripts.

smscd never runs operator code inside the daemon, so Jasmin's `script python3(...)` is
refused with a line pointing to the two ways that exist:
- `actions <action>; <action>; ...` — declarative rewrites, each `name arg arg key=value`:
  set_source ADDRESS [only_if_empty=true], force_ton_npi SIDE [ton=N] [npi=N],
  force_registered_delivery N, strip_registered_delivery, add_tags a,b, remove_tags a,b,
  set_tlv TAG HEX, rewrite SIDE PATTERN REPLACEMENT,
  reject STATUS [http_status=N] [message="text"]   (quotes group words, as in a shell);
- `python NAME` — an installed `smscd.interceptors` entry point (smscd/python_interceptors.py).
"""
from __future__ import annotations

import shlex
from typing import Any

from routing import interceptors as rules

from .grammar import Command, Context
from .tables import TableKind, filter_ids, table_options

# per action: its arguments in positional order
POSITIONAL: dict[str, tuple[str, ...]] = {
    "set_source": ("address", "only_if_empty"),
    "force_ton_npi": ("side", "ton", "npi"),
    "force_registered_delivery": ("value",),
    "strip_registered_delivery": (),
    "add_tags": ("tags",), "remove_tags": ("tags",),
    "set_tlv": ("tag", "value"),
    "rewrite": ("side", "pattern", "replacement"),
    "reject": ("smpp_status", "http_status", "message"),
}
INT_KEYS = {("force_ton_npi", "ton"), ("force_ton_npi", "npi"),
            ("force_registered_delivery", "value"), ("reject", "http_status")}
SCRIPT_REFUSED = ("Error: smscd does not run interceptor scripts; use `actions ...` "
                  "(declarative, see help) or `python NAME` (an installed smscd.interceptors "
                  "entry point)")


def parse_actions(text: str) -> tuple[list[dict[str, Any]], str | None]:
    """`set_source JASMIN; add_tags vip` -> action mappings, or an error line."""
    out: list[dict[str, Any]] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        try:
            words = shlex.split(part)
        except ValueError as e:
            return [], f"Error: actions: {e}"
        name, args = words[0], words[1:]
        if name not in POSITIONAL:
            return [], f"Error: unknown action {name!r}, known: {', '.join(POSITIONAL)}"
        action: dict[str, Any] = {"action": name}
        positional = list(POSITIONAL[name])
        for arg in args:
            key, eq, value = arg.partition("=")
            if not eq or key not in POSITIONAL[name]:
                if not positional:
                    return [], f"Error: {name}: too many arguments ({arg})"
                key, value = positional[0], arg
            if key in positional:
                positional.remove(key)
            action[key] = _typed(name, key, value)
        out.append(action)
    if not out:
        return [], "Error: actions: give at least one action"
    return out, None


def _typed(action: str, key: str, value: str) -> Any:
    if (action, key) in INT_KEYS and value.lstrip("-").isdigit():
        return int(value)
    if key == "only_if_empty":
        return value.lower() in ("true", "yes", "1")
    if key == "tags":
        return [t for t in value.split(",") if t]
    return value


def _actions(ctx: Context, value: str) -> tuple[object, str | None]:
    actions, error = parse_actions(value)
    return (actions if error is None else None), error


def _python(ctx: Context, value: str) -> tuple[object, str | None]:
    return (value, None) if value else (None, "Error: python: give an entry point name")


def _to_spec(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _kind(direction: str) -> TableKind:
    static = f"Static{direction}Interceptor"
    return TableKind(
        facet=f"{direction.lower()}_interceptors", thing=f"{direction} Interceptor",
        added=f"{direction}Interceptor", key_word="Interceptor",
        types={"DefaultInterceptor": ("actions",), static: ("filters", "actions")},
        class_path="jasmin.routing.Interceptors", default_type="DefaultInterceptor",
        checks={"filters": filter_ids, "actions": _actions, "python": _python},
        header=rules.HEADER, listing=rules.listing, show=rules.show, to_spec=_to_spec,
        extra_keys=("python",), optional=("actions",), refused={"script": SCRIPT_REFUSED})


MT_COMMAND = Command("mtinterceptor", "MT Interceptor management", table_options(_kind("MT")))
MO_COMMAND = Command("mointerceptor", "MO Interceptor management", table_options(_kind("MO")))
