"""Benchmark of MessageLog.accept_many (a REST batch) against accept, on a real file.

    python3 bench/store_batch.py [-n 50000] [--batch 1000] [--window 2000]

Prints, for the same number of messages: accept with `window` outstanding, then
accept_many in batches of `batch` (two batches outstanding): messages/s, transactions and
the process CPU (reactor + writer thread) per message.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

# bench/store.py (by path: bench/http.py would shadow http) installs the asyncio reactor and
# puts the checkout first on sys.path.
_spec = importlib.util.spec_from_file_location("store_bench",
                                               Path(__file__).with_name("store.py"))
assert _spec is not None and _spec.loader is not None
store_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(store_bench)
cpu, make_messages, reactor, windowed = (store_bench.cpu, store_bench.make_messages,
                                         store_bench.reactor, store_bench.windowed)

from twisted.internet.defer import ensureDeferred  # noqa: E402

from smscd.stores.interfaces import Acceptance  # noqa: E402
from smscd.stores.sqlite import SqliteStore  # noqa: E402


async def main(args: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="smscd-bench-"))
    store = SqliteStore.open(directory / "store.sqlite3", reactor)
    print(f"{args.n:,} messages, accept window {args.window}, batch {args.batch}")
    try:
        for label in ("accept", "accept_many"):
            messages = make_messages(args.n)
            commits, c0, t0 = store.stats.commits, cpu(), time.perf_counter()
            if label == "accept":
                await windowed(args.n, args.window,
                               lambda i: store.messages.accept(messages[i], "accept"))
            else:
                b = args.batch
                batches = [[Acceptance(m, "many") for m in messages[i:i + b]]
                           for i in range(0, args.n, b)]
                await windowed(len(batches), 2,
                               lambda i: store.messages.accept_many(batches[i]))
            wall, used = time.perf_counter() - t0, cpu() - c0
            print(f"{label:12} {args.n / wall:10,.0f} msg/s  {used * 1e6 / args.n:7.1f} µs CPU "
                  f"per message  ({store.stats.commits - commits} transactions)")
    finally:
        await store.close()
        for f in directory.iterdir():
            f.unlink()
        directory.rmdir()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--window", type=int, default=2_000)
    arguments = parser.parse_args()

    def run() -> None:
        d = ensureDeferred(main(arguments))
        d.addErrback(lambda f: (f.printTraceback(file=sys.stderr), None)[1])
        d.addBoth(lambda _: reactor.stop())
    reactor.callWhenRunning(run)
    reactor.run()
