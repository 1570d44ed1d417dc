# tests: tests/integration/test_connector.py
"""Counters of a connector's inbound side (receipts and MO), shown by `status()`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class InboundStats:
    receipts: int = 0
    unknown_receipts: int = 0       # unreadable, or no correlation when they arrived
    receipts_late: int = 0          # kept without a correlation, matched later
    receipts_given_up: int = 0      # kept without a correlation until their TTL
    mo: int = 0
    mo_parts: int = 0
    mo_partial: int = 0
    failures: int = 0
    last_error: str | None = None
