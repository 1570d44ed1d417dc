"""The in-memory side of a queue: order, leases, delays, expiry, and lazy deletion."""
import random
from dataclasses import replace

from smscd.stores.interfaces import QueueEntry
from smscd.stores.memqueue import MemoryQueue


def entry(i: int, expires_at: float | None = None) -> QueueEntry:
    return QueueEntry(i, "q", f"k{i}", b"p%d" % i, None, 0, expires_at)


def filled(n: int, now: float = 0.0) -> MemoryQueue:
    q = MemoryQueue()
    for i in range(1, n + 1):
        q.add(entry(i), now, now)
    return q


def ids(entries: list[QueueEntry]) -> list[int]:
    return [e.id for e in entries]


def test_fifo_and_each_entry_leased_once() -> None:
    """Breaks if entries come out of order or a leased entry is handed out again."""
    q = filled(5)
    assert ids(q.take(2, 0)[0]) == [1, 2]
    assert ids(q.take(10, 0)[0]) == [3, 4, 5]
    assert q.take(10, 0) == ([], [])
    assert (q.n_ready, q.n_leased, q.depth()) == (0, 5, 0)


def test_release_puts_back_at_the_head() -> None:
    """Breaks if a stopped consumer's entries lose their place (or come back changed)."""
    q = filled(3)
    [first] = q.take(1, 0)[0]
    assert q.requeue(first, first, 0, 0, front=True)
    assert ids(q.take(3, 0)[0]) == [1, 2, 3]


def test_retry_waits_for_its_delay() -> None:
    """Breaks if a retried entry is handed out before its delay or never after it."""
    q = filled(1)
    [e] = q.take(1, 0)[0]
    assert q.requeue(e, e, 10.0, 0.0, front=False)
    assert q.take(1, 9.9) == ([], []) and q.next_available() == 10.0
    assert ids(q.take(1, 10.0)[0]) == [1]


def test_finish_only_for_leased_entries() -> None:
    """Breaks if an entry can be acked twice or acked without being taken."""
    q = filled(1)
    assert not q.finish(entry(1))
    [e] = q.take(1, 0)[0]
    assert q.finish(e) and not q.finish(e) and len(q) == 0


def test_expired_entries_are_returned_not_handed_out() -> None:
    """Breaks if an entry past its expiry reaches a consumer, or disappears unreported."""
    q = MemoryQueue()
    q.add(entry(1, expires_at=5.0), 0, 0)
    q.add(entry(2), 0, 0)
    taken, expired = q.take(10, 6.0)
    assert ids(taken) == [2] and ids(expired) == [1]


def test_expire_due_skips_leased_and_checks_again_on_return() -> None:
    """Breaks if the sweep drops an entry a consumer holds, or forgets it once released."""
    q = MemoryQueue()
    q.add(entry(1, expires_at=5.0), 0, 0)
    [e] = q.take(1, 0)[0]
    assert q.expire_due(6.0) == []
    q.requeue(e, e, 6.0, 6.0, front=True)
    assert ids(q.expire_due(6.0)) == [1] and len(q) == 0


def test_remove_and_replace_only_while_waiting() -> None:
    """Breaks if cancel_sm/replace_sm could touch a message already being sent."""
    q = filled(2)
    [e1] = q.take(1, 0)[0]
    assert q.remove_key("k1") is None and q.replace_key("k1", b"x", None) is None
    assert q.replace_key("k2", b"new", "obj") is not None
    [e2] = q.take(1, 0)[0]
    assert (e2.payload, e2.obj) == (b"new", "obj")
    q.requeue(e2, e2, 0, 0, front=True)
    assert q.remove_key("k2") is not None and q.take(1, 0) == ([], [])


def test_replace_with_timing_moves_the_entry_in_time() -> None:
    """Breaks if replace_sm's new schedule is ignored (sent early, or held back), if a
    ready entry that stays ready loses its place, or if the old expiry still expires it."""
    q = filled(3)
    assert q.replace_key("k1", b"later", None, (60.0, None), 0.0) == (entry(1), 0.0)
    assert q.replace_key("k2", b"same", None, (0.0, None), 0.0) is not None
    assert ids(q.take(5, 0.0)[0]) == [2, 3]
    assert q.next_available() == 60.0
    assert q.replace_key("k1", b"now", None, (10.0, None), 10.0) is not None
    [e1] = q.take(5, 10.0)[0]
    assert (e1.id, e1.payload) == (1, b"now")


def test_replace_changes_the_expiry_both_ways() -> None:
    """Breaks if a validity moved later (or removed) by replace_sm still expires the
    message at its old time, or a validity moved earlier does not expire it."""
    q = MemoryQueue()
    q.add(entry(1, expires_at=5.0), 0, 0)
    q.add(entry(2, expires_at=50.0), 0, 0)
    q.add(entry(3, expires_at=5.0), 0, 0)
    q.replace_key("k1", b"p", None, (0.0, 100.0), 0.0)
    q.replace_key("k2", b"p", None, (0.0, 6.0), 0.0)
    q.replace_key("k3", b"p", None, (0.0, None), 0.0)
    assert q.expire_due(7.0) == [replace(entry(2, 6.0), payload=b"p")]
    taken = q.take(5, 7.0)[0]
    assert [(e.id, e.expires_at) for e in taken] == [(1, 100.0), (3, None)]


def test_random_operations_match_a_simple_model() -> None:
    """Breaks if lazy deletion or compaction ever hands out a removed, leased or expired
    entry, loses a waiting one, or miscounts (checked against a plain list model)."""
    rng = random.Random(7)
    q = MemoryQueue()
    waiting: dict[int, tuple[float, QueueEntry]] = {}     # id -> (available_at, entry)
    leased: dict[int, QueueEntry] = {}
    now, next_id = 0.0, 1
    for _ in range(20_000):
        op = rng.random()
        if op < 0.3:
            exp = now + rng.choice([1, 5, 50]) if rng.random() < 0.3 else None
            e = entry(next_id, exp)
            next_id += 1
            at = now + (rng.choice([0, 0, 2]))
            q.add(e, at, now)
            waiting[e.id] = (at, e)
        elif op < 0.5:
            taken, expired = q.take(rng.randint(1, 5), now)
            for e in taken:
                at, known = waiting.pop(e.id)
                assert at <= now and (e.expires_at is None or e.expires_at > now)
                assert e == known
                leased[e.id] = e
            for e in expired:
                waiting.pop(e.id)
                assert e.expires_at is not None and e.expires_at <= now
        elif op < 0.7 and leased:
            e = leased.pop(rng.choice(list(leased)))
            kind = rng.random()
            if kind < 0.5:
                assert q.finish(e)
            else:
                at = now + (1 if kind < 0.8 else 0)
                assert q.requeue(e, e, at, now, front=kind >= 0.8)
                waiting[e.id] = (at, e)
        elif op < 0.8 and waiting:
            victim = rng.choice(list(waiting))
            removed = q.remove_key(f"k{victim}")
            assert removed is not None and removed.id == victim
            del waiting[victim]
        elif op < 0.83 and waiting:
            victim = rng.choice(list(waiting))
            exp = now + rng.choice([1, 5, 50]) if rng.random() < 0.5 else None
            at = now + rng.choice([0, 0, 2])
            found = q.replace_key(f"k{victim}", b"new", None, (at, exp), now)
            assert found is not None and found[0] == waiting[victim][1]
            waiting[victim] = (at, replace(found[0], payload=b"new", expires_at=exp))
        elif op < 0.85:
            for e in q.expire_due(now):
                waiting.pop(e.id)
                assert e.expires_at is not None and e.expires_at <= now
        else:
            now += rng.choice([0.5, 1.0, 3.0])
        assert q.depth() == len(waiting) and q.n_leased == len(leased)
        assert len(q) == len(waiting) + len(leased)
