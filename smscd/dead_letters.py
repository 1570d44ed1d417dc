# tests: tests/integration/test_dead_letters.py
"""Operator access to the dead letters: list them per queue, put them back.

Until the admin shell (which reaches the running daemon) exists, `smscd queue` works on
the store of a stopped daemon: the store allows one process at a time, and a running
daemon makes it say so. Queue names: `mt:<connector>` (messages for a vendor),
`deliver:<user>` (receipts and MO for a customer), `mo:unrouted` (MO no route claimed).
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from smscd.stores.interfaces import DeadLetter
from smscd.stores.sqlite import SqliteStore


def describe(dead: DeadLetter) -> str:
    when = datetime.fromtimestamp(dead.dead_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return (f"{dead.id}  {dead.queue}  key={dead.key}  attempts={dead.attempts}  "
            f"died {when} UTC  reason: {dead.reason}")


async def list_dead(reactor: Any, store_path: Path, queue: str,
                    say: Callable[[str], None], limit: int = 1000) -> int:
    """Print the dead letters of `queue`, oldest first; returns how many."""
    store = SqliteStore.open(store_path, reactor)
    try:
        dead = await store.queues.dead_letters(queue, limit)
        for item in dead:
            say(describe(item))
        say(f"{len(dead)} dead letter(s) in {queue}")
        return len(dead)
    finally:
        await store.close()


async def requeue(reactor: Any, store_path: Path, ids: list[int],
                  say: Callable[[str], None]) -> int:
    """Put dead letters back in their queues; returns how many were not found."""
    store = SqliteStore.open(store_path, reactor)
    missing = 0
    try:
        for dead_id in ids:
            if await store.queues.requeue_dead(dead_id):
                say(f"{dead_id}: requeued")
            else:
                say(f"{dead_id}: no such dead letter")
                missing += 1
        return missing
    finally:
        await store.close()
