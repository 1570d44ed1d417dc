# tests: tests/integration/test_rest_api.py
"""/v1 on twisted.web: one leaf resource that dispatches ROUTES and writes JSON answers.

Rules:
- /v1/openapi.json needs no credentials; everything else authenticates first (401).
- An unknown path is 404, a known path with another method 405 (with Allow); a path id
  is 1..64 of [A-Za-z0-9_.-] (else 404).
- Bodies: POST needs Content-Type application/json (415), at most `max_body` octets
  (413, also when the site's own limit dropped it), and are validated by the route's
  model (400 malformed JSON, 422 invalid). Queries: the route's model, unknown names 422.
- A handler answers its response model, or its JSON already encoded (the sending ones:
  answers.py).
- POST with an Idempotency-Key runs through `Idempotency` (replays carry
  `Idempotent-Replayed: true`); the sending operations (_KEEPING) get its `Keep`, to
  commit the record with their messages.
- Anything unexpected is logged and answered 500 `internal` without details.
- A client that went away is not written to.
"""
from __future__ import annotations

import re
from typing import Any, Awaitable, Callable

from pydantic import BaseModel, ValidationError
from twisted.web import server

from smscd.stores.interfaces import UserRecord

from .api import RestApi, encode
from .auth import RestAuthenticator
from .errors import ApiError, from_validation
from .idempotency import Answer, Idempotency, Keep, fingerprint
from .json_resource import JsonAnswer, JsonResource, json_body, query_args
from .openapi import document_bytes
from .routes import Route, match
from .webhook_api import WebhookApi

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
_KEEPING = frozenset({"send", "batch"})


class V1(JsonResource):
    def __init__(self, api: RestApi, auth: RestAuthenticator, idempotency: Idempotency,
                 webhooks: WebhookApi | None, max_body: int) -> None:
        super().__init__()
        self.api = api
        self.auth = auth
        self.idempotency = idempotency
        self.webhooks = webhooks
        self.max_body = max_body
        self.openapi = document_bytes()
        handlers: dict[str, Callable[..., Awaitable[BaseModel | bytes]]] = {
            "send": api.send, "batch": api.batch, "messages": api.messages,
            "message": api.message, "cancel": api.cancel, "balance": api.balance,
            "rate": api.rate, "inbound": api.inbound}
        if webhooks is not None:
            handlers.update({"webhooks": webhooks.webhooks_, "add_webhook": webhooks.add,
                             "remove_webhook": webhooks.remove,
                             "dead_letters": webhooks.dead_letters,
                             "replay": webhooks.replay})
        self.handlers = handlers

    async def _serve(self, request: server.Request) -> JsonAnswer:
        try:
            return await self._route(request)
        except ApiError as e:
            return _error(e)

    async def _route(self, request: server.Request) -> JsonAnswer:
        segments = tuple(s.decode("utf-8", "replace") for s in request.postpath or [])
        if segments and segments[-1] == "":
            segments = segments[:-1]
        method = (request.method or b"").decode("ascii", "replace")
        if segments == ("openapi.json",) and method == "GET":
            return 200, self.openapi, {}
        routes, ident = match(segments)
        routes = [r for r in routes if r.operation in self.handlers]
        if not routes or (ident is not None and not _ID.match(ident)):
            raise ApiError(404, "not_found", "No such resource.")
        route = next((r for r in routes if r.method == method), None)
        if route is None:
            allow = ", ".join(r.method for r in routes).encode()
            e = ApiError(405, "method_not_allowed", f"Use {allow.decode()}.")
            status, body, _ = _error(e)
            return status, body, {b"allow": allow}
        peer = getattr(request.getClientAddress(), "host", "?")
        user = await self.auth.authenticate(_header(request, b"authorization"), peer)
        key = _header(request, b"idempotency-key")
        if route.body is None or key is None:
            return await self._answer(route, request, user, ident)
        body = json_body(request, self.max_body)
        headers: dict[bytes, bytes] = {}

        async def answer(keep: Keep) -> Answer:
            status, out, more = await self._answer(route, request, user, ident, keep)
            headers.update(more)            # Retry-After of a 429 or 503 (never kept)
            return status, out
        (status, out), replayed = await self.idempotency.run(
            user.uid, key, fingerprint(request.method or b"", request.path or b"", body),
            answer)
        return status, out, {b"idempotent-replayed": b"true"} if replayed else headers

    async def _answer(self, route: Route, request: server.Request, user: UserRecord,
                      ident: str | None, keep: Keep | None = None) -> JsonAnswer:
        try:
            args: list[Any] = [user]
            if ident is not None:
                args.append(ident)
            if route.query is not None:
                args.append(_validated(route.query, query_args(request)))
            if route.body is not None:
                args.append(_validated_json(route.body, json_body(request, self.max_body)))
            handler = self.handlers[route.operation]
            if keep is not None and route.operation in _KEEPING:
                result = await handler(*args, keep=keep)
            else:
                result = await handler(*args)
        except ApiError as e:
            return _error(e)
        return 200, result if isinstance(result, bytes) else encode(result), {}


def _header(request: server.Request, name: bytes) -> str | None:
    value = request.getHeader(name)
    return None if value is None else value.decode("latin-1")


def _validated(model: type[BaseModel], data: dict[str, str]) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise from_validation(e) from None


def _validated_json(model: type[BaseModel], body: bytes) -> BaseModel:
    try:
        return model.model_validate_json(body)
    except ValidationError as e:
        raise from_validation(e) from None


def _error(e: ApiError) -> JsonAnswer:
    headers: dict[bytes, bytes] = {}
    if e.retry_after is not None:
        headers[b"retry-after"] = b"%d" % e.retry_after
    if e.status == 401:
        headers[b"www-authenticate"] = b'Bearer realm="smscd", Basic realm="smscd"'
    return e.status, e.encoded(), headers


