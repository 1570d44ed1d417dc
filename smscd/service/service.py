# tests: tests/integration/test_service.py
"""The provisioning service: documents in the store, a live snapshot, one change at a time.

Theory of operation:
- At open, every document is read from the store and the users and groups from the Users
  store; the snapshot is built from them (a store holding an invalid set is refused with
  every problem, rather than started half-configured).
- A change is computed on a copy of the documents, the snapshot of the copy is built (all
  reference checks happen there), the difference is written as one durable store op,
  then the new documents and snapshot are swapped in with one assignment each, and the
  listeners are called. The mutator's Deferred fires after that (and after a Deferred a
  listener returned). Readers holding the old snapshot keep a consistent old world.
- Changes are serialised (a DeferredLock): each is validated against the state the one
  before it left, so two operators cannot each pass a check the other breaks.
- Problems in the changed documents are InvalidValue; problems the change causes in
  other documents (a removed filter still named by a route) are InUse naming them.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Protocol, Sequence, TypeVar

from twisted.internet.defer import Deferred, DeferredLock, gatherResults, maybeDeferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure

from routing.routable import MO, MT
from smscd.passwords import hash_password
from smscd.service import documents as D
from smscd.service import profile_io
from smscd.service.api import (ChangeListener, ConnectorControl, ImportSummary, InUse,
                               InvalidValue, RouteTest, RoutingSnapshot, Spec)
from smscd.service.facets import (FiltersFacet, HttpConnectorsFacet, SmppConnectorsFacet,
                                  TableFacet)
from smscd.service.people import GroupsFacet, UsersFacet
from smscd.service.python_rules import PythonInterceptorLoader, require_python
from smscd.service.route_test import explain_message
from smscd.stores.interfaces import GroupRecord, UserRecord, Users
from smscd.stores.sqlite_provisioning import Document, Op

log = Logger(namespace="smscd.service")
T = TypeVar("T")
_FIELD = re.compile(r"^([A-Za-z_]+)")


class DocumentStore(Protocol):
    def load(self) -> Deferred[list[Document]]: ...

    def apply(self, puts: Sequence[Document] = (), deletes: Sequence[tuple[str, str]] = (),
              replace_all: bool = False, also: Op | None = None) -> Deferred[None]: ...


class Clock(Protocol):
    def seconds(self) -> float: ...


Hasher = Callable[[str], Deferred[str]]     # clear password -> scrypt hash, off the reactor


class ProvisioningService:
    """Implements smscd.service.api.ProvisioningApi; build it with `open_service`."""

    def __init__(self, store: DocumentStore, users: Users, control: ConnectorControl,
                 hasher: Hasher, clock: Clock, docs: D.Docs, snapshot: RoutingSnapshot,
                 decoded: D.Decoded, groups: Sequence[GroupRecord],
                 user_records: Sequence[UserRecord],
                 python: PythonInterceptorLoader | None = None) -> None:
        self.document_store = store
        self.python = python
        self.users_store = users
        self.control = control
        self.hasher = hasher
        self.clock = clock
        self._docs = docs
        self._snapshot = snapshot
        self._decoded: D.Decoded = decoded
        self.group_records: dict[str, GroupRecord] = {g.gid: g for g in groups}
        self.user_records: dict[str, UserRecord] = {u.uid: u for u in user_records}
        self._lock = DeferredLock()
        self._listeners: list[ChangeListener] = []
        self.groups = GroupsFacet(self)
        self.users = UsersFacet(self)
        self.filters = FiltersFacet(self)
        self.mt_routes = TableFacet(self, D.MT_ROUTE, "MT route")
        self.mo_routes = TableFacet(self, D.MO_ROUTE, "MO route")
        self.mt_interceptors = TableFacet(self, D.MT_INTERCEPTOR, "MT interceptor")
        self.mo_interceptors = TableFacet(self, D.MO_INTERCEPTOR, "MO interceptor")
        self.smpp_connectors = SmppConnectorsFacet(self)
        self.http_connectors = HttpConnectorsFacet(self)

    # --- reads ------------------------------------------------------------------------------

    @property
    def snapshot(self) -> RoutingSnapshot:
        return self._snapshot

    @property
    def docs(self) -> D.Docs:
        return self._docs

    def directory(self, without_uid: str | None = None,
                  without_gid: str | None = None) -> D.Directory:
        """Who exists now, optionally as if a user or a group (and its users) were gone."""
        users = [u for u in self.user_records.values()
                 if u.uid != without_uid and u.gid != without_gid]
        return D.Directory(frozenset(u.uid for u in users),
                           frozenset(u.username for u in users),
                           frozenset(g for g in self.group_records if g != without_gid))

    @property
    def is_empty(self) -> bool:
        """Nothing provisioned yet (no documents, no users): a first start."""
        return not self.user_records and not any(self._docs.values())

    def on_change(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def test_mt_route(self, facts: Spec) -> RouteTest:
        return explain_message(self, MT, facts)

    def test_mo_route(self, facts: Spec) -> RouteTest:
        return explain_message(self, MO, facts)

    def export_profile(self) -> str:
        return profile_io.export_profile(self)

    def import_profile(self, text: str) -> Deferred[ImportSummary]:
        return profile_io.import_profile(self, text)

    # --- the change machinery (used by the facets) ---------------------------------------

    def serialized(self, fn: Callable[..., Deferred[T]], *args: Any) -> Deferred[T]:
        """Run `fn` when every earlier change is done; the next waits for this one."""
        return self._lock.run(fn, *args)

    def change_docs(self, new_docs: D.Docs, touched: set[D.Owner],
                    subject: str) -> Deferred[RoutingSnapshot]:
        """Validate, write and swap in `new_docs` (call it from `serialized`).
        `touched`: the documents the caller changed; `subject` names the change for InUse
        ("filter 'f1'")."""
        decoded: D.Decoded = {}
        snapshot = self.check(new_docs, self.directory(), touched, subject, decoded)
        puts, deletes = _diff(self._docs, new_docs)
        d = self.document_store.apply(puts, deletes)

        return d.addCallback(lambda _: self.swap(new_docs, snapshot, decoded))

    def check(self, docs: D.Docs, directory: D.Directory, touched: set[D.Owner],
              subject: str, decoded: D.Decoded | None = None) -> RoutingSnapshot:
        """The snapshot of `docs`, or the ServiceError saying what is wrong."""
        try:
            snapshot = D.build_snapshot(docs, directory, self._snapshot.version + 1,
                                        reuse=self._decoded, decoded=decoded)
            require_python(self.python, snapshot)
            return snapshot
        except D.BuildFailed as e:
            own = [p.text for p in e.problems if p.owner in touched]
            if own:
                m = _FIELD.match(own[0])
                raise InvalidValue("; ".join(own), m.group(1) if m else None, own) from None
            users = sorted({f"{kind} {i}" for kind, i in (p.owner for p in e.problems)})
            raise InUse(f"{subject} is used by {', '.join(users)}", users) from None

    def swap(self, docs: D.Docs, snapshot: RoutingSnapshot,
             decoded: D.Decoded) -> Deferred[RoutingSnapshot]:
        """Make `docs`/`snapshot` live, then tell the listeners; fires with `snapshot`.
        `decoded`: the build's objects, reused by the next build."""
        old = self._snapshot
        self._docs = docs
        self._snapshot = snapshot
        self._decoded = decoded
        waits = [maybeDeferred(listener, old, snapshot).addErrback(_listener_failed)
                 for listener in self._listeners]
        return gatherResults(waits).addCallback(lambda _: snapshot)


def _listener_failed(f: Failure) -> None:
    log.failure("a provisioning change listener failed", f)


def _diff(old: D.Docs, new: D.Docs) -> tuple[list[Document], list[tuple[str, str]]]:
    puts = [Document(kind, i, spec) for kind, specs in new.items() for i, spec in specs.items()
            if old.get(kind, {}).get(i) != spec]
    deletes = [(kind, i) for kind, specs in old.items() for i in specs
               if i not in new.get(kind, {})]
    return puts, deletes


def thread_hasher(reactor: Any) -> Hasher:
    """scrypt in the reactor's thread pool: tens of ms of CPU each, never on the reactor."""
    return lambda password: deferToThreadPool(reactor, reactor.getThreadPool(),
                                              hash_password, password)


async def open_service(store: DocumentStore, users: Users, control: ConnectorControl,
                       hasher: Hasher, clock: Clock,
                       python: PythonInterceptorLoader | None = None) -> ProvisioningService:
    """Load documents, users and groups; InvalidValue listing every problem of a stored set
    that does not build (the daemon stops with it rather than start half-configured).
    With `python`, every Python interceptor a rule names is loaded now and on each change."""
    docs_list = await store.load()
    groups = await users.list_groups()
    user_records = await users.list_users()
    docs: dict[str, dict[str, Spec]] = D.empty_docs()
    unknown = sorted({f"{doc.kind} {doc.id}" for doc in docs_list if doc.kind not in docs})
    if unknown:      # written by a newer smscd: refuse rather than ignore them
        raise InvalidValue(f"stored provisioning has documents of unknown kinds: "
                           f"{', '.join(unknown)}", None, unknown)
    for doc in docs_list:
        docs[doc.kind][doc.id] = doc.body
    directory = D.Directory(frozenset(u.uid for u in user_records),
                            frozenset(u.username for u in user_records),
                            frozenset(g.gid for g in groups))
    decoded: D.Decoded = {}
    try:
        snapshot = D.build_snapshot(docs, directory, 1, _stored_path, decoded=decoded)
    except D.BuildFailed as e:
        problems = [p.text for p in e.problems]
        raise InvalidValue("stored provisioning is invalid: " + "; ".join(problems),
                           None, problems) from None
    require_python(python, snapshot)
    return ProvisioningService(store, users, control, hasher, clock, docs, snapshot, decoded,
                               groups, user_records, python)


def _stored_path(kind: str, doc_id: str) -> str:
    return f"{kind} {doc_id}"
