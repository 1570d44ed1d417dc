# tests: tests/unit/test_service_documents.py
"""Provisioning documents -> one RoutingSnapshot, with every problem tied to its owner.

Why one builder: the live service (every change), the store at open and a profile import
all turn the same documents into rule objects, so the three can never disagree on what
is valid. A change is valid exactly when the snapshot of the documents after it builds.
Rules:
- `Docs` maps a kind to {id: spec}; a spec is the mapping an operator wrote (profile
  entry shape). Ids: fid for filters, str(order) for routes and interceptors, the
  connector id for connectors. An SMPP connector's spec also holds `started`.
- Build order follows references: connectors, then filters (a filter may name a user,
  group or connector, and AnyOf/Not name other filters), then routes and interceptors.
- Every problem is `Problem(owner, text)`: owner is (kind, id), text is `path: reason`
  with the path given by the caller (`mt_routes[3]` in a profile, empty for one
  document). A document whose decode failed is left out, and what refers to it then
  reports the dangling reference too: all problems come out at once.
- References to users and groups (UserFilter, GroupFilter, MO targets `smpps(username)`)
  are checked against the `Directory` the caller gives (users live in the Users store).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from connectors.connector_config import ConnectorConfigError, connector_config_from_mapping
from routing.errors import RuleError
from routing.filters import ConnectorFilter, GroupFilter, UserFilter
from routing.interceptor_codec import interceptor_from_mapping
from routing.interceptors import InterceptorTable
from routing.routable import MO, MT
from routing.routes import HTTP, SMPPS, STATIC
from routing.rules_codec import References, filter_from_mapping, route_from_mapping
from routing.table import RouteTable
from smscd.http_connectors import HttpConnectorError, http_connector_from_mapping
from smscd.service.api import RoutingSnapshot, SmppConnector, Spec

FILTER = "filter"
MT_ROUTE, MO_ROUTE = "mt_route", "mo_route"
MT_INTERCEPTOR, MO_INTERCEPTOR = "mt_interceptor", "mo_interceptor"
SMPP_CONNECTOR, HTTP_CONNECTOR = "smpp_connector", "http_connector"
KINDS = (SMPP_CONNECTOR, HTTP_CONNECTOR, FILTER, MT_ROUTE, MO_ROUTE, MT_INTERCEPTOR,
         MO_INTERCEPTOR)
TABLE_KINDS = (MT_ROUTE, MO_ROUTE, MT_INTERCEPTOR, MO_INTERCEPTOR)

Docs = Mapping[str, Mapping[str, Spec]]
Owner = tuple[str, str]
Decoded = dict[Owner, tuple[Spec, Any]]       # owner -> (spec, what it decoded to)
PathOf = Callable[[str, str], str]        # (kind, id) -> path prefix of its problems


@dataclass(frozen=True, slots=True)
class Problem:
    owner: Owner
    text: str


class BuildFailed(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.text for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Directory:
    """Who exists in the Users store, for reference checks."""
    uids: frozenset[str] = frozenset()
    usernames: frozenset[str] = frozenset()
    gids: frozenset[str] = frozenset()


def empty_docs() -> dict[str, dict[str, Spec]]:
    return {kind: {} for kind in KINDS}


def doc_path(kind: str, doc_id: str) -> str:
    """No prefix: the problems of one document are paths inside its spec."""
    return ""


def build_snapshot(docs: Docs, directory: Directory, version: int,
                   path_of: PathOf = doc_path, reuse: Decoded | None = None,
                   decoded: Decoded | None = None) -> RoutingSnapshot:
    """The snapshot of `docs`; BuildFailed with every problem (owner and text).

    `reuse`: what an earlier build decoded (its `decoded`); a document whose spec is the
    same object and whose filters are the same objects is not decoded again, so a change
    to one route of ten thousand costs one decode, not ten thousand. `decoded` is filled
    with this build's objects."""
    b = _Builder(directory, path_of, reuse or {}, {} if decoded is None else decoded)
    smpp = {cid: c for cid, spec in _items(docs, SMPP_CONNECTOR)
            if (c := b.run((SMPP_CONNECTOR, cid), _smpp_connector, spec)) is not None}
    http = {cid: c for cid, spec in _items(docs, HTTP_CONNECTOR)
            if (c := b.run((HTTP_CONNECTOR, cid), _http_connector, spec)) is not None}
    filters = b.filters(dict(_items(docs, FILTER)), smpp)
    mt_routes = b.routes(MT, MT_ROUTE, docs, filters, frozenset(smpp), http)
    mo_routes = b.routes(MO, MO_ROUTE, docs, filters, frozenset(smpp), http)
    mt_icpt = b.interceptors(MT, MT_INTERCEPTOR, docs, filters)
    mo_icpt = b.interceptors(MO, MO_INTERCEPTOR, docs, filters)
    if b.problems:
        raise BuildFailed(b.problems)
    return RoutingSnapshot(version, filters, RouteTable(MT, mt_routes),
                           RouteTable(MO, mo_routes), InterceptorTable(MT, mt_icpt),
                           InterceptorTable(MO, mo_icpt), smpp, http)


def _items(docs: Docs, kind: str) -> Iterable[tuple[str, Spec]]:
    return docs.get(kind, {}).items()


def _smpp_connector(spec: Spec, path: str) -> SmppConnector:
    started = spec.get("started", False)
    if not isinstance(started, bool):
        raise RuleError([f"{path}.started: expected true or false"])
    config = {k: v for k, v in spec.items() if k != "started"}
    try:
        return SmppConnector(connector_config_from_mapping(config, path), config, started)
    except ConnectorConfigError as e:
        raise RuleError(e.problems) from None


def _http_connector(spec: Spec, path: str) -> Any:
    try:
        return http_connector_from_mapping(spec, path)
    except HttpConnectorError as e:
        raise RuleError(e.problems) from None


@dataclass
class _Builder:
    directory: Directory
    path_of: PathOf
    reuse: Decoded
    decoded: Decoded
    problems: list[Problem] = field(default_factory=list)

    def run(self, owner: Owner, decode: Callable[[Spec, str], Any], spec: Spec,
            filters: Mapping[str, Any] | None = None) -> Any:
        """Decode `spec`, or take the earlier object when neither the spec nor the filter
        objects it holds changed (what else it names is checked again by the caller)."""
        before = self.reuse.get(owner)
        if before is not None and before[0] is spec and (
                filters is None or _same_filters(before[1], filters)):
            obj = before[1]
        else:
            try:
                obj = decode(spec, self.path_of(*owner))
            except RuleError as e:
                self.problems += [Problem(owner, _tidy(t)) for t in e.problems]
                return None
        self.decoded[owner] = (spec, obj)
        return obj

    def report(self, owner: Owner, key: str, text: str) -> None:
        self.problems.append(Problem(owner, _tidy(f"{self.path_of(*owner)}.{key}: {text}")))

    def filters(self, specs: dict[str, Spec], smpp: Mapping[str, SmppConnector]) -> \
            dict[str, Any]:
        """Decode in reference order: a filter naming another (AnyOf, Not) waits for it;
        what is left when no progress is made is decoded anyway, to report its problems."""
        done: dict[str, Any] = {}
        waiting = dict(specs)
        while waiting:
            ready = [fid for fid, spec in waiting.items()
                     if all(ref in done for ref in _filter_refs(spec))]
            batch = ready or list(waiting)
            for fid in batch:
                spec = waiting.pop(fid)
                f = self.run((FILTER, fid),
                             lambda s, p: filter_from_mapping(s, done, p), spec, done)
                if f is not None and self._filter_refs_ok((FILTER, fid), f, smpp):
                    done[fid] = f
        return done

    def _filter_refs_ok(self, owner: Owner, f: Any, smpp: Mapping[str, Any]) -> bool:
        d = self.directory
        if isinstance(f, UserFilter) and f.uid not in d.uids:
            self.report(owner, "uid", f"no user {f.uid!r}")
        elif isinstance(f, GroupFilter) and f.gid not in d.gids:
            self.report(owner, "gid", f"no group {f.gid!r}")
        elif isinstance(f, ConnectorFilter) and f.cid not in smpp:
            self.report(owner, "cid", f"no SMPP connector {f.cid!r}")
        else:
            return True
        return False

    def routes(self, direction: str, kind: str, docs: Docs, filters: Mapping[str, Any],
               smpp: frozenset[str], http: Mapping[str, Any]) -> dict[int, Any]:
        out: dict[int, Any] = {}
        refs = References(smpp, self.directory.usernames, frozenset(http))
        for doc_id, spec in _items(docs, kind):
            owner = (kind, doc_id)
            decoded = self.run(owner, lambda s, p: route_from_mapping(
                s, direction, filters, p, refs), spec, filters)
            if decoded is None:
                continue
            order, route = decoded
            if (self._connectors_ok(owner, route, smpp if direction == MT else None)
                    and self._targets_ok(owner, route, http) and self._order_ok(owner, order)):
                out[order] = route
        return out

    # A route taken from `reuse` was not decoded: what it names is checked again here, in
    # the codec's words (routing.rules_codec).

    def _connectors_ok(self, owner: Owner, route: Any, smpp: frozenset[str] | None) -> bool:
        conns = getattr(route, "connectors", ())
        missing = [(i, c) for i, c in enumerate(conns) if smpp is not None and c not in smpp]
        for i, c in missing:
            key = "connector" if route.selection == STATIC else f"connectors[{i}]"
            self.report(owner, key, f"no connector {c!r}")
        return not missing

    def _targets_ok(self, owner: Owner, route: Any, http: Mapping[str, Any]) -> bool:
        ok = True
        for i, t in enumerate(getattr(route, "targets", ())):
            known = {SMPPS: self.directory.usernames, HTTP: http}.get(t.kind)
            if known is not None and t.id not in known:
                key = "target" if route.selection == STATIC else f"targets[{i}]"
                what = "user" if t.kind == SMPPS else "HTTP connector"
                self.report(owner, key, f"no {what} {t.id!r}")
                ok = False
        return ok

    def _order_ok(self, owner: Owner, order: int) -> bool:
        if str(order) != owner[1]:
            self.report(owner, "order", f"stored under order {owner[1]}, says {order}")
            return False
        return True

    def interceptors(self, direction: str, kind: str, docs: Docs,
                     filters: Mapping[str, Any]) -> dict[int, Any]:
        out: dict[int, Any] = {}
        for doc_id, spec in _items(docs, kind):
            decoded = self.run((kind, doc_id), lambda s, p: interceptor_from_mapping(
                s, direction, filters, p), spec, filters)
            if decoded is not None and self._order_ok((kind, doc_id), decoded[0]):
                out[decoded[0]] = decoded[1]
        return out


def _same_filters(obj: Any, filters: Mapping[str, Any]) -> bool:
    """Does `obj` (a filter, route or interceptor, or a decoded (order, rule) pair) hold
    exactly the filter objects of `filters` it names?"""
    rule = obj[1] if isinstance(obj, tuple) else obj
    held = list(getattr(rule, "filters", ()))
    if hasattr(rule, "filter"):
        held.append(rule.filter)
    return all(filters.get(f.fid) is f for f in held)


def _filter_refs(spec: Spec) -> list[str]:
    """Filter ids an AnyOf/Not filter spec names (keys as in routing.rules_codec)."""
    refs = spec.get("filters", [])
    one = spec.get("filter")
    out = [r for r in refs if isinstance(r, str)] if isinstance(refs, list) else []
    return out + ([one] if isinstance(one, str) else [])


def _tidy(text: str) -> str:
    """A problem of one document, built with an empty path, starts with "." or ": "."""
    return text.lstrip(".") if not text.startswith(":") else text[2:]
