# tests: tests/unit/test_service_connector_plan.py
"""What the daemon must do to its vendor connectors after a provisioning change.

The service only records the wanted state (`SmppConnector.started`) and the settings; the
daemon's `on_change` listener turns the difference between two snapshots into actions:
stop what is no longer wanted, start what newly is, and rebind (stop, then start with the
new settings) a started connector whose settings changed (Jasmin needs a remove/re-add).
"""
from __future__ import annotations

from dataclasses import dataclass

from smscd.service.api import RoutingSnapshot, SmppConnector


@dataclass(frozen=True, slots=True)
class ConnectorPlan:
    stop: tuple[str, ...] = ()                       # connector ids, stopped first
    start: tuple[SmppConnector, ...] = ()            # then these are started
    restart: tuple[SmppConnector, ...] = ()          # stopped, then started with these settings


def connector_plan(old: RoutingSnapshot, new: RoutingSnapshot) -> ConnectorPlan:
    before = {cid: c for cid, c in old.smpp_connectors.items() if c.started}
    after = {cid: c for cid, c in new.smpp_connectors.items() if c.started}
    return ConnectorPlan(
        stop=tuple(sorted(cid for cid in before if cid not in after)),
        start=tuple(after[cid] for cid in sorted(after) if cid not in before),
        restart=tuple(after[cid] for cid in sorted(after)
                      if cid in before and before[cid].config != after[cid].config))
