# tests: tests/integration/test_service_live_connectors.py
"""The daemon's ConnectorControl: vendor connectors that follow the provisioning snapshot.

Why here: the service records what an operator wants (a connector, its settings, started
or not); something must make the running connectors match after every change, and tell
the shell what they are doing. The daemon builds one `LiveConnectors` with a factory for
its connector services and lets it `follow` the provisioning service.
Rules:
- Plans (smscd.service.connector_plan) are applied one at a time, in change order: stops
  first (each waits until its connector has drained, as ConnectorService.stop does), then
  rebinds (stop, then start with the new settings), then starts.
- The change's Deferred (the shell's answer) waits for the plan to be applied.
- Status words are Jasmin's: service "started"/"stopped", session "NONE" when stopped,
  "BOUND_TRX"/"BOUND_TX"/"BOUND_RX" with a bind up, "UNBOUND" while it has none.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping, Protocol

from twisted.internet.defer import Deferred, DeferredLock

from connectors.connector_config import ConnectorConfig
from smscd.service.api import ConnectorStatus, RoutingSnapshot, SmppConnector
from smscd.service.connector_plan import ConnectorPlan, connector_plan

_BOUND = {"transceiver": "BOUND_TRX", "transmitter": "BOUND_TX", "receiver": "BOUND_RX"}


class Runner(Protocol):
    """What LiveConnectors needs of a connector (connectors.smpp_client.ConnectorService)."""
    config: ConnectorConfig

    def start(self) -> Deferred[None]: ...

    def stop(self) -> Deferred[None]: ...

    def status(self) -> Mapping[str, Any]: ...


class Followed(Protocol):
    @property
    def snapshot(self) -> RoutingSnapshot: ...

    def on_change(self, listener: Callable[[RoutingSnapshot, RoutingSnapshot], object]) -> None:
        ...


class LiveConnectors:
    def __init__(self, make: Callable[[ConnectorConfig], Runner],
                 unbind: Callable[[str], int]) -> None:
        """`make` builds a connector service for settings; `unbind(uid)` closes a customer's
        SMPP binds and says how many."""
        self._make = make
        self._unbind = unbind
        self.running: dict[str, Runner] = {}
        self._starts: dict[str, int] = {}
        self._stops: dict[str, int] = {}
        self._lock = DeferredLock()

    def follow(self, service: Followed) -> Deferred[None]:
        """Start what `service` wants started now, and follow its changes from now on."""
        service.on_change(self.apply)
        current = service.snapshot
        return self.apply(replace(current, smpp_connectors={}), current)

    def apply(self, old: RoutingSnapshot, new: RoutingSnapshot) -> Deferred[None]:
        plan = connector_plan(old, new)
        return self._lock.run(lambda: Deferred.fromCoroutine(self._run(plan)))

    def stop_all(self) -> Deferred[None]:
        """Stop every running connector (daemon shutdown); fires when all have drained."""
        plan = ConnectorPlan(stop=tuple(sorted(self.running)))
        return self._lock.run(lambda: Deferred.fromCoroutine(self._run(plan)))

    async def _run(self, plan: ConnectorPlan) -> None:
        for cid in plan.stop:
            await self._stop(cid)
        for connector in plan.restart:
            await self._stop(connector.config.id)
            self._start(connector)
        for connector in plan.start:
            self._start(connector)

    def _start(self, connector: SmppConnector) -> None:
        cid = connector.config.id
        runner = self._make(connector.config)
        self.running[cid] = runner
        self._starts[cid] = self._starts.get(cid, 0) + 1
        runner.start()

    async def _stop(self, cid: str) -> None:
        runner = self.running.pop(cid, None)
        if runner is not None:
            self._stops[cid] = self._stops.get(cid, 0) + 1
            await runner.stop()

    # --- ConnectorControl -----------------------------------------------------------------

    def connector_status(self, cid: str) -> ConnectorStatus:
        starts, stops = self._starts.get(cid, 0), self._stops.get(cid, 0)
        runner = self.running.get(cid)
        if runner is None:
            return ConnectorStatus(cid, starts=starts, stops=stops)
        s = runner.status()
        bound = int(s.get("bound", 0))
        return ConnectorStatus(
            cid, "started", _BOUND.get(runner.config.bind, "BOUND_TRX") if bound else "UNBOUND",
            binds=bound, window_in_use=int(s.get("in_flight", 0)),
            throughput=float(s.get("throughput", 0.0)), queue_depth=int(s.get("queue_depth", 0)),
            last_error=str(s.get("last_error") or ""), starts=starts, stops=stops)

    def unbind_user(self, uid: str) -> int:
        return self._unbind(uid)
