"""The SMSC simulator: over real loopback sockets with smpplib (in a thread) and with our own
adapter as the ESME, and Clock-driven for throttling, latency, windows and batching."""
from __future__ import annotations

import re
from typing import Any, Callable

import pytest
import pytest_twisted
import smpplib.client
import smpplib.exceptions
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.internet.threads import deferToThread

from connectors.sim_config import SimulatorConfig
from connectors.simulator import SimulatorService
from smscd.smpp import pdu as P
from smscd.smpp.codec import decode, encode
from smscd.smpp.frame_buffer import FrameBuffer
from smscd.smpp.message_state import MessageState as M
from smscd.smpp.reassembly import Reassembler, concat_of
from smscd.smpp.receipt import parse_receipt
from smscd.smpp.session import Event, RequestReceived, SessionConfig
from smscd.smpp.split import SplitMethod
from smscd.smpp.status import CommandStatus as S
from smscd.smpp_protocol import BindFailed, HandlerBase, SmppProtocol, connect_and_bind

ACCOUNT, PASSWORD = "acct", "secret"


def config(**overrides: Any) -> SimulatorConfig:
    values: dict[str, Any] = dict(accounts={ACCOUNT: PASSWORD}, receipt_delay=0.0, seed=4)
    values.update(overrides)
    return SimulatorConfig(**values)


class Inbox(HandlerBase):
    """ESME handler: answers every deliver_sm and fires waiters when enough arrived."""

    def __init__(self) -> None:
        self.pdus: list[P.Pdu] = []
        self._waiters: list[tuple[int, Deferred[list[P.Pdu]]]] = []

    def event(self, proto: SmppProtocol, event: Event) -> None:
        if isinstance(event, RequestReceived):
            proto.respond(event.pdu, P.DeliverSmResp())
            self.pdus.append(event.pdu)
            for n, d in [w for w in self._waiters if len(self.pdus) >= w[0]]:
                self._waiters.remove((n, d))
                d.callback(self.pdus[:n])

    def when(self, n: int) -> Deferred[list[P.Pdu]]:
        d: Deferred[list[P.Pdu]] = Deferred()
        if len(self.pdus) >= n:
            d.callback(self.pdus[:n])
        else:
            self._waiters.append((n, d))
        return d


async def running(cfg: SimulatorConfig) -> tuple[SimulatorService, int]:
    from twisted.internet import reactor
    sim = SimulatorService(cfg, reactor)
    return sim, await sim.start(0)


async def esme(port: int, bind: type[P.BindTransceiver | P.BindReceiver | P.BindTransmitter]
               = P.BindTransceiver, inbox: Inbox | None = None) -> SmppProtocol:
    from twisted.internet import reactor
    return await connect_and_bind(reactor, "127.0.0.1", port,
                                  bind(system_id=ACCOUNT, password=PASSWORD), inbox or Inbox(),
                                  SessionConfig(enquire_link_interval=0))


def smpplib_client(port: int) -> smpplib.client.Client:
    client = smpplib.client.Client("127.0.0.1", port, timeout=10,
                                   allow_unknown_opt_params=True)
    client.connect()
    return client


# --- binds (smpplib) ------------------------------------------------------------------------

def _bind_status(port: int, system_id: str, password: str) -> int:
    client = smpplib_client(port)
    try:
        client.bind_transceiver(system_id=system_id, password=password)
        client.unbind()
        return 0
    except smpplib.exceptions.PDUError as e:
        return int(e.args[1])
    finally:
        client.disconnect()


@pytest_twisted.ensureDeferred
async def test_bind_with_configured_credentials_only() -> None:
    """Breaks if the simulator accepts wrong credentials or refuses the configured ones, or
    answers a wrong password and an unknown system_id with the same status."""
    sim, port = await running(config())
    try:
        assert await deferToThread(_bind_status, port, ACCOUNT, PASSWORD) == 0
        assert await deferToThread(_bind_status, port, ACCOUNT, "nope") == S.ESME_RINVPASWD
        assert await deferToThread(_bind_status, port, "who", PASSWORD) == S.ESME_RINVSYSID
    finally:
        await sim.stop()
    assert (sim.stats.binds, sim.stats.bind_failures) == (1, 2)


# --- submit, id format, receipt (smpplib) ---------------------------------------------------

def _submit_and_wait_for_receipt(port: int) -> tuple[str, Any]:
    client = smpplib_client(port)
    ids: list[str] = []
    receipts: list[Any] = []
    client.set_message_sent_handler(lambda pdu: ids.append(pdu.message_id.decode()))
    client.set_message_received_handler(lambda pdu: receipts.append(pdu))
    try:
        client.bind_transceiver(system_id=ACCOUNT, password=PASSWORD)
        client.send_message(source_addr_ton=1, source_addr="33600000001", dest_addr_ton=1,
                            destination_addr="33611111111", short_message=b"hello receipt",
                            registered_delivery=1)
        while not ids or not receipts:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return ids[0], receipts[0]


@pytest.mark.parametrize("fmt, pattern", [("hex", r"[0-9a-f]+"), ("decimal", r"[0-9]+")])
@pytest_twisted.ensureDeferred
async def test_submit_gets_an_id_then_a_receipt_with_that_id(fmt: str, pattern: str) -> None:
    """Breaks if submit_sm_resp ids ignore the configured format, or the DELIVRD receipt
    on the transceiver bind does not carry the same id in its text and TLVs."""
    sim, port = await running(config(message_id_format=fmt))
    try:
        message_id, receipt = await deferToThread(_submit_and_wait_for_receipt, port)
    finally:
        await sim.stop()
    assert re.fullmatch(pattern, message_id)
    assert receipt.esm_class & 0x04
    parsed = parse_receipt(receipt.short_message.decode(), {})
    assert parsed is not None and (parsed.message_id, parsed.stat) == (message_id, "DELIVRD")
    assert receipt.receipted_message_id.rstrip(b"\0").decode() == message_id
    assert int(receipt.message_state) == M.DELIVERED
    assert sim.received.by_destination == {"33611111111": 1}


# --- where receipts go ----------------------------------------------------------------------

def _submit_as_transmitter(port: int) -> str:
    client = smpplib_client(port)
    ids: list[str] = []
    client.set_message_sent_handler(lambda pdu: ids.append(pdu.message_id.decode()))
    try:
        client.bind_transmitter(system_id=ACCOUNT, password=PASSWORD)
        client.send_message(destination_addr="33622222222", short_message=b"held",
                            registered_delivery=1)
        while not ids:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return ids[0]


@pytest_twisted.ensureDeferred
async def test_receipt_is_held_until_a_receiver_binds() -> None:
    """Breaks if a receipt for a transmitter-only account is dropped instead of kept until
    a receiver bind of the same system_id appears."""
    sim, port = await running(config())
    try:
        message_id = await deferToThread(_submit_as_transmitter, port)
        await sim.until(lambda s: s.held(ACCOUNT) == 1)
        inbox = Inbox()
        receiver = await esme(port, P.BindReceiver, inbox)
        [receipt] = await inbox.when(1)
        receiver.unbind()
        await receiver.when_closed()
    finally:
        await sim.stop()
    assert receipt.tlv("receipted_message_id") == message_id
    assert sim.held() == 0 and sim.stats.receipts_acked == 1


@pytest_twisted.ensureDeferred
async def test_receipt_goes_to_another_receiver_of_the_same_account() -> None:
    """Breaks if a transmitter's receipt is not routed to the account's receiver bind."""
    sim, port = await running(config())
    inbox = Inbox()
    receiver = await esme(port, P.BindReceiver, inbox)
    try:
        message_id = await deferToThread(_submit_as_transmitter, port)
        [receipt] = await inbox.when(1)
    finally:
        await sim.stop()
        await receiver.when_closed()
    assert receipt.tlv("receipted_message_id") == message_id


# --- MO -------------------------------------------------------------------------------------

LONG = "".join(f"Inbound message part {i}, " for i in range(16))


@pytest.mark.parametrize("content, method, parts", [
    ("short MO", SplitMethod.UDH8, 1),
    (LONG, SplitMethod.UDH8, 3),
    (LONG, SplitMethod.SAR, 3),
])
@pytest_twisted.ensureDeferred
async def test_injected_mo_arrives_and_reassembles(content: str, method: SplitMethod,
                                                   parts: int) -> None:
    """Breaks if injected MO (single, UDH IEI 0x00 or SAR multipart) does not reach the
    transceiver bind as deliver_sm that is not a receipt, or its parts do not join."""
    sim, port = await running(config())
    inbox = Inbox()
    client = await esme(port, P.BindTransceiver, inbox)
    try:
        sim.inject_mo(content, source="33699999999", destination="12345", method=method)
        got = await inbox.when(parts)
        await sim.until(lambda s: s.stats.mo_acked == parts)
    finally:
        await sim.stop()
        await client.when_closed()
    joiner, done = Reassembler(), None
    for pdu in got:
        assert isinstance(pdu, P.DeliverSm) and not pdu.esm_class & 0x04
        sar = pdu.tlv("sar_msg_ref_num")
        sar_info = None if sar is None else (int(sar), int(pdu.tlv("sar_total_segments")),
                                             int(pdu.tlv("sar_segment_seqnum")))
        info = concat_of(pdu.esm_class, pdu.short_message, sar_info)
        if info is None:
            done = pdu.short_message
        else:
            completed = joiner.add(("33699999999",), info.ref, info.total, info.seq,
                                   info.body, 0.0)
            done = completed.body if completed is not None else done
    assert done is not None and done.decode() == content
    assert len(got) == parts


# --- drops ----------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_drop_on_command_closes_the_connection() -> None:
    """Breaks if drop_all leaves the bind up (tests of reconnect logic depend on it)."""
    sim, port = await running(config())
    client = await esme(port)
    try:
        await sim.until(lambda s: len(s.bound(ACCOUNT)) == 1)
        assert sim.drop_all() == 1
        await client.when_closed()
        await sim.until(lambda s: not s.connections)
    finally:
        await sim.stop()
    assert sim.stats.dropped_connections == 1


@pytest_twisted.ensureDeferred
async def test_wrong_password_over_our_adapter_fails_the_bind() -> None:
    """Breaks if connect_and_bind does not surface the simulator's ESME_RINVPASWD."""
    from twisted.internet import reactor
    sim, port = await running(config())
    try:
        with pytest.raises(BindFailed) as e:
            await connect_and_bind(reactor, "127.0.0.1", port,
                                   P.BindTransmitter(system_id=ACCOUNT, password="bad"))
    finally:
        await sim.stop()
    assert e.value.status == S.ESME_RINVPASWD


# --- Clock-driven: throttling, latency, window, batching, random drops, MO rate -------------

class Harness:
    """One bound transceiver on a StringTransport, time from a Clock."""

    def __init__(self, cfg: SimulatorConfig) -> None:
        self.clock = Clock()
        self.clock.advance(1_750_000_000.0)             # receipts carry dates: be in 2025
        self.sim = SimulatorService(cfg, self.clock)
        self.proto = self.sim.factory().buildProtocol(None)
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)
        self.seq = 1
        self.send(P.BindTransceiver(system_id=ACCOUNT, password=PASSWORD))
        assert [p.command_status for p in self.read()] == [0]

    def send(self, *pdus: P.Pdu) -> None:
        data = b""
        for pdu in pdus:
            data += encode(pdu, self.seq)
            self.seq += 1
        self.proto.dataReceived(data)

    def read(self) -> list[P.Pdu]:
        frames = FrameBuffer().feed(self.transport.value())
        self.transport.clear()
        return [decode(f) for f in frames]

    def writes_in(self, action: Callable[[], None]) -> int:
        count = 0
        original = self.transport.write

        def counting(data: bytes) -> None:
            nonlocal count
            count += 1
            original(data)
        self.transport.write = counting  # type: ignore[method-assign]
        try:
            action()
        finally:
            self.transport.write = original  # type: ignore[method-assign]
        return count


def submit(dest: str = "33611111111", registered_delivery: int = 0) -> P.SubmitSm:
    return P.SubmitSm(destination_addr=dest, short_message=b"x",
                      registered_delivery=registered_delivery)


def test_throttling_answers_0x58_above_the_rate_and_recovers() -> None:
    """Breaks if the token bucket lets more than rate x time through, or never refills."""
    h = Harness(config(throughput=10, burst=10))
    h.send(*[submit() for _ in range(15)])
    assert [p.command_status for p in h.read()] == [0] * 10 + [S.ESME_RTHROTTLED] * 5
    h.clock.advance(0.5)
    h.send(*[submit() for _ in range(6)])
    assert [p.command_status for p in h.read()] == [0] * 5 + [S.ESME_RTHROTTLED]
    assert (h.sim.stats.submit_sm, h.sim.stats.throttled) == (15, 6)
    assert h.sim.received.total == 15


def test_latency_delays_answers_and_batches_them() -> None:
    """Breaks if configured latency is ignored, or answers leave one write per PDU."""
    h = Harness(config(latency=0.2))
    h.send(*[submit() for _ in range(50)])
    assert h.read() == []
    h.clock.advance(0.1)
    assert h.read() == []
    assert h.writes_in(lambda: h.clock.advance(0.11) or h.clock.advance(0)) == 1
    assert len(h.read()) == 50


def test_window_limits_unanswered_requests_per_bind() -> None:
    """Breaks if a bind can pile up more unanswered requests than the simulator's window."""
    h = Harness(config(latency=1.0, window=3))
    h.send(*[submit() for _ in range(5)])
    assert [p.command_status for p in h.read()] == [S.ESME_RTHROTTLED] * 2
    h.clock.advance(1.0)
    h.clock.advance(0)
    assert [p.command_status for p in h.read()] == [0] * 3


def test_receipts_are_batched_on_one_timer_and_one_write() -> None:
    """Breaks if receipts cost one timer each, or leave one write per receipt."""
    h = Harness(config(receipt_delay=5.0, deliver_window=500))
    h.send(*[submit(registered_delivery=1) for _ in range(300)])
    h.read()
    assert len(h.clock.getDelayedCalls()) <= 2        # the receipt batch + the session timer
    assert h.sim.receipts_pending == 300
    assert h.writes_in(lambda: h.clock.advance(5.0) or h.clock.advance(0)) == 1
    receipts = h.read()
    assert len(receipts) == 300 and all(p.esm_class == 0x04 for p in receipts)


def test_failure_only_receipts_skip_delivered_messages() -> None:
    """Breaks if registered_delivery 'failure only' still gets DELIVRD receipts."""
    h = Harness(config(outcomes={M.DELIVERED: 50, M.UNDELIVERABLE: 50}, deliver_window=200))
    h.send(*[submit(registered_delivery=2) for _ in range(200)])
    h.clock.advance(0.0)
    h.clock.advance(0.0)
    receipts = [p for p in h.read() if isinstance(p, P.DeliverSm)]
    assert 60 < len(receipts) < 140
    assert {p.tlv("message_state") for p in receipts} == {M.UNDELIVERABLE}


def test_transient_deliver_error_keeps_the_receipt() -> None:
    """Breaks if a receipt answered with a transient error (throttled) is dropped."""
    h = Harness(config())
    h.send(submit(registered_delivery=1))
    h.clock.advance(0)
    [resp, receipt] = h.read()
    h.proto.dataReceived(encode(P.DeliverSmResp(command_status=S.ESME_RTHROTTLED),
                                receipt.sequence_number))
    [again] = h.read()
    assert again.tlv("receipted_message_id") == resp.message_id  # type: ignore[attr-defined]


def test_random_drops_follow_the_seeded_probability() -> None:
    """Breaks if drop_probability is ignored or the drop answers the request first."""
    h = Harness(config(drop_probability=1.0))
    h.send(submit())
    assert h.read() == [] and h.transport.disconnecting
    assert h.sim.stats.dropped_connections == 1 and h.sim.received.total == 0


def test_data_sm_and_submit_multi_are_answered_and_recorded() -> None:
    """Breaks if data_sm or submit_multi go unanswered or are missing from `received`."""
    h = Harness(config(record_submits=True, message_id_format="decimal"))
    h.send(P.DataSm(destination_addr="33633333333"),
           P.SubmitMulti(dest_addresses=(P.SmeAddress(1, 1, "33644444444"),
                                         P.SmeAddress(1, 1, "33655555555"),
                                         P.DistributionList("friends"))))
    data_resp, multi_resp = h.read()
    assert isinstance(data_resp, P.DataSmResp) and data_resp.message_id.isdigit()
    assert isinstance(multi_resp, P.SubmitMultiResp)
    assert [u.error_status_code for u in multi_resp.unsuccess_smes] == [S.ESME_RINVDLNAME]
    assert h.sim.received.by_destination == {
        "33633333333": 1, "33644444444": 1, "33655555555": 1}
    assert len(h.sim.received.submits) == 2


def test_mo_at_a_rate() -> None:
    """Breaks if mo_rate does not produce MO at the configured rate on one timer."""
    h = Harness(config(deliver_window=100))
    h.sim.start_mo(50)
    for _ in range(100):
        h.clock.advance(0.01)
    h.sim.stop_mo()
    h.clock.advance(1.0)
    mo = [p for p in h.read() if isinstance(p, P.DeliverSm)]
    assert 49 <= len(mo) <= 50
    assert mo[0].short_message == b"MO 1"
