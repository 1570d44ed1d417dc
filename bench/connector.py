"""One vendor connector against the SMSC simulator: MT messages/s out of the queue.

Run from the repository root:  python3 bench/connector.py [-n N] [--window W] [--binds B]
                                                          [--receipts] [--latency S]

The simulator runs in a child process (`smscd simulator`), so its CPU is not ours. This
process holds the embedded SQLite store (WAL, synchronous=FULL, group commit) in a temporary
directory and one ConnectorService. N messages are accepted into the connector's queue first
(not timed); then the connector starts, and the clock runs until every entry is acked (its
correlation and message-log rows durable). With --receipts the simulator sends a receipt per
message and the clock runs until every receipt has reached `Deliveries.part_state` (a no-op
here) and been answered.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parents[1])  # bench/http.py would shadow http

from smscd.reactor import install  # noqa: E402

reactor = install()

from twisted.internet import defer  # noqa: E402

from connectors.connector_config import connector_config_from_mapping  # noqa: E402
from connectors.smpp_client import ConnectorService  # noqa: E402
from smscd.deliveries import InboundMessage, mt_queue  # noqa: E402
from smscd.message import Address, Message, Part  # noqa: E402
from smscd.stores.sqlite import SqliteStore  # noqa: E402


class CountingDeliveries:
    def __init__(self) -> None:
        self.states = 0

    def part_state(self, *args: Any) -> defer.Deferred[None]:
        self.states += 1
        return defer.succeed(None)

    def inbound(self, mo: InboundMessage) -> defer.Deferred[None]:
        return defer.succeed(None)


async def run(args: argparse.Namespace, port: int, data_dir: str) -> None:
    store = SqliteStore.open(Path(data_dir) / "bench.db", reactor)
    cfg = connector_config_from_mapping({
        "id": "bench", "hosts": [f"127.0.0.1:{port}"], "system_id": "smscd",
        "password": "smscd", "window": args.window, "binds": args.binds,
        "enquire_link_interval": 0, "registered_delivery": "always" if args.receipts else "never"})
    deliveries = CountingDeliveries()
    connector = ConnectorService(cfg, reactor, store.queues, store.messages, store.correlations,
                                 deliveries)
    queue = mt_queue(cfg.id)
    body = (Part(b"Benchmark message text"),)
    for start in range(0, args.n, 5000):
        await defer.gatherResults([store.messages.accept(Message(
            f"b{i:08d}", "bench", Address("ACME", 5, 0), Address(f"336{i:08d}", 1, 1), body,
            time.time()), queue) for i in range(start, min(args.n, start + 5000))])
    wanted = args.n if args.receipts else 0
    cpu0, own0, wall0 = time.process_time(), time.thread_time(), time.perf_counter()
    connector.start()
    await connector.until(lambda c: c.pump.stats.acked == args.n)
    wall_sent = time.perf_counter() - wall0
    await connector.until(lambda c: deliveries.states >= wanted)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    own = time.thread_time() - own0
    status = connector.status()
    await connector.stop()
    await store.close()
    print(f"{args.n} messages, {args.binds} bind(s), window {args.window}, simulator latency "
          f"{args.latency * 1000:g} ms, receipts {'on' if args.receipts else 'off'}")
    print(f"sent and acked: {args.n / wall_sent:,.0f} msg/s ({wall_sent:.2f} s); "
          f"sent {status['sent']}, retried {status['retried']}, throttled {status['throttled']}")
    if args.receipts:
        print(f"receipts correlated: {deliveries.states} ({wall:.2f} s from start, "
              f"{args.n / wall:,.0f} msg/s with receipts)")
    print(f"connector process CPU: {cpu:.2f} s, {cpu / args.n * 1e6:.0f} us per message "
          f"({own / args.n * 1e6:.0f} us in the reactor thread, the rest in the store's "
          f"writer); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--binds", type=int, default=1)
    parser.add_argument("--receipts", action="store_true")
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    child = subprocess.Popen(
        [sys.executable, "-m", "smscd", "simulator", "--port", "0", "--account", "smscd:smscd",
         "--latency", str(args.latency), "--receipt-delay", "0.2"],
        stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    match = re.search(r":(\d+) ", child.stdout.readline())
    assert match, "simulator did not print its port"
    failures: list[Any] = []
    with tempfile.TemporaryDirectory() as data_dir:
        d = defer.ensureDeferred(run(args, int(match.group(1)), data_dir))
        d.addErrback(failures.append)
        d.addBoth(lambda _: reactor.stop())
        reactor.run()
    child.terminate()
    child.wait(10)
    if failures:
        print(failures[0])
        sys.exit(1)


if __name__ == "__main__":
    main()
