"""Benchmark: how many submit_sm/s (and receipts/s) the SMSC simulator holds on one core.

The simulator runs in its own process (one core); the load generator, written on the same
adapter (smscd.smpp_protocol), runs in this one and keeps `--window` submits in flight per
bind over loopback. Both use Twisted's asyncio reactor, as production does.

    python3 bench/simulator.py -n 50000 --window 100                # submit_sm only
    python3 bench/simulator.py -n 50000 --window 100 --receipts     # + one receipt each
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # bench/http.py would shadow http

from twisted.internet import asyncioreactor  # noqa: E402

asyncioreactor.install()

from twisted.internet import defer, reactor  # noqa: E402

from smscd.smpp import pdu as P  # noqa: E402
from smscd.smpp.session import (Event, RequestFailed, RequestReceived,  # noqa: E402
                                ResponseReceived, SessionConfig)
from smscd.smpp_protocol import HandlerBase, SmppProtocol, connect_and_bind  # noqa: E402

ACCOUNT, PASSWORD = "bench", "bench"


def serve(args: argparse.Namespace) -> None:
    """Child process: run the simulator, print its port, run until stdin closes."""
    from connectors.sim_config import SimulatorConfig
    from connectors.simulator import SimulatorService

    config = SimulatorConfig(accounts={ACCOUNT: PASSWORD}, receipt_delay=args.receipt_delay,
                             latency=args.latency, deliver_window=args.window,
                             window=max(1000, args.window * 2), seed=1)
    sim = SimulatorService(config, reactor)

    async def start() -> None:
        port = await sim.start(0)
        print(port, flush=True)

    defer.ensureDeferred(start())
    reactor.callInThread(lambda: (sys.stdin.read(), reactor.callFromThread(reactor.stop)))
    reactor.run()
    print(f"stats {sim.stats}", file=sys.stderr)


class Load(HandlerBase):
    """Keeps the window full of one prebuilt submit_sm until `n` are answered."""

    def __init__(self, n: int, window: int, receipts: bool, done: defer.Deferred[None]) -> None:
        self.n, self.window, self.done = n, window, done
        self.submit = P.SubmitSm(source_addr_ton=1, source_addr_npi=1, source_addr="33600000000",
                                 dest_addr_ton=1, dest_addr_npi=1, destination_addr="33611223344",
                                 registered_delivery=1 if receipts else 0,
                                 short_message=b"Benchmark message text")
        self.receipts_wanted = n if receipts else 0
        self.sent = self.answered = self.ok = self.receipts = 0
        self.t_start = self.t_answered = self.t_first_receipt = self.t_last_receipt = 0.0

    def go(self, protos: list[SmppProtocol]) -> None:
        self.t_start = time.perf_counter()
        for proto in protos:
            self._fill(proto)

    def _fill(self, proto: SmppProtocol) -> None:
        free = min(proto.session.window_free, self.n - self.sent)
        for _ in range(free):
            proto.send_request(self.submit)
        self.sent += free

    def event(self, proto: SmppProtocol, event: Event) -> None:
        if type(event) is ResponseReceived:
            self.answered += 1
            if event.response.command_status == 0:
                self.ok += 1
            if self.answered == self.n:
                self.t_answered = time.perf_counter()
                self._maybe_done()
            elif self.sent < self.n:
                self._fill(proto)
        elif type(event) is RequestReceived:
            proto.respond(event.pdu, P.DeliverSmResp())
            self.receipts += 1
            now = time.perf_counter()
            if self.receipts == 1:
                self.t_first_receipt = now
            self.t_last_receipt = now
            if self.receipts == self.receipts_wanted:
                self._maybe_done()
        elif isinstance(event, RequestFailed):
            self.answered += 1
            if self.answered == self.n:
                self.t_answered = time.perf_counter()
                self._maybe_done()

    def _maybe_done(self) -> None:
        if self.answered == self.n and self.receipts >= self.receipts_wanted \
                and not self.done.called:
            self.done.callback(None)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(args: argparse.Namespace, child: subprocess.Popen[str]) -> None:
    assert child.stdout is not None
    port = int(child.stdout.readline())
    done: defer.Deferred[None] = defer.Deferred()
    load = Load(args.n, args.window, args.receipts, done)
    config = SessionConfig(window=args.window, response_timeout=60.0,
                           enquire_link_interval=0)
    protos = [await connect_and_bind(reactor, "127.0.0.1", port,
                                     P.BindTransceiver(system_id=ACCOUNT, password=PASSWORD),
                                     load, config) for _ in range(args.binds)]
    cpu0, own0, wall0 = cpu_seconds(child.pid), time.process_time(), time.perf_counter()
    load.go(protos)
    await done
    cpu1, own1, wall1 = cpu_seconds(child.pid), time.process_time(), time.perf_counter()
    for proto in protos:
        proto.unbind()
    for proto in protos:
        await proto.when_closed()
    answer_time = load.t_answered - load.t_start
    print(f"submit_sm: {args.n} sent, {load.ok} ESME_ROK, {args.binds} bind(s), "
          f"window {args.window} each, "
          f"latency {args.latency * 1000:g} ms")
    print(f"submit_sm/s answered: {args.n / answer_time:,.0f}  ({answer_time:.2f} s)")
    if args.receipts:
        span = load.t_last_receipt - load.t_first_receipt
        print(f"receipts: {load.receipts} in {span:.2f} s after the first, "
              f"{load.receipts / span if span else float('nan'):,.0f}/s "
              f"(receipt delay {args.receipt_delay:g} s)")
    busy = cpu1 - cpu0
    print(f"simulator CPU: {busy:.2f} s over {wall1 - wall0:.2f} s wall, "
          f"{busy / args.n * 1e6:.1f} us per message, "
          f"{args.n / busy if busy else float('nan'):,.0f} messages per CPU-second")
    print(f"load generator CPU: {own1 - own0:.2f} s; machine load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="bench", choices=("bench", "serve"))
    parser.add_argument("-n", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--binds", type=int, default=1, help="transceiver binds")
    parser.add_argument("--receipts", action="store_true")
    parser.add_argument("--receipt-delay", type=float, default=0.5)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args)
        return
    child = subprocess.Popen(
        [sys.executable, __file__, "serve", "--window", str(args.window),
         "--receipt-delay", str(args.receipt_delay), "--latency", str(args.latency)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    failures: list[object] = []
    d = defer.ensureDeferred(drive(args, child))
    d.addErrback(failures.append)
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
    assert child.stdin is not None
    child.stdin.close()
    child.wait(10)
    if failures:
        print(failures[0])
        sys.exit(1)


if __name__ == "__main__":
    main()
