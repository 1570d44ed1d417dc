"""The customer-facing SMPP server over loopback sockets, on the real embedded store:
binds and their refusals, submissions answered only once durable, throttling, windows,
submit_multi, query/cancel/replace, and what the session answers for bad input."""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import pytest_twisted
import smpplib.client
import smpplib.exceptions
from twisted.internet.defer import Deferred, DeferredList, gatherResults
from twisted.internet.threads import deferToThread

from customer_side import (NO_ROUTE_PREFIX, PASSWORD, Gateway, Inbox, ManualClock,
                           start_gateway, submit)
from smscd.deliveries import mt_queue
from smscd.lockout import BindLockout
from smscd.message import Message
from smscd.smpp import pdu as P
from smscd.smpp.codec import encode
from smscd.smpp.message_state import MessageState
from smscd.smpp.session import SessionConfig
from smscd.smpp.status import CommandStatus as S
from smscd.smpp.tlv import tlvs
from smscd.smpp_protocol import BindFailed, SmppProtocol
from smscd.smpp_server import ServerSettings
from smscd.stores.sqlite_log import SqliteMessageLog


@pytest_twisted.async_yield_fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    gateway = await start_gateway(tmp_path)
    yield gateway
    await gateway.close()


def _reactor() -> Any:
    from twisted.internet import reactor
    return reactor


# --- binds ----------------------------------------------------------------------------------

def _smpplib_bind(port: int, kind: str, system_id: str, password: str) -> int:
    """Blocking smpplib: bind as `kind`, unbind; returns the bind_resp status."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    client.connect()
    try:
        getattr(client, f"bind_{kind}")(system_id=system_id, password=password)
        client.unbind()
        return 0
    except smpplib.exceptions.PDUError as e:
        return int(e.args[1])
    finally:
        client.disconnect()


@pytest_twisted.ensureDeferred
async def test_smpplib_binds_as_transmitter_receiver_transceiver(gw: Gateway) -> None:
    """Breaks if an independent ESME cannot bind in each of the three modes with the
    user's password."""
    for kind in ("transmitter", "receiver", "transceiver"):
        assert await deferToThread(_smpplib_bind, gw.port, kind, "alice", PASSWORD) == 0


@pytest_twisted.ensureDeferred
async def test_wrong_password_and_unknown_user_statuses(gw: Gateway) -> None:
    """Breaks if a wrong password is not ESME_RINVPASWD or an unknown user not
    ESME_RINVSYSID."""
    assert await deferToThread(_smpplib_bind, gw.port, "transceiver", "alice", "nope") \
        == S.ESME_RINVPASWD
    assert await deferToThread(_smpplib_bind, gw.port, "transmitter", "mallory", "x") \
        == S.ESME_RINVSYSID


async def _bind_status(gateway: Gateway, user: str, password: str) -> int:
    try:
        proto = await gateway.bind(user, password)
    except BindFailed as e:
        return e.status
    proto.close()
    await proto.when_closed()
    return 0


@pytest_twisted.ensureDeferred
async def test_lockout_after_repeated_failures_then_lifted(tmp_path: Path) -> None:
    """Breaks if repeated failed binds do not lock the user out (even with the right
    password, ESME_RBINDFAIL) or if the lock does not lift after its delay."""
    clock = ManualClock(_reactor())
    gateway = await start_gateway(tmp_path, clock=clock,
                                  lockout=BindLockout(free_failures=2, base_delay=10.0))
    try:
        assert await _bind_status(gateway, "alice", "bad1") == S.ESME_RINVPASWD
        assert await _bind_status(gateway, "alice", "bad2") == S.ESME_RINVPASWD
        assert await _bind_status(gateway, "alice", "bad3") == S.ESME_RINVPASWD
        assert await _bind_status(gateway, "alice", PASSWORD) == S.ESME_RBINDFAIL
        clock.advance(9.0)
        assert await _bind_status(gateway, "alice", PASSWORD) == S.ESME_RBINDFAIL
        clock.advance(1.5)
        assert await _bind_status(gateway, "alice", PASSWORD) == 0
    finally:
        await gateway.close()


@pytest_twisted.ensureDeferred
async def test_too_many_binds_is_rbindfail(tmp_path: Path) -> None:
    """Breaks if a user can hold more simultaneous binds (of any type) than max_bindings,
    if the refusal is not Jasmin's ESME_RBINDFAIL, or if a freed slot cannot be bound again."""
    gateway = await start_gateway(tmp_path, users={"alice": {"max_bindings": 2}})
    try:
        first = await gateway.bind(kind=P.BindTransmitter)
        await gateway.bind(kind=P.BindReceiver)
        with pytest.raises(BindFailed) as refused:
            await gateway.bind(kind=P.BindTransceiver)
        assert refused.value.status == S.ESME_RBINDFAIL
        first.unbind()
        await first.when_closed()
        await gateway.bind(kind=P.BindTransceiver)
    finally:
        await gateway.close()


# --- what the session answers -----------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_unknown_command_gets_generic_nack_and_bind_survives(gw: Gateway) -> None:
    """Breaks if an unknown command_id is not answered generic_nack ESME_RINVCMDID, or if
    the bind does not survive it."""
    inbox = Inbox(_reactor())
    proto = await gw.bind(handler=inbox)
    proto.transport.write(struct.pack(">IIII", 16, 0x00000099, 0, 77))
    resp = await proto.request(submit())
    assert resp.command_status == S.ESME_ROK
    [nack] = inbox.unexpected
    assert isinstance(nack, P.GenericNack) and nack.command_status == S.ESME_RINVCMDID
    assert nack.sequence_number == 77


@pytest_twisted.ensureDeferred
async def test_malformed_pdu_gets_its_status_and_bind_survives(gw: Gateway) -> None:
    """Breaks if a submit_sm with an unterminated source_addr is not answered
    submit_sm_resp ESME_RINVSRCADR, or if the bind does not survive it."""
    inbox = Inbox(_reactor())
    proto = await gw.bind(handler=inbox)
    body = b"\x00" + b"\x05\x00" + b"A" * 30 + b"\x00"
    proto.transport.write(struct.pack(">IIII", 16 + len(body), 0x00000004, 0, 55) + body)
    resp = await proto.request(submit())
    assert resp.command_status == S.ESME_ROK
    [bad] = inbox.unexpected
    assert isinstance(bad, P.SubmitSmResp) and bad.command_status == S.ESME_RINVSRCADR
    assert bad.sequence_number == 55


@pytest_twisted.ensureDeferred
async def test_submit_from_receiver_bind_is_rinvbndsts(gw: Gateway) -> None:
    """Breaks if a receiver bind may submit."""
    inbox = Inbox(_reactor())
    proto = await gw.bind(kind=P.BindReceiver, handler=inbox)
    proto.transport.write(encode(submit(), 31))      # our own session would refuse to
    await inbox.barrier(proto)
    resp = inbox.unexpected[0]
    assert isinstance(resp, P.SubmitSmResp) and resp.command_status == S.ESME_RINVBNDSTS
    assert gw.store.queues.depth(mt_queue("vendor1")) == 0


# --- submit_sm ------------------------------------------------------------------------------

class GatedLog:
    """The real message log, but `accept` answers only when the test opens the gate; the
    real commits are there to wait on."""

    def __init__(self, real: SqliteMessageLog) -> None:
        self.real = real
        self.committed: list[Deferred[None]] = []
        self.held: list[Deferred[None]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def accept(self, message: Message, queue: str) -> Deferred[None]:
        real = self.real.accept(message, queue)
        self.committed.append(real)
        held: Deferred[None] = Deferred()
        self.held.append(held)
        both = gatherResults([real, held])
        return both.addCallback(lambda _: None)

    def open(self) -> None:
        for d in self.held:
            if not d.called:
                d.callback(None)


@pytest_twisted.ensureDeferred
async def test_submit_answered_only_once_stored(tmp_path: Path) -> None:
    """Breaks if submit_sm_resp leaves before the message log says the message is stored,
    or if the id it carries is not the stored message's."""
    gated: list[GatedLog] = []

    def wrap(real: SqliteMessageLog) -> GatedLog:
        gated.append(GatedLog(real))
        return gated[0]
    gateway = await start_gateway(tmp_path, wrap_log=wrap)
    try:
        proto = await gateway.bind()
        answer = proto.request(submit(registered_delivery=1))
        answers: list[P.Pdu] = []

        def arrived(resp: P.Pdu) -> P.Pdu:
            answers.append(resp)
            return resp
        answer.addCallback(arrived)
        while not gated[0].committed:
            await proto.request(P.QuerySm(message_id="none"))
        await gated[0].committed[0]
        await proto.request(P.QuerySm(message_id="none"))   # answered after the commit
        assert answers == []
        gated[0].open()
        resp = await answer
        assert resp.command_status == S.ESME_ROK and 0 < len(resp.message_id) <= 64
        record = await gateway.store.messages.get(resp.message_id, "alice")
        assert record is not None and record.message.registered_delivery == 1
        assert record.message.connector == "vendor1"
        assert gateway.store.queues.depth(mt_queue("vendor1")) == 1
    finally:
        await gateway.close()


@pytest_twisted.ensureDeferred
async def test_window_of_50_outstanding_submits_all_answered(gw: Gateway) -> None:
    """Breaks if 50 submits outstanding on one bind are not all answered ESME_ROK with 50
    distinct ids, each of them stored."""
    proto = await gw.bind(window=50)
    resps = await gatherResults([proto.request(submit(f"3360000{i:04d}")) for i in range(50)])
    assert [r.command_status for r in resps] == [S.ESME_ROK] * 50
    ids = {r.message_id for r in resps}
    assert len(ids) == 50
    records = await gatherResults([gw.store.messages.get(i, "alice") for i in ids])
    assert all(r is not None for r in records)
    assert gw.store.queues.depth(mt_queue("vendor1")) == 50


@pytest_twisted.ensureDeferred
async def test_beyond_the_customer_window_is_throttled(tmp_path: Path) -> None:
    """Breaks if a customer can have more unanswered requests than max_inbound_pending
    (the one beyond is ESME_RTHROTTLED at once), or if the held ones are not answered."""
    gated: list[GatedLog] = []

    def wrap(real: SqliteMessageLog) -> GatedLog:
        gated.append(GatedLog(real))
        return gated[0]
    settings = ServerSettings(session=SessionConfig(max_inbound_pending=5))
    gateway = await start_gateway(tmp_path, wrap_log=wrap, settings=settings)
    try:
        proto = await gateway.bind(window=10)
        held = [proto.request(submit()) for _ in range(5)]
        over = await proto.request(submit())
        assert over.command_status == S.ESME_RTHROTTLED
        gated[0].open()
        resps = await gatherResults(held)
        assert [r.command_status for r in resps] == [S.ESME_ROK] * 5
    finally:
        await gateway.close()


@pytest_twisted.ensureDeferred
async def test_validation_and_routing_statuses(gw: Gateway) -> None:
    """Breaks if a wrong field does not get its own status (reserved source TON, bad
    registered_delivery, schedule in a bad format) or no route is not ESME_RINVDSTADR;
    nothing refused may be stored."""
    proto = await gw.bind()
    cases = [(submit(source_addr_ton=7), S.ESME_RINVSRCTON),
             (submit(registered_delivery=0x80), S.ESME_RINVREGDLVFLG),
             (submit(schedule_delivery_time="251399000000000+"), S.ESME_RINVSCHED),
             (submit(destination_addr=""), S.ESME_RINVDSTADR),
             (submit(destination_addr=NO_ROUTE_PREFIX + "1234"), S.ESME_RINVDSTADR),
             (submit(short_message=b"x", tlvs=tlvs(message_payload=b"y")), S.ESME_RINVMSGLEN),
             (submit(short_message=b"", data_coding=4,
                     tlvs=tlvs(message_payload=b"z" * 3000)), S.ESME_RINVMSGLEN)]
    for pdu, status in cases:
        resp = await proto.request(pdu)
        assert resp.command_status == status, pdu
    assert gw.store.queues.depth(mt_queue("vendor1")) == 0


@pytest_twisted.ensureDeferred
async def test_data_sm_accepted_with_payload(gw: Gateway) -> None:
    """Breaks if data_sm is not accepted like submit_sm (data_sm_resp with a stored id,
    message_payload kept on the part)."""
    proto = await gw.bind()
    resp = await proto.request(P.DataSm(source_addr="SHOP", destination_addr="33600000002",
                                        registered_delivery=1,
                                        tlvs=tlvs(message_payload=b"payload text")))
    assert isinstance(resp, P.DataSmResp) and resp.command_status == S.ESME_ROK
    record = await gw.store.messages.get(resp.message_id, "alice")
    assert record is not None
    assert record.message.parts[0].tlvs[0].value == b"payload text"


@pytest_twisted.ensureDeferred
async def test_throttled_beyond_the_users_rate_across_two_binds(tmp_path: Path) -> None:
    """Breaks if the user's throughput is counted per bind instead of per user, if the
    submit beyond it is not ESME_RTHROTTLED (0x58), or if tokens do not come back."""
    clock = ManualClock(_reactor())
    gateway = await start_gateway(tmp_path, clock=clock,
                                  users={"alice": {"throughput": 2.0}, "bob": {}})
    try:
        a = await gateway.bind(kind=P.BindTransmitter)
        b = await gateway.bind(kind=P.BindTransceiver)
        assert (await a.request(submit())).command_status == S.ESME_ROK
        assert (await b.request(submit())).command_status == S.ESME_ROK
        assert (await a.request(submit())).command_status == S.ESME_RTHROTTLED
        assert (await b.request(submit())).command_status == S.ESME_RTHROTTLED
        clock.advance(0.5)
        assert (await b.request(submit())).command_status == S.ESME_ROK
        bob = await gateway.bind("bob")
        assert (await bob.request(submit())).command_status == S.ESME_ROK
    finally:
        await gateway.close()


# --- submit_multi ---------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_submit_multi_lists_each_bad_destination(gw: Gateway) -> None:
    """Breaks if submit_multi does not store one message per good destination, or does not
    list each bad one (distribution list, reserved TON, no route) with its status."""
    proto = await gw.bind()
    resp = await proto.request(P.SubmitMulti(
        source_addr="SHOP", registered_delivery=1, short_message=b"to many",
        dest_addresses=(P.SmeAddress(1, 1, "33600000010"), P.DistributionList("friends"),
                        P.SmeAddress(9, 1, "33600000011"),
                        P.SmeAddress(1, 1, NO_ROUTE_PREFIX + "55"),
                        P.SmeAddress(1, 1, "33600000012"))))
    assert isinstance(resp, P.SubmitMultiResp) and resp.command_status == S.ESME_ROK
    assert [(u.destination_addr, u.error_status_code) for u in resp.unsuccess_smes] == [
        ("friends", S.ESME_RINVDLNAME), ("33600000011", S.ESME_RINVDSTTON),
        (NO_ROUTE_PREFIX + "55", S.ESME_RINVDSTADR)]
    assert gw.store.queues.depth(mt_queue("vendor1")) == 2
    record = await gw.store.messages.get(resp.message_id, "alice")
    assert record is not None and record.message.destination.addr == "33600000010"
    other = await gw.store.messages.get(f"{resp.message_id}-4", "alice")
    assert other is not None and other.message.destination.addr == "33600000012"


# --- query_sm / cancel_sm / replace_sm ------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_query_sm_own_and_other_users_message(gw: Gateway) -> None:
    """Breaks if query_sm does not report the logged state (final_date once final), or if
    one user can learn anything about another user's message."""
    alice = await gw.bind("alice")
    bob = await gw.bind("bob")
    message_id = (await alice.request(submit())).message_id
    resp = await alice.request(P.QuerySm(message_id=message_id, source_addr="SHOP"))
    assert resp.command_status == S.ESME_ROK
    assert (resp.message_state, resp.final_date) == (MessageState.ENROUTE, "")
    assert (await bob.request(P.QuerySm(message_id=message_id))).command_status \
        == S.ESME_RQUERYFAIL
    assert (await alice.request(P.QuerySm(message_id="nonexistent"))).command_status \
        == S.ESME_RQUERYFAIL
    await gw.store.messages.record_state(message_id, 0, MessageState.UNDELIVERABLE, "011",
                                         gw.reactor.seconds())
    resp = await alice.request(P.QuerySm(message_id=message_id))
    assert resp.message_state == MessageState.UNDELIVERABLE
    assert resp.final_date and resp.error_code == 11


@pytest_twisted.ensureDeferred
async def test_cancel_sm_while_queued(gw: Gateway) -> None:
    """Breaks if cancel_sm does not take a still-queued message out of its connector's
    queue (state DELETED), or succeeds twice, or for another user."""
    alice = await gw.bind("alice")
    bob = await gw.bind("bob")
    message_id = (await alice.request(submit())).message_id
    assert (await bob.request(P.CancelSm(message_id=message_id))).command_status \
        == S.ESME_RCANCELFAIL
    assert (await alice.request(P.CancelSm(message_id=message_id))).command_status \
        == S.ESME_ROK
    assert gw.store.queues.depth(mt_queue("vendor1")) == 0
    assert (await alice.request(P.QuerySm(message_id=message_id))).message_state \
        == MessageState.DELETED
    assert (await alice.request(P.CancelSm(message_id=message_id))).command_status \
        == S.ESME_RCANCELFAIL


@pytest_twisted.ensureDeferred
async def test_replace_sm_while_queued(gw: Gateway) -> None:
    """Breaks if replace_sm does not change the queued message's text (log and queue), or
    works on a message that is no longer queued."""
    alice = await gw.bind("alice")
    message_id = (await alice.request(submit(text=b"old"))).message_id
    resp = await alice.request(P.ReplaceSm(message_id=message_id, short_message=b"new text",
                                           registered_delivery=1))
    assert resp.command_status == S.ESME_ROK
    record = await gw.store.messages.get(message_id, "alice")
    assert record is not None and record.message.parts[0].short_message == b"new text"
    [entry] = gw.store.queues.take(mt_queue("vendor1"), 10)
    assert isinstance(entry.obj, Message) and entry.obj.parts[0].short_message == b"new text"
    resp = await alice.request(P.ReplaceSm(message_id=message_id, short_message=b"late"))
    assert resp.command_status == S.ESME_RREPLACEFAIL
