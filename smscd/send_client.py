# tests: tests/integration/test_send_client.py
"""`smscd send`: bind to an SMSC as an ESME, submit one message, wait for its receipt.

Works against smscd or any SMSC. The message is split as needed (UDH, 8-bit reference);
every part asks for a receipt when waiting; the result lists the id of each part and
the receipt that came back for it. Exit codes: 0 every part delivered (or submitted,
when not waiting), 1 a part was refused, failed or timed out, 2 the bind failed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from twisted.internet.defer import Deferred

from smscd.dlr_pdus import is_receipt, read_vendor_receipt
from smscd.smpp import pdu as P
from smscd.smpp.coding import choose_coding
from smscd.smpp.message_state import MessageState, is_final
from smscd.smpp.parts import pdus_for_parts
from smscd.smpp.receipt import Receipt
from smscd.smpp.session import RequestReceived
from smscd.smpp.split import SplitMethod, split_text
from smscd.smpp.status import CommandStatus as S, status_name
from smscd.smpp_protocol import (BindFailed, HandlerBase, RequestFailedError, SmppProtocol,
                                 connect_and_bind)


@dataclass
class SendRequest:
    host: str
    port: int
    system_id: str
    password: str
    to: str
    text: str
    sender: str = ""
    wait_receipt: bool = True
    timeout: float = 60.0


@dataclass
class SendResult:
    exit_code: int
    message_ids: list[str] = field(default_factory=list)
    receipts: dict[str, Receipt] = field(default_factory=dict)


class _ReceiptWaiter(HandlerBase):
    """Answers every deliver_sm; hands final receipts to whoever waits for that id."""

    def __init__(self) -> None:
        self.waiting: dict[str, Deferred[Receipt]] = {}
        self.early: dict[str, Receipt] = {}

    def event(self, proto: SmppProtocol, event: object) -> None:
        if not isinstance(event, RequestReceived):
            return
        pdu = event.pdu
        if isinstance(pdu, P.DeliverSm | P.DataSm):
            response: P.Pdu = P.DeliverSmResp() if isinstance(pdu, P.DeliverSm) \
                else P.DataSmResp()
            proto.respond(pdu, response)
            receipt = read_vendor_receipt(pdu) if is_receipt(pdu) else None
            if receipt is not None and is_final(receipt.state):
                waiter = self.waiting.pop(receipt.message_id, None)
                if waiter is None:
                    self.early[receipt.message_id] = receipt
                else:
                    waiter.callback(receipt)

    def wait(self, message_id: str) -> Deferred[Receipt]:
        d: Deferred[Receipt] = Deferred()
        if message_id in self.early:
            d.callback(self.early.pop(message_id))
        else:
            self.waiting[message_id] = d
        return d


async def send(reactor: Any, req: SendRequest, say: Callable[[str], None]) -> SendResult:
    waiter = _ReceiptWaiter()
    bind = P.BindTransceiver(system_id=req.system_id, password=req.password)
    try:
        proto = await connect_and_bind(reactor, req.host, req.port, bind, waiter,
                                       timeout=req.timeout)
    except BindFailed as e:
        say(f"bind refused: {status_name(e.status)} ({e})")
        return SendResult(2)
    except Exception as e:   # connection refused, timeout: say what happened, not a trace
        say(f"cannot connect to {req.host}:{req.port}: {e}")
        return SendResult(2)
    result = SendResult(0)
    try:
        await _submit_all(reactor, proto, req, waiter, result, say)
    finally:
        proto.unbind()
        await proto.when_closed()
    return result


async def _submit_all(reactor: Any, proto: SmppProtocol, req: SendRequest,
                      waiter: _ReceiptWaiter, result: SendResult,
                      say: Callable[[str], None]) -> None:
    coding = choose_coding(req.text)
    parts = split_text(req.text, coding, SplitMethod.UDH8, reference=1)
    template = P.SubmitSm(source_addr_ton=5 if req.sender and not req.sender.isdigit() else 1,
                          source_addr_npi=0 if req.sender and not req.sender.isdigit() else 1,
                          source_addr=req.sender, dest_addr_ton=1, dest_addr_npi=1,
                          destination_addr=req.to, data_coding=coding,
                          registered_delivery=1 if req.wait_receipt else 0)
    receipts: list[tuple[str, Deferred[Receipt]]] = []
    for index, pdu in enumerate(pdus_for_parts(template, parts), 1):
        try:
            resp = await proto.request(pdu)
        except RequestFailedError as e:
            say(f"part {index}/{len(parts)}: no answer ({e})")
            result.exit_code = 1
            return
        if resp.command_status != S.ESME_ROK:
            say(f"part {index}/{len(parts)}: refused with {status_name(resp.command_status)}")
            result.exit_code = 1
            return
        assert isinstance(resp, P.SubmitSmResp)
        result.message_ids.append(resp.message_id)
        say(f"part {index}/{len(parts)} accepted: message id {resp.message_id}")
        if req.wait_receipt:
            d = waiter.wait(resp.message_id)
            timer = reactor.callLater(req.timeout, d.cancel)
            d.addBoth(_stop_timer, timer)
            receipts.append((resp.message_id, d))
    for message_id, d in receipts:
        try:
            receipt = await d
        except Exception:
            say(f"receipt for {message_id}: none within {req.timeout:g} s")
            result.exit_code = 1
            continue
        result.receipts[message_id] = receipt
        say(f"receipt for {message_id}: stat:{receipt.stat} err:{receipt.error}")
        if receipt.state is not MessageState.DELIVERED:
            result.exit_code = 1


def _stop_timer(value: Any, timer: Any) -> Any:
    if timer.active():
        timer.cancel()
    return value
