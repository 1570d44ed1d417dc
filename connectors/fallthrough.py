# tests: tests/unit/test_fallthrough_hops.py, tests/integration/test_fallthrough.py
"""Failover fall-through after enqueue (issue 5; Jasmin #1219 has none).

A failover or round-robin route queues a message for its first connector that is up and
puts the others that were up on it, best first, as extra["candidates"] ("c2,c3"). If that
connector then goes down before sending, the message would wait for it. `FallThrough`
moves such messages on.

Rules:
- A connector is down while `is_up(cid)` is false (no bound session, stopped, or removed:
  connectors that `connectors()` no longer lists stay watched). Down for `after` seconds
  (time from the injected clock, checked every `every` seconds): each entry of its queue
  that is not leased and has candidates moves to the first candidate that is up now; its
  candidates then lose that one and those before it, and the old connector is never added
  back. An entry with no candidate up stays and goes when its connector comes back.
- Never lose or duplicate: a move is one durable change (MessageLog.reroute: queue entry
  and the log's body, with its new connector, in one commit); an entry leased (in flight)
  is not moved; an entry of which a part may already have gone to a vendor (several parts,
  or attempts > 0) moves only if the message log shows no part sent or settled.
- The billing hold stays with the message: it is keyed by message id, captured when the
  new connector's vendor takes a part.
- One log line per connector and pass that moved something. `after` 0 disables it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Protocol

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.deliveries import mt_queue
from smscd.message import Message, UnsupportedFormat, load_message
from smscd.smpp_protocol import DelayedCall, ReactorTime
from smscd.stores.interfaces import MessageRecord, QueueEntry

log = Logger(namespace="connectors.fallthrough")

CANDIDATES = "candidates"        # the extra key smscd.mt_pipeline writes (one constant)


class WaitingQueues(Protocol):
    """What fall-through needs of smscd.stores.interfaces.Queues."""
    def waiting(self, queue: str) -> list[QueueEntry]: ...


class Rerouting(Protocol):
    """What fall-through needs of smscd.stores.interfaces.MessageLog."""
    def find(self, message_id: str) -> Deferred[MessageRecord | None]: ...

    def reroute(self, message: Message, queue: str, to_queue: str,
                delay: float = 0.0) -> Deferred[bool]: ...


@dataclass(frozen=True, slots=True)
class Hop:
    """Where a message queued for a down connector goes, and the message as it goes."""
    connector: str
    message: Message


def candidates_of(message: Message) -> list[str]:
    return [c for c in message.extra.get(CANDIDATES, "").split(",") if c]


def next_hop(message: Message, down: str, is_up: Callable[[str], bool]) -> Hop | None:
    """The first candidate that is up, with the message rerouted to it; None: it stays."""
    found = candidates_of(message)
    for i, cid in enumerate(found):
        if cid != down and is_up(cid):
            rest = [c for c in found[i + 1:] if c != down]
            extra = {k: v for k, v in message.extra.items() if k != CANDIDATES}
            if rest:
                extra[CANDIDATES] = ",".join(rest)
            return Hop(cid, replace(message, connector=cid, extra=extra))
    return None


def may_have_gone(entry: QueueEntry, message: Message) -> bool:
    """Could a part of this entry have reached a vendor? A one-part entry never tried has
    not: a part the vendor took is acked, or retried (attempts + 1) if the ack failed."""
    return len(message.parts) > 1 or entry.attempts > 0


def nothing_sent(record: MessageRecord | None) -> bool:
    return record is not None and all(p.sent_at is None and p.state is None
                                      for p in record.parts)


class FallThrough:
    """Start it with the daemon: `FallThrough(...).start()`; `stop()` at shutdown."""

    def __init__(self, queues: WaitingQueues, messages: Rerouting,
                 is_up: Callable[[str], bool], connectors: Callable[[], Iterable[str]],
                 clock: ReactorTime, after: float = 10.0, every: float = 1.0) -> None:
        if after < 0 or every <= 0:
            raise ValueError(f"fallthrough_after must be >= 0 (got {after}) and the check "
                             f"interval > 0 (got {every})")
        self.queues, self.messages, self.is_up = queues, messages, is_up
        self.connectors, self.clock = connectors, clock
        self.after, self.every = after, every
        self.moved = 0                                   # messages moved since start
        self._watched: set[str] = set()
        self._down_since: dict[str, float] = {}
        self._busy: set[str] = set()
        self._timer: DelayedCall | None = None
        self._no_candidates: dict[str, set[int]] = {}    # entry ids never to look at again

    def start(self) -> None:
        if self.after > 0 and self._timer is None:
            self._timer = self.clock.callLater(self.every, self._tick)

    def stop(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def _tick(self) -> None:
        self._timer = self.clock.callLater(self.every, self._tick)
        self.check().addErrback(self._failed)

    def _failed(self, f: Failure) -> None:
        log.failure("fall-through check failed", f)

    def check(self) -> Deferred[int]:
        """One pass over every watched connector; fires with how many messages moved."""
        if self.after <= 0:
            return succeed(0)
        now = self.clock.seconds()
        self._watched.update(self.connectors())
        due = []
        for cid in sorted(self._watched):
            if self.is_up(cid):
                self._down_since.pop(cid, None)
                self._no_candidates.pop(cid, None)
                continue
            since = self._down_since.setdefault(cid, now)
            if now - since >= self.after and cid not in self._busy:
                due.append(cid)
        if not due:
            return succeed(0)
        d = gatherResults([Deferred.fromCoroutine(self._drain(cid, now - self._down_since[cid]))
                           for cid in due], consumeErrors=True)
        return d.addCallback(sum)

    async def _drain(self, cid: str, down_for: float) -> int:
        self._busy.add(cid)
        try:
            return await self._move_all(cid, down_for)
        finally:
            self._busy.discard(cid)

    async def _move_all(self, cid: str, down_for: float) -> int:
        queue = mt_queue(cid)
        entries = self.queues.waiting(queue)
        skip = self._no_candidates[cid] = \
            self._no_candidates.get(cid, set()) & {e.id for e in entries}
        chosen: list[tuple[QueueEntry, Message]] = []
        check: list[tuple[QueueEntry, Message]] = []
        for entry in entries:
            if entry.id in skip:
                continue
            message = _message(entry)
            if message is None or not candidates_of(message):
                skip.add(entry.id)          # unreadable ones are the pump's to dead-letter
                continue
            if next_hop(message, cid, self.is_up) is not None:
                (check if may_have_gone(entry, message) else chosen).append((entry, message))
        if check:
            records = await gatherResults([self.messages.find(m.id) for _, m in check])
            chosen += [em for em, record in zip(check, records) if nothing_sent(record)]
        moves: list[Deferred[Any]] = []
        targets: list[str] = []
        now = self.clock.seconds()
        for entry, message in chosen:       # candidates may have gone down meanwhile
            hop = next_hop(message, cid, self.is_up)
            if hop is None:
                continue
            delay = 0.0 if message.schedule_at is None else message.schedule_at - now
            d = self.messages.reroute(hop.message, queue, mt_queue(hop.connector),
                                      max(0.0, delay))
            moves.append(d.addErrback(self._not_moved, message.id, cid))
            targets.append(hop.connector)
        done = await gatherResults(moves) if moves else []
        per = Counter(t for t, ok in zip(targets, done) if ok)
        n = sum(per.values())
        if n:
            self.moved += n
            log.info("connector {cid} down for {secs:.0f} s: {n} queued messages fell "
                     "through to {to}", cid=cid, secs=down_for, n=n,
                     to=", ".join(f"{t} ({k})" for t, k in sorted(per.items())))
        return n


    def _not_moved(self, f: Failure, message_id: str, cid: str) -> bool:
        log.failure("moving message {id} off connector {cid} failed; it stays", f,
                    id=message_id, cid=cid)
        return False


def _message(entry: QueueEntry) -> Message | None:
    if isinstance(entry.obj, Message):
        return entry.obj
    try:
        return load_message(entry.payload)
    except UnsupportedFormat:
        return None


__all__ = ["FallThrough", "Hop", "next_hop"]
