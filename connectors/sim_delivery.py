# tests: tests/integration/test_simulator.py
"""Timing and delivery for the SMSC simulator: batched delays, and the outbox that takes
receipts and MO to an account's receiver binds (or holds them until one binds).

Rules:
- One timer per queue, never one per message: `DelayQueue` keeps items in due order (the
  delay is constant, so arrival order is due order) and hands over everything due within
  `resolution` in one batch.
- The outbox prefers the bind a message came from, then any RX/TRX bind of the same
  system_id in turn, within each bind's window; otherwise it holds, up to `max_held` per
  system_id (oldest dropped and counted). A deliver_sm that fails (timeout, lost bind) or
  gets a transient error is held again: receipts are at-least-once, like a real SMSC.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

from smscd.smpp.pdu import DeliverSm, Pdu
from smscd.smpp.session import RequestFailed, ResponseReceived, State
from smscd.smpp.status import is_transient
from smscd.smpp_protocol import DelayedCall, ReactorTime, SmppProtocol

T = TypeVar("T")
_RECEIVING = frozenset({State.BOUND_RX, State.BOUND_TRX})
RECEIPT, MO = "receipt", "mo"


@dataclass(slots=True)
class SimulatorStats:
    """Counters; cheap to bump on the hot path, read by tests and the benchmark."""
    binds: int = 0
    bind_failures: int = 0
    submit_sm: int = 0
    data_sm: int = 0
    submit_multi: int = 0
    other_requests: int = 0
    throttled: int = 0
    rejected: int = 0                        # refused by `reject` prefix
    dropped_connections: int = 0
    receipts_sent: int = 0
    receipts_acked: int = 0
    mo_sent: int = 0
    mo_acked: int = 0
    deliver_errors: int = 0
    deliver_failures: int = 0
    held_dropped: int = 0


@dataclass
class Received:
    """What the simulator accepted: counts per destination, and every submit PDU when
    `record_submits` is on. Throttled and dropped requests are not in here."""
    by_destination: dict[str, int] = field(default_factory=dict)
    submits: list[Pdu] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_destination.values())


class RateTicker:
    """Calls `emit(n)` on one timer per tick, with n what `rate` per second allows so far."""

    def __init__(self, clock: ReactorTime, resolution: float,
                 emit: Callable[[int], None]) -> None:
        self._clock = clock
        self._resolution = resolution
        self._emit = emit
        self._rate = 0.0
        self._credit = 0.0
        self._last = 0.0
        self._timer: DelayedCall | None = None

    def start(self, rate: float) -> None:
        self.stop()
        self._rate, self._credit, self._last = rate, 0.0, self._clock.seconds()
        self._timer = self._clock.callLater(self._interval, self._tick)

    def stop(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    @property
    def _interval(self) -> float:
        return max(self._resolution, 1.0 / self._rate)

    def _tick(self) -> None:
        now = self._clock.seconds()
        self._credit += (now - self._last) * self._rate
        self._last = now
        count = int(self._credit)
        self._credit -= count
        self._timer = self._clock.callLater(self._interval, self._tick)
        if count:
            self._emit(count)


class DelayQueue(Generic[T]):
    """Items become due `delay` seconds after `push`; one timer delivers them in batches."""

    def __init__(self, clock: ReactorTime, delay: float, resolution: float,
                 on_due: Callable[[list[T]], None]) -> None:
        self._clock = clock
        self._delay = delay
        self._resolution = resolution
        self._on_due = on_due
        self._items: deque[tuple[float, T]] = deque()
        self._timer: DelayedCall | None = None

    def __len__(self) -> int:
        return len(self._items)

    def push(self, item: T, now: float) -> None:
        self._items.append((now + self._delay, item))
        if self._timer is None:
            self._timer = self._clock.callLater(self._delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        now = self._clock.seconds()
        limit = now + self._resolution
        items = self._items
        batch: list[T] = []
        while items and items[0][0] <= limit:
            batch.append(items.popleft()[1])
        if items:
            self._timer = self._clock.callLater(max(items[0][0] - now, self._resolution),
                                                self._fire)
        self._on_due(batch)

    def clear(self) -> None:
        self._items.clear()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None


class Outbox:
    """Receipts and MO waiting for, or travelling to, an account's receiver binds."""

    def __init__(self, max_held: int, stats: SimulatorStats) -> None:
        self._max_held = max_held
        self._stats = stats
        self._held: dict[str, deque[tuple[DeliverSm, str]]] = {}
        self._receivers: dict[str, list[SmppProtocol]] = {}
        self._turn = 0

    def held(self, system_id: str | None = None) -> int:
        """Messages waiting for a receiver bind (of one system_id, or all)."""
        if system_id is not None:
            return len(self._held.get(system_id, ()))
        return sum(map(len, self._held.values()))

    def receivers(self, system_id: str) -> list[SmppProtocol]:
        return list(self._receivers.get(system_id, ()))

    def add_receiver(self, proto: SmppProtocol) -> None:
        self._receivers.setdefault(proto.session.system_id, []).append(proto)
        self.drain(proto.session.system_id)

    def remove(self, proto: SmppProtocol) -> None:
        binds = self._receivers.get(proto.session.system_id)
        if binds and proto in binds:
            binds.remove(proto)

    def offer(self, system_id: str, pdu: DeliverSm, kind: str,
              prefer: object = None) -> None:
        """Send now if a receiver can take it, else hold it."""
        if isinstance(prefer, SmppProtocol) and not self._held.get(system_id):
            session = prefer.session
            if session.state in _RECEIVING and session.window_free > 0:
                self._send(prefer, pdu, kind)
                return
        self._hold(system_id, pdu, kind, front=False)
        self.drain(system_id)

    def drain(self, system_id: str) -> None:
        queue = self._held.get(system_id)
        binds = self._receivers.get(system_id)
        if not queue or not binds:
            return
        self._turn += 1
        count = len(binds)
        for i in range(count):
            proto = binds[(self._turn + i) % count]
            session = proto.session
            if session.state not in _RECEIVING:
                continue
            free = session.window_free
            while free > 0 and queue:
                pdu, kind = queue.popleft()
                self._send(proto, pdu, kind)
                free -= 1
            if not queue:
                return

    def on_response(self, proto: SmppProtocol, event: ResponseReceived) -> None:
        kind = event.context
        status = event.response.command_status
        stats = self._stats
        if status == 0:
            if kind == RECEIPT:
                stats.receipts_acked += 1
            else:
                stats.mo_acked += 1
        else:
            stats.deliver_errors += 1
            if is_transient(status) and isinstance(event.request, DeliverSm):
                self._hold(proto.session.system_id, event.request, str(kind), front=True)
        if self._held.get(proto.session.system_id):
            self.drain(proto.session.system_id)

    def on_failed(self, proto: SmppProtocol, event: RequestFailed) -> None:
        self._stats.deliver_failures += 1
        if isinstance(event.request, DeliverSm):
            self._hold(proto.session.system_id, event.request, str(event.context), front=True)
        self.drain(proto.session.system_id)

    def clear(self) -> None:
        self._held.clear()
        self._receivers.clear()

    def _send(self, proto: SmppProtocol, pdu: DeliverSm, kind: str) -> None:
        proto.send_request(pdu, kind)
        if kind == RECEIPT:
            self._stats.receipts_sent += 1
        else:
            self._stats.mo_sent += 1

    def _hold(self, system_id: str, pdu: DeliverSm, kind: str, front: bool) -> None:
        queue = self._held.setdefault(system_id, deque())
        if front:
            queue.appendleft((pdu, kind))
        else:
            queue.append((pdu, kind))
        while len(queue) > self._max_held:
            queue.pop() if front else queue.popleft()
            self._stats.held_dropped += 1
