# tests: tests/integration/test_smpp_server.py
"""submit_multi (3.4 §4.5): one Message per SME destination, failures in unsuccess_smes.

Rules:
- The whole PDU is validated first (source, number_of_dests, esm_class, payload, times);
  a failure there answers the whole submit_multi with that status.
- Then each destination on its own: a distribution list is ESME_RINVDLNAME (we keep no
  lists), a reserved TON/NPI or an empty address its own status, a refusal of the user's
  MT credential its status (credentials.check_smpp_submit), a refusal of the MT
  pipeline (route, throughput, billing, store) its status. The others are accepted, all
  in one group commit, and answered together. When every destination is refused, the resp
  has the first one's status.
- The resp carries one message_id (the spec has one). The first destination that passes
  its credential checks gets it as its Message id, the others that id plus "-<index>";
  every one of them records it in `extra["multi_id"]`, so the customer's receipts and
  query_sm use the id it was given.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, DeferredList
from twisted.logger import Logger

from smscd.credentials import CredentialRefusal, check_smpp_submit
from smscd.ids import new_message_id
from smscd.message import Address, Message
from smscd.mt_pipeline import Refused
from smscd.smpp import pdu as P
from smscd.smpp.errors import SmppError
from smscd.smpp.status import CommandStatus as S
from smscd.smpp.validate import VALID_NPI, VALID_TON, validate_submission
from smscd.submission import build_message

if TYPE_CHECKING:
    from smscd.smpp_protocol import SmppProtocol
    from smscd.smpp_server import SmppServerHandler

log = Logger(namespace="smscd.smpp_multi")

MULTI_ID = "multi_id"


def destination_status(dest: P.SmeAddress | P.DistributionList) -> int:
    """Why this destination cannot be taken as it is (0 when it can)."""
    if isinstance(dest, P.DistributionList):
        return S.ESME_RINVDLNAME
    if dest.dest_addr_ton not in VALID_TON:
        return S.ESME_RINVDSTTON
    if dest.dest_addr_npi not in VALID_NPI:
        return S.ESME_RINVDSTNPI
    if not dest.destination_addr:
        return S.ESME_RINVDSTADR
    return 0


def _unsuccess(dest: P.SmeAddress | P.DistributionList, status: int) -> P.UnsuccessSme:
    if isinstance(dest, P.DistributionList):
        return P.UnsuccessSme(0, 0, dest.dl_name, status)
    return P.UnsuccessSme(dest.dest_addr_ton, dest.dest_addr_npi, dest.destination_addr, status)


def submit_multi(handler: SmppServerHandler, proto: SmppProtocol, pdu: P.SubmitMulti) -> None:
    ctx, user = handler.ctx, handler.user
    assert user is not None
    now, now_dt = ctx.now_utc()
    try:
        times = validate_submission(pdu, now_dt)
    except SmppError as e:
        proto.respond(pdu, P.SubmitMultiResp(command_status=e.status))
        return
    base_id = new_message_id(now)
    failed: list[P.UnsuccessSme] = []
    submitted: list[tuple[P.SmeAddress, Message, Deferred[str]]] = []
    for index, dest in enumerate(pdu.dest_addresses):
        status = destination_status(dest)
        if status:
            failed.append(_unsuccess(dest, status))
            continue
        assert isinstance(dest, P.SmeAddress)
        message_id = base_id if not submitted else f"{base_id}-{index}"
        try:
            message = build_message(
                pdu, message_id=message_id, user=user.uid,
                destination=Address(dest.destination_addr, dest.dest_addr_ton,
                                    dest.dest_addr_npi),
                times=times, now=now, max_parts=ctx.settings.max_parts,
                extra={MULTI_ID: base_id})
        except SmppError as e:                     # too long: the same for every one
            proto.respond(pdu, P.SubmitMultiResp(command_status=e.status))
            return
        checked = check_smpp_submit(user.mt_credential, message)
        if isinstance(checked, CredentialRefusal):
            failed.append(_unsuccess(dest, checked.smpp_status))
            continue
        submitted.append((dest, checked, ctx.pipeline.submit(user, checked, "smpp")))
    if not submitted:
        first = failed[0].error_status_code if failed else S.ESME_RINVNUMDESTS
        proto.respond(pdu, P.SubmitMultiResp(command_status=first, unsuccess_smes=tuple(failed)))
        return

    def answer(results: list[tuple[bool, Any]]) -> None:
        unsuccess = list(failed)
        for (ok, outcome), (dest, message, _) in zip(results, submitted):
            if ok:
                continue
            if outcome.check(Refused):
                unsuccess.append(_unsuccess(dest, outcome.value.smpp_status))
            else:
                log.failure("submitting message {id} failed; ESME_RSYSERR for its "
                            "destination", outcome, id=message.id)
                unsuccess.append(_unsuccess(dest, S.ESME_RSYSERR))
        if len(unsuccess) == len(failed) + len(submitted):
            proto.respond(pdu, P.SubmitMultiResp(command_status=unsuccess[0].error_status_code,
                                                 unsuccess_smes=tuple(unsuccess)))
        else:
            proto.respond(pdu, P.SubmitMultiResp(message_id=base_id,
                                                 unsuccess_smes=tuple(unsuccess)))
    everything: Deferred[Any] = DeferredList([d for _, _, d in submitted],
                                             consumeErrors=True)
    everything.addCallback(answer)
