"""Signed webhooks end to end on loopback: endpoints through /v1/webhooks, deliveries to a
local receiver verified with the documented recipe, retries, order per message, dead
letters and their replay."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, AsyncIterator

import pytest_twisted
from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Site

from smscd.smpp.message_state import MessageState
from smscd.webhooks import WebhookSettings
from smscd.webhooks.signing import verify

from rest_api_side import RestSide

MSG = {"to": "33612345678", "text": "hello"}
FAST = WebhookSettings(retry_delay=0.01, retry_max_delay=0.02, period=0.1, timeout=5.0)


class Receiver(Resource):
    """Records each delivery; answers 500 to the first `fail[event]` of each event type."""
    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.got: list[tuple[str, bytes, bytes]] = []        # (event, body, signature)
        self.fail: dict[str, int] = {}
        self.attempts = 0

    def render_POST(self, request: Any) -> bytes:
        self.attempts += 1
        event = request.getHeader(b"smscd-event").decode()
        if self.fail.get(event, 0) > 0:
            self.fail[event] -= 1
            request.setResponseCode(500)
            return b"no"
        self.got.append((event, request.content.read(), request.getHeader(b"smscd-signature")))
        return b""


class Side(RestSide):
    def __init__(self, tmp_path: Path, settings: WebhookSettings = FAST,
                 receiver: Receiver | None = None, port: int = 0) -> None:
        super().__init__(tmp_path, settings=settings)
        self.receiver = receiver or Receiver()
        self.hook_port = reactor.listenTCP(port, Site(self.receiver), interface="127.0.0.1")

    @property
    def hook_url(self) -> str:
        return f"http://127.0.0.1:{self.hook_port.getHost().port}/hook"

    async def close(self) -> None:
        await self.hook_port.stopListening()
        await super().close()


@pytest_twisted.async_yield_fixture
async def side(tmp_path: Path) -> AsyncIterator[Side]:
    s = Side(tmp_path)
    await s.start()
    s.alice = await s.user("alice")          # type: ignore[attr-defined]
    yield s
    await s.close()


async def _endpoint(side: Side, events: list[str]) -> dict[str, Any]:
    status, body, _ = await side.call("POST", "/v1/webhooks", side.alice,
                                      {"url": side.hook_url, "events": events})
    assert status == 200, body
    return body


@pytest_twisted.ensureDeferred
async def test_endpoints_crud_and_secret_shown_once(side: Side) -> None:
    """Breaks if the secret is listed again, a bad event is taken, or bob sees alice's."""
    created = await _endpoint(side, ["message.delivered"])
    assert created["secret"].startswith("whsec_")
    _, listed, _ = await side.call("GET", "/v1/webhooks", side.alice)
    assert [e["id"] for e in listed["data"]] == [created["id"]]
    assert listed["data"][0]["secret"] is None
    status, err, _ = await side.call("POST", "/v1/webhooks", side.alice,
                                     {"url": side.hook_url, "events": ["message.sent"]})
    assert status == 422 and err["error"]["field"].startswith("events")
    bob = await side.user("bob")
    assert (await side.call("DELETE", f"/v1/webhooks/{created['id']}", bob))[0] == 404
    assert (await side.call("GET", "/v1/webhooks", bob))[1]["data"] == []
    assert (await side.call("DELETE", f"/v1/webhooks/{created['id']}", side.alice))[0] == 200
    assert (await side.call("GET", "/v1/webhooks", side.alice))[1]["data"] == []


@pytest_twisted.ensureDeferred
async def test_signed_events_in_order_after_retries(side: Side) -> None:
    """Breaks if the signature does not verify with the documented recipe, a failing
    receiver is not retried, or the receipt overtakes the acceptance event."""
    hook = await _endpoint(side, ["message.accepted", "message.delivered"])
    side.receiver.fail["message.accepted"] = 3
    _, sent, _ = await side.call("POST", "/v1/messages", side.alice, MSG)
    mid = sent["messages"][0]["id"]
    record = await side.store.messages.get(mid, "alice")
    assert record is not None
    await side.webhooks.part_state(record.message, 0, MessageState.DELIVERED)
    await side.webhooks.sender.until(lambda s: s.delivered == 2)
    assert [e for e, _, _ in side.receiver.got] == ["message.accepted", "message.delivered"]
    assert side.receiver.attempts == 5
    for event, body, sig in side.receiver.got:
        assert verify(sig.decode(), body, hook["secret"], reactor.seconds())
        assert not verify(sig.decode(), body + b" ", hook["secret"], reactor.seconds())
        assert not verify(sig.decode(), body, hook["secret"], reactor.seconds() + 301)
        data = json.loads(body)
        assert data["type"] == event and data["data"]["message_id"] == mid
    assert json.loads(side.receiver.got[1][1])["data"]["state"] == "DELIVERED"


@pytest_twisted.ensureDeferred
async def test_dead_letter_then_replay(side: Side) -> None:
    """Breaks if a receiver that never answers is retried forever, or its dead letter
    cannot be replayed by its owner (and only by its owner)."""
    await _endpoint(side, ["message.accepted"])
    side.receiver.fail["message.accepted"] = 10 ** 6
    await side.call("POST", "/v1/messages", side.alice, MSG)
    await side.webhooks.sender.until(lambda s: s.dead_lettered == 1)
    _, dead, _ = await side.call("GET", "/v1/webhooks/dead-letters", side.alice)
    [letter] = dead["data"]
    assert "answered 500" in letter["reason"] and letter["attempts"] >= 2
    bob = await side.user("bob")
    assert (await side.call("POST", f"/v1/webhooks/dead-letters/{letter['id']}/replay",
                            bob))[0] == 404
    side.receiver.fail.clear()
    status, body, _ = await side.call(
        "POST", f"/v1/webhooks/dead-letters/{letter['id']}/replay", side.alice)
    assert (status, body) == (200, {"id": letter["id"], "replayed": True})
    await side.webhooks.sender.until(lambda s: s.delivered == 1)
    assert [e for e, _, _ in side.receiver.got] == ["message.accepted"]


@pytest_twisted.ensureDeferred
async def test_order_is_kept_across_a_restart(tmp_path: Path) -> None:
    """Breaks if, after a restart, a receipt waiting behind a retried acceptance event is
    sent first."""
    slow = WebhookSettings(retry_delay=0.2, retry_max_delay=0.2, period=60.0)
    s = Side(tmp_path, slow)
    await s.start()
    auth = await s.user("alice")
    s.alice = auth                            # type: ignore[attr-defined]
    await _endpoint(s, ["message.accepted", "message.failed"])
    s.receiver.fail["message.accepted"] = 1
    _, sent, _ = await s.call("POST", "/v1/messages", auth, MSG)
    await s.webhooks.sender.until(lambda x: x.failures == 1)
    record = await s.store.messages.get(sent["messages"][0]["id"], "alice")
    assert record is not None
    await s.webhooks.part_state(record.message, 0, MessageState.UNDELIVERABLE, "x")
    assert s.receiver.got == []
    port = s.hook_port.getHost().port
    await s.close()
    s2 = Side(tmp_path, FAST, s.receiver, port)
    try:
        await s2.start()
        await s2.webhooks.sender.until(lambda x: x.delivered == 2)
        assert [e for e, _, _ in s.receiver.got] == ["message.accepted", "message.failed"]
    finally:
        await s2.close()


@pytest_twisted.ensureDeferred
async def test_inbound_hook_and_users_without_endpoints(side: Side) -> None:
    """Breaks if MO is not delivered to the owner's endpoint, or a user without endpoints
    gets deliveries queued."""
    await side.webhooks.inbound("bob", {"id": "mo1"})
    assert side.store.queues.depth("webhooks") == 0
    await _endpoint(side, ["message.inbound"])
    await side.webhooks.inbound("alice", {"id": "mo2", "text": "hi"})
    await side.webhooks.sender.until(lambda s: s.delivered == 1)
    [(event, body, _)] = side.receiver.got
    assert event == "message.inbound" and json.loads(body)["data"]["text"] == "hi"


@pytest_twisted.ensureDeferred
async def test_acceptance_event_commits_with_its_message(side: Side) -> None:
    """Breaks if the message.accepted event is published apart from its message's
    accept: a crash between the two would lose it, or announce a message never stored."""
    await _endpoint(side, ["message.accepted"])
    side.fail_inserts("queue_entries", "NEW.queue = 'webhooks'")
    status, err, _ = await side.call("POST", "/v1/messages", side.alice, MSG)
    assert status == 503, err
    assert side.count("SELECT count(*) FROM messages") == 0
    side.stop_failing("queue_entries")
    side.fail_inserts("messages")
    assert (await side.call("POST", "/v1/messages", side.alice, MSG))[0] == 503
    assert side.count("SELECT count(*) FROM queue_entries WHERE queue = 'webhooks'") == 0
    side.stop_failing("messages")
    _, sent, _ = await side.call("POST", "/v1/messages", side.alice,
                                 {**MSG, "to": ["33600000001", "33600000002"]})
    await side.webhooks.sender.until(lambda s: s.delivered == 2)
    assert sorted(json.loads(body)["data"]["message_id"] for _, body, _ in side.receiver.got
                  ) == sorted(m["id"] for m in sent["messages"])
