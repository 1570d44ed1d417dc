# tests: tests/integration/test_service.py
"""The document-backed facets: filters, the four tables, SMPP and HTTP connectors.

Each mutator edits a copy of its kind's documents and hands it to the service's change
machinery (validate -> durable -> live); reads come from the live snapshot and documents.
Rules:
- `add` of an id that exists is AlreadyExists (filters, connectors); a table's `add`
  replaces the rule at its order, like Jasmin's.
- `update` merges the changes into the stored spec; a change of `type` starts from the new
  type's keys only (the old type's keys would not fit it). Ids and orders never change.
- An SMPP connector's `started` is changed by start/stop only, not by add/update.
"""
from __future__ import annotations

from functools import wraps
from typing import TYPE_CHECKING, Any, Callable, List, Mapping

from twisted.internet.defer import Deferred, maybeDeferred

from routing.table import RouteTable
from smscd.service import documents as D
from smscd.service.api import (AlreadyExists, ConnectorStatus, InvalidValue, NotFound, Rule,
                               SmppConnector, Spec, WrongState)
from smscd.http_connectors import HttpConnectorConfig

if TYPE_CHECKING:
    from smscd.service.service import ProvisioningService


def _merge(old: Spec, changes: Spec, keep: Spec) -> dict[str, Any]:
    if "type" in changes and changes["type"] != old.get("type"):
        return {**keep, **changes}
    return {**old, **changes}


def _mapping(spec: Any) -> Spec:
    if not isinstance(spec, Mapping):
        raise InvalidValue("expected a mapping of keys to values")
    return dict(spec)


Make = Callable[[Spec | None], Spec | None]     # current spec (None: absent) -> new one


class _Kind:
    """One kind of document: every edit runs inside the service's lock, so the checks
    (exists, taken) see the state the change applies to."""
    kind: str
    label: str

    def __init__(self, service: ProvisioningService) -> None:
        self._service = service

    def _specs(self) -> Mapping[str, Spec]:
        return self._service.docs.get(self.kind, {})

    def _edit(self, doc_id: str, make: Make, result: Callable[[], Any]) -> Deferred[Any]:
        def run() -> Deferred[Any]:
            docs = self._service.docs
            part = dict(docs.get(self.kind, {}))
            spec = make(part.get(doc_id))
            if spec is None:
                part.pop(doc_id, None)
            else:
                part[doc_id] = spec
            d = self._service.change_docs({**docs, self.kind: part},
                                          {(self.kind, doc_id)}, self._subject(doc_id))
            return d.addCallback(lambda _: result())
        return self._service.serialized(run)

    def _subject(self, doc_id: str) -> str:
        return f"{self.label} {doc_id!r}"

    def _unknown(self, doc_id: str | int) -> NotFound:
        return NotFound(f"Unknown {self.label}: {doc_id}", self._id_field)

    _id_field = "id"


class _Documents(_Kind):
    """The kinds whose documents are keyed by an id field of the spec."""
    id_key: str

    @property
    def _id_field(self) -> str:          # type: ignore[override]
        return self.id_key

    def _spec(self, doc_id: str) -> Spec:
        spec = self._specs().get(doc_id)
        if spec is None:
            raise self._unknown(doc_id)
        return spec

    def _add(self, spec: Any, result: Callable[[str], Any]) -> Deferred[Any]:
        spec = _mapping(spec)
        doc_id = spec.get(self.id_key)
        if not isinstance(doc_id, str) or not doc_id:
            raise InvalidValue(f"{self.id_key}: required", self.id_key)

        def make(old: Spec | None) -> Spec:
            if old is not None:
                raise AlreadyExists(f"{self.label} {doc_id!r} already exists", self.id_key)
            return spec
        return self._edit(doc_id, make, lambda: result(doc_id))

    def _update(self, doc_id: str, changes: Any, result: Callable[[str], Any],
                fixed: Spec | None = None) -> Deferred[Any]:
        changes = _mapping(changes)
        if changes.get(self.id_key, doc_id) != doc_id:
            raise InvalidValue(f"{self.id_key}: {self.label} id can not be modified",
                               self.id_key)

        def make(old: Spec | None) -> Spec:
            if old is None:
                raise self._unknown(doc_id)
            keep = {k: old[k] for k in (fixed or {}) if k in old}
            return {**_merge(old, changes, {self.id_key: doc_id}), **keep}
        return self._edit(doc_id, make, lambda: result(doc_id))

    def remove(self, doc_id: str) -> Deferred[None]:
        def make(old: Spec | None) -> None:
            if old is None:
                raise self._unknown(doc_id)
            return None
        return self._edit(doc_id, make, lambda: None)


def deferred(fn: Callable[..., Deferred[Any]]) -> Callable[..., Deferred[Any]]:
    """A mutator's refusal arrives as a failed Deferred, never as an exception."""
    @wraps(fn)
    def wrapper(*args: Any) -> Deferred[Any]:
        return maybeDeferred(fn, *args)
    return wrapper


class FiltersFacet(_Documents):
    kind, id_key, label = D.FILTER, "fid", "Filter"

    def list(self) -> List[Rule]:
        return [self.get(fid) for fid in sorted(self._specs())]

    def get(self, fid: str) -> Rule:
        return Rule(fid, self._spec(fid), self._service.snapshot.filters[fid])

    @deferred
    def add(self, spec: Spec) -> Deferred[Rule]:
        return self._add(spec, self.get)

    @deferred
    def update(self, fid: str, changes: Spec) -> Deferred[Rule]:
        return self._update(fid, changes, self.get)

    remove = deferred(_Documents.remove)


class HttpConnectorsFacet(_Documents):
    kind, id_key, label = D.HTTP_CONNECTOR, "id", "Httpcc"

    def list(self) -> List[HttpConnectorConfig]:
        return [c for _, c in sorted(self._service.snapshot.http_connectors.items())]

    def get(self, cid: str) -> HttpConnectorConfig:
        self._spec(cid)
        return self._service.snapshot.http_connectors[cid]

    @deferred
    def add(self, spec: Spec) -> Deferred[HttpConnectorConfig]:
        return self._add(spec, self.get)

    @deferred
    def update(self, cid: str, changes: Spec) -> Deferred[HttpConnectorConfig]:
        return self._update(cid, changes, self.get)

    remove = deferred(_Documents.remove)


class SmppConnectorsFacet(_Documents):
    kind, id_key, label = D.SMPP_CONNECTOR, "id", "connector"

    def list(self) -> List[SmppConnector]:
        return [c for _, c in sorted(self._service.snapshot.smpp_connectors.items())]

    def get(self, cid: str) -> SmppConnector:
        self._spec(cid)
        return self._service.snapshot.smpp_connectors[cid]

    @deferred
    def add(self, spec: Spec) -> Deferred[SmppConnector]:
        spec = _mapping(spec)
        if spec.get("started", False) is not False:
            raise InvalidValue("started: a connector is added stopped; use start", "started")
        return self._add({**spec, "started": False}, self.get)

    @deferred
    def update(self, cid: str, changes: Spec) -> Deferred[SmppConnector]:
        changes = dict(_mapping(changes))
        started = changes.pop("started", None)
        if started is not None and started != self.get(cid).started:
            raise InvalidValue("started: use start/stop", "started")
        return self._update(cid, changes, self.get, fixed={"started": None})

    remove = deferred(_Documents.remove)

    @deferred
    def start(self, cid: str) -> Deferred[None]:
        return self._set_started(cid, True)

    @deferred
    def stop(self, cid: str) -> Deferred[None]:
        return self._set_started(cid, False)

    def _set_started(self, cid: str, started: bool) -> Deferred[None]:
        def make(old: Spec | None) -> Spec:
            if old is None:
                raise self._unknown(cid)
            if old.get("started", False) == started:
                raise WrongState(f"connector {cid!r} is already "
                                 f"{'started' if started else 'stopped'}", "id")
            return {**old, "started": started}
        return self._edit(cid, make, lambda: None)

    def status(self, cid: str) -> ConnectorStatus:
        self._spec(cid)
        return self._service.control.connector_status(cid)

    def statuses(self) -> List[ConnectorStatus]:
        return [self._service.control.connector_status(cid) for cid in sorted(self._specs())]


class TableFacet(_Kind):
    """MT/MO routes or interceptors: documents keyed by str(order)."""
    _id_field = "order"

    def __init__(self, service: ProvisioningService, kind: str, label: str) -> None:
        super().__init__(service)
        self.kind = kind
        self.label = label

    def _subject(self, doc_id: str) -> str:
        return f"{self.label} {doc_id}"

    def _table(self) -> Any:
        s = self._service.snapshot
        return {D.MT_ROUTE: s.mt_routes, D.MO_ROUTE: s.mo_routes,
                D.MT_INTERCEPTOR: s.mt_interceptors, D.MO_INTERCEPTOR: s.mo_interceptors}[
                    self.kind]

    def list(self) -> List[Rule]:
        specs = self._specs()
        table = self._table()
        entries = table.routes if isinstance(table, RouteTable) else table.entries
        return [Rule(order, specs[str(order)], obj) for order, obj in entries]

    def get(self, order: int) -> Rule:
        spec = self._specs().get(str(order))
        if spec is None:
            raise self._unknown(order)
        return Rule(order, spec, self._table().get(order))

    @deferred
    def add(self, spec: Spec) -> Deferred[Rule]:
        spec = _mapping(spec)
        order = spec.get("order", 0)
        if isinstance(order, bool) or not isinstance(order, int) or order < 0:
            raise InvalidValue(f"order: {self.label} order must be a positive integer",
                               "order")
        return self._edit(str(order), lambda old: {**spec, "order": order},
                          lambda: self.get(order))

    @deferred
    def update(self, order: int, changes: Spec) -> Deferred[Rule]:
        changes = _mapping(changes)
        if changes.get("order", order) != order:
            raise InvalidValue(f"order: {self.label} order can not be modified", "order")

        def make(old: Spec | None) -> Spec:
            if old is None:
                raise self._unknown(order)
            return _merge(old, changes, {"order": order})
        return self._edit(str(order), make, lambda: self.get(order))

    @deferred
    def remove(self, order: int) -> Deferred[None]:
        def make(old: Spec | None) -> None:
            if old is None:
                raise self._unknown(order)
            return None
        return self._edit(str(order), make, lambda: None)

    @deferred
    def flush(self) -> Deferred[int]:
        def run() -> Deferred[int]:
            docs = self._service.docs
            gone = docs.get(self.kind, {})
            d = self._service.change_docs({**docs, self.kind: {}},
                                          {(self.kind, i) for i in gone},
                                          f"{self.label} table")
            return d.addCallback(lambda _: len(gone))
        return self._service.serialized(run)
