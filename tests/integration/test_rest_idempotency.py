"""Idempotency-Key over a loopback socket with the real store: a retry gets the first
answer and sends nothing twice, even when both requests arrive at once."""
from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest_twisted
from twisted.internet.defer import Deferred, gatherResults

from smscd.deliveries import mt_queue

from rest_api_side import RestSide

MSG = {"to": "33612345678", "text": "hello"}


@pytest_twisted.async_yield_fixture
async def side(tmp_path: Path) -> AsyncIterator[RestSide]:
    s = RestSide(tmp_path)
    s.alice = await s.user("alice")          # type: ignore[attr-defined]
    yield s
    await s.close()


def _send(side: RestSide, key: str, body: dict[str, object], auth: str | None = None
          ) -> Deferred[tuple[int, object, object]]:
    return Deferred.fromCoroutine(side.call("POST", "/v1/messages", auth or side.alice,
                                            body, headers={"Idempotency-Key": key}))


@pytest_twisted.ensureDeferred
async def test_a_retry_gets_the_first_answer(side: RestSide) -> None:
    """Breaks if a retried request sends again or answers something else."""
    status, first, _ = await _send(side, "k1", MSG)
    assert status == 200
    status, again, headers = await _send(side, "k1", MSG)
    assert (status, again) == (200, first)
    assert headers.getRawHeaders("idempotent-replayed") == ["true"]
    assert side.store.queues.depth(mt_queue("c1")) == 1


@pytest_twisted.ensureDeferred
async def test_two_concurrent_identical_requests_send_once(side: RestSide) -> None:
    """Breaks if two identical requests in flight together both reach the pipeline."""
    (s1, b1, _), (s2, b2, _) = await gatherResults([_send(side, "k2", MSG),
                                                    _send(side, "k2", MSG)])
    assert (s1, s2) == (200, 200) and b1 == b2
    assert side.store.queues.depth(mt_queue("c1")) == 1


@pytest_twisted.ensureDeferred
async def test_same_key_other_body_is_409(side: RestSide) -> None:
    """Breaks if a reused key with another body is served the first answer or sent."""
    await _send(side, "k3", MSG)
    status, err, _ = await _send(side, "k3", {**MSG, "text": "other"})
    assert status == 409 and err["error"]["code"] == "idempotency_conflict"
    assert side.store.queues.depth(mt_queue("c1")) == 1


@pytest_twisted.ensureDeferred
async def test_keys_are_per_user_and_errors_are_kept(side: RestSide) -> None:
    """Breaks if one user's key answers another's request, or a 422 runs twice."""
    bob = await side.user("bob")
    assert (await _send(side, "k4", MSG))[0] == 200
    assert (await _send(side, "k4", MSG, bob))[2].getRawHeaders("idempotent-replayed") is None
    status, err, _ = await _send(side, "k5", {"to": "x"})
    assert status == 422
    status, again, headers = await _send(side, "k5", {"to": "x"})
    assert (status, again) == (422, err) and headers.getRawHeaders("idempotent-replayed")


@pytest_twisted.ensureDeferred
async def test_kept_24_hours_durably(tmp_path: Path) -> None:
    """Breaks if a record is lost at a restart, or kept beyond its time."""
    s = RestSide(tmp_path)
    auth = await s.user("alice")
    _, first, _ = await _send(s, "k6", MSG, auth)
    await s.close()
    s = RestSide(tmp_path)
    try:
        status, again, _ = await _send(s, "k6", MSG, auth)
        assert (status, again) == (200, first)
        s.store.idempotency.ttl = 0.0
        status, fresh, _ = await _send(s, "k6", MSG, auth)
        assert status == 200 and fresh != first
    finally:
        await s.close()


@pytest_twisted.ensureDeferred
async def test_a_bad_key_is_400(side: RestSide) -> None:
    """Breaks if a key that cannot be stored is accepted."""
    status, err, _ = await _send(side, "x" * 300, MSG)
    assert status == 400 and err["error"]["field"] == "Idempotency-Key"


@pytest_twisted.ensureDeferred
async def test_record_and_messages_are_one_durable_change(side: RestSide) -> None:
    """Breaks if the record is written apart from the messages it answers for: a crash
    between the two would let a retry send again (or replay ids never stored)."""
    side.fail_inserts("idempotency")
    status, err, _ = await _send(side, "k7", MSG)
    assert status == 503 and err["error"]["code"] == "unavailable"
    assert side.count("SELECT count(*) FROM messages") == 0
    assert side.store.queues.depth(mt_queue("c1")) == 0
    side.stop_failing("idempotency")
    side.fail_inserts("messages")
    assert (await _send(side, "k7", MSG))[0] == 503
    assert side.count("SELECT count(*) FROM idempotency") == 0
    side.stop_failing("messages")
    status, first, headers = await _send(side, "k7", MSG)
    assert status == 200 and headers.getRawHeaders("idempotent-replayed") is None
    assert side.count("SELECT count(*) FROM messages") == 1
    assert side.count("SELECT count(*) FROM idempotency") == 1
    assert (await _send(side, "k7", MSG))[:2] == (200, first)


@pytest_twisted.ensureDeferred
async def test_a_batch_retried_after_a_restart_is_replayed(tmp_path: Path) -> None:
    """Breaks if a batch retried against a new store object on the same file sends its
    recipients again instead of answering the first response."""
    batch = {"messages": [MSG, {**MSG, "to": ["33600000001", "33600000002"]},
                          {**MSG, "text": "€", "coding": 3}]}
    s = RestSide(tmp_path)
    auth = await s.user("alice")
    key = {"Idempotency-Key": "b1"}
    status, first, _ = await s.call("POST", "/v1/messages/batch", auth, batch, headers=key)
    assert status == 200 and (first["accepted"], first["refused"]) == (3, 1)
    await s.close()
    s = RestSide(tmp_path)
    try:
        status, again, headers = await s.call("POST", "/v1/messages/batch", auth, batch,
                                              headers=key)
        assert (status, again) == (200, first)
        assert headers.getRawHeaders("idempotent-replayed") == ["true"]
        assert s.store.queues.depth(mt_queue("c1")) == 3
    finally:
        await s.close()


@pytest_twisted.ensureDeferred
async def test_a_request_that_sends_nothing_is_kept_too(side: RestSide) -> None:
    """Breaks if an answer with no message to commit with (every recipient refused by
    the pipeline) is not recorded: its retry would be decided again."""
    await side.store.billing.set_balance("alice", "0")
    status, err, _ = await side.call("POST", "/v1/messages/batch", side.alice,
                                     {"messages": [MSG]}, headers={"Idempotency-Key": "k9"})
    assert status == 200 and err["refused"] == 1
    await side.store.billing.set_balance("alice", "10")
    status, again, headers = await side.call("POST", "/v1/messages/batch", side.alice,
                                             {"messages": [MSG]},
                                             headers={"Idempotency-Key": "k9"})
    assert (status, again) == (200, err) and headers.getRawHeaders("idempotent-replayed")
    assert side.store.queues.depth(mt_queue("c1")) == 0


@pytest_twisted.ensureDeferred
async def test_a_batch_whose_commit_failed_is_503_and_runs_again(side: RestSide) -> None:
    """Breaks if a batch that could not be stored answers (and keeps for its key) its
    recipients as refused: its retry must send them."""
    batch = {"messages": [MSG, {**MSG, "text": "€", "coding": 3}]}
    key = {"Idempotency-Key": "b2"}
    side.fail_inserts("messages")
    status, err, headers = await side.call("POST", "/v1/messages/batch", side.alice, batch,
                                           headers=key)
    assert status == 503 and err["error"]["code"] == "unavailable"
    assert headers.getRawHeaders("retry-after") == ["1"]
    side.stop_failing("messages")
    status, body, headers = await side.call("POST", "/v1/messages/batch", side.alice, batch,
                                            headers=key)
    assert status == 200 and (body["accepted"], body["refused"]) == (1, 1)
    assert headers.getRawHeaders("idempotent-replayed") is None
    assert side.store.queues.depth(mt_queue("c1")) == 1
