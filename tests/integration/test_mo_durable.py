"""Multipart MO outlives a restart: the parts of an incomplete long MO are kept in the
embedded store (`mo_parts`) before the vendor is answered, and the whole message is
published to the customer and the parts deleted in one durable change. Store-level tests
use a Clock for store time; connector tests run over loopback with the real store."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from connectors.inbound_stats import InboundStats
from connectors.mo_assembly import MoAssembly, group_name, parse_group
from connectors.sim_pdus import mo_pdus
from smscd.deliveries import InboundMessage
from smscd.delivery_items import item_of
from customer_side import prefix_router
from smscd.dispatch import UNROUTED_MO
from smscd.smpp import pdu as P
from smscd.smpp.reassembly import concat_of
from smscd.smpp.split import ReferenceAllocator, SplitMethod
from smscd.smpp.status import CommandStatus as S
from smscd.stores.interfaces import Publication
from smscd.stores.mo_parts import StoredPart
from smscd.stores.sqlite import SqliteStore
from connector_daemon import ConnectorDaemon
from test_connector import CID, TinySmsc, connector_config
from test_sqlite_store import T0, Stores, store, stores  # noqa: F401  (fixtures)
from test_store_fast_paths import fail_writes, failure_of, stop_failing


@pytest_twisted.ensureDeferred
async def test_parts_are_kept_per_connector_first_copy_winning(stores: Stores,
                                                             store: SqliteStore) -> None:
    """Breaks if a kept part is lost by a restart, if a resent copy replaces the first,
    or if one connector's parts are loaded for another."""
    await store.mo_parts.add("vendor1", "g1", 2, b"two", T0 + 1)
    await store.mo_parts.add("vendor1", "g1", 1, b"one", T0 + 2)
    await store.mo_parts.add("vendor1", "g1", 1, b"resent", T0 + 3)
    await store.mo_parts.add("vendor2", "g1", 1, b"other", T0)
    store = await stores.reopen(store)
    assert await store.mo_parts.load("vendor1") == [StoredPart("g1", 2, b"two", T0 + 1),
                                                    StoredPart("g1", 1, b"one", T0 + 2)]
    assert [p.body for p in await store.mo_parts.load("vendor2")] == [b"other"]


@pytest_twisted.ensureDeferred
async def test_settling_deletes_the_group_and_publishes_in_one_change(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if the whole MO and the deletion of its parts take two commits (a crash in
    between would deliver it twice or lose it), or if another group's parts go too."""
    for seq in (1, 2):
        await store.mo_parts.add("vendor1", "g1", seq, b"p%d" % seq, T0)
    await store.mo_parts.add("vendor1", "g2", 1, b"q1", T0)
    commits = store.stats.commits
    await store.mo_parts.settle("vendor1", "g1",
                                Publication("deliver:acme", "mo:1", b"whole", "obj", T0 + 60))
    assert store.stats.commits == commits + 1
    [entry] = store.queues.take("deliver:acme", 5)
    assert (entry.payload, entry.obj, entry.expires_at) == (b"whole", "obj", T0 + 60)
    await store.mo_parts.settle("vendor1", "nothing")
    store = await stores.reopen(store)
    assert [(p.group, p.seq) for p in await store.mo_parts.load("vendor1")] == [("g2", 1)]
    assert [e.payload for e in store.queues.take("deliver:acme", 5)] == [b"whole"]


@pytest_twisted.ensureDeferred
async def test_a_failed_settle_keeps_the_parts_and_publishes_nothing(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if a failing settle deletes the parts without the publication or the reverse."""
    await store.mo_parts.add("vendor1", "g1", 1, b"p1", T0)
    fail_writes(stores, "queue_entries", "NEW.queue = 'deliver:acme'")
    await failure_of(store.mo_parts.settle("vendor1", "g1",
                                           Publication("deliver:acme", "mo:1", b"whole")))
    store = await stores.reopen(store)
    assert [p.body for p in await store.mo_parts.load("vendor1")] == [b"p1"]
    assert store.queues.depth("deliver:acme") == 0
    with sqlite3.connect(stores.path) as conn:
        assert conn.execute("SELECT count(*) FROM queue_entries").fetchone()[0] == 0


# --- the connector, over loopback, across restarts -------------------------------------------

TEXT = "".join(f"word{i} " for i in range(70))                    # 4 parts in GSM 7-bit


class Daemon(ConnectorDaemon):
    """The connector across restarts, its MO routed to "acme"."""
    routes = {"": "acme"}

    def mo_for_acme(self) -> list[bytes]:
        """The MO waiting for customer acme, as it will get them (taken from its queue)."""
        out = []
        for entry in self.store.queues.take("deliver:acme", 100):
            pdu = item_of(entry.obj, entry.payload).pdu
            payload = pdu.tlv("message_payload")
            out.append(payload if isinstance(payload, bytes) else pdu.short_message)
        return out

    def until_mo(self) -> Deferred[None]:
        """Fires when an MO waits for acme (published by a timer, not by an answer)."""
        return self.store.queues.when_ready("deliver:acme")


async def deliver_all(smsc: TinySmsc, pdus: list[P.DeliverSm]) -> list[int]:
    return [(await smsc.deliver(pdu)).command_status for pdu in pdus]


def long_mo(method: SplitMethod, source: str = "33700000001") -> list[P.DeliverSm]:
    parts = mo_pdus(TEXT, source, "12345", 0, method,
                    ReferenceAllocator.for_method(method))
    assert len(parts) == 4
    return parts


@pytest_twisted.ensureDeferred
async def test_parts_answered_before_a_restart_make_one_whole_mo_after_it(
        tmp_path: Path) -> None:
    """Breaks if parts the vendor was answered OK for are held in memory only (a restart
    loses them: the customer would get pieces or nothing), or if the whole MO reaches the
    customer twice or its parts stay kept after it."""
    smsc = TinySmsc()
    await smsc.start()
    d = await Daemon(tmp_path / "store.db", smsc).start()
    try:
        udh, sar = long_mo(SplitMethod.UDH8), long_mo(SplitMethod.SAR, "33700000002")
        assert await deliver_all(smsc, [udh[2], sar[0], udh[0]]) == [S.ESME_ROK] * 3
        assert len(await d.store.mo_parts.load(CID)) == 3
        d = await d.restart()
        assert await deliver_all(smsc, [udh[3], sar[1], sar[2], udh[1]]) == [S.ESME_ROK] * 4
        assert d.store.queues.depth("deliver:acme") == 1           # the UDH one: whole
        assert await deliver_all(smsc, [sar[3]]) == [S.ESME_ROK]
        assert d.mo_for_acme() == [TEXT.encode()] * 2
        assert await d.store.mo_parts.load(CID) == []
        d = await d.restart()                 # taken, never acked: handed out again
        assert d.mo_for_acme() == [TEXT.encode()] * 2             # once per long MO
    finally:
        await d.stop()
        await smsc.stop()


@pytest_twisted.ensureDeferred
async def test_a_part_not_kept_is_refused_and_its_message_waits_for_it(
        tmp_path: Path) -> None:
    """Breaks if a part is answered OK before it is durable (here: its write fails), or
    if its message completes without it, or if the resent part does not complete it."""
    smsc = TinySmsc()
    await smsc.start()
    d = await Daemon(tmp_path / "store.db", smsc).start()
    stores = Stores(d.path)
    try:
        parts = long_mo(SplitMethod.UDH16)
        fail_writes(stores, "mo_parts", "NEW.part_index = 2")
        assert await deliver_all(smsc, parts[:3]) == [S.ESME_ROK, S.ESME_RX_T_APPN, S.ESME_ROK]
        assert await deliver_all(smsc, parts[3:]) == [S.ESME_ROK]
        assert d.store.queues.depth("deliver:acme") == 0
        stop_failing(stores, "mo_parts")
        assert await deliver_all(smsc, [parts[1]]) == [S.ESME_ROK]
        assert d.mo_for_acme() == [TEXT.encode()]
        assert await d.store.mo_parts.load(CID) == []
    finally:
        await d.stop()
        await smsc.stop()


@pytest_twisted.ensureDeferred
async def test_whole_mo_not_published_keeps_its_parts(tmp_path: Path) -> None:
    """Breaks if the parts are deleted although the whole MO could not be published (or
    the reverse), or if the last part is answered OK then: the vendor must send it again,
    and the message must then reach the customer once."""
    smsc = TinySmsc()
    await smsc.start()
    d = await Daemon(tmp_path / "store.db", smsc).start()
    stores = Stores(d.path)
    try:
        parts = long_mo(SplitMethod.UDH8)
        assert await deliver_all(smsc, parts[:3]) == [S.ESME_ROK] * 3
        fail_writes(stores, "queue_entries", "NEW.queue = 'deliver:acme'")
        assert await deliver_all(smsc, parts[3:]) == [S.ESME_RX_T_APPN]
        assert len(await d.store.mo_parts.load(CID)) == 3
        stop_failing(stores, "queue_entries")
        assert await deliver_all(smsc, parts[3:]) == [S.ESME_ROK]
        assert d.mo_for_acme() == [TEXT.encode()]
        d = await d.restart()
        assert await d.store.mo_parts.load(CID) == []
        assert d.mo_for_acme() == [TEXT.encode()]
    finally:
        await d.stop()
        await smsc.stop()


@pytest_twisted.ensureDeferred
async def test_incomplete_mo_kept_across_a_restart_is_delivered_once_at_its_timeout(
        tmp_path: Path) -> None:
    """Breaks if an incomplete long MO whose parts were answered OK vanishes at a restart
    instead of reaching the customer as what arrived at its timeout, or arrives twice, or
    if its parts stay kept after that."""
    smsc = TinySmsc()
    await smsc.start()
    d = await Daemon(tmp_path / "store.db", smsc, mo_reassembly_timeout=0.3).start()
    try:
        parts = long_mo(SplitMethod.UDH8)
        assert await deliver_all(smsc, [parts[0], parts[2]]) == [S.ESME_ROK] * 2
        await d.stop()
        d = await d.start()
        await d.until_mo()
        body = [p.short_message[6:] for p in (parts[0], parts[2])]
        assert d.mo_for_acme() == [b"".join(body)]
        assert d.connector.status()["mo_partial"] == 1
        assert await d.store.mo_parts.load(CID) == []
        d = await d.restart()
        assert d.mo_for_acme() == [b"".join(body)]
        assert d.connector.status()["mo_partial"] == 0
    finally:
        await d.stop()
        await smsc.stop()


def test_group_names_read_back_and_refuse_anything_else() -> None:
    """Breaks if a stored group name does not give back its tag, key, ref and total, or
    if a damaged one is taken for a group instead of being reported."""
    key = ("336", "1", "1", "12345", "0", "1", "8")
    assert parse_group(group_name("t1", key, 300, 4)) == ("t1", key, 300, 4)
    for bad in ("", "[2,\"t\",[],1,2]", "[1,\"t\",[\"a\"],1,2]", "{}", "[1,\"t\"," + "[\"a\"]" +
                ",1]", group_name("t", key, 1, 0)):
        with pytest.raises(ValueError):
            parse_group(bad)


@pytest_twisted.ensureDeferred
async def test_whole_mo_no_rule_claims_is_kept_as_a_dead_letter(tmp_path: Path) -> None:
    """Breaks if a long MO that no MO rule claims, published with the deletion of its
    parts, is lost instead of reaching mo:unrouted's dead letters for an operator."""
    smsc = TinySmsc()
    await smsc.start()
    d = await Daemon(tmp_path / "store.db", smsc).start()
    d.dispatcher.mo_router = prefix_router({"99": "acme"})
    d.dispatcher.start()
    try:
        assert await deliver_all(smsc, long_mo(SplitMethod.UDH8)) == [S.ESME_ROK] * 4
        await d.connector.until(lambda c: d.store.queues.depth(UNROUTED_MO) == 0
                                and d.store.queues.leased(UNROUTED_MO) == 0)
        [dead] = await d.store.queues.dead_letters(UNROUTED_MO)
        assert "12345" in dead.reason
        assert item_of(None, dead.payload).pdu.tlv("message_payload") == TEXT.encode()
        assert await d.store.mo_parts.load(CID) == []
    finally:
        d.dispatcher.stop()
        await d.stop()
        await smsc.stop()


class MemoryParts:
    """MoParts in a dict, for Clock-driven tests of the assembly's timing."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], StoredPart] = {}
        self.settled: list[Publication | None] = []

    def load(self, connector: str) -> Deferred[list[StoredPart]]:
        return succeed(sorted(self.rows.values(), key=lambda p: p.received_at))

    def add(self, connector: str, group: str, seq: int, body: bytes,
            received_at: float) -> Deferred[None]:
        self.rows.setdefault((group, seq), StoredPart(group, seq, body, received_at))
        return succeed(None)

    def settle(self, connector: str, group: str,
               publication: Publication | None = None) -> Deferred[None]:
        self.rows = {k: v for k, v in self.rows.items() if k[0] != group}
        self.settled.append(publication)
        return succeed(None)


class Publishing:
    """Deliveries that hand over the publication of an MO (like the Dispatcher)."""

    def inbound_publication(self, mo: InboundMessage) -> Publication:
        return Publication("deliver:acme", f"mo:{mo.id}", mo.content, mo)

    def inbound(self, mo: InboundMessage) -> Deferred[None]:
        raise AssertionError("the publication must go with the deletion of the parts")

    def part_state(self, *args: Any) -> Deferred[None]:
        raise AssertionError("no receipts here")


def test_reloaded_group_keeps_its_first_arrival_for_the_timeout() -> None:
    """Breaks if a group rebuilt from the store at start restarts its timeout (kept parts
    would wait a whole timeout more after every restart) or is not delivered at all."""
    clock, kept = Clock(), MemoryParts()
    cfg = connector_config(1, mo_reassembly_timeout=300)
    parts = long_mo(SplitMethod.UDH8)

    def assembly() -> MoAssembly:
        a = MoAssembly(cfg, Publishing(), clock, InboundStats(), kept)  # type: ignore[arg-type]
        a.start()
        return a
    first = assembly()
    for pdu in (parts[1], parts[0]):
        info = concat_of(pdu.esm_class, pdu.short_message)
        assert info is not None
        first.part(pdu, info, clock.seconds())
        clock.advance(100)
    first.stop()
    second = assembly()
    clock.advance(99)
    assert kept.settled == [] and len(kept.rows) == 2
    clock.advance(1)
    [published] = kept.settled
    assert published is not None and published.payload == b"".join(
        p.short_message[6:] for p in parts[:2])
    assert kept.rows == {} and second.stats.mo_partial == 1
