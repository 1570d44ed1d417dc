"""smpplib (an independent ESME) as the customer of a running smscd: bind, submit short and
UDH-long messages, get one receipt per submitted part carrying the id smscd gave it, and
receive a multipart MO from the vendor as one message."""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest_twisted
import smpplib.client
import smpplib.consts
import smpplib.gsm
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from smscd.config import load_config
from smscd.daemon import Daemon

PASSWORD_LINE = re.compile(r"created user 'demo' with password '([^']+)'")


async def _daemon(tmp_path: Path) -> tuple[Daemon, str]:
    lines: list[str] = []
    daemon = Daemon(load_config({"data_dir": str(tmp_path), "smpp_server": {"port": 0},
                                 "http_api": {"port": 0}, "shell": {"port": 0},
                                 "admin_api": {"port": 0},
                                 "demo": {"simulator": True}}), reactor, lines.append)
    await daemon.start()
    [password] = [m.group(1) for m in map(PASSWORD_LINE.search, lines) if m]
    return daemon, password


def _session(port: int, password: str, text: str, want_receipts: int,
             want_mo: int = 0) -> dict[str, Any]:
    """Blocking smpplib: bind TRX, submit `text` (split by smpplib), collect what arrives."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=20,
                                   allow_unknown_opt_params=True)
    ids: list[str] = []
    receipts: dict[str, bytes] = {}
    mo: list[bytes] = []

    def sent(pdu: Any) -> None:
        ids.append(pdu.message_id.decode())

    def received(pdu: Any) -> None:
        if pdu.esm_class & 0x04 or getattr(pdu, "receipted_message_id", None):
            receipts[pdu.receipted_message_id.decode().rstrip("\0")] = pdu.short_message
        else:   # a long MO comes whole, in message_payload
            mo.append(pdu.short_message or getattr(pdu, "message_payload", None) or b"")

    client.set_message_sent_handler(sent)
    client.set_message_received_handler(received)
    client.connect()
    try:
        client.bind_transceiver(system_id="demo", password=password)
        parts, coding, esm = smpplib.gsm.make_parts(text) if text else ([], 0, 0)
        for part in parts:
            client.send_message(source_addr_ton=1, source_addr="12345", dest_addr_ton=1,
                                destination_addr="31600000000", short_message=part,
                                data_coding=coding, esm_class=esm, registered_delivery=1)
        deadline = time.monotonic() + 20
        while (len(receipts) < want_receipts or len(mo) < want_mo) \
                and time.monotonic() < deadline:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return {"ids": ids, "receipts": receipts, "parts": len(parts), "mo": mo}


@pytest_twisted.ensureDeferred
async def test_smpplib_submit_gets_a_receipt_with_our_id(tmp_path: Path) -> None:
    """An smpplib customer's submit_sm gets our id, then a DELIVRD receipt carrying it."""
    daemon, password = await _daemon(tmp_path)
    try:
        got = await deferToThread(_session, daemon.port, password, "hello from smpplib", 1)
    finally:
        await daemon.stop()
    [message_id] = got["ids"]
    assert set(got["receipts"]) == {message_id}
    assert b"stat:DELIVRD" in got["receipts"][message_id]
    assert f"id:{message_id}".encode() in got["receipts"][message_id]


@pytest_twisted.ensureDeferred
async def test_smpplib_long_message_gets_one_receipt_per_part(tmp_path: Path) -> None:
    """A UDH-split message: every part is correlated, not only the last (Jasmin's gap)."""
    daemon, password = await _daemon(tmp_path)
    try:
        got = await deferToThread(_session, daemon.port, password, "long " * 80, 3)
    finally:
        await daemon.stop()
    assert got["parts"] == 3 and len(set(got["ids"])) == 3
    assert set(got["receipts"]) == set(got["ids"])


@pytest_twisted.ensureDeferred
async def test_smpplib_customer_receives_a_multipart_mo_whole(tmp_path: Path) -> None:
    """A vendor MO in three UDH parts reaches the customer as one message."""
    daemon, password = await _daemon(tmp_path)
    text = "MO reply " * 40
    try:
        assert daemon.simulator is not None
        session = deferToThread(_session, daemon.port, password, "", 0, 1)
        await _wait_bound(daemon)
        daemon.simulator.inject_mo(text, destination="12345")
        got = await session
    finally:
        await daemon.stop()
    [content] = got["mo"]
    assert content == text.encode()


class _FirstReceiver:
    """A BindRegistry listener whose Deferred fires when the first receiver binds."""

    def __init__(self) -> None:
        self.bound: Deferred[None] = Deferred()

    def receiver_bound(self, user: str, proto: Any) -> None:
        if not self.bound.called:
            self.bound.callback(None)

    def receiver_gone(self, user: str, proto: Any) -> None:
        pass


async def _wait_bound(daemon: Daemon) -> None:
    """Until the demo user has a receiver bind (the smpplib thread binds)."""
    if daemon.registry.receivers("demo"):
        return
    listener = _FirstReceiver()
    daemon.registry.add_listener(listener)
    await listener.bound.addTimeout(20, reactor)
