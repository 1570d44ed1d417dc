# tests: tests/integration/test_admin_api.py
"""/admin/v1 on twisted.web: one leaf resource that authenticates, dispatches ROUTES to
Operations and writes JSON answers.

Rules:
- /admin/v1/openapi.json needs no token; everything else needs `Authorization: Bearer
  <admin token>`: none or a wrong one is 401, a read-only token on a write is 403.
- Authentication comes before routing details, so a caller without a token learns
  nothing but 401 (an unknown path is still 404 for everyone).
- A known path with another method is 405 with Allow; a malformed id or order is 404.
- A body, when the route takes one, must be application/json (415), at most `max_body`
  octets (413), valid JSON (400) and an object (422). Unknown query names are 422.
- Every write that reaches its operation is written to the audit log (the shell's:
  operator `admin-token:<id>`, the client address, `METHOD /path`, ok or the refusal);
  bodies are not logged, so no password is.
- Errors are {"error": {"code", "message", "field"}}; anything unexpected is logged and
  answered 500 `internal` without details. A client that went away is not written to.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from twisted.logger import Logger
from twisted.web import server

from smscd.rest_api.errors import ApiError
from smscd.rest_api.json_resource import JsonAnswer, JsonResource, json_body, query_args
from smscd.shell.audit import AuditLog

from .errors import from_refusal
from .openapi import document_bytes
from .operations import Operations
from .routes import Route, match
from .tokens import AdminToken, AdminTokenError, AdminTokens


class AdminV1(JsonResource):
    log = Logger(namespace="smscd.admin_api")

    def __init__(self, operations: Operations, tokens: AdminTokens, max_body: int,
                 audit: AuditLog | None = None) -> None:
        super().__init__()
        self.operations = operations
        self.tokens = tokens
        self.audit = audit
        self.max_body = max_body
        self.openapi = document_bytes()

    async def _serve(self, request: server.Request) -> JsonAnswer:
        try:
            return await self._route(request)
        except Exception as e:
            error = from_refusal(e)
            if error is None:
                raise
            return _error(error)

    async def _route(self, request: server.Request) -> JsonAnswer:
        segments = tuple(unquote(s.decode("latin-1")) for s in request.postpath or [])
        if segments and segments[-1] == "":
            segments = segments[:-1]
        method = (request.method or b"").decode("ascii", "replace")
        if segments == ("openapi.json",) and method == "GET":
            return 200, self.openapi, {}
        found, malformed = match(segments)
        if not found:
            raise ApiError(404, "not_found", "No such resource." if not malformed else
                           "No such resource: malformed id in the path.")
        chosen = next(((r, v) for r, v in found if r.method == method), None)
        if chosen is None:
            allow = ", ".join(sorted({r.method for r, _ in found}))
            status, answer, _ = _error(ApiError(405, "method_not_allowed", f"Use {allow}."))
            return status, answer, {b"allow": allow.encode()}
        route, values = chosen
        token = self._authorize(request, route)
        body = self._body(request) if route.body is not None else None
        query = _query(request, route)
        try:
            result = await self.operations.run(route.operation, values, query, body)
        except Exception as e:
            self._audit(request, route, token, str(e) or type(e).__name__)
            raise
        self._audit(request, route, token, None)
        return route.status, json.dumps(result, default=str).encode(), {}

    def _audit(self, request: server.Request, route: Route, token: AdminToken,
               error: str | None) -> None:
        if self.audit is None or not route.write:
            return
        peer = getattr(request.getClientAddress(), "host", "?")
        path = (request.path or b"").decode("latin-1")
        self.audit.record(f"admin-token:{token.id}", peer, 0, f"{route.method} {path}",
                          error is None, error)

    def _authorize(self, request: server.Request, route: Route) -> AdminToken:
        header = (request.getHeader(b"authorization") or b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        try:
            info = self.tokens.verify(token.strip()) if scheme.lower() == "bearer" else None
        except AdminTokenError as e:
            self.log.error("admin tokens unreadable: {e}", e=str(e))
            info = None
        if info is None:
            raise ApiError(401, "unauthorized", "A valid admin token is required "
                           "(Authorization: Bearer <token>).")
        if route.write and info.read_only:
            raise ApiError(403, "forbidden", "This admin token is read-only.")
        return info

    def _body(self, request: server.Request) -> dict[str, Any]:
        raw = json_body(request, self.max_body)
        try:
            body = json.loads(raw, parse_constant=_no_constant)
        except ValueError as e:
            raise ApiError(400, "invalid_json", f"Invalid JSON body: {e}") from None
        if not isinstance(body, dict):
            raise ApiError(422, "invalid_value", "The body must be a JSON object.")
        return body


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (RFC 8259), though Python's parser takes them."""
    raise ValueError(f"{name} is not a JSON value")


def _query(request: server.Request, route: Route) -> dict[str, str]:
    query = query_args(request)
    unknown = sorted(set(query) - set(route.query))
    if unknown:
        raise ApiError(422, "invalid_value", f"{unknown[0]}: unknown query parameter",
                       unknown[0])
    return query


def _error(e: ApiError) -> JsonAnswer:
    headers: dict[bytes, bytes] = {}
    if e.status == 401:
        headers[b"www-authenticate"] = b'Bearer realm="smscd-admin"'
    return e.status, e.encoded(), headers
