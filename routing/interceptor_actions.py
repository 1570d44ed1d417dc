# tests: tests/unit/test_interceptors_actions.py
"""Declarative interceptor actions: what an operator may change on a message without code.

These fill the role of Jasmin's interception scripts for their common uses (override the
sender, force TON/NPI, enforce or strip DLR requests, tag for routing, add a TLV, rewrite
an address, refuse a message: ../shared/reference/jasmin.md §5.5) as plain data.

Rules:
- An action is a frozen value, checked when it is built: a bad regex, replacement, TLV tag,
  TON/NPI or status raises RuleError naming the field. `apply` never raises.
- `apply(r)` returns a new Routable (dataclasses.replace) and mutates nothing; an action
  that changes nothing returns `r` itself, so callers can tell with `is`.
- Regexes are compiled once, at construction; a rewrite replaces every match (`re.sub`).
- `Reject` changes nothing: the interceptor table stops at it and refuses the message
  with its SMPP status, HTTP status and message. A Python interceptor may return one too.
- `describe()` is the short Jasmin-like repr used in `mtinterceptor -l` listings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import ClassVar, Union

from smscd.smpp.status import CommandStatus

from .errors import RuleError
from .routable import Routable

SOURCE = "source"
DESTINATION = "destination"
SIDES = (SOURCE, DESTINATION)


def _octet_problems(name: str, value: int | None) -> list[str]:
    if value is not None and not 0 <= value <= 255:
        return [f"{name}: expected 0..255, got {value}"]
    return []


@dataclass(frozen=True, slots=True)
class SetSource:
    """Override the sender (Jasmin's sc_override_senderid.py), or default it when empty."""
    address: str
    only_if_empty: bool = False
    name: ClassVar[str] = "set_source"

    def __post_init__(self) -> None:
        if not self.address:
            raise RuleError(["address: must not be empty"])

    def apply(self, r: Routable) -> Routable:
        if r.source_addr == self.address or (self.only_if_empty and r.source_addr):
            return r
        return replace(r, source_addr=self.address)

    def describe(self) -> str:
        return f"<SA:= ({self.address}{', if empty' if self.only_if_empty else ''})>"


@dataclass(frozen=True, slots=True)
class ForceTonNpi:
    """Force the TON and/or NPI of the source or destination address (sc_ton_npi.py)."""
    side: str                       # SOURCE or DESTINATION
    ton: int | None = None
    npi: int | None = None
    name: ClassVar[str] = "force_ton_npi"

    def __post_init__(self) -> None:
        problems = []
        if self.side not in SIDES:
            problems.append(f"side: expected {SOURCE!r} or {DESTINATION!r}, got {self.side!r}")
        if self.ton is None and self.npi is None:
            problems.append("ton: set ton, npi or both")
        problems += _octet_problems("ton", self.ton) + _octet_problems("npi", self.npi)
        if problems:
            raise RuleError(problems)

    def apply(self, r: Routable) -> Routable:
        if self.side == SOURCE:
            ton, npi = self._forced(r.source_ton, r.source_npi)
            if (ton, npi) == (r.source_ton, r.source_npi):
                return r
            return replace(r, source_ton=ton, source_npi=npi)
        ton, npi = self._forced(r.dest_ton, r.dest_npi)
        if (ton, npi) == (r.dest_ton, r.dest_npi):
            return r
        return replace(r, dest_ton=ton, dest_npi=npi)

    def _forced(self, ton: int, npi: int) -> tuple[int, int]:
        return (ton if self.ton is None else self.ton, npi if self.npi is None else self.npi)

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in (("ton", self.ton), ("npi", self.npi)) if v is not None]
        return f"<TON/NPI ({self.side} {' '.join(parts)})>"


@dataclass(frozen=True, slots=True)
class ForceRegisteredDelivery:
    """Set registered_delivery (SMPP 3.4 §5.2.17), e.g. 1 to enforce a final receipt."""
    value: int
    name: ClassVar[str] = "force_registered_delivery"

    def __post_init__(self) -> None:
        if problems := _octet_problems("value", self.value):
            raise RuleError(problems)

    def apply(self, r: Routable) -> Routable:
        if r.registered_delivery == self.value:
            return r
        return replace(r, registered_delivery=self.value)

    def describe(self) -> str:
        return f"<RD:= ({self.value})>"


@dataclass(frozen=True, slots=True)
class StripRegisteredDelivery:
    """Ask for no receipt at all (registered_delivery 0)."""
    name: ClassVar[str] = "strip_registered_delivery"

    def apply(self, r: Routable) -> Routable:
        return replace(r, registered_delivery=0) if r.registered_delivery else r

    def describe(self) -> str:
        return "<RD strip>"


def _check_tags(tags: frozenset[str]) -> None:
    if not tags or not all(isinstance(t, str) and t for t in tags):
        raise RuleError(["tags: expected one or more non-empty tags"])


@dataclass(frozen=True, slots=True)
class AddTags:
    """Tag the message, typically for a TagFilter in the route table (sc_hlr_lookup.py)."""
    tags: frozenset[str]
    name: ClassVar[str] = "add_tags"

    def __post_init__(self) -> None:
        _check_tags(self.tags)

    def apply(self, r: Routable) -> Routable:
        return r if self.tags <= r.tags else replace(r, tags=r.tags | self.tags)

    def describe(self) -> str:
        return f"<TG+ ({','.join(sorted(self.tags))})>"


@dataclass(frozen=True, slots=True)
class RemoveTags:
    tags: frozenset[str]
    name: ClassVar[str] = "remove_tags"

    def __post_init__(self) -> None:
        _check_tags(self.tags)

    def apply(self, r: Routable) -> Routable:
        return replace(r, tags=r.tags - self.tags) if self.tags & r.tags else r

    def describe(self) -> str:
        return f"<TG- ({','.join(sorted(self.tags))})>"


@dataclass(frozen=True, slots=True)
class SetTlv:
    """Set an optional parameter (replacing one with the same tag) that goes upstream.

    Tags are 16-bit (SMPP 3.4 §5.3.2); 0x1400..0x3FFF is the vendor-specific range.
    """
    tag: int
    value: bytes
    name: ClassVar[str] = "set_tlv"

    def __post_init__(self) -> None:
        problems = []
        if not 0x0001 <= self.tag <= 0xFFFF:
            problems.append(f"tag: expected 0x0001..0xffff, got {self.tag:#x}")
        if len(self.value) > 0xFFFF:
            problems.append(f"value: {len(self.value)} octets, at most 65535")
        if problems:
            raise RuleError(problems)

    def apply(self, r: Routable) -> Routable:
        if (self.tag, self.value) in r.tlvs:
            return r
        kept = tuple(t for t in r.tlvs if t[0] != self.tag)
        return replace(r, tlvs=kept + ((self.tag, self.value),))

    def describe(self) -> str:
        return f"<TLV ({self.tag:#06x}={self.value.hex()})>"


@dataclass(frozen=True, slots=True)
class RewriteAddress:
    """Rewrite the source or destination address: every match of `pattern` becomes
    `replacement` (re.sub; `\\1` and `\\g<name>` refer to groups)."""
    side: str                       # SOURCE or DESTINATION
    pattern: str
    replacement: str
    _re: re.Pattern[str] = field(init=False, repr=False, compare=False)
    name: ClassVar[str] = "rewrite"

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise RuleError([f"side: expected {SOURCE!r} or {DESTINATION!r}, "
                             f"got {self.side!r}"])
        try:
            compiled = re.compile(self.pattern)
        except re.error as e:
            raise RuleError([f"pattern: not a valid regular expression ({e})"]) from None
        try:
            compiled.sub(self.replacement, "")      # parses the template, groups included
        except re.error as e:
            raise RuleError([f"replacement: {e}"]) from None
        object.__setattr__(self, "_re", compiled)

    def apply(self, r: Routable) -> Routable:
        if self.side == SOURCE:
            source = self._re.sub(self.replacement, r.source_addr)
            return r if source == r.source_addr else replace(r, source_addr=source)
        destination = self._re.sub(self.replacement, r.destination_addr)
        if destination == r.destination_addr:
            return r
        return replace(r, destination_addr=destination)

    def describe(self) -> str:
        label = "SA" if self.side == SOURCE else "DA"
        return f"<{label}~ ({self.pattern} -> {self.replacement})>"


@dataclass(frozen=True, slots=True)
class Reject:
    """Refuse the message. Jasmin's interceptor defaults: HTTP 520 and the text
    `Interception specific error code N` when the operator gives neither."""
    smpp_status: int
    http_status: int = 520
    message: str = ""
    name: ClassVar[str] = "reject"

    def __post_init__(self) -> None:
        problems = []
        if self.smpp_status == CommandStatus.ESME_ROK:
            problems.append("smpp_status: ESME_ROK (0) does not refuse a message")
        elif not 0 < self.smpp_status <= 0xFFFFFFFF:
            problems.append(f"smpp_status: expected 1..0xffffffff, got {self.smpp_status}")
        if not 400 <= self.http_status <= 599:
            problems.append(f"http_status: expected an error code 400..599, "
                            f"got {self.http_status}")
        if problems:
            raise RuleError(problems)
        if not self.message:
            object.__setattr__(self, "message",
                               f"Interception specific error code {self.http_status}")

    def apply(self, r: Routable) -> Routable:
        return r

    def describe(self) -> str:
        try:
            status = CommandStatus(self.smpp_status).name
        except ValueError:
            status = f"{self.smpp_status:#x}"
        return f"<REJECT ({status}, http={self.http_status}, {self.message})>"


Action = Union[SetSource, ForceTonNpi, ForceRegisteredDelivery, StripRegisteredDelivery,
               AddTags, RemoveTags, SetTlv, RewriteAddress, Reject]

ACTION_TYPES: dict[str, type[Action]] = {cls.name: cls for cls in (
    SetSource, ForceTonNpi, ForceRegisteredDelivery, StripRegisteredDelivery, AddTags,
    RemoveTags, SetTlv, RewriteAddress, Reject)}
