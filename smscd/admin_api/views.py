# tests: tests/integration/test_admin_api.py
"""What the admin API shows of each record: plain JSON values, never a password.

Rules:
- Specs are shown as stored (the keys a client sends back in a PATCH or a profile), with
  `password` left out; a user shows its credentials as the YAML profile does, and no hash.
- Money is a decimal string; times are Unix seconds.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Mapping

from smscd.billing import Account
from smscd.credentials import mt_credential_to_mapping, smpps_credential_to_mapping
from smscd.http_connectors import HttpConnectorConfig, http_connector_to_mapping
from smscd.service.api import ConnectorStatus, Rule, RouteTest, SmppConnector
from smscd.stores.interfaces import DeadLetter, GroupRecord, UserRecord

SECRET_KEYS = frozenset({"password", "password_hash"})


def without_secrets(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in SECRET_KEYS}


def group(g: GroupRecord) -> dict[str, Any]:
    return {"gid": g.gid, "enabled": g.enabled}


def user(u: UserRecord) -> dict[str, Any]:
    return {"uid": u.uid, "username": u.username, "gid": u.gid, "enabled": u.enabled,
            "mt_credential": mt_credential_to_mapping(u.mt_credential),
            "smpps_credential": smpps_credential_to_mapping(u.smpps_credential)}


def rule(r: Rule) -> dict[str, Any]:
    return without_secrets(r.spec)


def smpp_connector(c: SmppConnector) -> dict[str, Any]:
    return {**without_secrets(c.spec), "started": c.started}


def http_connector(c: HttpConnectorConfig) -> dict[str, Any]:
    return without_secrets(http_connector_to_mapping(c))


def status(s: ConnectorStatus) -> dict[str, Any]:
    return asdict(s)


def route_test(t: RouteTest) -> dict[str, Any]:
    return {"lines": list(t.lines)}


def account(a: Account, currency: str) -> dict[str, Any]:
    return {"uid": a.uid, "balance": None if a.balance is None else str(a.balance),
            "sms_count": a.sms_count, "currency": currency}


def dead_letter(d: DeadLetter) -> dict[str, Any]:
    return {"id": d.id, "queue": d.queue, "key": d.key, "attempts": d.attempts,
            "reason": d.reason, "dead_at": d.dead_at, "expires_at": d.expires_at,
            "size": len(d.payload)}
