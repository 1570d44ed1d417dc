# tests: tests/unit/test_validate.py
"""Semantic checks on what an ESME submits, each answered with its own command_status.

The decoder (codec.py) checks structure; this module checks meaning (3.4 §5.2), so that
a customer learns exactly which field is wrong. Only submission requests are checked:
what vendors send us is read tolerantly elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .errors import InvalidPdu
from .pdu import DataSm, SubmitMulti, SubmitSm
from .smpp_time import parse_smpp_time
from .status import CommandStatus as S

VALID_TON = frozenset(range(7))                        # 3.4 §5.2.5
VALID_NPI = frozenset({0, 1, 3, 4, 6, 8, 9, 10, 14, 18})  # 3.4 §5.2.6
ESM_UDHI = 0x40
_ESME_MESSAGE_TYPES = frozenset({0x00, 0x08, 0x10})   # 3.4 §5.2.12, ESME -> SMSC
_REGISTERED_DELIVERY_RESERVED = 0xE0                   # bits 7-5 (3.4 §5.2.17)
_SAR = ("sar_msg_ref_num", "sar_total_segments", "sar_segment_seqnum")
MAX_DESTS = 254


@dataclass(frozen=True, slots=True)
class SubmitTimes:
    """The two optional times of a submission, as aware UTC datetimes."""
    schedule_delivery_time: datetime | None
    validity_period: datetime | None


def validate_submission(pdu: SubmitSm | DataSm | SubmitMulti, now: datetime) -> SubmitTimes:
    """Raise InvalidPdu with the status for the first wrong field; return the parsed times."""
    _check_address(pdu.source_addr_ton, pdu.source_addr_npi,
                   S.ESME_RINVSRCTON, S.ESME_RINVSRCNPI)
    if isinstance(pdu, SubmitMulti):
        if not 1 <= len(pdu.dest_addresses) <= MAX_DESTS:
            raise InvalidPdu(f"number_of_dests {len(pdu.dest_addresses)} outside 1..{MAX_DESTS}",
                             S.ESME_RINVNUMDESTS)
    else:
        _check_address(pdu.dest_addr_ton, pdu.dest_addr_npi,
                       S.ESME_RINVDSTTON, S.ESME_RINVDSTNPI)
        if not pdu.destination_addr:
            raise InvalidPdu("destination_addr is empty", S.ESME_RINVDSTADR)
    _check_esm_class(pdu)
    if pdu.registered_delivery & _REGISTERED_DELIVERY_RESERVED:
        raise InvalidPdu(f"registered_delivery 0x{pdu.registered_delivery:02X} sets reserved bits",
                         S.ESME_RINVREGDLVFLG)
    _check_payload(pdu)
    if isinstance(pdu, DataSm):
        return SubmitTimes(None, None)
    if pdu.priority_flag > 3:
        raise InvalidPdu(f"priority_flag {pdu.priority_flag} outside 0..3", S.ESME_RINVPRTFLG)
    if pdu.replace_if_present_flag > (0 if isinstance(pdu, SubmitMulti) else 1):
        raise InvalidPdu(f"replace_if_present_flag {pdu.replace_if_present_flag} not allowed",
                         S.ESME_RINVREPFLAG)
    if pdu.sm_default_msg_id:
        raise InvalidPdu(f"sm_default_msg_id {pdu.sm_default_msg_id}: no canned messages here",
                         S.ESME_RINVDFTMSGID)
    schedule = parse_smpp_time(pdu.schedule_delivery_time, now, status=S.ESME_RINVSCHED)
    validity = parse_smpp_time(pdu.validity_period, now, status=S.ESME_RINVEXPIRY)
    if validity is not None and validity <= now:
        raise InvalidPdu("validity_period is already in the past", S.ESME_RINVEXPIRY)
    if validity is not None and schedule is not None and validity <= schedule:
        raise InvalidPdu("validity_period ends before schedule_delivery_time",
                         S.ESME_RINVEXPIRY)
    return SubmitTimes(schedule, validity)


def _check_address(ton: int, npi: int, bad_ton: int, bad_npi: int) -> None:
    if ton not in VALID_TON:
        raise InvalidPdu(f"TON {ton} is reserved", bad_ton)
    if npi not in VALID_NPI:
        raise InvalidPdu(f"NPI {npi} is reserved", bad_npi)


def _check_esm_class(pdu: SubmitSm | DataSm | SubmitMulti) -> None:
    esm = pdu.esm_class
    if (esm & 0x3C) not in _ESME_MESSAGE_TYPES:
        raise InvalidPdu(f"esm_class 0x{esm:02X}: message type 0x{esm & 0x3C:02X} "
                         "is not one an ESME may submit", S.ESME_RINVESMCLASS)
    if esm & 0x03 == 0x02 and not isinstance(pdu, DataSm):
        raise InvalidPdu(f"esm_class 0x{esm:02X}: transaction mode is only for data_sm",
                         S.ESME_RINVESMCLASS)


def _check_payload(pdu: SubmitSm | DataSm | SubmitMulti) -> None:
    payload = pdu.tlv("message_payload")
    if isinstance(pdu, DataSm):
        if payload is None:
            raise InvalidPdu("data_sm without message_payload", S.ESME_RMISSINGOPTPARAM)
        body = payload
    else:
        if payload is not None and pdu.short_message:
            raise InvalidPdu("both short_message and message_payload are set",
                             S.ESME_RINVMSGLEN)
        body = payload if payload is not None else pdu.short_message
    assert isinstance(body, bytes)
    sar = [pdu.tlv(name) for name in _SAR]
    present = sum(v is not None for v in sar)
    if present and present != len(_SAR):
        raise InvalidPdu("sar_msg_ref_num, sar_total_segments and sar_segment_seqnum "
                         "must come together", S.ESME_RMISSINGOPTPARAM)
    if pdu.esm_class & ESM_UDHI:
        if present:
            raise InvalidPdu("SAR TLVs together with a UDH (esm_class UDHI)",
                             S.ESME_ROPTPARNOTALLWD)
        if not body or body[0] + 1 > len(body):
            raise InvalidPdu("esm_class says UDHI but the message has no complete UDH",
                             S.ESME_RINVESMCLASS)
    if present:
        total, seq = sar[1], sar[2]
        assert isinstance(total, int) and isinstance(seq, int)
        if not 1 <= seq <= total:
            raise InvalidPdu(f"sar_segment_seqnum {seq} outside 1..{total}",
                             S.ESME_RINVOPTPARAMVAL)
