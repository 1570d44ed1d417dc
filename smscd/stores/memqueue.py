# tests: tests/unit/test_memqueue.py
"""One queue's consumer-side state, in memory: what is ready, delayed, leased. Pure: `now`
is an argument; no I/O, no Twisted.

The durable copy lives in the database; this is rebuilt from it at open (every entry
unleased). Each entry has one slot holding its state:
- READY: its (id, ticket) is in the `ready` deque (FIFO; `release` puts it at the front);
- DELAYED: its (available_at, id, ticket) is in the `delayed` heap until promoted;
- LEASED: handed out by `take`, in neither structure, until finished or requeued.
Deque and heap items are never removed from the middle: a slot's ticket changes whenever it
moves, and an item whose ticket is stale is skipped when reached (lazy deletion). The
`expiry` heap lists entries with expires_at; an item whose time is not the slot's
`expiry_at` (the expiry changed by replace_sm, or the item was used) is stale and skipped
too. When stale
items outnumber live ones a structure is rebuilt, so memory follows the live entries, not
the traffic. Expired entries are never handed out: `take` and `expire_due` return them
separately.
"""
from __future__ import annotations

import heapq
from collections import deque
from dataclasses import replace

from smscd.stores.interfaces import QueueEntry

READY, DELAYED, LEASED = 0, 1, 2


class _Slot:
    __slots__ = ("entry", "state", "ticket", "available_at", "expiry_at")

    def __init__(self, entry: QueueEntry) -> None:
        self.entry = entry
        self.state = READY
        self.ticket = 0
        self.available_at = 0.0
        self.expiry_at: float | None = None     # the time of its live item in `expiry`


class MemoryQueue:
    def __init__(self) -> None:
        self._slots: dict[int, _Slot] = {}
        self._by_key: dict[str, int] = {}
        self._ready: deque[tuple[int, int]] = deque()
        self._delayed: list[tuple[float, int, int]] = []
        self._expiry: list[tuple[float, int]] = []
        self.n_ready = self.n_delayed = self.n_leased = 0

    def __len__(self) -> int:
        return len(self._slots)

    def depth(self) -> int:
        return self.n_ready + self.n_delayed

    def add(self, entry: QueueEntry, available_at: float, now: float) -> None:
        slot = _Slot(entry)
        self._slots[entry.id] = slot
        self._by_key[entry.key] = entry.id
        self._place(slot, available_at, now, front=False)

    def take(self, max_n: int, now: float) -> tuple[list[QueueEntry], list[QueueEntry]]:
        """Lease up to `max_n` ready entries; also returns the expired ones it dropped."""
        self.promote(now)
        taken: list[QueueEntry] = []
        expired: list[QueueEntry] = []
        slots = self._slots
        while len(taken) < max_n and self._ready:     # _drop may rebuild self._ready
            entry_id, ticket = self._ready.popleft()
            slot = slots.get(entry_id)
            if slot is None or slot.ticket != ticket or slot.state != READY:
                continue
            entry = slot.entry
            if entry.expires_at is not None and entry.expires_at <= now:
                self._drop(slot)
                expired.append(entry)
                continue
            slot.state = LEASED
            self.n_ready -= 1
            self.n_leased += 1
            taken.append(entry)
        return taken, expired

    def promote(self, now: float) -> None:
        delayed = self._delayed
        while delayed and delayed[0][0] <= now:
            _, entry_id, ticket = heapq.heappop(delayed)
            slot = self._slots.get(entry_id)
            if slot is not None and slot.ticket == ticket and slot.state == DELAYED:
                self.n_delayed -= 1
                self._place(slot, now, now, front=False)

    def next_available(self) -> float | None:
        """When the earliest delayed entry becomes ready, if any."""
        delayed = self._delayed
        while delayed:
            at, entry_id, ticket = delayed[0]
            slot = self._slots.get(entry_id)
            if slot is not None and slot.ticket == ticket and slot.state == DELAYED:
                return at
            heapq.heappop(delayed)
        return None

    def leased(self, entry: QueueEntry) -> bool:
        slot = self._slots.get(entry.id)
        return slot is not None and slot.state == LEASED

    def finish(self, entry: QueueEntry) -> bool:
        """Forget a leased entry (ack, dead letter). False if it was not leased."""
        slot = self._slots.get(entry.id)
        if slot is None or slot.state != LEASED:
            return False
        self._drop(slot)
        return True

    def requeue(self, entry: QueueEntry, new: QueueEntry, available_at: float, now: float,
                front: bool) -> bool:
        """A leased entry goes back as `new` (retry: attempts + 1; release: unchanged)."""
        slot = self._slots.get(entry.id)
        if slot is None or slot.state != LEASED:
            return False
        self.n_leased -= 1
        slot.entry = new
        self._place(slot, available_at, now, front)
        return True

    def peek_key(self, key: str) -> QueueEntry | None:
        """The entry named `key` if it is waiting (not leased)."""
        slot = self._slot_for_key(key)
        return None if slot is None or slot.state == LEASED else slot.entry

    def waiting(self) -> list[QueueEntry]:
        """Every entry not leased (ready or delayed), in the order they were added."""
        return [s.entry for s in self._slots.values() if s.state != LEASED]

    def remove_key(self, key: str) -> QueueEntry | None:
        """Take a waiting entry out (cancel); None if absent or leased."""
        slot = self._slot_for_key(key)
        if slot is None or slot.state == LEASED:
            return None
        self._drop(slot)
        return slot.entry

    def replace_key(self, key: str, payload: bytes, obj: object | None,
                    timing: tuple[float, float | None] | None = None,
                    now: float = 0.0) -> tuple[QueueEntry, float] | None:
        """Swap the payload of a waiting entry and, with `timing` (available_at,
        expires_at), its schedule and expiry; returns the old entry and its available_at
        (to undo). It keeps its place if it stays ready, else it goes where the new time
        puts it."""
        slot = self._slot_for_key(key)
        if slot is None or slot.state == LEASED:
            return None
        old, old_available_at = slot.entry, slot.available_at
        if timing is None:
            slot.entry = replace(old, payload=payload, obj=obj)
            return old, old_available_at
        available_at, expires_at = timing
        slot.entry = replace(old, payload=payload, obj=obj, expires_at=expires_at)
        if slot.state == READY and available_at <= now:
            slot.available_at = available_at
            self._track_expiry(slot)
        else:
            if slot.state == READY:
                self.n_ready -= 1
            else:
                self.n_delayed -= 1
            self._place(slot, available_at, now, front=False)
        return old, old_available_at

    def expire_due(self, now: float) -> list[QueueEntry]:
        """Drop and return every waiting entry whose expires_at has passed."""
        out: list[QueueEntry] = []
        while self._expiry and self._expiry[0][0] <= now:    # _drop may rebuild it
            at, entry_id = heapq.heappop(self._expiry)
            slot = self._slots.get(entry_id)
            if slot is None or slot.expiry_at != at:
                continue
            slot.expiry_at = None
            if slot.state == LEASED:      # pushed again if it comes back unacked
                continue
            self._drop(slot)
            out.append(slot.entry)
        return out

    # --- internals --------------------------------------------------------------------------

    def _slot_for_key(self, key: str) -> _Slot | None:
        entry_id = self._by_key.get(key)
        return None if entry_id is None else self._slots.get(entry_id)

    def _place(self, slot: _Slot, available_at: float, now: float, front: bool) -> None:
        slot.ticket += 1
        slot.available_at = available_at
        entry = slot.entry
        if available_at <= now:
            slot.state = READY
            self.n_ready += 1
            if front:
                self._ready.appendleft((entry.id, slot.ticket))
            else:
                self._ready.append((entry.id, slot.ticket))
        else:
            slot.state = DELAYED
            self.n_delayed += 1
            heapq.heappush(self._delayed, (available_at, entry.id, slot.ticket))
        self._track_expiry(slot)

    def _track_expiry(self, slot: _Slot) -> None:
        expires_at = slot.entry.expires_at
        if expires_at != slot.expiry_at:
            slot.expiry_at = expires_at
            if expires_at is not None:
                heapq.heappush(self._expiry, (expires_at, slot.entry.id))

    def _drop(self, slot: _Slot) -> None:
        entry = slot.entry
        del self._slots[entry.id]
        if self._by_key.get(entry.key) == entry.id:
            del self._by_key[entry.key]
        if slot.state == READY:
            self.n_ready -= 1
        elif slot.state == DELAYED:
            self.n_delayed -= 1
        else:
            self.n_leased -= 1
        slot.ticket += 1
        self._compact()

    def _compact(self) -> None:
        live = len(self._slots)
        if len(self._expiry) > 2 * live + 1024:
            self._expiry = [(s.expiry_at, i) for i, s in self._slots.items()
                            if s.expiry_at is not None]
            heapq.heapify(self._expiry)
        if len(self._delayed) > 2 * self.n_delayed + 1024:
            self._delayed = [(s.available_at, i, s.ticket) for i, s in self._slots.items()
                             if s.state == DELAYED]
            heapq.heapify(self._delayed)
        if len(self._ready) > 2 * self.n_ready + 1024:
            slots = self._slots
            self._ready = deque(item for item in self._ready
                                if (s := slots.get(item[0])) is not None
                                and s.ticket == item[1] and s.state == READY)
