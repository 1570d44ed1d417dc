# tests: tests/integration/test_connector.py, tests/integration/test_connector_pump.py, tests/integration/test_receipt_race.py, tests/integration/test_mo_durable.py
"""Vendor -> us: deliver_sm / data_sm on a connector's binds, as receipts and MO.

Rules:
- A receipt (`is_receipt`) is read, its id normalised (receipt_id_mode) and looked up in the
  correlations; the part's state goes to `deliveries.part_state`, and the deliver_sm_resp
  (ESME_ROK) leaves only once that is durable.
- A receipt whose correlation is not there (yet: it may beat the submit_sm_resp it answers
  across two binds) is kept in the pending queue and matched later (pending_receipts.py);
  the vendor is answered once it is kept. Without a queue, or with pending_receipt_ttl 0,
  it is answered ESME_ROK at once, logged and counted, as one we cannot read: refusing it
  would only make the vendor send it again forever. A store/deliveries failure is answered
  ESME_RX_T_APPN, so the vendor sends it again later.
- Anything else is an MO. A single one goes to `deliveries.inbound`, answered when durable
  (ESME_RX_T_APPN on failure). Parts of a long MO (UDH 8/16-bit reference, SAR) go to the
  `MoAssembly` (mo_assembly.py), keyed by source, destination and data_coding: each part is
  answered once it is kept durably, the completing one once the whole MO is durable.
- A UDH that overruns its message is answered with the decoder's status (ESME_RINVESMCLASS).
"""
from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.deliveries import Deliveries
from smscd.dlr_pdus import is_receipt, read_vendor_receipt
from smscd.ids import new_message_id
from smscd.smpp import pdu as P
from smscd.smpp.errors import InvalidPdu
from smscd.smpp.reassembly import Reassembler, concat_of
from smscd.smpp.receipt import normalise_receipt_id
from smscd.smpp.status import CommandStatus as S
from smscd.smpp_protocol import ReactorTime
from smscd.stores.interfaces import Correlations, Queues
from smscd.stores.mo_parts import MoParts
from connectors.connector_config import ConnectorConfig
from connectors.inbound_stats import InboundStats
from connectors.mo_assembly import MoAssembly, inbound_message
from connectors.pending_receipts import KeptReceipt, PendingReceipts

log = Logger(namespace="connectors.inbound")

Responder = Callable[[P.Pdu, P.Pdu], None]       # (request, response): SmppProtocol.respond


def _resp(request: P.Pdu, status: int = S.ESME_ROK) -> P.Pdu:
    if isinstance(request, P.DataSm):
        return P.DataSmResp(command_status=status)
    return P.DeliverSmResp(command_status=status)


class InboundHandler:
    def __init__(self, cfg: ConnectorConfig, correlations: Correlations,
                 deliveries: Deliveries, clock: ReactorTime,
                 reassembler: Reassembler | None = None,
                 new_id: Callable[[float], str] = new_message_id,
                 queues: Queues | None = None, mo_parts: MoParts | None = None) -> None:
        self.cfg = cfg
        self._correlations = correlations
        self._deliveries = deliveries
        self._clock = clock
        self._new_id = new_id
        self.stats = InboundStats()
        self.assembly = MoAssembly(cfg, deliveries, clock, self.stats, mo_parts, new_id,
                                   reassembler)
        self.pending = PendingReceipts(cfg, queues, correlations, deliveries, clock,
                                       self.stats, self._notify) \
            if queues is not None and cfg.pending_receipt_ttl > 0 else None
        self.observer: Callable[[], None] | None = None   # told after each answer

    def _notify(self) -> None:
        if self.observer is not None:
            self.observer()

    def on_request(self, respond: Responder, pdu: P.DeliverSm | P.DataSm) -> None:
        if is_receipt(pdu):
            self._receipt(respond, pdu)
        else:
            self._mo(respond, pdu)

    def start(self) -> None:
        self.assembly.start()
        if self.pending is not None:
            self.pending.start()

    def stop(self) -> None:
        """Stop the timers and the pending receipts; incomplete groups stay held (and
        kept) for the next start."""
        self.assembly.stop()
        if self.pending is not None:
            self.pending.stop()

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
                if self.pending is None:
                    self._unknown(respond, pdu, "no correlation", receipt.message_id)
                    return
                self.stats.unknown_receipts += 1
                log.info("connector {id}: no correlation yet for vendor id {vid!r}; kept "
                         "for up to {ttl} s", id=self.cfg.id, vid=receipt.message_id,
                         ttl=self.cfg.pending_receipt_ttl)
                self._answer_when(self.pending.keep(KeptReceipt(pdu, receipt, key, now)),
                                  respond, pdu, "receipt")
                return
            message_id, part = hit
            # Answered from part_state's own Deferred: returning it from this callback
            # would chain two Deferreds per receipt.
            self._answer_when(maybeDeferred(self._deliveries.part_state, message_id, part,
                                            receipt.state, receipt.error, receipt, now),
                              respond, pdu, "receipt")
        d = self._correlations.get(self.cfg.id, key)
        d.addCallbacks(found, self._failed, errbackArgs=(respond, pdu, "receipt"))

    def _unknown(self, respond: Responder, pdu: P.Pdu, why: str,
                 vendor_id: str | None) -> None:
        self.stats.unknown_receipts += 1
        log.info("connector {id}: {why} for vendor id {vid!r}; answered OK",
                 id=self.cfg.id, why=why, vid=vendor_id)
        respond(pdu, _resp(pdu))
        self._notify()

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
            mo = inbound_message(self._new_id(now), self.cfg.id, pdu, content, pdu.esm_class,
                                 now)
            self._answer_when(maybeDeferred(self._deliveries.inbound, mo), respond, pdu, "MO")
            return
        self.stats.mo_parts += 1
        self._answer_when(self.assembly.part(pdu, info, now), respond, pdu, "MO part")

    def _answer_when(self, d: Deferred[Any], respond: Responder, pdu: P.Pdu,
                     what: str) -> None:
        d.addCallbacks(self._done, self._failed, callbackArgs=(respond, pdu),
                       errbackArgs=(respond, pdu, what))

    def _done(self, _: object, respond: Responder, pdu: P.Pdu) -> None:
        respond(pdu, _resp(pdu))
        self._notify()

    def _failed(self, f: Failure, respond: Responder, pdu: P.Pdu, what: str) -> None:
        self.stats.failures += 1
        self.stats.last_error = f"{what}: {f.getErrorMessage()}"
        log.failure("connector {id}: {what} not recorded; answered ESME_RX_T_APPN", f,
                    id=self.cfg.id, what=what)
        respond(pdu, _resp(pdu, S.ESME_RX_T_APPN))
        self._notify()
