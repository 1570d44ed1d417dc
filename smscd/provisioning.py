# tests: tests/unit/test_provisioning.py
"""The provisioning profile: users, vendor connectors and routing, as versioned YAML.

Until the admin shell manages them live, the daemon reads them at start from the file
named by `provisioning.file` in smscd.yaml. The same shape is what `persist`/`load`
will export and import later. Every problem is reported at once with its path;
references (a route to a connector or user that does not exist) are checked here.
Passwords may be given in clear (hashed when loaded into the store) or as an scrypt
hash (`password_hash`, from `smscd passwd`), so the file need not hold secrets.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from connectors.connector_config import (ConnectorConfig, ConnectorConfigError,
                                         connector_config_from_mapping)

PROFILE_VERSION = 1
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")   # it is the SMPP system_id (C16)
_PREFIX = re.compile(r"^[0-9]*$")
_USER_KEYS = {"username", "password", "max_bindings", "throughput"}
_TOP_KEYS = {"version", "users", "connectors", "routing"}
_ROUTING_KEYS = {"default_connector", "mo_routes"}


class ProfileError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid provisioning profile:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class UserSpec:
    username: str
    password: str | None = field(default=None, repr=False)   # None: the user exists already
    max_bindings: int = 10
    throughput: float | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    users: tuple[UserSpec, ...] = ()
    connectors: tuple[ConnectorConfig, ...] = ()
    default_connector: str | None = None
    mo_routes: Mapping[str, str] = field(default_factory=dict)   # destination prefix -> user


def load_profile_file(path: str) -> Profile:
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except FileNotFoundError:
        raise ProfileError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ProfileError([f"{path}: cannot read: {e}"]) from None
    return load_profile({} if raw is None else raw, known_users=())


def load_profile(raw: Any, known_users: tuple[str, ...] = ()) -> Profile:
    """Validate a parsed profile; `known_users` may be referenced by routes too."""
    p: list[str] = []
    if not isinstance(raw, Mapping):
        raise ProfileError(["expected a mapping at the top level"])
    p += [f"{k}: unknown key" for k in sorted(map(str, raw.keys() - _TOP_KEYS))]
    if raw.get("version", PROFILE_VERSION) != PROFILE_VERSION:
        p.append(f"version: expected {PROFILE_VERSION}, got {raw.get('version')!r}")
    users = tuple(_user(item, f"users[{i}]", p) for i, item in enumerate(_list(raw, "users", p)))
    connectors: list[ConnectorConfig] = []
    connector_ids: list[str] = []
    for i, item in enumerate(_list(raw, "connectors", p)):
        connector_ids.append(str(item.get("id")) if isinstance(item, Mapping) else "?")
        try:
            connectors.append(connector_config_from_mapping(item, f"connectors[{i}]"))
        except ConnectorConfigError as e:
            p += e.problems
    _duplicates([u.username for u in users], "users", "username", p)
    _duplicates(connector_ids, "connectors", "id", p)
    routing = raw.get("routing") or {}
    if not isinstance(routing, Mapping):
        p.append("routing: expected a mapping")
        routing = {}
    p += [f"routing.{k}: unknown key" for k in sorted(map(str, routing.keys() - _ROUTING_KEYS))]
    default = routing.get("default_connector")
    if default is not None and default not in {c.id for c in connectors}:
        p.append(f"routing.default_connector: no connector {default!r}")
    names = {u.username for u in users} | set(known_users)
    mo_routes: dict[str, str] = {}
    raw_routes = routing.get("mo_routes") or {}
    if not isinstance(raw_routes, Mapping):
        p.append("routing.mo_routes: expected a mapping of destination prefix to username")
        raw_routes = {}
    for prefix, user in raw_routes.items():
        prefix = str(prefix)
        if not _PREFIX.match(prefix):
            p.append(f"routing.mo_routes.{prefix}: a prefix is digits only (quote it in YAML)")
        elif user not in names:
            p.append(f"routing.mo_routes.{prefix}: no user {user!r}")
        else:
            mo_routes[prefix] = user
    if p:
        raise ProfileError(p)
    return Profile(users, tuple(connectors), default, mo_routes)


def _list(raw: Mapping[str, Any], key: str, p: list[str]) -> list[Any]:
    value = raw.get(key) or []
    if not isinstance(value, list):
        p.append(f"{key}: expected a list")
        return []
    return value


def _duplicates(values: list[str], section: str, key: str, p: list[str]) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            p.append(f"{section}[{i}].{key}: {value!r} is given twice")
        seen.add(value)


def _user(item: Any, where: str, p: list[str]) -> UserSpec:
    if not isinstance(item, Mapping):
        p.append(f"{where}: expected a mapping")
        return UserSpec("?")
    p += [f"{where}.{k}: unknown key" for k in sorted(map(str, item.keys() - _USER_KEYS))]
    username = item.get("username")
    if not isinstance(username, str) or not _USERNAME.match(username):
        p.append(f"{where}.username: 1 to 15 letters, digits, '_', '.' or '-'")
        username = "?"
    password = item.get("password")
    if password is not None and (not isinstance(password, str) or not 1 <= len(password) <= 8):
        p.append(f"{where}.password: 1 to 8 characters (SMPP's password field)")
    max_bindings = item.get("max_bindings", 10)
    if isinstance(max_bindings, bool) or not isinstance(max_bindings, int) or max_bindings < 1:
        p.append(f"{where}.max_bindings: expected an integer >= 1")
        max_bindings = 10
    throughput = item.get("throughput")
    if throughput is not None and (isinstance(throughput, bool)
                                   or not isinstance(throughput, (int, float))
                                   or throughput <= 0):
        p.append(f"{where}.throughput: expected a number > 0 (messages/s) or null")
        throughput = None
    return UserSpec(username, password, max_bindings,
                    None if throughput is None else float(throughput))

