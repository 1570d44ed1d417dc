# tests: tests/integration/test_simulator.py
"""The SMSC simulator: a realistic upstream for the demo, the tests and the benchmarks.

Rules:
- It is an SmppHandler on the shared adapter (smscd.smpp_protocol): the session does the
  SMPP rules, this module only decides answers. One handler object serves every bind.
- Hot path (submit_sm): no log line, no Deferred, no timer per PDU. Answers with latency
  and receipts wait in `DelayQueue`s (one timer each); a drop is one rng draw, only when
  drops are configured. Everything random comes from one seeded `random.Random`.
- `reject` (destination prefix -> status, e.g. {"999": 0x0B}) answers submit_sm and
  data_sm to those destinations with that status: a vendor's refusal, on demand.
- What it received is recorded for tests (`received`), counters in `stats`; `until`
  gives a Deferred that fires when a condition on the simulator becomes true.
"""
from __future__ import annotations

import hmac
import random
from typing import Any, Callable

from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.python.failure import Failure

from smscd.smpp import pdu as P
from smscd.smpp.commands import CommandId as C
from smscd.smpp.message_state import wants_receipt
from smscd.smpp.session import Event, RequestFailed, RequestReceived, ResponseReceived, State
from smscd.smpp.split import ReferenceAllocator, SplitMethod
from smscd.smpp.status import CommandStatus as S
from smscd.smpp_protocol import SmppFactory, SmppProtocol, server_factory
from connectors.conditions import Conditions
from connectors.sim_config import SimulatorConfig
from connectors.sim_delivery import (MO, RECEIPT, DelayQueue, Outbox, RateTicker, Received,
                                    SimulatorStats)
from connectors.sim_pdus import (MessageIds, OutcomePicker, PendingReceipt, ReceiptBuilder,
                                 mo_pdus, receipt_text)
from connectors.throttle import TokenBucket

_RECEIPT_BITS = 0x13       # registered_delivery: final / failure / success, intermediate
_FAILS: dict[int, int] = {
    C.QUERY_SM: S.ESME_RQUERYFAIL, C.CANCEL_SM: S.ESME_RCANCELFAIL,
    C.REPLACE_SM: S.ESME_RREPLACEFAIL, C.BROADCAST_SM: S.ESME_RBCASTFAIL,
    C.QUERY_BROADCAST_SM: S.ESME_RBCASTQUERYFAIL,
    C.CANCEL_BROADCAST_SM: S.ESME_RBCASTCANCELFAIL}
_RECEIVING = frozenset({State.BOUND_RX, State.BOUND_TRX})


class SimulatorService:
    """An SMSC on one TCP port; control it from Python (tests, demo, benchmarks)."""

    def __init__(self, config: SimulatorConfig, reactor: Any,
                 rng: random.Random | None = None) -> None:
        self.config = config
        self.reactor = reactor
        self.rng = rng if rng is not None else random.Random(config.seed)
        self.stats = SimulatorStats()
        self.received = Received()
        self.connections: set[SmppProtocol] = set()
        first = config.first_message_id
        self._ids = MessageIds(config.message_id_format, first if first is not None
                               else self.rng.randrange(0x10000000, 0x7FFFFFFF))
        self._outcomes = OutcomePicker(config.outcomes, self.rng)
        self._outbox = Outbox(config.max_held, self.stats)
        self._receipt_builder = ReceiptBuilder()
        self._answers: DelayQueue[tuple[SmppProtocol, P.Pdu, P.Pdu]] = DelayQueue(
            reactor, config.latency, min(config.resolution, config.latency or 1.0),
            self._answer_batch)
        self._receipts: DelayQueue[PendingReceipt] = DelayQueue(
            reactor, config.receipt_delay, config.resolution, self._receipt_batch)
        self._buckets: dict[str, TokenBucket] = {}
        self._refs = {m: ReferenceAllocator.for_method(m, rng=self.rng) for m in SplitMethod}
        self._conditions: Conditions[SimulatorService] = Conditions(self)
        self._port: Any = None
        self._mo_ticker = RateTicker(reactor, config.resolution, self._mo_batch)
        self._mo_count = 0

    # -- control API --------------------------------------------------------------------------
    def factory(self) -> SmppFactory:
        """The protocol factory for any listening endpoint (TLS, UNIX, a test transport)."""
        return server_factory(lambda: self, self.reactor, self.config.session_config)

    async def start(self, port: int = 0, interface: str = "127.0.0.1") -> int:
        """Listen on TCP; returns the port (pass 0 for any free one)."""
        self._port = await TCP4ServerEndpoint(self.reactor, port, interface=interface
                                              ).listen(self.factory())  # type: ignore[arg-type]
        if self.config.mo_rate > 0:
            self.start_mo(self.config.mo_rate)
        return int(self._port.getHost().port)

    async def stop(self) -> None:
        """Stop listening, close every bind, forget timers and held messages."""
        if self._port is not None:
            await self._port.stopListening()
            self._port = None
        self.stop_mo()
        closing = [proto.when_closed() for proto in self.connections]
        for proto in list(self.connections):
            proto.close()
        await DeferredList(closing)
        self._answers.clear()
        self._receipts.clear()
        self._outbox.clear()

    def drop_all(self, system_id: str | None = None) -> int:
        """Drop connections at once, without unbind (all, or one account's); returns how many."""
        victims = [p for p in self.connections
                   if system_id is None or p.session.system_id == system_id]
        for proto in victims:
            self._drop(proto)
        return len(victims)

    def inject_mo(self, content: str | bytes, source: str | None = None,
                  destination: str | None = None, system_id: str | None = None,
                  data_coding: int = 0, method: SplitMethod = SplitMethod.UDH8
                  ) -> list[P.DeliverSm]:
        """Send an MO (one deliver_sm, or parts tied by `method` when it is long) to the
        account's receiver binds, or hold it until one binds; returns the PDUs."""
        pdus = mo_pdus(content, source or self.config.mo_source,
                       destination or self.config.mo_destination, data_coding, method,
                       self._refs[method])
        account = system_id or self.config.mo_account
        for pdu in pdus:
            self._outbox.offer(account, pdu, MO)
        self._conditions.check()
        return pdus

    def start_mo(self, rate: float) -> None:
        """Inject MO ("MO 1", "MO 2", ...) at `rate` per second until `stop_mo`."""
        self._mo_ticker.start(rate)

    def stop_mo(self) -> None:
        self._mo_ticker.stop()

    def held(self, system_id: str | None = None) -> int:
        """Receipts and MO waiting for a receiver bind."""
        return self._outbox.held(system_id)

    @property
    def receipts_pending(self) -> int:
        """Receipts not yet due."""
        return len(self._receipts)

    def bound(self, system_id: str | None = None) -> list[SmppProtocol]:
        return [p for p in self.connections if p.session.bound
                and (system_id is None or p.session.system_id == system_id)]

    def until(self, condition: Callable[[SimulatorService], bool]) -> Deferred[None]:
        """A Deferred that fires once `condition(self)` holds (checked after every change)."""
        return self._conditions.until(condition)

    # -- SmppHandler ----------------------------------------------------------------------------
    def connected(self, proto: SmppProtocol) -> None:
        self.connections.add(proto)

    def disconnected(self, proto: SmppProtocol, reason: Failure) -> None:
        self.connections.discard(proto)
        self._outbox.remove(proto)
        self._conditions.check()

    def event(self, proto: SmppProtocol, event: Event) -> None:
        if type(event) is RequestReceived:
            pdu = event.pdu
            cid = pdu.command_id
            if self.config.drop_probability and proto.session.bound \
                    and self.rng.random() < self.config.drop_probability:
                self._drop(proto)
            elif cid == C.SUBMIT_SM:
                self._on_submit(proto, pdu)                   # type: ignore[arg-type]
            elif cid in (C.BIND_TRANSCEIVER, C.BIND_TRANSMITTER, C.BIND_RECEIVER):
                self._on_bind(proto, pdu)
            elif cid == C.DATA_SM:
                self._on_data_sm(proto, pdu)                  # type: ignore[arg-type]
            elif cid == C.SUBMIT_MULTI:
                self._on_submit_multi(proto, pdu)             # type: ignore[arg-type]
            else:
                self.stats.other_requests += 1
                resp_class = P.RESPONSE_CLASS.get(cid)
                if resp_class is not None:
                    proto.respond(pdu, resp_class(command_status=_FAILS.get(
                        cid, S.ESME_RINVCMDID)))
        elif isinstance(event, ResponseReceived):
            self._outbox.on_response(proto, event)
        elif isinstance(event, RequestFailed):
            self._outbox.on_failed(proto, event)
        self._conditions.check()

    # -- requests -------------------------------------------------------------------------------
    def _on_bind(self, proto: SmppProtocol, pdu: P.Pdu) -> None:
        assert isinstance(pdu, P.BindTransceiver | P.BindTransmitter | P.BindReceiver)
        expected = self.config.accounts.get(pdu.system_id)
        if expected is None:
            status = S.ESME_RINVSYSID
        elif not hmac.compare_digest(expected.encode(), pdu.password.encode()):
            status = S.ESME_RINVPASWD
        else:
            proto.accept_bind(pdu, self.config.smsc_system_id)
            self.stats.binds += 1
            if proto.session.state in _RECEIVING:
                self._outbox.add_receiver(proto)
            return
        self.stats.bind_failures += 1
        proto.reject_bind(pdu, status)

    def _admit(self, proto: SmppProtocol, pdu: P.Pdu, now: float) -> bool:
        """Throttle per system_id; answers 0x58 itself when over the rate."""
        sid = proto.session.system_id
        bucket = self._buckets.get(sid)
        if bucket is None:
            rate = self.config.throughput
            bucket = self._buckets[sid] = TokenBucket(rate, self.config.burst or max(1, rate),
                                                      now)
        if bucket.try_take(now):
            return True
        self.stats.throttled += 1
        resp_class = P.RESPONSE_CLASS[pdu.command_id]
        proto.respond(pdu, resp_class(command_status=S.ESME_RTHROTTLED))
        return False

    def _on_submit(self, proto: SmppProtocol, pdu: P.SubmitSm) -> None:
        now = self.reactor.seconds()
        if self.config.throughput and not self._admit(proto, pdu, now):
            return
        self.stats.submit_sm += 1
        if self.config.reject and self._refused(proto, pdu, pdu.destination_addr):
            return
        message_id = self._accept(pdu, pdu.destination_addr)
        self._answer(proto, pdu, P.SubmitSmResp(message_id=message_id), now)
        if pdu.registered_delivery & _RECEIPT_BITS:
            self._plan_receipt(proto, pdu, message_id, pdu.destination_addr,
                               pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.short_message, now)

    def _on_data_sm(self, proto: SmppProtocol, pdu: P.DataSm) -> None:
        now = self.reactor.seconds()
        if self.config.throughput and not self._admit(proto, pdu, now):
            return
        self.stats.data_sm += 1
        if self.config.reject and self._refused(proto, pdu, pdu.destination_addr):
            return
        message_id = self._accept(pdu, pdu.destination_addr)
        self._answer(proto, pdu, P.DataSmResp(message_id=message_id), now)
        if pdu.registered_delivery & _RECEIPT_BITS:
            payload = pdu.tlv("message_payload")
            self._plan_receipt(proto, pdu, message_id, pdu.destination_addr,
                               pdu.dest_addr_ton, pdu.dest_addr_npi,
                               payload if isinstance(payload, bytes) else b"", now)

    def _on_submit_multi(self, proto: SmppProtocol, pdu: P.SubmitMulti) -> None:
        now = self.reactor.seconds()
        if self.config.throughput and not self._admit(proto, pdu, now):
            return
        self.stats.submit_multi += 1
        message_id = self._ids.next()
        if self.config.record_submits:
            self.received.submits.append(pdu)
        failed = []
        for dest in pdu.dest_addresses:
            if isinstance(dest, P.DistributionList):   # no lists here
                failed.append(P.UnsuccessSme(0, 0, dest.dl_name[:20], S.ESME_RINVDLNAME))
                continue
            counts = self.received.by_destination
            counts[dest.destination_addr] = counts.get(dest.destination_addr, 0) + 1
            if pdu.registered_delivery & _RECEIPT_BITS:
                self._plan_receipt(proto, pdu, message_id, dest.destination_addr,
                                   dest.dest_addr_ton, dest.dest_addr_npi,
                                   pdu.short_message, now)
        self._answer(proto, pdu, P.SubmitMultiResp(message_id=message_id,
                                                   unsuccess_smes=tuple(failed)), now)

    def _refused(self, proto: SmppProtocol, pdu: P.Pdu, destination: str) -> bool:
        """Answers the `reject` status itself for a destination it names."""
        status = self.config.rejected(destination)
        if status:
            self.stats.rejected += 1
            proto.respond(pdu, P.RESPONSE_CLASS[pdu.command_id](command_status=status))
        return bool(status)

    def _accept(self, pdu: P.Pdu, destination: str) -> str:
        counts = self.received.by_destination
        counts[destination] = counts.get(destination, 0) + 1
        if self.config.record_submits:
            self.received.submits.append(pdu)
        return self._ids.next()

    def _answer(self, proto: SmppProtocol, request: P.Pdu, response: P.Pdu,
                now: float) -> None:
        if self.config.latency:
            self._answers.push((proto, request, response), now)
        else:
            proto.respond(request, response)

    def _answer_batch(self, batch: list[tuple[SmppProtocol, P.Pdu, P.Pdu]]) -> None:
        for proto, request, response in batch:
            if proto.lost_reason is None:
                proto.respond(request, response)
        self._conditions.check()

    # -- receipts, MO, drops --------------------------------------------------------------------
    def _plan_receipt(self, proto: SmppProtocol, pdu: Any, message_id: str, dest: str,
                      dest_ton: int, dest_npi: int, body: bytes, now: float) -> None:
        state = self._outcomes.pick()
        if not wants_receipt(pdu.registered_delivery, state):
            return
        self._receipts.push(PendingReceipt(
            message_id, proto.session.system_id, proto, state, now,
            (pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr),
            (dest_ton, dest_npi, dest),
            receipt_text(body, pdu.data_coding, pdu.esm_class)), now)

    def _receipt_batch(self, batch: list[PendingReceipt]) -> None:
        now = self.reactor.seconds()
        offer, build = self._outbox.offer, self._receipt_builder.build
        for pending in batch:
            offer(pending.system_id, build(pending, now), RECEIPT, pending.origin)
        self._conditions.check()

    def _mo_batch(self, count: int) -> None:
        for _ in range(count):
            self._mo_count += 1
            self.inject_mo(f"MO {self._mo_count}")

    def _drop(self, proto: SmppProtocol) -> None:
        self.stats.dropped_connections += 1
        proto.abort()
