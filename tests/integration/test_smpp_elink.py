"""jCli stats count the customers' enquire_links, which the sans-IO session answers itself."""
from __future__ import annotations
from pathlib import Path
import pytest_twisted
from customer_side import Inbox, start_gateway
from smscd.smpp import pdu as P
from smscd.smpp.codec import encode


@pytest_twisted.ensureDeferred
async def test_enquire_links_are_counted_per_user_and_server(tmp_path: Path) -> None:
    """Breaks if an enquire_link answered by the session is not counted for the user and
    the server (elink_count, last_received_elink_at)."""
    gw = await start_gateway(tmp_path)
    try:
        stats = gw.factory.handler_factory().ctx.stats
        inbox = Inbox(gw.reactor)
        alice = await gw.bind("alice", handler=inbox)
        for seq in range(3):
            alice.transport.write(encode(P.EnquireLink(), 0x7E000000 + seq))
        await inbox.barrier(alice)
        assert stats.smpps.elink_count == 3
        assert stats.smpp_user("alice").elink_count == 3
        assert stats.smpps.last_received_elink_at > 0
    finally:
        await gw.close()
