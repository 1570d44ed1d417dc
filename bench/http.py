"""Benchmark: Jasmin-compatible HTTP /send requests per second at concurrency 1, 10, 50.

Two processes: the server (the real HTTP API, the real embedded SQLite store in a temporary
directory, the demo-style user; each accepted message is logged and queued durably before
its answer) and this load generator (plain asyncio, HTTP/1.1 keep-alive, one connection
per concurrent client, GET /send as Jasmin's documentation shows).

Two servers to choose from:
- default: the HTTP API in-process with a store-only pipeline (route to one connector,
  `MessageLog.accept`, answer): HTTP parsing, validation, login (cached), message
  building and the durable accept, nothing else.
- `--daemon`: the real daemon (`smscd run` with its demo setup: the shared MT pipeline
  with routing, throughput and billing, the in-process simulator as vendor, receipts);
  the demo user's password is read from what the daemon prints at its first start.

    python3 bench/http.py -n 20000                 # concurrency 1, 10, 50
    python3 bench/http.py -n 20000 --daemon
    python3 bench/http.py -n 20000 -c 50 --long    # 300-character messages (2 parts)
    python3 bench/http.py -n 20000 --rest          # POST /v1/messages (Bearer API key)
    python3 bench/http.py -n 200 --batch 100x10    # /v1/messages/batch: 100 messages x 10
                                                   # recipients per request (recipients/s)
--rest and --batch use the store-only server (the daemon mounts /v1 once it is wired).
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
import subprocess
import tempfile
import time
from typing import Any
from urllib.parse import urlencode

USER, PASSWORD = "bench", "benchpw"


# --- the server child -----------------------------------------------------------------------

def serve(data_dir: str) -> None:
    from twisted.internet import asyncioreactor

    asyncioreactor.install()
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred, succeed

    from smscd.billing import Account
    from smscd.config import default_config
    from smscd.deliveries import mt_queue
    from smscd.http_api import http_api_site
    from smscd.message import Message
    from smscd.mt_pipeline import Quote
    from smscd.stores.interfaces import UserRecord
    from smscd.stores.sqlite import SqliteStore
    from smscd.submission import routed

    store = SqliteStore.open(Path(data_dir) / "bench.sqlite3", reactor)

    class StoreOnlyPipeline:
        def submit(self, user: UserRecord, message: Message, channel: str) -> Deferred[str]:
            message = routed(message, "bench")
            return store.messages.accept(message, mt_queue("bench")).addCallback(
                lambda _: message.id)

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
        print(port.getHost().port, key.key, flush=True)

    reactor.callWhenRunning(lambda: Deferred.fromCoroutine(start()))
    reactor.run()


# --- the load generator --------------------------------------------------------------------

async def client(port: int, path: bytes, n: int, latencies: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"GET " + path + b" HTTP/1.1\r\nHost: bench\r\n\r\n"
    ok = 0
    for _ in range(n):
        start = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        body = await reader.readexactly(length)
        latencies.append(time.perf_counter() - start)
        ok += body.startswith(b"Success")
    writer.close()
    return ok


async def rest_client(port: int, body: bytes, n: int, latencies: list[float],
                      key: str, path: bytes = b"/v1/messages") -> int:
    """POST `body` (JSON) to `path` n times; counts recipients queued."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (b"POST " + path + b" HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer " +
               key.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
               str(len(body)).encode() + b"\r\n\r\n" + body)
    ok = 0
    for _ in range(n):
        start = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        answer = await reader.readexactly(length)
        latencies.append(time.perf_counter() - start)
        ok += answer.count(b'"status":"queued"')
    writer.close()
    return ok


async def level(port: int, path: bytes, total: int, concurrency: int,
                rest: tuple[bytes, str, bytes] | None = None) -> dict[str, Any]:
    """`rest`: (JSON body, API key, path) to POST instead of GET `path`."""
    latencies: list[float] = []
    per = max(1, total // concurrency)
    start = time.perf_counter()
    oks = await asyncio.gather(*(client(port, path, per, latencies) if rest is None else
                                 rest_client(port, rest[0], per, latencies, rest[1], rest[2])
                                 for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    done = len(latencies)
    return {"concurrency": concurrency, "requests": done, "ok": sum(oks),
            "req_per_s": round(done / elapsed), "ok_per_s": round(sum(oks) / elapsed),
            "p50_ms": round(latencies[done // 2] * 1e3, 2),
            "p99_ms": round(latencies[int(done * 0.99) - 1] * 1e3, 2)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc), to report CPU per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=20000, help="requests per concurrency level")
    ap.add_argument("-c", type=int, action="append", help="concurrency (repeatable)")
    ap.add_argument("--long", action="store_true", help="300-character content (2 parts)")
    ap.add_argument("--daemon", action="store_true", help="drive the real `smscd run`")
    ap.add_argument("--rest", action="store_true", help="POST /v1/messages instead of /send")
    ap.add_argument("--batch", help="MxR: POST /v1/messages/batch, M messages x R recipients")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return
    content = "x" * 300 if args.long else "Hello from bench/http.py"
    with tempfile.TemporaryDirectory() as tmp:
        server, port, user, password, key = (start_daemon if args.daemon
                                             else start_store_only)(tmp)
        path = b"/send?" + urlencode({"username": user, "password": password,
                                      "to": "33600000000", "content": content}).encode()
        rest = None
        if args.rest or args.batch:
            if args.daemon:
                raise SystemExit("--rest/--batch: store-only server only, for now")
            one = {"to": "33600000000", "text": content}
            if args.batch:
                m, r = (int(x) for x in args.batch.split("x"))
                batch = {"messages": [{**one, "to": [f"336{i:08d}" for i in range(r)]}] * m}
                rest = (json.dumps(batch).encode(), key, b"/v1/messages/batch")
            else:
                rest = (json.dumps(one).encode(), key, b"/v1/messages")
        try:
            asyncio.run(level(port, path, 200, 1, rest))           # warm: login cache
            for c in args.c or [1, 10, 50]:
                before = cpu_seconds(server.pid)
                result = asyncio.run(level(port, path, args.n, c, rest))
                used = cpu_seconds(server.pid) - before
                result["server_cpu_us_per_req"] = round(used / result["requests"] * 1e6)
                print(json.dumps(result), flush=True)
        finally:
            server.terminate()
            server.wait()


Started = tuple[subprocess.Popen[str], int, str, str, str]    # ..., user, password, API key


def start_store_only(tmp: str) -> Started:
    server = subprocess.Popen([sys.executable, __file__, "--serve", tmp],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    port, key = server.stdout.readline().split()
    return server, int(port), USER, PASSWORD, key


def start_daemon(tmp: str) -> Started:
    config = Path(tmp) / "smscd.yaml"
    config.write_text(json.dumps({
        "data_dir": str(Path(tmp) / "var"), "smpp_server": {"port": 0},
        "http_api": {"port": 0}, "shell": {"port": 0}, "log": {"level": "warning"},
        "demo": {"simulator": True}}))
    server = subprocess.Popen([sys.executable, "-m", "smscd", "run", "--config", str(config)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert server.stdout is not None
    password, port = "", 0
    for line in server.stdout:
        found = re.search(r"created user 'demo' with password '([^']+)'", line)
        password = found.group(1) if found else password
        found = re.search(r"listening for HTTP on [^ ]*:(\d+)", line)
        if found:
            port = int(found.group(1))
            break
    if not (port and password):
        server.kill()
        raise SystemExit("smscd did not start; run it by hand to see why")
    return server, port, "demo", password, ""


if __name__ == "__main__":
    main()
