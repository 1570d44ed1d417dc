# tests: tests/unit/test_codec.py
"""Mandatory-field kinds of the PDU schema, and the helpers that attach them to PDU classes.

A PDU class declares each body field once, in wire order, with one of these kinds
as dataclass metadata; the generic codec (codec.py) reads that declaration.
Sizes follow the spec: a C-octet string's `max_len` counts its NUL.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .status import CommandStatus as S

SMPP_KIND = "smpp"


@dataclass(frozen=True, slots=True)
class CStr:
    """NUL-terminated ASCII; `bad` is the status for a value that is too long."""
    max_len: int
    bad: int = S.ESME_RSYSERR


@dataclass(frozen=True, slots=True)
class TimeStr:
    """C1|17: empty, or exactly 16 characters (3.4 §7.1); `bad` is RINVSCHED or RINVEXPIRY."""
    bad: int


@dataclass(frozen=True, slots=True)
class Int:
    """Unsigned big-endian integer of 1, 2 or 4 octets."""
    size: int


@dataclass(frozen=True, slots=True)
class ShortMessage:
    """sm_length (1 octet) then that many octets; the length is derived, not stored."""


@dataclass(frozen=True, slots=True)
class DestAddresses:
    """submit_multi: number_of_dests then SME addresses (flag 1) or list names (flag 2)."""


@dataclass(frozen=True, slots=True)
class UnsuccessSmes:
    """submit_multi_resp: no_unsuccess then (ton, npi, address, error_status_code) each."""


FieldKind = CStr | TimeStr | Int | ShortMessage | DestAddresses | UnsuccessSmes


def cstr(max_len: int, bad: int = S.ESME_RSYSERR) -> Any:
    return field(default="", metadata={SMPP_KIND: CStr(max_len, bad)})


def time_str(bad: int) -> Any:
    return field(default="", metadata={SMPP_KIND: TimeStr(bad)})


def int_field(size: int, default: int = 0) -> Any:
    return field(default=default, metadata={SMPP_KIND: Int(size)})


def short_message() -> Any:
    return field(default=b"", metadata={SMPP_KIND: ShortMessage()})


def dest_addresses() -> Any:
    return field(default=(), metadata={SMPP_KIND: DestAddresses()})


def unsuccess_smes() -> Any:
    return field(default=(), metadata={SMPP_KIND: UnsuccessSmes()})
