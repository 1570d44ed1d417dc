"""Fall-through over loopback: two SMSC simulators, two real connectors, the real SQLite
store; FallThrough's grace time runs on a task.Clock (the connectors on the reactor).
Also the store's move itself: one durable change, never of a leased entry."""
from __future__ import annotations

import random
from typing import Any

import pytest_twisted
from twisted.internet.defer import gatherResults
from twisted.internet.task import Clock

from connectors.fallthrough import FallThrough
from connectors.simulator import SimulatorService
from connectors.smpp_client import ConnectorService
from smscd.deliveries import mt_queue
from smscd.message import Message, load_message
from smscd.stores.sqlite import SqliteStore

from test_connector import FakeDeliveries, connector_config, free_port, message, reactor, \
    sim_config


def candidate_message(i: int, candidates: str | None, connector: str = "vc1") -> Message:
    extra = {} if candidates is None else {"candidates": candidates}
    return message(i, rd=0, connector=connector, extra=extra)


def connector(store: SqliteStore, cid: str, port: int, **overrides: Any) -> ConnectorService:
    return ConnectorService(connector_config(port, id=cid, **overrides), reactor(), store.queues,
                            store.messages, store.correlations, FakeDeliveries(),
                            rng=random.Random(7))


def bodies(sim: SimulatorService) -> list[bytes]:
    return sorted(p.short_message for p in sim.received.submits)


class Vendors:
    """vc1 configured for a port nobody listens on (yet), vc2 bound to its simulator."""

    def __init__(self, store: SqliteStore, sim2: SimulatorService, port1: int,
                 port2: int, window: int) -> None:
        self.store, self.sim2 = store, sim2
        self.sim1: SimulatorService | None = None
        self.port1 = port1
        self.c1 = connector(store, "vc1", port1, window=window)
        self.c2 = connector(store, "vc2", port2)
        self.up = {"vc1": self.c1, "vc2": self.c2}
        self.clock = Clock()
        self.ft = FallThrough(store.queues, store.messages,
                              lambda cid: cid in self.up and self.up[cid].up,
                              lambda: self.up, self.clock, after=10.0)

    @classmethod
    async def start(cls, tmp_path: Any, window: int = 10) -> Vendors:
        sim2 = SimulatorService(sim_config(receipt_delay=60), reactor())
        port2 = await sim2.start(0)
        v = cls(SqliteStore.open(tmp_path / "store.db", reactor()), sim2, free_port(), port2,
                window)
        v.c1.start()
        v.c2.start()
        await v.c2.until(lambda c: c.up)
        return v

    async def start_sim1(self, **overrides: Any) -> SimulatorService:
        self.sim1 = SimulatorService(sim_config(receipt_delay=60, **overrides), reactor())
        await self.sim1.start(self.port1)
        return self.sim1

    async def publish(self, messages: list[Message]) -> None:
        await gatherResults([self.store.messages.accept(m, mt_queue("vc1")) for m in messages])

    def drained(self, c: ConnectorService) -> Any:
        q, name = self.store.queues, mt_queue(c.name)
        return c.until(lambda _: q.depth(name) == 0 and q.leased(name) == 0)

    async def close(self) -> None:
        self.ft.stop()
        await self.c1.stop()
        await self.c2.stop()
        for sim in (self.sim1, self.sim2):
            if sim is not None:
                await sim.stop()
        await self.store.close()


@pytest_twisted.ensureDeferred
async def test_messages_for_a_down_connector_reach_the_candidate_once_after_the_grace_time(
        tmp_path: Any) -> None:
    """Breaks if failover messages queued for a connector that is down wait for it forever,
    move before the grace time, reach the next vendor twice, or the log keeps the old
    connector (cancel_sm would look in the wrong queue)."""
    v = await Vendors.start(tmp_path)
    try:
        await v.publish([candidate_message(i, "vc2") for i in range(5)])
        v.ft.start()
        v.clock.advance(1)                                   # vc1 first seen down
        v.clock.pump([1] * 9)
        assert v.store.queues.depth(mt_queue("vc1")) == 5 and v.sim2.received.total == 0
        v.clock.advance(1)                                   # down for 10 s
        await v.sim2.until(lambda s: s.received.total >= 5)
        await v.drained(v.c2)
        assert bodies(v.sim2) == [f"msg {i} part 0".encode() for i in range(5)]
        assert v.store.queues.depth(mt_queue("vc1")) == 0 and v.ft.moved == 5
        record = await v.store.messages.find("m00003")
        assert record is not None
        assert record.message.connector == "vc2" and "candidates" not in record.message.extra
        assert record.parts[0].connector == "vc2" and record.parts[0].vendor_id
        v.clock.pump([1] * 5)                                # nothing more happens
        assert v.sim2.received.total == 5
    finally:
        await v.close()


@pytest_twisted.ensureDeferred
async def test_messages_without_candidates_stay_and_go_when_their_connector_comes_back(
        tmp_path: Any) -> None:
    """Breaks if a static-route message (no candidates) is moved, or lost while its
    connector is down, or not sent once it is back."""
    v = await Vendors.start(tmp_path)
    try:
        await v.publish([candidate_message(i, None) for i in range(3)]
                        + [candidate_message(9, "vc3")])      # vc3 does not exist: never up
        v.ft.start()
        v.clock.pump([1] * 30)
        assert v.store.queues.depth(mt_queue("vc1")) == 4 and v.ft.moved == 0
        sim1 = await v.start_sim1()
        await v.drained(v.c1)
        assert bodies(sim1) == [b"msg 0 part 0", b"msg 1 part 0", b"msg 2 part 0",
                                b"msg 9 part 0"]
        assert v.sim2.received.total == 0
    finally:
        await v.close()


@pytest_twisted.ensureDeferred
async def test_an_operator_stop_moves_what_waits_and_not_what_is_in_flight(
        tmp_path: Any) -> None:
    """Breaks if fall-through moves an entry in flight (its vendor would get it and so
    would the next one), or misses a connector that an operator stopped while bound."""
    v = await Vendors.start(tmp_path, window=4)
    try:
        sim1 = await v.start_sim1(latency=0.3)     # answers held: 4 parts stay in flight
        await v.c1.until(lambda c: c.up)
        await v.publish([candidate_message(i, "vc2") for i in range(10)])
        await sim1.until(lambda s: s.received.total >= 4)
        stopping = v.c1.stop()                     # waits for the 4 answers
        assert not v.c1.up and v.store.queues.leased(mt_queue("vc1")) == 4
        await v.ft.check()
        v.clock.advance(10)
        assert await v.ft.check() == 6
        await stopping
        await v.sim2.until(lambda s: s.received.total >= 6)
        await v.drained(v.c2)
        assert (sim1.received.total, v.sim2.received.total) == (4, 6)
        assert sorted(bodies(sim1) + bodies(v.sim2)) == \
            sorted(f"msg {i} part 0".encode() for i in range(10))
        assert v.store.queues.depth(mt_queue("vc1")) == 0
        assert v.store.queues.leased(mt_queue("vc1")) == 0
    finally:
        await v.close()


@pytest_twisted.ensureDeferred
async def test_a_restart_between_the_move_and_sending_loses_nothing(tmp_path: Any) -> None:
    """Breaks if a move is not durable as a whole: after a restart the message must be in
    the new connector's queue only, with its new body, and reach that vendor once."""
    store = SqliteStore.open(tmp_path / "store.db", reactor())
    await gatherResults([store.messages.accept(candidate_message(i, "vc2,vc3"), mt_queue("vc1"))
                         for i in range(4)])
    clock = Clock()
    ft = FallThrough(store.queues, store.messages, lambda cid: cid == "vc2",
                     lambda: ["vc1"], clock, after=5.0)
    ft.check()
    clock.advance(5)
    assert await ft.check() == 4
    await store.close()                           # vc2 never got to send them

    sim2 = SimulatorService(sim_config(receipt_delay=60), reactor())
    port2 = await sim2.start(0)
    store = SqliteStore.open(tmp_path / "store.db", reactor())
    assert store.queues.depth(mt_queue("vc1")) == 0
    [entry, *_] = store.queues.waiting(mt_queue("vc2"))
    moved = load_message(entry.payload)
    assert (moved.connector, moved.extra) == ("vc2", {"candidates": "vc3"})
    c2 = connector(store, "vc2", port2)
    c2.start()
    try:
        await sim2.until(lambda s: s.received.total >= 4)
        q = store.queues
        await c2.until(lambda _: q.depth(mt_queue("vc2")) == 0 and q.leased(mt_queue("vc2")) == 0)
        assert bodies(sim2) == [f"msg {i} part 0".encode() for i in range(4)]
    finally:
        await c2.stop()
        await sim2.stop()
        await store.close()


# --- the store's move --------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_move_skips_leased_and_unknown_entries_and_keeps_expiry(tmp_path: Any) -> None:
    """Breaks if an entry in flight can be moved (it would be sent twice), or a move loses
    the entry's expiry or leaves a copy behind."""
    store = SqliteStore.open(tmp_path / "store.db", reactor())
    try:
        q = store.queues
        await q.publish("a", "k1", b"one", expires_at=10**10)
        await q.publish("a", "k2", b"two")
        [leased] = q.take("a", 1)
        assert leased.key == "k1"
        assert await q.move("a", "k1", "b", b"x") is False
        assert await q.move("a", "nope", "b", b"x") is False
        assert [e.key for e in q.waiting("a")] == ["k2"]
        await q.release(leased)
        assert await q.move("a", "k1", "b", b"ONE") is True
        assert (q.depth("a"), q.depth("b")) == (1, 1)
        [moved] = q.take("b", 5)
        assert (moved.key, moved.payload, moved.expires_at, moved.attempts) == \
            ("k1", b"ONE", 10**10, 0)
        await q.ack(moved)
    finally:
        await store.close()
    store = SqliteStore.open(tmp_path / "store.db", reactor())
    try:
        assert (store.queues.depth("a"), store.queues.depth("b")) == (1, 0)
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_a_rerouted_message_can_be_cancelled_in_its_new_queue(tmp_path: Any) -> None:
    """Breaks if reroute leaves the log's body on the old connector or the entry in the
    old queue, so that cancel_sm (which looks in the logged connector's queue) misses it."""
    store = SqliteStore.open(tmp_path / "store.db", reactor())
    try:
        m = candidate_message(1, "vc2")
        await store.messages.accept(m, mt_queue("vc1"))
        new = candidate_message(1, None, connector="vc2")
        assert await store.messages.reroute(new, mt_queue("vc1"), mt_queue("vc2")) is True
        assert await store.messages.reroute(new, mt_queue("vc1"), mt_queue("vc2")) is False
        record = await store.messages.get(m.id, "acme")
        assert record is not None and record.message.connector == "vc2"
        assert await store.messages.cancel(m.id, "acme", mt_queue("vc1")) is False
        assert await store.messages.cancel(m.id, "acme", mt_queue("vc2")) is True
    finally:
        await store.close()
