# tests: tests/unit/test_tlv.py
"""Optional parameters (TLVs): the 3.4 and 5.0 tag table, declared once as data.

Rules:
- A known tag decodes to a typed value: int for integers, str for C-octet strings
  (without the NUL), bytes for octet strings. Its length is checked against the table
  (ESME_RINVPARLEN when wrong).
- An unknown or vendor tag keeps its raw value bytes, so re-encoding is byte-exact.
- A connector can extend the table with its vendor's TLVs (`TlvRegistry.extended`)
  without touching the standard one.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Mapping, Union

TlvValue = Union[int, str, bytes]


class TlvKind(Enum):
    INT = "int"        # big-endian unsigned, exactly `size` octets
    CSTR = "cstr"      # NUL-terminated text; min/max count the NUL
    OCTETS = "octets"  # raw bytes, min..max octets


@dataclass(frozen=True, slots=True)
class TlvSpec:
    tag: int
    name: str
    kind: TlvKind
    min_len: int
    max_len: int

    def size_ok(self, length: int) -> bool:
        return self.min_len <= length <= self.max_len


@dataclass(frozen=True, slots=True)
class Tlv:
    """One optional parameter; `name` is None for a tag the registry does not know."""
    tag: int
    value: TlvValue
    name: str | None = None


def _int(tag: int, name: str, size: int) -> TlvSpec:
    return TlvSpec(tag, name, TlvKind.INT, size, size)


def _cstr(tag: int, name: str, min_len: int, max_len: int) -> TlvSpec:
    return TlvSpec(tag, name, TlvKind.CSTR, min_len, max_len)


def _oct(tag: int, name: str, min_len: int, max_len: int) -> TlvSpec:
    return TlvSpec(tag, name, TlvKind.OCTETS, min_len, max_len)


# SMPP 3.4 §5.3.2 and 5.0 §4.8.4; sizes as in the reference checklist §4.
STANDARD_SPECS: tuple[TlvSpec, ...] = (
    _int(0x0005, "dest_addr_subunit", 1),
    _int(0x0006, "dest_network_type", 1),
    _int(0x0007, "dest_bearer_type", 1),
    _int(0x0008, "dest_telematics_id", 2),
    _int(0x000D, "source_addr_subunit", 1),
    _int(0x000E, "source_network_type", 1),
    _int(0x000F, "source_bearer_type", 1),
    _oct(0x0010, "source_telematics_id", 1, 2),   # 3.4 says Int 1, 5.0 implies Int 2
    _int(0x0017, "qos_time_to_live", 4),
    _int(0x0019, "payload_type", 1),
    _cstr(0x001D, "additional_status_info_text", 1, 256),
    _cstr(0x001E, "receipted_message_id", 1, 65),
    _int(0x0030, "ms_msg_wait_facilities", 1),
    _int(0x0201, "privacy_indicator", 1),
    _oct(0x0202, "source_subaddress", 2, 23),
    _oct(0x0203, "dest_subaddress", 2, 23),
    _int(0x0204, "user_message_reference", 2),
    _int(0x0205, "user_response_code", 1),
    _int(0x020A, "source_port", 2),
    _int(0x020B, "destination_port", 2),
    _int(0x020C, "sar_msg_ref_num", 2),
    _int(0x020D, "language_indicator", 1),
    _int(0x020E, "sar_total_segments", 1),
    _int(0x020F, "sar_segment_seqnum", 1),
    _int(0x0210, "sc_interface_version", 1),
    _int(0x0302, "callback_num_pres_ind", 1),
    _oct(0x0303, "callback_num_atag", 1, 65),
    _int(0x0304, "number_of_messages", 1),
    _oct(0x0381, "callback_num", 4, 19),
    _int(0x0420, "dpf_result", 1),
    _int(0x0421, "set_dpf", 1),
    _int(0x0422, "ms_availability_status", 1),
    _oct(0x0423, "network_error_code", 3, 3),
    _oct(0x0424, "message_payload", 0, 65535),
    _int(0x0425, "delivery_failure_reason", 1),
    _int(0x0426, "more_messages_to_send", 1),
    _int(0x0427, "message_state", 1),
    _int(0x0428, "congestion_state", 1),
    _oct(0x0501, "ussd_service_op", 1, 1),
    _int(0x0600, "broadcast_channel_indicator", 1),
    _oct(0x0601, "broadcast_content_type", 3, 3),
    _oct(0x0602, "broadcast_content_type_info", 0, 65535),
    _int(0x0603, "broadcast_message_class", 1),
    _int(0x0604, "broadcast_rep_num", 2),
    _oct(0x0605, "broadcast_frequency_interval", 3, 3),
    _oct(0x0606, "broadcast_area_identifier", 0, 65535),
    _int(0x0607, "broadcast_error_status", 4),
    _int(0x0608, "broadcast_area_success", 1),
    _cstr(0x0609, "broadcast_end_time", 1, 17),
    _oct(0x060A, "broadcast_service_group", 1, 255),
    _oct(0x060B, "billing_identification", 1, 1024),
    _cstr(0x060D, "source_network_id", 1, 65),
    _cstr(0x060E, "dest_network_id", 1, 65),
    _oct(0x060F, "source_node_id", 6, 6),
    _oct(0x0610, "dest_node_id", 6, 6),
    _int(0x0611, "dest_addr_np_resolution", 1),
    _oct(0x0612, "dest_addr_np_information", 10, 10),
    _oct(0x0613, "dest_addr_np_country", 1, 5),
    _int(0x1201, "display_time", 1),
    _int(0x1203, "sms_signal", 2),
    _oct(0x1204, "ms_validity", 1, 4),            # 5.0 allows 1 or 4 octets
    _oct(0x130C, "alert_on_message_delivery", 0, 1),
    _int(0x1380, "its_reply_type", 1),
    _oct(0x1383, "its_session_info", 2, 2),
)


class TlvRegistry:
    """Tag <-> spec lookups; immutable, so a shared instance is safe."""

    def __init__(self, specs: tuple[TlvSpec, ...]) -> None:
        by_tag: dict[int, TlvSpec] = {}
        by_name: dict[str, TlvSpec] = {}
        for spec in specs:
            if spec.tag in by_tag or spec.name in by_name:
                raise ValueError(f"duplicate TLV {spec.name} (0x{spec.tag:04X})")
            by_tag[spec.tag] = spec
            by_name[spec.name] = spec
        self._specs = specs
        self.by_tag: Mapping[int, TlvSpec] = MappingProxyType(by_tag)
        self.by_name: Mapping[str, TlvSpec] = MappingProxyType(by_name)

    def extended(self, *specs: TlvSpec) -> TlvRegistry:
        """A new registry with a vendor's extra TLVs (for one connector)."""
        return TlvRegistry(self._specs + specs)

    def make(self, name: str, value: TlvValue) -> Tlv:
        """Build a known TLV by name; raises KeyError for a name not in the table."""
        return Tlv(self.by_name[name].tag, value, name)


STANDARD_TLVS = TlvRegistry(STANDARD_SPECS)


def vendor_spec(tag: int, name: str, kind: TlvKind, min_len: int, max_len: int) -> TlvSpec:
    """Describe a vendor TLV for `TlvRegistry.extended`; vendor tags are 0x1400-0x3FFF."""
    if not 0x1400 <= tag <= 0x3FFF:
        raise ValueError(f"vendor TLV tag 0x{tag:04X} outside 0x1400-0x3FFF")
    if kind is TlvKind.INT and not 1 <= min_len == max_len:
        # An int is re-encoded on max_len octets: a variable size would not round-trip.
        raise ValueError(f"vendor TLV {name}: an INT has one size; use OCTETS for {min_len}"
                         f"..{max_len} octets")
    return TlvSpec(tag, name, kind, min_len, max_len)


def tlvs(**values: TlvValue) -> tuple[Tlv, ...]:
    """Standard TLVs by name, for building PDUs: `tlvs(message_payload=b"...")`."""
    return tuple(STANDARD_TLVS.make(name, value) for name, value in values.items())
