# tests: tests/integration/test_mt_pipeline.py, tests/integration/test_routing_e2e.py
"""The one MT submission pipeline that SMPP and HTTP ingress share.

Order (Jasmin's, ../shared/reference/jasmin.md §3.3): credentials (authorizations, value
filters, default source: checked by each ingress, since they differ per channel) -> MT
interceptors -> route -> throughput -> billing hold -> durable accept (message log +
connector queue + hold in one commit). Only when the accept fires does the caller answer
its customer with our id.

A refusal is `Refused`: the SMPP status and the HTTP status/text the two ingresses answer
with, and the field it is about, so that neither ingress re-decides an error.

Rules of `Pipeline` (the implementation):
- One snapshot (`rules.snapshot`) is read per message (per batch for `submit_many`) and
  used for the whole decision.
- Interceptors: a reject action or a Python interceptor's Reject is that refusal; a
  Python interceptor runs (off the reactor, smscd/python_interceptors.py) only when the
  matching rule names one; what an interceptor changed goes back on the message.
- Route: no route is ESME_RINVDSTADR / 412 "No route found"; a failover or round-robin
  route with none of its connectors up is ESME_RSUBMITFAIL / 412 "Failover route has no
  bound connectors". Static and default routes queue for their connector, up or not. For
  failover and round-robin routes the others that were up go on the message as
  extra["candidates"] ("c2,c3", best first) for the connectors' fall-through.
- Throughput: one token bucket per user and channel (smpps_throughput / http_throughput),
  with `burst_seconds` of burst, shared by all the user's binds and requests; empty is
  ESME_RTHROTTLED / 403 "User throughput exceeded".
- Billing: rate x parts held by `billing.reserve` (early_percent honoured); a Refusal is
  its statuses and text. The hold's rows commit with the message; a failed accept
  cancels the hold and answers ESME_RSYSERR / 500.
- `quote` runs interceptors and routing only (Jasmin's /rate), nothing is taken.
- `submit_many` (REST): every message is decided as `submit` decides it (refusals per
  message), holds are taken in message order, then ONE `MessageLog.accept_many` carries
  every accepted message with its hold's rows, plus what the caller's `extra` computes
  from the outcomes (an idempotency record, webhook events): all of it is durable
  together or not at all. A failed accept cancels every hold and refuses every accepted
  message with NOT_QUEUED. No Deferred per message unless a Python interceptor runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, NoReturn, Protocol, Sequence, Union, cast

from twisted.internet.defer import Deferred, fail, gatherResults, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from connectors.fallthrough import CANDIDATES
from connectors.throttle import TokenBucket
from routing.interceptor_actions import Reject
from routing.interceptors import Interception, intercept
from routing.routable import Routable
from routing.routes import STATIC, MTRoute
from routing.selection import RoundRobinCursor, candidates
from routing.table import pick_route
from smscd.billing import Refusal
from smscd.deliveries import mt_queue
from smscd.message import Message
from smscd.routables import apply_mt, mt_routable
from smscd.smpp.status import CommandStatus as S
from smscd.stores.billing_interface import Billing
from smscd.stores.interfaces import (Acceptance, AlsoRows, MessageLog, Publication,
                                     UserRecord)
from smscd.submission import routed

log = Logger(namespace="smscd.mt_pipeline")

SMPP, HTTP = "smpp", "http"


class Refused(Exception):
    def __init__(self, smpp_status: int, http_status: int, text: str,
                 field: str | None = None) -> None:
        super().__init__(text)
        self.smpp_status = smpp_status
        self.http_status = http_status
        self.text = text
        self.field = field


@dataclass(frozen=True, slots=True)
class Quote:
    """What sending a message would cost, without sending it (HTTP /rate)."""
    connector: str
    rate: Decimal                    # per part
    parts: int
    amount: Decimal
    currency: str


class MtPipeline(Protocol):
    def submit(self, user: UserRecord, message: Message, channel: str) -> Deferred[str]:
        """Fires with our message id once the message is durably queued; fails with
        Refused. `channel` is "smpp" or "http"."""

    def quote(self, user: UserRecord, message: Message) -> Deferred[Quote]:
        """The route's price for `message` (fails with Refused, as submit would)."""


Outcome = Union[str, Refused]     # our message id, or why it was refused
# What the caller commits with the accepted messages, computed from every outcome and
# the accepted messages as they are stored (intercepted, routed).
Extra = Callable[[Sequence[Outcome], Sequence[Message]],
                 tuple[AlsoRows, Sequence[Publication]]]


class BatchPipeline(MtPipeline, Protocol):
    def submit_many(self, user: UserRecord, messages: Sequence[Message], channel: str,
                    extra: Extra | None = None) -> Deferred[list[Outcome]]:
        """Each message's outcome, in order, once the accepted ones are durable together
        with what `extra` (called only if one is accepted) returns."""


NO_ROUTE = (int(S.ESME_RINVDSTADR), 412, "No route found")
NONE_UP = (int(S.ESME_RSUBMITFAIL), 412, "Failover route has no bound connectors")
THROTTLED = (int(S.ESME_RTHROTTLED), 403, "User throughput exceeded")
NOT_QUEUED = (int(S.ESME_RSYSERR), 500,
              "Cannot send submit_sm, check SMPPClientManagerPB log file for details")


class Rules(Protocol):
    """The provisioning service as the pipeline reads it: the live RoutingSnapshot."""
    @property
    def snapshot(self) -> Any: ...


class Clock(Protocol):
    def seconds(self) -> float: ...


class PythonRunner(Protocol):
    def run(self, interception: Interception) -> Deferred[Interception]: ...


@dataclass(frozen=True, slots=True)
class _Decision:
    """Where a message goes: the message as intercepted, its route and connectors."""
    message: Message
    order: int
    route: MTRoute
    connector: str
    others: tuple[str, ...]


def _refused(reason: tuple[int, int, str], field: str | None = None) -> Refused:
    return Refused(reason[0], reason[1], reason[2], field)


def _rejected(reject: Reject) -> Refused:
    return Refused(reject.smpp_status, reject.http_status, reject.message)


def _as_refusal(e: BaseException, message_id: str, failure: Failure | None = None
                ) -> Refused:
    """A Refused as it is; anything else (a bug, a Python interceptor that broke) is
    logged and refuses this message only, as NOT_QUEUED."""
    if isinstance(e, Refused):
        return e
    log.failure("deciding message {id} failed; refused", failure or Failure(e),
                id=message_id)
    return _refused(NOT_QUEUED)


class Pipeline:
    """MtPipeline over the provisioning snapshot, the live connectors, billing and the log."""

    def __init__(self, rules: Rules, is_up: Callable[[str], bool], log_: MessageLog,
                 billing: Billing, clock: Clock, python: PythonRunner | None = None,
                 burst_seconds: float = 1.0,
                 on_intercepted: Callable[[str, bool], None] | None = None) -> None:
        """`on_intercepted(channel, refused)`: told of every message an interceptor rule
        matched (jCli's interceptor_count / interceptor_error_count); only this pipeline
        knows."""
        self.rules = rules
        self.on_intercepted = on_intercepted
        self.is_up = is_up
        self.log = log_
        self.billing = billing
        self.clock = clock
        self.python = python
        self.burst_seconds = burst_seconds
        self.cursor = RoundRobinCursor()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    # --- MtPipeline ----------------------------------------------------------------------
    def submit(self, user: UserRecord, message: Message, channel: str) -> Deferred[str]:
        try:
            decided = self._decide(user, message, channel)
            if isinstance(decided, Deferred):
                return decided.addCallback(self._accept, user, channel)
            return self._accept(decided, user, channel)
        except Exception:
            return fail()

    def quote(self, user: UserRecord, message: Message) -> Deferred[Quote]:
        try:
            decided = self._decide(user, message, HTTP)
            if isinstance(decided, Deferred):
                return decided.addCallback(self._quote, user)
            return succeed(self._quote(decided, user))
        except Exception:
            return fail()

    # --- steps ---------------------------------------------------------------------------
    def _decide(self, user: UserRecord, message: Message, channel: str,
                snapshot: Any = None, at: datetime | None = None
                ) -> _Decision | Deferred[_Decision]:
        """Interceptors then route; Refused, or a Deferred when a Python interceptor runs.
        `snapshot` and `at`: what submit_many read once for all its messages."""
        if snapshot is None:
            snapshot = self.rules.snapshot
        if at is None:
            at = datetime.fromtimestamp(self.clock.seconds(), timezone.utc)
        icpt, table = snapshot.mt_interceptors, snapshot.mt_routes
        r = mt_routable(message, user, channel, at, icpt.needs_content or table.needs_content)
        if not icpt.entries:
            return self._route(table, message, r)
        interception = intercept(icpt, r)
        if (interception.python is None or interception.rejection is not None
                or self.python is None):
            return self._intercepted(interception, table, message, r, channel)
        return self.python.run(interception).addCallback(
            self._intercepted, table, message, r, channel)

    def _intercepted(self, interception: Interception, table: Any, message: Message,
                     before: Routable, channel: str) -> _Decision:
        """After the interceptors (and the Python one, if it ran): count, refuse or route."""
        if interception.order is not None and self.on_intercepted is not None:
            self.on_intercepted(channel, interception.rejection is not None)
        if interception.rejection is not None:
            raise _rejected(interception.rejection)
        after = interception.routable
        if after is not before:
            message = apply_mt(message, before, after)
        return self._route(table, message, after)

    def _route(self, table: Any, message: Message, r: Routable) -> _Decision:
        hit = pick_route(table, r)
        if hit is None:
            raise _refused(NO_ROUTE)
        order, route = hit[0], cast(MTRoute, hit[1])
        if route.selection == STATIC:
            return _Decision(message, order, route, route.connectors[0], ())
        found = candidates(route, self.is_up, self.cursor)
        if not found:
            raise _refused(NONE_UP)
        return _Decision(message, order, route, found[0], tuple(found[1:]))

    def _hold(self, decision: _Decision, user: UserRecord, channel: str
              ) -> tuple[Message, str, Any]:
        """Throughput then billing: (the routed message, its queue, its reservation)."""
        message = decision.message
        bucket = self._bucket(user, channel)
        if bucket is not None and not bucket.try_take(self.clock.seconds()):
            raise _refused(THROTTLED)
        early = user.mt_credential.quota.early_percent
        reservation = self.billing.reserve(
            user.uid, message.id, decision.route.rate, len(message.parts),
            None if early is None else int(early), str(decision.order), decision.connector,
            channel)
        if isinstance(reservation, Refusal):
            raise Refused(reservation.smpp_status, reservation.http_status, reservation.text,
                          reservation.field)
        if decision.others:
            message.extra[CANDIDATES] = ",".join(decision.others)
        return routed(message, decision.connector), mt_queue(decision.connector), reservation

    def _accept(self, decision: _Decision, user: UserRecord, channel: str) -> Deferred[str]:
        message, queue, reservation = self._hold(decision, user, channel)
        d = (self.log.accept(message, queue, also=reservation.rows) if reservation.rows
             else self.log.accept(message, queue))
        return d.addCallbacks(lambda _: message.id, self._not_accepted,
                              errbackArgs=(message.id, reservation))

    def _not_accepted(self, failure: Failure, message_id: str, reservation: Any
                      ) -> NoReturn:
        self.billing.cancel(reservation)
        log.failure("storing message {id} failed; refused", failure, id=message_id)
        raise _refused(NOT_QUEUED)

    # --- many at once --------------------------------------------------------------------
    def submit_many(self, user: UserRecord, messages: Sequence[Message], channel: str,
                    extra: Extra | None = None) -> Deferred[list[Outcome]]:
        snapshot = self.rules.snapshot              # one for the whole batch
        at = datetime.fromtimestamp(self.clock.seconds(), timezone.utc)
        decided = [self._decide_one(user, m, channel, snapshot, at) for m in messages]
        waits = [d for d in decided if isinstance(d, Deferred)]
        if not waits:
            return self._accept_many(cast(list[_Decision | Refused], decided), user,
                                     channel, extra)
        done: Deferred[list[_Decision | Refused]] = gatherResults(waits)
        return done.addCallback(self._resolved, decided, user, channel, extra)

    def _decide_one(self, user: UserRecord, message: Message, channel: str, snapshot: Any,
                    at: datetime) -> _Decision | Refused | Deferred[_Decision | Refused]:
        try:
            decided = self._decide(user, message, channel, snapshot, at)
        except Exception as e:
            return _as_refusal(e, message.id)
        if isinstance(decided, Deferred):
            return decided.addErrback(lambda f: _as_refusal(f.value, message.id, f))
        return decided

    def _resolved(self, results: list[_Decision | Refused], decided: list[Any],
                  user: UserRecord, channel: str, extra: Extra | None
                  ) -> Deferred[list[Outcome]]:
        late = iter(results)
        return self._accept_many([next(late) if isinstance(d, Deferred) else d
                                  for d in decided], user, channel, extra)

    def _accept_many(self, decided: list[_Decision | Refused], user: UserRecord,
                     channel: str, extra: Extra | None) -> Deferred[list[Outcome]]:
        outcomes: list[Outcome] = []
        accepts: list[Acceptance] = []
        holds: list[Any] = []
        for decision in decided:
            if isinstance(decision, Refused):
                outcomes.append(decision)
                continue
            try:
                message, queue, reservation = self._hold(decision, user, channel)
            except Exception as e:
                outcomes.append(_as_refusal(e, decision.message.id))
                continue
            outcomes.append(message.id)
            accepts.append(Acceptance(message, queue, reservation.rows))
            holds.append(reservation)
        if not accepts:
            return succeed(outcomes)
        try:
            also, publish = ((), ()) if extra is None else extra(
                outcomes, [a.message for a in accepts])
            d = self.log.accept_many(accepts, also, publish)
        except Exception:
            d = fail()
        return d.addCallbacks(lambda _: outcomes, self._none_accepted,
                              errbackArgs=(outcomes, holds))

    def _none_accepted(self, failure: Failure, outcomes: list[Outcome], holds: list[Any]
                       ) -> list[Outcome]:
        for reservation in holds:
            self.billing.cancel(reservation)
        log.failure("storing {n} messages failed; refused", failure, n=len(holds))
        return [_refused(NOT_QUEUED) if isinstance(o, str) else o for o in outcomes]

    def _quote(self, decision: _Decision, user: UserRecord) -> Quote:
        rate = decision.route.rate
        parts = len(decision.message.parts)
        return Quote(decision.connector, rate, parts, rate * parts,
                     self.billing.currency_of(user.uid))

    def _bucket(self, user: UserRecord, channel: str) -> TokenBucket | None:
        """The user's bucket for `channel`, re-made when its rate changed; None: unlimited."""
        quota = user.mt_credential.quota
        rate = quota.smpps_throughput if channel == SMPP else quota.http_throughput
        key = (user.uid, channel)
        if not rate:
            self._buckets.pop(key, None)
            return None
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate != rate:
            bucket = TokenBucket(rate, max(1.0, rate * self.burst_seconds),
                                 self.clock.seconds())
            self._buckets[key] = bucket
        return bucket
