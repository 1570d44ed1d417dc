# tests: tests/unit/test_billing.py
"""Money rules for rates, balances, holds and billing records: pure, decimal.Decimal only.

Why: Jasmin bills in floats, charges at acceptance and never refunds, and keeps balances in
memory that a crash rolls back by up to a minute. Here the rules are plain functions over
small objects; the store (smscd/stores/sqlite_billing.py) makes them durable.

Rules (jasmin.md §5.4, §6.2):
- Amounts are `Decimal`, never float: a rate is parsed from text (`parse_amount`), and
  arithmetic is exact (no rounding; SQL stores `str(amount)`).
- A message costs `quote(rate, parts)` = rate x parts. At acceptance the whole cost is held:
  a limited balance must cover it and a limited sms_count must cover the parts, otherwise
  `Refusal` (ESME_RSYSERR on SMPP, 403 on Jasmin's /send, 402 on the REST API).
- `early_percent` p (1..100): per part, rate x p / 100 is captured at acceptance (Jasmin's
  early decrement); the rest of the part stays held.
- balance None = unlimited (Jasmin shows "ND"): the balance never moves, but the record still
  says what the message cost (postpaid invoicing from the CSV export). Rate 0: nothing to pay.
  sms_count None = unlimited; otherwise one per part, held at acceptance.
- A part is held (H), then captured (C: the vendor took it; what Jasmin charges at
  submit_sm_resp) or released (R: it failed for good before a vendor took it: its held share
  and its sms come back, a refund Jasmin never gives). A settled part never changes again,
  so hooks are idempotent, and a failure receipt after capture refunds nothing (the vendor
  charged us too, and Jasmin does the same).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum

from smscd.smpp.status import CommandStatus

ZERO = Decimal(0)
HELD, CAPTURED, RELEASED = "H", "C", "R"

# Jasmin's /send answer when charging fails (jasmin.md §4.3); the REST API says 402.
CHARGE_FAILED_TEXT = "Cannot charge submit_sm, check RouterPB log file for details"


class RecordState(str, Enum):
    """A billing record as a whole, from the states of its parts."""
    HELD = "held"              # some part still held
    CAPTURED = "captured"      # every part captured
    RELEASED = "released"      # every part released
    PARTIAL = "partial"        # settled: some parts captured, some released


def parse_amount(value: object, name: str = "amount") -> Decimal:
    """A finite, non-negative decimal from text, int or Decimal; a float is refused (it is
    already rounded). The error names `name`."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"{name}: expected a decimal string, not {type(value).__name__} "
                         f"{value!r}")
    try:
        amount = Decimal(value) if isinstance(value, (str, int, Decimal)) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValueError(f"{name}: {value!r} is not a decimal number")
    if amount < 0:
        raise ValueError(f"{name}: {value!r} is negative")
    return amount


def parse_delta(value: object, name: str = "delta") -> Decimal:
    """A finite signed decimal (for `add_balance`)."""
    if isinstance(value, str) and value.startswith("-"):
        return -parse_amount(value[1:], name)
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value < 0:
        return -parse_amount(-value, name)
    return parse_amount(value.lstrip("+") if isinstance(value, str) else value, name)


def quote(rate: Decimal, parts: int) -> Decimal:
    """What a message of `parts` parts costs on a route of `rate` per part (HTTP /rate)."""
    if parts < 0:
        raise ValueError(f"parts: {parts} is negative")
    return parse_amount(rate, "rate") * parts


def early_share(rate: Decimal, early_percent: int | None) -> Decimal:
    """The part of `rate` captured at acceptance."""
    if early_percent is None:
        return ZERO
    if not 1 <= early_percent <= 100:
        raise ValueError(f"early_percent: {early_percent} is not within 1..100")
    return rate * early_percent / 100


@dataclass(slots=True)
class Account:
    """A user's quotas as billing holds them (in memory, authoritative)."""
    uid: str
    balance: Decimal | None = None      # None: unlimited
    sms_count: int | None = None        # None: unlimited
    currency: str | None = None         # None: the system-wide currency
    # Bumped when an operator sets the value: a reservation made before gives nothing back
    # on cancel, since the set already replaced what it had taken.
    balance_epoch: int = 0
    sms_epoch: int = 0


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a message cannot be charged, and what each ingress answers."""
    field: str                 # "balance" or "sms_count"
    reason: str                # for logs and the REST body: the numbers involved
    smpp_status: int = int(CommandStatus.ESME_RSYSERR)
    http_status: int = 403     # Jasmin's /send
    rest_status: int = 402     # the REST API: Payment Required
    text: str = CHARGE_FAILED_TEXT


@dataclass(frozen=True, slots=True)
class BillingRecord:
    """What one message cost and what became of the money (a snapshot of a `Hold`)."""
    message_id: str
    uid: str
    route: str
    connector: str
    channel: str
    parts: int
    rate: Decimal
    early_percent: int | None
    currency: str
    prepaid: bool              # the balance moved (limited balance)
    counts_sms: bool           # the sms_count moved (limited sms_count)
    part_states: str           # one of H/C/R per part
    amount: Decimal
    held: Decimal
    captured: Decimal
    released: Decimal
    state: RecordState
    created_at: float
    updated_at: float


@dataclass(slots=True, eq=False)
class Hold:
    """The billing of one message in memory while some part is held."""
    message_id: str
    uid: str
    route: str
    connector: str
    channel: str
    rate: Decimal
    early_percent: int | None
    currency: str
    prepaid: bool
    counts_sms: bool
    part_states: list[str]
    created_at: float
    updated_at: float
    early: Decimal = ZERO            # per part, captured at acceptance (early_share)

    @property
    def parts(self) -> int:
        return len(self.part_states)

    def settle(self, index: int, to: str, at: float) -> Decimal | None:
        """Part `index` held -> `to` (CAPTURED or RELEASED); the share that left the hold,
        or None if the part was settled already or does not exist (idempotent)."""
        if not 0 <= index < len(self.part_states) or self.part_states[index] != HELD:
            return None
        self.part_states[index] = to
        self.updated_at = at
        return self.rate - self.early

    def amounts(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """(amount, held, captured, released): held + captured + released == amount."""
        states, rate, early = self.part_states, self.rate, self.early
        n = len(states)
        n_held, n_captured = states.count(HELD), states.count(CAPTURED)
        rest = rate - early
        return (rate * n, rest * n_held, early * n + rest * n_captured,
                rest * (n - n_held - n_captured))

    def record(self) -> BillingRecord:
        amount, held, captured, released = self.amounts()
        return BillingRecord(
            self.message_id, self.uid, self.route, self.connector, self.channel,
            len(self.part_states), self.rate, self.early_percent, self.currency, self.prepaid,
            self.counts_sms, "".join(self.part_states), amount, held, captured, released,
            record_state(self.part_states), self.created_at, self.updated_at)


def record_state(part_states: list[str] | str) -> RecordState:
    if HELD in part_states:
        return RecordState.HELD
    if RELEASED not in part_states:
        return RecordState.CAPTURED
    return RecordState.RELEASED if CAPTURED not in part_states else RecordState.PARTIAL


def hold_for(account: Account, message_id: str, rate: Decimal, parts: int,
             early_percent: int | None, route: str, connector: str, channel: str,
             currency: str, now: float) -> Hold | Refusal | None:
    """Decide acceptance: a `Hold` to place (the caller takes `charge(hold)` from the
    account), a `Refusal`, or None when nothing is to be billed (rate 0 and no sms_count).
    Jasmin's HTTP rule for every channel: balance >= rate x parts, sms_count >= parts."""
    if parts < 1:
        raise ValueError(f"parts: {parts} is not a positive number of parts")
    if type(rate) is not Decimal or not rate.is_finite() or rate < 0:
        rate = parse_amount(rate, "rate")       # the error names the field
    cost = rate * parts
    early = early_share(rate, early_percent)    # validates early_percent
    if account.sms_count is not None and account.sms_count < parts:
        return Refusal("sms_count", f"sms_count {account.sms_count} < {parts} part(s)")
    if account.balance is not None and account.balance < cost:
        return Refusal("balance", f"balance {account.balance} < {cost} "
                                  f"(rate {rate} x {parts} part(s))")
    prepaid = account.balance is not None and cost > 0
    counts_sms = account.sms_count is not None
    if cost == 0 and not counts_sms:
        return None
    return Hold(message_id, account.uid, route, connector, channel, rate, early_percent,
                currency, prepaid, counts_sms, [HELD] * parts, now, now, early)


def charge(hold: Hold) -> tuple[Decimal, int]:
    """(balance, sms_count) the hold takes from its account at acceptance."""
    return (hold.rate * hold.parts if hold.prepaid else ZERO,
            hold.parts if hold.counts_sms else 0)


def refund(hold: Hold, share: Decimal) -> tuple[Decimal, int]:
    """(balance, sms_count) a released part gives back, `share` from `Hold.settle`."""
    return (share if hold.prepaid else ZERO, 1 if hold.counts_sms else 0)
