# tests: tests/integration/test_connector_pump.py, tests/integration/test_connector.py
"""MT: what becomes of one leased queue entry, from the vendor's answers to its parts.

Rules:
- An entry leaves the queue only once every part is settled and that is durable: accepted
  (correlation and message log written) or refused for good (part_state REJECTED told to
  deliveries). Then `ack`.
- Otherwise, once nothing of the entry is in flight or waiting to be sent: a transient
  failure (status, response timeout, lost bind) -> `retry` with a doubling delay, or, when
  max_attempts is reached, part_state UNDELIVERABLE for each unsettled part and then
  `dead_letter`. Backpressure only (ESME_RTHROTTLED / ESME_RMSGQFUL), or parts never sent
  (stop, no bind left) -> `release`: not a failed attempt.
- Settled parts are remembered in memory by entry id (bounded, oldest forgotten), so a
  retried entry sends only the parts still missing. After a restart they are sent again.
- A store or deliveries failure never acks: the entry is retried later.
- Billing (optional `billing` hooks): a part the vendor accepted is captured; a part refused
  for good, or left unsettled when the retries run out, is released. Fire-and-forget: the
  hooks are idempotent and a crash in between is settled when the store opens again.
- Level-1 HTTP callbacks (optional `dlr` hook, smscd.http_callbacks DlrCallbacks
  .part_accepted): a part of a message sent over HTTP that the vendor accepted queues its
  callback (the hook decides whether one is wanted); the entry is acked only once it is
  queued.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.deliveries import Deliveries
from smscd.message import Message
from smscd.smpp.message_state import MessageState
from smscd.smpp.receipt import normalise_submitted_id
from smscd.smpp.status import status_name
from smscd.smpp_protocol import ReactorTime
from smscd.stores.billing_interface import PartHooks
from smscd.stores.interfaces import (AcceptedParts, Correlations, MessageLog, QueueEntry,
                                     Queues)
from connectors.connector_config import ConnectorConfig
from connectors.mt_pdus import NO_STATUS_ERROR, Outcome, error_code, retry_delay
from connectors.rate_meter import RateMeter

log = Logger(namespace="connectors.mt_entries")

AcceptedHook = Callable[[Message, int, str], Deferred[None]]   # (message, part, connector)


@dataclass(slots=True)
class PumpStats:
    sent: int = 0
    accepted: int = 0
    backpressure: int = 0
    transient: int = 0
    rejected: int = 0
    acked: int = 0
    retried: int = 0
    released: int = 0
    dead_lettered: int = 0
    unreadable: int = 0
    last_error: str | None = None


class Job:
    """One leased entry and what became of its parts in this attempt."""
    __slots__ = ("entry", "message", "settled", "queued", "in_flight", "pending",
                 "backpressure", "transient", "error", "resolved", "accepted_now")

    def __init__(self, entry: QueueEntry, message: Message, settled: set[int]) -> None:
        self.entry = entry
        self.message = message
        self.settled = settled            # shared with the memory across retries
        self.queued = 0                   # parts waiting in the pump to be sent
        self.in_flight = 0
        self.pending: list[Deferred[Any]] = []
        self.backpressure = False
        self.transient: str | None = None  # why a retry is needed
        self.error = NO_STATUS_ERROR       # reported if the retries run out
        self.resolved = False
        # The one part's acceptance, written with the ack (AcceptedParts): (index,
        # vendor_id, correlation key, expires_at).
        self.accepted_now: tuple[int, str, str, float] | None = None


@dataclass(slots=True, eq=False)
class PartSend:
    """Context of one submit_sm in flight."""
    job: Job
    index: int


class EntrySettler:
    """Records answers per part and resolves each entry once (ack/retry/release/dead)."""

    def __init__(self, cfg: ConnectorConfig, queues: Queues, messages: MessageLog,
                 correlations: Correlations, deliveries: Deliveries, clock: ReactorTime,
                 on_done: Callable[[Job], None], memory: int = 100_000,
                 billing: PartHooks | None = None, dlr: AcceptedHook | None = None) -> None:
        self.cfg = cfg
        self.billing = billing
        self.dlr = dlr
        self._queues, self._messages, self._correlations = queues, messages, correlations
        self._deliveries, self._clock, self._on_done = deliveries, clock, on_done
        self._settled: OrderedDict[int, set[int]] = OrderedDict()
        self._one_change = messages if isinstance(messages, AcceptedParts) else None
        self._memory = memory
        self.stats = PumpStats()
        self.meter = RateMeter(clock)

    def job(self, entry: QueueEntry, message: Message) -> Job:
        settled = self._settled.get(entry.id)
        if settled is None:
            settled = self._settled[entry.id] = set()
            if len(self._settled) > self._memory:
                self._settled.popitem(last=False)
        return Job(entry, message, settled)

    # -- answers ----------------------------------------------------------------------------
    def accepted(self, job: Job, index: int, vendor_id: str) -> None:
        self.stats.accepted += 1
        self.meter.tick()
        job.settled.add(index)          # resending would duplicate, whatever the store says
        message_id, cfg = job.message.id, self.cfg
        if self.billing is not None:
            self.billing.part_accepted(message_id, index)
        if self.dlr is not None and job.message.origin == "http":
            job.pending.append(self.dlr(job.message, index, cfg.id))
        try:
            key = normalise_submitted_id(vendor_id, cfg.receipt_id_mode)
        except ValueError:
            key = vendor_id
            log.warn("connector {id}: vendor id {vid!r} does not fit receipt_id_mode "
                     "{mode}; its receipts may not correlate", id=cfg.id, vid=vendor_id,
                     mode=cfg.receipt_id_mode.value)
        expires = self._clock.seconds() + cfg.correlation_ttl
        if self._one_change is not None and len(job.message.parts) == 1 and not job.pending:
            job.accepted_now = (index, vendor_id, key, expires)     # see maybe_resolve
            return
        job.pending.append(self._correlations.put(cfg.id, key, message_id, index, expires))
        job.pending.append(self._messages.record_sent(message_id, index, cfg.id, vendor_id))

    def failed(self, job: Job, index: int, outcome: Outcome, status: int | None,
               why: str) -> bool:
        """A part was not accepted; True when the vendor asks us to slow down."""
        if outcome is Outcome.PERMANENT and status is not None:
            self.refused(job, index, status)
            return False
        if outcome is Outcome.BACKPRESSURE:
            self.stats.backpressure += 1
            job.backpressure = True
            return True
        self.stats.transient += 1
        job.transient = why
        if status is not None:
            job.error = error_code(status)
        self.stats.last_error = f"submit_sm: {why}"
        return False

    def refused(self, job: Job, index: int, status: int) -> None:
        self.stats.rejected += 1
        self.stats.last_error = f"submit_sm refused: {status_name(status)}"
        if self.billing is not None:
            self.billing.part_failed(job.message.id, index)
        d = self._deliveries.part_state(job.message.id, index, MessageState.REJECTED,
                                        error_code(status), None, self._clock.seconds())
        job.pending.append(d.addCallback(lambda _: job.settled.add(index)))

    # -- resolving --------------------------------------------------------------------------
    def maybe_resolve(self, job: Job) -> None:
        if job.resolved or job.in_flight or job.queued:
            return
        job.resolved = True
        accepted, job.accepted_now = job.accepted_now, None
        if accepted is not None and self._one_change is not None and not job.pending:
            # A one-part message the vendor took: its log row, its correlation and the
            # ack as one change (not three ops and a join).
            index, vendor_id, key, expires = accepted
            d = self._one_change.record_accepted(job.message.id, index, self.cfg.id,
                                                 vendor_id, key, expires, job.entry)
            d.addCallbacks(self._acked, self._finish, callbackArgs=(job,),
                           errbackArgs=(job,))
            return
        if accepted is not None:
            index, vendor_id, key, expires = accepted
            job.pending.append(self._correlations.put(self.cfg.id, key, job.message.id,
                                                      index, expires))
            job.pending.append(self._messages.record_sent(job.message.id, index, self.cfg.id,
                                                          vendor_id))
        pending, job.pending = job.pending, []
        join(pending).addCallbacks(lambda _: self._finish(None, job),
                                   lambda f: self._finish(f, job))

    def _acked(self, _: None, job: Job) -> None:
        self.stats.acked += 1
        self._settled.pop(job.entry.id, None)
        self._on_done(job)

    def _finish(self, store_failure: Failure | None, job: Job) -> None:
        entry, cfg = job.entry, self.cfg
        unsettled = [i for i in range(len(job.message.parts)) if i not in job.settled]
        if store_failure is not None:
            self.store_failed(store_failure)
            job.transient = job.transient or "store error"
        if not unsettled and store_failure is None:
            self.stats.acked += 1
            self._settled.pop(entry.id, None)
            done = self._queues.ack(entry)
        elif job.transient is None:                     # backpressure, or never sent
            self.stats.released += 1
            done = self._queues.release(entry)
        elif entry.attempts + 1 >= cfg.max_attempts:
            done = self._give_up(job, unsettled)
        else:
            self.stats.retried += 1
            done = self._queues.retry(entry, retry_delay(entry.attempts, cfg.retry_delay,
                                                         cfg.retry_max_delay), job.transient)
        done.addErrback(self.store_failed).addBoth(lambda _: self._on_done(job))

    def _give_up(self, job: Job, unsettled: list[int]) -> Deferred[None]:
        """Retries exhausted: tell deliveries about each unsettled part, then dead-letter."""
        now = self._clock.seconds()
        told = [self._deliveries.part_state(job.message.id, i, MessageState.UNDELIVERABLE,
                                            job.error, None, now) for i in unsettled]
        reason = f"{job.entry.attempts + 1} attempts: {job.transient}"

        def bury(_: object) -> Deferred[None]:
            self.stats.dead_lettered += 1
            if self.billing is not None:
                for index in unsettled:
                    self.billing.part_failed(job.message.id, index)
            self._settled.pop(job.entry.id, None)
            return self._queues.dead_letter(job.entry, reason)

        def retry_later(f: Failure) -> Deferred[None]:   # deliveries not durable: keep it
            self.store_failed(f)
            return self._queues.retry(job.entry, self.cfg.retry_max_delay,
                                      "deliveries failed")
        return join(told).addCallbacks(bury, retry_later)

    def store_failed(self, f: Failure) -> None:
        self.stats.last_error = f"store: {f.getErrorMessage()}"
        log.failure("connector {id}: store operation failed", f, id=self.cfg.id)


def join(ds: list[Deferred[Any]]) -> Deferred[None]:
    """Fires once every Deferred in `ds` has fired; fails with the first failure. A lighter
    gatherResults: no result list, one callback per Deferred (this is the per-message path)."""
    if not ds:
        return succeed(None)
    out: Deferred[None] = Deferred()
    left = [len(ds)]
    first: list[Failure] = []

    def one(result: object) -> None:
        if isinstance(result, Failure) and not first:
            first.append(result)
        left[0] -= 1
        if left[0] == 0:
            if first:
                out.errback(first[0])
            else:
                out.callback(None)
    for d in ds:
        d.addBoth(one)
    return out
