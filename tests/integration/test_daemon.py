"""The whole daemon: customer bind -> store -> connector -> simulator -> receipt back, on a
fresh data directory, across a clean restart, and after `kill -9` with messages queued."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import yaml
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, ProcessProtocol
from twisted.web.client import Agent, HTTPConnectionPool, readBody

from connectors.sim_config import SimulatorConfig
from connectors.simulator import SimulatorService
from smscd.config import load_config
from smscd.daemon import Daemon, StartupError
from smscd.send_client import SendRequest, send
from smscd.smpp import pdu as P
from smscd.smpp.status import CommandStatus as S
from smscd.smpp_protocol import connect_and_bind

DEMO_PASSWORD = re.compile(r"created user 'demo' with password '([^']+)'")


def _config(data_dir: Path, **extra: Any) -> Any:
    raw: dict[str, Any] = {"data_dir": str(data_dir), "smpp_server": {"port": 0},
                           "http_api": {"port": 0}, "shell": {"port": 0}, "admin_api": {"port": 0},
                           "demo": {"simulator": True}}
    raw.update(extra)
    return load_config(raw)


async def _start(data_dir: Path, lines: list[str], **extra: Any) -> Daemon:
    daemon = Daemon(_config(data_dir, **extra), reactor, lines.append)
    await daemon.start()
    return daemon


@pytest_twisted.ensureDeferred
async def test_fresh_demo_sends_and_gets_its_receipt(tmp_path: Path) -> None:
    """A newcomer's path: the demo user sends through the demo simulator and gets DELIVRD
    with smscd's own message id; after a restart the user and its password still work."""
    lines: list[str] = []
    daemon = await _start(tmp_path, lines)
    try:
        [password] = [m.group(1) for m in map(DEMO_PASSWORD.search, lines) if m]
        result = await send(reactor, SendRequest("127.0.0.1", daemon.port, "demo", password,
                                                 "31600000000", "hello", timeout=20),
                            lines.append)
        assert result.exit_code == 0, lines
        [message_id] = result.message_ids
        assert len(message_id) == 32                      # ours, not the simulator's
        assert result.receipts[message_id].stat == "DELIVRD"
    finally:
        await daemon.stop()
    again: list[str] = []
    daemon = await _start(tmp_path, again)
    try:
        assert not any(DEMO_PASSWORD.search(line) for line in again)   # shown only once
        bound = await connect_and_bind(reactor, "127.0.0.1", daemon.port,
                                       P.BindTransmitter(system_id="demo", password=password))
        bound.unbind()
        await bound.when_closed()
    finally:
        await daemon.stop()


@pytest_twisted.ensureDeferred
async def test_wrong_password_is_refused(tmp_path: Path) -> None:
    """A bind with a wrong password must get ESME_RINVPASWD, not a crash or a bind."""
    daemon = await _start(tmp_path, [])
    try:
        try:
            await connect_and_bind(reactor, "127.0.0.1", daemon.port,
                                   P.BindTransmitter(system_id="demo", password="wrong"))
        except Exception as e:
            assert getattr(e, "status", None) == S.ESME_RINVPASWD
        else:
            raise AssertionError("bind with a wrong password succeeded")
    finally:
        await daemon.stop()


@pytest_twisted.ensureDeferred
async def test_fresh_start_prints_both_passwords_and_listens_for_http_and_shell(
        tmp_path: Path) -> None:
    """Breaks if a fresh start does not create the shell operator beside the demo user
    (each password shown once), or the HTTP and shell listeners are not up."""
    lines: list[str] = []
    daemon = await _start(tmp_path, lines)
    try:
        assert any(DEMO_PASSWORD.search(line) for line in lines)
        assert any(re.search(r"created shell operator 'admin' with password '\S+'", line)
                   for line in lines), lines
        assert daemon.http_port and daemon.shell_port
        assert [line for line in lines if "listening for" in line] == [
            f"smscd listening for SMPP on 127.0.0.1:{daemon.port} (data in {tmp_path}, "
            "connectors: demo-simulator)",
            f"smscd listening for HTTP on 127.0.0.1:{daemon.http_port}",
            f"smscd listening for the admin shell on 127.0.0.1:{daemon.shell_port} "
            "(`smscd shell`)",
            f"smscd listening for the admin API on 127.0.0.1:{daemon.admin_port} "
            "(tokens: `smscd admin-token create`)"]
    finally:
        await daemon.stop()
    again: list[str] = []
    daemon = await _start(tmp_path, again)
    await daemon.stop()
    assert not any(line.startswith(("created user", "created shell operator"))
                   for line in again), again


@pytest_twisted.ensureDeferred
async def test_rest_and_admin_apis_are_served(tmp_path: Path) -> None:
    """Breaks if the REST API is not mounted at /v1 of the HTTP listener or the admin
    API does not listen (and ask for its token)."""
    daemon = await _start(tmp_path, [])
    pool = HTTPConnectionPool(reactor, persistent=False)
    agent = Agent(reactor, pool=pool)
    try:
        for url, code in ((f"http://127.0.0.1:{daemon.http_port}/v1/openapi.json", 200),
                          (f"http://127.0.0.1:{daemon.http_port}/v1/balance", 401),
                          (f"http://127.0.0.1:{daemon.admin_port}/admin/v1/users", 401)):
            response = await agent.request(b"GET", url.encode())
            await readBody(response)
            assert response.code == code, url
    finally:
        await pool.closeCachedConnections()
        await daemon.stop()


@pytest_twisted.ensureDeferred
async def test_a_listener_that_cannot_start_stops_everything_and_says_why(
        tmp_path: Path) -> None:
    """Breaks if a busy HTTP port crashes the start without a clear line, or leaves the
    store locked (the next start on the same data directory must work)."""
    busy = reactor.listenTCP(0, Factory(), interface="127.0.0.1")
    port = busy.getHost().port
    try:
        with pytest.raises(StartupError, match=f"cannot listen for HTTP on 127.0.0.1:{port}"):
            await _start(tmp_path, [], http_api={"port": port})
    finally:
        await busy.stopListening()
    daemon = await _start(tmp_path, [])
    await daemon.stop()


# --- kill -9 with accepted messages, in a child process ----------------------------------------

class _Child(ProcessProtocol):
    """Collects a child's stdout lines; fires `port` when it says it listens."""

    def __init__(self) -> None:
        self.port: Deferred[int] = Deferred()
        self.ended: Deferred[None] = Deferred()
        self.out = ""

    def outReceived(self, data: bytes) -> None:
        self.out += data.decode()
        match = re.search(r"listening for SMPP on 127\.0\.0\.1:(\d+)", self.out)
        if match and not self.port.called:
            self.port.callback(int(match.group(1)))

    def errReceived(self, data: bytes) -> None:
        self.out += data.decode()

    def processEnded(self, reason: Any) -> None:
        if not self.port.called:
            self.port.errback(RuntimeError("smscd exited before listening:\n" + self.out))
        self.ended.callback(None)


def _spawn(config_file: Path) -> _Child:
    child = _Child()
    reactor.spawnProcess(child, sys.executable,
                         [sys.executable, "-m", "smscd", "run", "--config", str(config_file)],
                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return child


@pytest_twisted.ensureDeferred
async def test_kill_9_loses_no_accepted_message(tmp_path: Path) -> None:
    """N messages acknowledged to the customer while the vendor is down survive `kill -9`
    of the daemon: after a restart all N reach the vendor."""
    sim = SimulatorService(SimulatorConfig(accounts={"vendor": "vpw"}, receipt_delay=0.0),
                           reactor)
    sim_port = await sim.start(0)
    await sim.stop()                                 # the vendor is down for now
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump({
        "version": 1,
        "users": [{"username": "alice", "password": "alicepw"}],
        "connectors": [{"id": "vendor", "hosts": [f"127.0.0.1:{sim_port}"],
                        "system_id": "vendor", "password": "vpw",
                        "reconnect_initial_delay": 0.2, "reconnect_max_delay": 0.5}],
        "routing": {"default_connector": "vendor"}}))
    config_file = tmp_path / "smscd.yaml"
    config_file.write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "var"), "smpp_server": {"port": 0},
        "http_api": {"port": 0}, "shell": {"port": 0}, "admin_api": {"port": 0},
        "provisioning": {"file": str(profile)}}))
    child = _spawn(config_file)
    port = await child.port.addTimeout(60, reactor)
    esme = await connect_and_bind(reactor, "127.0.0.1", port,
                                  P.BindTransmitter(system_id="alice", password="alicepw"))
    n, window = 200, 10
    ids = set()
    for start in range(0, n, window):            # a full window at a time
        answers = [esme.request(P.SubmitSm(source_addr="1", destination_addr=f"316{i:08d}",
                                           short_message=b"m%d" % i))
                   for i in range(start, start + window)]
        for d in answers:
            resp = await d
            assert resp.command_status == S.ESME_ROK
            ids.add(resp.message_id)
    assert len(ids) == n
    os.kill(_pid(child), signal.SIGKILL)
    await child.ended
    sim = SimulatorService(SimulatorConfig(accounts={"vendor": "vpw"}, receipt_delay=0.0,
                                           record_submits=True), reactor)
    await sim.start(sim_port)
    child = _spawn(config_file)
    await child.port.addTimeout(60, reactor)
    try:
        await sim.until(lambda s: s.received.total >= n).addTimeout(60, reactor)
        texts = {p.short_message for p in sim.received.submits}
        assert texts >= {b"m%d" % i for i in range(n)}
    finally:
        os.kill(_pid(child), signal.SIGTERM)
        await child.ended
        await sim.stop()
    assert "smscd stopped" in child.out          # SIGTERM is a clean stop


def _pid(child: _Child) -> int:
    pid = child.transport.pid  # type: ignore[union-attr]
    assert pid is not None
    return int(pid)
