# tests: tests/unit/test_sim_pdus.py
"""Settings of the SMSC simulator, checked once when built (every problem at once)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal, Mapping, TypeVar

from smscd.smpp.message_state import MessageState, is_final
from smscd.smpp.session import SessionConfig

IdFormat = Literal["hex", "decimal"]


class SimulatorConfigError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid simulator configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


K = TypeVar("K")
V = TypeVar("V")


def _frozen(mapping: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class SimulatorConfig:
    """Times in seconds, rates per second; 0 disables latency, throttling, drops and MO."""

    accounts: Mapping[str, str] = field(default_factory=lambda: {"smscd": "smscd"})
    smsc_system_id: str = "SIMSMSC"          # what bind_resp carries
    latency: float = 0.0                     # before submit_sm_resp; 0 = same reactor turn
    message_id_format: IdFormat = "hex"
    first_message_id: int | None = None      # None: drawn from the seeded rng
    receipt_delay: float = 1.0
    outcomes: Mapping[MessageState, float] = field(
        default_factory=lambda: {MessageState.DELIVERED: 100.0})   # percentages
    throughput: float = 0.0                  # submits/s per system_id, 0 = unlimited
    burst: float = 0.0                       # bucket size; 0 = one second of throughput
    window: int = 1000                       # unanswered requests per bind (then 0x58)
    deliver_window: int = 10                 # our deliver_sm in flight per bind
    drop_probability: float = 0.0            # per request received, after bind
    mo_rate: float = 0.0
    mo_system_id: str | None = None          # None: the first account
    mo_source: str = "33600000001"
    mo_destination: str = "12345"
    max_held: int = 1_000_000                # receipts + MO kept per system_id
    record_submits: bool = False             # keep every accepted submit PDU in `received`
    reject: Mapping[str, int] = field(default_factory=dict)   # destination prefix -> status
    resolution: float = 0.01                 # timers batch what is due within this
    seed: int | None = None
    session: SessionConfig = SessionConfig(window=10, enquire_link_interval=60.0,
                                           session_init_timeout=30.0)

    def __post_init__(self) -> None:
        p: list[str] = []
        if not self.accounts:
            p.append("accounts: at least one system_id/password is needed")
        for sid, pw in self.accounts.items():
            if not 1 <= len(sid) <= 15 or len(pw) > 8:
                p.append(f"accounts.{sid}: system_id 1..15 and password 0..8 characters")
        for name in ("latency", "receipt_delay", "throughput", "burst", "mo_rate"):
            if getattr(self, name) < 0:
                p.append(f"{name}: must be >= 0")
        if self.message_id_format not in ("hex", "decimal"):
            p.append("message_id_format: 'hex' or 'decimal'")
        if not 0 <= self.drop_probability <= 1:
            p.append("drop_probability: must be within 0..1")
        if not self.outcomes or any(w < 0 for w in self.outcomes.values()) \
                or sum(self.outcomes.values()) <= 0:
            p.append("outcomes: percentages >= 0 with a positive sum")
        for state in self.outcomes:
            if not is_final(MessageState(state)):
                p.append(f"outcomes.{MessageState(state).name}: only final states")
        for name in ("window", "deliver_window", "max_held"):
            if getattr(self, name) < 1:
                p.append(f"{name}: must be >= 1")
        if self.resolution <= 0:
            p.append("resolution: must be > 0")
        for prefix, status in self.reject.items():
            if not prefix.isdigit() or not 0 < status <= 0xFFFFFFFF:
                p.append(f"reject.{prefix}: a prefix of digits and a status 1..0xFFFFFFFF")
        if self.mo_system_id is not None and self.mo_system_id not in self.accounts:
            p.append(f"mo_system_id: {self.mo_system_id!r} is not an account")
        if p:
            raise SimulatorConfigError(p)
        object.__setattr__(self, "accounts", _frozen(self.accounts))
        object.__setattr__(self, "outcomes", _frozen(self.outcomes))
        object.__setattr__(self, "reject", _frozen(self.reject))

    @property
    def session_config(self) -> SessionConfig:
        """The per-bind session: our deliver window and the inbound window."""
        return replace(self.session, window=self.deliver_window,
                       max_inbound_pending=self.window)

    def rejected(self, destination: str) -> int:
        """The status a submit to `destination` is refused with (the longest matching
        `reject` prefix), or 0: accepted."""
        found = [p for p in self.reject if destination.startswith(p)]
        return self.reject[max(found, key=len)] if found else 0

    @property
    def mo_account(self) -> str:
        return self.mo_system_id or next(iter(self.accounts))
