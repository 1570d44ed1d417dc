# tests: tests/unit/test_split.py
"""Long-message segmentation: exact part counts and the parts (3GPP TS 23.040 §9.2.3.24).

Rules:
1. Limits come from the 140-octet TP-UD: a single message holds 160 septets, 140 octets
   or 70 UCS2 units; with a U-octet concatenation header a part holds what is left
   (U=6: 153/134/67, U=7: 152/133/66). Septet limits are the same packed or unpacked.
2. SAR parts use the 8-bit-reference UDH limits: an SMSC turns sar_* TLVs into a
   6-octet UDH towards the network, so a SAR part must fit beside one. PAYLOAD counts
   the parts the SMSC will make the same way.
3. A cut never separates an ESC from its code, nor the two halves of a surrogate pair,
   nor the octets of one character in multi-octet charsets (EUC, ISO-2022).
4. A message that fits in one segment is one Part without UDH or SAR. More parts than
   `max_parts` raise TooManyParts (ESME_RINVMSGLEN); nothing is silently dropped.
5. GSM text is sent unpacked unless `gsm_packed`; when packed, the septets after a UDH
   start after its fill bits.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
import random
from typing import Callable

from .coding import DEFAULT_REGISTRY, Codec, CodingRegistry, Unit, UnsupportedCoding
from .errors import SmppError
from .gsm7 import gsm7_pack, udh_fill_bits
from .status import CommandStatus

TP_UD_OCTETS = 140
MAX_PAYLOAD_OCTETS = 0xFFFF  # message_payload TLV length is 16 bits
_SINGLE_LIMIT: dict[Unit, int] = {"gsm7": 160, "octet": 140, "ucs2": 70}
_OCTETS_PER_UNIT: dict[Unit, int] = {"gsm7": 1, "octet": 1, "ucs2": 2}


class SplitMethod(Enum):
    """How the parts of a long message are tied together on the wire."""

    UDH8 = "udh8"        # IEI 0x00: 05 00 03 RR TT SS
    UDH16 = "udh16"      # IEI 0x08: 06 08 04 RR RR TT SS
    SAR = "sar"          # sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLVs
    PAYLOAD = "payload"  # one PDU, the whole message in message_payload


_UDH_OCTETS = {SplitMethod.UDH8: 6, SplitMethod.UDH16: 7, SplitMethod.SAR: 6,
               SplitMethod.PAYLOAD: 6}
_REF_LIMIT = {SplitMethod.UDH8: 0xFF, SplitMethod.UDH16: 0xFFFF, SplitMethod.SAR: 0xFFFF,
              SplitMethod.PAYLOAD: 0xFFFF}


class TooManyParts(SmppError):
    """The message needs more parts than allowed; answered with ESME_RINVMSGLEN."""

    def __init__(self, needed: int, maximum: int) -> None:
        super().__init__(f"message needs {needed} parts, the maximum is {maximum}",
                         CommandStatus.ESME_RINVMSGLEN)
        self.needed = needed
        self.maximum = maximum


@dataclass(frozen=True, slots=True)
class Part:
    """One submit's worth of message: set esm_class 0x40 when `udhi`, the sar_* TLVs
    from `sar` (ref, total, seq), and put `short_message` in message_payload when
    `in_payload`."""

    short_message: bytes
    udhi: bool = False
    sar: tuple[int, int, int] | None = None
    in_payload: bool = False


@dataclass(frozen=True, slots=True)
class SegmentPlan:
    """What a message costs: `units` in `unit`, against the single and per-part limits."""

    unit: Unit
    units: int
    single_limit: int
    part_limit: int
    parts: int


def part_limit(unit: Unit, method: SplitMethod) -> int:
    """Units per part beside the method's concatenation header (rule 1, rule 2)."""
    room = TP_UD_OCTETS - _UDH_OCTETS[method]
    if unit == "gsm7":
        return (8 * room) // 7  # fill bits never cost a whole septet here
    return room // _OCTETS_PER_UNIT[unit]


def _units(data: bytes, unit: Unit) -> int:
    return (len(data) + 1) // 2 if unit == "ucs2" else len(data)


def _byte_chunks(data: bytes, unit: Unit, limit: int) -> list[bytes]:
    """Cut encoded octets into parts of at most `limit` units (rule 3)."""
    step = limit * _OCTETS_PER_UNIT[unit]
    chunks: list[bytes] = []
    pos, size = 0, len(data)
    while pos < size:
        end = pos + step
        if end >= size:
            end = size
        elif unit == "gsm7":
            chunk = data[pos:end]
            if (len(chunk) - len(chunk.rstrip(b"\x1b"))) % 2:
                end -= 1  # an odd run of ESC at the end: the last one starts a pair
        elif unit == "ucs2" and 0xD8 <= data[end - 2] <= 0xDB and 0xDC <= data[end] <= 0xDF:
            end -= 2  # high surrogate whose low half would start the next part
        chunks.append(data[pos:end])
        pos = end
    return chunks


def _char_chunks(text: str, encode: Callable[[str], bytes], limit: int,
                 name: str) -> list[bytes]:
    """Cut between characters for charsets whose octets cannot be cut blindly (rule 3).

    Each part is encoded on its own, so stateful charsets (ISO-2022) start and end
    every part in their initial state. Binary search per part: O(limit log limit).
    """
    chunks: list[bytes] = []
    pos, size = 0, len(text)
    while pos < size:
        # Every character costs at least one octet, so a part holds at most `limit`.
        best = encode(text[pos:pos + limit])
        count = min(limit, size - pos)
        if len(best) > limit:
            lo, hi = 0, count - 1
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if len(encode(text[pos:pos + mid])) <= limit:
                    lo = mid
                else:
                    hi = mid - 1
            if lo == 0:
                raise UnsupportedCoding(
                    f"character at index {pos} does not fit in one part of {name}")
            count = lo
            best = encode(text[pos:pos + count])
        chunks.append(best)
        pos += count
    return chunks


def _text_codec(data_coding: int,
                registry: CodingRegistry) -> tuple[Codec, Callable[[str], bytes]]:
    codec = registry.codec_for(data_coding)
    if codec.encode is None:
        raise UnsupportedCoding(
            f"data_coding 0x{data_coding:02X} is {codec.name}: split octets, not text")
    return codec, codec.encode


def _bodies(content: str | bytes, data_coding: int, method: SplitMethod,
            registry: CodingRegistry) -> tuple[Unit, int, list[bytes]]:
    """(unit, units of the whole message, part bodies); one body when it fits unsplit."""
    encode: Callable[[str], bytes] | None = None
    if isinstance(content, str):
        codec, encode = _text_codec(data_coding, registry)
        data = encode(content)  # validates every character before any cutting
    else:
        codec = registry.codec_for(data_coding)
        data = content
    unit = codec.unit
    units = _units(data, unit)
    if units <= _SINGLE_LIMIT[unit]:
        return unit, units, [data]
    limit = part_limit(unit, method)
    if isinstance(content, str) and encode is not None and not codec.byte_cuttable:
        return unit, units, _char_chunks(content, encode, limit, codec.name)
    return unit, units, _byte_chunks(data, unit, limit)


def segment_plan(content: str | bytes, data_coding: int,
                 method: SplitMethod = SplitMethod.UDH8, *,
                 registry: CodingRegistry = DEFAULT_REGISTRY) -> SegmentPlan:
    """Units used, limits and exact part count; `bytes` content is already encoded."""
    unit, units, bodies = _bodies(content, data_coding, method, registry)
    return SegmentPlan(unit, units, _SINGLE_LIMIT[unit], part_limit(unit, method), len(bodies))


def count_parts(content: str | bytes, data_coding: int,
                method: SplitMethod = SplitMethod.UDH8, *,
                registry: CodingRegistry = DEFAULT_REGISTRY) -> int:
    """Network segments the message costs (for PAYLOAD: the ones the SMSC will make)."""
    return len(_bodies(content, data_coding, method, registry)[2])


def _udh(method: SplitMethod, reference: int, total: int, seq: int) -> bytes:
    if method is SplitMethod.UDH8:
        return bytes((5, 0x00, 3, reference, total, seq))
    return bytes((6, 0x08, 4, reference >> 8, reference & 0xFF, total, seq))


def _packed(body: bytes, unit: Unit, gsm_packed: bool, udh_length: int = 0) -> bytes:
    if gsm_packed and unit == "gsm7":
        return gsm7_pack(body, udh_fill_bits(udh_length))
    return body


def _assemble(unit: Unit, bodies: list[bytes], method: SplitMethod, reference: int,
              max_parts: int, gsm_packed: bool) -> list[Part]:
    if not 1 <= max_parts <= 255:
        raise ValueError(f"max_parts must be 1..255, not {max_parts}")
    if not 0 <= reference <= _REF_LIMIT[method]:
        raise ValueError(f"reference {reference} out of range for {method.name}")
    total = len(bodies)
    if total > max_parts:
        raise TooManyParts(total, max_parts)
    if total == 1:
        return [Part(_packed(bodies[0], unit, gsm_packed))]
    if method is SplitMethod.PAYLOAD:
        payload = _packed(b"".join(bodies), unit, gsm_packed)
        if len(payload) > MAX_PAYLOAD_OCTETS:
            raise SmppError(f"message_payload of {len(payload)} octets exceeds"
                            f" {MAX_PAYLOAD_OCTETS}", CommandStatus.ESME_RINVMSGLEN)
        return [Part(payload, in_payload=True)]
    if method is SplitMethod.SAR:
        return [Part(_packed(body, unit, gsm_packed), sar=(reference, total, seq))
                for seq, body in enumerate(bodies, 1)]
    parts = []
    for seq, body in enumerate(bodies, 1):
        udh = _udh(method, reference, total, seq)
        parts.append(Part(udh + _packed(body, unit, gsm_packed, len(udh)), udhi=True))
    return parts


def split_text(text: str, data_coding: int, method: SplitMethod, reference: int,
               max_parts: int = 255, *, registry: CodingRegistry = DEFAULT_REGISTRY,
               gsm_packed: bool = False) -> list[Part]:
    """Encode `text` for `data_coding` and cut it into Parts (rules 3-5).

    Raises TextEncodingError / UnsupportedCoding (ESME_RINVDCS) or TooManyParts.
    """
    unit, _, bodies = _bodies(text, data_coding, method, registry)
    return _assemble(unit, bodies, method, reference, max_parts, gsm_packed)


def split_bytes(data: bytes, data_coding: int, method: SplitMethod, reference: int,
                max_parts: int = 255, *, registry: CodingRegistry = DEFAULT_REGISTRY,
                gsm_packed: bool = False) -> list[Part]:
    """Cut already-encoded octets (binary, or unpacked GSM / UTF-16BE) into Parts.

    Cuts respect ESC and surrogate pairs by the coding's unit; for multi-octet
    charsets use split_text, which cuts between characters.
    """
    unit, _, bodies = _bodies(data, data_coding, method, registry)
    return _assemble(unit, bodies, method, reference, max_parts, gsm_packed)


class ReferenceAllocator:
    """Concatenation references rotating per destination, with bounded memory.

    A handset reassembles by (originator, reference), so references only need to
    differ between recent long messages to the same destination. 8-bit references
    run 1..255, 16-bit 1..65535, then wrap. At most `capacity` destinations are
    remembered (least recently used forgotten first). Pass `rng` to start a new
    destination at a random reference, so a restart does not reuse the same ones.
    """

    def __init__(self, bits: int = 8, capacity: int = 100_000,
                 rng: random.Random | None = None) -> None:
        if bits not in (8, 16):
            raise ValueError(f"bits must be 8 or 16, not {bits}")
        if capacity < 1:
            raise ValueError(f"capacity must be positive, not {capacity}")
        self._top = (1 << bits) - 1
        self._capacity = capacity
        self._rng = rng
        self._last: OrderedDict[str, int] = OrderedDict()

    @classmethod
    def for_method(cls, method: SplitMethod, capacity: int = 100_000,
                   rng: random.Random | None = None) -> ReferenceAllocator:
        """8-bit references for UDH8, 16-bit for UDH16 and SAR (sar_msg_ref_num is 2 octets)."""
        return cls(8 if method is SplitMethod.UDH8 else 16, capacity, rng)

    def next(self, destination: str) -> int:
        """The reference for the next long message to `destination`. O(1)."""
        last = self._last.pop(destination, None)
        if last is None:
            ref = self._rng.randint(1, self._top) if self._rng is not None else 1
            if len(self._last) >= self._capacity:
                self._last.popitem(last=False)
        else:
            ref = last % self._top + 1
        self._last[destination] = ref
        return ref

    def __len__(self) -> int:
        return len(self._last)
