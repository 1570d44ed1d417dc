# tests: tests/unit/test_rest_models.py
"""The REST API's request and response bodies, as pydantic v2 models.

These models are the one definition of the wire format: request bodies are validated by
them (unknown fields refused, every error naming its field), responses are built from
them, and /v1/openapi.json is generated from their JSON schemas (openapi.py), so the
document and the server cannot disagree.
Rules: a message has `text` (UTF-8, encoded by us for `coding`) or `hex` (octets as
given), not both; `to` is one number or a list of 1..1,000; a batch has 1..1,000
messages and at most 10,000 recipients in all. Amounts are decimal strings.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

MAX_RECIPIENTS = 1_000            # per message
MAX_BATCH = 1_000                 # messages per batch
MAX_BATCH_RECIPIENTS = 10_000     # recipients per batch

# RFC 3339 with an offset, as a string only (pydantic's datetime would also take numbers,
# which the document does not say)
def _real_time(value: str) -> str:
    datetime.fromisoformat(value)          # ValueError (a 422) for 2026-13-45T99:...
    return value


Timestamp = Annotated[str, AfterValidator(_real_time), Field(
    pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
            r"(Z|[+-][0-9]{2}:[0-9]{2})$", examples=["2026-11-23T16:30:00Z"])]
Number = Annotated[str, Field(pattern=r"^\+?[0-9]{1,20}$", examples=["33612345678"])]
Status = Literal["scheduled", "enroute", "delivered", "expired", "deleted", "undeliverable",
                 "accepted", "unknown", "rejected", "skipped"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SendRequest(_Strict):
    to: Number | Annotated[list[Number], Field(min_length=1, max_length=MAX_RECIPIENTS)]
    text: Annotated[str, Field(max_length=65_536)] | None = None
    hex: Annotated[str, Field(pattern=r"^([0-9A-Fa-f]{2}){0,32768}$")] | None = None
    from_: Annotated[str, Field(min_length=1, max_length=20)] | None = Field(
        None, alias="from")
    coding: Annotated[int, Field(ge=0, le=14)] = 0
    priority: Annotated[int, Field(ge=0, le=3)] = 0
    validity_minutes: Annotated[int, Field(ge=1, le=5_270_400)] | None = None
    schedule_at: Timestamp | None = None

    @model_validator(mode="after")
    def _one_content(self) -> SendRequest:
        if (self.text is None) == (self.hex is None):
            raise ValueError("give exactly one of text and hex")
        return self

    @property
    def recipients(self) -> list[str]:
        return [self.to] if isinstance(self.to, str) else list(self.to)


class BatchRequest(_Strict):
    messages: Annotated[list[SendRequest], Field(min_length=1, max_length=MAX_BATCH)]

    @model_validator(mode="after")
    def _recipients(self) -> BatchRequest:
        n = sum(len(m.recipients) for m in self.messages)
        if n > MAX_BATCH_RECIPIENTS:
            raise ValueError(f"{n} recipients in all; at most {MAX_BATCH_RECIPIENTS}")
        return self


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class Accepted(BaseModel):
    """One recipient's outcome: an id when accepted, an error otherwise."""
    to: str
    id: str | None = None
    parts: int | None = None
    status: Literal["queued", "refused"]
    error: ErrorBody | None = None


class SendResponse(BaseModel):
    messages: list[Accepted]


class BatchItem(BaseModel):
    index: int
    messages: list[Accepted]


class BatchResponse(BaseModel):
    accepted: int
    refused: int
    results: list[BatchItem]


class PartView(BaseModel):
    index: int
    status: Status | None = None
    connector: str | None = None
    vendor_id: str | None = None
    sent_at: float | None = None
    status_at: float | None = None
    error: str = ""


class HistoryEvent(BaseModel):
    """One event of a message's life, oldest first."""
    event: Literal["accepted", "sent", "state", "cancelled"] = Field(
        description="accepted: queued; sent: a vendor took the part (vendor_id); "
                    "state: a receipt or a failure (status, error); cancelled: by you")
    at: float
    part: int | None = Field(None, description="the part's index; null: the whole message")
    status: Status | None = None
    error: str = ""
    connector: str | None = None
    vendor_id: str | None = None


class MessageView(BaseModel):
    id: str
    to: str
    from_: str = Field(serialization_alias="from")
    status: Status
    connector: str
    parts: list[PartView]
    price: str | None = None
    currency: str | None = None
    created_at: float
    updated_at: float
    history: list[HistoryEvent] | None = Field(
        None, description="GET and DELETE /v1/messages/{id} only: receipts and states")


class MessageList(BaseModel):
    data: list[MessageView]
    next_cursor: str | None = None


class ListQuery(_Strict):
    status: Status | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None
    to: Number | None = None
    cursor: Annotated[str, Field(pattern=r"^[0-9]{1,18}$")] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class PageQuery(_Strict):
    cursor: Annotated[str, Field(pattern=r"^[0-9]{1,18}$")] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class Balance(BaseModel):
    balance: str | None = Field(description="null: unlimited")
    sms_count: int | None = Field(description="null: unlimited")
    currency: str


class RateResponse(BaseModel):
    parts: int
    unit_rate: str
    amount: str
    currency: str


class InboundItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    received_at: float


class InboundList(BaseModel):
    data: list[InboundItem]
    next_cursor: str | None = None


WebhookEvent = Literal["message.accepted", "message.delivered", "message.failed",
                       "message.inbound"]


class WebhookCreate(_Strict):
    url: Annotated[str, Field(min_length=8, max_length=2048, pattern=r"^https?://")]
    events: Annotated[list[WebhookEvent], Field(min_length=1, max_length=4)]


class WebhookView(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: float
    secret: str | None = Field(None, description="only in the answer to its creation")


class WebhookList(BaseModel):
    data: list[WebhookView]


class DeadLetterView(BaseModel):
    id: int
    key: str
    attempts: int
    reason: str
    dead_at: float


class DeadLetterList(BaseModel):
    data: list[DeadLetterView]


class Replayed(BaseModel):
    id: int
    replayed: bool


class Deleted(BaseModel):
    id: str
    deleted: bool


def parse_timestamp(value: str) -> datetime:
    """A `Timestamp` (already matched by its pattern) as an aware datetime."""
    return datetime.fromisoformat(value)
