# tests: tests/integration/test_mt_pipeline.py
"""The one MT submission pipeline that SMPP and HTTP ingress share.

Order (Jasmin's, ../shared/reference/jasmin.md §3.3): credentials (authorizations, value
filters, default source) -> MT interceptors -> route -> throughput -> billing hold ->
durable accept (message log + connector queue + hold in one commit). Only when the accept
fires does the caller answer its customer with our id.

A refusal is `Refused`: the SMPP status and the HTTP status/text the two ingresses answer
with, and the field it is about, so that neither ingress re-decides an error.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from twisted.internet.defer import Deferred

from smscd.message import Message
from smscd.stores.interfaces import UserRecord


class Refused(Exception):
    def __init__(self, smpp_status: int, http_status: int, text: str,
                 field: str | None = None) -> None:
        super().__init__(text)
        self.smpp_status = smpp_status
        self.http_status = http_status
        self.text = text
        self.field = field


@dataclass(frozen=True, slots=True)
class Quote:
    """What sending a message would cost, without sending it (HTTP /rate)."""
    connector: str
    rate: Decimal                    # per part
    parts: int
    amount: Decimal
    currency: str


class MtPipeline(Protocol):
    def submit(self, user: UserRecord, message: Message, channel: str) -> Deferred[str]:
        """Fires with our message id once the message is durably queued; fails with
        Refused. `channel` is "smpp" or "http"."""

    def quote(self, user: UserRecord, message: Message) -> Deferred[Quote]:
        """The route's price for `message` (fails with Refused, as submit would)."""
