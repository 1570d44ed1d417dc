# tests: tests/integration/test_smpp_cancel_replace.py, tests/interop/test_smpplib_cancel.py
"""cancel_sm (SMPP 3.4 §4.9): one message by id, or every queued message by addresses.

Rules:
- With a message_id, the customer's own message is cancelled if the source_addr and
  destination_addr it gives (when not empty) are those of the message (§4.9: they are
  given "for verification purposes").
- With an empty message_id, source_addr is mandatory (ESME_RINVSRCADR without it) and every
  message of the customer still waiting in a connector's MT queue (not yet taken to be
  sent) whose source_addr, and destination_addr and service_type when given, match is
  cancelled. ESME_ROK if at least one was, ESME_RCANCELFAIL if none matched.
- Addresses are compared on their digits only, not TON/NPI: ESMEs commonly send 0/0 in
  cancel_sm whatever they submitted with. They are compared with the message as stored,
  i.e. after the user's default source address and MT interceptors were applied (what
  query_sm reports too).
- Candidates come from `Queues.waiting` over the MT queues of the configured connectors:
  in memory, no table scan, but O(queued messages): cancel by address is rare. After a
  restart the waiting entries carry only their payload (JSON with ASCII escapes,
  message.dump_message); one is decoded only if it holds the JSON form of the user's uid
  and of every address asked for, so a scan does not decode the whole queue.
- Each message is cancelled by `MessageLog.cancel`, its own durable change (every part
  DELETED, queue entry removed), then its billing hold is released. They are not one
  change: a crash (or a store error) part way leaves some cancelled and others not; the
  customer sees which through query_sm. A store error is answered ESME_RSYSERR.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Protocol

from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.deliveries import mt_queue
from smscd.message import Message, UnsupportedFormat, load_message
from smscd.smpp import pdu as P
from smscd.smpp.errors import InvalidPdu
from smscd.smpp.status import CommandStatus as S
from smscd.stores.billing_interface import PartHooks
from smscd.stores.interfaces import MessageLog, Queues

log = Logger(namespace="smscd.smpp_cancel")


@dataclass(frozen=True, slots=True)
class CancelCriteria:
    """What a cancel_sm asks the message(s) to match; "" matches anything."""
    source_addr: str = ""
    destination_addr: str = ""
    service_type: str = ""

    def matches(self, message: Message) -> bool:
        return ((not self.source_addr or message.source.addr == self.source_addr)
                and (not self.destination_addr
                     or message.destination.addr == self.destination_addr)
                and (not self.service_type or message.service_type == self.service_type))


def id_criteria(pdu: P.CancelSm) -> CancelCriteria:
    """A cancel by message_id verifies the addresses only (service_type selects groups)."""
    return CancelCriteria(pdu.source_addr, pdu.destination_addr)


def group_criteria(pdu: P.CancelSm) -> CancelCriteria:
    """A cancel by addresses (empty message_id); raises InvalidPdu without a source_addr."""
    if not pdu.source_addr:
        raise InvalidPdu("cancel_sm with neither message_id nor source_addr",
                         S.ESME_RINVSRCADR)
    return CancelCriteria(pdu.source_addr, pdu.destination_addr, pdu.service_type)


class QueuedMt(Protocol):
    """What cancel by address searches: the MT messages not yet taken to be sent."""

    def of_user(self, uid: str, values: tuple[str, ...] = ()) -> Iterator[tuple[str, Message]]:
        """(queue, message) for each of `uid`'s messages waiting in an MT queue; `values`
        are field values the caller wants (it still checks them): a hint to skip others."""


class WaitingMt:
    """QueuedMt over the MT queues of `connectors()` (the configured connector ids)."""

    def __init__(self, queues: Queues, connectors: Callable[[], Iterable[str]]) -> None:
        self.queues = queues
        self.connectors = connectors

    def of_user(self, uid: str, values: tuple[str, ...] = ()) -> Iterator[tuple[str, Message]]:
        needles = [json.dumps(v).encode() for v in (uid, *values)]
        for cid in self.connectors():
            queue = mt_queue(cid)
            for entry in self.queues.waiting(queue):
                message = entry.obj
                if not isinstance(message, Message):
                    payload = entry.payload
                    if not all(needle in payload for needle in needles):
                        continue
                    try:
                        message = load_message(payload)
                    except UnsupportedFormat as e:
                        log.warn("queue {queue} entry {key}: unreadable message skipped by "
                                 "cancel_sm: {error}", queue=queue, key=entry.key, error=e)
                        continue
                if message.user == uid:
                    yield queue, message


def release_hold(billing: PartHooks | None, message_id: str) -> Deferred[None]:
    """A cancelled message is never sent: give its billing hold back (a failure is logged,
    the cancellation stands)."""
    if billing is None:
        return succeed(None)
    d = billing.message_failed(message_id)
    d.addErrback(lambda f: log.failure("releasing the hold of cancelled {id} failed", f,
                                       id=message_id))
    return d


def cancel_one(message_log: MessageLog, billing: PartHooks | None, message: Message,
               queue: str) -> Deferred[bool]:
    """Cancel one queued message and release its hold; fires with whether it was cancelled."""
    def cancelled(done: bool) -> Deferred[bool] | bool:
        if not done:
            return False
        return release_hold(billing, message.id).addCallback(lambda _: True)
    return message_log.cancel(message.id, message.user, queue).addCallback(cancelled)


def cancel_matching(message_log: MessageLog, billing: PartHooks | None, queued: QueuedMt,
                    uid: str, criteria: CancelCriteria) -> Deferred[P.CancelSmResp]:
    """Cancel every waiting message of `uid` that matches; the cancel_sm_resp to answer."""
    wanted = tuple(v for v in (criteria.source_addr, criteria.destination_addr,
                               criteria.service_type) if v)
    found = [(queue, m) for queue, m in queued.of_user(uid, wanted) if criteria.matches(m)]
    if not found:
        return succeed(P.CancelSmResp(command_status=S.ESME_RCANCELFAIL))
    tries = [cancel_one(message_log, billing, m, queue) for queue, m in found]
    return DeferredList(tries, consumeErrors=True).addCallback(_group_answer, uid)


def _group_answer(results: list[tuple[bool, Any]], uid: str) -> P.CancelSmResp:
    failed = False
    for _, result in results:
        if isinstance(result, Failure):
            failed = True
            log.failure("cancel_sm by address for {uid}: one message failed", result, uid=uid)
    if failed:
        return P.CancelSmResp(command_status=S.ESME_RSYSERR)
    if any(result is True for _, result in results):
        return P.CancelSmResp()
    return P.CancelSmResp(command_status=S.ESME_RCANCELFAIL)
