# tests: tests/integration/test_rest_api.py
"""What each /v1 endpoint does, between the validated request and the response model.

Rules:
- Messages are built by the Jasmin API's Builder (encoding, long-message split, validity,
  schedule) and checked by its authorizations and value filters, then submitted through
  the one MT pipeline on the "http" channel (its throughput and billing) with origin
  "rest". Receipts are always asked for (registered_delivery 1): the state is the API.
- One message, many recipients: every recipient's message is built first (a content
  error refuses the whole request), then all are submitted at once (the store commits
  them in one batch). If every recipient is refused, the answer is the first refusal;
  otherwise 200 with each recipient's outcome.
- Reads are scoped: another user's message id is 404, as an unknown one.
- A cancelled message's billing hold is released (Billing.message_failed).
- `busy()` true (the queues are over their high-water mark): 503 with Retry-After before
  anything is built.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timezone
from typing import Any, Callable, Protocol

from twisted.internet.defer import Deferred, DeferredList
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.billing import BillingRecord
from smscd.deliveries import mt_queue
from smscd.http_api import authorize
from smscd.http_api.auth import Clock
from smscd.http_api.build import Builder
from smscd.http_api.params import HttpError
from smscd.ids import new_message_id
from smscd.message import Message
from smscd.mt_pipeline import MtPipeline, Refused
from smscd.smpp.message_state import MessageState
from smscd.stores.interfaces import MessageLog, MessageRecord, UserRecord
from smscd.stores.billing_interface import Billing

from . import models as M
from .errors import ApiError, from_refused

log = Logger(namespace="smscd.rest_api")

ORIGIN = "rest"
FAR_FUTURE = 1e12


class Webhook(Protocol):
    def wants(self, uid: str, event: str) -> bool: ...
    def message_accepted(self, message: Message) -> Deferred[None]: ...


class SearchableLog(MessageLog, Protocol):
    def search(self, user: str, since: float, until: float, after: int, limit: int
               ) -> Deferred[list[tuple[int, MessageRecord]]]: ...


class Inbound(Protocol):
    def after(self, uid: str, cursor: int, limit: int
              ) -> Deferred[list[tuple[int, dict[str, Any]]]]: ...


@dataclass
class RestApi:
    pipeline: MtPipeline
    log: SearchableLog
    billing: Billing
    builder: Builder
    clock: Clock
    inbound_store: Inbound | None = None
    webhooks: Webhook | None = None
    busy: Callable[[], bool] = lambda: False
    retry_after: int = 1

    # --- sending -----------------------------------------------------------------------
    def _args(self, req: M.SendRequest, to: str) -> tuple[dict[str, str], dict[str, str]]:
        """(what the authorizations see, what the builder sees), in Jasmin's words."""
        args = {"to": to, "coding": str(req.coding)}
        if req.text is not None:
            args["content"] = req.text
        else:
            args["hex-content"] = req.hex or ""
        if req.from_ is not None:
            args["from"] = req.from_
        if req.priority:
            args["priority"] = str(req.priority)
        if req.validity_minutes is not None:
            args["validity-period"] = str(req.validity_minutes)
        if req.schedule_at is not None:
            args["sdt"] = M.parse_timestamp(req.schedule_at).astimezone(timezone.utc).strftime(
                "%y%m%d%H%M%S") + "000+"
        return args, {**args, "dlr": "yes", "dlr-level": "2"}

    def _build(self, user: UserRecord, req: M.SendRequest, to: str, field: str) -> Message:
        checked, built = self._args(req, to)
        now = self.clock.seconds()
        cred = user.mt_credential
        try:
            message = self.builder.message(built, message_id=new_message_id(now),
                                           user=user.uid, now=now,
                                           default_source=cred.defaultvalue.src_addr)
        except HttpError as e:
            raise ApiError(422, "invalid_content", e.text, field) from None
        try:
            authorize.check_send(cred, user.username, checked, len(message.parts))
        except HttpError as e:
            raise ApiError(403, "forbidden", e.text, None) from None
        return dataclasses.replace(message, origin=ORIGIN)

    def _check_busy(self) -> None:
        if self.busy():
            raise ApiError(503, "busy", "The queues are full; try again later.", None,
                           self.retry_after)

    async def send(self, user: UserRecord, req: M.SendRequest) -> M.SendResponse:
        self._check_busy()
        messages = [self._build(user, req, to, "text") for to in req.recipients]
        results, first_refusal = await self._submit(user, messages)
        if first_refusal is not None and all(r.status == "refused" for r in results):
            raise first_refusal
        return M.SendResponse(messages=results)

    async def batch(self, user: UserRecord, req: M.BatchRequest) -> M.BatchResponse:
        self._check_busy()
        built: list[tuple[int, list[Message] | ApiError]] = []
        for i, item in enumerate(req.messages):
            try:
                built.append((i, [self._build(user, item, to, f"messages.{i}.text")
                                  for to in item.recipients]))
            except ApiError as e:
                built.append((i, e))
        flat = [m for _, ms in built if isinstance(ms, list) for m in ms]
        outcomes = iter((await self._submit(user, flat))[0])
        results = []
        for i, ms in built:
            if isinstance(ms, ApiError):
                refused = [M.Accepted(to=to, status="refused", error=ms.body)
                           for to in req.messages[i].recipients]
                results.append(M.BatchItem(index=i, messages=refused))
            else:
                results.append(M.BatchItem(index=i, messages=[next(outcomes) for _ in ms]))
        n = sum(1 for r in results for a in r.messages if a.status == "queued")
        total = sum(len(r.messages) for r in results)
        return M.BatchResponse(accepted=n, refused=total - n, results=results)

    async def _submit(self, user: UserRecord, messages: list[Message]
                      ) -> tuple[list[M.Accepted], ApiError | None]:
        """Each message's outcome, and the first refusal."""
        ds = [self.pipeline.submit(user, m, "http") for m in messages]
        done = await DeferredList(ds, consumeErrors=True)
        results = []
        first: ApiError | None = None
        for message, (_, value) in zip(messages, done):
            if not isinstance(value, Failure):
                results.append(M.Accepted.model_construct(      # our own values: no checks
                    to=message.destination.addr, id=value, parts=len(message.parts),
                    status="queued", error=None))
                self._accepted(message, value)
                continue
            if isinstance(value.value, Refused):
                error = from_refused(value.value, self.retry_after)
            else:
                log.failure("submitting {id} failed", value, id=message.id)
                error = ApiError(503, "unavailable", "The message could not be queued; "
                                 "try again.", None, self.retry_after)
            first = first or error
            results.append(M.Accepted(to=message.destination.addr, status="refused",
                                      error=error.body))
        return results, first

    def _accepted(self, message: Message, message_id: str) -> None:
        hooks = self.webhooks
        if hooks is not None and hooks.wants(message.user, "message.accepted"):
            hooks.message_accepted(message).addErrback(
                lambda f: log.failure("webhook for {id} not queued", f, id=message_id))

    # --- reading and cancelling --------------------------------------------------------
    async def message(self, user: UserRecord, message_id: str) -> M.MessageView:
        record = await self.log.get(message_id, user.uid)
        if record is None:
            raise _not_found(message_id)
        return await self._view(record)

    async def _view(self, record: MessageRecord) -> M.MessageView:
        billed: BillingRecord | None = await self.billing.record(record.message.id)
        return view(record, billed)

    async def cancel(self, user: UserRecord, message_id: str) -> M.MessageView:
        record = await self.log.get(message_id, user.uid)
        if record is None:
            raise _not_found(message_id)
        done = await self.log.cancel(message_id, user.uid, mt_queue(record.message.connector))
        if not done:
            raise ApiError(409, "not_cancellable",
                           "The message is no longer queued: it cannot be cancelled.", "id")
        await self.billing.message_failed(message_id)
        return await self.message(user, message_id)

    async def messages(self, user: UserRecord, q: M.ListQuery) -> M.MessageList:
        since = 0.0 if q.since is None else M.parse_timestamp(q.since).timestamp()
        until = FAR_FUTURE if q.until is None else M.parse_timestamp(q.until).timestamp()
        found = await self.log.search(user.uid, since, until, int(q.cursor or 0), q.limit)
        data = []
        for _, record in found:
            if q.status is not None and record.state.name.lower() != q.status:
                continue
            if q.to is not None and record.message.destination.addr != q.to:
                continue
            data.append(view(record, None))
        more = len(found) == q.limit
        return M.MessageList(data=data, next_cursor=str(found[-1][0]) if more else None)

    async def balance(self, user: UserRecord) -> M.Balance:
        try:
            authorize.check_balance(user.mt_credential, user.username)
        except HttpError as e:
            raise ApiError(403, "forbidden", e.text) from None
        account = self.billing.account(user.uid)
        return M.Balance(balance=None if account.balance is None else str(account.balance),
                         sms_count=account.sms_count,
                         currency=self.billing.currency_of(user.uid))

    async def rate(self, user: UserRecord, req: M.SendRequest) -> M.RateResponse:
        try:
            authorize.check_rate(user.mt_credential, user.username)
        except HttpError as e:
            raise ApiError(403, "forbidden", e.text) from None
        message = self._build(user, req, req.recipients[0], "text")
        try:
            quote = await self.pipeline.quote(user, message)
        except Refused as e:
            raise from_refused(e, self.retry_after) from None
        return M.RateResponse(parts=quote.parts, unit_rate=str(quote.rate),
                              amount=str(quote.amount), currency=quote.currency)

    async def inbound(self, user: UserRecord, q: M.PageQuery) -> M.InboundList:
        if self.inbound_store is None:
            return M.InboundList(data=[])
        found = await self.inbound_store.after(user.uid, int(q.cursor or 0), q.limit)
        data = [M.InboundItem.model_validate(item) for _, item in found]
        more = len(found) == q.limit
        return M.InboundList(data=data, next_cursor=str(found[-1][0]) if more else None)


def _not_found(message_id: str) -> ApiError:
    return ApiError(404, "not_found", f"No message {message_id!r}.", "id")


def _status(state: MessageState | None) -> Any:
    return None if state is None else state.name.lower()


def view(record: MessageRecord, billed: BillingRecord | None) -> M.MessageView:
    m = record.message
    return M.MessageView(
        id=m.id, to=m.destination.addr, from_=m.source.addr, status=_status(record.state),
        connector=m.connector,
        parts=[M.PartView(index=p.index, status=_status(p.state), connector=p.connector,
                          vendor_id=p.vendor_id, sent_at=p.sent_at, status_at=p.state_at,
                          error=p.error) for p in record.parts],
        price=None if billed is None else str(billed.amount),
        currency=None if billed is None else billed.currency,
        created_at=record.accepted_at, updated_at=record.updated_at)
