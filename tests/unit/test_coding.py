"""data_coding values, the codec registry, and text encode/decode (smpp.md §6, §12)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smscd.smpp.coding import (
    DEFAULT_REGISTRY,
    LATIN1,
    CodingRegistry,
    DataCoding,
    TextEncodingError,
    UnsupportedCoding,
    alphabet_of,
    choose_coding,
    decode_text,
    encode_text,
    text_codec,
)
from smscd.smpp.status import CommandStatus

TEXT_CODINGS = [0x00, 0x01, 0x03, 0x05, 0x06, 0x07, 0x08, 0x0A, 0x0D, 0x0E]


def test_enum_values() -> None:
    """The wire values of SMPP 3.4 §5.2.19; a wrong one mislabels every message."""
    assert [int(d) for d in DataCoding] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0A, 0x0D, 0x0E]


@pytest.mark.parametrize("dcs, text, data", [
    (0x00, "Hi €", b"Hi \x1b\x65"),
    (0x01, "Hi {", b"Hi {"),
    (0x03, "café", b"caf\xe9"),
    (0x06, "Жж", "Жж".encode("iso8859-5")),
    (0x07, "שלום", "שלום".encode("iso8859-8")),
    (0x08, "é😀", b"\x00\xe9\xd8\x3d\xde\x00"),
    (0x0A, "あ", b"\x1b$B$\"\x1b(B"),
    (0x0E, "한", b"\xc7\xd1"),
    (0x05, "あ", b"\xa4\xa2"),
    (0x0D, "丂", b"\x8f\xb0\xa1"),  # a JIS X 0212 character
])
def test_default_codecs(dcs: int, text: str, data: bytes) -> None:
    """Each default mapping must produce the charset the spec names for its value."""
    assert encode_text(text, dcs) == data
    assert decode_text(data, dcs) == text


def test_ucs2_uses_surrogate_pairs() -> None:
    """Emoji travel as UTF-16 surrogate pairs (two units), as phones expect."""
    assert encode_text("😀", DataCoding.UCS2) == b"\xd8\x3d\xde\x00"


@pytest.mark.parametrize("data, text", [
    (b"\x00a\x00", "a\ufffd"),          # odd length
    (b"\xd8\x3d\x00a", "\ufffda"),      # lone high surrogate
    (b"\xde\x00", "\ufffd"),            # lone low surrogate
])
def test_ucs2_decode_tolerant(data: bytes, text: str) -> None:
    """Broken UTF-16 from a peer becomes U+FFFD instead of an exception."""
    assert decode_text(data, 0x08) == text


def test_encode_error_names_character() -> None:
    """RINVDCS with the character and its index, whatever the charset."""
    with pytest.raises(TextEncodingError) as info:
        encode_text("abcЖ", DataCoding.LATIN1)
    assert info.value.status == CommandStatus.ESME_RINVDCS
    assert (info.value.char, info.value.index) == ("Ж", 3)
    with pytest.raises(TextEncodingError) as info:
        encode_text("ok ç", 0x00)
    assert (info.value.char, info.value.index) == ("ç", 3)
    with pytest.raises(TextEncodingError):
        encode_text("\ud800", 0x08)  # a lone surrogate is not text


@pytest.mark.parametrize("dcs", [0x02, 0x04, 0x09, 0xF4, 0x14])
def test_binary_codings_refuse_text(dcs: int) -> None:
    """Text sent as 'binary' would reach the handset as whatever the bytes happen to be."""
    with pytest.raises(UnsupportedCoding) as info:
        encode_text("hello", dcs)
    assert info.value.status == CommandStatus.ESME_RINVDCS


@pytest.mark.parametrize("dcs", [0x0B, 0x0C, 0x0F, 0x80, 0xBF, 0x1C])
def test_reserved_codings(dcs: int) -> None:
    """Reserved values have no codec: encoding refuses, decoding still returns something."""
    with pytest.raises(UnsupportedCoding):
        encode_text("x", dcs)
    assert decode_text(b"\x00\xff", dcs) == "\x00\xff"


@pytest.mark.parametrize("dcs, alphabet", [
    (0x00, "gsm7"), (0x01, "octet"), (0x02, "octet"), (0x03, "octet"), (0x08, "ucs2"),
    (0x0E, "octet"), (0x0B, "reserved"),
    (0x10, "gsm7"), (0x11, "gsm7"), (0x14, "octet"), (0x18, "ucs2"), (0x1C, "reserved"),
    (0x20, "compressed"), (0x48, "ucs2"), (0x80, "reserved"),
    (0xC0, "gsm7"), (0xD7, "gsm7"), (0xE0, "ucs2"),
    (0xF0, "gsm7"), (0xF3, "gsm7"), (0xF4, "octet"), (0xF7, "octet"),
])
def test_alphabet_of(dcs: int, alphabet: str) -> None:
    """GSM 03.38 coding groups: flash GSM7 (0x10/0xF0), class UCS2 (0x18), 8-bit (0xF4)."""
    assert alphabet_of(dcs) == alphabet


def test_coding_groups_use_the_selected_codec() -> None:
    """An ESME sending flash (0x10 / 0xF0) or class-0 UCS2 (0x18) must still be understood."""
    assert encode_text("€", 0x10) == encode_text("€", 0xF0) == b"\x1b\x65"
    assert encode_text("€", 0x18) == b"\x20\xac"
    assert decode_text(b"\x1b\x65", 0xF1) == "€"


def test_with_coding_copies() -> None:
    """A per-connector override must not leak into the defaults or other connectors."""
    vendor = DEFAULT_REGISTRY.with_coding(0x00, LATIN1)
    assert encode_text("é", 0x00, vendor) == b"\xe9"
    assert encode_text("é", 0x00) == b"\x05"
    assert DEFAULT_REGISTRY.lookup(0x00) is not LATIN1
    sjis = vendor.with_coding(DataCoding.JIS, text_codec("shift_jis"))
    assert encode_text("あ", DataCoding.JIS, sjis) == "あ".encode("shift_jis")
    assert encode_text("é", 0x00, sjis) == b"\xe9"
    with pytest.raises(ValueError):
        CodingRegistry({256: LATIN1})


def test_choose_coding() -> None:
    """GSM when every character fits (cheaper), UCS2 otherwise."""
    assert choose_coding("Hello {€}") == 0
    assert choose_coding("") == 0
    assert choose_coding("ça") == 8
    assert choose_coding("😀") == 8


@given(st.binary(max_size=300), st.integers(0, 255))
def test_decode_never_raises(data: bytes, dcs: int) -> None:
    """Any octets under any data_coding decode to some text; MO must never crash on content."""
    assert isinstance(decode_text(data, dcs), str)


@given(st.text(max_size=200))
def test_ucs2_roundtrip(text: str) -> None:
    """UTF-16BE round-trips every string without lone surrogates."""
    try:
        data = encode_text(text, 0x08)
    except TextEncodingError:
        assert any(0xD800 <= ord(c) <= 0xDFFF for c in text)
        return
    assert decode_text(data, 0x08) == text


# Python's CJK codecs fold a few characters (yen and overline in EUC-JP, the Hangul
# filler in EUC-KR) and pass a raw ESC through ISO-2022-JP; those cannot round-trip.
NOT_ROUNDTRIP = "\xa5\u203e\u3164\x1b"
CJK_SAMPLE = "あいうアイウ漢字日本語한국어丂 az09"


@given(st.sampled_from(TEXT_CODINGS),
       st.text(alphabet=st.characters(exclude_characters=NOT_ROUNDTRIP), max_size=100)
       | st.text(alphabet=CJK_SAMPLE, max_size=100))
def test_text_codings_roundtrip_or_refuse(dcs: int, text: str) -> None:
    """Every text coding either round-trips a string or names a character it cannot carry."""
    try:
        data = encode_text(text, dcs)
    except TextEncodingError as err:
        assert text[err.index] == err.char
        return
    assert decode_text(data, dcs) == text
