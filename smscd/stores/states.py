# tests: tests/unit/test_store_states.py
"""A message's overall state from its parts' states (what query_sm answers).

Rules: a part with no state yet counts as ENROUTE. Any part in a final failure state makes
the message that state (the first such part's), since the customer's text did not arrive
whole. Otherwise the message is DELIVERED when every part is, ACCEPTED when every part is a
success and some only ACCEPTED, and ENROUTE while any part is still travelling.
"""
from __future__ import annotations

from typing import Iterable

from smscd.smpp.message_state import MessageState, is_final, is_success


def overall_state(part_states: Iterable[MessageState | None]) -> MessageState:
    states = [MessageState.ENROUTE if s is None else s for s in part_states]
    for s in states:
        if is_final(s) and not is_success(s):
            return s
    if states and all(s is MessageState.DELIVERED for s in states):
        return MessageState.DELIVERED
    if states and all(is_success(s) for s in states):
        return MessageState.ACCEPTED
    return MessageState.ENROUTE
