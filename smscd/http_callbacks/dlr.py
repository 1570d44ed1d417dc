# tests: tests/integration/test_http_callbacks.py
"""The hooks through which receipts of messages sent over HTTP become callbacks.

Wiring (the daemon's dispatcher and connectors call these; they decide nothing else):
- `state_publication(message, part_index, state, error, receipt, at)`: for a part's new
  state. The dispatcher returns it from its `record_state(..., publish=...)` function
  for messages with origin "http", so the callback is queued in the same durable change
  as the state (one commit, nothing lost between them).
- `part_accepted(message, part_index, connector)`: the vendor accepted a part
  (submit_sm_resp ESME_ROK); queues the level-1 callback when one is wanted. The
  connector adds its Deferred to what must be durable before it acks its queue entry.
Both do nothing for messages that asked for no callback (dlr_calls.py decides).
The queued calls are sent by `CallbackSender` (sender.py) from queue `http:dlr`.
"""
from __future__ import annotations

from twisted.internet.defer import Deferred, succeed

from smscd.message import Message
from smscd.smpp.message_state import MessageState
from smscd.smpp.receipt import Receipt
from smscd.stores.interfaces import Publication, Queues

from .calls import Call, dump_call
from .dlr_calls import for_state, level_one
from .sender import DLR_QUEUE


def _publication(call: Call) -> Publication:
    return Publication(DLR_QUEUE, call.ref, dump_call(call), call)


class DlrCallbacks:
    def __init__(self, queues: Queues) -> None:
        self.queues = queues

    def state_publication(self, message: Message, part_index: int, state: MessageState,
                          error: str, receipt: Receipt | None, at: float
                          ) -> Publication | None:
        call = for_state(message, part_index, state, error, receipt, at)
        return None if call is None else _publication(call)

    def part_accepted(self, message: Message, part_index: int, connector: str
                      ) -> Deferred[None]:
        call = level_one(message, part_index, "ESME_ROK", connector)
        if call is None:
            return succeed(None)
        p = _publication(call)
        return self.queues.publish(p.queue, p.key, p.payload, p.obj).addCallback(
            lambda _: None)
