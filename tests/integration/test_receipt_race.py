"""A vendor receipt that beats its correlation (sent on another bind before we read the
submit_sm_resp with the vendor id) still reaches the customer: it is kept durably in the
connector's pending queue, the vendor is answered once it is kept, and it is matched when
the correlation appears, even across a restart; at its TTL it is given up as a dead
letter. Over loopback with a tiny SMSC whose submit_sm_resp the test releases, the real
store and the real dispatcher (customer receipts land in deliver:acme)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet.defer import Deferred

from connectors.pending_receipts import pending_receipts_queue
from smscd.deliveries import mt_queue
from smscd.delivery_items import RECEIPT, item_of
from smscd.smpp import pdu as P
from smscd.smpp.session import Event, RequestReceived
from smscd.smpp.status import CommandStatus as S
from smscd.smpp_protocol import SmppProtocol
from connector_daemon import ConnectorDaemon
from test_connector import CID, TinySmsc, message, reactor, receipt_pdu
from test_sqlite_store import Stores
from test_store_fast_paths import fail_writes

PENDING = pending_receipts_queue(CID)


class HoldingSmsc(TinySmsc):
    """A TinySmsc that answers each submit_sm only when the test says so."""

    def __init__(self) -> None:
        super().__init__(ids=lambda n: f"V{n}")
        self.held: list[tuple[SmppProtocol, P.SubmitSm]] = []
        self._got: list[Deferred[None]] = []

    def event(self, proto: SmppProtocol, event: Event) -> None:
        if isinstance(event, RequestReceived) and isinstance(event.pdu, P.SubmitSm):
            self.held.append((proto, event.pdu))
            got, self._got = self._got, []
            for d in got:
                d.callback(None)
            return
        super().event(proto, event)

    def submitted(self) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        if self.held:
            d.callback(None)
        else:
            self._got.append(d)
        return d

    def release(self) -> None:
        for proto, pdu in self.held:
            self.submits.append(pdu)
            proto.respond(pdu, P.SubmitSmResp(message_id=self.ids(len(self.submits))))
        self.held.clear()


class Daemon(ConnectorDaemon):
    async def receipts_for_acme(self) -> list[tuple[str, str]]:
        """Waits for the customer's receipts; (our id, receipt text) of each."""
        await self.store.queues.when_ready("deliver:acme")
        out = []
        for entry in self.store.queues.take("deliver:acme", 100):
            item = item_of(entry.obj, entry.payload)
            assert item.kind == RECEIPT
            out.append((item.ref, item.pdu.short_message.decode()))
        return out


async def started(tmp_path: Path, **overrides: Any) -> tuple[HoldingSmsc, Daemon]:
    smsc = HoldingSmsc()
    await smsc.start()
    return smsc, await Daemon(tmp_path / "store.db", smsc, **overrides).start()


@pytest_twisted.ensureDeferred
async def test_receipt_before_its_correlation_still_reaches_the_customer(
        tmp_path: Path) -> None:
    """Breaks if a receipt that arrives before the submit_sm_resp it belongs to is answered
    and dropped (the customer would never learn the outcome), or matched twice."""
    smsc, d = await started(tmp_path)
    try:
        m = message(1)
        await d.store.messages.accept(m, mt_queue(CID))
        await smsc.submitted()
        resp = await smsc.deliver(receipt_pdu("V1"))
        assert resp.command_status == S.ESME_ROK
        assert d.store.queues.depth("deliver:acme") == 0
        smsc.release()
        [(ref, text)] = await d.receipts_for_acme()
        assert ref == m.id and text.startswith(f"id:{m.id} ") and "stat:DELIVRD" in text
        await d.connector.until(lambda c: c.status()["receipts_late"] == 1)   # once acked
        assert d.connector.status()["unknown_receipts"] == 1
        assert d.store.queues.leased(PENDING) == 0 and d.store.queues.depth(PENDING) == 0
        record = await d.store.messages.get(m.id, "acme")
        assert record is not None and record.parts[0].vendor_id == "V1"
    finally:
        await d.stop()
        await smsc.stop()


@pytest_twisted.ensureDeferred
async def test_kept_receipt_outlives_a_restart(tmp_path: Path) -> None:
    """Breaks if a receipt kept for its correlation lives in memory only: the vendor was
    answered OK, so after a restart it must still be matched (read back from the store)."""
    smsc, d = await started(tmp_path)
    try:
        resp = await smsc.deliver(receipt_pdu("V9", stat="UNDELIV"))
        assert resp.command_status == S.ESME_ROK
        d = await d.restart()
        m = message(2)
        await d.store.messages.accept(m, "elsewhere")
        await d.store.correlations.put(CID, "V9", m.id, 0, reactor().seconds() + 60)
        [(ref, text)] = await d.receipts_for_acme()
        assert ref == m.id and "stat:UNDELIV" in text
        await d.connector.until(lambda c: c.status()["receipts_late"] == 1)
        assert d.store.queues.leased(PENDING) == 0 and d.store.queues.depth(PENDING) == 0
    finally:
        await d.stop()
        await smsc.stop()


@pytest_twisted.ensureDeferred
async def test_receipt_never_correlated_is_given_up_as_a_dead_letter(tmp_path: Path) -> None:
    """Breaks if a receipt whose correlation never comes is retried forever, or dropped
    without a trace for operators, after pending_receipt_ttl."""
    smsc, d = await started(tmp_path, pending_receipt_ttl=0.5)
    try:
        resp = await smsc.deliver(receipt_pdu("nobody"))
        assert resp.command_status == S.ESME_ROK
        await d.connector.until(lambda c: c.status()["receipts_given_up"] == 1)
        [dead] = await d.store.queues.dead_letters(PENDING)
        assert dead.reason == "expired" and b"nobody" in dead.payload
        assert d.connector.status()["receipts_late"] == 0
    finally:
        await d.stop()
        await smsc.stop()


@pytest_twisted.ensureDeferred
async def test_receipt_not_kept_is_refused_for_a_resend(tmp_path: Path) -> None:
    """Breaks if a receipt without a correlation is answered OK before it is durably kept
    (here: keeping it fails); the vendor must send it again."""
    smsc, d = await started(tmp_path)
    try:
        fail_writes(Stores(d.path), "queue_entries", f"NEW.queue = '{PENDING}'")
        resp = await smsc.deliver(receipt_pdu("V5"))
        assert resp.command_status == S.ESME_RX_T_APPN
    finally:
        await d.stop()
        await smsc.stop()


@pytest_twisted.ensureDeferred
async def test_without_a_ttl_an_uncorrelated_receipt_is_answered_and_dropped(
        tmp_path: Path) -> None:
    """Breaks if pending_receipt_ttl 0 does not turn the pending queue off (today's
    behaviour, counted for operators)."""
    smsc, d = await started(tmp_path, pending_receipt_ttl=0)
    try:
        resp = await smsc.deliver(receipt_pdu("V7"))
        assert resp.command_status == S.ESME_ROK
        assert d.connector.status()["unknown_receipts"] == 1
        assert d.store.queues.depth(PENDING) == 0 and d.store.queues.leased(PENDING) == 0
    finally:
        await d.stop()
        await smsc.stop()
