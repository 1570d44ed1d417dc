# tests: tests/integration/test_service.py
"""The provisioning service API: what the jCli shell and the admin REST API both call.

Why one API: Jasmin's shell, its PB managers and third-party REST wrappers each re-decide
validation; here every front end calls these facets and shows their errors as they are.

Rules:
- Plain data in and out: mappings for what an operator types (the `spec` of a filter,
  route, interceptor or connector, in the same shape as the YAML profile), frozen records
  out. A spec's keys are those of `routing.rules_codec` (filters, routes),
  `routing.interceptor_codec` (interceptors), `connectors.connector_config` (SMPP connectors),
  `smscd.http_connectors` (HTTP callback connectors) and `smscd.credentials` (users).
- Reads of the current state are synchronous, from the live `RoutingSnapshot` (and the
  service's copy of users and groups). Mutators return a Deferred that fires once the
  change is durable (committed) and live (the new snapshot swapped in, listeners called).
- Every failure is a `ServiceError` subclass whose message names the field or reference
  (`field` is the key it is about, or None). Nothing else escapes a mutator, except a
  `StoreError` when the store itself fails.
- References are checked on every change: a route naming a missing filter, connector or
  user is refused (InvalidValue naming it: "filters[1]: no filter 'x'"); removing a
  filter, connector, user or group still used by a route, filter or interceptor is refused
  with InUse, whose `users` name what uses it (`"mt_route 10"`, `"filter f1"`).
- A table (MT/MO routes, MT/MO interceptors) is keyed by order: `add` puts a rule at its
  order, replacing what was there (Jasmin's `add`); `update` changes a rule in place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, List, Mapping, Protocol, Sequence

from twisted.internet.defer import Deferred

from connectors.connector_config import ConnectorConfig
from smscd.http_connectors import HttpConnectorConfig

Spec = Mapping[str, Any]


# --- errors ---------------------------------------------------------------------------------

class ServiceError(Exception):
    """A refused request; `message` names the field or reference, `field` is the key."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """No such group, user, filter, route order, interceptor order or connector."""


class AlreadyExists(ServiceError):
    """The id (gid, uid, username, fid, cid) is taken."""


class InvalidValue(ServiceError):
    """A value cannot be used; `problems` lists every one as `path: reason`."""

    def __init__(self, message: str, field: str | None = None,
                 problems: Sequence[str] = ()) -> None:
        super().__init__(message, field)
        self.problems = tuple(problems) or (message,)


class InUse(ServiceError):
    """Cannot remove: `users` names what still refers to it (e.g. "mt_route 10")."""

    def __init__(self, message: str, users: Sequence[str], field: str | None = None) -> None:
        super().__init__(message, field)
        self.users = tuple(users)


class WrongState(ServiceError):
    """The request does not fit the current state (start a started connector)."""


# --- records --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Rule:
    """A filter, route or interceptor: its key (fid or order), the spec as stored, and the
    rule object the routers evaluate (routing.filters / routes / interceptors)."""
    key: str | int
    spec: Spec
    obj: Any


@dataclass(frozen=True, slots=True)
class SmppConnector:
    """A vendor connector as provisioned: `spec` is its settings mapping (without
    `started`); `started` is the wanted service state, kept across restarts (Jasmin's
    `load` restarts connectors by their saved state)."""
    config: ConnectorConfig
    spec: Spec
    started: bool = False


@dataclass(frozen=True, slots=True)
class ConnectorStatus:
    """What a running connector is doing (ConnectorControl fills it)."""
    cid: str
    service: str = "stopped"          # "started" or "stopped"
    session: str = "NONE"             # Jasmin words: NONE, BOUND_TRX, BOUND_TX, ...
    binds: int = 0                    # binds up now
    window_in_use: int = 0            # submits waiting for their resp
    throughput: float = 0.0           # submits/s, recently
    queue_depth: int = 0              # MT entries waiting
    last_error: str = ""
    starts: int = 0
    stops: int = 0


@dataclass(frozen=True, slots=True)
class RoutingSnapshot:
    """Everything the routers need, immutable, swapped in one assignment per change.

    `filters`: fid -> filter object; the four tables are `routing.table.RouteTable` and
    the interceptor tables of `routing.interceptors`; connectors by id."""
    version: int
    filters: Mapping[str, Any]
    mt_routes: Any
    mo_routes: Any
    mt_interceptors: Any
    mo_interceptors: Any
    smpp_connectors: Mapping[str, SmppConnector]
    http_connectors: Mapping[str, HttpConnectorConfig]


@dataclass(frozen=True, slots=True)
class RouteTest:
    """The route tester's answer: `explanation` is (routing.interceptor_explain's
    InterceptionExplanation, routing.explain's RouteExplanation or None when an interceptor
    rejected the message); `lines` is their text, interceptors first."""
    explanation: Any
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What `import_profile` replaced, counted per section of the profile."""
    counts: Mapping[str, int] = field(default_factory=dict)


# (old snapshot, new snapshot); may return a Deferred, which the change waits for.
ChangeListener = Callable[[RoutingSnapshot, RoutingSnapshot], object]


# --- what the daemon provides ---------------------------------------------------------------

class ConnectorControl(Protocol):
    """The daemon's side: runtime state the service cannot know by itself. The daemon
    starts, stops and rebinds connectors from `on_change` (diffing `smpp_connectors`);
    smscd.service.live_connectors.LiveConnectors does both jobs."""

    def connector_status(self, cid: str) -> ConnectorStatus:
        """Live status of connector `cid` (a stopped one: ConnectorStatus(cid))."""

    def unbind_user(self, uid: str) -> int:
        """Unbind every SMPP bind of user `uid` (BindRegistry's key); the number closed."""


# --- the facets -----------------------------------------------------------------------------

class GroupsApi(Protocol):
    def list(self) -> List[Any]:
        """GroupRecords, by gid."""

    def get(self, gid: str) -> Any:
        """The GroupRecord; NotFound."""

    def add(self, gid: str) -> Deferred[Any]:
        """A new enabled group; AlreadyExists, InvalidValue (gid syntax)."""

    def enable(self, gid: str) -> Deferred[None]: ...

    def disable(self, gid: str) -> Deferred[None]:
        """Every user of the group is refused at bind and over HTTP while disabled."""

    def remove(self, gid: str) -> Deferred[None]:
        """Removes its users too (Jasmin); InUse if a filter or route refers to the group or
        to one of its users."""


class UsersApi(Protocol):
    def list(self, gid: str | None = None) -> List[Any]:
        """UserRecords (all, or of group `gid`), by uid."""

    def get(self, uid: str) -> Any:
        """The UserRecord; NotFound."""

    def by_username(self, username: str) -> Any:
        """The UserRecord whose username (SMPP system_id) is `username`; NotFound."""

    def add(self, spec: Spec) -> Deferred[Any]:
        """Keys: uid, gid, username, password | password_hash, enabled (default true),
        mt_credential, smpps_credential (mappings as smscd.credentials reads them, or
        credential objects). AlreadyExists for a taken uid or username."""

    def update(self, uid: str, changes: Spec) -> Deferred[Any]:
        """Partial: password, gid, enabled, credentials; uid and username cannot change."""

    def enable(self, uid: str) -> Deferred[None]: ...

    def disable(self, uid: str) -> Deferred[None]: ...

    def remove(self, uid: str) -> Deferred[None]:
        """InUse if a filter or route refers to the user."""

    def smpp_unbind(self, uid: str) -> Deferred[int]:
        """Close the user's SMPP binds; the number closed."""

    def smpp_ban(self, uid: str) -> Deferred[int]:
        """Refuse the user's binds from now on (durably: smpps_cred authorization bind
        becomes false; setting it back lifts the ban), then close its SMPP binds."""


class FiltersApi(Protocol):
    def list(self) -> List[Rule]:
        """By fid."""

    def get(self, fid: str) -> Rule: ...

    def add(self, spec: Spec) -> Deferred[Rule]:
        """spec: {"fid": ..., "type": ..., type's keys}; AlreadyExists if fid is taken."""

    def update(self, fid: str, changes: Spec) -> Deferred[Rule]:
        """Changes merged into the spec; every route and interceptor using the filter sees
        the new one in the same snapshot."""

    def remove(self, fid: str) -> Deferred[None]:
        """InUse naming the routes, interceptors and filters that use it."""


class TableApi(Protocol):
    """MT routes, MO routes, MT interceptors or MO interceptors."""

    def list(self) -> List[Rule]:
        """Highest order first (evaluation order)."""

    def get(self, order: int) -> Rule: ...

    def add(self, spec: Spec) -> Deferred[Rule]:
        """spec holds "order" (0 for a DefaultRoute / DefaultInterceptor); replaces the
        rule at that order."""

    def update(self, order: int, changes: Spec) -> Deferred[Rule]:
        """Changes merged into the rule's spec; the order itself cannot change."""

    def remove(self, order: int) -> Deferred[None]: ...

    def flush(self) -> Deferred[int]:
        """Remove every rule; the number removed."""


class SmppConnectorsApi(Protocol):
    def list(self) -> List[SmppConnector]:
        """By cid."""

    def get(self, cid: str) -> SmppConnector: ...

    def add(self, spec: Spec) -> Deferred[SmppConnector]:
        """spec: connector_config_from_mapping keys; added stopped."""

    def update(self, cid: str, changes: Spec) -> Deferred[SmppConnector]:
        """A started connector is rebound with the new settings (by the daemon's listener)."""

    def remove(self, cid: str) -> Deferred[None]:
        """InUse if a route or filter refers to it; a started connector is stopped."""

    def start(self, cid: str) -> Deferred[None]:
        """WrongState if already started."""

    def stop(self, cid: str) -> Deferred[None]:
        """WrongState if already stopped."""

    def status(self, cid: str) -> ConnectorStatus: ...

    def statuses(self) -> List[ConnectorStatus]: ...


class HttpConnectorsApi(Protocol):
    def list(self) -> List[HttpConnectorConfig]: ...

    def get(self, cid: str) -> HttpConnectorConfig: ...

    def add(self, spec: Spec) -> Deferred[HttpConnectorConfig]:
        """spec: http_connector_from_mapping keys; AlreadyExists if cid is taken."""

    def update(self, cid: str, changes: Spec) -> Deferred[HttpConnectorConfig]: ...

    def remove(self, cid: str) -> Deferred[None]:
        """InUse if an MO route refers to it."""


class ProvisioningApi(Protocol):
    groups: GroupsApi
    users: UsersApi
    filters: FiltersApi
    mt_routes: TableApi
    mo_routes: TableApi
    mt_interceptors: TableApi
    mo_interceptors: TableApi
    smpp_connectors: SmppConnectorsApi
    http_connectors: HttpConnectorsApi

    @property
    def snapshot(self) -> RoutingSnapshot:
        """The live snapshot: read it once per message and use only that one."""

    def on_change(self, listener: ChangeListener) -> None:
        """Call `listener(old, new)` after every committed change, before the mutator's
        Deferred fires (which waits for a Deferred the listener returns)."""

    def test_mt_route(self, facts: Spec) -> RouteTest:
        """Which MT interceptor and route would match, why, and which connector would be
        chosen. facts: user (uid), source_addr, destination_addr, content, tags, at (ISO
        datetime), priority, data_coding, channel; unknown keys are InvalidValue."""

    def test_mo_route(self, facts: Spec) -> RouteTest:
        """Likewise for MO; facts: connector, source_addr, destination_addr, content, ..."""

    def export_profile(self) -> str:
        """The whole provisioning as a version-2 YAML profile (passwords as hashes only)."""

    def import_profile(self, text: str) -> Deferred[ImportSummary]:
        """Validate everything (InvalidValue listing every problem with its path, references
        included); then replace the whole provisioning as one change."""
