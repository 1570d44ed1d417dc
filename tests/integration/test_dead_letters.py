"""Dead letters for operators: listed with their reason, put back in their queue."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor

from smscd.dead_letters import list_dead, requeue
from smscd.stores.interfaces import StoreError
from smscd.stores.sqlite import SqliteStore


async def _one_dead_letter(path: Path) -> None:
    store = SqliteStore.open(path, reactor)
    await store.queues.publish("mt:vendor", "m1", b"payload")
    [entry] = store.queues.take("mt:vendor", 1)
    await store.queues.dead_letter(entry, "vendor refused: ESME_RINVDSTADR")
    await store.close()


@pytest_twisted.ensureDeferred
async def test_dead_letter_listed_then_requeued(tmp_path: Path) -> None:
    """An operator sees why a message died and can send it again."""
    path = tmp_path / "smscd.sqlite3"
    await _one_dead_letter(path)
    lines: list[str] = []
    assert await list_dead(reactor, path, "mt:vendor", lines.append) == 1
    assert "key=m1" in lines[0] and "ESME_RINVDSTADR" in lines[0]
    dead_id = int(lines[0].split()[0])
    assert await requeue(reactor, path, [dead_id, 999], lines.append) == 1
    assert lines[-2:] == [f"{dead_id}: requeued", "999: no such dead letter"]
    store = SqliteStore.open(path, reactor)
    try:
        [entry] = store.queues.take("mt:vendor", 1)
        assert (entry.key, entry.payload) == ("m1", b"payload")
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_a_running_daemons_store_is_refused_clearly(tmp_path: Path) -> None:
    """While another process holds the store, the tool says so instead of corrupting it."""
    path = tmp_path / "smscd.sqlite3"
    store = SqliteStore.open(path, reactor)
    try:
        with pytest.raises(StoreError, match="in use"):
            await list_dead(reactor, path, "mt:vendor", print)
    finally:
        await store.close()


def test_cli_lists_an_empty_queue(tmp_path: Path) -> None:
    """`smscd queue dead` works from the command line on a data directory."""
    result = subprocess.run([sys.executable, "-m", "smscd", "queue", "dead", "mt:none",
                             "--data-dir", str(tmp_path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("0 dead letter(s) in mt:none")
