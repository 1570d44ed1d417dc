"""smpplib (an independent ESME) cancels by address: it binds, submits, sends a cancel_sm
with an empty message_id (encoded by smpplib's own PDU machinery), and learns from
query_sm which of its messages were cancelled.

smpplib has no cancel_sm class and cannot decode cancel_sm_resp, so the request is a small
`Command` subclass declaring the SMPP 3.4 §4.9.1 fields, and the response (header only,
§4.9.2) is read as its 16 header octets."""
from __future__ import annotations

import re
import struct
import sys
from pathlib import Path
from typing import Any

import pytest_twisted
import smpplib.client
import smpplib.command
from smpplib.command import Param
from twisted.internet import reactor
from twisted.internet.threads import deferToThread

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from cancel_side import start_side  # noqa: E402
from customer_side import PASSWORD  # noqa: E402

from smscd.config import load_config  # noqa: E402
from smscd.daemon import DEMO_CONNECTOR, DEMO_USER, Daemon  # noqa: E402
from smscd.smpp.message_state import MessageState  # noqa: E402
from smscd.smpp.status import CommandStatus as S  # noqa: E402

CANCEL_SM_RESP = 0x80000008
PASSWORD_LINE = re.compile(r"created user 'demo' with password '([^']+)'")


class CancelSM(smpplib.command.Command):
    """cancel_sm as smpplib would declare it."""
    params = {
        "service_type": Param(type=str, max=6),
        "message_id": Param(type=str, max=65),
        "source_addr_ton": Param(type=int, size=1),
        "source_addr_npi": Param(type=int, size=1),
        "source_addr": Param(type=str, max=21),
        "dest_addr_ton": Param(type=int, size=1),
        "dest_addr_npi": Param(type=int, size=1),
        "destination_addr": Param(type=str, max=21),
    }
    params_order = ("service_type", "message_id", "source_addr_ton", "source_addr_npi",
                    "source_addr", "dest_addr_ton", "dest_addr_npi", "destination_addr")

    def __init__(self, command: str, **kwargs: Any) -> None:
        super().__init__(command, **kwargs)
        self._set_vars(**(dict.fromkeys(self.params)))


def _cancel(client: smpplib.client.Client, **fields: Any) -> int:
    """Send a cancel_sm; the status of its cancel_sm_resp."""
    pdu = CancelSM("cancel_sm", client=client, **fields)
    client.send_pdu(pdu)
    _, command_id, status, sequence = struct.unpack(">IIII", client._recv_exact(16))
    assert (command_id, sequence) == (CANCEL_SM_RESP, pdu.sequence)
    return int(status)


def _session(port: int, system_id: str = "alice", password: str = PASSWORD
             ) -> dict[str, Any]:
    """Blocking smpplib: submit three messages, cancel two by address, query all three."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=10,
                                   allow_unknown_opt_params=True)
    client.connect()
    try:
        client.bind_transceiver(system_id=system_id, password=password)
        ids = []
        for source, destination in (("SHOP", "33600000001"), ("SHOP", "33600000001"),
                                    ("SHOP", "33600000002")):
            client.send_message(source_addr_ton=5, source_addr=source, dest_addr_ton=1,
                                dest_addr_npi=1, destination_addr=destination,
                                short_message=b"hello")
            ids.append(client.read_pdu().message_id.decode())
        statuses = [_cancel(client, message_id="", source_addr="SHOP",
                            destination_addr="33600000001"),
                    _cancel(client, message_id="", source_addr="NOBODY")]
        states = []
        for message_id in ids:
            client.query_message(message_id=message_id, source_addr="SHOP")
            states.append(client.read_pdu().message_state)
        client.unbind()
    finally:
        client.disconnect()
    return {"statuses": statuses, "states": states}


@pytest_twisted.ensureDeferred
async def test_smpplib_cancels_by_source_and_destination(tmp_path: Path) -> None:
    """Breaks if an independent ESME's cancel_sm with an empty message_id is not understood
    as "every queued message from this source to this destination", or is not answered
    ESME_RCANCELFAIL when nothing matches."""
    side = await start_side(tmp_path)
    try:
        got = await deferToThread(_session, side.port)
    finally:
        await side.close()
    assert got["statuses"] == [S.ESME_ROK, S.ESME_RCANCELFAIL]
    assert got["states"] == [MessageState.DELETED, MessageState.DELETED,
                             MessageState.ENROUTE]


@pytest_twisted.ensureDeferred
async def test_smpplib_cancels_by_address_in_the_daemon(tmp_path: Path) -> None:
    """Breaks if `smscd run` does not give its SMPP server the view of the queued messages
    (it would answer every cancel by address ESME_RCANCELFAIL)."""
    lines: list[str] = []
    daemon = Daemon(load_config({"data_dir": str(tmp_path), "smpp_server": {"port": 0},
                                 "http_api": {"port": 0}, "shell": {"port": 0},
                                 "admin_api": {"port": 0},
                                 "demo": {"simulator": True}}), reactor, lines.append)
    await daemon.start()
    try:
        [password] = [m.group(1) for m in map(PASSWORD_LINE.search, lines) if m]
        assert daemon.service is not None
        await daemon.service.smpp_connectors.stop(DEMO_CONNECTOR)   # messages stay queued
        got = await deferToThread(_session, daemon.port, DEMO_USER, password)
    finally:
        await daemon.stop()
    assert got["statuses"] == [S.ESME_ROK, S.ESME_RCANCELFAIL]
    assert got["states"] == [MessageState.DELETED, MessageState.DELETED,
                             MessageState.ENROUTE]
