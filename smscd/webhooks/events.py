# tests: tests/unit/test_rest_webhook_events.py
"""Webhook events as data: their JSON bodies and the queue entries that carry them.

Rules:
- Event types: message.accepted, message.delivered, message.failed, message.inbound.
  A part's final state is delivered when it is a success (DELIVERED, ACCEPTED), failed
  otherwise; intermediate states send nothing.
- Body: {"id": "evt_...", "type", "created_at" (epoch s), "data": {...}} as compact JSON,
  made once when the event happens, so every retry sends the same octets.
- A queue entry (versioned JSON, never pickle) holds the endpoint id, the event type,
  the subject (the message or inbound id: deliveries of one subject to one endpoint keep
  their order) and the body. Its queue key is `<endpoint>:<subject>:<event id>`.
Pure: no Twisted.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from smscd.message import Message, UnsupportedFormat, load_versioned
from smscd.smpp.message_state import MessageState, is_final, is_success

ACCEPTED, DELIVERED, FAILED, INBOUND = ("message.accepted", "message.delivered",
                                        "message.failed", "message.inbound")
EVENT_TYPES = (ACCEPTED, DELIVERED, FAILED, INBOUND)
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Delivery:
    endpoint: str
    event: str
    subject: str
    body: bytes

    @property
    def key(self) -> str:
        return f"{self.endpoint}:{self.subject}:{json.loads(self.body)['id']}"


def event_body(event: str, data: dict[str, Any], now: float) -> bytes:
    d = {"id": "evt_" + os.urandom(12).hex(), "type": event, "created_at": now, "data": data}
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def accepted_data(message: Message) -> dict[str, Any]:
    return {"message_id": message.id, "to": message.destination.addr,
            "from": message.source.addr, "parts": len(message.parts)}


def state_event(state: MessageState) -> str | None:
    """The event a part's new state sends, if any."""
    if not is_final(state):
        return None
    return DELIVERED if is_success(state) else FAILED


def state_data(message: Message, part_index: int, state: MessageState, error: str
               ) -> dict[str, Any]:
    return {"message_id": message.id, "to": message.destination.addr,
            "part": part_index, "parts": len(message.parts), "state": state.name,
            "error": error}


def dump_delivery(d: Delivery) -> bytes:
    return json.dumps({"v": FORMAT_VERSION, "endpoint": d.endpoint, "event": d.event,
                       "subject": d.subject, "body": d.body.decode("utf-8")},
                      separators=(",", ":")).encode("utf-8")


def load_delivery(data: bytes) -> Delivery:
    d = load_versioned(data, FORMAT_VERSION, "webhook delivery")
    endpoint, event, subject, body = (d.get(k) for k in ("endpoint", "event", "subject",
                                                         "body"))
    if not (isinstance(endpoint, str) and isinstance(event, str) and isinstance(subject, str)
            and isinstance(body, str)):
        raise UnsupportedFormat("malformed webhook delivery")
    return Delivery(endpoint, event, subject, body.encode("utf-8"))
