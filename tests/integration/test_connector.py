"""The vendor connector over real loopback sockets: our ConnectorService against the SMSC
simulator (or a tiny SMSC built on the adapter where the simulator cannot misbehave as
needed), on the real embedded SQLite store; Deliveries is a small recording fake."""
from __future__ import annotations

import random
import socket
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest_twisted
from twisted.internet.defer import Deferred, fail, gatherResults, succeed
from twisted.internet.endpoints import TCP4ServerEndpoint

from connectors.connector_config import ConnectorConfig, connector_config_from_mapping
from connectors.sim_config import SimulatorConfig
from connectors.simulator import SimulatorService
from connectors.smpp_client import ConnectorService
from smscd.deliveries import InboundMessage, mt_queue
from smscd.message import Address, Message, Part
from smscd.smpp import pdu as P
from smscd.smpp.commands import CommandId as C
from smscd.smpp.message_state import MessageState
from smscd.smpp.receipt import Receipt
from smscd.smpp.session import Event, RequestReceived
from smscd.smpp.split import SplitMethod
from smscd.smpp.status import CommandStatus as S
from smscd.smpp.tlv import STANDARD_TLVS
from smscd.smpp_protocol import SmppProtocol, server_factory
from smscd.stores.sqlite import SqliteStore

ACCOUNT, PASSWORD = "smscd", "secret"
CID = "vendor1"


def reactor() -> Any:
    from twisted.internet import reactor as r
    return r


# --- fakes and rigs ----------------------------------------------------------------------------

@dataclass
class PartState:
    message_id: str
    part_index: int
    state: MessageState
    error: str
    receipt: Receipt | None


@dataclass
class FakeDeliveries:
    """Deliveries that records calls; `hold` keeps part_state Deferreds for the test to fire."""
    states: list[PartState] = field(default_factory=list)
    inbound_calls: list[InboundMessage] = field(default_factory=list)
    hold: list[Deferred[None]] | None = None
    fail_inbound: int = 0
    waiters: list[tuple[Callable[[FakeDeliveries], bool], Deferred[None]]] = \
        field(default_factory=list)

    def part_state(self, message_id: str, part_index: int, state: MessageState, error: str,
                   receipt: Receipt | None, at: float) -> Deferred[None]:
        self.states.append(PartState(message_id, part_index, state, error, receipt))
        d: Deferred[None] = succeed(None)
        if self.hold is not None:
            d = Deferred()
            self.hold.append(d)
        self._check()
        return d

    def inbound(self, mo: InboundMessage) -> Deferred[None]:
        if self.fail_inbound:
            self.fail_inbound -= 1
            return fail(RuntimeError("routing store unavailable"))
        self.inbound_calls.append(mo)
        self._check()
        return succeed(None)

    def until(self, condition: Callable[[FakeDeliveries], bool]) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        self.waiters.append((condition, d))
        self._check()
        return d

    def _check(self) -> None:
        ready = [w for w in self.waiters if w[0](self)]
        for w in ready:
            self.waiters.remove(w)
            w[1].callback(None)


def message(i: int, parts: int = 1, rd: int = 1, **kw: Any) -> Message:
    values: dict[str, Any] = dict(
        id=f"m{i:05d}", user="acme", source=Address("SENDER", 5, 0),
        destination=Address(f"3361{i:07d}", 1, 1),
        parts=tuple(Part(f"msg {i} part {k}".encode()) for k in range(parts)),
        created_at=0.0, registered_delivery=rd)
    values.update(kw)
    return Message(**values)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Rig:
    """A simulator (or any SMSC port), the store, the connector and the fake deliveries."""

    def __init__(self, store: SqliteStore, connector: ConnectorService,
                 deliveries: FakeDeliveries, sim: SimulatorService | None) -> None:
        self.store, self.connector, self.deliveries, self.sim = store, connector, deliveries, sim
        self.queue = mt_queue(connector.config.id)

    async def publish(self, messages: list[Message]) -> None:
        await gatherResults([self.store.messages.accept(m, self.queue) for m in messages])

    def settled(self) -> Deferred[None]:
        """Fires when the queue is empty and nothing is leased."""
        q = self.store.queues
        return self.connector.until(lambda c: q.depth(self.queue) == 0
                                    and q.leased(self.queue) == 0)

    async def close(self) -> None:
        await self.connector.stop()
        if self.sim is not None:
            await self.sim.stop()
        await self.store.close()


def connector_config(port: int | list[int], **overrides: Any) -> ConnectorConfig:
    ports = port if isinstance(port, list) else [port]
    raw: dict[str, Any] = dict(id=CID, hosts=[f"127.0.0.1:{p}" for p in ports],
                               system_id=ACCOUNT, password=PASSWORD,
                               enquire_link_interval=0, response_timeout=5,
                               reconnect_initial_delay=0.05, reconnect_max_delay=0.2,
                               retry_delay=0.01, retry_max_delay=0.05, throttle_pause=0.02)
    raw.update(overrides)
    return connector_config_from_mapping(raw)


async def rig(tmp_path: Any, sim_cfg: SimulatorConfig | None = None, port: int | None = None,
              start: bool = True, hosts: list[int] | None = None, **overrides: Any) -> Rig:
    sim = None
    if port is None:
        sim = SimulatorService(sim_cfg or sim_config(), reactor())
        port = await sim.start(0)
    store = SqliteStore.open(tmp_path / "store.db", reactor())
    deliveries = FakeDeliveries()
    cfg = connector_config(hosts or port, **overrides)
    connector = ConnectorService(cfg, reactor(), store.queues, store.messages,
                                 store.correlations, deliveries, rng=random.Random(7))
    if start:
        connector.start()
    return Rig(store, connector, deliveries, sim)


def sim_config(**overrides: Any) -> SimulatorConfig:
    values: dict[str, Any] = dict(accounts={ACCOUNT: PASSWORD}, receipt_delay=0.0, seed=3,
                                  record_submits=True)
    values.update(overrides)
    return SimulatorConfig(**values)


# --- MT ----------------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_queued_messages_reach_the_vendor_with_their_fields(tmp_path: Any) -> None:
    """Breaks if a queued message does not reach the vendor, or its addresses, TON/NPI
    defaults, registered_delivery policy, esm_class or TLVs are built wrongly."""
    r = await rig(tmp_path, sim_config(receipt_delay=60), dest_ton=2, dest_npi=1,
                  source_npi=9, registered_delivery="always")
    try:
        ref = STANDARD_TLVS.make("user_message_reference", 77)
        await r.publish([message(1, rd=0, tlvs=(ref,), esm_class=0x03,
                                 destination=Address("33612345678", 0, 0)),
                         message(2, parts=2)])
        assert r.sim is not None
        await r.sim.until(lambda s: s.received.total >= 3)
        await r.settled()
        first, *rest = sorted(r.sim.received.submits, key=lambda p: p.short_message)
        assert isinstance(first, P.SubmitSm)
        assert (first.source_addr, first.source_addr_ton, first.source_addr_npi) == ("SENDER", 5, 9)
        assert (first.destination_addr, first.dest_addr_ton, first.dest_addr_npi) == \
            ("33612345678", 2, 1)
        assert first.registered_delivery == 1          # "always", though the customer said 0
        assert first.esm_class == 0x03 and first.tlv("user_message_reference") == 77
        assert [p.short_message for p in rest] == [b"msg 2 part 0", b"msg 2 part 1"]
        assert all(p.dest_addr_ton == 1 for p in rest)  # the message's own TON is kept
        status = r.connector.status()
        assert (status["bound"], status["accepted"], status["queue_depth"],
                status["last_error"]) == (1, 3, 0, None)
    finally:
        await r.close()


@pytest_twisted.ensureDeferred
async def test_entries_from_before_a_restart_are_sent_and_garbage_is_dead_lettered(
        tmp_path: Any) -> None:
    """Breaks if entries handed out again after a restart (no in-memory Message, only the
    stored payload) cannot be sent, or if an unreadable entry blocks the queue."""
    store = SqliteStore.open(tmp_path / "store.db", reactor())
    queue = mt_queue(CID)
    await gatherResults([store.messages.accept(message(i, parts=2), queue) for i in range(3)])
    await store.queues.publish(queue, "junk", b"not a message")
    await store.close()
    r = await rig(tmp_path, sim_config(receipt_delay=60))
    assert r.sim is not None
    try:
        await r.settled()
        assert sorted(p.short_message for p in r.sim.received.submits)[:2] == \
            [b"msg 0 part 0", b"msg 0 part 1"]
        assert r.sim.received.total == 6
        [dead] = await r.store.queues.dead_letters(r.queue)
        assert dead.key == "junk" and dead.reason.startswith("unreadable")
    finally:
        await r.close()


@pytest_twisted.ensureDeferred
async def test_window_is_filled_and_never_exceeded_per_bind(tmp_path: Any) -> None:
    """Breaks if the connector sends more than `window` unanswered submit_sm on a bind (the
    vendor would throttle or drop us), or fewer (Jasmin's window of 1 caps throughput)."""
    r = await rig(tmp_path, sim_config(latency=0.05, receipt_delay=60), window=4, binds=2)
    assert r.sim is not None
    peak: dict[int, int] = {}

    def observe(sim: SimulatorService) -> bool:
        for proto in sim.connections:
            peak[id(proto)] = max(peak.get(id(proto), 0), proto.session.inbound_pending)
        return sim.received.total >= 80
    try:
        await r.connector.until(lambda c: c.status()["bound"] == 2)
        await r.publish([message(i) for i in range(80)])
        await r.sim.until(observe)
        await r.settled()
        assert sorted(peak.values()) == [4, 4]
    finally:
        await r.close()


@pytest_twisted.ensureDeferred
async def test_receipt_reaches_deliveries_with_our_id_and_part_once_durable(tmp_path: Any
                                                                          ) -> None:
    """Breaks if the correlation is not stored per part, a vendor receipt does not end in
    part_state with our message id and part index, or deliver_sm_resp leaves before
    part_state is durable (a crash would lose the receipt)."""
    r = await rig(tmp_path, sim_config(receipt_delay=0.01, message_id_format="decimal"))
    assert r.sim is not None
    r.deliveries.hold = []
    try:
        await r.publish([message(1, parts=2)])
        await r.deliveries.until(lambda d: len(d.states) == 2)
        assert sorted((s.message_id, s.part_index, s.state) for s in r.deliveries.states) == \
            [("m00001", 0, MessageState.DELIVERED), ("m00001", 1, MessageState.DELIVERED)]
        assert all(s.receipt is not None for s in r.deliveries.states)
        assert r.sim.stats.receipts_acked == 0             # held until durable
        for d in r.deliveries.hold:
            d.callback(None)
        await r.sim.until(lambda s: s.stats.receipts_acked == 2)
        record = await r.store.messages.get("m00001", "acme")
        assert record is not None and all(p.vendor_id for p in record.parts)
        assert r.connector.status()["unknown_receipts"] == 0
    finally:
        await r.close()


@pytest_twisted.ensureDeferred
async def test_vendor_throttling_delays_but_fails_nothing(tmp_path: Any) -> None:
    """Breaks if ESME_RTHROTTLED counts as a failed attempt, fails or dead-letters a
    message, or loses one."""
    r = await rig(tmp_path, sim_config(throughput=300, burst=5, receipt_delay=60),
                  max_attempts=1, window=20)
    assert r.sim is not None
    try:
        await r.publish([message(i) for i in range(120)])
        await r.settled()
        assert r.sim.stats.throttled > 0
        assert len(r.sim.received.by_destination) == 120
        assert r.deliveries.states == []
        assert r.connector.pump.stats.retried == 0
        assert await r.store.queues.dead_letters(r.queue) == []
    finally:
        await r.close()


@pytest_twisted.ensureDeferred
async def test_dropped_connection_with_full_window_delivers_everything(tmp_path: Any) -> None:
    """Breaks if the messages in flight when the vendor drops the bind are lost, or if more
    are sent twice than were in flight at the drop."""
    r = await rig(tmp_path, sim_config(latency=0.05, receipt_delay=60), window=10)
    assert r.sim is not None
    sim = r.sim
    in_flight_at_drop: list[int] = []
    try:
        await r.publish([message(i) for i in range(100)])
        await sim.until(lambda s: s.received.total >= 30
                        and r.connector.pump.in_flight == 10)
        in_flight_at_drop.append(r.connector.pump.in_flight)
        assert sim.drop_all() == 1
        await r.settled()
        counts = sim.received.by_destination
        assert len(counts) == 100
        duplicates = sum(n - 1 for n in counts.values())
        assert 0 < duplicates <= in_flight_at_drop[0]
        assert r.deliveries.states == []
    finally:
        await r.close()


@pytest_twisted.ensureDeferred
async def test_stop_and_start_mid_traffic_loses_nothing(tmp_path: Any) -> None:
    """Breaks if stopping a connector with messages in flight loses or acks one unanswered,
    leaves an entry leased, or if it cannot start again (Jasmin loses one here)."""
    r = await rig(tmp_path, sim_config(latency=0.02, receipt_delay=60), window=10)
    assert r.sim is not None
    try:
        await r.publish([message(i) for i in range(200)])
        await r.sim.until(lambda s: s.received.total >= 50)
        await r.connector.stop()
        q = r.store.queues
        acked = r.connector.pump.stats.acked
        assert r.connector.status()["bound"] == 0 and r.connector.pump.in_flight == 0
        assert q.leased(r.queue) == 0
        assert q.depth(r.queue) == 200 - acked and 0 < acked < 200
        assert r.sim.received.total == acked               # every answer was waited for
        r.connector.start()
        await r.settled()
        assert sorted(r.sim.received.by_destination.values()) == [1] * 200
    finally:
        await r.close()


@pytest_twisted.ensureDeferred
async def test_primary_down_backup_used(tmp_path: Any) -> None:
    """Breaks if a connector whose primary host refuses connections never tries its backup."""
    sim = SimulatorService(sim_config(receipt_delay=60), reactor())
    port = await sim.start(0)
    r = await rig(tmp_path, port=port, hosts=[free_port(), port])
    r.sim = sim
    try:
        await r.publish([message(1)])
        await r.settled()
        assert sim.received.total == 1
        assert r.connector.status()["hosts"] == [f"127.0.0.1:{port}"]
        assert r.connector.endpoints[0].attempts >= 2
    finally:
        await r.close()


@pytest_twisted.ensureDeferred
async def test_refused_bind_is_retried_and_reported(tmp_path: Any) -> None:
    """Breaks if a refused bind stops the connector for good, leaves connections open, or
    is not visible to operators."""
    r = await rig(tmp_path, sim_config(), password="wrong")
    assert r.sim is not None
    try:
        await r.sim.until(lambda s: s.stats.bind_failures >= 3)
        assert r.connector.status()["bound"] == 0
        assert "ESME_RINVPASWD" in (r.connector.status()["last_error"] or "")
        await r.sim.until(lambda s: len(s.connections) <= 1)  # refused ones were closed
    finally:
        await r.close()


# --- a tiny SMSC for what the simulator will not do ----------------------------------------------

class TinySmsc:
    """Accepts any bind; answers submit_sm with `answer(pdu, attempt)`; keeps the binds."""

    def __init__(self, answer: Callable[[P.SubmitSm, int], int] = lambda p, n: S.ESME_ROK,
                 ids: Callable[[int], str] = lambda n: f"{n:x}") -> None:
        self.answer = answer
        self.ids = ids
        self.submits: list[P.SubmitSm] = []
        self.protos: list[SmppProtocol] = []
        self.port_obj: Any = None

    async def start(self) -> int:
        factory = server_factory(lambda: self, reactor())
        self.port_obj = await TCP4ServerEndpoint(reactor(), 0, interface="127.0.0.1"
                                                 ).listen(factory)  # type: ignore[arg-type]
        return int(self.port_obj.getHost().port)

    async def stop(self) -> None:
        await self.port_obj.stopListening()

    def connected(self, proto: SmppProtocol) -> None:
        self.protos.append(proto)

    def disconnected(self, proto: SmppProtocol, reason: Any) -> None:
        self.protos.remove(proto)

    def event(self, proto: SmppProtocol, event: Event) -> None:
        if not isinstance(event, RequestReceived):
            return
        pdu = event.pdu
        if pdu.command_id in (C.BIND_TRANSCEIVER, C.BIND_TRANSMITTER, C.BIND_RECEIVER):
            proto.accept_bind(pdu, "TINY")
        elif isinstance(pdu, P.SubmitSm):
            attempt = sum(1 for p in self.submits if p.short_message == pdu.short_message)
            self.submits.append(pdu)
            status = self.answer(pdu, attempt)
            proto.respond(pdu, P.SubmitSmResp(
                command_status=status,
                message_id=self.ids(len(self.submits)) if status == 0 else ""))

    def deliver(self, pdu: P.DeliverSm) -> Deferred[P.Pdu]:
        bound = [p for p in self.protos if p.session.bound]
        return bound[0].request(pdu)


async def tiny_rig(tmp_path: Any, smsc: TinySmsc, **overrides: Any) -> Rig:
    port = await smsc.start()
    r = await rig(tmp_path, port=port, **overrides)
    await r.connector.until(lambda c: c.status()["bound"] == 1)
    return r


async def close_tiny(r: Rig, smsc: TinySmsc) -> None:
    await r.close()
    await smsc.stop()


def receipt_pdu(vendor_id: str, stat: str = "DELIVRD") -> P.DeliverSm:
    text = f"id:{vendor_id} sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 " \
           f"stat:{stat} err:000 text:hello"
    return P.DeliverSm(source_addr="33612345678", destination_addr="SENDER", esm_class=0x04,
                       short_message=text.encode())


@pytest_twisted.ensureDeferred
async def test_permanent_error_rejects_the_part_and_acks(tmp_path: Any) -> None:
    """Breaks if a permanent submit_sm_resp error is retried, or does not reach deliveries
    as REJECTED with the status code, or leaves the entry in the queue."""
    smsc = TinySmsc(lambda pdu, n: S.ESME_RINVDSTADR)
    r = await tiny_rig(tmp_path, smsc)
    try:
        await r.publish([message(1)])
        await r.settled()
        assert [(s.message_id, s.part_index, s.state, s.error) for s in r.deliveries.states] \
            == [("m00001", 0, MessageState.REJECTED, "00B")]
        assert len(smsc.submits) == 1
        assert await r.store.queues.dead_letters(r.queue) == []
    finally:
        await close_tiny(r, smsc)


@pytest_twisted.ensureDeferred
async def test_unencodable_message_is_rejected_not_retried(tmp_path: Any) -> None:
    """Breaks if a message whose fields cannot be encoded (source_addr over 20 characters)
    blocks the queue or is retried instead of failing at once."""
    smsc = TinySmsc()
    r = await tiny_rig(tmp_path, smsc)
    try:
        await r.publish([message(1, source=Address("X" * 30)), message(2)])
        await r.settled()
        assert [(s.message_id, s.state) for s in r.deliveries.states] == \
            [("m00001", MessageState.REJECTED)]
        assert [p.destination_addr for p in smsc.submits] == ["33610000002"]
    finally:
        await close_tiny(r, smsc)


@pytest_twisted.ensureDeferred
async def test_exhausted_retries_fail_the_part_and_dead_letter(tmp_path: Any) -> None:
    """Breaks if transient errors are retried without bound, or if the entry that ran out of
    attempts is dropped without telling deliveries or without a dead letter."""
    smsc = TinySmsc(lambda pdu, n: S.ESME_RSYSERR)
    r = await tiny_rig(tmp_path, smsc, max_attempts=3)
    try:
        await r.publish([message(1)])
        await r.settled()
        assert len(smsc.submits) == 3
        assert [(s.state, s.error) for s in r.deliveries.states] == \
            [(MessageState.UNDELIVERABLE, "008")]
        dead = await r.store.queues.dead_letters(r.queue)
        assert [(d.key, d.attempts) for d in dead] == [("m00001", 2)]
    finally:
        await close_tiny(r, smsc)


@pytest_twisted.ensureDeferred
async def test_retry_resends_only_the_parts_not_accepted(tmp_path: Any) -> None:
    """Breaks if a retried multipart message sends again the parts the vendor accepted
    (the customer would receive them twice)."""
    smsc = TinySmsc(lambda pdu, n: S.ESME_RSYSERR if pdu.short_message.endswith(b"1") and n == 0
                    else S.ESME_ROK)
    r = await tiny_rig(tmp_path, smsc)
    try:
        await r.publish([message(1, parts=3)])
        await r.settled()
        assert sorted(p.short_message for p in smsc.submits) == \
            [b"msg 1 part 0", b"msg 1 part 1", b"msg 1 part 1", b"msg 1 part 2"]
        record = await r.store.messages.get("m00001", "acme")
        assert record is not None and all(p.vendor_id for p in record.parts)
    finally:
        await close_tiny(r, smsc)


@pytest_twisted.ensureDeferred
async def test_receipt_ids_correlate_across_bases(tmp_path: Any) -> None:
    """Breaks if receipt_id_mode hex_to_dec does not match a hex receipt id with the decimal
    id of the submit_sm_resp."""
    smsc = TinySmsc(ids=lambda n: str(123455 + n))
    r = await tiny_rig(tmp_path, smsc, receipt_id_mode="hex_to_dec")
    try:
        await r.publish([message(1)])
        await r.settled()
        resp = await smsc.deliver(receipt_pdu("1E240"))         # 123456 in hex
        assert resp.command_status == S.ESME_ROK
        assert [(s.message_id, s.state) for s in r.deliveries.states] == \
            [("m00001", MessageState.DELIVERED)]
    finally:
        await close_tiny(r, smsc)


@pytest_twisted.ensureDeferred
async def test_unknown_receipt_is_answered_ok_and_counted(tmp_path: Any) -> None:
    """Breaks if a receipt we cannot correlate is refused (the vendor would resend it
    forever) or goes unnoticed by operators."""
    smsc = TinySmsc()
    r = await tiny_rig(tmp_path, smsc)
    try:
        resp = await smsc.deliver(receipt_pdu("deadbeef"))
        assert resp.command_status == S.ESME_ROK
        assert r.deliveries.states == []
        assert r.connector.status()["unknown_receipts"] == 1
    finally:
        await close_tiny(r, smsc)


@pytest_twisted.ensureDeferred
async def test_mo_not_recorded_is_answered_for_a_resend(tmp_path: Any) -> None:
    """Breaks if an MO that deliveries could not record is answered ESME_ROK (it would be
    lost) instead of ESME_RX_T_APPN."""
    smsc = TinySmsc()
    r = await tiny_rig(tmp_path, smsc)
    r.deliveries.fail_inbound = 1
    mo = P.DeliverSm(source_addr="33600000001", destination_addr="12345",
                     short_message=b"hello")
    try:
        first = await smsc.deliver(mo)
        second = await smsc.deliver(mo)
        assert (first.command_status, second.command_status) == (S.ESME_RX_T_APPN, S.ESME_ROK)
        assert [m.content for m in r.deliveries.inbound_calls] == [b"hello"]
    finally:
        await close_tiny(r, smsc)


# --- MO from the simulator -----------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_mo_single_and_multipart_arrive_whole(tmp_path: Any) -> None:
    """Breaks if an MO is lost, or a long MO (UDH 8-bit, UDH 16-bit or SAR) reaches
    deliveries in pieces, with its UDH, or with its UDHI bit still set."""
    r = await rig(tmp_path, sim_config())
    assert r.sim is not None
    long_text = "".join(f"word{i} " for i in range(60))          # 3 parts
    try:
        await r.connector.until(lambda c: c.status()["bound"] == 1)
        r.sim.inject_mo("short one", source="33700000001")
        for method in (SplitMethod.UDH8, SplitMethod.UDH16, SplitMethod.SAR):
            assert len(r.sim.inject_mo(long_text, source="33700000002", method=method)) == 3
        await r.deliveries.until(lambda d: len(d.inbound_calls) == 4)
        await r.sim.until(lambda s: s.stats.mo_acked == 10)
        contents = [m.content.decode() for m in r.deliveries.inbound_calls]
        assert contents == ["short one"] + [long_text] * 3
        assert all(m.esm_class & 0x40 == 0 and m.connector == CID
                   for m in r.deliveries.inbound_calls)
        assert r.deliveries.inbound_calls[0].source == Address("33700000001", 1, 1)
        assert not any(t.name and t.name.startswith("sar_")
                       for m in r.deliveries.inbound_calls for t in m.tlvs)
    finally:
        await r.close()
