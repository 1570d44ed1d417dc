"""Benchmark of the embedded store (smscd.stores.sqlite) on a real file with fsync.

    python3 bench/store.py [-n 50000] [--window 2000] [--max-batch 256] [--interval-ms 2]

Prints two figures through the real store, on Twisted's asyncio reactor:
- accepts/s: MessageLog.accept (log row + queue entry in one group commit), `window`
  accepts outstanding at any time;
- full lives/s: accept, then take, record_sent, ack and record_state for each message as
  soon as it is ready, until the last record_state is durable.
Also the transactions used, the largest batch and the CPU seconds of the process.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path[0] = str(Path(__file__).resolve().parents[1])  # bench/http.py would shadow http

from twisted.internet import asyncioreactor  # noqa: E402

asyncioreactor.install()
from twisted.internet import reactor  # noqa: E402
from twisted.internet.defer import Deferred, ensureDeferred  # noqa: E402

from smscd.ids import new_message_id  # noqa: E402
from smscd.message import Address, Message, Part  # noqa: E402
from smscd.smpp.message_state import MessageState  # noqa: E402
from smscd.stores.sqlite import SqliteStore  # noqa: E402

TEXT = ("Your verification code is 482913. It expires in 10 minutes. Do not share this code "
        "with anyone, including people who claim to be from our support team.").encode()


def make_messages(n: int) -> list[Message]:
    """Ids as the daemon makes them: time-ordered (here as if 10,000 were submitted per
    second), so index inserts land at the end of the index as in production."""
    now = time.time()
    return [Message(new_message_id(now + i / 10_000), "bench-user", Address("BenchCo", 5, 0),
                    Address(f"4479{i:08d}", 1, 1), (Part(TEXT),), now,
                    registered_delivery=1, connector="vendor-a")
            for i in range(n)]


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def windowed(n: int, window: int, start: Callable[[int], Deferred[Any]]) -> Deferred[None]:
    """Call start(i) for i in range(n) keeping at most `window` outstanding."""
    done: Deferred[None] = Deferred()
    state = {"next": 0, "finished": 0}

    def launch() -> None:
        i = state["next"]
        state["next"] += 1
        start(i).addCallbacks(finished, failed)

    def finished(_: object) -> None:
        state["finished"] += 1
        if state["next"] < n:
            launch()
        elif state["finished"] == n:
            done.callback(None)

    def failed(f: Any) -> None:
        if not done.called:
            done.errback(f)

    for _ in range(min(window, n)):
        launch()
    return done


async def bench_accepts(store: SqliteStore, messages: list[Message], window: int) -> float:
    before = store.stats.commits
    t0 = time.perf_counter()
    await windowed(len(messages), window,
                   lambda i: store.messages.accept(messages[i], "accepts"))
    elapsed = time.perf_counter() - t0
    print(f"accept:     {len(messages) / elapsed:10,.0f} msg/s   "
          f"({elapsed:.2f} s, {store.stats.commits - before} transactions)")
    return elapsed


async def bench_full_life(store: SqliteStore, messages: list[Message], window: int) -> float:
    n, queue = len(messages), "full-life"
    q, m = store.queues, store.messages
    finished: Deferred[None] = Deferred()
    lives = {"done": 0}

    def life_done(_: object) -> None:
        lives["done"] += 1
        if lives["done"] == n:
            finished.callback(None)

    async def consume() -> None:
        vendor_seq = 0
        while lives["done"] < n:
            await q.when_ready(queue)
            for entry in q.take(queue, 256):
                vendor_seq += 1
                m.record_sent(entry.key, 0, "vendor-a", f"{vendor_seq:x}")
                q.ack(entry)
                m.record_state(entry.key, 0, MessageState.DELIVERED, "",
                               reactor.seconds()).addCallback(life_done)

    before = store.stats.commits
    t0 = time.perf_counter()
    consumer = ensureDeferred(consume())
    await windowed(n, window, lambda i: m.accept(messages[i], queue))
    await finished
    elapsed = time.perf_counter() - t0
    consumer.cancel()
    print(f"full life:  {n / elapsed:10,.0f} msg/s   "
          f"({elapsed:.2f} s, {store.stats.commits - before} transactions; accept + take + "
          f"record_sent + ack + record_state)")
    return elapsed


async def main(args: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="smscd-bench-", dir=args.dir))
    path = directory / "store.sqlite3"
    store = SqliteStore.open(path, reactor, max_batch=args.max_batch,
                             group_commit_interval_ms=args.interval_ms)
    print(f"store {path}: {args.n:,} messages, window {args.window}, max batch "
          f"{args.max_batch}, interval {args.interval_ms} ms, switch interval "
          f"{sys.getswitchinterval() * 1000:g} ms, cpus {os.cpu_count()}, load "
          f"{os.getloadavg()[0]:.2f}")
    try:
        c0 = cpu()
        await bench_accepts(store, make_messages(args.n), args.window)
        c1 = cpu()
        print(f"            {(c1 - c0) * 1e6 / args.n:10.1f} µs CPU per accept")
        await bench_full_life(store, make_messages(args.n), args.window)
        c2 = cpu()
        print(f"            {(c2 - c1) * 1e6 / args.n:10.1f} µs CPU per full life")
        s = store.stats
        print(f"store totals: {s.commits} commits, {s.ops} ops, largest batch "
              f"{s.largest_batch}, {s.reruns} re-runs, {s.checkpoints} WAL checkpoints "
              f"({s.checkpoint_seconds:.2f} s)")
    finally:
        await store.close()
        for f in directory.iterdir():
            f.unlink()
        directory.rmdir()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000, help="messages per figure")
    parser.add_argument("--window", type=int, default=2_000, help="accepts outstanding")
    parser.add_argument("--max-batch", type=int, default=256)
    parser.add_argument("--interval-ms", type=float, default=2.0)
    parser.add_argument("--dir", default=None, help="where the temporary store goes")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval (seconds); CPython's default is 0.005")
    arguments = parser.parse_args()
    if arguments.switch_interval is not None:
        sys.setswitchinterval(arguments.switch_interval)

    def run() -> None:
        d = ensureDeferred(main(arguments))
        d.addErrback(lambda f: (f.printTraceback(file=sys.stderr), None)[1])
        d.addBoth(lambda _: reactor.stop())
    reactor.callWhenRunning(run)
    reactor.run()
