"""/v1 over a loopback socket with the real store and MT pipeline: every endpoint, its
errors, API keys and Basic auth, and tenant isolation."""
from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults

from smscd.credentials import MtCredential, set_mt
from smscd.deliveries import mt_queue
from smscd.smpp.message_state import MessageState

from rest_api_side import RestSide


@pytest_twisted.async_yield_fixture
async def side(tmp_path: Path) -> AsyncIterator[RestSide]:
    s = RestSide(tmp_path)
    await s.start()
    s.alice = await s.user("alice")          # type: ignore[attr-defined]
    s.bob = await s.user("bob")              # type: ignore[attr-defined]
    yield s
    await s.close()


MSG = {"to": "33612345678", "text": "hello", "from": "SHOP"}


@pytest_twisted.ensureDeferred
async def test_send_queues_one_message_per_recipient(side: RestSide) -> None:
    """Breaks if a recipient is not its own durably queued message with origin rest."""
    status, body, _ = await side.call("POST", "/v1/messages", side.alice,
                                      {**MSG, "to": ["33600000001", "33600000002"]})
    assert status == 200, body
    ids = [m["id"] for m in body["messages"]]
    assert [m["status"] for m in body["messages"]] == ["queued", "queued"]
    assert side.store.queues.depth(mt_queue("c1")) == 2
    record = await side.store.messages.get(ids[0], "alice")
    assert record is not None and record.message.origin == "rest"
    assert record.message.registered_delivery == 1
    assert record.message.parts[0].short_message == b"hello"


@pytest_twisted.ensureDeferred
async def test_get_message_shows_state_parts_and_price(side: RestSide) -> None:
    """Breaks if GET /v1/messages/{id} loses the state, parts, vendor or price."""
    _, body, _ = await side.call("POST", "/v1/messages", side.alice, {**MSG, "text": "x" * 200})
    mid = body["messages"][0]["id"]
    await side.store.messages.record_sent(mid, 0, "c1", "v-1")
    await side.store.messages.record_state(mid, 0, int(MessageState.DELIVERED), "", 5.0)
    status, view, _ = await side.call("GET", f"/v1/messages/{mid}", side.alice)
    assert status == 200, view
    assert view["id"] == mid and view["from"] == "SHOP" and view["to"] == MSG["to"]
    assert [p["status"] for p in view["parts"]] == ["delivered", None]
    assert view["parts"][0]["vendor_id"] == "v-1" and view["status"] == "enroute"
    assert view["price"] == "0.10"


@pytest_twisted.ensureDeferred
async def test_get_message_has_its_history(side: RestSide) -> None:
    """Breaks if GET /v1/messages/{id} loses the acceptance, a part's sending or receipt,
    or the cancel from its history, or the history leaks into the listing."""
    _, body, _ = await side.call("POST", "/v1/messages", side.alice, {**MSG, "text": "x" * 200})
    mid = body["messages"][0]["id"]
    later = reactor.seconds() + 1
    await side.store.messages.record_sent(mid, 1, "c1", "v-2")
    await side.store.messages.record_state(mid, 1, int(MessageState.UNDELIVERABLE), "err:001",
                                           later)
    status, view, _ = await side.call("GET", f"/v1/messages/{mid}", side.alice)
    assert status == 200, view
    assert [(e["event"], e["part"]) for e in view["history"]] == [
        ("accepted", None), ("sent", 1), ("state", 1)]
    assert view["history"][1]["vendor_id"] == "v-2" and view["history"][1]["connector"] == "c1"
    assert view["history"][2] == {"event": "state", "at": later, "part": 1,
                                  "status": "undeliverable", "error": "err:001",
                                  "connector": None, "vendor_id": None}
    _, listed, _ = await side.call("GET", "/v1/messages", side.alice)
    assert listed["data"][0]["history"] is None
    _, body, _ = await side.call("POST", "/v1/messages", side.alice, MSG)
    _, cancelled, _ = await side.call("DELETE", f"/v1/messages/{body['messages'][0]['id']}",
                                      side.alice)
    assert [e["event"] for e in cancelled["history"]] == ["accepted", "cancelled"]


@pytest_twisted.ensureDeferred
async def test_tenant_isolation(side: RestSide) -> None:
    """Breaks if bob can read, list or cancel alice's message (he must get 404)."""
    _, body, _ = await side.call("POST", "/v1/messages", side.alice, MSG)
    mid = body["messages"][0]["id"]
    assert (await side.call("GET", f"/v1/messages/{mid}", side.bob))[0] == 404
    status, err, _ = await side.call("DELETE", f"/v1/messages/{mid}", side.bob)
    assert status == 404 and err["error"]["code"] == "not_found"
    assert (await side.call("GET", "/v1/messages", side.bob))[1]["data"] == []
    assert side.store.queues.depth(mt_queue("c1")) == 1


@pytest_twisted.ensureDeferred
async def test_cancel_while_queued_then_409(side: RestSide) -> None:
    """Breaks if DELETE does not remove a queued message, or cancels one twice."""
    _, body, _ = await side.call("POST", "/v1/messages", side.alice, MSG)
    mid = body["messages"][0]["id"]
    status, view, _ = await side.call("DELETE", f"/v1/messages/{mid}", side.alice)
    assert status == 200 and view["status"] == "deleted", view
    assert side.store.queues.depth(mt_queue("c1")) == 0
    status, err, _ = await side.call("DELETE", f"/v1/messages/{mid}", side.alice)
    assert status == 409 and err["error"]["code"] == "not_cancellable"


@pytest_twisted.ensureDeferred
async def test_list_filters_and_cursor(side: RestSide) -> None:
    """Breaks if the listing skips or repeats across pages, or ignores its filters."""
    for i in range(5):
        await side.call("POST", "/v1/messages", side.alice, {**MSG, "to": f"3360000000{i}"})
    seen: list[str] = []
    cursor = ""
    while True:
        status, page, _ = await side.call("GET", f"/v1/messages?limit=2{cursor}", side.alice)
        assert status == 200, page
        seen += [m["to"] for m in page["data"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == [f"3360000000{i}" for i in range(5)]
    _, page, _ = await side.call("GET", "/v1/messages?to=33600000003", side.alice)
    assert [m["to"] for m in page["data"]] == ["33600000003"]
    _, page, _ = await side.call("GET", "/v1/messages?status=delivered", side.alice)
    assert page["data"] == []
    status, err, _ = await side.call("GET", "/v1/messages?colour=red", side.alice)
    assert status == 422 and err["error"]["field"] == "colour"


@pytest_twisted.ensureDeferred
async def test_batch_gives_per_item_results(side: RestSide) -> None:
    """Breaks if one bad item refuses the whole batch or results lose their order."""
    batch = {"messages": [MSG, {**MSG, "text": "é" * 10, "coding": 3},
                          {**MSG, "to": ["33600000001", "33600000002"]}]}
    status, body, _ = await side.call("POST", "/v1/messages/batch", side.alice, batch)
    assert status == 200, body
    assert (body["accepted"], body["refused"]) == (4, 0)
    assert [len(r["messages"]) for r in body["results"]] == [1, 1, 2]
    batch["messages"][1] = {**MSG, "text": "€", "coding": 3}    # latin-1 cannot carry it
    _, body, _ = await side.call("POST", "/v1/messages/batch", side.alice, batch)
    assert (body["accepted"], body["refused"]) == (3, 1)
    assert body["results"][1]["messages"][0]["error"]["code"] == "invalid_content"


@pytest_twisted.ensureDeferred
async def test_batch_limits(side: RestSide) -> None:
    """Breaks if more than 10,000 recipients in all are taken."""
    many = {"messages": [{**MSG, "to": ["33600000001"] * 1000}] * 11}
    status, err, _ = await side.call("POST", "/v1/messages/batch", side.alice, many)
    assert status == 422 and "10000" in err["error"]["message"]


@pytest_twisted.ensureDeferred
async def test_auth(side: RestSide) -> None:
    """Breaks if a missing, wrong or revoked key, or a wrong password, gets in."""
    assert (await side.call("GET", "/v1/balance", RestSide.basic("alice", "secret")))[0] == 200
    for auth in (None, "Bearer sk_nope", RestSide.basic("alice", "wrong"), "Digest x"):
        status, err, headers = await side.call("GET", "/v1/balance", auth)
        assert status == 401 and err["error"]["code"] == "unauthorized"
        assert headers.hasHeader("www-authenticate")
    key = await side.store.api_keys.create("alice", "ci")
    bearer = f"Bearer {key.key}"
    assert (await side.call("GET", "/v1/balance", bearer))[0] == 200
    listed = await side.store.api_keys.list("alice")
    assert key.info.id in [k.id for k in listed] and key.key not in repr(listed)
    assert await side.store.api_keys.revoke("alice", key.info.id)
    assert (await side.call("GET", "/v1/balance", bearer))[0] == 401
    carol = await side.user("carol")
    await side.store.users.disable("carol")
    assert (await side.call("GET", "/v1/balance", carol))[0] == 401


@pytest_twisted.ensureDeferred
async def test_balance_and_402(side: RestSide) -> None:
    """Breaks if the balance is not the account's or insufficient balance is not 402."""
    await side.store.billing.set_balance("alice", "0.07")
    status, body, _ = await side.call("GET", "/v1/balance", side.alice)
    assert status == 200 and body["balance"] == "0.07" and body["sms_count"] is None
    assert (await side.call("POST", "/v1/messages", side.alice, MSG))[0] == 200
    status, err, _ = await side.call("POST", "/v1/messages", side.alice, MSG)
    assert status == 402 and err["error"] == {
        "code": "insufficient_balance", "message": err["error"]["message"],
        "field": "balance"}


@pytest_twisted.ensureDeferred
async def test_rate_quotes_without_sending(side: RestSide) -> None:
    """Breaks if /v1/rate sends, or prices parts wrong."""
    status, body, _ = await side.call("POST", "/v1/rate", side.alice, {**MSG, "text": "x" * 200})
    assert status == 200, body
    assert (body["parts"], body["unit_rate"], body["amount"]) == (2, "0.05", "0.10")
    assert side.store.queues.depth(mt_queue("c1")) == 0


@pytest_twisted.ensureDeferred
async def test_throughput_is_429_with_retry_after(side: RestSide) -> None:
    """Breaks if a user over its http_throughput is not told when to come back."""
    cred = set_mt(MtCredential(), "quota", "http_throughput", "1")
    await side.store.users.add("slow", "slow", "pw", mt_credential=cred)
    auth = RestSide.basic("slow", "pw")
    statuses = []
    for _ in range(3):
        status, body, headers = await side.call("POST", "/v1/messages", auth, MSG)
        statuses.append(status)
    assert statuses[0] == 200 and 429 in statuses
    assert body["error"]["code"] == "throttled" and headers.getRawHeaders("retry-after")


@pytest_twisted.ensureDeferred
async def test_forbidden_by_credentials_is_403(side: RestSide) -> None:
    """Breaks if a user without http_send may send over REST."""
    cred = set_mt(MtCredential(), "authorization", "http_send", "False")
    await side.store.users.add("nosend", "nosend", "pw", mt_credential=cred)
    status, err, _ = await side.call("POST", "/v1/messages", RestSide.basic("nosend", "pw"),
                                     MSG)
    assert status == 403 and err["error"]["code"] == "forbidden"


@pytest_twisted.ensureDeferred
async def test_busy_is_503_with_retry_after(side: RestSide) -> None:
    """Breaks if a full queue still takes messages."""
    side.is_busy = True
    status, err, headers = await side.call("POST", "/v1/messages", side.alice, MSG)
    assert status == 503 and headers.getRawHeaders("retry-after") == ["1"]
    assert side.store.queues.depth(mt_queue("c1")) == 0


@pytest_twisted.ensureDeferred
async def test_request_errors(side: RestSide) -> None:
    """Breaks if a bad request is not a JSON error with the right status and field."""
    cases = [
        (dict(raw=b"{nope"), 400, "invalid_json", None),
        (dict(body={"to": "33612345678"}), 422, "invalid_request", None),
        (dict(body={**MSG, "to": "abc"}), 422, "invalid_request", "to"),
        (dict(body={**MSG, "colour": 1}), 422, "invalid_request", "colour"),
        (dict(body={**MSG, "text": "€", "coding": 3}), 422, "invalid_content", "text"),
        (dict(raw=b"to=1", content_type="application/x-www-form-urlencoded"), 415,
         "unsupported_media_type", "Content-Type"),
    ]
    for kwargs, status, code, field in cases:
        got, err, _ = await side.call("POST", "/v1/messages", side.alice, **kwargs)
        assert got == status, (kwargs, err)
        assert (got, err["error"]["code"]) == (status, code), (kwargs, err)
        if field is not None:
            assert err["error"]["field"] == field
    assert (await side.call("GET", "/v1/nowhere", side.alice))[0] == 404
    status, _, headers = await side.call("PUT", "/v1/messages", side.alice)
    assert status == 405 and headers.getRawHeaders("allow") == [b"POST, GET".decode()]


@pytest_twisted.ensureDeferred
async def test_body_size_limit_is_413(tmp_path: Path) -> None:
    """Breaks if an oversized body is read whole or answered otherwise than 413."""
    s = RestSide(tmp_path, max_body=1000)
    try:
        auth = await s.user("alice")
        status, err, _ = await s.call("POST", "/v1/messages", auth,
                                      {**MSG, "text": "x" * 2000})
        assert status == 413 and err["error"]["code"] == "too_large"
    finally:
        await s.close()


@pytest_twisted.ensureDeferred
async def test_inbound_is_scoped_and_paginated(side: RestSide) -> None:
    """Breaks if a user reads another's MO or pages skip items."""
    for i in range(3):
        await side.store.inbound.store("alice", {"id": f"mo{i}", "received_at": float(i),
                                                 "from": "336", "text": f"hi {i}"})
    await side.store.inbound.store("bob", {"id": "bob-mo", "received_at": 0.0})
    _, page, _ = await side.call("GET", "/v1/inbound?limit=2", side.alice)
    assert [x["id"] for x in page["data"]] == ["mo0", "mo1"] and page["next_cursor"]
    _, page, _ = await side.call("GET", f"/v1/inbound?limit=2&cursor={page['next_cursor']}",
                                 side.alice)
    assert [x["id"] for x in page["data"]] == ["mo2"] and page["data"][0]["text"] == "hi 2"
    _, page, _ = await side.call("GET", "/v1/inbound", side.bob)
    assert [x["id"] for x in page["data"]] == ["bob-mo"]


@pytest_twisted.ensureDeferred
async def test_openapi_needs_no_credentials(side: RestSide) -> None:
    """Breaks if the OpenAPI document is not served, or only to logged-in users."""
    status, doc, _ = await side.call("GET", "/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.1")
    assert "/v1/messages/{id}" in doc["paths"]


@pytest_twisted.ensureDeferred
async def test_recipients_share_content_but_not_references_or_filters(side: RestSide
                                                                      ) -> None:
    """Breaks if a long message sent twice to one number reuses its concatenation
    reference (the handset would mix the parts), or if a recipient after the first
    escapes the destination filter."""
    _, body, _ = await side.call("POST", "/v1/messages", side.alice,
                                 {**MSG, "text": "x" * 200, "to": ["336", "336", "337"]})
    refs = []
    for sent in body["messages"]:
        record = await side.store.messages.get(sent["id"], "alice")
        assert record is not None and len(record.message.parts) == 2
        refs.append((record.message.destination.addr, record.message.parts[0].short_message[3]))
    assert len(set(refs)) == 3
    cred = set_mt(MtCredential(), "valuefilter", "dst_addr", "^33")
    await side.store.users.add("fr", "fr", "pw", mt_credential=cred)
    status, err, _ = await side.call("POST", "/v1/messages", RestSide.basic("fr", "pw"),
                                     {**MSG, "to": ["33600000001", "4470000"]})
    assert status == 403 and "destination_address" in err["error"]["message"], err
    assert side.store.queues.depth(mt_queue("c1")) == 3


@pytest_twisted.ensureDeferred
async def test_concurrent_requests_of_one_key_read_its_user_once(side: RestSide) -> None:
    """Breaks if every request of a busy API key that misses the user cache together
    reads the user from the store again (a burst of reads each time the cache expires)."""
    reads: list[str] = []
    get_by_uid = side.store.users.get_by_uid

    def counted(uid: str) -> Any:
        reads.append(uid)
        return get_by_uid(uid)
    side.store.users.get_by_uid = counted          # type: ignore[method-assign]
    answers = await gatherResults([Deferred.fromCoroutine(
        side.call("GET", "/v1/balance", side.alice)) for _ in range(5)])
    assert [status for status, _, _ in answers] == [200] * 5
    assert reads == ["alice"]
