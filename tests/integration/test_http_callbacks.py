"""Receipt callbacks and MO to HTTP connectors, against a local HTTP receiver on loopback,
through the real store's durable queue."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import parse_qsl

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.web import server
from twisted.web.resource import Resource

from connectors.conditions import Conditions
from smscd.config import default_config
from smscd.customer_delivery import RetryPolicy
from smscd.http_callbacks import HttpCallbacks
from smscd.deliveries import InboundMessage, mt_queue
from smscd.http_callbacks.client import CallbackClient
from smscd.http_callbacks.dlr import DlrCallbacks
from smscd.http_callbacks.mo import MoCallbackFailed, MoHttpDelivery
from smscd.http_callbacks.sender import DLR_QUEUE, CallbackSender
from smscd.http_connectors import http_connector_from_mapping
from smscd.message import Address, Message, Part
from smscd.smpp.message_state import MessageState
from smscd.smpp.receipt import Receipt
from smscd.stores.sqlite import SqliteStore


@dataclass
class Receiver:
    """A customer's HTTP endpoint: answers from `script` (then the last entry forever)."""
    script: list[tuple[int, bytes]] = field(default_factory=lambda: [(200, b"ACK/Jasmin")])
    got: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)       # the parameters, percent-encoded
    hang: bool = False

    def __post_init__(self) -> None:
        self.conditions: Conditions[Receiver] = Conditions(self)

    def until(self, n: int) -> Deferred[None]:
        return self.conditions.until(lambda r: len(r.got) >= n)


class _Endpoint(Resource):
    isLeaf = True

    def __init__(self, receiver: Receiver) -> None:
        super().__init__()
        self.receiver = receiver

    def render(self, request: server.Request) -> Any:
        r = self.receiver
        raw = request.uri.partition(b"?")[2].decode()
        if request.method == b"POST":
            raw = request.content.read().decode()
        params = dict(parse_qsl(raw, keep_blank_values=True))
        r.raw.append(raw)
        headers = {k.decode().lower(): v[0].decode()
                   for k, v in request.requestHeaders.getAllRawHeaders()}
        r.got.append((request.method.decode(), params, headers))
        r.conditions.check()
        if r.hang:
            return server.NOT_DONE_YET
        code, body = r.script[min(len(r.got) - 1, len(r.script) - 1)]
        request.setResponseCode(code)
        return body


@dataclass
class Side:
    store: SqliteStore
    receiver: Receiver
    url: str
    client: CallbackClient
    ports: list[Any]

    def sender(self, **kw: Any) -> CallbackSender:
        kw.setdefault("retry", RetryPolicy(initial=0.01, factor=2.0, cap=0.05))
        s = CallbackSender(self.store.queues, self.client, **kw)
        s.start()
        return s


@pytest_twisted.async_yield_fixture
async def side(tmp_path: Path) -> AsyncIterator[Side]:
    receiver = Receiver()
    port = reactor.listenTCP(0, server.Site(_Endpoint(receiver)), interface="127.0.0.1")
    url = f"http://127.0.0.1:{port.getHost().port}/dlr"
    store = SqliteStore.open(tmp_path / "cb.sqlite3", reactor)
    client = CallbackClient(reactor, timeout=5.0, connect_timeout=5.0)
    s = Side(store, receiver, url, client, [port])
    yield s
    for p in s.ports:
        await p.stopListening()
    await client.close()
    await store.close()


def _message(url: str, level: int, parts: int = 1, method: str = "POST") -> Message:
    return Message(id="m1", user="u1", source=Address("S"), destination=Address("336"),
                   parts=tuple(Part(b"x") for _ in range(parts)), created_at=0.0,
                   registered_delivery=1, connector="c1", origin="http",
                   extra={"dlr-url": url, "dlr-level": str(level), "dlr-method": method})


RECEIPT = Receipt(message_id="v-77", state=MessageState.DELIVERED, stat="DELIVRD",
                  submitted=1, delivered=1,
                  submit_date=datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc),
                  done_date=datetime(2026, 11, 23, 10, 1, tzinfo=timezone.utc), error="000")


async def _receipt(store: SqliteStore, dlr: DlrCallbacks, message: Message, part: int,
                   state: MessageState, receipt: Receipt | None, error: str = "") -> None:
    """What the dispatcher does: the state and the callback in one durable change."""
    await store.messages.record_state(
        message.id, part, state, error, 1.0,
        lambda m: None if m is None else dlr.state_publication(m, part, state, error,
                                                               receipt, 1.0))


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest_twisted.ensureDeferred
async def test_level_3_gives_level_1_then_level_2(side: Side, method: str) -> None:
    """Level 1 at the vendor's acceptance, level 2 at its receipt, with Jasmin's params."""
    message = _message(side.url, 3, method=method)
    await side.store.messages.accept(message, mt_queue("c1"))
    dlr = DlrCallbacks(side.store.queues)
    sender = side.sender()
    await dlr.part_accepted(message, 0, "c1")
    await side.receiver.until(1)
    await _receipt(side.store, dlr, message, 0, MessageState.DELIVERED, RECEIPT)
    await side.receiver.until(2)
    await sender.until(lambda s: s.delivered == 2)
    sender.stop()
    (m1, one, headers), (m2, two, _) = side.receiver.got
    assert (m1, m2) == (method, method)
    assert one == {"id": "m1", "message_status": "ESME_ROK", "level": "1", "connector": "c1"}
    assert two == {"id": "m1", "message_status": "DELIVRD", "level": "2", "id_smsc": "v-77",
                   "sub": "001", "dlvrd": "001", "subdate": "2611231000",
                   "donedate": "2611231001", "err": "000", "text": "ND", "connector": "c1"}
    assert headers["accept"] == "text/plain"
    assert side.store.queues.depth(DLR_QUEUE) == 0


@pytest_twisted.ensureDeferred
async def test_levels_and_parts(side: Side) -> None:
    """Level 1 gets no receipt callback, level 2 no acceptance callback; every part of a
    long message is reported with its part number."""
    dlr = DlrCallbacks(side.store.queues)
    only_one = _message(side.url, 1)
    assert dlr.state_publication(only_one, 0, MessageState.DELIVERED, "", RECEIPT, 1.0) is None
    long_two = _message(side.url, 2, parts=2)
    assert (await dlr.part_accepted(long_two, 0, "c1")) is None
    assert side.store.queues.depth(DLR_QUEUE) == 0
    await side.store.messages.accept(long_two, mt_queue("c1"))
    sender = side.sender()
    for part in (0, 1):
        await _receipt(side.store, dlr, long_two, part, MessageState.DELIVERED, RECEIPT)
    await side.receiver.until(2)
    sender.stop()
    assert sorted((p["part"], p["parts"]) for _, p, _ in side.receiver.got) == [
        ("1", "2"), ("2", "2")]


@pytest_twisted.ensureDeferred
async def test_a_vendor_refusal_is_reported(side: Side) -> None:
    """A part the vendor refused (no receipt will come) gets a level-1 callback with the
    vendor's status."""
    message = _message(side.url, 1)
    await side.store.messages.accept(message, mt_queue("c1"))
    dlr = DlrCallbacks(side.store.queues)
    sender = side.sender()
    await _receipt(side.store, dlr, message, 0, MessageState.REJECTED, None, error="00B")
    await side.receiver.until(1)
    sender.stop()
    assert side.receiver.got[0][1]["message_status"] == "ESME_RINVDSTADR"


@pytest_twisted.ensureDeferred
async def test_receiver_failing_three_times_then_acking_gets_it(side: Side) -> None:
    """500, a body that is not the ACK, 404, then ACK/Jasmin: delivered on the 4th try."""
    side.receiver.script = [(500, b"oops"), (200, b"OK"), (404, b""), (200, b"ACK/Jasmin\n")]
    message = _message(side.url, 1)
    dlr = DlrCallbacks(side.store.queues)
    sender = side.sender()
    await dlr.part_accepted(message, 0, "c1")
    await sender.until(lambda s: s.delivered == 1)
    sender.stop()
    assert (len(side.receiver.got), sender.failures, sender.dead_lettered) == (4, 3, 0)
    assert await side.store.queues.dead_letters(DLR_QUEUE) == []


@pytest_twisted.ensureDeferred
async def test_never_acking_receiver_leaves_a_replayable_dead_letter(side: Side) -> None:
    """After max_attempts the callback is a dead letter with its reason; replayed once the
    receiver is fixed, it is delivered."""
    side.receiver.script = [(503, b"busy")]
    message = _message(side.url, 1)
    dlr = DlrCallbacks(side.store.queues)
    sender = side.sender(max_attempts=3)
    await dlr.part_accepted(message, 0, "c1")
    await sender.until(lambda s: s.dead_lettered == 1)
    [dead] = await side.store.queues.dead_letters(DLR_QUEUE)
    assert "3 attempts" in dead.reason and "503" in dead.reason
    assert len(side.receiver.got) == 3
    side.receiver.script = [(200, b"ACK/Jasmin")]
    side.receiver.got.clear()
    assert await side.store.queues.requeue_dead(dead.id)
    await sender.until(lambda s: s.delivered == 1)
    sender.stop()
    assert side.receiver.got[0][1]["id"] == "m1"


@pytest_twisted.ensureDeferred
async def test_callbacks_survive_a_restart(side: Side, tmp_path: Path) -> None:
    """A callback queued before a restart is sent after it (read back from the store)."""
    dlr = DlrCallbacks(side.store.queues)
    await dlr.part_accepted(_message(side.url, 1), 0, "c1")
    await side.store.close()
    side.store = SqliteStore.open(tmp_path / "cb.sqlite3", reactor)
    sender = side.sender()
    await side.receiver.until(1)
    await sender.until(lambda s: s.delivered == 1)
    sender.stop()
    assert side.receiver.got[0][1]["message_status"] == "ESME_ROK"


@pytest_twisted.ensureDeferred
async def test_a_url_that_cannot_be_called_is_a_dead_letter_at_once(side: Side) -> None:
    message = _message("ftp://example.invalid/x", 1)
    dlr = DlrCallbacks(side.store.queues)
    sender = side.sender()
    await dlr.part_accepted(message, 0, "c1")
    await sender.until(lambda s: s.dead_lettered == 1)
    sender.stop()
    [dead] = await side.store.queues.dead_letters(DLR_QUEUE)
    assert dead.attempts == 0 and "cannot call" in dead.reason


def _mo(content: bytes, coding: int) -> InboundMessage:
    return InboundMessage(id="mo1", connector="smppc1", source=Address("336"),
                          destination=Address("1234"), data_coding=coding, esm_class=0,
                          content=content, received_at=0.0)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest_twisted.ensureDeferred
async def test_mo_to_an_http_connector(side: Side, method: str) -> None:
    """httpccm parameters, the octets as received plus decoded text, basic auth and
    custom headers; fires once acknowledged."""
    cfg = http_connector_from_mapping({"id": "web1", "url": side.url, "method": method,
                                       "username": "me", "password": "pw",
                                       "headers": {"X-Api": "k"}})
    content = "héllo".encode("utf-16-be")
    await MoHttpDelivery(side.client).deliver(_mo(content, 8), cfg)
    [(got_method, params, headers)] = side.receiver.got
    assert got_method == method
    raw = dict(parse_qsl(side.receiver.raw[0], encoding="latin-1"))
    assert raw["content"].encode("latin-1") == content
    del params["content"]
    assert params == {"id": "mo1", "from": "336", "to": "1234", "origin-connector": "smppc1",
                      "binary": content.hex(), "coding": "8", "text": "héllo"}
    assert headers["authorization"] == "Basic bWU6cHc=" and headers["x-api"] == "k"


@pytest_twisted.ensureDeferred
async def test_mo_not_acknowledged_fails_for_the_router(side: Side) -> None:
    """No ACK, or no answer in time: MoCallbackFailed, so the router can fail over."""
    cfg = http_connector_from_mapping({"id": "web1", "url": side.url, "timeout": 0.2})
    side.receiver.script = [(200, b"thanks")]
    with pytest.raises(MoCallbackFailed, match="not ACK/Jasmin"):
        await MoHttpDelivery(side.client).deliver(_mo(b"hi", 0), cfg)
    side.receiver.hang = True
    with pytest.raises(MoCallbackFailed, match="no answer"):
        await MoHttpDelivery(side.client).deliver(_mo(b"hi", 0), cfg)


@pytest_twisted.ensureDeferred
async def test_the_daemons_bundle_from_settings(side: Side) -> None:
    """HttpCallbacks from the default settings: hooks, sender and MO share one client."""
    callbacks = HttpCallbacks(reactor, side.store.queues, default_config().http_callbacks)
    callbacks.start()
    await callbacks.dlr.part_accepted(_message(side.url, 1), 0, "c1")
    await callbacks.sender.until(lambda s: s.delivered == 1)
    cfg = http_connector_from_mapping({"id": "web1", "url": side.url})
    await callbacks.mo.deliver(_mo(b"hi", 0), cfg)
    await callbacks.stop()
    assert [p["id"] for _, p, _ in side.receiver.got] == ["m1", "mo1"]
