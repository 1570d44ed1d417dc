# tests: tests/integration/test_mo_durable.py
"""Parts of a multipart MO kept until the rest of the message arrives, as a typing.Protocol.

Why: a vendor that got deliver_sm_resp OK for a part never sends it again, so the part
must outlive a restart until its message is whole (or given up on).
Rules:
- Like every store change (interfaces.py rule 1), `add` and `settle` fire once durable.
- A group is named by the caller (`group`, unique per message: never reused for a later
  message with the same reference), so settling one never touches another's parts.
- `settle` deletes a group's parts and publishes what they became (the whole MO, or what
  arrived, for the customer) as ONE durable change: a crash leaves either the parts or the
  publication, never both and never neither.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from twisted.internet.defer import Deferred

from smscd.stores.interfaces import Publication


@dataclass(frozen=True, slots=True)
class StoredPart:
    group: str
    seq: int
    body: bytes
    received_at: float


class MoParts(Protocol):
    def load(self, connector: str) -> Deferred[list[StoredPart]]:
        """Every part kept for `connector`, oldest first (at start, to rebuild the groups)."""

    def add(self, connector: str, group: str, seq: int, body: bytes,
            received_at: float) -> Deferred[None]:
        """Keep one part; a part already kept (same group and seq) stays as it was."""

    def settle(self, connector: str, group: str,
               publication: Publication | None = None) -> Deferred[None]:
        """Delete the group's parts and publish `publication`, as one durable change."""
