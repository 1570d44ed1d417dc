# tests: tests/integration/test_rest_api.py, tests/integration/test_admin_api.py
"""The JSON request/response plumbing shared by the REST API (/v1) and the admin API.

Why: both are one twisted.web leaf resource that serves a request as a coroutine and
writes one JSON answer; this module does that part once, the subclass routes.
Rules:
- `render` runs the subclass's `_serve` and writes its (status, body, headers) answer as
  application/json with Content-Length; a client that went away is not written to.
- Anything `_serve` raises is logged (on the subclass's `log`) and answered 500
  `internal` without details.
- `json_body` refuses a body the site already dropped as too large (413), one that is not
  application/json (415) and one over `max_body` octets (413); it returns the raw octets.
"""
from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import server
from twisted.web.resource import Resource

from .errors import ApiError

JSON = b"application/json"
JsonAnswer = tuple[int, bytes, dict[bytes, bytes]]


class JsonResource(Resource):
    """A leaf resource answering JSON; subclasses define `_serve` and set `log`."""

    isLeaf = True
    log = Logger(namespace="smscd.rest_api")

    def render(self, request: server.Request) -> Any:
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))
        d = Deferred.fromCoroutine(self._serve(request))
        d.addErrback(self._unexpected, request)
        d.addCallback(self._write, request, gone)
        return server.NOT_DONE_YET

    async def _serve(self, request: server.Request) -> JsonAnswer:
        raise NotImplementedError

    def _unexpected(self, failure: Failure, request: server.Request) -> JsonAnswer:
        self.log.failure("{method} {path} failed", failure, method=request.method,
                         path=request.path)
        return 500, ApiError(500, "internal", "Internal error.").encoded(), {}

    def _write(self, answer: JsonAnswer, request: server.Request, gone: list[bool]) -> None:
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


def json_body(request: server.Request, max_body: int) -> bytes:
    """The request's raw JSON body, or an ApiError 413/415."""
    if getattr(request, "too_large", False):
        raise ApiError(413, "too_large", "Request body too large.")
    ctype = (request.getHeader(b"content-type") or b"").decode("latin-1")
    if ctype.split(";")[0].strip().lower() != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       "The body must be application/json.", "Content-Type")
    content = request.content
    if content is None:
        return b""
    content.seek(0)
    body: bytes = content.read(max_body + 1)
    if len(body) > max_body:
        raise ApiError(413, "too_large", f"Request body too large: at most {max_body} octets.")
    return body


def query_args(request: server.Request) -> dict[str, str]:
    """The query's names and first values, decoded as UTF-8."""
    given: dict[bytes, list[bytes]] = request.args or {}
    return {k.decode("utf-8", "replace"): v[0].decode("utf-8", "replace")
            for k, v in given.items() if v}
