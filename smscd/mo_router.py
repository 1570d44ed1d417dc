# tests: tests/integration/test_routing_e2e.py, tests/integration/test_dispatch.py
"""Where an inbound message (MO) goes: MO interceptors, then the MO route table.

Why apart from the dispatcher: the decision is rules (the provisioning snapshot, read once
per MO) and who is up now; the dispatcher only makes the outcome durable.

Rules:
- MO interceptors first (same table semantics as MT): a reject refuses the MO (it is kept
  as a dead letter, with the reason, for an operator); a Python interceptor makes the
  decision asynchronous (`decide_later`); rewritten addresses go on the MO.
- Then the first matching MO route; its targets in preference order (routing.selection):
  a static route gives its one target whatever its state; failover and round-robin give
  those up, best first. Up: `smpps(username)` when the user has a bind that can receive
  now, `http(id)` when the HTTP connector exists, `store` always.
- No route, or none of the targets up: `refused` says why and `targets` is empty.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable, cast

from twisted.internet.defer import Deferred, succeed

from routing.interceptors import Interception, intercept
from routing.routable import Routable
from routing.routes import HTTP, SMPPS, MORoute, Target
from routing.selection import RoundRobinCursor, target_candidates
from routing.table import pick_route
from smscd.deliveries import InboundMessage
from smscd.mt_pipeline import Clock, PythonRunner, Rules
from smscd.routables import apply_mo, mo_routable


@dataclass(frozen=True, slots=True)
class MoDecision:
    """The MO to deliver (as intercepted) and its targets, best first; or why none."""
    mo: InboundMessage
    targets: tuple[Target, ...] = ()
    refused: str = ""
    pending: Interception | None = None      # a Python interceptor still has to run
    before: Routable | None = None           # what `pending` started from


class MoRouter:
    def __init__(self, rules: Rules, clock: Clock, uid_of: Callable[[str], str | None],
                 can_receive: Callable[[str], bool],
                 python: PythonRunner | None = None) -> None:
        """`uid_of(username)`: the uid behind an smpps target (None: no such user);
        `can_receive(uid)`: the user has a bind that takes deliver_sm now."""
        self.rules = rules
        self.clock = clock
        self.uid_of = uid_of
        self.can_receive = can_receive
        self.python = python
        self.cursor = RoundRobinCursor()

    def decide(self, mo: InboundMessage) -> MoDecision:
        """The decision now; `pending` set when a Python interceptor must run first."""
        snapshot = self.rules.snapshot
        icpt, table = snapshot.mo_interceptors, snapshot.mo_routes
        at = datetime.fromtimestamp(self.clock.seconds(), timezone.utc)
        r = mo_routable(mo, at, icpt.needs_content or table.needs_content)
        if icpt.entries:
            interception = intercept(icpt, r)
            if interception.python is not None and interception.rejection is None \
                    and self.python is not None:
                return MoDecision(mo, pending=interception, before=r)
            return self._intercepted(interception, mo, r, snapshot)
        return self._route(mo, r, snapshot)

    def decide_later(self, mo: InboundMessage) -> Deferred[MoDecision]:
        """The whole decision, Python interceptors included."""
        decision = self.decide(mo)
        if decision.pending is None or self.python is None:
            return succeed(decision)
        snapshot = self.rules.snapshot
        before: Any = decision.before
        d: Deferred[MoDecision] = self.python.run(decision.pending).addCallback(
            self._intercepted, mo, before, snapshot)
        return d

    def http_connector(self, cid: str) -> Any:
        """The HttpConnectorConfig of `cid` now, or None."""
        return self.rules.snapshot.http_connectors.get(cid)

    def _intercepted(self, interception: Interception, mo: InboundMessage, before: Routable,
                     snapshot: Any) -> MoDecision:
        if interception.rejection is not None:
            return MoDecision(mo, refused=f"refused by MO interceptor {interception.order}: "
                                          f"{interception.rejection.message}")
        after = interception.routable
        if after is not before:
            mo = apply_mo(mo, before, after)
        return self._route(mo, after, snapshot)

    def _route(self, mo: InboundMessage, r: Routable, snapshot: Any) -> MoDecision:
        hit = pick_route(snapshot.mo_routes, r)
        if hit is None:
            return MoDecision(mo, refused=f"no MO route for {mo.destination.addr}")
        order, route = hit[0], cast(MORoute, hit[1])
        targets = target_candidates(route, partial(self._is_up, snapshot.http_connectors),
                                    self.cursor)
        if not targets:
            return MoDecision(mo, refused=f"MO route {order}: none of its targets is up")
        return MoDecision(mo, tuple(targets))

    def _is_up(self, http: Any, target: Target) -> bool:
        if target.kind == SMPPS:
            uid = self.uid_of(target.id)
            return uid is not None and self.can_receive(uid)
        if target.kind == HTTP:
            return target.id in http
        return True
