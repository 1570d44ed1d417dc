# tests: tests/unit/test_coding.py
"""data_coding values (SMPP 3.4 §5.2.19, 3GPP TS 23.038 §4) and the text codecs behind them.

Rules:
1. A CodingRegistry maps a data_coding octet to a Codec and is immutable: a connector
   that needs "DCS 0 means Latin-1" gets its own registry from `with_coding`, and every
   other connector keeps the defaults.
2. Values without an entry fall back on the alphabet their GSM 03.38 bits select
   (`alphabet_of`): 7-bit -> GSM 03.38, 8-bit -> binary, UCS2 -> UTF-16BE. Reserved
   values have no codec; encoding for them raises UnsupportedCoding (ESME_RINVDCS).
3. encode_text is strict (TextEncodingError, ESME_RINVDCS, naming the character) and
   refuses binary codings; decode_text never raises (U+FFFD for what cannot be decoded;
   binary and reserved codings decode octet-for-character as Latin-1 so nothing is lost).
4. A codec's `unit` is what the network limits count: 'gsm7' septets (one per octet of
   the unpacked encoding), 'octet', or 'ucs2' 16-bit code units (a surrogate pair is two).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Callable, Literal, Mapping

from .errors import SmppError
from .gsm7 import TextEncodingError, gsm7_decode, gsm7_encode, gsm7_fits
from .status import CommandStatus

__all__ = [
    "Alphabet", "Codec", "CodingRegistry", "DataCoding", "DEFAULT_REGISTRY",
    "TextEncodingError", "Unit", "UnsupportedCoding", "alphabet_of", "choose_coding",
    "decode_text", "encode_text", "text_codec",
]

Unit = Literal["gsm7", "octet", "ucs2"]
Alphabet = Literal["gsm7", "octet", "ucs2", "compressed", "reserved"]


class DataCoding(IntEnum):
    """SMPP 3.4 §5.2.19 data_coding values (0x0B, 0x0C, 0x0F-0xBF are reserved there)."""

    SMSC_DEFAULT = 0x00
    IA5 = 0x01
    BINARY = 0x02
    LATIN1 = 0x03
    BINARY_8BIT = 0x04
    JIS = 0x05
    CYRILLIC = 0x06
    HEBREW = 0x07
    UCS2 = 0x08
    PICTOGRAM = 0x09
    ISO2022JP = 0x0A
    KANJI = 0x0D
    KSC5601 = 0x0E


class UnsupportedCoding(SmppError):
    """No text codec for this data_coding (binary or reserved); answered with ESME_RINVDCS."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, CommandStatus.ESME_RINVDCS)


@dataclass(frozen=True, slots=True)
class Codec:
    """How one data_coding turns text into octets and how its length is counted.

    `encode` is None for binary codings: the text API refuses them and bytes pass
    through. `decode` must never raise. `byte_cuttable` says the splitter may cut the
    encoded octets (respecting ESC pairs for 'gsm7' and surrogate pairs for 'ucs2');
    when False (multi-octet or stateful charsets) it cuts between characters instead.
    """

    name: str
    unit: Unit
    encode: Callable[[str], bytes] | None
    decode: Callable[[bytes], str]
    byte_cuttable: bool = True

    @property
    def is_text(self) -> bool:
        return self.encode is not None


def text_codec(python_codec: str, unit: Unit = "octet", *,
               byte_cuttable: bool = False, name: str | None = None) -> Codec:
    """A Codec over a Python codec: strict encode naming the character, 'replace' decode.

    `byte_cuttable` defaults to False, which is always correct (character-wise cuts);
    pass True only for single-octet charsets, where it is also faster.
    """
    label = name or python_codec

    def encode(text: str) -> bytes:
        try:
            return text.encode(python_codec)
        except UnicodeEncodeError as exc:
            raise TextEncodingError(text[exc.start], exc.start, label) from None

    def decode(data: bytes) -> str:
        return data.decode(python_codec, "replace")

    return Codec(label, unit, encode, decode, byte_cuttable)


def _latin1_view(data: bytes) -> str:
    return data.decode("latin-1")


GSM7 = Codec("GSM 03.38", "gsm7", gsm7_encode, gsm7_decode)
IA5 = text_codec("ascii", byte_cuttable=True, name="IA5/ASCII")
LATIN1 = text_codec("latin-1", byte_cuttable=True, name="Latin-1")
CYRILLIC = text_codec("iso8859-5", byte_cuttable=True, name="ISO-8859-5")
HEBREW = text_codec("iso8859-8", byte_cuttable=True, name="ISO-8859-8")
# UTF-16BE rather than strict UCS-2: phones send and expect surrogate pairs for emoji.
UCS2 = text_codec("utf-16-be", "ucs2", byte_cuttable=True, name="UCS-2/UTF-16BE")
# JIS X 0208 has no Python codec of its own. EUC-JP carries X 0208 as the same row/cell
# octets with the high bit set (plus ASCII), so it is the closest byte-for-byte
# relative; 'iso2022_jp' would add escape sequences, and 'shift_jis' remaps the octets.
# A vendor that means Shift_JIS here overrides it with `with_coding`.
JIS = text_codec("euc_jp", name="JIS X 0208 (as EUC-JP)")
ISO2022JP = text_codec("iso2022_jp", name="ISO-2022-JP")
# Python's EUC-JP also carries JIS X 0212 (after SS3, 0x8F), which is what 0x0D names;
# euc_jis_2004 would be X 0213, a different set.
KANJI = text_codec("euc_jp", name="JIS X 0212 (as EUC-JP)")
KSC5601 = text_codec("euc_kr", name="KS C 5601 (EUC-KR)")
BINARY = Codec("binary", "octet", None, _latin1_view)


def alphabet_of(data_coding: int) -> Alphabet:
    """Alphabet that limits length for this data_coding (SMPP 3.4 §5.2.19, 23.038 §4).

    SMPP's own values 0x00-0x0E come first: only 0x00 is septets and 0x08 UCS2, the
    rest travel as octets (IA5 counts 140 octets: carriers convert it differently).
    Above that the GSM coding-group bits decide.
    """
    if not 0 <= data_coding <= 0xFF:
        raise ValueError(f"data_coding is one octet, not {data_coding}")
    if data_coding == DataCoding.SMSC_DEFAULT:
        return "gsm7"
    if data_coding == DataCoding.UCS2:
        return "ucs2"
    if data_coding in (0x0B, 0x0C, 0x0F):
        return "reserved"
    if data_coding <= 0x0E:
        return "octet"
    group = data_coding >> 4
    if group <= 0x7:  # 00xx general / 01xx automatic deletion: bit 5 compressed, bits 3-2 alphabet
        if data_coding & 0x20:
            return "compressed"
        return _GENERAL_ALPHABET[(data_coding >> 2) & 0x3]
    if group in (0xC, 0xD):  # message waiting indication, discard / store: GSM 7-bit
        return "gsm7"
    if group == 0xE:  # message waiting indication, store, UCS2 (23.038 §4)
        return "ucs2"
    if group == 0xF:  # message class: bit 2 selects 7-bit or 8-bit
        return "octet" if data_coding & 0x04 else "gsm7"
    return "reserved"  # 0x80-0xBF


_GENERAL_ALPHABET: tuple[Alphabet, ...] = ("gsm7", "octet", "ucs2", "reserved")
_BY_ALPHABET: Mapping[Alphabet, Codec] = {
    "gsm7": GSM7, "octet": BINARY, "ucs2": UCS2, "compressed": BINARY,
}


class CodingRegistry:
    """data_coding -> Codec, immutable; see rule 1 and rule 2."""

    __slots__ = ("_codecs",)

    def __init__(self, codecs: Mapping[int, Codec] | None = None) -> None:
        self._codecs: dict[int, Codec] = dict(codecs or {})
        for dcs in self._codecs:
            if not 0 <= dcs <= 0xFF:
                raise ValueError(f"data_coding is one octet, not {dcs}")

    def with_coding(self, data_coding: int, codec: Codec) -> CodingRegistry:
        """A new registry where `data_coding` means `codec`; this one is unchanged."""
        return CodingRegistry({**self._codecs, data_coding: codec})

    def lookup(self, data_coding: int) -> Codec | None:
        """The registered codec, else the one its alphabet selects, else None (reserved)."""
        codec = self._codecs.get(data_coding)
        if codec is not None:
            return codec
        return _BY_ALPHABET.get(alphabet_of(data_coding))

    def codec_for(self, data_coding: int) -> Codec:
        """Like lookup, but a reserved value raises UnsupportedCoding (ESME_RINVDCS)."""
        codec = self.lookup(data_coding)
        if codec is None:
            raise UnsupportedCoding(f"data_coding 0x{data_coding:02X} is reserved")
        return codec

    def __repr__(self) -> str:
        items = ", ".join(f"0x{k:02X}: {v.name}" for k, v in sorted(self._codecs.items()))
        return f"CodingRegistry({{{items}}})"


DEFAULT_REGISTRY = CodingRegistry({
    DataCoding.SMSC_DEFAULT: GSM7,
    DataCoding.IA5: IA5,
    DataCoding.BINARY: BINARY,
    DataCoding.LATIN1: LATIN1,
    DataCoding.BINARY_8BIT: BINARY,
    DataCoding.JIS: JIS,
    DataCoding.CYRILLIC: CYRILLIC,
    DataCoding.HEBREW: HEBREW,
    DataCoding.UCS2: UCS2,
    DataCoding.ISO2022JP: ISO2022JP,
    DataCoding.KANJI: KANJI,
    DataCoding.KSC5601: KSC5601,
    # 0x09 (pictogram) is vendor-specific: it falls back to octets, i.e. binary.
})


def encode_text(text: str, data_coding: int,
                registry: CodingRegistry = DEFAULT_REGISTRY) -> bytes:
    """Text to short_message octets; raises TextEncodingError or UnsupportedCoding."""
    codec = registry.codec_for(data_coding)
    if codec.encode is None:
        raise UnsupportedCoding(
            f"data_coding 0x{data_coding:02X} is {codec.name}: send octets, not text")
    return codec.encode(text)


def decode_text(data: bytes, data_coding: int,
                registry: CodingRegistry = DEFAULT_REGISTRY) -> str:
    """short_message octets to text; never raises (rule 3)."""
    codec = registry.lookup(data_coding & 0xFF)
    if codec is None:
        return _latin1_view(data)
    return codec.decode(data)


def choose_coding(text: str) -> int:
    """0 (GSM 03.38) when every character fits, else 8 (UCS2): the cheapest faithful choice."""
    return DataCoding.SMSC_DEFAULT if gsm7_fits(text) else DataCoding.UCS2
