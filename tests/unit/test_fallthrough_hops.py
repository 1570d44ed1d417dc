"""Fall-through decisions (next_hop) and FallThrough's timing, over in-memory fakes and a
task.Clock: which entries move, where, when, and which stay."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from connectors.fallthrough import FallThrough, next_hop
from smscd.deliveries import mt_queue
from smscd.message import Address, Message, Part, dump_message
from smscd.smpp.message_state import MessageState
from smscd.stores.interfaces import MessageRecord, PartRecord, QueueEntry


def msg(i: int, candidates: str | None = "c2,c3", parts: int = 1, **kw: Any) -> Message:
    extra = {"dlr-url": "http://x"} if candidates is None else \
        {"dlr-url": "http://x", "candidates": candidates}
    return Message(id=f"m{i}", user="acme", source=Address("S"), destination=Address("336"),
                   parts=tuple(Part(b"p") for _ in range(parts)), created_at=0.0,
                   connector="c1", extra=extra, **kw)


# --- next_hop ---------------------------------------------------------------------------------

def test_first_candidate_up_gets_the_message_and_loses_itself_from_the_candidates() -> None:
    hop = next_hop(msg(1, "c2,c3,c4"), "c1", lambda c: c in ("c3", "c4"))
    assert hop is not None and hop.connector == "c3"
    assert hop.message.connector == "c3"
    assert hop.message.extra == {"dlr-url": "http://x", "candidates": "c4"}


def test_last_candidate_leaves_no_candidates_key() -> None:
    hop = next_hop(msg(1, "c2"), "c1", lambda c: True)
    assert hop is not None and hop.message.extra == {"dlr-url": "http://x"}


def test_the_down_connector_is_never_chosen_nor_added_back() -> None:
    hop = next_hop(msg(1, "c1,c2,c1,c3"), "c1", lambda c: True)
    assert hop is not None and hop.connector == "c2"
    assert hop.message.extra["candidates"] == "c3"


@pytest.mark.parametrize("candidates", [None, "", "c2,c3"])
def test_no_candidate_up_means_it_stays(candidates: str | None) -> None:
    assert next_hop(msg(1, candidates), "c1", lambda c: c == "c1") is None


def test_the_original_message_is_not_changed() -> None:
    m = msg(1)
    next_hop(m, "c1", lambda c: True)
    assert m.connector == "c1" and m.extra["candidates"] == "c2,c3"


# --- FallThrough over fakes -------------------------------------------------------------------

@dataclass
class FakeStore:
    """Queues.waiting + MessageLog.find/reroute over plain dicts; `sent` lists message ids
    whose log shows a part sent; `fail` message ids whose reroute fails."""
    queues: dict[str, list[QueueEntry]] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)
    fail: set[str] = field(default_factory=set)
    moves: list[tuple[str, str, str, float, Message]] = field(default_factory=list)

    def put(self, cid: str, message: Message, attempts: int = 0, obj: bool = True) -> None:
        q = self.queues.setdefault(mt_queue(cid), [])
        q.append(QueueEntry(len(q) + 1, mt_queue(cid), message.id, dump_message(message),
                            message if obj else None, attempts))

    def waiting(self, queue: str) -> list[QueueEntry]:
        return list(self.queues.get(queue, []))

    def find(self, message_id: str) -> Deferred[MessageRecord | None]:
        entry = next(e for q in self.queues.values() for e in q if e.key == message_id)
        m = entry.obj
        assert isinstance(m, Message)
        part = PartRecord(0, "c1", "v1", 1.0) if message_id in self.sent else PartRecord(0)
        return succeed(MessageRecord(m, 0.0, MessageState.ENROUTE, 0.0,
                                     (part,) + tuple(PartRecord(i) for i in
                                                     range(1, len(m.parts)))))

    def reroute(self, message: Message, queue: str, to_queue: str,
                delay: float = 0.0) -> Deferred[bool]:
        if message.id in self.fail:
            return fail(RuntimeError("disk full"))
        q = self.queues[queue]
        entry = next(e for e in q if e.key == message.id)
        q.remove(entry)
        self.queues.setdefault(to_queue, []).append(replace(entry, queue=to_queue,
                                                            obj=message))
        self.moves.append((message.id, queue, to_queue, delay, message))
        return succeed(True)


class Rig:
    def __init__(self, up: set[str], after: float = 10.0, known: tuple[str, ...] = ("c1",)
                 ) -> None:
        self.store = FakeStore()
        self.up = up
        self.known = known
        self.clock = Clock()
        self.ft = FallThrough(self.store, self.store, lambda c: c in self.up,
                              lambda: self.known, self.clock, after=after, every=1.0)

    def moved(self) -> list[tuple[str, str]]:
        return [(m, to.removeprefix("mt:")) for m, _, to, _, _ in self.store.moves]


def test_nothing_moves_before_the_connector_has_been_down_for_after_seconds() -> None:
    r = Rig(up={"c2"})
    r.store.put("c1", msg(1))
    r.ft.start()
    r.clock.advance(1)                     # first seen down at t=1
    r.clock.pump([1] * 9)                  # t=10: down for 9 s
    assert r.moved() == []
    r.clock.advance(1)                     # t=11: down for 10 s
    assert r.moved() == [("m1", "c2")]
    assert r.ft.moved == 1


def test_coming_back_up_restarts_the_grace_time() -> None:
    r = Rig(up={"c2"})
    r.store.put("c1", msg(1))
    r.ft.start()
    r.clock.pump([1] * 8)
    r.up.add("c1")
    r.clock.advance(1)                     # seen up: the down time is forgotten
    r.up.discard("c1")
    r.clock.pump([1] * 10)                 # first seen down again at t=10; now t=19
    assert r.moved() == []
    r.clock.advance(1)
    assert r.moved() == [("m1", "c2")]


def test_entries_without_candidates_or_with_none_up_stay_and_go_later() -> None:
    r = Rig(up=set())
    r.store.put("c1", msg(1, None))
    r.store.put("c1", msg(2, "c2,c3"))
    r.ft.start()
    r.clock.pump([1] * 15)
    assert r.moved() == []
    r.up.add("c3")                         # a candidate comes up while c1 is still down
    r.clock.advance(1)
    assert r.moved() == [("m2", "c3")]
    assert [e.key for e in r.store.waiting(mt_queue("c1"))] == ["m1"]


def test_a_removed_connector_stays_watched() -> None:
    r = Rig(up={"c2"})
    r.store.put("c1", msg(1))
    r.ft.start()
    r.clock.advance(1)
    r.known = ()                           # removed by the operator
    r.clock.pump([1] * 10)
    assert r.moved() == [("m1", "c2")]


def test_parts_that_may_have_gone_move_only_if_the_log_shows_none_sent() -> None:
    r = Rig(up={"c2"}, after=1)
    r.store.put("c1", msg(1, parts=2))            # multipart, nothing sent: moves
    r.store.put("c1", msg(2, parts=2))            # part 0 went to c1's vendor: stays
    r.store.put("c1", msg(3), attempts=2)         # retried one-part, nothing sent: moves
    r.store.put("c1", msg(4), attempts=1)         # retried one-part the vendor took: stays
    r.store.sent.update({"m2", "m4"})
    r.ft.start()
    r.clock.pump([1] * 3)
    assert sorted(r.moved()) == [("m1", "c2"), ("m3", "c2")]


def test_a_scheduled_message_keeps_its_delay_and_a_failed_move_leaves_the_rest() -> None:
    r = Rig(up={"c2"}, after=1)
    r.store.put("c1", msg(1, schedule_at=100.0))
    r.store.put("c1", msg(2))
    r.store.put("c1", msg(3))
    r.store.fail.add("m2")
    r.ft.start()
    r.clock.pump([1] * 3)                  # moved at t=2
    assert [(m, d) for m, _, _, d, _ in r.store.moves] == [("m1", 98.0), ("m3", 0.0)]
    assert [e.key for e in r.store.waiting(mt_queue("c1"))] == ["m2"]


def test_after_zero_disables_and_stop_cancels_the_timer() -> None:
    r = Rig(up={"c2"}, after=0)
    r.store.put("c1", msg(1))
    r.ft.start()
    assert r.clock.getDelayedCalls() == []
    r.clock.advance(100)
    assert r.ft.check().result == 0 and r.moved() == []
    r2 = Rig(up={"c2"}, after=1)
    r2.ft.start()
    r2.ft.stop()
    assert r2.clock.getDelayedCalls() == []


def test_bad_settings_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="fallthrough_after"):
        FallThrough(FakeStore(), FakeStore(), lambda c: True, lambda: (), Clock(), after=-1)


def test_entries_read_back_from_the_store_decode_their_payload() -> None:
    r = Rig(up={"c3"}, after=1)
    r.store.put("c1", msg(1), obj=False)
    r.ft.start()
    r.clock.pump([1] * 3)
    [(_, _, _, _, moved)] = r.store.moves
    assert moved.connector == "c3" and "candidates" not in moved.extra
