# tests: tests/integration/test_connector_pump.py, tests/integration/test_connector.py
"""MT: a connector's queue into submit_sm on its bound sessions, within window and throughput.

Rules:
- One pump per connector fills every bound session: while a session has window room and the
  token bucket a token, it sends the next part waiting in `_ready`, taking more entries from
  the queue (as many as the windows and the tokens have room for) when `_ready` is empty.
  Nothing ready: one `queues.when_ready` waiter (cancelled on stop). No token: one timer.
- What becomes of each entry (ack, retry, release, dead letter) is `EntrySettler`'s job
  (connectors/mt_entries.py); the pump only sends and routes the answers there.
- Backpressure (ESME_RTHROTTLED / ESME_RMSGQFUL) pauses all sending for throttle_pause.
- When the last session goes, or on stop, parts not sent yet go back to the queue at once
  (cancel_sm and other nodes can see them again); parts in flight are answered or fail
  within the session's response timeout.
- With billing hooks, an entry that expires in the queue releases its message's hold.
- Duplicates: a part whose answer timed out or whose bind was lost may have been accepted by
  the vendor; it is sent again (at-least-once). At most the parts in flight at that moment.
"""
from __future__ import annotations

from collections import deque
from functools import partial
from typing import Any, Callable, Protocol

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.deliveries import Deliveries, mt_queue
from smscd.message import Message, UnsupportedFormat, load_message
from smscd.smpp.commands import CommandId as C
from smscd.smpp.errors import InvalidPdu
from smscd.smpp.pdu import Pdu
from smscd.smpp.status import status_name
from smscd.smpp_protocol import DelayedCall, ReactorTime
from smscd.stores.billing_interface import PartHooks
from smscd.stores.interfaces import Correlations, MessageLog, QueueEntry, Queues
from connectors.connector_config import ConnectorConfig
from connectors.mt_entries import AcceptedHook, EntrySettler, Job, PartSend, PumpStats
from connectors.mt_pdus import Outcome, classify, submit_sm_for
from connectors.throttle import TokenBucket

log = Logger(namespace="connectors.mt_pump")
_MIN_WAIT = 0.001


class Sender(Protocol):
    """What the pump needs of a bound session; SmppProtocol is one."""
    @property
    def session(self) -> Any: ...
    def send_request(self, pdu: Pdu, context: object = None) -> int: ...


class MtPump:
    def __init__(self, cfg: ConnectorConfig, queues: Queues, messages: MessageLog,
                 correlations: Correlations, deliveries: Deliveries, clock: ReactorTime,
                 memory: int = 100_000, billing: PartHooks | None = None,
                 dlr: AcceptedHook | None = None) -> None:
        self.cfg = cfg
        self.queue = mt_queue(cfg.id)
        self._queues, self._clock = queues, clock
        self._bucket = TokenBucket(cfg.throughput, cfg.burst, clock.seconds()) \
            if cfg.throughput > 0 else None
        self.settler = EntrySettler(cfg, queues, messages, correlations, deliveries, clock,
                                    self._job_done, memory, billing, dlr)
        if billing is not None:
            queues.on_expired(self.queue, partial(_release_expired, billing))
        self.stats = self.settler.stats
        self.meter = self.settler.meter
        self.sessions: list[Sender] = []
        self.running = False
        self._ready: deque[tuple[Job, int]] = deque()
        self._jobs: set[Job] = set()
        self._waiting: Deferred[None] | None = None
        self._timer: DelayedCall | None = None
        self._paused_until = 0.0
        self._idle: list[Deferred[None]] = []
        self.observer: Callable[[], None] | None = None   # told after each entry resolves

    # -- control ----------------------------------------------------------------------------
    def start(self) -> None:
        self.running = True
        self.pump()

    def stop(self) -> Deferred[None]:
        """Stop sending; parts not sent yet go back (release); fires when every entry taken
        is resolved (answers in flight end within the session's response timeout)."""
        self.running = False
        self._cancel_waits()
        self._return_ready()
        return self.when_idle()

    def _return_ready(self) -> None:
        """Entries waiting for a session or a token go back to the queue (unless some part
        is in flight: they resolve when it is answered)."""
        ready, self._ready = self._ready, deque()
        for job, _ in ready:
            job.queued -= 1
        for job in {job for job, _ in ready}:
            self.settler.maybe_resolve(job)

    def when_idle(self) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        if self._jobs:
            self._idle.append(d)
        else:
            d.callback(None)
        return d

    @property
    def in_flight(self) -> int:
        return sum(s.session.in_flight for s in self.sessions)

    def add_session(self, sender: Sender) -> None:
        self.sessions.append(sender)
        self.pump()

    def remove_session(self, sender: Sender) -> None:
        if sender in self.sessions:
            self.sessions.remove(sender)
        if not self.sessions:                # no bind left: let others (cancel_sm, nodes) see them
            self._return_ready()

    # -- sending ----------------------------------------------------------------------------
    def pump(self) -> None:
        if not self.running or self._waiting is not None or self._timer is not None:
            return
        now = self._clock.seconds()
        if now < self._paused_until:
            self._timer = self._clock.callLater(self._paused_until - now, self._wake)
            return
        while True:
            sessions = self.sessions
            if len(sessions) == 1:                     # the common case, without max()
                sender = sessions[0]
            elif sessions:
                sender = max(sessions, key=_window_free)
            else:
                return
            if sender.session.window_free <= 0:
                return
            if not self._ready and not self._refill(now):
                return
            if self._bucket is not None and not self._bucket.try_take(now):
                # At least 1 ms: a float remainder can make wait_time() smaller than the
                # clock's resolution, and the timer would fire at the same `now` forever.
                wait = max(_MIN_WAIT, self._bucket.wait_time(now))
                self._timer = self._clock.callLater(wait, self._wake)
                return
            job, index = self._ready.popleft()
            job.queued -= 1
            self._send(sender, job, index, now)

    def _refill(self, now: float) -> bool:
        room = sum(max(0, s.session.window_free) for s in self.sessions)
        if self._bucket is not None:             # what cannot go out soon stays in the queue
            room = min(room, self._bucket.available(now))
        for entry in self._queues.take(self.queue, max(1, room)):
            job = self._job(entry)
            if job is None:
                continue
            todo = [i for i in range(len(job.message.parts)) if i not in job.settled]
            job.queued = len(todo)
            self._ready.extend((job, i) for i in todo)
            if not todo:
                self.settler.maybe_resolve(job)
        if self._ready:
            return True
        waiting = self._waiting = self._queues.when_ready(self.queue)
        waiting.addCallbacks(self._ready_again, self._wait_failed)
        return False

    def _job(self, entry: QueueEntry) -> Job | None:
        try:
            message = entry.obj if isinstance(entry.obj, Message) else load_message(entry.payload)
        except UnsupportedFormat as e:
            self.stats.unreadable += 1
            log.error("connector {id}: entry {entry} unreadable, dead-lettered: {e}",
                      id=self.cfg.id, entry=entry.id, e=e)
            self._queues.dead_letter(entry, f"unreadable: {e}").addErrback(
                self.settler.store_failed)
            return None
        job = self.settler.job(entry, message)
        self._jobs.add(job)
        return job

    def _send(self, sender: Sender, job: Job, index: int, now: float) -> None:
        if not sender.session.may_send(C.SUBMIT_SM):     # unbinding: try elsewhere
            self.remove_session(sender)
            self._ready.appendleft((job, index))
            job.queued += 1
            return
        try:
            pdu = submit_sm_for(job.message, index, self.cfg, now)
            sender.send_request(pdu, PartSend(job, index))
        except InvalidPdu as e:                           # a field the vendor cannot take
            self.settler.refused(job, index, e.status)
            self.settler.maybe_resolve(job)
            return
        job.in_flight += 1
        self.stats.sent += 1

    # -- answers ----------------------------------------------------------------------------
    def on_response(self, send: PartSend, response: Pdu) -> None:
        job, status = send.job, response.command_status
        job.in_flight -= 1
        outcome = classify(status)
        if outcome is Outcome.ACCEPTED:
            self.settler.accepted(job, send.index, getattr(response, "message_id", ""))
        elif self.settler.failed(job, send.index, outcome, status, status_name(status)):
            self._pause()
        self.settler.maybe_resolve(job)
        self.pump()

    def on_failed(self, send: PartSend, reason: str, status: int) -> None:
        """The request will never be answered (timeout, lost bind) or was nacked."""
        job = send.job
        job.in_flight -= 1
        outcome = classify(status) if reason == "generic_nack" and status else Outcome.TRANSIENT
        why = f"generic_nack {status_name(status)}" if status else reason
        if self.settler.failed(job, send.index, outcome, status or None, why):
            self._pause()
        self.settler.maybe_resolve(job)
        self.pump()

    def _pause(self) -> None:
        self._paused_until = max(self._paused_until,
                                 self._clock.seconds() + self.cfg.throttle_pause)

    def _job_done(self, job: Job) -> None:
        self._jobs.discard(job)
        if self.observer is not None:
            self.observer()
        if not self._jobs and self._idle:
            idle, self._idle = self._idle, []
            for d in idle:
                d.callback(None)

    # -- waits ------------------------------------------------------------------------------
    def _ready_again(self, _: object) -> None:
        self._waiting = None
        self.pump()

    def _wait_failed(self, f: Failure) -> None:
        self._waiting = None
        if not f.check(CancelledError):
            self.settler.store_failed(f)

    def _wake(self) -> None:
        self._timer = None
        self.pump()

    def _cancel_waits(self) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            waiting.cancel()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None


def _release_expired(billing: PartHooks, entries: list[QueueEntry]) -> None:
    for entry in entries:                    # the key of an MT entry is our message id
        billing.message_failed(entry.key)


def _window_free(sender: Sender) -> int:
    return int(sender.session.window_free)


__all__ = ["MtPump", "PartSend", "PumpStats", "Sender"]
