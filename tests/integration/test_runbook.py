"""Issue 7 proof: a jCli runbook piped into `smscd shell` provisions a running daemon (group,
user, connector to a simulator, filter, MT and MO routes, connector start); an smpplib
customer then sends and gets its receipt without a restart; after a restart on the same
data directory the configuration is still there and traffic still flows."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest_twisted
import smpplib.client
from twisted.internet import reactor
from twisted.internet.threads import deferToThread

from connectors.sim_config import SimulatorConfig
from connectors.simulator import SimulatorService
from smscd.config import load_config
from smscd.daemon import Daemon


def runbook(sim_port: int) -> list[str]:
    return [
        "group -a", "gid acme", "ok",
        "user -a", "uid cust", "gid acme", "username cust", "password cpw12345", "ok",
        "smppccm -a", "cid vendor", "host 127.0.0.1", f"port {sim_port}", "username vend",
        "password vpw", "ok",
        "filter -a", "type DestinationAddrFilter", "fid fr", "destination_addr ^33", "ok",
        "mtrouter -a", "type StaticMTRoute", "filters fr", "order 10",
        "connector smppc(vendor)", "rate 0", "ok",
        "morouter -a", "type DefaultRoute", "connector smpps(cust)", "ok",
        "smppccm -1 vendor",
    ]


def pipe_shell(data_dir: Path, port: int, lines: list[str]) -> str:
    """`smscd shell` with the runbook on standard input, as an operator's script runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "smscd", "shell", "--data-dir", str(data_dir),
         "--port", str(port)], input="\n".join(lines) + "\n", capture_output=True,
        text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def customer(port: int) -> tuple[list[str], dict[str, bytes]]:
    """Blocking smpplib: bind TRX as `cust`, submit one message, wait for its receipt."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=20,
                                   allow_unknown_opt_params=True)
    ids: list[str] = []
    receipts: dict[str, bytes] = {}
    client.set_message_sent_handler(lambda pdu: ids.append(pdu.message_id.decode()))

    def received(pdu: Any) -> None:
        if getattr(pdu, "receipted_message_id", None):
            receipts[pdu.receipted_message_id.decode().rstrip("\0")] = pdu.short_message
    client.set_message_received_handler(received)
    client.connect()
    try:
        client.bind_transceiver(system_id="cust", password="cpw12345")
        client.send_message(source_addr="ACME", destination_addr="33600000001",
                            short_message=b"runbook", registered_delivery=1)
        deadline = time.monotonic() + 20
        while not receipts and time.monotonic() < deadline:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return ids, receipts


async def start(data_dir: Path) -> Daemon:
    daemon = Daemon(load_config({"data_dir": str(data_dir), "smpp_server": {"port": 0},
                                 "http_api": {"port": 0}, "shell": {"port": 0},
                                 "admin_api": {"port": 0},
                                 "demo": {"simulator": False}}), reactor, lambda line: None)
    await daemon.start()
    return daemon


async def vendor_bound(daemon: Daemon) -> None:
    assert daemon.live is not None
    runner: Any = daemon.live.running["vendor"]
    await runner.until(lambda c: any(p.session.bound for p in c.bound))


@pytest_twisted.ensureDeferred
async def test_runbook_provisions_a_running_daemon_and_survives_a_restart(tmp_path: Path
                                                                         ) -> None:
    sim = SimulatorService(SimulatorConfig(accounts={"vend": "vpw"}, receipt_delay=0.0,
                                           record_submits=True), reactor)
    sim_port = await sim.start(0)
    data_dir = tmp_path / "var"
    daemon = await start(data_dir)
    try:
        out = await deferToThread(pipe_shell, data_dir, daemon.shell_port, runbook(sim_port))
        assert [ln for ln in out.splitlines() if ln.startswith("Successfully")] == [
            "Successfully added Group [acme]",
            "Successfully added User [cust] to Group [acme]",
            "Successfully added connector [vendor]",
            "Successfully added Filter [DestinationAddrFilter] with fid:fr",
            "Successfully added MTRoute [StaticMTRoute] with order:10",
            "Successfully added MORoute [DefaultRoute] with order:0",
            "Successfully started connector id:vendor"], out
        await vendor_bound(daemon)
        ids, receipts = await deferToThread(customer, daemon.port)
        [first] = ids
        assert b"stat:DELIVRD" in receipts[first]
    finally:
        await daemon.stop()
    daemon = await start(data_dir)
    try:
        await vendor_bound(daemon)
        listing = await deferToThread(pipe_shell, data_dir, daemon.shell_port,
                                      ["mtrouter -l", "user -l"])
        assert "smppc(vendor)" in listing and "cust" in listing, listing
        ids, receipts = await deferToThread(customer, daemon.port)
        [second] = ids
        assert second != first and b"stat:DELIVRD" in receipts[second]
        assert len(sim.received.submits) == 2
    finally:
        await daemon.stop()
        await sim.stop()
