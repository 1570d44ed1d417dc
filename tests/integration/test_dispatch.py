"""Receipts and MO to customers over loopback binds, on the real embedded store: the
dispatcher (`Deliveries`) queues them durably per user, customer delivery sends them to
receiver binds, holds them while the customer is away, and retries with backoff."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import json

import pytest
import pytest_twisted

from customer_side import Gateway, Inbox, prefix_router, start_gateway, submit
from smscd.customer_delivery import RetryPolicy
from smscd.deliveries import InboundMessage, deliver_queue
from smscd.delivery_items import MO, RECEIPT, DeliverItem, _as_dict, dump_item, load_item
from smscd.dispatch import UNROUTED_MO, mo_pdu
from smscd.message import Address, UnsupportedFormat
from smscd.smpp import pdu as P
from smscd.smpp.message_state import MessageState
from smscd.smpp.receipt import Receipt, parse_receipt
from smscd.smpp.status import CommandStatus as S
from smscd.smpp.tlv import tlvs

MO_RULES = {"4470": "alice", "44701": "bob"}


@pytest_twisted.async_yield_fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    gateway = await start_gateway(tmp_path, mo_rules=MO_RULES)
    yield gateway
    await gateway.close()


def vendor_receipt(state: MessageState, stat: str) -> Receipt:
    return Receipt(message_id="vendor-77", state=state, stat=stat, delivered=1,
                   submit_date=datetime(2025, 1, 2, 3, 4, tzinfo=timezone.utc),
                   done_date=datetime(2025, 1, 2, 3, 5, tzinfo=timezone.utc))


async def submitted(gw: Gateway, registered_delivery: int = 1) -> str:
    tx = await gw.bind(kind=P.BindTransmitter)
    resp = await tx.request(submit(registered_delivery=registered_delivery))
    assert resp.command_status == S.ESME_ROK
    return resp.message_id


def assert_receipt_for(pdu: P.DeliverSm, message_id: str, stat: str) -> None:
    assert pdu.esm_class == 0x04
    assert pdu.tlv("receipted_message_id") == message_id
    parsed = parse_receipt(pdu.short_message.decode("latin-1"), {})
    assert parsed is not None and parsed.message_id == message_id and parsed.stat == stat
    assert (pdu.source_addr, pdu.destination_addr) == ("33600000001", "SHOP")


# --- receipts -------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_receipt_reaches_the_receiver_bind_with_our_id(gw: Gateway) -> None:
    """Breaks if a DELIVRD for a message with registered_delivery 1 does not reach the
    customer's RX bind as a receipt carrying our message id (not the vendor's)."""
    message_id = await submitted(gw)
    inbox = Inbox(gw.reactor)
    await gw.bind(kind=P.BindReceiver, handler=inbox)
    await gw.dispatcher.part_state(message_id, 0, MessageState.DELIVERED, "000",
                                   vendor_receipt(MessageState.DELIVERED, "DELIVRD"),
                                   gw.reactor.seconds())
    [pdu] = await inbox.when(1)
    assert_receipt_for(pdu, message_id, "DELIVRD")
    record = await gw.store.messages.get(message_id, "alice")
    assert record is not None and record.state is MessageState.DELIVERED


@pytest_twisted.ensureDeferred
async def test_receipt_on_a_transceiver_bind(gw: Gateway) -> None:
    """Breaks if the bind that submitted (a TRX) does not get the receipt too, including
    a failure decided here (no vendor receipt)."""
    inbox = Inbox(gw.reactor)
    trx = await gw.bind(kind=P.BindTransceiver, handler=inbox)
    message_id = (await trx.request(submit(registered_delivery=1))).message_id
    await gw.dispatcher.part_state(message_id, 0, MessageState.REJECTED, "011", None,
                                   gw.reactor.seconds())
    [pdu] = await inbox.when(1)
    assert_receipt_for(pdu, message_id, "REJECTD")


@pytest_twisted.ensureDeferred
async def test_receipt_held_while_unbound_and_delivered_on_bind(gw: Gateway) -> None:
    """Breaks if a receipt for a customer with no receiver bind is lost instead of waiting
    in its queue and going out as soon as a receiver binds."""
    message_id = await submitted(gw)
    await gw.dispatcher.part_state(message_id, 0, MessageState.DELIVERED, "000",
                                   vendor_receipt(MessageState.DELIVERED, "DELIVRD"),
                                   gw.reactor.seconds())
    assert gw.store.queues.depth(deliver_queue("alice")) == 1
    inbox = Inbox(gw.reactor)
    await gw.bind(kind=P.BindReceiver, handler=inbox)
    [pdu] = await inbox.when(1)
    assert_receipt_for(pdu, message_id, "DELIVRD")


@pytest_twisted.ensureDeferred
async def test_error_answer_is_retried_with_backoff_then_delivered(gw: Gateway) -> None:
    """Breaks if a receipt the customer answers with an error is dropped or retried at
    once instead of after the backoff delay, or not acked once answered ESME_ROK."""
    message_id = await submitted(gw)
    inbox = Inbox(gw.reactor, statuses=(S.ESME_RSYSERR, S.ESME_RX_T_APPN))
    rx = await gw.bind(kind=P.BindReceiver, handler=inbox)
    await gw.dispatcher.part_state(message_id, 0, MessageState.DELIVERED, "000",
                                   vendor_receipt(MessageState.DELIVERED, "DELIVRD"),
                                   gw.reactor.seconds())
    pdus = await inbox.when(3)
    for pdu in pdus:
        assert_receipt_for(pdu, message_id, "DELIVRD")
    policy = RetryPolicy(initial=0.05, cap=0.2)
    assert inbox.times[1] - inbox.times[0] >= policy.delay(0)
    assert inbox.times[2] - inbox.times[1] >= policy.delay(1)
    await inbox.barrier(rx)                # the server has read the third answer
    queue = deliver_queue("alice")
    assert gw.store.queues.depth(queue) == 0 and gw.store.queues.leased(queue) == 0
    assert await gw.store.queues.dead_letters(queue) == []


@pytest_twisted.ensureDeferred
async def test_receipts_round_robin_over_two_receiver_binds(gw: Gateway) -> None:
    """Breaks if receipts pile on one of the user's receiver binds instead of alternating."""
    ids = [await submitted(gw) for _ in range(4)]
    first, second = Inbox(gw.reactor), Inbox(gw.reactor)
    await gw.bind(kind=P.BindReceiver, handler=first)
    await gw.bind(kind=P.BindTransceiver, handler=second)
    for message_id in ids:
        await gw.dispatcher.part_state(message_id, 0, MessageState.DELIVERED, "000", None,
                                       gw.reactor.seconds())
    await first.when(2)
    await second.when(2)
    got = {p.tlv("receipted_message_id") for p in first.pdus + second.pdus}
    assert got == set(ids)


@pytest_twisted.ensureDeferred
async def test_failure_only_receipts(gw: Gateway) -> None:
    """Breaks if registered_delivery 2 (failure only) gets a receipt for DELIVRD, or none
    for UNDELIV."""
    delivered = await submitted(gw, registered_delivery=2)
    failed = await submitted(gw, registered_delivery=2)
    queue = deliver_queue("alice")
    await gw.dispatcher.part_state(delivered, 0, MessageState.DELIVERED, "000",
                                   vendor_receipt(MessageState.DELIVERED, "DELIVRD"),
                                   gw.reactor.seconds())
    assert gw.store.queues.depth(queue) == 0
    await gw.dispatcher.part_state(failed, 0, MessageState.UNDELIVERABLE, "001",
                                   vendor_receipt(MessageState.UNDELIVERABLE, "UNDELIV"),
                                   gw.reactor.seconds())
    assert gw.store.queues.depth(queue) == 1
    inbox = Inbox(gw.reactor)
    await gw.bind(kind=P.BindReceiver, handler=inbox)
    [pdu] = await inbox.when(1)
    assert_receipt_for(pdu, failed, "UNDELIV")


@pytest_twisted.ensureDeferred
async def test_submit_multi_receipts_carry_the_id_the_customer_was_given(gw: Gateway) -> None:
    """Breaks if the receipt of a submit_multi destination carries an internal id instead
    of the submit_multi_resp's message_id."""
    inbox = Inbox(gw.reactor)
    trx = await gw.bind(handler=inbox)
    resp = await trx.request(P.SubmitMulti(
        source_addr="SHOP", registered_delivery=1, short_message=b"hi",
        dest_addresses=(P.SmeAddress(1, 1, "33600000001"), P.SmeAddress(1, 1, "33600000002"))))
    await gw.dispatcher.part_state(f"{resp.message_id}-1", 0, MessageState.DELIVERED, "000",
                                   None, gw.reactor.seconds())
    [pdu] = await inbox.when(1)
    assert pdu.tlv("receipted_message_id") == resp.message_id
    assert pdu.source_addr == "33600000002"


@pytest_twisted.ensureDeferred
async def test_state_for_unknown_message_fires_and_queues_nothing(gw: Gateway) -> None:
    """Breaks if a receipt for an id we never issued fails the connector's Deferred or
    queues something."""
    await gw.dispatcher.part_state("0" * 32, 0, MessageState.DELIVERED, "000", None,
                                   gw.reactor.seconds())
    assert gw.store.queues.depth(deliver_queue("alice")) == 0


# --- MO ---------------------------------------------------------------------------------------

def mo(destination: str, content: bytes = b"STOP", **kw: object) -> InboundMessage:
    return InboundMessage(id=f"mo-{destination}-{len(content)}", connector="vendor1",
                          source=Address("447700900123", 1, 1),
                          destination=Address(destination, 1, 1), data_coding=0,
                          esm_class=0, content=content, received_at=0.0, **kw)  # type: ignore[arg-type]


@pytest_twisted.ensureDeferred
async def test_mo_routed_by_longest_prefix_reaches_the_customer(gw: Gateway) -> None:
    """Breaks if an MO does not reach the user whose prefix is the longest match, as a
    deliver_sm with the sender, the recipient and the whole (long) text."""
    alice, bob = Inbox(gw.reactor), Inbox(gw.reactor)
    await gw.bind("alice", kind=P.BindReceiver, handler=alice)
    await gw.bind("bob", kind=P.BindTransceiver, handler=bob)
    long_text = b"x" * 400
    await gw.dispatcher.inbound(mo("447012345", long_text,
                                   tlvs=tlvs(sar_msg_ref_num=1, user_message_reference=9)))
    await gw.dispatcher.inbound(mo("447099999"))
    [to_bob] = await bob.when(1)
    [to_alice] = await alice.when(1)
    assert (to_bob.source_addr, to_bob.destination_addr) == ("447700900123", "447012345")
    assert to_bob.short_message == b"" and to_bob.tlv("message_payload") == long_text
    assert to_bob.tlv("sar_msg_ref_num") is None and to_bob.tlv("user_message_reference") == 9
    assert to_alice.short_message == b"STOP" and to_alice.esm_class == 0


@pytest_twisted.ensureDeferred
async def test_unclaimed_mo_is_dead_lettered(gw: Gateway) -> None:
    """Breaks if an MO no rule claims is dropped instead of kept as a dead letter that an
    operator can list, or if a requeued one is not routed under the rules then."""
    await gw.dispatcher.inbound(mo("3312345"))
    [dead] = await gw.store.queues.dead_letters(UNROUTED_MO)
    assert dead.key == "mo:mo-3312345-4" and "3312345" in dead.reason
    assert load_item(dead.payload).pdu.destination_addr == "3312345"
    gw.dispatcher.mo_router = prefix_router({**MO_RULES, "33": "bob"})
    inbox = Inbox(gw.reactor)
    await gw.bind("bob", kind=P.BindReceiver, handler=inbox)
    assert await gw.store.queues.requeue_dead(dead.id)
    [pdu] = await inbox.when(1)
    assert pdu.destination_addr == "3312345"
    assert await gw.store.queues.dead_letters(UNROUTED_MO) == []


# --- pure parts -------------------------------------------------------------------------------

def test_longest_prefix_wins_and_empty_prefix_catches_all() -> None:
    """Breaks if MO rules match the first or shortest prefix instead of the longest."""
    router = prefix_router({"": "default", "44": "uk", "4470": "alice"})

    def user_for(router: Any, destination: str) -> str | None:
        targets = router.decide(mo(destination)).targets
        return targets[0].id if targets else None
    assert user_for(router, "447012") == "alice"
    assert user_for(router, "4420") == "uk"
    assert user_for(router, "33") == "default"
    assert user_for(prefix_router({"44": "uk"}), "4") is None


def test_retry_delay_grows_and_is_capped() -> None:
    """Breaks if delivery retries are not exponential or exceed the cap."""
    policy = RetryPolicy(initial=5.0, factor=2.0, cap=300.0)
    assert [policy.delay(n) for n in range(8)] == [5, 10, 20, 40, 80, 160, 300, 300]
    assert policy.delay(10_000) == 300


def test_delivery_item_round_trip_and_refusals() -> None:
    """Breaks if a queued receipt or MO does not survive its storage form, or if a foreign
    or corrupt payload is accepted."""
    item = DeliverItem(MO, "mo-1", mo_pdu(mo("4470", b"\x00\xff", tlvs=tlvs(
        user_message_reference=3))))
    assert load_item(dump_item(item)) == item
    receipt = DeliverItem(RECEIPT, "id", P.DeliverSm(esm_class=4, short_message=b"id:x",
                                                     tlvs=tlvs(receipted_message_id="x",
                                                               message_state=2)))
    assert load_item(dump_item(receipt)) == receipt
    for bad in (b"not json", b'{"v": 2}', b'{"v": 1, "kind": "mo"}',
                dump_item(item).replace(b'"esm_class":0', b'"esm_class":"0"')):
        with pytest.raises(UnsupportedFormat):
            load_item(bad)


@pytest.mark.parametrize("item", [
    DeliverItem(RECEIPT, "id", P.DeliverSm(
        esm_class=4, source_addr="3161", destination_addr="3360", short_message=b"id:x \xff",
        tlvs=tlvs(receipted_message_id="x", message_state=2))),
    DeliverItem(MO, "mo-1", P.DeliverSm(service_type="é\u2028\"", data_coding=8,
                                        short_message=b"\x00\xff"), origin="vendor"),
    DeliverItem(MO, "mo-2", P.DeliverSm(esm_class=True)),          # not exactly an int
    DeliverItem(MO, "mo-3", P.DeliverSm(source_addr=None)),         # type: ignore[arg-type]
])
def test_delivery_item_bytes_are_json_dumps_of_the_dict(item: DeliverItem) -> None:
    """dump_item formats the usual item itself: its bytes must be json.dumps's."""
    assert dump_item(item) == json.dumps(_as_dict(item), separators=(",", ":")).encode()
