# tests: tests/integration/test_service.py
"""The route tester behind `mtrouter --test` / `morouter --test` and the admin API.

Given facts about a message (what an operator types: user, addresses, content, tags,
time), it builds the Routable the daemon would, runs the interceptor table's explanation
(routing.interceptor_explain), then the route table's (routing.explain) on what the
interceptors left, against the live snapshot. Nothing is sent, nothing is changed.
Rules:
- Facts are plain values; an unknown key, a wrong type, an unknown user or a bad time is
  InvalidValue naming the key.
- `at` is an ISO 8601 time (a time without zone is UTC); default: now.
- A connector counts as up when the daemon says it is bound (ConnectorControl).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping

from routing.explain import explain_route
from routing.interceptor_explain import explain_interception
from routing.routable import MT, Routable
from routing.selection import RoundRobinCursor
from smscd.service.api import InvalidValue, NotFound, RouteTest

if TYPE_CHECKING:
    from smscd.service.service import ProvisioningService

_TEXT = ("source_addr", "destination_addr", "content", "channel", "connector")
_INTS = ("source_ton", "source_npi", "dest_ton", "dest_npi", "data_coding", "priority",
         "registered_delivery")
FACT_KEYS = frozenset(_TEXT + _INTS + ("user", "tags", "at"))


def routable_from_facts(service: ProvisioningService, direction: str,
                        facts: Mapping[str, Any]) -> Routable:
    if not isinstance(facts, Mapping):
        raise InvalidValue("expected a mapping of message facts")
    unknown = sorted(map(str, facts.keys() - FACT_KEYS))
    if unknown:
        raise InvalidValue(f"{unknown[0]}: unknown key; known: {', '.join(sorted(FACT_KEYS))}",
                           unknown[0])
    values: dict[str, Any] = {"direction": direction, "at": _at(service, facts.get("at"))}
    for key in _TEXT:
        if key in facts:
            if not isinstance(facts[key], str):
                raise InvalidValue(f"{key}: expected text", key)
            values[key] = facts[key]
    for key in _INTS:
        if key in facts:
            if isinstance(facts[key], bool) or not isinstance(facts[key], int):
                raise InvalidValue(f"{key}: expected an integer", key)
            values[key] = facts[key]
    if "user" in facts:
        try:
            user = service.users.get(str(facts["user"]))
        except NotFound as e:
            raise InvalidValue(e.message, "user") from None
        values["user"], values["group"] = user.uid, user.gid
    values["tags"] = _tags(facts.get("tags", ()))
    return Routable(**values)


def _at(service: ProvisioningService, raw: Any) -> datetime:
    if raw is None:
        return datetime.fromtimestamp(service.clock.seconds(), timezone.utc)
    try:
        at = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    except ValueError:
        raise InvalidValue(f"at: expected an ISO 8601 time, got {raw!r}", "at") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


def _tags(raw: Any) -> frozenset[str]:
    if isinstance(raw, str):
        return frozenset(t for t in raw.replace(";", ",").split(",") if t)
    if isinstance(raw, (list, tuple, set, frozenset)) and all(
            isinstance(t, (str, int)) and not isinstance(t, bool) for t in raw):
        return frozenset(str(t) for t in raw)
    raise InvalidValue("tags: expected a list of tags or a comma-separated text", "tags")


def explain_message(service: ProvisioningService, direction: str,
                    facts: Mapping[str, Any]) -> RouteTest:
    snapshot = service.snapshot
    r = routable_from_facts(service, direction, facts)
    icpt_table = snapshot.mt_interceptors if direction == MT else snapshot.mo_interceptors
    interception = explain_interception(icpt_table, r)
    lines = list(interception.lines())
    if interception.result.rejection is not None:
        return RouteTest((interception, None), tuple(lines))
    table = snapshot.mt_routes if direction == MT else snapshot.mo_routes

    def is_up(connector: Any) -> bool:
        """MT connectors by their binds; MO targets are taken as up (a customer's bind
        or an HTTP endpoint is only known when a message is delivered)."""
        if not isinstance(connector, str):
            return True
        return service.control.connector_status(connector).binds > 0

    route = explain_route(table, interception.result.routable, is_up, RoundRobinCursor(),
                          preface=lines)
    return RouteTest((interception, route), tuple(route.lines()))

