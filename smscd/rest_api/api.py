# tests: tests/integration/test_rest_api.py
"""What each /v1 endpoint does, between the validated request and the response model.

Rules:
- Messages are built by the Jasmin API's Builder (encoding, long-message split, validity,
  schedule) and checked by its authorizations and value filters, then submitted through
  the one MT pipeline on the "http" channel (its throughput and billing) with origin
  "rest". Receipts are always asked for (registered_delivery 1): the state is the API.
- One message, many recipients: every recipient's message is built first (a content
  error refuses the whole request); the content (coding, parts, UDH) is built once and
  shared by every recipient when it is one part. Then all messages of the request (of
  every item of a batch) go through `submit_many`: ONE durable change holds every
  accepted message, the answer's Idempotency-Key record and the message.accepted webhook
  events. If every recipient is refused, the answer is the first refusal; otherwise 200
  with each recipient's outcome. If that durable change fails, the answer is 503 (with
  Retry-After, not kept for the Idempotency-Key): nothing of the request was kept.
- Reads are scoped: another user's message id is 404, as an unknown one. One message
  (GET, DELETE) comes with its history (acceptance, each part sent, receipts, cancel);
  the listing does not (a read per message more).
- A cancelled message's billing hold is released (Billing.message_failed).
- `busy()` true (the queues are over their high-water mark): 503 with Retry-After before
  anything is built.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, fields
from datetime import timezone
from itertools import repeat
from typing import Any, Callable, Protocol, Sequence, cast

from pydantic import BaseModel
from twisted.internet.defer import Deferred, gatherResults

from smscd.billing import BillingRecord
from smscd.deliveries import mt_queue
from smscd.credentials import value_ok
from smscd.http_api import authorize
from smscd.http_api.auth import Clock
from smscd.http_api.build import Builder
from smscd.http_api.params import HttpError
from smscd.ids import new_message_id
from smscd.message import Address, Message
from smscd.mt_pipeline import BatchPipeline, Outcome, Refused
from smscd.smpp.message_state import MessageState
from smscd.stores.interfaces import (AlsoRows, MessageLog, MessageRecord, Publication,
                                     StateEvent, UserRecord)
from smscd.stores.billing_interface import Billing

from . import answers
from . import models as M
from .errors import ApiError, from_refused
from .idempotency import Keep

ORIGIN = "rest"
FAR_FUTURE = 1e12


class Webhook(Protocol):
    def wants(self, uid: str, event: str) -> bool: ...
    def accepted(self, message: Message) -> list[Publication]: ...


class SearchableLog(MessageLog, Protocol):
    def search(self, user: str, since: float, until: float, after: int, limit: int
               ) -> Deferred[list[tuple[int, MessageRecord]]]: ...


class Inbound(Protocol):
    def after(self, uid: str, cursor: int, limit: int
              ) -> Deferred[list[tuple[int, dict[str, Any]]]]: ...


@dataclass
class RestApi:
    pipeline: BatchPipeline
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

    def _messages(self, user: UserRecord, req: M.SendRequest, recipients: list[str],
                  field: str) -> list[Message]:
        """One message per recipient. The content is built once (coding, parts, UDH) and
        shared when it is one part; a long one is built per recipient, for its own
        concatenation reference. The credential is checked in full for the first
        recipient; for the others only its destination filter (nothing else depends on
        the recipient). An error refuses them all (ApiError)."""
        checked, built = self._args(req, recipients[0])
        now = self.clock.seconds()
        cred = user.mt_credential
        template = self._built(user, built, now, field)
        n_parts = len(template.parts)
        self._authorize(user, checked, n_parts)
        recipient = _Recipients(template).message
        messages = []
        for i, to in enumerate(recipients):
            if not value_ok(cred, "dst_addr", to):
                self._authorize(user, {**checked, "to": to}, n_parts)
            if i and n_parts > 1:
                built["to"] = to
                recipient = _Recipients(self._built(user, built, now, field)).message
            messages.append(recipient(new_message_id(now), to))
        return messages

    def _built(self, user: UserRecord, args: dict[str, str], now: float, field: str
               ) -> Message:
        try:
            return self.builder.message(args, message_id="", user=user.uid, now=now,
                                        default_source=user.mt_credential.defaultvalue.src_addr)
        except HttpError as e:
            raise ApiError(422, "invalid_content", e.text, field) from None

    @staticmethod
    def _authorize(user: UserRecord, checked: dict[str, str], n_parts: int) -> None:
        try:
            authorize.check_send(user.mt_credential, user.username, checked, n_parts)
        except HttpError as e:
            raise ApiError(403, "forbidden", e.text, None) from None

    def _check_busy(self) -> None:
        if self.busy():
            raise ApiError(503, "busy", "The queues are full; try again later.", None,
                           self.retry_after)

    async def send(self, user: UserRecord, req: M.SendRequest, keep: Keep | None = None
                   ) -> bytes:
        """A `SendResponse`, encoded (answers.py)."""
        self._check_busy()
        messages = self._messages(user, req, req.recipients, "text")

        def respond(outcomes: Sequence[Outcome]) -> bytes:
            if not any(isinstance(o, str) for o in outcomes):
                raise from_refused(cast(Refused, outcomes[0]), self.retry_after)
            return answers.send_response(self._results(messages, outcomes, {}))
        return await self._submit(user, messages, respond, keep)

    async def batch(self, user: UserRecord, req: M.BatchRequest, keep: Keep | None = None
                    ) -> bytes:
        """A `BatchResponse`, encoded (answers.py)."""
        self._check_busy()
        built: list[list[Message] | ApiError] = []
        for i, item in enumerate(req.messages):
            try:
                built.append(self._messages(user, item, item.recipients,
                                            f"messages.{i}.text"))
            except ApiError as e:
                built.append(e)
        flat = [m for ms in built if isinstance(ms, list) for m in ms]

        def respond(outcomes: Sequence[Outcome]) -> bytes:
            errors: dict[tuple[Any, ...], str] = {}
            results = []
            at = 0
            for i, ms in enumerate(built):
                if isinstance(ms, ApiError):
                    error = answers.error(ms.body)
                    results.append([answers.refused(to, error)
                                    for to in req.messages[i].recipients])
                else:
                    results.append(self._results(ms, outcomes[at:at + len(ms)], errors))
                    at += len(ms)
            queued = sum(1 for o in outcomes if isinstance(o, str))
            total = sum(len(r) for r in results)
            return answers.batch_response(queued, total - queued, results)
        return await self._submit(user, flat, respond, keep)

    async def _submit(self, user: UserRecord, messages: list[Message],
                      respond: Callable[[Sequence[Outcome]], bytes], keep: Keep | None
                      ) -> bytes:
        """All of `messages` through the pipeline at once; the answer `respond` makes of
        their outcomes. The Idempotency-Key record of that answer and the accepted
        messages' webhook events commit with the messages (one durable change)."""
        made: list[bytes] = []

        def extra(outcomes: Sequence[Outcome], accepted: Sequence[Message]
                  ) -> tuple[AlsoRows, list[Publication]]:
            made.append(respond(outcomes))
            rows = () if keep is None else keep.rows(200, made[0])
            return rows, self._events(user, accepted)
        outcomes = await self.pipeline.submit_many(user, messages, "http", extra)
        if not made:                   # nothing accepted: nothing to commit
            return respond(outcomes)
        if not any(isinstance(o, str) for o in outcomes):
            raise ApiError(503, "unavailable", "The messages could not be queued; try "
                           "again.", None, self.retry_after)    # nothing of it is kept
        if keep is not None:
            keep.committed = True
        return made[0]

    def _results(self, messages: Sequence[Message], outcomes: Sequence[Outcome],
                 errors: dict[tuple[Any, ...], str]) -> list[str]:
        """Each recipient's `Accepted` JSON; `errors` keeps the error JSON of refusals
        already seen (a batch refused for one reason encodes it once)."""
        out = []
        for m, o in zip(messages, outcomes):
            if isinstance(o, str):
                out.append(answers.queued(m.destination.addr, o, len(m.parts)))
                continue
            why = (o.smpp_status, o.http_status, o.text, o.field)
            error = errors.get(why)
            if error is None:
                error = errors[why] = answers.error(from_refused(o, self.retry_after).body)
            out.append(answers.refused(m.destination.addr, error))
        return out

    def _events(self, user: UserRecord, accepted: Sequence[Message]) -> list[Publication]:
        hooks = self.webhooks
        if hooks is None or not hooks.wants(user.uid, "message.accepted"):
            return []
        return [p for m in accepted for p in hooks.accepted(m)]

    # --- reading and cancelling --------------------------------------------------------
    async def message(self, user: UserRecord, message_id: str) -> M.MessageView:
        reads: list[Deferred[Any]] = [self.log.get(message_id, user.uid),      # one batch
                                      self.log.history(message_id, user.uid)]
        both: list[Any] = await gatherResults(reads, consumeErrors=True)
        record: MessageRecord | None = both[0]
        history: list[StateEvent] = both[1]
        if record is None:
            raise _not_found(message_id)
        billed: BillingRecord | None = await self.billing.record(record.message.id)
        return view(record, billed, history)

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
        message = self._messages(user, req, req.recipients[:1], "text")[0]
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


def encode(model: BaseModel) -> bytes:
    """A response body as the wire has it (`from`, not `from_`)."""
    return model.model_dump_json(by_alias=True).encode()


_FIELDS = tuple(f.name for f in fields(Message))
_ID, _DESTINATION, _ORIGIN, _EXTRA = (_FIELDS.index(n)
                                      for n in ("id", "destination", "origin", "extra"))


class _Recipients:
    """A message fresh from the builder as the template of one message per recipient:
    only the id and the destination differ (the origin is rest, `extra` is each one's
    own). Why not dataclasses.replace or the constructor: a frozen dataclass's __init__
    sets each of Message's 21 fields through a Python-level object.__setattr__ call;
    mapping object.__setattr__ over the template's values costs about half of that, and
    a batch makes 10,000 of them (tests/unit/test_rest_recipients.py holds the two equal)."""
    __slots__ = ("values",)

    def __init__(self, template: Message) -> None:
        self.values = [getattr(template, name) for name in _FIELDS]
        self.values[_ORIGIN] = ORIGIN

    def message(self, message_id: str, to: str) -> Message:
        values = self.values.copy()
        values[_ID] = message_id
        values[_DESTINATION] = Address(to)
        values[_EXTRA] = dict(values[_EXTRA])
        message: Message = object.__new__(Message)
        deque(map(object.__setattr__, repeat(message), _FIELDS, values), 0)
        return message


def _not_found(message_id: str) -> ApiError:
    return ApiError(404, "not_found", f"No message {message_id!r}.", "id")


def _status(state: MessageState | None) -> Any:
    return None if state is None else state.name.lower()


def view(record: MessageRecord, billed: BillingRecord | None,
         history: list[StateEvent] | None = None) -> M.MessageView:
    m = record.message
    return M.MessageView(
        id=m.id, to=m.destination.addr, from_=m.source.addr, status=_status(record.state),
        connector=m.connector,
        parts=[M.PartView(index=p.index, status=_status(p.state), connector=p.connector,
                          vendor_id=p.vendor_id, sent_at=p.sent_at, status_at=p.state_at,
                          error=p.error) for p in record.parts],
        price=None if billed is None else str(billed.amount),
        currency=None if billed is None else billed.currency,
        created_at=record.accepted_at, updated_at=record.updated_at,
        history=None if history is None else [M.HistoryEvent(
            event=e.event, at=e.at, part=e.part_index, status=_status(e.state), error=e.error,
            connector=e.connector, vendor_id=e.vendor_id) for e in history])
