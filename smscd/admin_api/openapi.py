# tests: tests/unit/test_admin_routes.py
"""The OpenAPI 3.1 document of /admin/v1, generated from routes.py.

Nothing here is decided twice: paths, methods, path and query parameters, bodies, the
success status and which refusals a route may answer come from ROUTES, BODIES and QUERIES.
Bodies are open objects: the service validates their keys and names a bad one (422).
"""
from __future__ import annotations

import json
from typing import Any

from smscd import __version__

from .routes import BODIES, ID_PATTERN, QUERIES, ROUTES, Route

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message", "field"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "field": {"type": ["string", "null"]}}}}}
_DESCRIPTIONS = {400: "Malformed JSON body", 401: "No valid admin token",
                 403: "Read-only token on a write", 404: "Not found",
                 405: "Method not allowed", 409: "Conflict (exists, in use, wrong state)",
                 413: "Body too large", 415: "Body is not application/json",
                 422: "Invalid value (the message names the field)",
                 501: "Not available in this daemon"}


def _errors(route: Route) -> tuple[int, ...]:
    statuses = {401, 404, 405, 422}
    if route.operation in _MAYBE_501:
        statuses.add(501)
    if route.write:
        statuses |= {403, 409}
    if route.body is not None:
        statuses |= {400, 413, 415}
    return tuple(sorted(statuses))


_MAYBE_501 = frozenset({"get_balance", "set_balance", "list_api_key", "add_api_key",
                        "remove_api_key", "list_dead", "purge_dead", "requeue_dead"})


def _parameters(route: Route) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for seg in route.segments:
        if seg.startswith("{"):
            name = seg[1:-1]
            schema = ({"type": "integer"} if name == "order" else
                      {"type": "string", "pattern": f"^{ID_PATTERN}$"})
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
    params += [{"name": q, "in": "query", "required": False, "schema": QUERIES[q]}
               for q in route.query]
    return params


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for r in ROUTES:
        error = {"content": {"application/json": {"schema": {"$ref":
                                                             "#/components/schemas/Error"}}}}
        op: dict[str, Any] = {"operationId": r.operation, "summary": r.summary,
                              "responses": {str(r.status): {"description": "OK", "content": {
                                  "application/json": {"schema": {}}}}}}
        for status in _errors(r):
            op["responses"][str(status)] = {**error, "description": _DESCRIPTIONS[status]}
        params = _parameters(r)
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{r.body}"}}}}
        if not r.write:
            op["description"] = "Any admin token, read-only ones included."
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "smscd admin API", "version": __version__,
                 "description": "Provision users, groups, connectors, routes, filters and "
                                "interceptors of a running smscd, with the validation and "
                                "messages of its jCli shell. Errors: {\"error\": {code, "
                                "message, field}}."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": {"Error": ERROR, **BODIES},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def document_bytes() -> bytes:
    return json.dumps(document(), separators=(",", ":")).encode()
