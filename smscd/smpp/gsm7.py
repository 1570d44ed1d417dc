# tests: tests/unit/test_gsm7.py
"""GSM 03.38 default alphabet (3GPP TS 23.038 §6.2.1) and 7-bit packing (§6.1.2.1).

Rules:
1. "Unpacked" means one septet per octet, high bit clear: what SMPP carries for DCS 0
   by default. Packing is a separate, explicit step (`gsm7_pack`/`gsm7_unpack`).
2. Encoding is strict: a character outside the base and extension tables raises
   TextEncodingError (ESME_RINVDCS) naming the first such character and its index.
   No silent '?' substitution; lossy mapping, if wanted, is the caller's choice.
3. Decoding is tolerant and never raises: octets above 0x7F become U+FFFD, an ESC
   followed by an undefined code decodes as the base-table character for that code,
   ESC ESC (SS2) and a trailing lone ESC decode as a space (23.038 §6.2.1.1 note).
4. Extension characters cost two septets (ESC 0x1B + code); the encoder never emits
   a lone ESC, so every 0x1B in its output starts a pair.
5. No per-character Python loops on the hot paths: encoding is C charmap work plus one
   str.replace per extension character present; packing is done on one big integer.
"""
from __future__ import annotations

import codecs
from functools import lru_cache

from .errors import SmppError
from .status import CommandStatus

ESC = 0x1B

# 23.038 §6.2.1, indexed by septet value; index 0x1B is the escape, never a character.
GSM7_BASE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# 23.038 §6.2.1.1: code after ESC -> character. 0x0D (CR2) and 0x1B (SS2) are controls
# with no character of their own and are handled by the decoder's fallback rules.
GSM7_EXTENSION = {
    0x0A: "\x0c",  # form feed (page break)
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_EXT_CHARS = frozenset(GSM7_EXTENSION.values())
_ENCODABLE = frozenset(GSM7_BASE) - {"\x1b"} | _EXT_CHARS

# charmap_build only yields the fast C EncodingMap when table[0] is U+0000, so the
# encoder first rewrites '@' (septet 0) to NUL, after rejecting any real NUL in the text.
# ESC stays mapped so that extension characters can be rewritten to "\x1b" + base char.
_ENCODING_MAP = codecs.charmap_build("\x00" + GSM7_BASE[1:] + "\ufffe" * 128)
# Extension character -> the two characters that the map above turns into ESC + code.
_EXT_REWRITE = tuple((ch, "\x1b" + GSM7_BASE[code]) for code, ch in GSM7_EXTENSION.items())

# ASCII text takes a bytes.translate path: base characters map to their septet,
# extension characters to a marker 0x80 + k (later replaced by ESC + code), and
# everything else (backtick, controls other than LF/CR/FF) to 0xFF.
_ASCII_BAD = b"\xff"


def _ascii_tables() -> tuple[bytes, tuple[tuple[bytes, bytes], ...]]:
    table = bytearray(_ASCII_BAD * 256)
    pairs = []
    for septet, char in enumerate(GSM7_BASE):
        if septet != ESC and char.isascii():
            table[ord(char)] = septet
    for k, (code, char) in enumerate(sorted(GSM7_EXTENSION.items())):
        if char.isascii():
            table[ord(char)] = 0x80 + k
            pairs.append((bytes((0x80 + k,)), bytes((ESC, code))))
    return bytes(table), tuple(pairs)


_ASCII_TABLE, _ASCII_EXT_PAIRS = _ascii_tables()

_DECODING_TABLE = GSM7_BASE + "\ufffd" * 128
_EXT_UNREWRITE = tuple((rewrite, char) for char, rewrite in _EXT_REWRITE)


class TextEncodingError(SmppError):
    """Text holds a character the data_coding cannot carry; answered with ESME_RINVDCS."""

    def __init__(self, char: str, index: int, encoding: str) -> None:
        super().__init__(
            f"character {char!r} (U+{ord(char):04X}) at index {index} cannot be encoded"
            f" in {encoding}",
            CommandStatus.ESME_RINVDCS,
        )
        self.char = char
        self.index = index
        self.encoding = encoding


def _first_unencodable(text: str) -> TextEncodingError:
    """Error path only: find the first offending character in the caller's text."""
    index = next(i for i, char in enumerate(text) if char not in _ENCODABLE)
    return TextEncodingError(text[index], index, "GSM 03.38")


def gsm7_encode(text: str) -> bytes:
    """Unpacked GSM 03.38 septets; extension characters become ESC + code (rule 2, 4)."""
    if text.isascii():
        out = text.encode("ascii").translate(_ASCII_TABLE)
        if out.isascii():
            return out
        if _ASCII_BAD in out:
            raise _first_unencodable(text)
        for marker, pair in _ASCII_EXT_PAIRS:
            if marker in out:
                out = out.replace(marker, pair)
        return out
    if "\x00" in text or "\x1b" in text:
        raise _first_unencodable(text)
    work = text.replace("@", "\x00") if "@" in text else text
    for char, rewrite in _EXT_REWRITE:
        if char in work:
            work = work.replace(char, rewrite)
    try:
        return codecs.charmap_encode(work, "strict", _ENCODING_MAP)[0]
    except UnicodeEncodeError:
        raise _first_unencodable(text) from None


def gsm7_decode(data: bytes) -> str:
    """Unpacked septets to text; never raises (rule 3)."""
    text: str = codecs.charmap_decode(data, "strict", _DECODING_TABLE)[0]
    if "\x1b" not in text:
        return text
    # The table maps only octet 0x1B to "\x1b", so each ESC below came from the wire.
    # Left to right: ESC ESC (SS2) first, then the defined pairs; any ESC left over is
    # followed by an undefined code, whose base character (already decoded) stands.
    if "\x1b\x1b" in text:
        text = text.replace("\x1b\x1b", " ")
    for pair, char in _EXT_UNREWRITE:
        if pair in text:
            text = text.replace(pair, char)
    if text.endswith("\x1b"):
        text = text[:-1] + " "
    return text.replace("\x1b", "")


def gsm7_septets(text: str) -> int:
    """Septets the text costs: extension characters count two. Raises like gsm7_encode."""
    return len(gsm7_encode(text))


def gsm7_fits(text: str) -> bool:
    """True when every character is in the GSM 03.38 base or extension table."""
    try:
        gsm7_encode(text)
    except TextEncodingError:
        return False
    return True


def udh_fill_bits(udh_length: int) -> int:
    """23.040 §9.2.3.24: zero bits after a U-octet UDH so the text starts on a septet boundary."""
    return (7 - (8 * udh_length) % 7) % 7


@lru_cache(maxsize=128)
def _lane_mask(pattern: bytes, length: int) -> int:
    """`pattern` repeated over `length` octets, as an integer; cached per message size."""
    return int.from_bytes(pattern * (length // len(pattern)), "little")


def gsm7_pack(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets LSB-first (23.038 §6.1.2.1) after `fill_bits` zero bits.

    The result is what follows the UDH in TP-UD: ceil((fill_bits + 7n) / 8) octets.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, not {fill_bits}")
    if not septets.isascii():
        raise ValueError("septets must be 0x00..0x7F")
    count = len(septets)
    if count == 0:
        return b"\x00" if fill_bits else b""
    length = count + (-count) % 8
    x = int.from_bytes(septets, "little")
    # Squeeze the spare bit out of every octet in three doubling steps: 8-bit lanes
    # holding 7 bits -> 16-bit lanes holding 14 -> 32/28 -> 64/56.
    x = (x & _lane_mask(b"\x7f\x00", length)) | ((x & _lane_mask(b"\x00\x7f", length)) >> 1)
    x = (x & _lane_mask(b"\xff\x3f\x00\x00", length)) | (
        (x & _lane_mask(b"\x00\x00\xff\x3f", length)) >> 2
    )
    x = (x & _lane_mask(b"\xff\xff\xff\x0f\x00\x00\x00\x00", length)) | (
        (x & _lane_mask(b"\x00\x00\x00\x00\xff\xff\xff\x0f", length)) >> 4
    )
    lanes = bytearray(x.to_bytes(length, "little"))
    del lanes[7::8]  # each 64-bit lane now carries 56 bits in its low 7 octets
    size = (fill_bits + 7 * count + 7) // 8
    if fill_bits:
        return (int.from_bytes(lanes, "little") << fill_bits).to_bytes(size, "little")
    return bytes(lanes[:size])


def gsm7_unpack(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """Inverse of gsm7_pack: `count` septets found after `fill_bits` bits.

    Tolerant like the decoder: if `data` is too short for `count`, returns the septets
    it holds. With a packed SMPP body the caller must know `count`: octet lengths cannot
    tell 7 trailing zero bits from a final '@'.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, not {fill_bits}")
    if count < 0:
        raise ValueError(f"count must not be negative, not {count}")
    count = min(count, (8 * len(data) - fill_bits) // 7) if data else 0
    if count <= 0:
        return b""
    groups = (count + 7) // 8
    stream = int.from_bytes(data, "little") >> fill_bits
    stream &= (1 << (7 * count)) - 1
    src = stream.to_bytes(7 * groups, "little")
    lanes = bytearray(8 * groups)
    for i in range(7):  # spread every 7 octets into a 64-bit lane
        lanes[i::8] = src[i::7]
    length = 8 * groups
    x = int.from_bytes(lanes, "little")
    x = (x & _lane_mask(b"\xff\xff\xff\x0f\x00\x00\x00\x00", length)) | (
        (x & _lane_mask(b"\x00\x00\x00\xf0\xff\xff\xff\x00", length)) << 4
    )
    x = (x & _lane_mask(b"\xff\x3f\x00\x00", length)) | (
        (x & _lane_mask(b"\x00\xc0\xff\x0f", length)) << 2
    )
    x = (x & _lane_mask(b"\x7f\x00", length)) | ((x & _lane_mask(b"\x80\x3f", length)) << 1)
    return x.to_bytes(length, "little")[:count]
