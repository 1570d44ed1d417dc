# tests: tests/unit/test_inbound.py, tests/integration/test_connector.py
"""Vendor -> us: deliver_sm / data_sm on a connector's binds, as receipts and MO.

Rules:
- A receipt (`is_receipt`) is read, its id normalised (receipt_id_mode) and looked up in the
  correlations; the part's state goes to `deliveries.part_state`, and the deliver_sm_resp
  (ESME_ROK) leaves only once that is durable. A receipt we cannot read or correlate is
  answered ESME_ROK at once, logged and counted: refusing it would only make the vendor
  send it again forever. A store/deliveries failure is answered ESME_RX_T_APPN, so the
  vendor sends it again later.
- Anything else is an MO. A single one goes to `deliveries.inbound`, answered when durable
  (ESME_RX_T_APPN on failure). Parts of a long MO (UDH 8/16-bit reference, SAR) are joined
  by a bounded `Reassembler` keyed by source, destination and data_coding: each part but
  the one completing the message is answered at once (held in memory only: a restart loses
  an incomplete group); the completing part is answered when the whole MO is durable.
- An incomplete group at its timeout (or evicted to stay within bounds) is delivered as
  what arrived, its parts joined in order (logged with the missing parts and counted as
  `mo_partial`): the vendor was told we had those parts, so they must not vanish. If that
  delivery fails it is tried again later, while the connector runs.
- A UDH that overruns its message is answered with the decoder's status (ESME_RINVESMCLASS).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.deliveries import Deliveries, InboundMessage
from smscd.dlr_pdus import is_receipt, read_vendor_receipt
from smscd.ids import new_message_id
from smscd.message import Address
from smscd.smpp import pdu as P
from smscd.smpp.errors import InvalidPdu
from smscd.smpp.reassembly import UDHI, Completed, Expired, Reassembler, concat_of
from smscd.smpp.receipt import normalise_receipt_id
from smscd.smpp.status import CommandStatus as S
from smscd.smpp_protocol import DelayedCall, ReactorTime
from smscd.stores.interfaces import Correlations
from connectors.connector_config import ConnectorConfig

log = Logger(namespace="connectors.inbound")

_CONTENT_TLVS = frozenset({"message_payload", "sar_msg_ref_num", "sar_total_segments",
                           "sar_segment_seqnum"})
Responder = Callable[[P.Pdu, P.Pdu], None]       # (request, response): SmppProtocol.respond


@dataclass(slots=True)
class InboundStats:
    receipts: int = 0
    unknown_receipts: int = 0
    mo: int = 0
    mo_parts: int = 0
    mo_partial: int = 0
    failures: int = 0
    last_error: str | None = None


def _resp(request: P.Pdu, status: int = S.ESME_ROK) -> P.Pdu:
    if isinstance(request, P.DataSm):
        return P.DataSmResp(command_status=status)
    return P.DeliverSmResp(command_status=status)


class InboundHandler:
    def __init__(self, cfg: ConnectorConfig, correlations: Correlations,
                 deliveries: Deliveries, clock: ReactorTime,
                 reassembler: Reassembler | None = None,
                 new_id: Callable[[float], str] = new_message_id) -> None:
        self.cfg = cfg
        self._correlations = correlations
        self._deliveries = deliveries
        self._clock = clock
        self.reassembler = reassembler or Reassembler(timeout=cfg.mo_reassembly_timeout)
        self._new_id = new_id
        self._timer: DelayedCall | None = None
        self._retries: set[DelayedCall] = set()
        self.running = True
        self.stats = InboundStats()
        self.observer: Callable[[], None] | None = None   # told after each answer

    def on_request(self, respond: Responder, pdu: P.DeliverSm | P.DataSm) -> None:
        if is_receipt(pdu):
            self._receipt(respond, pdu)
        else:
            self._mo(respond, pdu)

    def stop(self) -> None:
        """Stop the timers; incomplete groups stay held for the next start."""
        self.running = False
        for call in [self._timer, *self._retries]:
            if call is not None and call.active():
                call.cancel()
        self._timer = None
        self._retries.clear()

    def start(self) -> None:
        self.running = True
        self._arm()

    # -- receipts ---------------------------------------------------------------------------
    def _receipt(self, respond: Responder, pdu: P.DeliverSm | P.DataSm) -> None:
        self.stats.receipts += 1
        receipt = read_vendor_receipt(pdu)
        if receipt is None:
            self._unknown(respond, pdu, "unreadable receipt", None)
            return
        try:
            key = normalise_receipt_id(receipt.message_id, self.cfg.receipt_id_mode)
        except ValueError:
            self._unknown(respond, pdu, "receipt id does not fit receipt_id_mode",
                          receipt.message_id)
            return
        now = self._clock.seconds()

        def found(hit: tuple[str, int] | None) -> None:
            if hit is None:
                self._unknown(respond, pdu, "no correlation", receipt.message_id)
                if self.observer is not None:
                    self.observer()
                return
            message_id, part = hit
            # Answered from part_state's own Deferred: returning it from this callback
            # would chain two Deferreds per receipt.
            self._answer_when(maybeDeferred(self._deliveries.part_state, message_id, part,
                                            receipt.state, receipt.error, receipt, now),
                              respond, pdu, "receipt")
        d = self._correlations.get(self.cfg.id, key)
        d.addCallbacks(found, self._failed, errbackArgs=(respond, pdu, "receipt"))

    def _unknown(self, respond: Responder | None, pdu: P.Pdu, why: str,
                 vendor_id: str | None) -> None:
        self.stats.unknown_receipts += 1
        log.info("connector {id}: {why} for vendor id {vid!r}; answered OK",
                 id=self.cfg.id, why=why, vid=vendor_id)
        if respond is not None:
            respond(pdu, _resp(pdu))

    # -- MO ---------------------------------------------------------------------------------
    def _mo(self, respond: Responder, pdu: P.DeliverSm | P.DataSm) -> None:
        payload = pdu.tlv("message_payload")
        content = getattr(pdu, "short_message", b"")
        if isinstance(payload, bytes) and not content:
            content = payload
        sar = (pdu.tlv("sar_msg_ref_num"), pdu.tlv("sar_total_segments"),
               pdu.tlv("sar_segment_seqnum"))
        try:
            info = concat_of(pdu.esm_class, content,
                             sar if all(isinstance(v, int) for v in sar) else None)  # type: ignore[arg-type]
        except InvalidPdu as e:
            self.stats.failures += 1
            respond(pdu, _resp(pdu, e.status))
            return
        now = self._clock.seconds()
        if info is None:
            self.stats.mo += 1
            self._answer_when(self._inbound(pdu, content, pdu.esm_class, now), respond, pdu,
                              "MO")
            return
        self.stats.mo_parts += 1
        key = (pdu.source_addr, str(pdu.source_addr_ton), str(pdu.source_addr_npi),
               pdu.destination_addr, str(pdu.dest_addr_ton), str(pdu.dest_addr_npi),
               str(pdu.data_coding))
        done = self.reassembler.add(key, info.ref, info.total, info.seq, info.body, now)
        self._arm()
        if not isinstance(done, Completed):
            respond(pdu, _resp(pdu))                       # held in memory, see the header
            return
        self.stats.mo += 1
        self._answer_when(self._inbound(pdu, done.body, pdu.esm_class & ~UDHI,
                                        done.first_seen), respond, pdu, "MO")

    def _inbound(self, pdu: P.DeliverSm | P.DataSm, content: bytes, esm_class: int,
                 at: float) -> Deferred[None]:
        mo = InboundMessage(
            id=self._new_id(at), connector=self.cfg.id,
            source=Address(pdu.source_addr, pdu.source_addr_ton, pdu.source_addr_npi),
            destination=Address(pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi),
            data_coding=pdu.data_coding, esm_class=esm_class, content=content,
            received_at=at, tlvs=tuple(t for t in pdu.tlvs if t.name not in _CONTENT_TLVS))
        return maybeDeferred(self._deliveries.inbound, mo)

    def _answer_when(self, d: Deferred[Any], respond: Responder, pdu: P.Pdu,
                     what: str) -> None:
        d.addCallbacks(self._done, self._failed, callbackArgs=(respond, pdu),
                       errbackArgs=(respond, pdu, what))

    def _done(self, _: object, respond: Responder, pdu: P.Pdu) -> None:
        respond(pdu, _resp(pdu))
        if self.observer is not None:
            self.observer()

    def _failed(self, f: Failure, respond: Responder, pdu: P.Pdu, what: str) -> None:
        self.stats.failures += 1
        self.stats.last_error = f"{what}: {f.getErrorMessage()}"
        log.failure("connector {id}: {what} not recorded; answered ESME_RX_T_APPN", f,
                    id=self.cfg.id, what=what)
        respond(pdu, _resp(pdu, S.ESME_RX_T_APPN))
        if self.observer is not None:
            self.observer()

    # -- incomplete groups ------------------------------------------------------------------
    def _arm(self) -> None:
        due = self.reassembler.next_deadline()
        if due is None or not self.running:
            return
        if self._timer is not None and self._timer.active():
            if self._timer.getTime() <= due:
                return
            self._timer.cancel()
        self._timer = self._clock.callLater(max(0.0, due - self._clock.seconds()), self._expire)

    def _expire(self) -> None:
        self._timer = None
        for group in self.reassembler.expire(self._clock.seconds()):
            self._partial(group, 0)
        self._arm()

    def _partial(self, group: Expired, attempt: int) -> None:
        if attempt == 0:
            self.stats.mo_partial += 1
            log.warn("connector {id}: MO from {src} to {dst} incomplete ({why}): parts "
                     "{missing} of {total} missing; delivering what arrived",
                     id=self.cfg.id, src=group.key[0], dst=group.key[3], why=group.reason,
                     missing=list(group.missing), total=group.total)
        src, src_ton, src_npi, dst, dst_ton, dst_npi, dcs = group.key
        mo = InboundMessage(
            id=self._new_id(group.first_seen), connector=self.cfg.id,
            source=Address(src, int(src_ton), int(src_npi)),
            destination=Address(dst, int(dst_ton), int(dst_npi)), data_coding=int(dcs),
            esm_class=0, content=b"".join(body for _, body in group.parts),
            received_at=group.first_seen)

        def again(f: Failure) -> None:
            self.stats.failures += 1
            log.failure("connector {id}: partial MO not recorded; trying again", f,
                        id=self.cfg.id)
            if self.running:
                call = self._clock.callLater(min(60.0, 2.0 ** attempt), self._retry_partial,
                                             group, attempt + 1)
                self._retries.add(call)
        maybeDeferred(self._deliveries.inbound, mo).addErrback(again)

    def _retry_partial(self, group: Expired, attempt: int) -> None:
        self._retries = {c for c in self._retries if c.active()}
        self._partial(group, attempt)
