# tests: tests/integration/test_rest_api.py
"""/v1 on twisted.web: one leaf resource that dispatches ROUTES and writes JSON answers.

Rules:
- /v1/openapi.json needs no credentials; everything else authenticates first (401).
- An unknown path is 404, a known path with another method 405 (with Allow); a path id
  is 1..64 of [A-Za-z0-9_.-] (else 404).
- Bodies: POST needs Content-Type application/json (415), at most `max_body` octets
  (413, also when the site's own limit dropped it), and are validated by the route's
  model (400 malformed JSON, 422 invalid). Queries: the route's model, unknown names 422.
- POST with an Idempotency-Key runs through `Idempotency` (replays carry
  `Idempotent-Replayed: true`).
- Anything unexpected is logged and answered 500 `internal` without details.
- A client that went away is not written to.
"""
from __future__ import annotations

import re
from typing import Any, Awaitable, Callable

from pydantic import BaseModel, ValidationError
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import server
from twisted.web.resource import Resource

from smscd.stores.interfaces import UserRecord

from .api import RestApi
from .auth import RestAuthenticator
from .errors import ApiError, from_validation
from .idempotency import Answer, Idempotency, fingerprint
from .openapi import document_bytes
from .routes import Route, match
from .webhook_api import WebhookApi

log = Logger(namespace="smscd.rest_api")

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
JSON = b"application/json"


class V1(Resource):
    isLeaf = True

    def __init__(self, api: RestApi, auth: RestAuthenticator, idempotency: Idempotency,
                 webhooks: WebhookApi | None, max_body: int) -> None:
        super().__init__()
        self.api = api
        self.auth = auth
        self.idempotency = idempotency
        self.webhooks = webhooks
        self.max_body = max_body
        self.openapi = document_bytes()
        handlers: dict[str, Callable[..., Awaitable[BaseModel]]] = {
            "send": api.send, "batch": api.batch, "messages": api.messages,
            "message": api.message, "cancel": api.cancel, "balance": api.balance,
            "rate": api.rate, "inbound": api.inbound}
        if webhooks is not None:
            handlers.update({"webhooks": webhooks.webhooks_, "add_webhook": webhooks.add,
                             "remove_webhook": webhooks.remove,
                             "dead_letters": webhooks.dead_letters,
                             "replay": webhooks.replay})
        self.handlers = handlers

    def render(self, request: server.Request) -> Any:
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))
        d = Deferred.fromCoroutine(self._serve(request))
        d.addErrback(self._unexpected, request)
        d.addCallback(self._write, request, gone)
        return server.NOT_DONE_YET

    def _unexpected(self, failure: Failure, request: server.Request) -> tuple[int, bytes, dict[bytes, bytes]]:
        log.failure("{method} {path} failed", failure, method=request.method,
                    path=request.path)
        return 500, ApiError(500, "internal", "Internal error.").encoded(), {}

    def _write(self, answer: tuple[int, bytes, dict[bytes, bytes]], request: server.Request,
               gone: list[bool]) -> None:
        if gone:
            return
        status, body, headers = answer
        request.setResponseCode(status)
        request.setHeader(b"content-type", JSON)
        for name, value in headers.items():
            request.setHeader(name, value)
        request.setHeader(b"content-length", b"%d" % len(body))
        request.write(body)
        request.finish()

    async def _serve(self, request: server.Request) -> tuple[int, bytes, dict[bytes, bytes]]:
        try:
            return await self._route(request)
        except ApiError as e:
            return _error(e)

    async def _route(self, request: server.Request) -> tuple[int, bytes, dict[bytes, bytes]]:
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
        body = self._body(request)
        (status, out), replayed = await self.idempotency.run(
            user.uid, key, fingerprint(request.method or b"", request.path or b"", body),
            lambda: self._answer_only(route, request, user, ident))
        return status, out, {b"idempotent-replayed": b"true"} if replayed else {}

    async def _answer_only(self, route: Route, request: server.Request, user: UserRecord,
                           ident: str | None) -> Answer:
        status, body, _ = await self._answer(route, request, user, ident)
        return status, body

    async def _answer(self, route: Route, request: server.Request, user: UserRecord,
                      ident: str | None) -> tuple[int, bytes, dict[bytes, bytes]]:
        try:
            args: list[Any] = [user]
            if ident is not None:
                args.append(ident)
            if route.query is not None:
                args.append(_validated(route.query, _query(request)))
            if route.body is not None:
                args.append(_validated_json(route.body, self._body(request)))
            result = await self.handlers[route.operation](*args)
        except ApiError as e:
            return _error(e)
        return 200, result.model_dump_json(by_alias=True).encode(), {}

    def _body(self, request: server.Request) -> bytes:
        if getattr(request, "too_large", False):
            raise ApiError(413, "too_large", "Request body too large.")
        ctype = (_header(request, b"content-type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ApiError(415, "unsupported_media_type",
                           "The body must be application/json.", "Content-Type")
        content = request.content
        if content is None:
            return b""
        content.seek(0)
        body = content.read(self.max_body + 1)
        if len(body) > self.max_body:
            raise ApiError(413, "too_large", f"Request body too large: at most "
                                             f"{self.max_body} octets.")
        return body


def _header(request: server.Request, name: bytes) -> str | None:
    value = request.getHeader(name)
    return None if value is None else value.decode("latin-1")


def _query(request: server.Request) -> dict[str, str]:
    given: dict[bytes, list[bytes]] = request.args or {}
    return {k.decode("utf-8", "replace"): v[0].decode("utf-8", "replace")
            for k, v in given.items() if v}


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


def _error(e: ApiError) -> tuple[int, bytes, dict[bytes, bytes]]:
    headers: dict[bytes, bytes] = {}
    if e.retry_after is not None:
        headers[b"retry-after"] = b"%d" % e.retry_after
    if e.status == 401:
        headers[b"www-authenticate"] = b'Bearer realm="smscd", Basic realm="smscd"'
    return e.status, e.encoded(), headers


