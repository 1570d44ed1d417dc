"""Hypothesis strategies for every SMPP PDU class, written from the spec, not from pdu.py.

Field tables below are transcribed from the 3.4/5.0 PDU layouts (shared/reference/smpp.md
§3), so a wrong size in the schema shows up as an encode error or a round-trip mismatch
instead of being mirrored by the test. Values are always valid: C-octet strings of Latin-1
characters without NUL within their maximum (which counts the NUL), time strings empty or
16 well-formed characters, integers within their width, short_message at most 254 octets.
TLVs are a mix of known tags with typed values and unknown or vendor tags with raw bytes.
Responses with a non-zero command_status keep their body at its defaults: 3.4 §4 says the
body is not returned then, and the encoder leaves it out.
"""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from smscd.smpp import pdu as P
from smscd.smpp.tlv import STANDARD_SPECS, STANDARD_TLVS, Tlv, TlvKind, TlvSpec

Strategy = st.SearchStrategy[Any]

LATIN1_NO_NUL = st.characters(min_codepoint=1, max_codepoint=255)


def c_octet(size: int) -> st.SearchStrategy[str]:
    """Cn: at most n - 1 characters plus the NUL."""
    return st.text(LATIN1_NO_NUL, max_size=size - 1)


def int_of(octets: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=(1 << (8 * octets)) - 1)


@st.composite
def smpp_time(draw: Any) -> str:
    """YYMMDDhhmmsstnnp (3.4 §7.1.1): absolute with +/- offset, or relative (R)."""
    kind = draw(st.sampled_from("+-R"))
    yy = draw(st.integers(0, 99))
    mo = draw(st.integers(0 if kind == "R" else 1, 12))
    dd = draw(st.integers(0 if kind == "R" else 1, 28))
    hh, mm, ss = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    t, nn = (0, 0) if kind == "R" else (draw(st.integers(0, 9)), draw(st.integers(0, 48)))
    return f"{yy:02}{mo:02}{dd:02}{hh:02}{mm:02}{ss:02}{t}{nn:02}{kind}"


TIME = st.one_of(st.just(""), smpp_time())
I1, I2, I4 = int_of(1), int_of(2), int_of(4)
SHORT_MESSAGE = st.binary(max_size=254)
SEQUENCE = st.integers(min_value=1, max_value=0x7FFFFFFF)

# --- TLVs -----------------------------------------------------------------------------

OCTETS_CAP = 300  # keep examples small; message_payload may be 64 KiB on the wire


def tlv_value(spec: TlvSpec) -> Strategy:
    if spec.kind is TlvKind.INT:
        return int_of(spec.max_len)
    if spec.kind is TlvKind.CSTR:   # sizes count the NUL
        return st.text(LATIN1_NO_NUL, min_size=max(spec.min_len - 1, 0),
                       max_size=spec.max_len - 1)
    return st.binary(min_size=spec.min_len, max_size=min(spec.max_len, OCTETS_CAP))


def known_tlv(specs: tuple[TlvSpec, ...] = STANDARD_SPECS) -> st.SearchStrategy[Tlv]:
    return st.sampled_from(specs).flatmap(
        lambda spec: tlv_value(spec).map(lambda v: Tlv(spec.tag, v, spec.name)))


def unknown_tlv(lo: int = 0, hi: int = 0xFFFF) -> st.SearchStrategy[Tlv]:
    """A tag the standard registry does not know, kept as raw bytes."""
    tags = st.integers(lo, hi).filter(lambda t: t not in STANDARD_TLVS.by_tag)
    return st.builds(Tlv, tags, st.binary(max_size=40))


VENDOR_TLV = unknown_tlv(0x1400, 0x3FFF)
ANY_TLV = st.one_of(known_tlv(), unknown_tlv(), VENDOR_TLV)
TLVS = st.lists(ANY_TLV, max_size=4).map(tuple)

# --- mandatory bodies, transcribed from the spec ---------------------------------------

BIND = {
    "system_id": c_octet(16), "password": c_octet(9), "system_type": c_octet(13),
    "interface_version": I1, "addr_ton": I1, "addr_npi": I1, "address_range": c_octet(41),
}
BIND_RESP = {"system_id": c_octet(16)}
MESSAGE_ID_RESP = {"message_id": c_octet(65)}
SHORT_MESSAGE_BODY = {   # submit_sm and deliver_sm (3.4 §4.4.1, §4.6.1)
    "service_type": c_octet(6),
    "source_addr_ton": I1, "source_addr_npi": I1, "source_addr": c_octet(21),
    "dest_addr_ton": I1, "dest_addr_npi": I1, "destination_addr": c_octet(21),
    "esm_class": I1, "protocol_id": I1, "priority_flag": I1,
    "schedule_delivery_time": TIME, "validity_period": TIME,
    "registered_delivery": I1, "replace_if_present_flag": I1, "data_coding": I1,
    "sm_default_msg_id": I1, "short_message": SHORT_MESSAGE,
}
SME_ADDRESS = st.builds(P.SmeAddress, I1, I1, c_octet(21))
DISTRIBUTION_LIST = st.builds(P.DistributionList, c_octet(21))
UNSUCCESS_SME = st.builds(P.UnsuccessSme, I1, I1, c_octet(21), I4)
SUBMIT_MULTI_BODY = {   # 3.4 §4.5.1: number_of_dests and dest_address(es) replace the dest
    "service_type": c_octet(6),
    "source_addr_ton": I1, "source_addr_npi": I1, "source_addr": c_octet(21),
    "dest_addresses": st.lists(st.one_of(SME_ADDRESS, DISTRIBUTION_LIST), min_size=1,
                               max_size=8).map(tuple),
    **{k: v for k, v in list(SHORT_MESSAGE_BODY.items())[7:]},   # esm_class .. short_message
}
HEADER_ONLY: dict[str, Strategy] = {}

BODIES: dict[type[P.Pdu], dict[str, Strategy]] = {
    P.BindTransmitter: BIND, P.BindReceiver: BIND, P.BindTransceiver: BIND,
    P.BindTransmitterResp: BIND_RESP, P.BindReceiverResp: BIND_RESP,
    P.BindTransceiverResp: BIND_RESP,
    P.Outbind: {"system_id": c_octet(16), "password": c_octet(9)},
    P.Unbind: HEADER_ONLY, P.UnbindResp: HEADER_ONLY,
    P.EnquireLink: HEADER_ONLY, P.EnquireLinkResp: HEADER_ONLY, P.GenericNack: HEADER_ONLY,
    P.SubmitSm: SHORT_MESSAGE_BODY, P.DeliverSm: SHORT_MESSAGE_BODY,
    P.SubmitSmResp: MESSAGE_ID_RESP, P.DeliverSmResp: MESSAGE_ID_RESP,
    P.SubmitMulti: SUBMIT_MULTI_BODY,
    P.SubmitMultiResp: {"message_id": c_octet(65),
                        "unsuccess_smes": st.lists(UNSUCCESS_SME, max_size=6).map(tuple)},
    P.DataSm: {
        "service_type": c_octet(6),
        "source_addr_ton": I1, "source_addr_npi": I1, "source_addr": c_octet(65),
        "dest_addr_ton": I1, "dest_addr_npi": I1, "destination_addr": c_octet(65),
        "esm_class": I1, "registered_delivery": I1, "data_coding": I1,
    },
    P.DataSmResp: MESSAGE_ID_RESP,
    P.QuerySm: {"message_id": c_octet(65), "source_addr_ton": I1, "source_addr_npi": I1,
                "source_addr": c_octet(21)},
    P.QuerySmResp: {"message_id": c_octet(65), "final_date": TIME, "message_state": I1,
                    "error_code": I1},
    P.CancelSm: {
        "service_type": c_octet(6), "message_id": c_octet(65),
        "source_addr_ton": I1, "source_addr_npi": I1, "source_addr": c_octet(21),
        "dest_addr_ton": I1, "dest_addr_npi": I1, "destination_addr": c_octet(21),
    },
    P.CancelSmResp: HEADER_ONLY,
    P.ReplaceSm: {
        "message_id": c_octet(65), "source_addr_ton": I1, "source_addr_npi": I1,
        "source_addr": c_octet(21), "schedule_delivery_time": TIME, "validity_period": TIME,
        "registered_delivery": I1, "sm_default_msg_id": I1, "short_message": SHORT_MESSAGE,
    },
    P.ReplaceSmResp: HEADER_ONLY,
    P.AlertNotification: {
        "source_addr_ton": I1, "source_addr_npi": I1, "source_addr": c_octet(65),
        "esme_addr_ton": I1, "esme_addr_npi": I1, "esme_addr": c_octet(65),
    },
    P.BroadcastSm: {
        "service_type": c_octet(6), "source_addr_ton": I1, "source_addr_npi": I1,
        "source_addr": c_octet(21), "message_id": c_octet(65), "priority_flag": I1,
        "schedule_delivery_time": TIME, "validity_period": TIME,
        "replace_if_present_flag": I1, "data_coding": I1, "sm_default_msg_id": I1,
    },
    P.BroadcastSmResp: MESSAGE_ID_RESP,
    P.QueryBroadcastSm: {"message_id": c_octet(65), "source_addr_ton": I1,
                         "source_addr_npi": I1, "source_addr": c_octet(21)},
    P.QueryBroadcastSmResp: MESSAGE_ID_RESP,
    P.CancelBroadcastSm: {"service_type": c_octet(6), "message_id": c_octet(65),
                          "source_addr_ton": I1, "source_addr_npi": I1,
                          "source_addr": c_octet(21)},
    P.CancelBroadcastSmResp: HEADER_ONLY,
}


def is_response(cls: type[P.Pdu]) -> bool:
    return bool(cls.command_id & 0x80000000)


@st.composite
def pdu_of(draw: Any, cls: type[P.Pdu], tlvs: Strategy = TLVS) -> P.Pdu:
    """A valid instance of `cls` with every body field drawn."""
    # 3.4 §3.2: requests carry status 0; responses may carry any value, even undefined ones.
    status = draw(st.one_of(st.just(0), I4)) if is_response(cls) else 0
    body = {} if status else {name: draw(s) for name, s in BODIES[cls].items()}
    return cls(command_status=status, sequence_number=draw(SEQUENCE), tlvs=draw(tlvs), **body)


PDU_STRATEGIES: dict[type[P.Pdu], st.SearchStrategy[P.Pdu]] = {
    cls: pdu_of(cls) for cls in BODIES
}


def pdus() -> st.SearchStrategy[P.Pdu]:
    """Any PDU of any class."""
    return st.one_of(*PDU_STRATEGIES.values())


# Named strategies for tests that want one kind.
submit_sm = PDU_STRATEGIES[P.SubmitSm]
deliver_sm = PDU_STRATEGIES[P.DeliverSm]
submit_multi = PDU_STRATEGIES[P.SubmitMulti]
submit_multi_resp = PDU_STRATEGIES[P.SubmitMultiResp]
data_sm = PDU_STRATEGIES[P.DataSm]
