# tests: tests/integration/test_http_send.py, tests/integration/test_http_rate_balance.py
"""Jasmin's HTTP API on twisted.web: /send, /rate, /balance, /ping and / .

Rules (../shared/reference/jasmin.md §4.1-§4.4):
- /send takes GET or POST, form-encoded or (Content-Type exactly `application/json`) a
  JSON object; it answers text/plain `Success "<id>"` or `Error "<text>"`. /rate and
  /balance take GET only and answer JSON (an error is a JSON string). /ping answers
  `Jasmin/PONG`, / the release.
- /send order: arguments (params.py), hex-content, login (auth.py), the message
  (build.py), authorizations and value filters (authorize.py), the user's default source
  address, then the MT pipeline (interceptors, route, throughput, billing, durable
  queueing). The answer is written only when the pipeline fired, i.e. once the message
  is durably queued (fix: Jasmin answers before its queue is durable).
- /rate's `unit_rate` is the route's rate per part, 0 for a user without a balance
  quota (unlimited), as Jasmin's bill for that user.
- A pipeline refusal (`Refused`) is answered with its HTTP status and text. Anything
  unexpected is logged and answered 500 `Unknown error: internal error`, never with the
  exception text.
- Request bodies above `max_body` octets are answered 413 without being kept.
- A client that went away before its answer is not written to.
- /send is the hot path (issue 6): it is a chain of Deferred callbacks, which fire at once
  when the login is cached, rather than a coroutine (Deferred.fromCoroutine and its
  generator plumbing cost more than the page's own checks); /rate and /balance stay
  coroutines.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Coroutine, Protocol, cast

from twisted.internet.defer import Deferred, fail
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import server
from twisted.web.resource import IResource, Resource

from smscd import __version__
from smscd.billing import Account
from smscd.ids import new_message_id
from smscd.mt_pipeline import MtPipeline, Refused
from smscd.stats import Stats
from smscd.stores.interfaces import UserRecord

from . import authorize
from .auth import Clock, HttpAuthenticator
from .build import Builder
from .lean import ApiRequest, ApiSite, LimitedRequest, QuietSite
from .params import Args, HttpError, balance_args, hex_octets, rate_args, send_args

log = Logger(namespace="smscd.http_api")

INTERNAL_ERROR = "Unknown error: internal error"


class Accounts(Protocol):
    """What /balance needs of billing (smscd.stores.billing_interface.Billing has it)."""

    def account(self, uid: str) -> Account: ...


@dataclass
class HttpApi:
    """What the pages share."""
    pipeline: MtPipeline
    auth: HttpAuthenticator
    billing: Accounts
    builder: Builder
    clock: Clock
    stats: Stats = field(default_factory=lambda: Stats(0.0))   # jCli `stats` counters
    max_body: int = 65536      # the pages' own limit; the listener may read more (for /v1)

    def login(self, args: Args, peer: str, kind: str) -> Deferred[UserRecord]:
        """The user; `kind` (send, rate, balance) is what it asks, for its stats."""
        username = args["username"]
        return self.auth.authenticate(username, args["password"], peer).addCallback(
            self._logged_in, username, kind)

    def _logged_in(self, user: UserRecord | None, username: str, kind: str) -> UserRecord:
        if user is None:
            raise HttpError(403, f"Authentication failure for username:{username}")
        self.stats.http_login(user.uid, kind, self.clock.seconds())
        return user

    def send(self, args: Args, peer: str) -> Deferred[str]:
        hex_octets(args)                   # Jasmin reads the content before the login
        user = self.auth.recent(args["username"], args["password"], peer)
        if user is None:
            return self.login(args, peer, "send").addCallback(self._submit, args)
        self.stats.http_login(user.uid, "send", self.clock.seconds())
        return self._submit(user, args)

    def _submit(self, user: UserRecord, args: Args) -> Deferred[str]:
        now = self.clock.seconds()
        cred = user.mt_credential
        message = self.builder.message(args, message_id=new_message_id(now), user=user.uid,
                                       now=now, default_source=cred.defaultvalue.src_addr)
        authorize.check_send(cred, user.username, args, len(message.parts))
        return self.pipeline.submit(user, message, "http")

    async def rate(self, args: Args, peer: str) -> dict[str, Any]:
        hex_octets(args)
        user = await self.login(args, peer, "rate")
        now = self.clock.seconds()
        message = self.builder.message(args, message_id=new_message_id(now), user=user.uid,
                                       now=now)
        authorize.check_rate(user.mt_credential, user.username)
        quote = await self.pipeline.quote(user, message)
        # Jasmin's bill "for this user": nothing to pay without a balance quota
        unlimited = self.billing.account(user.uid).balance is None
        return {"submit_sm_count": len(message.parts),
                "unit_rate": 0.0 if unlimited else float(quote.rate)}

    async def balance(self, args: Args, peer: str) -> dict[str, Any]:
        user = await self.login(args, peer, "balance")
        authorize.check_balance(user.mt_credential, user.username)
        account = self.billing.account(user.uid)
        return {"balance": "ND" if account.balance is None else float(account.balance),
                "sms_count": "ND" if account.sms_count is None else account.sms_count}


# --- request and response plumbing -------------------------------------------------------

def request_args(request: server.Request) -> Args:
    """The request's arguments as text, first value of each; a JSON object body (with
    Content-Type exactly application/json) adds to and overrides them."""
    given: dict[bytes, list[bytes]] = request.args or {}
    args = {k.decode("utf-8", "surrogateescape"): v[0].decode("utf-8", "surrogateescape")
            for k, v in given.items() if v}
    if request.getHeader(b"content-type") == b"application/json":
        content = request.content
        assert content is not None           # set by gotLength before any rendering
        content.seek(0)
        try:
            body = json.loads(content.read())
        except ValueError as e:
            raise HttpError(400, f"Invalid JSON body: {e}.") from None
        if not isinstance(body, dict):
            raise HttpError(400, "Invalid JSON body: expected an object.")
        for name, value in body.items():
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise HttpError(400, f"Argument [{name}] has an invalid value: "
                                     f"[{json.dumps(value)}].")
            args[name] = value if isinstance(value, str) else str(value)
    return args


def _body(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


Handler = Callable[[Args, str], Deferred[Any]]


def _deferred(handle: Callable[[Args, str], Coroutine[Any, Any, Any]]) -> Handler:
    """A coroutine page handler (/rate, /balance) as a Handler."""
    return lambda args, peer: Deferred.fromCoroutine(handle(args, peer))


class _Page(Resource):
    isLeaf = True
    content_type = b"text/plain"

    def __init__(self, prepare: Callable[[Args], Args], handle: Handler, api: HttpApi) -> None:
        super().__init__()
        self.prepare = prepare
        self.handle = handle
        self.api = api

    def serve(self, request: LimitedRequest) -> Any:
        api = self.api
        request.setHeader(b"content-type", self.content_type)
        api.stats.http_request(api.clock.seconds())
        if request.too_large or request.body_length > api.max_body:
            request.setResponseCode(413)
            return self.error_body(f"Request body too large: at most "
                                   f"{api.max_body} octets.")
        try:
            peer = getattr(request.getClientAddress(), "host", "?")
            d = self.handle(self.prepare(request_args(request)), peer)
        except Exception:
            d = fail()
        d.addCallbacks(self._write, self._failed, callbackArgs=(request,),
                       errbackArgs=(request,))
        return server.NOT_DONE_YET

    def _write(self, result: Any, request: LimitedRequest) -> None:
        self.api.stats.http_success(self.api.clock.seconds())
        if not request.gone:
            _finish(request, 200, self.ok_body(result))

    def _failed(self, failure: Failure, request: LimitedRequest) -> None:
        if failure.check(HttpError):
            status, text = failure.value.status, failure.value.text
        elif failure.check(Refused):
            status, text = failure.value.http_status, failure.value.text
        else:
            log.failure("{path} failed", failure, path=request.path)
            status, text = 500, INTERNAL_ERROR
        self.api.stats.http_error(status, text)
        if not request.gone:
            _finish(request, status, self.error_body(text))

    def ok_body(self, result: Any) -> bytes:
        return _body(f'Success "{result}"')

    def error_body(self, text: str) -> bytes:
        return _body(f'Error "{text}"')


def _finish(request: server.Request, status: int, body: bytes) -> None:
    """One write with its length: no chunked encoding for a body we have whole."""
    request.setResponseCode(status)
    request.setHeader(b"content-length", b"%d" % len(body))
    request.write(body)
    request.finish()


class SendPage(_Page):
    def render_GET(self, request: LimitedRequest) -> Any:
        return self.serve(request)

    render_POST = render_GET


class JsonPage(_Page):
    """GET only, as Jasmin's /rate and /balance (other methods: twisted's 405)."""
    content_type = b"application/json"

    def render_GET(self, request: LimitedRequest) -> Any:
        return self.serve(request)

    def ok_body(self, result: Any) -> bytes:
        return json.dumps(result).encode()

    def error_body(self, text: str) -> bytes:
        return json.dumps(text).encode()     # ASCII with escapes, as Jasmin writes it


class TextPage(Resource):
    isLeaf = True

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text.encode()

    def render_GET(self, request: server.Request) -> bytes:
        request.setHeader(b"content-type", b"text/plain")
        return self.text


def _pages(api: HttpApi) -> dict[bytes, Resource]:
    return {b"": TextPage(__version__), b"send": SendPage(send_args, api.send, api),
            b"rate": JsonPage(rate_args, _deferred(api.rate), api),
            b"balance": JsonPage(balance_args, _deferred(api.balance), api),
            b"ping": TextPage("Jasmin/PONG")}


def site_for(api: HttpApi, max_body: int) -> ApiSite:
    """The pages under a root (where the daemon mounts /v1), each also served directly
    at its exact path (ApiSite)."""
    root = Resource()
    pages = _pages(api)
    for name, page in pages.items():
        root.putChild(name, cast(IResource, page))
    request_class = type("HttpApiRequest", (ApiRequest,), {"max_body": max_body})
    site = ApiSite(cast(IResource, root),
                   {b"/" + name: cast(IResource, page) for name, page in pages.items()},
                   requestFactory=request_class)
    site.displayTracebacks = False
    site.noisy = False
    return site


__all__ = ["Accounts", "HttpApi", "LimitedRequest", "QuietSite", "site_for"]
