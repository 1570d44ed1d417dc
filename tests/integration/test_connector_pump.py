"""The connector's timing, driven by `task.Clock` with no reactor and no sockets: the MT
pump's throughput, pause and retry delays against an in-memory queue, the reconnect backoff
of ClientService over the failover endpoint, and the MO reassembly timeout."""
from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

from twisted.application.internet import ClientService
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.protocol import Factory
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from connectors.connector_config import ConnectorConfig, connector_config_from_mapping
from connectors.failover import FailoverBindEndpoint, SessionLease, backoff_policy
from connectors.inbound import InboundHandler
from connectors.mt_pump import MtPump, PartSend
from smscd.deliveries import InboundMessage, mt_queue
from smscd.message import Address, Message, Part, dump_message
from smscd.smpp import pdu as P
from smscd.smpp.codec import encode
from smscd.smpp.message_state import MessageState
from smscd.smpp.receipt import Receipt
from smscd.smpp.session import SessionConfig
from smscd.smpp.split import ReferenceAllocator, SplitMethod
from smscd.smpp.status import CommandStatus as S
from smscd.smpp_protocol import HandlerBase, client_factory
from smscd.stores.interfaces import QueueEntry
from connectors.sim_pdus import mo_pdus


def config(**overrides: Any) -> ConnectorConfig:
    raw: dict[str, Any] = dict(id="clocked", hosts=["a:1"], system_id="x", password="y")
    raw.update(overrides)
    return connector_config_from_mapping(raw)


# --- fakes -----------------------------------------------------------------------------------

class FakeQueues:
    """The Queues calls the pump makes, in memory, with every decision recorded."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.ready: list[QueueEntry] = []
        self.delayed: list[tuple[float, QueueEntry]] = []
        self.leased: dict[int, QueueEntry] = {}
        self.log: list[tuple[str, int, float]] = []      # (what, entry id, delay)
        self.dead: list[QueueEntry] = []
        self.waiters: list[Deferred[None]] = []

    def add(self, message: Message, entry_id: int) -> None:
        self.ready.append(QueueEntry(entry_id, mt_queue("clocked"), message.id,
                                     dump_message(message), message))
        self._wake()

    def _promote(self) -> None:
        now = self.clock.seconds()
        due = [d for d in self.delayed if d[0] <= now]
        self.delayed = [d for d in self.delayed if d[0] > now]
        self.ready += [e for _, e in due]

    def take(self, queue: str, max_n: int) -> list[QueueEntry]:
        self._promote()
        out, self.ready = self.ready[:max_n], self.ready[max_n:]
        self.leased.update((e.id, e) for e in out)
        return out

    def when_ready(self, queue: str) -> Deferred[None]:
        self._promote()
        if self.ready:
            return succeed(None)
        d: Deferred[None] = Deferred(lambda d: self.waiters.remove(d))
        self.waiters.append(d)
        return d

    def _wake(self) -> None:
        self._promote()
        if self.ready:
            waiters, self.waiters = self.waiters, []
            for d in waiters:
                d.callback(None)

    def ack(self, entry: QueueEntry) -> Deferred[None]:
        del self.leased[entry.id]
        self.log.append(("ack", entry.id, 0.0))
        return succeed(None)

    def retry(self, entry: QueueEntry, delay: float, reason: str) -> Deferred[None]:
        del self.leased[entry.id]
        self.log.append(("retry", entry.id, delay))
        self.delayed.append((self.clock.seconds() + delay,
                             replace(entry, attempts=entry.attempts + 1)))
        self.clock.callLater(delay, self._wake)
        return succeed(None)

    def release(self, entry: QueueEntry) -> Deferred[None]:
        del self.leased[entry.id]
        self.log.append(("release", entry.id, 0.0))
        self.ready.insert(0, entry)
        self._wake()
        return succeed(None)

    def dead_letter(self, entry: QueueEntry, reason: str) -> Deferred[None]:
        del self.leased[entry.id]
        self.log.append(("dead", entry.id, 0.0))
        self.dead.append(entry)
        return succeed(None)

    def depth(self, queue: str) -> int:
        return len(self.ready) + len(self.delayed)


class Nothing:
    """Correlations and MessageLog: every write durable at once."""

    def put(self, *args: Any) -> Deferred[None]:
        return succeed(None)

    def get(self, *args: Any) -> Deferred[None]:
        return succeed(None)

    def record_sent(self, *args: Any) -> Deferred[None]:
        return succeed(None)


@dataclass
class Recorded:
    states: list[tuple[str, int, MessageState, str]] = field(default_factory=list)
    inbound_calls: list[InboundMessage] = field(default_factory=list)

    def part_state(self, message_id: str, part_index: int, state: MessageState, error: str,
                   receipt: Receipt | None, at: float) -> Deferred[None]:
        self.states.append((message_id, part_index, state, error))
        return succeed(None)

    def inbound(self, mo: InboundMessage) -> Deferred[None]:
        self.inbound_calls.append(mo)
        return succeed(None)


class FakeSession:
    def __init__(self, window: int) -> None:
        self.window = window
        self.in_flight = 0

    @property
    def window_free(self) -> int:
        return self.window - self.in_flight

    def may_send(self, command_id: int) -> bool:
        return True


class FakeSender:
    """A bound session that records what was sent; the test answers."""

    def __init__(self, clock: Clock, window: int = 1000) -> None:
        self.clock = clock
        self.session = FakeSession(window)
        self.sent: list[tuple[float, P.Pdu, PartSend]] = []
        self.unanswered: list[PartSend] = []

    def send_request(self, pdu: P.Pdu, context: object = None) -> int:
        assert isinstance(context, PartSend)
        self.session.in_flight += 1
        self.sent.append((self.clock.seconds(), pdu, context))
        self.unanswered.append(context)
        return len(self.sent)

    def answer_all(self, pump: MtPump, status: int = S.ESME_ROK) -> None:
        todo, self.unanswered = self.unanswered, []
        for send in todo:
            self.session.in_flight -= 1
            pump.on_response(send, P.SubmitSmResp(command_status=status,
                                                  message_id=f"v{id(send)}"))


def pump_rig(**overrides: Any) -> tuple[Clock, FakeQueues, MtPump, FakeSender, Recorded]:
    clock = Clock()
    queues = FakeQueues(clock)
    deliveries = Recorded()
    pump = MtPump(config(**overrides), queues, Nothing(), Nothing(), deliveries,  # type: ignore[arg-type]
                  clock)
    sender = FakeSender(clock)
    pump.add_session(sender)
    pump.start()
    return clock, queues, pump, sender, deliveries


def msg(i: int, parts: int = 1) -> Message:
    return Message(f"m{i}", "u", Address("S"), Address(f"{i}"),
                   tuple(Part(b"p%d" % k) for k in range(parts)), 0.0)


# --- the pump --------------------------------------------------------------------------------

def test_throughput_holds_the_rate_after_one_burst() -> None:
    """Breaks if the connector sends faster than `throughput` (the vendor throttles or
    bills us for it) or slower than the rate allows."""
    clock, queues, pump, sender, _ = pump_rig(throughput=10)
    for i in range(200):
        queues.add(msg(i), i)
    for _ in range(100):                          # 10 s in steps of 0.1 s
        sender.answer_all(pump)
        clock.advance(0.1)
    times = [t for t, _, _ in sender.sent]
    assert times[:10] == [0.0] * 10              # burst = one second of throughput
    assert 105 <= len(times) <= 111              # 10 + 10/s over 10 s
    for start in range(1, 9):
        assert sum(1 for t in times if start <= t < start + 1) <= 11
    assert len(queues.leased) <= 11              # what cannot go out soon stays queued


def test_backpressure_pauses_and_releases_without_counting_an_attempt() -> None:
    """Breaks if ESME_RTHROTTLED is retried as a failure (attempts grow, it could end
    dead-lettered) or if the pump keeps hammering the vendor during the pause."""
    clock, queues, pump, sender, deliveries = pump_rig(throttle_pause=2)
    queues.add(msg(1), 1)
    sender.answer_all(pump, S.ESME_RTHROTTLED)
    assert queues.log == [("release", 1, 0.0)]
    clock.advance(1.9)
    assert len(sender.sent) == 1                 # paused
    clock.advance(0.2)
    assert len(sender.sent) == 2
    sender.answer_all(pump)
    assert queues.log[-1] == ("ack", 1, 0.0)
    assert sender.sent[1][2].job.entry.attempts == 0 and deliveries.states == []


def test_transient_errors_retry_with_doubling_delay_then_fail_the_part() -> None:
    """Breaks if retries do not back off (10, 20, 40 s, capped), never end, or end without
    telling deliveries and dead-lettering the entry."""
    clock, queues, pump, sender, deliveries = pump_rig(retry_delay=10, retry_max_delay=30,
                                                       max_attempts=4)
    queues.add(msg(1), 1)
    for _ in range(4):
        sender.answer_all(pump, S.ESME_RSYSERR)
        clock.advance(60)
    assert [d for what, _, d in queues.log if what == "retry"] == [10.0, 20.0, 30.0]
    assert queues.log[-1][0] == "dead" and len(sender.sent) == 4
    assert deliveries.states == [("m1", 0, MessageState.UNDELIVERABLE, "008")]


def test_lost_bind_retries_only_unanswered_parts() -> None:
    """Breaks if a part the vendor already accepted is sent again after a lost bind."""
    clock, queues, pump, sender, _ = pump_rig(retry_delay=1)
    queues.add(msg(1, parts=2), 1)
    first, second = sender.unanswered
    sender.unanswered = []
    sender.session.in_flight = 0
    pump.on_response(first, P.SubmitSmResp(message_id="v1"))
    pump.on_failed(second, "closed", 0)
    assert queues.log == [("retry", 1, 1.0)]
    clock.advance(1)
    assert [s.index for _, _, s in sender.sent] == [0, 1, 1]
    sender.answer_all(pump)
    assert queues.log[-1] == ("ack", 1, 0.0)


def test_stop_releases_what_was_not_sent_and_waits_for_answers() -> None:
    """Breaks if stop acks or forgets an entry whose answer is still due, or keeps entries
    leased that never went out."""
    clock, queues, pump, sender, _ = pump_rig(window=2)
    sender.session.window = 2
    for i in range(5):
        queues.add(msg(i), i)
    pump.stop()
    stopped = pump.when_idle()
    assert not stopped.called and len(sender.sent) == 2
    sender.answer_all(pump)
    assert stopped.called
    assert sorted(what for what, _, _ in queues.log) == ["ack", "ack"]
    assert queues.leased == {} and queues.depth("") == 3


# --- reconnect backoff -----------------------------------------------------------------------

def test_backoff_policy_doubles_with_bounded_jitter() -> None:
    """Breaks if reconnect delays stop growing, exceed the maximum (+20 %), or are not
    reproducible from the injected random.Random."""
    policy = backoff_policy(1.0, 8.0, random.Random(1))
    delays = [policy(n) for n in range(1, 7)]
    for delay, base in zip(delays, [1, 2, 4, 8, 8, 8]):
        assert 0.8 * base <= delay <= 1.2 * base
    again = backoff_policy(1.0, 8.0, random.Random(1))
    assert delays == [again(n) for n in range(1, 7)]


class ClosingTransport(StringTransport):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def loseConnection(self) -> None:
        if not self.disconnecting:
            super().loseConnection()
            self.clock.callLater(0, self.protocol.connectionLost, Failure(ConnectionDone()))


class FakeEndpoint:
    """Host "down" refuses TCP; host "vendor" accepts and the bind is refused."""

    def __init__(self, clock: Clock, host: tuple[str, int], log: list[tuple[float, str]]
                 ) -> None:
        self.clock, self.host, self.log = clock, host, log

    def connect(self, factory: Any) -> Deferred[Any]:
        self.log.append((self.clock.seconds(), self.host[0]))
        proto = factory.buildProtocol(None)
        transport = ClosingTransport(self.clock)
        transport.protocol = proto
        proto.makeConnection(transport)
        self.clock.callLater(0.01, proto.dataReceived, encode(
            P.BindTransceiverResp(command_status=S.ESME_RINVPASWD), 1))
        return succeed(proto)


def test_refused_binds_alternate_hosts_and_back_off() -> None:
    """Breaks if a refused bind is not a failed attempt (no backoff: the vendor gets
    hammered), if the backup host is never tried, or a refused connection stays open."""
    clock = Clock()
    attempts: list[tuple[float, str]] = []

    def endpoint_for(host: tuple[str, int]) -> Any:
        if host[0] == "down":
            return _Refusing(clock, attempts)
        return FakeEndpoint(clock, host, attempts)
    factory = client_factory(HandlerBase, clock, SessionConfig(enquire_link_interval=0))
    endpoint = FailoverBindEndpoint((("down", 1), ("vendor", 2)), endpoint_for, factory,
                                    lambda: P.BindTransceiver(system_id="x", password="y"),
                                    lambda proto, host: None)
    service = ClientService(endpoint, Factory.forProtocol(SessionLease),  # type: ignore[arg-type]
                            retryPolicy=backoff_policy(1.0, 8.0, random.Random(3)),
                            clock=clock)
    service.startService()
    for _ in range(400):
        clock.advance(0.1)
    hosts = [h for _, h in attempts]
    assert hosts[:6] == ["down", "vendor"] * 3
    gaps = [b - a for (a, _), (b, _) in zip(attempts, attempts[1:])]
    assert gaps[0] < gaps[2] < gaps[4] and max(gaps) <= 8 * 1.2 + 0.2
    assert endpoint.last_failure is not None
    service.stopService()


class _Refusing:
    def __init__(self, clock: Clock, log: list[tuple[float, str]]) -> None:
        self.clock, self.log = clock, log

    def connect(self, factory: Any) -> Deferred[Any]:
        self.log.append((self.clock.seconds(), "down"))
        d: Deferred[Any] = Deferred()
        d.errback(ConnectionRefusedError())
        return d


# --- MO reassembly timeout ---------------------------------------------------------------------

def test_incomplete_multipart_mo_is_delivered_as_arrived_at_timeout() -> None:
    """Breaks if the parts of a long MO that never completes are lost after we answered
    them, or are delivered before the reassembly timeout."""
    clock = Clock()
    deliveries = Recorded()
    handler = InboundHandler(config(mo_reassembly_timeout=30), Nothing(), deliveries,  # type: ignore[arg-type]
                             clock, new_id=lambda at: "mo1")
    parts = mo_pdus("x" * 200 + "y" * 200, "336", "123", 0, SplitMethod.UDH8,
                    ReferenceAllocator.for_method(SplitMethod.UDH8))
    answers: list[int] = []
    for pdu in (parts[0], parts[2]):
        handler.on_request(lambda req, resp: answers.append(resp.command_status), pdu)
    assert answers == [0, 0] and deliveries.inbound_calls == []
    clock.advance(29)
    assert deliveries.inbound_calls == []
    clock.advance(1)
    [mo] = deliveries.inbound_calls
    assert mo.content == parts[0].short_message[6:] + parts[2].short_message[6:]
    assert mo.source == Address("336", 1, 1) and handler.stats.mo_partial == 1


def test_broken_udh_is_refused_with_the_decoder_status() -> None:
    """Breaks if an MO whose UDH overruns the message is delivered as garbage or crashes
    the bind instead of being answered ESME_RINVESMCLASS."""
    handler = InboundHandler(config(), Nothing(), Recorded(), Clock())  # type: ignore[arg-type]
    answers: list[int] = []
    handler.on_request(lambda req, resp: answers.append(resp.command_status),
                       P.DeliverSm(source_addr="1", destination_addr="2", esm_class=0x40,
                                   short_message=b"\x09\x00\x03"))
    assert answers == [S.ESME_RINVESMCLASS]
