"""cancel_sm by addresses and replace_sm's times, over loopback sockets on the real embedded
store: what is cancelled (only the caller's own queued messages that match, each DELETED
with its hold released), and where replace_sm moves a queued message's schedule and expiry.
Time is cancel_side's frozen clock, moved by hand."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import pytest_twisted

from cancel_side import QUEUE, Side, start_side
from customer_side import Gateway, start_gateway, submit
from smscd import smpp_cancel
from smscd.message import Address, Message, Part, load_message
from smscd.smpp import pdu as P
from smscd.smpp.message_state import MessageState
from smscd.smpp.smpp_time import format_absolute
from smscd.smpp.status import CommandStatus as S
from smscd.stores.sqlite import SqliteStore

HOUR = "000000010000000R"


@pytest_twisted.async_yield_fixture
async def side(tmp_path: Path) -> AsyncIterator[Side]:
    s = await start_side(tmp_path)
    yield s
    await s.close()


def cancel(**fields: Any) -> P.CancelSm:
    return P.CancelSm(**{"message_id": "", **fields})


# --- cancel_sm by address -------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_cancel_by_source_cancels_every_queued_match_of_the_caller(side: Side) -> None:
    """Breaks if cancel by source_addr misses one of the caller's queued messages from that
    source, cancels one from another source, or touches another user's message."""
    alice, bob = await side.bind("alice"), await side.bind("bob")
    shop = [await side.submit(alice, destination=d) for d in ("33600000001", "33600000002")]
    other = await side.submit(alice, source_addr="OTHER")
    bobs = await side.submit(bob)
    resp = await alice.request(cancel(source_addr="SHOP"))
    assert resp.command_status == S.ESME_ROK
    assert [await side.state(i) for i in shop] == [MessageState.DELETED] * 2
    assert await side.state(other) == MessageState.ENROUTE
    assert await side.state(bobs, "bob") == MessageState.ENROUTE
    assert sorted(e.key for e in side.store.queues.waiting(QUEUE)) == sorted([other, bobs])


@pytest_twisted.ensureDeferred
async def test_cancel_by_source_and_destination(side: Side) -> None:
    """Breaks if a given destination_addr does not narrow the cancellation."""
    alice = await side.bind()
    to_1 = [await side.submit(alice, destination="33600000001") for _ in range(2)]
    to_2 = await side.submit(alice, destination="33600000002")
    resp = await alice.request(cancel(source_addr="SHOP", destination_addr="33600000001"))
    assert resp.command_status == S.ESME_ROK
    assert [await side.state(i) for i in to_1] == [MessageState.DELETED] * 2
    assert await side.state(to_2) == MessageState.ENROUTE


@pytest_twisted.ensureDeferred
async def test_cancel_by_address_with_service_type(side: Side) -> None:
    """Breaks if a given service_type does not narrow the cancellation."""
    alice = await side.bind()
    cmt = await side.submit(alice, service_type="CMT")
    plain = await side.submit(alice)
    resp = await alice.request(cancel(source_addr="SHOP", service_type="CMT"))
    assert resp.command_status == S.ESME_ROK
    assert await side.state(cmt) == MessageState.DELETED
    assert await side.state(plain) == MessageState.ENROUTE


@pytest_twisted.ensureDeferred
async def test_cancel_by_address_nothing_matches_is_rcancelfail(side: Side) -> None:
    """Breaks if a cancel that matches nothing (another user's messages included) answers
    ESME_ROK or cancels anything, or if an empty message_id without source_addr is not
    refused with ESME_RINVSRCADR."""
    alice, bob = await side.bind("alice"), await side.bind("bob")
    mine = await side.submit(alice)
    assert (await bob.request(cancel(source_addr="SHOP"))).command_status \
        == S.ESME_RCANCELFAIL
    assert (await alice.request(cancel(source_addr="NOPE"))).command_status \
        == S.ESME_RCANCELFAIL
    assert (await alice.request(cancel(source_addr="SHOP", destination_addr="1"))
            ).command_status == S.ESME_RCANCELFAIL
    assert (await alice.request(cancel(destination_addr="33600000001"))).command_status \
        == S.ESME_RINVSRCADR
    assert await side.state(mine) == MessageState.ENROUTE
    assert side.store.queues.depth(QUEUE) == 1


@pytest_twisted.ensureDeferred
async def test_cancel_by_address_leaves_sent_messages(side: Side) -> None:
    """Breaks if cancel by address touches a message a connector already took and sent."""
    alice = await side.bind()
    sent = await side.submit(alice)
    queued = await side.submit(alice)
    [entry] = side.store.queues.take(QUEUE, 1)          # what a connector does, then sends
    assert entry.key == sent
    await side.store.messages.record_sent(sent, 0, "vendor1", "v-1")
    await side.store.queues.ack(entry)
    assert (await alice.request(cancel(source_addr="SHOP"))).command_status == S.ESME_ROK
    assert await side.state(sent) == MessageState.ENROUTE
    assert await side.state(queued) == MessageState.DELETED
    assert (await alice.request(cancel(source_addr="SHOP"))).command_status \
        == S.ESME_RCANCELFAIL


@pytest_twisted.ensureDeferred
async def test_cancel_by_address_releases_each_billing_hold(side: Side) -> None:
    """Breaks if a message cancelled by address keeps its billing hold (sms_count)."""
    await side.store.billing.set_sms_count("alice", 10)
    alice = await side.bind()
    for _ in range(3):
        await side.submit(alice)
    await side.submit(alice, source_addr="OTHER")
    assert side.store.billing.account("alice").sms_count == 6
    assert (await alice.request(cancel(source_addr="SHOP"))).command_status == S.ESME_ROK
    assert side.store.billing.account("alice").sms_count == 9


@pytest_twisted.ensureDeferred
async def test_cancel_by_id_checks_the_addresses_given(side: Side) -> None:
    """Breaks if a cancel_sm with a message_id and addresses cancels a message whose
    addresses differ (SMPP 3.4 §4.9: they are given for verification)."""
    alice = await side.bind()
    message_id = await side.submit(alice, destination="33600000001")
    for wrong in (dict(source_addr="OTHER"), dict(destination_addr="33600000009")):
        resp = await alice.request(cancel(message_id=message_id, **wrong))
        assert resp.command_status == S.ESME_RCANCELFAIL
    assert await side.state(message_id) == MessageState.ENROUTE
    resp = await alice.request(cancel(message_id=message_id, source_addr="SHOP",
                                      destination_addr="33600000001"))
    assert resp.command_status == S.ESME_ROK
    assert await side.state(message_id) == MessageState.DELETED


@pytest_twisted.ensureDeferred
async def test_cancel_by_address_without_a_queue_view_is_rcancelfail(tmp_path: Path) -> None:
    """Breaks if a server built without `queued` cancels anything or fails otherwise than
    with ESME_RCANCELFAIL."""
    gw: Gateway = await start_gateway(tmp_path)
    try:
        alice = await gw.bind("alice")
        message_id = (await alice.request(submit())).message_id
        assert (await alice.request(cancel(source_addr="SHOP"))).command_status \
            == S.ESME_RCANCELFAIL
        record = await gw.store.messages.get(message_id, "alice")
        assert record is not None and record.state == MessageState.ENROUTE
    finally:
        await gw.close()


# --- replace_sm schedule_delivery_time / validity_period -------------------------------------

def _at(side: Side, seconds: float) -> str:
    """An absolute SMPP time `seconds` from the frozen now."""
    return format_absolute(datetime.fromtimestamp(side.clock.now + seconds, timezone.utc))


@pytest_twisted.ensureDeferred
async def test_replace_moves_the_schedule(side: Side) -> None:
    """Breaks if replace_sm's schedule_delivery_time does not hold the queued message back
    until the new time (log and queue), or if an empty one does not keep it."""
    alice = await side.bind()
    message_id = await side.submit(alice)
    t0 = side.clock.now
    resp = await alice.request(P.ReplaceSm(message_id=message_id, short_message=b"later",
                                           schedule_delivery_time=HOUR))
    assert resp.command_status == S.ESME_ROK
    record = await side.store.messages.get(message_id, "alice")
    assert record is not None and record.message.schedule_at == t0 + 3600
    resp = await alice.request(P.ReplaceSm(message_id=message_id, short_message=b"again"))
    assert resp.command_status == S.ESME_ROK
    record = await side.store.messages.get(message_id, "alice")
    assert record is not None and record.message.schedule_at == t0 + 3600
    assert side.store.queues.take(QUEUE, 10) == []
    assert [e.key for e in side.store.queues.waiting(QUEUE)] == [message_id]
    side.clock.advance(3599)
    assert side.store.queues.take(QUEUE, 10) == []
    side.clock.advance(1)
    [entry] = side.store.queues.take(QUEUE, 10)
    assert entry.key == message_id and entry.obj.parts[0].short_message == b"again"


@pytest_twisted.ensureDeferred
async def test_replace_brings_a_scheduled_message_forward(side: Side) -> None:
    """Breaks if an absolute schedule_delivery_time earlier than the submitted one does not
    make the message ready at that earlier time."""
    alice = await side.bind()
    message_id = await side.submit(alice, schedule_delivery_time=_at(side, 7200))
    assert side.store.queues.take(QUEUE, 10) == []
    resp = await alice.request(P.ReplaceSm(message_id=message_id, short_message=b"sooner",
                                           schedule_delivery_time=_at(side, 60)))
    assert resp.command_status == S.ESME_ROK
    side.clock.advance(60)
    assert [e.key for e in side.store.queues.take(QUEUE, 10)] == [message_id]


@pytest_twisted.ensureDeferred
async def test_replace_sets_the_validity(side: Side) -> None:
    """Breaks if replace_sm's validity_period does not become the message's expiry (log and
    queue entry), so that it expires, unsent, at the new time."""
    alice = await side.bind()
    message_id = await side.submit(alice, schedule_delivery_time=HOUR,
                                   validity_period="000001000000000R")
    t0 = side.clock.now
    resp = await alice.request(P.ReplaceSm(message_id=message_id, short_message=b"x",
                                           validity_period="000000020000000R"))
    assert resp.command_status == S.ESME_ROK
    record = await side.store.messages.get(message_id, "alice")
    assert record is not None and record.message.expires_at == t0 + 7200
    [entry] = side.store.queues.waiting(QUEUE)
    assert entry.expires_at == t0 + 7200
    side.clock.advance(7200)
    assert side.store.queues.take(QUEUE, 10) == []
    assert side.store.queues.waiting(QUEUE) == []


@pytest_twisted.ensureDeferred
async def test_replace_refuses_impossible_times_and_keeps_the_message(side: Side) -> None:
    """Breaks if a validity already past, a malformed time, a schedule after the validity
    kept, or a validity before the schedule kept is not refused with its status
    (ESME_RINVEXPIRY / ESME_RINVSCHED), or if a refused replace changes the message."""
    alice = await side.bind()
    message_id = await side.submit(alice, text=b"original", schedule_delivery_time=HOUR,
                                   validity_period="000000030000000R")
    refusals = [
        (dict(validity_period=_at(side, -60)), S.ESME_RINVEXPIRY),
        (dict(validity_period="000000000000000R"), S.ESME_RINVEXPIRY),
        (dict(schedule_delivery_time="261301120000000+"), S.ESME_RINVSCHED),
        (dict(schedule_delivery_time="000000040000000R"), S.ESME_RINVSCHED),
        (dict(validity_period="000000003000000R"), S.ESME_RINVEXPIRY),
        (dict(schedule_delivery_time="000000050000000R",
              validity_period="000000040000000R"), S.ESME_RINVEXPIRY),
    ]
    for fields, status in refusals:
        resp = await alice.request(P.ReplaceSm(message_id=message_id, short_message=b"new",
                                               **fields))
        assert (fields, resp.command_status) == (fields, status)
    record = await side.store.messages.get(message_id, "alice")
    assert record is not None
    assert record.message.parts[0].short_message == b"original"
    assert (record.message.schedule_at, record.message.expires_at) \
        == (side.clock.now + 3600, side.clock.now + 3 * 3600)


@pytest_twisted.ensureDeferred
async def test_replace_with_both_times_moves_both(side: Side) -> None:
    """Breaks if a replace_sm giving both times sets only one of them."""
    alice = await side.bind()
    message_id = await side.submit(alice)
    t0 = side.clock.now
    resp = await alice.request(P.ReplaceSm(
        message_id=message_id, short_message=b"x", schedule_delivery_time=HOUR,
        validity_period=_at(side, 5400)))
    assert resp.command_status == S.ESME_ROK
    record = await side.store.messages.get(message_id, "alice")
    assert record is not None
    assert (record.message.schedule_at, record.message.expires_at) == (t0 + 3600, t0 + 5400)


@pytest_twisted.ensureDeferred
async def test_cancel_by_address_after_a_restart(tmp_path: Path, monkeypatch: Any) -> None:
    """Breaks if, once the queue entries no longer carry their Message (after a restart),
    cancel by address misses a match whose address JSON escapes, cancels another user's or
    another source's message, or decodes entries that cannot match."""
    from twisted.internet import reactor
    source = 'SH"\u00d6\\P'
    now = reactor.seconds()
    made = [Message(f"m{i}", user, Address(addr, 5), Address("33600000001", 1, 1),
                    (Part(b"hi"),), now, connector="vendor1")
            for i, (user, addr) in enumerate([("alice", source), ("alice", "OTHER"),
                                              ("bob", source), ("alice", source)])]
    store = SqliteStore.open(tmp_path / "smscd.db", reactor)
    for m in made:
        await store.messages.accept(m, QUEUE)
    await store.close()
    decoded: list[bytes] = []

    def counting_load(payload: bytes) -> Message:
        decoded.append(payload)
        return load_message(payload)
    monkeypatch.setattr(smpp_cancel, "load_message", counting_load)
    store = SqliteStore.open(tmp_path / "smscd.db", reactor)
    try:
        assert [e.obj for e in store.queues.waiting(QUEUE)] == [None] * 4
        resp = await smpp_cancel.cancel_matching(
            store.messages, None, smpp_cancel.WaitingMt(store.queues, lambda: ["vendor1"]),
            "alice", smpp_cancel.CancelCriteria(source))
        assert resp.command_status == S.ESME_ROK
        assert len(decoded) == 2
        states = [(await store.messages.get(m.id, m.user)).state for m in made]  # type: ignore
        assert states == [MessageState.DELETED, MessageState.ENROUTE, MessageState.ENROUTE,
                          MessageState.DELETED]
    finally:
        await store.close()
