# tests: tests/unit/test_admin_routes.py
"""The /admin/v1 routes as data: what resource.py dispatches on and openapi.py documents.

Rules:
- A path template's `{name}` is one segment; `{order}` is an integer, every other name an
  id of 1..64 characters of [A-Za-z0-9_.:-] (a queue name holds a colon: `mt:vendor-a`).
- `write` routes need a token that is not read-only; the route testers change nothing.
- A body is a JSON object whose keys the service API validates (the same keys as the YAML
  profile and the shell); BODIES documents them. Pure: no Twisted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PREFIX = ("admin", "v1")
ID_PATTERN = r"[A-Za-z0-9_.:-]{1,64}"
ID = re.compile(ID_PATTERN + r"\Z")
ORDER = re.compile(r"-?[0-9]{1,18}\Z")

_OBJ: dict[str, Any] = {"type": "object"}
_TEXT: dict[str, Any] = {"type": "string"}
BODIES: dict[str, dict[str, Any]] = {
    "Group": {**_OBJ, "required": ["gid"], "properties": {"gid": _TEXT}},
    "User": {**_OBJ, "properties": {
        "uid": _TEXT, "gid": _TEXT, "username": _TEXT, "password": _TEXT,
        "enabled": {"type": "boolean"}, "mt_credential": _OBJ, "smpps_credential": _OBJ}},
    "Balance": {**_OBJ, "properties": {
        "balance": {"type": ["string", "null"]},
        "sms_count": {"type": ["integer", "null"]},
        "currency": {"type": ["string", "null"]}}},
    "ApiKey": {**_OBJ, "properties": {"label": _TEXT}},
    "Filter": {**_OBJ, "properties": {"fid": _TEXT, "type": _TEXT}},
    "Rule": {**_OBJ, "properties": {"order": {"type": "integer"}, "type": _TEXT}},
    "SmppConnector": {**_OBJ, "properties": {"id": _TEXT, "hosts": {"type": "array"},
                                             "system_id": _TEXT, "password": _TEXT}},
    "HttpConnector": {**_OBJ, "properties": {"id": _TEXT, "url": _TEXT, "method": _TEXT}},
    "Facts": {**_OBJ, "properties": {
        "user": _TEXT, "source_addr": _TEXT, "destination_addr": _TEXT, "content": _TEXT,
        "connector": _TEXT, "tags": {"type": "array"}, "at": _TEXT}},
    "Profile": {**_OBJ, "required": ["profile"], "properties": {"profile": _TEXT}},
}
QUERIES: dict[str, dict[str, Any]] = {
    "gid": {"type": "string"},
    "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
    "after": {"type": "integer", "minimum": 0},
}


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    operation: str
    summary: str
    body: str | None = None          # a key of BODIES
    query: tuple[str, ...] = ()      # keys of QUERIES
    status: int = 200

    @property
    def write(self) -> bool:
        return self.method != "GET" and not self.operation.startswith("test_")

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/"))[len(PREFIX):]


def _crud(name: str, key: str, op: str, what: str, body: str, patch: bool = True) -> \
        tuple[Route, ...]:
    base = f"/admin/v1/{name}"
    routes = [Route("GET", base, f"list_{op}", f"List {what}s"),
              Route("POST", base, f"add_{op}", f"Add a {what}", body, status=201),
              Route("GET", f"{base}/{{{key}}}", f"get_{op}", f"One {what}"),
              Route("DELETE", f"{base}/{{{key}}}", f"remove_{op}", f"Remove a {what}")]
    if patch:
        routes.append(Route("PATCH", f"{base}/{{{key}}}", f"update_{op}",
                            f"Change a {what} (the keys given)", body))
    return tuple(routes)


def _table(name: str, op: str, what: str) -> tuple[Route, ...]:
    return _crud(name, "order", op, what, "Rule") + (
        Route("DELETE", f"/admin/v1/{name}", f"flush_{op}", f"Remove every {what}"),)


ROUTES: tuple[Route, ...] = (
    *_crud("groups", "gid", "group", "group", "Group", patch=False),
    Route("POST", "/admin/v1/groups/{gid}/enable", "enable_group", "Enable a group"),
    Route("POST", "/admin/v1/groups/{gid}/disable", "disable_group", "Disable a group"),
    Route("GET", "/admin/v1/users", "list_user", "List users", query=("gid",)),
    *_crud("users", "uid", "user", "user", "User")[1:],
    Route("POST", "/admin/v1/users/{uid}/enable", "enable_user", "Enable a user"),
    Route("POST", "/admin/v1/users/{uid}/disable", "disable_user", "Disable a user"),
    Route("POST", "/admin/v1/users/{uid}/unbind", "unbind_user", "Close the user's SMPP binds"),
    Route("POST", "/admin/v1/users/{uid}/ban", "ban_user",
          "Refuse the user's SMPP binds from now on and close them"),
    Route("GET", "/admin/v1/users/{uid}/balance", "get_balance", "The user's quotas"),
    Route("PATCH", "/admin/v1/users/{uid}/balance", "set_balance",
          "Set the user's balance, sms_count or currency (null: unlimited)", "Balance"),
    Route("GET", "/admin/v1/users/{uid}/api-keys", "list_api_key", "The user's REST API keys"),
    Route("POST", "/admin/v1/users/{uid}/api-keys", "add_api_key",
          "A new REST API key for the user (the key is shown once)", "ApiKey", status=201),
    Route("DELETE", "/admin/v1/users/{uid}/api-keys/{key_id}", "remove_api_key",
          "Revoke a REST API key"),
    *_crud("filters", "fid", "filter", "filter", "Filter"),
    *_table("mtroutes", "mt_route", "MT route"),
    *_table("moroutes", "mo_route", "MO route"),
    *_table("mtinterceptors", "mt_interceptor", "MT interceptor"),
    *_table("mointerceptors", "mo_interceptor", "MO interceptor"),
    *_crud("smppccs", "cid", "smppcc", "SMPP client connector", "SmppConnector"),
    Route("POST", "/admin/v1/smppccs/{cid}/start", "start_smppcc", "Start (bind) a connector"),
    Route("POST", "/admin/v1/smppccs/{cid}/stop", "stop_smppcc", "Stop (unbind) a connector"),
    Route("GET", "/admin/v1/smppccs/{cid}/status", "status_smppcc",
          "Binds, window in use, throughput, queue depth, last error"),
    *_crud("httpccs", "cid", "httpcc", "HTTP client connector", "HttpConnector"),
    Route("GET", "/admin/v1/queues/{queue}/dead-letters", "list_dead",
          "Dead letters of a queue (mt:<cid>, deliver:<uid>, mo:unrouted), oldest first",
          query=("limit", "after")),
    Route("DELETE", "/admin/v1/queues/{queue}/dead-letters", "purge_dead",
          "Drop every dead letter of a queue"),
    Route("POST", "/admin/v1/dead-letters/{id}/requeue", "requeue_dead",
          "Put a dead letter back in its queue"),
    Route("GET", "/admin/v1/stats", "stats", "Connector statuses, queue depths, counts"),
    Route("POST", "/admin/v1/mtrouter/test", "test_mt_route",
          "Which MT interceptor, route and connector a message would take", "Facts"),
    Route("POST", "/admin/v1/morouter/test", "test_mo_route",
          "Which MO interceptor, route and target a message would take", "Facts"),
    Route("GET", "/admin/v1/profile", "export_profile",
          "The whole provisioning as a YAML profile (passwords as hashes)"),
    Route("PUT", "/admin/v1/profile", "import_profile",
          "Replace the whole provisioning with a YAML profile (all or nothing)", "Profile"),
)


def match(segments: tuple[str, ...]) -> tuple[list[tuple[Route, dict[str, str]]], bool]:
    """The routes of this path (any method) with their path values, and whether a value
    was malformed (an id or order that cannot exist: the caller answers 404)."""
    found: list[tuple[Route, dict[str, str]]] = []
    bad = False
    for route in ROUTES:
        pattern = route.segments
        if len(pattern) != len(segments):
            continue
        values: dict[str, str] = {}
        for want, seg in zip(pattern, segments):
            if want.startswith("{"):
                values[want[1:-1]] = seg
            elif want != seg:
                break
        else:
            if not all((ORDER if k == "order" else ID).match(v) for k, v in values.items()):
                bad = True
                continue
            found.append((route, values))
    return found, bad and not found
