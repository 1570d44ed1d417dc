"""The daemon's connector actions after a change: stop, start, rebind."""
from __future__ import annotations

from typing import Any

from connectors.connector_config import connector_config_from_mapping
from smscd.service.api import RoutingSnapshot, SmppConnector
from smscd.service.connector_plan import ConnectorPlan, connector_plan

BASE = {"hosts": ["127.0.0.1:2776"], "system_id": "acct", "password": "secret"}


def conn(cid: str, started: bool, **settings: Any) -> SmppConnector:
    spec = {**BASE, "id": cid, **settings}
    return SmppConnector(connector_config_from_mapping(spec), spec, started)


def snap(*connectors: SmppConnector) -> RoutingSnapshot:
    return RoutingSnapshot(1, {}, None, None, None, None,
                           {c.config.id: c for c in connectors}, {})


def test_plan() -> None:
    """Breaks if a connector is left running after stop/remove, not started after start,
    not rebound after its settings changed, or touched when nothing changed for it."""
    old = snap(conn("keep", True), conn("stopme", True), conn("gone", True),
               conn("edit", True), conn("idle", False), conn("startme", False))
    edited = conn("edit", True, window=50)
    new = snap(conn("keep", True), conn("stopme", False), edited, conn("idle", False),
               conn("startme", True), conn("fresh", True))
    assert connector_plan(old, new) == ConnectorPlan(
        stop=("gone", "stopme"), start=(conn("fresh", True), conn("startme", True)),
        restart=(edited,))
    assert connector_plan(new, new) == ConnectorPlan()
