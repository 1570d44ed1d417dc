"""Benchmark of cancel_sm by address (smscd/smpp_cancel.py) on the embedded store.

    python3 bench/cancel_by_address.py [-n 100000] [--match 1000]

`n` messages wait in one connector's MT queue, half of them the caller's; `match` of the
caller's come from the source address the cancel names. Prints the CPU cost of finding the
candidates (scanning the waiting entries, with the Message objects in memory as after an
accept, and decoded from their payload as after a restart) and of cancelling the matches
(one MessageLog.cancel each plus the billing release, committed by the group-commit writer).
CPU is the whole process's (store writer thread included), in microseconds per operation.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # bench/http.py would shadow http

from twisted.internet import asyncioreactor  # noqa: E402

asyncioreactor.install()
from twisted.internet import reactor  # noqa: E402
from twisted.internet.defer import ensureDeferred  # noqa: E402

from smscd.deliveries import mt_queue  # noqa: E402
from smscd.ids import new_message_id  # noqa: E402
from smscd.message import Address, Message, Part  # noqa: E402
from smscd.smpp_cancel import CancelCriteria, WaitingMt, cancel_matching  # noqa: E402
from smscd.stores.interfaces import Acceptance  # noqa: E402
from smscd.stores.sqlite import SqliteStore  # noqa: E402

QUEUE = mt_queue("vendor1")


def messages(n: int, match: int) -> list[Message]:
    now = time.time()
    out = []
    for i in range(n):
        user = "alice" if i % 2 == 0 else "bob"
        source = "SHOP" if user == "alice" and i // 2 < match else f"S{i % 97}"
        out.append(Message(new_message_id(now), user, Address(source, 5, 0),
                           Address(f"336{i:08d}", 1, 1), (Part(b"hello " * 20),), now,
                           connector="vendor1"))
    return out


def cpu() -> float:
    return time.process_time()


def scan(store: SqliteStore, n: int, label: str) -> None:
    waiting = WaitingMt(store.queues, lambda: ["vendor1"])
    t0 = cpu()
    found = [m for _, m in waiting.of_user("alice", ("SHOP",))
             if CancelCriteria("SHOP").matches(m)]
    spent = cpu() - t0
    print(f"scan ({label}): {n} waiting, {len(found)} match: "
          f"{spent / n * 1e6:.2f} us CPU per waiting entry, {spent * 1e3:.1f} ms in all")


async def run(n: int, match: int, path: Path) -> None:
    store = SqliteStore.open(path, reactor)
    batch = 5000
    made = messages(n, match)
    for i in range(0, n, batch):
        await store.messages.accept_many([Acceptance(m, QUEUE) for m in made[i:i + batch]])
    scan(store, n, "Message objects in memory, as after accept")
    await store.close()
    store = SqliteStore.open(path, reactor)
    scan(store, n, "decoded from the payload, as after a restart")
    t0, w0 = cpu(), time.perf_counter()
    resp = await cancel_matching(store.messages, store.billing,
                                 WaitingMt(store.queues, lambda: ["vendor1"]), "alice",
                                 CancelCriteria("SHOP"))
    spent, wall = cpu() - t0, time.perf_counter() - w0
    print(f"cancel after a restart: status {resp.command_status}, {match} cancelled in "
          f"{spent * 1e3:.0f} ms CPU ({spent / match * 1e6:.0f} us per cancelled message, "
          f"the scan of {n} included), {wall * 1e3:.0f} ms wall")
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--match", type=int, default=1000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        done = ensureDeferred(run(args.n, args.match, Path(tmp) / "smscd.db"))
        done.addBoth(lambda r: (reactor.stop(), r)[1])
        done.addErrback(lambda f: f.printTraceback())
        reactor.run()


if __name__ == "__main__":
    main()
