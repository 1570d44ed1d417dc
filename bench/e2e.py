"""Benchmark: smscd end to end. Customer binds -> smscd (embedded store) -> simulator -> receipts.

Three processes: the SMSC simulator (its own core), smscd itself (`smscd run`, one process, the
embedded SQLite store in a temporary directory), and this load generator. The generator keeps
`--window` submit_sm in flight per customer bind (or offers a fixed `--rate`), and measures
what the customer sees: submit -> submit_sm_resp latency, submit -> receipt latency.

    python3 bench/e2e.py -n 50000 --window 10
    python3 bench/e2e.py -n 50000 --window 100 --receipts
    python3 bench/e2e.py -n 20000 --rate 1000 --receipts       # latency at 1,000 msg/s offered
    python3 bench/e2e.py -n 50000 --window 100 --receipts --trace   # where receipt latency goes

--trace numbers each message's text and times it at every hop the generator and the
simulator see (one monotonic clock for both processes), then prints each hop's p50/p99,
what the slowest 1 % spent where, whether the simulator held their receipts for window
room, and the p99s per 5 s of the run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # bench/http.py would shadow http

from twisted.internet import asyncioreactor  # noqa: E402

from smscd import gc_tuning  # noqa: E402

asyncioreactor.install()
gc_tuning.tune()     # the generator and the simulator share the machine with smscd

from twisted.internet import defer, reactor  # noqa: E402

from smscd.smpp import pdu as P  # noqa: E402
from smscd.smpp.session import (Event, RequestFailed, RequestReceived,  # noqa: E402
                                ResponseReceived, SessionConfig)
from smscd.smpp_protocol import HandlerBase, SmppProtocol, connect_and_bind  # noqa: E402

USER, PASSWORD = "bench", "benchpw"
VENDOR, VENDOR_PASSWORD = "vendor", "vendorpw"


# --- the simulator child --------------------------------------------------------------------

def serve_simulator(args: argparse.Namespace) -> None:
    from connectors.sim_config import SimulatorConfig
    from connectors.simulator import SimulatorService

    sim = SimulatorService(SimulatorConfig(
        accounts={VENDOR: VENDOR_PASSWORD}, receipt_delay=args.receipt_delay,
        window=100_000, deliver_window=200, seed=1,
        session=SessionConfig(window=200, enquire_link_interval=60.0)), reactor)

    async def start() -> None:
        print(await sim.start(0), flush=True)

    def stop() -> None:
        print(json.dumps({"received": sim.received.total}), flush=True)
        reactor.stop()

    trace = SimulatorTrace(sim) if args.trace else None
    defer.ensureDeferred(start())
    reactor.callInThread(lambda: (sys.stdin.read(), reactor.callFromThread(stop)))
    reactor.run()
    if trace is not None:
        print(json.dumps(trace.times), flush=True)


def message_seq(text: bytes) -> int | None:
    """The generator's sequence number at the start of a message (or of a receipt's
    `text:`), in --trace runs."""
    digits = text[:_SEQ_DIGITS]
    return int(digits) if len(digits) == _SEQ_DIGITS and digits.isdigit() else None


_SEQ_DIGITS = 10


class SimulatorTrace:
    """--trace: when the simulator got each submit_sm, sent its receipt and had it answered
    (time.perf_counter, the same clock as the generator's), by the generator's sequence
    number. Wraps the simulator's handler methods; the simulator itself is unchanged."""

    def __init__(self, sim: Any) -> None:
        self.times: dict[str, dict[int, float]] = {"submit": {}, "dlr_sent": {}, "dlr_acked": {},
                                                   "dlr_held": {}}
        self._in_event = False     # a receipt sent from here waited for window room
        self._event, self._connected = sim.event, sim.connected
        sim.event, sim.connected = self.event, self.connected

    def connected(self, proto: SmppProtocol) -> None:
        send_request, sent = proto.send_request, self.times["dlr_sent"]
        held = self.times["dlr_held"]

        def traced(pdu: P.Pdu, context: object = None) -> int:
            if type(pdu) is P.DeliverSm:
                seq = _receipt_seq(pdu.short_message)
                if seq is not None:
                    sent[seq] = time.perf_counter()
                    if self._in_event:
                        held[seq] = 1.0
            return send_request(pdu, context)
        proto.send_request = traced  # type: ignore[method-assign]
        self._connected(proto)

    def event(self, proto: SmppProtocol, event: Event) -> None:
        if type(event) is RequestReceived and type(event.pdu) is P.SubmitSm:
            seq = message_seq(event.pdu.short_message)
            if seq is not None:
                self.times["submit"][seq] = time.perf_counter()
        elif type(event) is ResponseReceived and type(event.request) is P.DeliverSm:
            seq = _receipt_seq(event.request.short_message)
            if seq is not None:
                self.times["dlr_acked"][seq] = time.perf_counter()
        self._in_event = True
        try:
            self._event(proto, event)
        finally:
            self._in_event = False


def _receipt_seq(receipt: bytes) -> int | None:
    at = receipt.find(b"text:")
    return message_seq(receipt[at + 5:]) if at >= 0 else None


# --- the load generator ---------------------------------------------------------------------

class Load(HandlerBase):
    """Keeps the window full (or offers `rate`) until `n` submits are answered; answers
    receipts and times them by our message id."""

    def __init__(self, stats: "Stats", window: int, receipts: bool) -> None:
        self.stats, self.window = stats, window
        self.trace: dict[str, dict[int, float]] | None = None   # --trace: set by drive
        self.by_id: dict[str, int] = {}                          # our message id -> seq
        self.template = P.SubmitSm(source_addr_ton=1, source_addr_npi=1,
                                   source_addr="33600000000", dest_addr_ton=1, dest_addr_npi=1,
                                   destination_addr="31600000000",
                                   registered_delivery=1 if receipts else 0,
                                   short_message=b"x" * 160)

    def fill(self, proto: SmppProtocol, budget: int | None = None) -> None:
        s = self.stats
        room = proto.session.window_free
        if budget is not None:
            room = min(room, budget)
        now = time.perf_counter()
        trace = self.trace
        while room > 0 and s.sent < s.n:
            if trace is None:
                proto.send_request(self.template, now)
            else:
                trace["submit"][s.sent] = now
                proto.send_request(replace(self.template, short_message=b"%010d%s" % (
                    s.sent, self.template.short_message[_SEQ_DIGITS:])), now)
            s.sent += 1
            room -= 1

    def event(self, proto: SmppProtocol, event: Event) -> None:
        s = self.stats
        now = time.perf_counter()
        if isinstance(event, ResponseReceived):
            assert isinstance(event.context, float)
            s.resp_latency.append(now - event.context)
            if event.response.command_status == 0:
                assert isinstance(event.response, P.SubmitSmResp)
                s.accepted += 1
                s.submitted_at[event.response.message_id] = event.context
                if self.trace is not None:
                    seq = message_seq(event.request.short_message)  # type: ignore[attr-defined]
                    assert seq is not None
                    self.trace["resp"][seq] = now
                    self.by_id[event.response.message_id] = seq
            else:
                s.refused += 1
            s.answered += 1
            if s.rate is None:
                self.fill(proto)
            s.check()
        elif isinstance(event, RequestFailed):
            s.refused += 1
            s.answered += 1
            s.check()
        elif isinstance(event, RequestReceived):
            proto.respond(event.pdu, P.DeliverSmResp())
            message_id = event.pdu.tlv("receipted_message_id")
            start = s.submitted_at.pop(message_id, None) if isinstance(message_id, str) else None
            if start is not None:
                if self.trace is not None:
                    self.trace["dlr"][self.by_id.pop(message_id)] = now  # type: ignore[arg-type]
                s.receipt_latency.append(now - start)
                s.receipts += 1
                s.last_receipt = now
                s.check()


class SmscdExited(Exception):
    pass


class Stats:
    def __init__(self, n: int, receipts: bool, rate: float | None) -> None:
        self.n, self.want_receipts, self.rate = n, receipts, rate
        self.sent = self.answered = self.accepted = self.refused = self.receipts = 0
        self.resp_latency: list[float] = []
        self.receipt_latency: list[float] = []
        self.submitted_at: dict[str, float] = {}
        self.last_answer = self.last_receipt = 0.0
        self.trace: dict[str, dict[int, float]] | None = None
        self.answers_done: defer.Deferred[None] = defer.Deferred()
        self.receipts_done: defer.Deferred[None] = defer.Deferred()

    def check(self) -> None:
        if self.answered >= self.n and not self.answers_done.called:
            self.last_answer = time.perf_counter()
            self.answers_done.callback(None)
        if self.want_receipts and self.receipts >= self.accepted and self.answered >= self.n \
                and not self.receipts_done.called:
            self.receipts_done.callback(None)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def cpu_seconds(pid: int, task: int | None = None) -> float:
    where = f"/proc/{pid}/stat" if task is None else f"/proc/{pid}/task/{task}/stat"
    fields = Path(where).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main_thread_seconds(pid: int) -> float:
    """CPU of the process's main thread (smscd's reactor); the rest is its other threads
    (the store's writer, the thread pool)."""
    return cpu_seconds(pid, pid)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def drive(args: argparse.Namespace, port: int,
                daemon: subprocess.Popen[str]) -> Stats:
    stats = Stats(args.n, args.receipts, args.rate)

    def watch() -> None:
        """smscd gone mid-run: say so instead of waiting for answers that never come."""
        status = daemon.poll()
        if status is None:
            reactor.callLater(0.5, watch)
            return
        gone = SmscdExited(f"smscd exited with status {status} during the run "
                           f"({stats.answered} of {stats.n} answered, {stats.receipts} "
                           "receipts)")
        if not stats.answers_done.called:
            stats.answers_done.errback(gone)
        elif stats.want_receipts and not stats.receipts_done.called:
            stats.receipts_done.errback(gone)
    watch()
    load = Load(stats, args.window, args.receipts)
    if args.trace:
        load.trace = stats.trace = {"submit": {}, "resp": {}, "dlr": {}}
    config = SessionConfig(window=args.window, response_timeout=60.0,
                           enquire_link_interval=60.0)
    binds = [await connect_and_bind(reactor, "127.0.0.1", port,
                                    P.BindTransceiver(system_id=USER, password=PASSWORD),
                                    load, config) for _ in range(args.binds)]
    stats.started = time.perf_counter()  # type: ignore[attr-defined]
    if args.rate is None:
        for proto in binds:
            load.fill(proto)
    else:
        tick = 0.005

        def offer() -> None:
            # Offer what the rate owes since the start, so late ticks (a busy machine)
            # do not lower the offered rate.
            due = int(args.rate * (time.perf_counter() - stats.started)) + 1  # type: ignore[attr-defined]
            for i, proto in enumerate(binds):
                owed = min(due, stats.n) - stats.sent
                load.fill(proto, -(-owed // (len(binds) - i)))
            if stats.sent < stats.n:
                reactor.callLater(tick, offer)
        offer()
    await stats.answers_done
    if args.receipts:
        timeout = reactor.callLater(args.receipt_delay + 30, stats.receipts_done.cancel)
        try:
            await stats.receipts_done
        except defer.CancelledError:
            pass
        if timeout.active():
            timeout.cancel()
    for proto in binds:
        proto.unbind()
    return stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=50_000)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--binds", type=int, default=1)
    ap.add_argument("--receipts", action="store_true")
    ap.add_argument("--receipt-delay", type=float, default=1.0)
    ap.add_argument("--rate", type=float, default=None, help="offered msg/s (default: max)")
    ap.add_argument("--vendor-window", type=int, default=100)
    ap.add_argument("--profile", metavar="FILE", help="run smscd under cProfile into FILE")
    ap.add_argument("--py-spy", metavar="FILE",
                    help="sample smscd (all threads, native time too) with py-spy into FILE "
                         "(collapsed stacks); costs smscd far less than cProfile")
    ap.add_argument("--switch-interval", type=float, metavar="S",
                    help="run smscd with sys.setswitchinterval(S) (CPython's default 0.005)")
    ap.add_argument("--commit-interval", type=float, metavar="MS",
                    help="smscd's store.group_commit_interval_ms (default: smscd's, 2)")
    ap.add_argument("--trace", action="store_true",
                    help="time each message at every hop (generator, simulator) and print "
                         "where the receipt latency goes; numbers the messages' text")
    ap.add_argument("--max-batch", type=int, metavar="N",
                    help="smscd's store.group_commit_max_batch (default: smscd's, 256)")
    ap.add_argument("--role", choices=["bench", "simulator"], default="bench")
    args = ap.parse_args()
    if args.role == "simulator":
        serve_simulator(args)
        return
    tmp = Path(tempfile.mkdtemp(prefix="smscd-bench-"))
    sim = subprocess.Popen([sys.executable, __file__, "--role", "simulator",
                            "--receipt-delay", str(args.receipt_delay),
                            *(["--trace"] if args.trace else [])],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert sim.stdout is not None and sim.stdin is not None
    sim_port = int(sim.stdout.readline())
    (tmp / "profile.yaml").write_text(json.dumps({
        "version": 1, "users": [{"username": USER, "password": PASSWORD,
                                 "max_bindings": 100}],
        "connectors": [{"id": "vendor", "hosts": [f"127.0.0.1:{sim_port}"],
                        "system_id": VENDOR, "password": VENDOR_PASSWORD,
                        "window": args.vendor_window, "binds": 1}],
        "routing": {"default_connector": "vendor"}}))
    (tmp / "smscd.yaml").write_text(json.dumps({
        "data_dir": str(tmp / "var"), "smpp_server": {"port": 0, "window": args.window},
        "log": {"level": "warning"}, "provisioning": {"file": str(tmp / "profile.yaml")},
        **store_settings(args)}))
    profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    smscd = ["-m", "smscd"] if args.switch_interval is None else [
        "-c", f"import sys; sys.setswitchinterval({args.switch_interval}); "
              "from smscd.cli import main; main(prog_name='smscd')"]
    daemon = subprocess.Popen([sys.executable, *profile, *smscd, "run", "--config",
                               str(tmp / "smscd.yaml")], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT)
    assert daemon.stdout is not None
    try:
        measure(args, sim, daemon)
    finally:
        for child in (daemon, sim):
            if child.poll() is None:
                child.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def store_settings(args: argparse.Namespace) -> dict[str, Any]:
    """smscd's `store` section for --commit-interval and --max-batch (empty: its defaults)."""
    store: dict[str, Any] = {}
    if args.commit_interval is not None:
        store["group_commit_interval_ms"] = args.commit_interval
    if args.max_batch is not None:
        store["group_commit_max_batch"] = args.max_batch
    return {"store": store} if store else {}


def measure(args: argparse.Namespace, sim: subprocess.Popen[str],
            daemon: subprocess.Popen[str]) -> None:
    assert daemon.stdout is not None and sim.stdout is not None and sim.stdin is not None
    port = 0
    for line in daemon.stdout:
        match = re.search(r"listening for SMPP on [^ ]*:(\d+)", line)
        if match:
            port = int(match.group(1))
            break
    if not port:
        raise SystemExit("smscd did not start; run it by hand to see why")
    spy = subprocess.Popen(["py-spy", "record", "--pid", str(daemon.pid), "--format", "raw",
                            "--threads", "--rate", "250", "--output", args.py_spy],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) \
        if args.py_spy else None
    cpu0 = {"smscd": cpu_seconds(daemon.pid), "simulator": cpu_seconds(sim.pid)}
    reactor0 = main_thread_seconds(daemon.pid)
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    result: list[Stats] = []

    async def run() -> None:
        try:
            result.append(await drive(args, port, daemon))
        except SmscdExited as e:
            print(e, file=sys.stderr)
        reactor.stop()

    reactor.callWhenRunning(lambda: defer.ensureDeferred(run()))
    reactor.run()
    if not result:
        raise SystemExit("no figures: smscd did not last the run")
    stats = result[0]
    elapsed = stats.last_answer - stats.started  # type: ignore[attr-defined]
    cpu = {"smscd": cpu_seconds(daemon.pid) - cpu0["smscd"],
           "simulator": cpu_seconds(sim.pid) - cpu0["simulator"]}
    reactor_cpu = main_thread_seconds(daemon.pid) - reactor0
    me = resource.getrusage(resource.RUSAGE_SELF)
    cpu["load generator"] = me.ru_utime + me.ru_stime - self0.ru_utime - self0.ru_stime
    rss = peak_rss_mb(daemon.pid)
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait()
    time.sleep(1.0 if not args.receipts else 0.2)     # let the last submits reach the vendor
    sim.stdin.close()
    received = json.loads(sim.stdout.readline())["received"]
    sim_times = json.loads(sim.stdout.readline()) if args.trace else None
    sim.wait()
    daemon.terminate()
    daemon.wait()
    mode = (f"window {args.window}" if args.rate is None else f"offered {args.rate:g} msg/s") \
        + (", receipts" if args.receipts else "")
    print(f"smscd end to end, N={args.n}, {args.binds} bind(s), {mode}")
    print(f"  accepted             {stats.accepted} ({stats.accepted / elapsed:,.0f}/s), "
          f"refused {stats.refused}")
    print(f"  delivered upstream   {received} ({received / elapsed:,.0f}/s over the submit "
          f"phase)")
    if args.receipts:
        receipt_span = max(stats.last_receipt - stats.started, 1e-9)  # type: ignore[attr-defined]
        print(f"  receipts to customer {stats.receipts} ({stats.receipts / receipt_span:,.0f}/s)")
        print(f"  submit->receipt      p50 {pct(stats.receipt_latency, .5):.1f} ms, "
              f"p99 {pct(stats.receipt_latency, .99):.1f} ms "
              f"(simulator delay {args.receipt_delay * 1000:.0f} ms)")
    print(f"  submit->resp         p50 {pct(stats.resp_latency, .5):.2f} ms, "
          f"p99 {pct(stats.resp_latency, .99):.2f} ms")
    lost = stats.accepted - (stats.receipts if args.receipts else received)
    print(f"  lost                 {max(lost, 0)}"
          + (f" (duplicates upstream: {received - stats.accepted})"
             if received > stats.accepted else ""))
    print("  CPU seconds          " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
          + f" (wall {elapsed:.1f} s)")
    per_message = 1e6 / max(stats.accepted, 1)
    print(f"  smscd CPU per msg    {cpu['smscd'] * per_message:.0f} us (reactor thread "
          f"{reactor_cpu * per_message:.0f} us, other threads "
          f"{(cpu['smscd'] - reactor_cpu) * per_message:.0f} us)")
    print(f"  smscd peak RSS       {rss:.0f} MB")
    if sim_times is not None and stats.trace is not None:
        print_hops(stats.trace, {k: {int(seq): t for seq, t in v.items()}
                                 for k, v in sim_times.items()}, args.receipt_delay)


HOPS = (
    # name, from, to, what it is
    ("accept", "submit", "resp", "generator submit -> submit_sm_resp (smscd accepts)"),
    ("to vendor", "submit", "v_submit", "generator submit -> simulator gets submit_sm"),
    ("sim late", "v_due", "dlr_sent", "receipt due -> simulator sends it (its lateness)"),
    ("vendor ack", "dlr_sent", "dlr_acked", "simulator sends receipt -> smscd's deliver_sm_resp"),
    ("to customer", "dlr_sent", "dlr", "simulator sends receipt -> generator gets ours"),
    ("total", "submit", "dlr", "generator submit -> receipt"),
)


def print_hops(mine: dict[str, dict[int, float]], sim: dict[str, dict[int, float]],
               delay: float) -> None:
    """Where each message's receipt latency went, hop by hop (--trace), overall and for
    the slowest 1 %, and p99 per 5 s of the run: shows which party is late, and when."""
    held = sim["dlr_held"]
    times = {**mine, "v_submit": sim["submit"], "dlr_sent": sim["dlr_sent"],
             "dlr_acked": sim["dlr_acked"],
             "v_due": {seq: t + delay for seq, t in sim["submit"].items()}}
    seqs = [seq for seq in mine["dlr"] if all(seq in times[k] for k in times)]
    seqs.sort()
    if not seqs:
        print("  trace: no message seen at every hop")
        return
    hops = {name: [times[b][seq] - times[a][seq] for seq in seqs]
            for name, a, b, _ in HOPS}
    slow = sorted(range(len(seqs)), key=hops["total"].__getitem__)[-max(1, len(seqs) // 100):]
    print(f"  trace of {len(seqs)} messages, ms    p50      p99      max   slowest 1 % (mean)")
    for name, _, _, what in HOPS:
        v = hops[name]
        print(f"    {name:<12} {pct(v, .5):8.1f} {pct(v, .99):8.1f} {max(v) * 1000:8.1f} "
              f"{statistics.fmean(v[i] for i in slow) * 1000:8.1f}   {what}")
    print(f"    receipts the simulator held for deliver window room: {len(held)} of "
          f"{len(seqs)}; of the slowest 1 %: {sum(1 for i in slow if seqs[i] in held)}")
    start = min(times["submit"][seq] for seq in seqs)
    buckets: dict[int, list[int]] = {}
    for i, seq in enumerate(seqs):
        buckets.setdefault(int((times["submit"][seq] - start) // 5), []).append(i)
    print("  p99 per 5 s of submits: " + " | ".join(name for name, *_ in HOPS))
    for b, idx in sorted(buckets.items()):
        print(f"    {b * 5:4d}-{b * 5 + 5:<4d} s " + " ".join(
            f"{pct([hops[name][i] for i in idx], .99):8.1f}" for name, *_ in HOPS))


if __name__ == "__main__":
    main()
