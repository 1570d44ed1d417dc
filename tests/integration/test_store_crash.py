"""Durability proof: kill -9 a process while it accepts messages (one by one, or in
accept_many batches); every message it had confirmed (printed after its Deferred fired) is
in the log and the queue."""
from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor

from smscd.stores.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("store_crash_child.py")
TOTAL, KILL_AFTER = 500, 120


def read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    remaining = deadline - time.monotonic()
    ready, _, _ = select.select([proc.stdout], [], [], max(0.0, remaining))
    assert ready, "the child stopped printing"
    return proc.stdout.readline()


@pytest.mark.parametrize("mode", ["one", "many"])
@pytest_twisted.ensureDeferred
async def test_kill_9_loses_no_confirmed_message(tmp_path: Path, mode: str) -> None:
    """Breaks if a message is confirmed to the customer before its log row and queue entry
    are committed, or if reopening after a crash loses or corrupts any of them."""
    path = tmp_path / "var" / "smscd.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(CHILD), str(path), str(TOTAL), mode],
                            stdout=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    try:
        assert read_line(proc, deadline) == "open\n"
        confirmed = [read_line(proc, deadline).strip() for _ in range(KILL_AFTER)]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        rest, _ = proc.communicate(timeout=30)
    confirmed += rest.split()               # printed before the kill landed: confirmed too
    assert proc.returncode == -signal.SIGKILL
    assert KILL_AFTER <= len(confirmed) < TOTAL, "the kill did not land mid-way"

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = SqliteStore.open(path, reactor)
    try:
        queued = {e.key for e in store.queues.take("mt:crash", TOTAL)}
        records = [await store.messages.get(i, "crash-user") for i in confirmed]
    finally:
        await store.close()
    assert set(confirmed) <= queued
    assert all(r is not None and r.message.id == i for r, i in zip(records, confirmed))
