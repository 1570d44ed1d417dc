"""GSM 03.38 alphabet, extension table and 7-bit packing (smpp.md §12)."""
from __future__ import annotations

import timeit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smscd.smpp.errors import SmppError
from smscd.smpp.gsm7 import (
    GSM7_BASE,
    GSM7_EXTENSION,
    TextEncodingError,
    gsm7_decode,
    gsm7_encode,
    gsm7_fits,
    gsm7_pack,
    gsm7_septets,
    gsm7_unpack,
    udh_fill_bits,
)
from smscd.smpp.status import CommandStatus

GSM_CHARS = [c for i, c in enumerate(GSM7_BASE) if i != 0x1B] + list(GSM7_EXTENSION.values())
gsm_text = st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=400)
septet_strings = st.binary(max_size=300).map(lambda b: bytes(x & 0x7F for x in b))


def reference_decode(data: bytes) -> str:
    """Byte-at-a-time decoder written straight from 23.038 §6.2.1.1, to check the fast one."""
    out, i = [], 0
    while i < len(data):
        b = data[i]
        if b == 0x1B:
            if i + 1 == len(data):
                out.append(" ")
                break
            code = data[i + 1]
            if code in GSM7_EXTENSION:
                out.append(GSM7_EXTENSION[code])
            elif code == 0x1B:
                out.append(" ")
            else:
                out.append(GSM7_BASE[code] if code < 0x80 else "\ufffd")
            i += 2
        else:
            out.append(GSM7_BASE[b] if b < 0x80 else "\ufffd")
            i += 1
    return "".join(out)


def test_table_landmarks() -> None:
    """The code points smpp.md calls out (and smpplib gets wrong at 0x5F) must be exact."""
    assert gsm7_encode("@$_¤§¿") == bytes([0x00, 0x02, 0x11, 0x24, 0x5F, 0x60])
    assert len(GSM7_BASE) == 128
    assert gsm7_encode("Δ") == b"\x10" and gsm7_encode("à") == b"\x7f"


def test_extension_chars_are_escaped() -> None:
    """Each extension character must be ESC + its code; a wrong code garbles braces and €."""
    for code, char in GSM7_EXTENSION.items():
        assert gsm7_encode(char) == bytes([0x1B, code])
    assert gsm7_encode("€") == b"\x1b\x65"
    assert gsm7_encode("\x0c") == b"\x1b\x0a"


def test_unencodable_names_first_char_and_index() -> None:
    """Operators need the offending character and its position, with ESME_RINVDCS."""
    with pytest.raises(TextEncodingError) as info:
        gsm7_encode("abc€`dç")
    err = info.value
    assert isinstance(err, SmppError)
    assert err.status == CommandStatus.ESME_RINVDCS
    assert (err.char, err.index) == ("`", 4)
    assert "'`'" in str(err) and "index 4" in str(err)


@pytest.mark.parametrize("text, index", [
    ("é\x00", 1), ("a\x00", 1), ("\x1b", 0), ("ΔΔç", 2), ("ab`", 2), ("x\tz", 1), ("😀", 0),
])
def test_non_characters_are_rejected(text: str, index: int) -> None:
    """NUL would alias '@' and a raw ESC would forge an escape: both must be refused."""
    with pytest.raises(TextEncodingError) as info:
        gsm7_encode(text)
    assert info.value.index == index


@given(gsm_text)
def test_roundtrip(text: str) -> None:
    """Every encodable text must decode back to itself, on the ASCII and non-ASCII paths."""
    data = gsm7_encode(text)
    assert data.isascii()
    assert gsm7_decode(data) == text


@given(gsm_text)
def test_septets_count_escapes_twice(text: str) -> None:
    """Length checks rely on extension characters costing two septets."""
    ext = sum(text.count(c) for c in GSM7_EXTENSION.values())
    assert gsm7_septets(text) == len(text) + ext == len(gsm7_encode(text))


def test_fits() -> None:
    """choose_coding relies on gsm7_fits to pick 0 or 8."""
    assert gsm7_fits("Hello {world} €5 @home")
    assert gsm7_fits("")
    assert not gsm7_fits("naïve")  # ï is not in the table
    assert not gsm7_fits("`")


@given(st.binary(max_size=500))
def test_decode_never_raises_and_matches_reference(data: bytes) -> None:
    """Inbound garbage must never raise, and must decode as 23.038's fallback rules say."""
    assert gsm7_decode(data) == reference_decode(data)


@pytest.mark.parametrize("data, text", [
    (b"\x1b\x41", "A"),          # ESC + undefined code: base character
    (b"\x1b\x1bA", " A"),        # SS2: displayed as space
    (b"A\x1b", "A "),            # trailing lone ESC: space
    (b"\x1b\x0d", "\r"),         # CR2 falls back to CR
    (b"\x1b\x1b\x1b\x28", " {"),  # SS2 then an escaped brace
    (b"\x80\xff", "\ufffd\ufffd"),
])
def test_decode_fallbacks(data: bytes, text: str) -> None:
    """23.038 §6.2.1.1 fallbacks; a wrong choice shows junk or drops characters."""
    assert gsm7_decode(data) == text


def test_pack_vectors() -> None:
    """smpp.md §12 vectors: a bit-order error would make every packed SMS unreadable."""
    assert gsm7_pack(gsm7_encode("hello")) == bytes.fromhex("E8329BFD06")
    assert gsm7_pack(gsm7_encode("Hello world")) == bytes.fromhex("C8329BFD06DDDF723619")
    assert len(gsm7_pack(bytes(160))) == 140
    assert gsm7_unpack(bytes.fromhex("C8329BFD06DDDF723619"), 11) == gsm7_encode("Hello world")


def test_fill_bits() -> None:
    """23.040: after a UDH of U octets the septets start on a septet boundary."""
    assert udh_fill_bits(6) == 1
    assert udh_fill_bits(7) == 0
    assert [udh_fill_bits(u) for u in range(8)] == [0, 6, 5, 4, 3, 2, 1, 0]
    # 6-octet UDH + 1 fill bit + 153 septets is exactly 140 octets.
    assert 6 + len(gsm7_pack(bytes(153), udh_fill_bits(6))) == 140


@given(septet_strings, st.integers(0, 6))
def test_pack_matches_bitstream_definition(septets: bytes, fill: int) -> None:
    """Septet i occupies stream bits fill+7i..fill+7i+6, LSB first, in the fewest octets."""
    packed = gsm7_pack(septets, fill)
    assert len(packed) == (fill + 7 * len(septets) + 7) // 8
    expected = sum(s << (fill + 7 * i) for i, s in enumerate(septets))
    assert int.from_bytes(packed, "little") == expected
    assert gsm7_unpack(packed, len(septets), fill) == septets


@given(st.binary(max_size=200), st.integers(0, 400), st.integers(0, 6))
def test_unpack_is_tolerant(data: bytes, count: int, fill: int) -> None:
    """A count larger than the data holds must give what is there, not raise."""
    out = gsm7_unpack(data, count, fill)
    assert len(out) <= count and out.isascii()


def test_pack_rejects_non_septets() -> None:
    """Octets above 0x7F are not septets; silently masking them would corrupt text."""
    with pytest.raises(ValueError):
        gsm7_pack(b"\x80")
    with pytest.raises(ValueError):
        gsm7_pack(b"a", 7)


def test_encode_is_fast() -> None:
    """160-character encodes stay in the low microseconds (loose bound: shared CI hosts)."""
    texts = [("Hello world, a plain message. " * 6)[:160],
             ("héllo wörld ñ à è Δ " * 9)[:160],
             ("price {5} € [x] ~ " * 9)[:160]]
    for text in texts:
        per_call = min(timeit.repeat(lambda: gsm7_encode(text), number=2000, repeat=5)) / 2000
        assert per_call < 25e-6, (text[:20], per_call)
