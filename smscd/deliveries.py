# tests: tests/integration/test_dispatch.py
"""The seam between vendor connectors and the customer side.

Connectors learn what became of a part (a vendor receipt, or a permanent failure) and
receive inbound messages; the customer side records them and gets them to the right
customer (its SMPP bind now or later, or an HTTP callback later on). Connectors call
this interface and nothing else of the customer side; every method fires once the
outcome is durable, so a connector answers its vendor (deliver_sm_resp) only then.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from twisted.internet.defer import Deferred

from smscd.message import Address
from smscd.smpp.message_state import MessageState
from smscd.smpp.receipt import Receipt
from smscd.smpp.tlv import Tlv
from smscd.stores.interfaces import QueueEntry

MT_QUEUE_PREFIX = "mt:"          # + connector id: what a connector sends upstream
DELIVER_QUEUE_PREFIX = "deliver:"  # + username: receipts and MO waiting for a customer bind


def mt_queue(connector_id: str) -> str:
    return MT_QUEUE_PREFIX + connector_id


def deliver_queue(username: str) -> str:
    return DELIVER_QUEUE_PREFIX + username


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """An MO as received from a vendor, already reassembled when it came in parts."""
    id: str
    connector: str
    source: Address
    destination: Address
    data_coding: int
    esm_class: int          # UDHI cleared once reassembled
    content: bytes
    received_at: float
    tlvs: tuple[Tlv, ...] = ()


class Deliveries(Protocol):
    def part_state(self, message_id: str, part_index: int, state: MessageState, error: str,
                   receipt: Receipt | None, at: float) -> Deferred[None]:
        """Part `part_index` of our message reached `state`: from the vendor's `receipt`, or
        (receipt None) a permanent failure decided here. Records it in the message log and,
        when the customer's registered_delivery asks for it, queues the customer's receipt.
        Unknown message ids are logged and dropped (fires all the same)."""

    def inbound(self, mo: InboundMessage) -> Deferred[None]:
        """Route an MO to a customer and queue it for delivery; fires once durable.
        An MO no rule claims is kept as a dead letter for an operator, never dropped."""


@runtime_checkable
class AckingDeliveries(Protocol):
    """Optional, for Deliveries whose MessageLog shares one transaction with the queue
    holding the entry (the embedded store: `MessageLog.record_state(..., ack=)`): a kept
    vendor receipt settled as ONE durable change. Pending receipts use it when their
    Deliveries has it; otherwise they call part_state, then ack (a crash between the two
    gives the customer that receipt twice)."""

    def part_state_and_ack(self, message_id: str, part_index: int, state: MessageState,
                           error: str, receipt: Receipt | None, at: float,
                           ack: QueueEntry) -> Deferred[None]:
        """`part_state`, with the ack of the leased entry `ack` in the same durable change;
        if it fails nothing of it is durable and `ack` is still leased to the caller."""
