# tests: tests/integration/test_billing_store.py
"""What the MT pipeline, the connectors and the operators need of billing: a Protocol.

Rule 1: acceptance is synchronous. `reserve` decides and takes the money in memory on the
reactor thread, so concurrent submits never spend the same money twice; its rows go to
`MessageLog.accept(message, queue, also=reservation.rows)` IN THE SAME REACTOR TURN, so the
hold commits with the message or not at all. If that accept fails: `cancel(reservation)`.
Rule 2: the part hooks are idempotent and fire-and-forget: they change memory at once,
their Deferred fires once durable and never fails (a failed write is logged and repaired by
the reconciliation at the next open).
Rule 3: operator changes (`set_*`, `add_*`) fire with the account once durable, or fail
with a ValueError naming the field.
The embedded implementation is smscd.stores.sqlite_billing.SqliteBilling; money rules are
in smscd.billing.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from twisted.internet.defer import Deferred

from smscd.billing import ZERO, Account, BillingRecord, Refusal
from smscd.stores.ops import Statement


@dataclass(frozen=True, slots=True)
class Reservation:
    """What `reserve` took for one message; `rows` go to MessageLog.accept(also=...).
    No rows: nothing is billed (rate 0 and unlimited sms_count, or billing off for the
    channel)."""
    message_id: str
    uid: str
    money: Decimal = ZERO          # taken from the balance now (rate x parts, prepaid only)
    sms: int = 0                   # taken from sms_count now
    rows: tuple[tuple[Statement, tuple[Any, ...]], ...] = ()
    balance_epoch: int = 0
    sms_epoch: int = 0


class PartHooks(Protocol):
    """What a connector tells billing (Rule 2)."""

    def part_accepted(self, message_id: str, part_index: int) -> Deferred[None]:
        """A vendor accepted the part (submit_sm_resp OK): capture its held share."""

    def part_failed(self, message_id: str, part_index: int) -> Deferred[None]:
        """The part failed for good before any vendor accepted it: release its share."""

    def message_failed(self, message_id: str) -> Deferred[None]:
        """The message will never be sent (expired in its queue, cancelled): release all
        parts still held."""


class Billing(PartHooks, Protocol):
    currency: str                  # the system-wide currency (an account may override it)
    unbilled_channels: frozenset[str]   # billing off there ("smpp", "http"); others billed

    def account(self, uid: str) -> Account:
        """A copy of the user's quotas now (balance/sms_count None = unlimited, "ND")."""

    def currency_of(self, uid: str) -> str:
        """The user's currency, or the system-wide one."""

    def set_balance(self, uid: str, balance: Decimal | str | None) -> Deferred[Account]: ...

    def add_balance(self, uid: str, delta: Decimal | str) -> Deferred[Account]:
        """Signed delta ("+10", "-2.5"); refused on an unlimited or would-be-negative one."""

    def set_sms_count(self, uid: str, sms_count: int | None) -> Deferred[Account]: ...

    def add_sms_count(self, uid: str, delta: int) -> Deferred[Account]: ...

    def set_currency(self, uid: str, currency: str | None) -> Deferred[Account]: ...

    def reserve(self, uid: str, message_id: str, rate: Decimal, parts: int,
                early_percent: int | None, route: str, connector: str,
                channel: str) -> Reservation | Refusal:
        """Hold rate x parts and the parts' sms_count, or say why not (Rule 1)."""

    def cancel(self, reservation: Reservation) -> None:
        """The accept that carried `reservation.rows` failed: give back what it took."""

    def record(self, message_id: str) -> Deferred[BillingRecord | None]: ...

    def records(self, since: float, until: float,
                uid: str | None = None) -> Deferred[list[BillingRecord]]:
        """Records created in [since, until), oldest first; only `uid`'s when given."""
