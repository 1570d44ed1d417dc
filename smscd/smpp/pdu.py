# tests: tests/unit/test_codec.py
"""Every SMPP 3.4 PDU (and the 5.0 broadcast ones) as a typed, frozen dataclass.

Field names and order are the spec's (3.4 §4, 5.0 §4); the metadata on each field is
the schema the generic codec is driven by. Lengths that the wire carries (sm_length,
number_of_dests, no_unsuccess) are derived on encode, never stored.
`command_status` is a plain int: peers send values the spec does not define.
PDU classes have no __slots__ on purpose: the decoder fills the instance __dict__ in one
call, which is three times faster than the frozen __init__ (see codec.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .commands import CommandId as C
from .fields import cstr, dest_addresses, int_field, short_message, time_str, unsuccess_smes
from .status import CommandStatus as S
from .tlv import Tlv, TlvValue


@dataclass(frozen=True)
class Pdu:
    command_id: ClassVar[C]
    command_status: int = 0
    sequence_number: int = 0
    tlvs: tuple[Tlv, ...] = ()

    def tlv(self, name: str) -> TlvValue | None:
        """Value of the first TLV called `name`, or None."""
        for t in self.tlvs:
            if t.name == name:
                return t.value
        return None

    def tlv_all(self, name: str) -> list[TlvValue]:
        """Values of every TLV called `name` (callback_num and others may repeat)."""
        return [t.value for t in self.tlvs if t.name == name]


# --- submit_multi destination entries -------------------------------------------------

@dataclass(frozen=True, slots=True)
class SmeAddress:
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""


@dataclass(frozen=True, slots=True)
class DistributionList:
    dl_name: str = ""


@dataclass(frozen=True, slots=True)
class UnsuccessSme:
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    error_status_code: int = 0


# --- session management (3.4 §4.1) ----------------------------------------------------

@dataclass(frozen=True)
class _Bind(Pdu):
    system_id: str = cstr(16, S.ESME_RINVSYSID)
    password: str = cstr(9, S.ESME_RINVPASWD)
    system_type: str = cstr(13, S.ESME_RINVSYSTYP)
    interface_version: int = int_field(1, 0x34)
    addr_ton: int = int_field(1)
    addr_npi: int = int_field(1)
    address_range: str = cstr(41, S.ESME_RINVPARLEN)


@dataclass(frozen=True)
class BindTransmitter(_Bind):
    command_id = C.BIND_TRANSMITTER


@dataclass(frozen=True)
class BindReceiver(_Bind):
    command_id = C.BIND_RECEIVER


@dataclass(frozen=True)
class BindTransceiver(_Bind):
    command_id = C.BIND_TRANSCEIVER


@dataclass(frozen=True)
class _BindResp(Pdu):
    system_id: str = cstr(16)


@dataclass(frozen=True)
class BindTransmitterResp(_BindResp):
    command_id = C.BIND_TRANSMITTER_RESP


@dataclass(frozen=True)
class BindReceiverResp(_BindResp):
    command_id = C.BIND_RECEIVER_RESP


@dataclass(frozen=True)
class BindTransceiverResp(_BindResp):
    command_id = C.BIND_TRANSCEIVER_RESP


@dataclass(frozen=True)
class Outbind(Pdu):
    command_id = C.OUTBIND
    system_id: str = cstr(16, S.ESME_RINVSYSID)
    password: str = cstr(9, S.ESME_RINVPASWD)


@dataclass(frozen=True)
class Unbind(Pdu):
    command_id = C.UNBIND


@dataclass(frozen=True)
class UnbindResp(Pdu):
    command_id = C.UNBIND_RESP


@dataclass(frozen=True)
class EnquireLink(Pdu):
    command_id = C.ENQUIRE_LINK


@dataclass(frozen=True)
class EnquireLinkResp(Pdu):
    command_id = C.ENQUIRE_LINK_RESP


@dataclass(frozen=True)
class GenericNack(Pdu):
    command_id = C.GENERIC_NACK


# --- message submission and delivery (3.4 §4.4-4.7) -----------------------------------

@dataclass(frozen=True)
class _ShortMessagePdu(Pdu):
    """submit_sm and deliver_sm share one body (3.4 §4.4.1, §4.6.1)."""
    service_type: str = cstr(6, S.ESME_RINVSERTYP)
    source_addr_ton: int = int_field(1)
    source_addr_npi: int = int_field(1)
    source_addr: str = cstr(21, S.ESME_RINVSRCADR)
    dest_addr_ton: int = int_field(1)
    dest_addr_npi: int = int_field(1)
    destination_addr: str = cstr(21, S.ESME_RINVDSTADR)
    esm_class: int = int_field(1)
    protocol_id: int = int_field(1)
    priority_flag: int = int_field(1)
    schedule_delivery_time: str = time_str(S.ESME_RINVSCHED)
    validity_period: str = time_str(S.ESME_RINVEXPIRY)
    registered_delivery: int = int_field(1)
    replace_if_present_flag: int = int_field(1)
    data_coding: int = int_field(1)
    sm_default_msg_id: int = int_field(1)
    short_message: bytes = short_message()


@dataclass(frozen=True)
class SubmitSm(_ShortMessagePdu):
    command_id = C.SUBMIT_SM


@dataclass(frozen=True)
class DeliverSm(_ShortMessagePdu):
    command_id = C.DELIVER_SM


@dataclass(frozen=True)
class _MessageIdResp(Pdu):
    message_id: str = cstr(65, S.ESME_RINVMSGID)


@dataclass(frozen=True)
class SubmitSmResp(_MessageIdResp):
    command_id = C.SUBMIT_SM_RESP


@dataclass(frozen=True)
class DeliverSmResp(_MessageIdResp):
    """3.4 says message_id is unused here (C1); peers fill it anyway, so we read 65."""
    command_id = C.DELIVER_SM_RESP


@dataclass(frozen=True)
class DataSmResp(_MessageIdResp):
    command_id = C.DATA_SM_RESP


@dataclass(frozen=True)
class SubmitMulti(Pdu):
    command_id = C.SUBMIT_MULTI
    service_type: str = cstr(6, S.ESME_RINVSERTYP)
    source_addr_ton: int = int_field(1)
    source_addr_npi: int = int_field(1)
    source_addr: str = cstr(21, S.ESME_RINVSRCADR)
    dest_addresses: tuple[SmeAddress | DistributionList, ...] = dest_addresses()
    esm_class: int = int_field(1)
    protocol_id: int = int_field(1)
    priority_flag: int = int_field(1)
    schedule_delivery_time: str = time_str(S.ESME_RINVSCHED)
    validity_period: str = time_str(S.ESME_RINVEXPIRY)
    registered_delivery: int = int_field(1)
    replace_if_present_flag: int = int_field(1)
    data_coding: int = int_field(1)
    sm_default_msg_id: int = int_field(1)
    short_message: bytes = short_message()


@dataclass(frozen=True)
class SubmitMultiResp(Pdu):
    command_id = C.SUBMIT_MULTI_RESP
    message_id: str = cstr(65, S.ESME_RINVMSGID)
    unsuccess_smes: tuple[UnsuccessSme, ...] = unsuccess_smes()


@dataclass(frozen=True)
class DataSm(Pdu):
    command_id = C.DATA_SM
    service_type: str = cstr(6, S.ESME_RINVSERTYP)
    source_addr_ton: int = int_field(1)
    source_addr_npi: int = int_field(1)
    source_addr: str = cstr(65, S.ESME_RINVSRCADR)
    dest_addr_ton: int = int_field(1)
    dest_addr_npi: int = int_field(1)
    destination_addr: str = cstr(65, S.ESME_RINVDSTADR)
    esm_class: int = int_field(1)
    registered_delivery: int = int_field(1)
    data_coding: int = int_field(1)


# --- ancillary operations (3.4 §4.8-4.12) ---------------------------------------------

@dataclass(frozen=True)
class QuerySm(Pdu):
    command_id = C.QUERY_SM
    message_id: str = cstr(65, S.ESME_RINVMSGID)
    source_addr_ton: int = int_field(1)
    source_addr_npi: int = int_field(1)
    source_addr: str = cstr(21, S.ESME_RINVSRCADR)


@dataclass(frozen=True)
class QuerySmResp(Pdu):
    command_id = C.QUERY_SM_RESP
    message_id: str = cstr(65, S.ESME_RINVMSGID)
    final_date: str = time_str(S.ESME_RQUERYFAIL)
    message_state: int = int_field(1)
    error_code: int = int_field(1)


@dataclass(frozen=True)
class CancelSm(Pdu):
    command_id = C.CANCEL_SM
    service_type: str = cstr(6, S.ESME_RINVSERTYP)
    message_id: str = cstr(65, S.ESME_RINVMSGID)
    source_addr_ton: int = int_field(1)
    source_addr_npi: int = int_field(1)
    source_addr: str = cstr(21, S.ESME_RINVSRCADR)
    dest_addr_ton: int = int_field(1)
    dest_addr_npi: int = int_field(1)
    destination_addr: str = cstr(21, S.ESME_RINVDSTADR)


@dataclass(frozen=True)
class CancelSmResp(Pdu):
    command_id = C.CANCEL_SM_RESP


@dataclass(frozen=True)
class ReplaceSm(Pdu):
    command_id = C.REPLACE_SM
    message_id: str = cstr(65, S.ESME_RINVMSGID)
    source_addr_ton: int = int_field(1)
    source_addr_npi: int = int_field(1)
    source_addr: str = cstr(21, S.ESME_RINVSRCADR)
    schedule_delivery_time: str = time_str(S.ESME_RINVSCHED)
    validity_period: str = time_str(S.ESME_RINVEXPIRY)
    registered_delivery: int = int_field(1)
    sm_default_msg_id: int = int_field(1)
    short_message: bytes = short_message()


@dataclass(frozen=True)
class ReplaceSmResp(Pdu):
    command_id = C.REPLACE_SM_RESP


@dataclass(frozen=True)
class AlertNotification(Pdu):
    """Has no response PDU (3.4 §4.12)."""
    command_id = C.ALERT_NOTIFICATION
    source_addr_ton: int = int_field(1)
    source_addr_npi: int = int_field(1)
    source_addr: str = cstr(65, S.ESME_RINVSRCADR)
    esme_addr_ton: int = int_field(1)
    esme_addr_npi: int = int_field(1)
    esme_addr: str = cstr(65, S.ESME_RINVDSTADR)


# --- SMPP 5.0 cell broadcast (5.0 §4.6) -----------------------------------------------

@dataclass(frozen=True)
class BroadcastSm(Pdu):
    command_id = C.BROADCAST_SM
    service_type: str = cstr(6, S.ESME_RINVSERTYP)
    source_addr_ton: int = int_field(1)
    source_addr_npi: int = int_field(1)
    source_addr: str = cstr(21, S.ESME_RINVSRCADR)
    message_id: str = cstr(65, S.ESME_RINVMSGID)
    priority_flag: int = int_field(1)
    schedule_delivery_time: str = time_str(S.ESME_RINVSCHED)
    validity_period: str = time_str(S.ESME_RINVEXPIRY)
    replace_if_present_flag: int = int_field(1)
    data_coding: int = int_field(1)
    sm_default_msg_id: int = int_field(1)


@dataclass(frozen=True)
class BroadcastSmResp(_MessageIdResp):
    command_id = C.BROADCAST_SM_RESP


@dataclass(frozen=True)
class QueryBroadcastSm(Pdu):
    command_id = C.QUERY_BROADCAST_SM
    message_id: str = cstr(65, S.ESME_RINVMSGID)
    source_addr_ton: int = int_field(1)
    source_addr_npi: int = int_field(1)
    source_addr: str = cstr(21, S.ESME_RINVSRCADR)


@dataclass(frozen=True)
class QueryBroadcastSmResp(_MessageIdResp):
    command_id = C.QUERY_BROADCAST_SM_RESP


@dataclass(frozen=True)
class CancelBroadcastSm(Pdu):
    command_id = C.CANCEL_BROADCAST_SM
    service_type: str = cstr(6, S.ESME_RINVSERTYP)
    message_id: str = cstr(65, S.ESME_RINVMSGID)
    source_addr_ton: int = int_field(1)
    source_addr_npi: int = int_field(1)
    source_addr: str = cstr(21, S.ESME_RINVSRCADR)


@dataclass(frozen=True)
class CancelBroadcastSmResp(Pdu):
    command_id = C.CANCEL_BROADCAST_SM_RESP


PDU_CLASSES: dict[int, type[Pdu]] = {
    cls.command_id: cls for cls in (
        BindTransmitter, BindReceiver, BindTransceiver,
        BindTransmitterResp, BindReceiverResp, BindTransceiverResp,
        Outbind, Unbind, UnbindResp, EnquireLink, EnquireLinkResp, GenericNack,
        SubmitSm, SubmitSmResp, DeliverSm, DeliverSmResp, SubmitMulti, SubmitMultiResp,
        DataSm, DataSmResp, QuerySm, QuerySmResp, CancelSm, CancelSmResp,
        ReplaceSm, ReplaceSmResp, AlertNotification,
        BroadcastSm, BroadcastSmResp, QueryBroadcastSm, QueryBroadcastSmResp,
        CancelBroadcastSm, CancelBroadcastSmResp,
    )
}

# The response class that answers each request id (generic_nack answers none).
RESPONSE_CLASS: dict[int, type[Pdu]] = {
    cid & 0x7FFFFFFF: cls for cid, cls in PDU_CLASSES.items()
    if cid & 0x80000000 and cls is not GenericNack
}
