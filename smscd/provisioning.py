# tests: tests/unit/test_provisioning.py
"""The provisioning profile: the whole provisioning as versioned YAML (persist / load).

Version 2 holds groups, users (password in clear or as an scrypt `password_hash`, and
their credentials), filters, MT/MO routes, MT/MO interceptors, SMPP connectors (with their
wanted `started` state) and HTTP callback connectors, each section a list whose entries
have the shape the service API takes. `parse_profile` validates EVERYTHING before anything
is applied: every problem comes out at once with its path (`mt_routes[3].filters[1]: no
filter 'x'`), references included, since the same builder as the live service checks them.
`render_profile` writes version 2 (passwords as hashes only).

Version 1 (users, connectors, routing.default_connector, routing.mo_routes) is still read,
so existing configs keep working: its users join group "default", its connectors are
started, the default connector becomes a DefaultRoute at order 0, and each MO prefix a
StaticMORoute (longer prefixes at higher orders, so the longest prefix wins) through a
DestinationAddrFilter `mo-<prefix>`; the empty prefix is the MO DefaultRoute.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import yaml

from connectors.connector_config import (ConnectorConfig, ConnectorConfigError,
                                         connector_config_from_mapping)
from smscd.credentials import (CredentialError, MtCredential, MtQuotas, SmppsCredential,
                               SmppsQuotas, mt_credential_from_mapping,
                               mt_credential_to_mapping, smpps_credential_from_mapping,
                               smpps_credential_to_mapping)
from smscd.service import documents as D
from smscd.service.api import RoutingSnapshot, Spec
from smscd.stores.interfaces import DEFAULT_GROUP, GroupRecord, UserRecord
from smscd.stores.sqlite_users import check_id, check_password, check_username

V1 = 1
PROFILE_VERSION = 2
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
    """Validate a parsed version-1 profile; `known_users` may be referenced by routes too."""
    p: list[str] = []
    if not isinstance(raw, Mapping):
        raise ProfileError(["expected a mapping at the top level"])
    p += [f"{k}: unknown key" for k in sorted(map(str, raw.keys() - _TOP_KEYS))]
    if raw.get("version", V1) != V1:
        p.append(f"version: expected {V1}, got {raw.get('version')!r}")
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



# --- version 2 --------------------------------------------------------------------------------

SECTIONS: dict[str, str] = {        # profile section -> document kind, in build order
    "smpp_connectors": D.SMPP_CONNECTOR, "http_connectors": D.HTTP_CONNECTOR,
    "filters": D.FILTER, "mt_routes": D.MT_ROUTE, "mo_routes": D.MO_ROUTE,
    "mt_interceptors": D.MT_INTERCEPTOR, "mo_interceptors": D.MO_INTERCEPTOR}
_V2_KEYS = {"version", "groups", "users"} | set(SECTIONS)
_ID_KEYS = {D.FILTER: "fid", D.SMPP_CONNECTOR: "id", D.HTTP_CONNECTOR: "id"}
_AT_ZERO = {"DefaultRoute", "DefaultInterceptor"}          # may leave `order` out
_GROUP_KEYS = {"gid", "enabled"}
_USER_V2_KEYS = {"uid", "username", "gid", "enabled", "password", "password_hash",
                 "mt_credential", "smpps_credential"}


@dataclass(frozen=True, slots=True)
class ProfileUser:
    """A user as a profile gives it: a clear password, a hash, or neither (keep the stored
    one: the user must exist already)."""
    uid: str
    username: str
    gid: str
    enabled: bool = True
    password: str | None = field(default=None, repr=False)
    password_hash: str | None = field(default=None, repr=False)
    mt_credential: MtCredential = MtCredential()
    smpps_credential: SmppsCredential = SmppsCredential()


@dataclass(frozen=True, slots=True)
class Provisioning:
    """A validated profile, ready to replace the provisioning in one change."""
    groups: tuple[GroupRecord, ...]
    users: tuple[ProfileUser, ...]
    docs: D.Docs
    snapshot: RoutingSnapshot
    decoded: D.Decoded = field(default_factory=dict, compare=False, repr=False)

    def counts(self) -> dict[str, int]:
        out = {"groups": len(self.groups), "users": len(self.users)}
        out.update({section: len(self.docs.get(kind, {})) for section, kind in SECTIONS.items()})
        return out


def read_profile_text(text: str, source: str = "profile") -> Provisioning:
    """Parse and validate YAML text (version 1 or 2); ProfileError lists every problem."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ProfileError([f"{source}: not valid YAML: {e}"]) from None
    return parse_profile({} if raw is None else raw)


def read_profile_file(path: str) -> Provisioning:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ProfileError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ProfileError([f"{path}: cannot read: {e}"]) from None
    return read_profile_text(text, path)


def parse_profile(raw: Any) -> Provisioning:
    """A parsed profile of version 1 (no `version` key means 1) or 2, validated whole."""
    if not isinstance(raw, Mapping):
        raise ProfileError(["expected a mapping at the top level"])
    if raw.get("version", V1) == V1:
        groups, users, docs, paths = _from_v1(raw)
        p: list[str] = []
    else:
        p = [f"{k}: unknown key" for k in sorted(map(str, raw.keys() - _V2_KEYS))]
        if raw.get("version") != PROFILE_VERSION:
            p.append(f"version: expected {V1} or {PROFILE_VERSION}, "
                     f"got {raw.get('version')!r}")
        groups = _groups(raw, p)
        users = _users(raw, {g.gid for g in groups}, p)
        docs, paths = _documents(raw, p)
    directory = D.Directory(frozenset(u.uid for u in users),
                            frozenset(u.username for u in users),
                            frozenset(g.gid for g in groups))
    snapshot = None
    decoded: D.Decoded = {}
    try:
        snapshot = D.build_snapshot(docs, directory, 0, lambda kind, i: paths[(kind, i)],
                                    decoded=decoded)
    except D.BuildFailed as e:
        p += [problem.text for problem in e.problems]
    if p or snapshot is None:
        raise ProfileError(p)
    return Provisioning(groups, users, docs, snapshot, decoded)


def render_profile(groups: Sequence[GroupRecord], users: Sequence[UserRecord],
                   docs: D.Docs) -> str:
    """Version-2 YAML of the whole provisioning; passwords only as their hashes."""
    out: dict[str, Any] = {
        "version": PROFILE_VERSION,
        "groups": [{"gid": g.gid, "enabled": g.enabled} for g in groups],
        "users": [{"uid": u.uid, "username": u.username, "gid": u.gid, "enabled": u.enabled,
                   "password_hash": u.password_hash,
                   "mt_credential": _not_default(mt_credential_to_mapping(u.mt_credential),
                                                 _MT_DEFAULT),
                   "smpps_credential": _not_default(
                       smpps_credential_to_mapping(u.smpps_credential), _SMPPS_DEFAULT)}
                  for u in users]}
    for section, kind in SECTIONS.items():
        specs = docs.get(kind, {})
        if kind in D.TABLE_KINDS:
            ids = sorted(specs, key=int, reverse=True)      # evaluation order
        else:
            ids = sorted(specs)
        out[section] = [_plain(specs[i]) for i in ids]
    return yaml.safe_dump(out, sort_keys=False, allow_unicode=True, default_flow_style=False)


_MT_DEFAULT = mt_credential_to_mapping(MtCredential())
_SMPPS_DEFAULT = smpps_credential_to_mapping(SmppsCredential())


def _not_default(cred: Mapping[str, Any], default: Mapping[str, Any]) -> dict[str, Any]:
    """A credential mapping with only what differs from the defaults (and its format
    version): the profile stays readable, and reading it back gives the same credential."""
    out: dict[str, Any] = {"v": cred["v"]}
    for section, values in cred.items():
        if isinstance(values, Mapping):
            changed = {k: v for k, v in values.items() if default[section].get(k) != v}
            if changed:
                out[section] = changed
    return out


_FIRST = {"fid": 0, "id": 0, "order": 1, "type": 2}


def _plain(value: Any) -> Any:
    """Specs as plain dicts and lists, which YAML's safe dumper writes, in one key order
    (ids and type first, then by name) so that an export does not depend on how a spec
    was typed or stored."""
    if isinstance(value, Mapping):
        keys = sorted(map(str, value), key=lambda k: (_FIRST.get(k, 3), k))
        return {k: _plain(value[k]) for k in keys}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _groups(raw: Mapping[str, Any], p: list[str]) -> tuple[GroupRecord, ...]:
    out: list[GroupRecord] = []
    for i, item in enumerate(_list(raw, "groups", p)):
        where = f"groups[{i}]"
        if not isinstance(item, Mapping):
            p.append(f"{where}: expected a mapping")
            continue
        p += [f"{where}.{k}: unknown key" for k in sorted(map(str, item.keys() - _GROUP_KEYS))]
        gid, enabled = item.get("gid"), item.get("enabled", True)
        if not _valid(check_id, "Group gid", gid, f"{where}.gid", p):
            continue
        if not isinstance(enabled, bool):
            p.append(f"{where}.enabled: expected true or false")
        elif gid in {g.gid for g in out}:
            p.append(f"{where}.gid: {gid!r} is given twice")
        else:
            out.append(GroupRecord(str(gid), enabled))
    return tuple(out)


def _users(raw: Mapping[str, Any], gids: set[str], p: list[str]) -> tuple[ProfileUser, ...]:
    out: list[ProfileUser] = []
    seen: dict[str, set[Any]] = {"uid": set(), "username": set()}
    for i, item in enumerate(_list(raw, "users", p)):
        where = f"users[{i}]"
        if not isinstance(item, Mapping):
            p.append(f"{where}: expected a mapping")
            continue
        before = len(p)
        p += [f"{where}.{k}: unknown key" for k in sorted(map(str, item.keys() - _USER_V2_KEYS))]
        uid, username, gid = item.get("uid"), item.get("username"), item.get("gid")
        _valid(check_id, "User uid", uid, f"{where}.uid", p)
        _valid(check_username, None, username, f"{where}.username", p)
        if gid not in gids:
            p.append(f"{where}.gid: no group {gid!r}")
        password, password_hash = item.get("password"), item.get("password_hash")
        if password is not None and password_hash is not None:
            p.append(f"{where}.password: give password or password_hash, not both")
        elif password is not None:
            _valid(check_password, None, password, f"{where}.password", p)
        elif password_hash is not None and (not isinstance(password_hash, str)
                                            or not password_hash.startswith("scrypt$")):
            p.append(f"{where}.password_hash: expected an scrypt hash (smscd passwd)")
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            p.append(f"{where}.enabled: expected true or false")
        mt, smpps = MtCredential(), SmppsCredential()
        try:
            mt = mt_credential_from_mapping(item.get("mt_credential", {}),
                                            f"{where}.mt_credential")
        except CredentialError as e:
            p.append(str(e))
        try:
            smpps = smpps_credential_from_mapping(item.get("smpps_credential", {}),
                                                  f"{where}.smpps_credential")
        except CredentialError as e:
            p.append(str(e))
        for key in ("uid", "username"):
            if item.get(key) in seen[key]:
                p.append(f"{where}.{key}: {item.get(key)!r} is given twice")
            seen[key].add(item.get(key))
        if len(p) == before:
            out.append(ProfileUser(str(uid), str(username), str(gid), enabled, password,
                                   password_hash, mt, smpps))
    return tuple(out)


def _valid(check: Any, what: str | None, value: Any, where: str, p: list[str]) -> bool:
    try:
        check(what, value) if what is not None else check(value)
    except ValueError as e:
        p.append(f"{where}: {e}")
        return False
    return True


def _documents(raw: Mapping[str, Any], p: list[str]) -> \
        tuple[dict[str, dict[str, Spec]], dict[D.Owner, str]]:
    docs: dict[str, dict[str, Spec]] = D.empty_docs()
    paths: dict[D.Owner, str] = {}
    for section, kind in SECTIONS.items():
        for i, item in enumerate(_list(raw, section, p)):
            where = f"{section}[{i}]"
            if not isinstance(item, Mapping):
                p.append(f"{where}: expected a mapping")
                continue
            spec = dict(item)
            if kind in D.TABLE_KINDS:
                key = "order"
                spec.setdefault("order", 0 if spec.get("type") in _AT_ZERO else None)
                value = spec["order"]
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    p.append(f"{where}.order: expected an integer >= 0")
                    continue
            else:
                key = _ID_KEYS[kind]
                value = spec.get(key)
                if not isinstance(value, str) or not value:
                    p.append(f"{where}.{key}: required (text)")
                    continue
            doc_id = str(value)
            if doc_id in docs[kind]:
                p.append(f"{where}.{key}: {value!r} is given twice")
                continue
            docs[kind][doc_id] = spec
            paths[(kind, doc_id)] = where
    return docs, paths


def _from_v1(raw: Mapping[str, Any]) -> tuple[
        tuple[GroupRecord, ...], tuple[ProfileUser, ...], dict[str, dict[str, Spec]],
        dict[D.Owner, str]]:
    """A version-1 profile (validated by load_profile) as version-2 parts."""
    profile = load_profile(raw)
    users = tuple(ProfileUser(
        u.username, u.username, DEFAULT_GROUP, password=u.password,
        mt_credential=MtCredential(quota=MtQuotas(smpps_throughput=u.throughput)),
        smpps_credential=SmppsCredential(quota=SmppsQuotas(u.max_bindings)))
        for u in profile.users)
    docs: dict[str, dict[str, Spec]] = D.empty_docs()
    paths: dict[D.Owner, str] = {}
    for i, item in enumerate(raw.get("connectors") or []):
        docs[D.SMPP_CONNECTOR][item["id"]] = {**item, "started": True}
        paths[(D.SMPP_CONNECTOR, item["id"])] = f"connectors[{i}]"
    if profile.default_connector is not None:
        docs[D.MT_ROUTE]["0"] = {"order": 0, "type": "DefaultRoute",
                                 "connector": profile.default_connector}
        paths[(D.MT_ROUTE, "0")] = "routing.default_connector"
    ranked = sorted(profile.mo_routes, key=lambda prefix: (len(prefix), prefix))
    for order, prefix in enumerate(ranked):
        target = f"smpps({profile.mo_routes[prefix]})"
        where = f"routing.mo_routes.{prefix}"
        if not prefix:
            docs[D.MO_ROUTE]["0"] = {"order": 0, "type": "DefaultRoute", "target": target}
            paths[(D.MO_ROUTE, "0")] = where
            continue
        fid = f"mo-{prefix}"
        docs[D.FILTER][fid] = {"fid": fid, "type": "DestinationAddrFilter",
                               "destination_addr": f"^{prefix}"}
        paths[(D.FILTER, fid)] = where
        docs[D.MO_ROUTE][str(order + 1)] = {"order": order + 1, "type": "StaticMORoute",
                                            "filters": [fid], "target": target}
        paths[(D.MO_ROUTE, str(order + 1))] = where
    return (GroupRecord(DEFAULT_GROUP),), users, docs, paths
