"""Benchmark: Jasmin-compatible HTTP /send requests per second at concurrency 1, 10, 50.

Processes: the server (the real HTTP API, the real embedded SQLite store in a temporary
directory; each accepted message is logged and queued durably before its answer), this
load generator (plain asyncio, HTTP/1.1 keep-alive, one connection per concurrent client,
GET /send as Jasmin's documentation shows) and, with `--daemon`, an SMSC simulator as the
vendor in a process of its own.

Two servers to choose from:
- default: the HTTP API in-process with a store-only pipeline (route to one connector,
  `MessageLog.accept`, answer): HTTP parsing, validation, login (cached), message
  building and the durable accept, nothing else.
- `--daemon`: the real daemon (`smscd run` with a provisioning profile: the shared MT
  pipeline with routing, throughput and billing, and one connector to the external
  simulator). Each level also reports what reached the vendor: `delivered` counted at the
  simulator, and `delivered_per_s` from the level's start to the simulator's last submit.

`--rate R` offers R requests/s open loop (requests due at their time whatever the answers,
taken in order by 64 keep-alive connections) instead of the closed-loop levels; latency
counts from each request's due time, so a server that falls behind shows it.
`server_cpu_us_per_req` is the server process's CPU (all its threads) per request, the
figure that depends least on what else the machine does.

    python3 bench/http.py -n 20000                 # concurrency 1, 10, 50
    python3 bench/http.py -n 20000 --daemon
    python3 bench/http.py -n 20000 --daemon --rate 1000
    python3 bench/http.py -n 20000 -c 50 --long    # 300-character messages (2 parts)
    python3 bench/http.py -n 20000 --rest          # POST /v1/messages (Bearer API key)
    python3 bench/http.py -n 200 --batch 100x10    # /v1/messages/batch: 100 messages x 10
                                                   # recipients per request (recipients/s)
    python3 bench/http.py -n 20000 -c 50 --daemon --py-spy f.txt   # profile the server
--rest and --batch use the store-only server.
"""
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and this file's name would
# hide the standard library's `http` package: put the repository there instead.
ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse
from decimal import Decimal
import asyncio
import json
import os
import re
import resource
import signal
import subprocess
import tempfile
import time
from typing import Any, Callable, Sequence
from urllib.parse import urlencode

USER, PASSWORD = "bench", "benchpw"
VENDOR, VENDOR_PASSWORD = "vendor", "vendorpw"


# --- the server child -----------------------------------------------------------------------

def serve(data_dir: str) -> None:
    from twisted.internet import asyncioreactor

    asyncioreactor.install()
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred, succeed

    from smscd import gc_tuning
    from smscd.billing import Account
    from smscd.config import default_config
    from smscd.deliveries import mt_queue
    from smscd.http_api import http_api_site
    from smscd.message import Message
    from smscd.mt_pipeline import Extra, Outcome, Quote
    from smscd.stores.interfaces import Acceptance, UserRecord
    from smscd.stores.sqlite import SqliteStore
    from smscd.submission import routed

    gc_tuning.tune()                  # as `smscd run` does
    store = SqliteStore.open(Path(data_dir) / "bench.sqlite3", reactor)

    class StoreOnlyPipeline:
        def submit(self, user: UserRecord, message: Message, channel: str) -> Deferred[str]:
            message = routed(message, "bench")
            return store.messages.accept(message, mt_queue("bench")).addCallback(
                lambda _: message.id)

        def submit_many(self, user: UserRecord, messages: Sequence[Message], channel: str,
                        extra: Extra | None = None) -> Deferred[list[Outcome]]:
            sent = [routed(m, "bench") for m in messages]
            outcomes: list[Outcome] = [m.id for m in sent]
            also, publish = ((), ()) if extra is None else extra(outcomes, sent)
            return store.messages.accept_many(
                [Acceptance(m, mt_queue("bench")) for m in sent], also, publish).addCallback(
                lambda _: outcomes)

        def quote(self, user: UserRecord, message: Message) -> Deferred[Quote]:
            return succeed(Quote("bench", Decimal(0), len(message.parts), Decimal(0), "EUR"))

    class Unlimited:
        def account(self, uid: str) -> Account:
            return Account(uid)

    async def start() -> None:
        from smscd.rest_api import rest_api_resource

        await store.users.create(USER, PASSWORD)
        pipeline = StoreOnlyPipeline()
        site = http_api_site(pipeline, store.users, Unlimited(), reactor,
                             default_config().http_api)
        site.resource.putChild(b"v1", rest_api_resource(
            pipeline, store.messages, store.users, store.billing, store.api_keys,
            store.idempotency, reactor))
        site.requestFactory.max_body = 4 << 20      # a full /v1 batch
        key = await store.api_keys.create(USER, "bench")
        port = reactor.listenTCP(0, site, backlog=200, interface="127.0.0.1")
        gc_tuning.freeze_startup()
        print(port.getHost().port, key.key, flush=True)

    reactor.callWhenRunning(lambda: Deferred.fromCoroutine(start()))
    reactor.run()


# --- the vendor child (--daemon) ------------------------------------------------------------

def serve_simulator(receipt_delay: float) -> None:
    """The simulator on a free port (printed first). Each stdin line `N SECONDS` is answered,
    once N submits were received or SECONDS passed, with {"received", "at"} (`at`: the
    wall-clock time of the last check, 5 ms apart); the end of stdin stops it."""
    from twisted.internet import asyncioreactor

    asyncioreactor.install()
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred
    from twisted.internet.task import LoopingCall

    from connectors.sim_config import SimulatorConfig
    from connectors.simulator import SimulatorService
    from smscd import gc_tuning
    from smscd.smpp.session import SessionConfig

    gc_tuning.tune()
    sim = SimulatorService(SimulatorConfig(
        accounts={VENDOR: VENDOR_PASSWORD}, receipt_delay=receipt_delay,
        window=100_000, deliver_window=200, seed=1,
        session=SessionConfig(window=200, enquire_link_interval=60.0)), reactor)

    def wait(line: str) -> None:
        target, seconds = int(line.split()[0]), float(line.split()[1])
        deadline = time.time() + seconds

        def check() -> None:
            received, now = sim.received.total, time.time()
            if received >= target or now > deadline:
                print(json.dumps({"received": received, "at": now}), flush=True)
                poll.stop()
        poll = LoopingCall(check)
        poll.start(0.005)

    def read_commands() -> None:
        for line in sys.stdin:
            reactor.callFromThread(wait, line)
        reactor.callFromThread(reactor.stop)

    async def start() -> None:
        print(await sim.start(0, "127.0.0.1"), flush=True)
        reactor.callInThread(read_commands)

    reactor.callWhenRunning(lambda: Deferred.fromCoroutine(start()))
    reactor.run()


class Vendor:
    """The simulator child, seen from the generator."""

    def __init__(self, receipt_delay: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--role", "simulator", "--receipt-delay",
             str(receipt_delay)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def received_by(self, target: int, seconds: float) -> tuple[int, float]:
        """(submits received, wall-clock time) once `target` is reached or `seconds` passed."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{target} {seconds}\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        return answer["received"], answer["at"]

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


# --- the load generator --------------------------------------------------------------------

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def answer(connection: Connection, request: bytes) -> bytes:
    """Send one request on a keep-alive connection and read its whole answer's body."""
    reader, writer = connection
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    return await reader.readexactly(length)


def get_request(path: bytes) -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: bench\r\n\r\n"


def post_request(path: bytes, body: bytes, key: str) -> bytes:
    return (b"POST " + path + b" HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer " +
            key.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
            str(len(body)).encode() + b"\r\n\r\n" + body)


async def client(port: int, request: bytes, n: int, latencies: list[float],
                 good: Callable[[bytes], int]) -> int:
    """n requests one after the other on one connection; the sum of good(body)."""
    connection = await asyncio.open_connection("127.0.0.1", port)
    ok = 0
    for _ in range(n):
        start = time.perf_counter()
        body = await answer(connection, request)
        latencies.append(time.perf_counter() - start)
        ok += good(body)
    connection[1].close()
    return ok


def _figures(latencies: list[float], ok: int, elapsed: float) -> dict[str, Any]:
    latencies.sort()
    done = len(latencies)
    return {"requests": done, "ok": ok, "req_per_s": round(done / elapsed),
            "ok_per_s": round(ok / elapsed),
            "p50_ms": round(latencies[done // 2] * 1e3, 2),
            "p99_ms": round(latencies[max(0, int(done * 0.99) - 1)] * 1e3, 2)}


async def level(port: int, request: bytes, total: int, concurrency: int,
                good: Callable[[bytes], int]) -> dict[str, Any]:
    """Closed loop: `concurrency` clients, each waiting for its answer before asking again."""
    latencies: list[float] = []
    per = max(1, total // concurrency)
    start = time.perf_counter()
    oks = await asyncio.gather(*(client(port, request, per, latencies, good)
                                 for _ in range(concurrency)))
    return {"concurrency": concurrency,
            **_figures(latencies, sum(oks), time.perf_counter() - start)}


async def offered(port: int, request: bytes, total: int, rate: float,
                  good: Callable[[bytes], int], connections: int = 64) -> dict[str, Any]:
    """Open loop: request i is due at start + i/rate; `connections` keep-alive clients take
    due requests in order, so when all are busy a due request waits for one (as wrk2 does);
    its latency counts from its due time, so the waiting counts too."""
    due: asyncio.Queue[float | None] = asyncio.Queue()
    latencies: list[float] = []

    async def worker() -> int:
        connection = await asyncio.open_connection("127.0.0.1", port)
        ok = 0
        while (when := await due.get()) is not None:
            ok += good(await answer(connection, request))
            latencies.append(time.perf_counter() - when)
        connection[1].close()
        return ok

    workers = [asyncio.ensure_future(worker()) for _ in range(connections)]
    start = time.perf_counter()
    sent = 0
    while sent < total:
        due_now = min(total, int((time.perf_counter() - start) * rate) + 1)
        for i in range(sent, due_now):
            due.put_nowait(start + i / rate)
        sent = due_now
        await asyncio.sleep(max(0.0, start + sent / rate - time.perf_counter()))
    for _ in workers:
        due.put_nowait(None)
    oks = await asyncio.gather(*workers)
    return {"offered_per_s": rate, "connections": connections,
            **_figures(latencies, sum(oks), time.perf_counter() - start)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc), to report CPU per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=20000, help="requests per concurrency level")
    ap.add_argument("-c", type=int, action="append", help="concurrency (repeatable)")
    ap.add_argument("--rate", type=float, help="offer this many requests/s, open loop, "
                                               "instead of the concurrency levels")
    ap.add_argument("--long", action="store_true", help="300-character content (2 parts)")
    ap.add_argument("--daemon", action="store_true",
                    help="drive the real `smscd run`, with an external simulator as vendor")
    ap.add_argument("--receipt-delay", type=float, default=1.0,
                    help="the simulator's receipt delay (receipts are asked only by dlr)")
    ap.add_argument("--rest", action="store_true", help="POST /v1/messages instead of /send")
    ap.add_argument("--batch", help="MxR: POST /v1/messages/batch, M messages x R recipients")
    ap.add_argument("--py-spy", metavar="FILE",
                    help="sample the server with py-spy during the measured runs into FILE "
                         "(collapsed stacks of the thread holding the GIL: where the Python "
                         "CPU goes; SQLite's own work, done without the GIL, is not in it)")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--role", choices=["bench", "simulator"], default="bench",
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if args.role == "simulator":
        serve_simulator(args.receipt_delay)
        return
    if (args.rest or args.batch) and args.daemon:
        raise SystemExit("--rest/--batch: store-only server only, for now")
    content = "x" * 300 if args.long else "Hello from bench/http.py"
    with tempfile.TemporaryDirectory() as tmp:
        vendor = Vendor(args.receipt_delay) if args.daemon else None
        try:
            server, port, user, password, key = (
                start_daemon(tmp, vendor.port) if vendor is not None
                else start_store_only(tmp))
            try:
                run(args, port, server, vendor, *_workload(args, user, password, key, content))
            finally:
                server.terminate()
                server.wait()
        finally:
            if vendor is not None:
                vendor.stop()


def _workload(args: argparse.Namespace, user: str, password: str, key: str, content: str
              ) -> tuple[bytes, Callable[[bytes], int], int]:
    """The request, how to count what it got accepted, and messages per accepted request."""
    parts = 2 if args.long else 1
    if args.batch:
        m, r = (int(x) for x in args.batch.split("x"))
        body = {"messages": [{"to": [f"336{i:08d}" for i in range(r)], "text": content}] * m}
        return (post_request(b"/v1/messages/batch", json.dumps(body).encode(), key),
                lambda b: b.count(b'"status":"queued"'), parts)
    if args.rest:
        body = {"to": "33600000000", "text": content}
        return (post_request(b"/v1/messages", json.dumps(body).encode(), key),
                lambda b: b.count(b'"status":"queued"'), parts)
    path = b"/send?" + urlencode({"username": user, "password": password,
                                  "to": "33600000000", "content": content}).encode()
    return get_request(path), lambda b: int(b.startswith(b"Success")), parts


def run(args: argparse.Namespace, port: int, server: subprocess.Popen[str],
        vendor: Vendor | None, request: bytes, good: Callable[[bytes], int],
        parts: int) -> None:
    accepted = asyncio.run(level(port, request, 200, 1, good))["ok"]   # warm: login cache
    delivered = vendor.received_by(accepted * parts, 30)[0] if vendor is not None else 0
    spy = subprocess.Popen(["py-spy", "record", "--pid", str(server.pid), "--format", "raw",
                            "--threads", "--gil", "--rate", "250", "--output", args.py_spy],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) \
        if args.py_spy else None
    runs: list[Callable[[], Any]] = (
        [lambda: offered(port, request, args.n, args.rate, good)] if args.rate else
        [lambda c=c: level(port, request, args.n, c, good) for c in args.c or [1, 10, 50]])
    try:
        for one_run in runs:
            cpu0, own0, wall0 = cpu_seconds(server.pid), own_cpu_seconds(), time.time()
            result = asyncio.run(one_run())
            used = cpu_seconds(server.pid) - cpu0
            result["server_cpu_us_per_req"] = round(used / result["requests"] * 1e6)
            result["client_cpu_us_per_req"] = round(
                (own_cpu_seconds() - own0) / result["requests"] * 1e6)
            accepted += result["ok"]
            if vendor is not None:
                received, at = vendor.received_by(accepted * parts, 60)
                result["delivered"] = received - delivered
                result["delivered_per_s"] = round(result["delivered"] / (at - wall0))
                delivered = received
            print(json.dumps(result), flush=True)
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait()


Started = tuple[subprocess.Popen[str], int, str, str, str]    # ..., user, password, API key


def start_store_only(tmp: str) -> Started:
    server = subprocess.Popen([sys.executable, __file__, "--serve", tmp],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    port, key = server.stdout.readline().split()
    return server, int(port), USER, PASSWORD, key


def start_daemon(tmp: str, vendor_port: int) -> Started:
    """`smscd run` with one user and one connector to the simulator, as bench/e2e.py."""
    (Path(tmp) / "profile.yaml").write_text(json.dumps({
        "version": 1, "users": [{"username": USER, "password": PASSWORD}],
        "connectors": [{"id": "vendor", "hosts": [f"127.0.0.1:{vendor_port}"],
                        "system_id": VENDOR, "password": VENDOR_PASSWORD,
                        "window": 100, "binds": 1}],
        "routing": {"default_connector": "vendor"}}))
    config = Path(tmp) / "smscd.yaml"
    config.write_text(json.dumps({
        "data_dir": str(Path(tmp) / "var"), "smpp_server": {"port": 0},
        "http_api": {"port": 0}, "shell": {"port": 0}, "admin_api": {"port": 0},
        "log": {"level": "warning"}, "provisioning": {"file": str(Path(tmp) / "profile.yaml")}}))
    server = subprocess.Popen([sys.executable, "-m", "smscd", "run", "--config", str(config)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert server.stdout is not None
    port = 0
    for line in server.stdout:
        found = re.search(r"listening for HTTP on [^ ]*:(\d+)", line)
        if found:
            port = int(found.group(1))
            break
    if not port:
        server.kill()
        raise SystemExit("smscd did not start; run it by hand to see why")
    return server, port, USER, PASSWORD, ""


if __name__ == "__main__":
    main()
