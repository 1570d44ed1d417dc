"""Long-message segmentation: counts, limits, UDH/SAR/payload parts, references (smpp.md §12)."""
from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smscd.smpp.coding import TextEncodingError, UnsupportedCoding, decode_text
from smscd.smpp.gsm7 import GSM7_BASE, GSM7_EXTENSION, gsm7_pack, udh_fill_bits
from smscd.smpp.reassembly import Reassembler, concat_of
from smscd.smpp.split import (
    Part,
    ReferenceAllocator,
    SplitMethod,
    TooManyParts,
    count_parts,
    part_limit,
    segment_plan,
    split_bytes,
    split_text,
)
from smscd.smpp.status import CommandStatus

UDH8, UDH16, SAR, PAYLOAD = (SplitMethod.UDH8, SplitMethod.UDH16, SplitMethod.SAR,
                             SplitMethod.PAYLOAD)
GSM_CHARS = [c for i, c in enumerate(GSM7_BASE) if i != 0x1B] + list(GSM7_EXTENSION.values())

gsm_texts = st.text(alphabet=st.sampled_from(GSM_CHARS) | st.sampled_from("€{}[]"),
                    max_size=1000)
ucs2_texts = st.text(alphabet=st.sampled_from("ab é😀👍🏽中") | st.characters(
    exclude_categories=["Cs"]), max_size=400)
latin1_texts = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=600)
cjk_texts = st.text(alphabet="あいうアイウ漢字日本語 az09", max_size=300)
korean_texts = st.text(alphabet="한국어 az09", max_size=300)

CASES = st.one_of(
    st.tuples(st.just(0x00), gsm_texts),
    st.tuples(st.just(0x08), ucs2_texts),
    st.tuples(st.just(0x03), latin1_texts),
    st.tuples(st.just(0x0A), cjk_texts),
    st.tuples(st.just(0x05), cjk_texts),
    st.tuples(st.just(0x0E), korean_texts),
)


def tp_ud_octets(part: Part, unit: str) -> int:
    """Octets this part occupies in the 140-octet TP-UD once the SMSC sends it."""
    if part.udhi:
        udh_len = 1 + part.short_message[0]
        body = len(part.short_message) - udh_len
    else:
        udh_len = 6 if part.sar else 0  # the SMSC turns SAR into a 6-octet UDH
        body = len(part.short_message)
    if unit == "gsm7":
        return udh_len + (udh_fill_bits(udh_len) + 7 * body + 7) // 8
    return udh_len + body


def reassemble(parts: list[Part], seed: int) -> bytes:
    """Feed parts (shuffled, one duplicated) through concat_of + Reassembler."""
    if len(parts) == 1 and not parts[0].udhi and parts[0].sar is None:
        return parts[0].short_message
    order = list(parts) + [parts[0]]
    random.Random(seed).shuffle(order)
    reasm = Reassembler()
    done = []
    for part in order:
        info = concat_of(0x40 if part.udhi else 0x00, part.short_message, part.sar)
        assert info is not None
        result = reasm.add(("conn", "src", "dst"), info.ref, info.total, info.seq,
                           info.body, now=0.0)
        if result is not None:
            done.append(result.body)
    assert len(done) == 1 and len(reasm) == 0
    return done[0]


@pytest.mark.parametrize("unit, method, limit", [
    ("gsm7", UDH8, 153), ("gsm7", UDH16, 152), ("gsm7", SAR, 153),
    ("octet", UDH8, 134), ("octet", UDH16, 133), ("octet", SAR, 134),
    ("ucs2", UDH8, 67), ("ucs2", UDH16, 66), ("ucs2", SAR, 67),
])
def test_part_limits(unit: str, method: SplitMethod, limit: int) -> None:
    """smpp.md §12 length table; one off and every long message is rejected or truncated."""
    assert part_limit(unit, method) == limit  # type: ignore[arg-type]


@pytest.mark.parametrize("text, dcs, method, parts", [
    ("a" * 160, 0, UDH8, 1),
    ("a" * 161, 0, UDH8, 2),
    ("a" * 306, 0, UDH8, 2),
    ("a" * 307, 0, UDH8, 3),
    ("a" * 304, 0, UDH16, 2),
    ("a" * 305, 0, UDH16, 3),
    ("a" * 159 + "€", 0, UDH8, 2),     # € costs 2: 161 septets
    ("a" * 158 + "€", 0, UDH8, 1),     # exactly 160
    ("€" * 80, 0, UDH8, 1),
    ("€" * 81, 0, UDH8, 2),            # 162 septets; 76 pairs (152) per part
    ("€" * 153, 0, UDH8, 3),           # 306 septets but pairs cannot fill odd limits
    ("é" * 70, 8, UDH8, 1),
    ("é" * 71, 8, UDH8, 2),
    ("é" * 134, 8, UDH8, 2),
    ("é" * 135, 8, UDH8, 3),
    ("😀" * 35, 8, UDH8, 1),           # 70 units
    ("😀" * 36, 8, UDH8, 2),
    ("é" * 140, 3, UDH8, 1),
    ("é" * 141, 3, UDH8, 2),
    ("é" * 268, 3, UDH8, 2),
    ("é" * 269, 3, UDH8, 3),
    ("é" * 266, 3, UDH16, 2),
    ("é" * 267, 3, UDH16, 3),
    ("a" * 307, 0, SAR, 3),
    ("a" * 307, 0, PAYLOAD, 3),
    ("", 0, UDH8, 1),
])
def test_boundary_counts(text: str, dcs: int, method: SplitMethod, parts: int) -> None:
    """Exact part counts at every boundary; customers are billed per part."""
    assert count_parts(text, dcs, method) == parts
    got = split_text(text, dcs, method, 7)
    assert len(got) == (1 if method is PAYLOAD else parts)


def test_segment_plan() -> None:
    """Units and limits reported for UI/billing match the splitter."""
    plan = segment_plan("a" * 159 + "€", 0)
    assert (plan.unit, plan.units, plan.single_limit, plan.part_limit, plan.parts) == (
        "gsm7", 161, 160, 153, 2)
    plan = segment_plan("😀a", 8, UDH16)
    assert (plan.unit, plan.units, plan.single_limit, plan.part_limit, plan.parts) == (
        "ucs2", 3, 70, 66, 1)
    assert segment_plan(bytes(141), 0x04).parts == 2


def test_single_part_has_no_header() -> None:
    """A message that fits must go out plain: a needless UDH costs 7 characters."""
    for method in SplitMethod:
        assert split_text("hello", 0, method, 9) == [Part(b"hello")]


def test_udh8_layout() -> None:
    """IEI 0x00 header is 05 00 03 ref total seq and sets UDHI."""
    parts = split_text("a" * 200, 0, UDH8, 0xAB)
    assert [p.short_message[:6] for p in parts] == [bytes.fromhex("050003AB0201"),
                                                     bytes.fromhex("050003AB0202")]
    assert all(p.udhi and p.sar is None and not p.in_payload for p in parts)
    assert parts[0].short_message[6:] == b"a" * 153
    assert parts[1].short_message[6:] == b"a" * 47


def test_udh16_layout() -> None:
    """IEI 0x08 header is 06 08 04 ref-hi ref-lo total seq."""
    parts = split_text("a" * 200, 0, UDH16, 0x1234)
    assert parts[0].short_message[:7] == bytes.fromhex("06080412340201")
    assert parts[1].short_message[:7] == bytes.fromhex("06080412340202")
    assert len(parts[0].short_message) == 7 + 152


def test_sar_parts() -> None:
    """SAR parts carry (ref, total, seq) and no UDH, with the 8-bit-UDH limit."""
    parts = split_text("a" * 307, 0, SAR, 0x1234)
    assert [p.sar for p in parts] == [(0x1234, 3, 1), (0x1234, 3, 2), (0x1234, 3, 3)]
    assert [len(p.short_message) for p in parts] == [153, 153, 1]
    assert not any(p.udhi for p in parts)


def test_payload_is_one_part() -> None:
    """message_payload carries the whole message in one PDU."""
    parts = split_text("€" * 300, 0, PAYLOAD, 1)
    assert parts == [Part(b"\x1b\x65" * 300, in_payload=True)]


def test_esc_pair_never_split_at_boundary() -> None:
    """ESC at the last position would be orphaned: the part ends one septet early."""
    parts = split_text("a" * 152 + "€" + "b" * 10, 0, UDH8, 1)
    assert parts[0].short_message[6:] == b"a" * 152
    assert parts[1].short_message[6:8] == b"\x1b\x65"


def test_surrogate_pair_never_split_at_boundary() -> None:
    """A cut between surrogates leaves two U+FFFD on the handset."""
    parts = split_text("a" * 66 + "😀" + "b" * 10, 8, UDH8, 1)
    assert len(parts[0].short_message) == 6 + 66 * 2
    assert parts[1].short_message[6:10] == b"\xd8\x3d\xde\x00"


def test_multibyte_charset_cut_between_characters() -> None:
    """EUC-KR and ISO-2022-JP parts must each decode on their own (no half characters)."""
    for dcs, text in ((0x0E, "한국어" * 60), (0x0A, "あい" * 80 + "abc" + "漢字" * 40)):
        parts = split_text(text, dcs, UDH8, 1)
        assert len(parts) > 1
        bodies = [p.short_message[6:] for p in parts]
        assert all(len(b) <= 134 for b in bodies)
        assert "".join(decode_text(b, dcs) for b in bodies) == text


def test_too_many_parts() -> None:
    """Beyond max_parts we refuse with RINVMSGLEN and say why, instead of truncating."""
    with pytest.raises(TooManyParts) as info:
        split_text("a" * 154 * 5, 0, UDH8, 1, max_parts=5)
    assert info.value.status == CommandStatus.ESME_RINVMSGLEN
    assert "6 parts" in str(info.value) and "maximum is 5" in str(info.value)
    assert (info.value.needed, info.value.maximum) == (6, 5)
    assert len(split_text("a" * 153 * 5, 0, UDH8, 1, max_parts=5)) == 5
    with pytest.raises(TooManyParts):
        split_text("a" * 153 * 256, 0, UDH8, 1)
    with pytest.raises(TooManyParts):
        split_text("a" * 153 * 6, 0, PAYLOAD, 1, max_parts=5)


def test_bad_arguments() -> None:
    """Out-of-range references cannot be encoded in the header: fail loudly."""
    with pytest.raises(ValueError):
        split_text("a" * 200, 0, UDH8, 256)
    with pytest.raises(ValueError):
        split_text("a" * 200, 0, UDH16, 65536)
    with pytest.raises(ValueError):
        split_text("a", 0, UDH8, 1, max_parts=256)


def test_text_errors_propagate() -> None:
    """Unencodable text and binary codings are refused with RINVDCS before any split."""
    with pytest.raises(TextEncodingError):
        split_text("a" * 200 + "ç", 0, UDH8, 1)
    with pytest.raises(UnsupportedCoding):
        split_text("hello", 0x04, UDH8, 1)


def test_packed_gsm() -> None:
    """Packed: 160 septets in 140 octets; after a 6-octet UDH, 1 fill bit then 153 septets."""
    single = split_text("a" * 160, 0, UDH8, 1, gsm_packed=True)
    assert len(single) == 1 and len(single[0].short_message) == 140
    parts = split_text("a" * 307, 0, UDH8, 1, gsm_packed=True)
    assert [len(p.short_message) for p in parts] == [140, 140, 6 + 1]
    assert parts[0].short_message[6:] == gsm7_pack(b"a" * 153, 1)
    parts16 = split_text("a" * 305, 0, UDH16, 1, gsm_packed=True)
    assert [len(p.short_message) for p in parts16] == [140, 140, 7 + 1]
    # packing applies to GSM only; UCS2 is unchanged
    assert split_text("é", 8, UDH8, 1, gsm_packed=True) == [Part(b"\x00\xe9")]


def test_split_bytes_binary() -> None:
    """Binary payloads split at 134 (UDH8) / 133 (UDH16) octets, reassembled exactly."""
    data = bytes(range(256)) * 2
    parts = split_bytes(data, 0x04, UDH8, 3)
    assert [len(p.short_message) for p in parts] == [140, 140, 140, 6 + 512 - 3 * 134]
    assert reassemble(parts, 0) == data
    assert [len(p.short_message) for p in split_bytes(data, 0xF5, UDH16, 3)][0] == 140


def test_split_bytes_respects_pairs() -> None:
    """Pre-encoded GSM and UTF-16 keep their ESC / surrogate pairs whole too."""
    gsm = b"a" * 152 + b"\x1b\x65" + b"b" * 10
    assert split_bytes(gsm, 0, UDH8, 1)[1].short_message[6:] == b"\x1b\x65" + b"b" * 10
    ucs2 = b"\x00a" * 66 + b"\xd8\x3d\xde\x00" + b"\x00b" * 10
    assert split_bytes(ucs2, 8, UDH8, 1)[1].short_message[6:8] == b"\xd8\x3d"


@given(CASES, st.sampled_from(list(SplitMethod)), st.integers(0, 255), st.integers(0, 99))
def test_split_then_reassemble(case: tuple[int, str], method: SplitMethod, ref: int,
                               seed: int) -> None:
    """For every coding and method, the parts reassemble (in any order) to the text."""
    dcs, text = case
    parts = split_text(text, dcs, method, ref)
    assert len(parts) == (1 if method is PAYLOAD else count_parts(text, dcs, method))
    assert decode_text(reassemble(parts, seed), dcs) == text


@given(CASES, st.sampled_from([UDH8, UDH16, SAR]))
def test_parts_fit_140_octets(case: tuple[int, str], method: SplitMethod) -> None:
    """No part exceeds the 140-octet TP-UD, UDH included (SAR: the UDH the SMSC adds)."""
    dcs, text = case
    unit = segment_plan(text, dcs, method).unit
    for part in split_text(text, dcs, method, 1):
        assert tp_ud_octets(part, unit) <= 140
        assert len(part.short_message) <= 254  # sm_length limit in 3.4


@given(gsm_texts, st.sampled_from([UDH8, UDH16, SAR]))
def test_esc_pairs_never_split(text: str, method: SplitMethod) -> None:
    """Every part body decodes to a whole slice of the text: no orphaned ESC anywhere."""
    parts = split_text(text, 0, method, 1)
    bodies = [p.short_message[1 + p.short_message[0]:] if p.udhi else p.short_message
              for p in parts]
    assert all((len(b) - len(b.rstrip(b"\x1b"))) % 2 == 0 for b in bodies)
    assert "".join(decode_text(b, 0) for b in bodies) == text


@given(ucs2_texts, st.sampled_from([UDH8, UDH16, SAR]))
def test_surrogate_pairs_never_split(text: str, method: SplitMethod) -> None:
    """Every UCS2 part decodes on its own to a slice of the text."""
    parts = split_text(text, 8, method, 1)
    bodies = [p.short_message[1 + p.short_message[0]:] if p.udhi else p.short_message
              for p in parts]
    assert "".join(decode_text(b, 8) for b in bodies) == text


@given(gsm_texts, st.sampled_from([UDH8, UDH16]))
def test_packed_matches_unpacked_cuts(text: str, method: SplitMethod) -> None:
    """Packed parts are exactly the unpacked parts' septets packed after the UDH fill bits."""
    plain = split_text(text, 0, method, 5)
    packed = split_text(text, 0, method, 5, gsm_packed=True)
    assert len(plain) == len(packed)
    for a, b in zip(plain, packed):
        udh_len = 1 + a.short_message[0] if a.udhi else 0
        assert b.short_message == (a.short_message[:udh_len] + gsm7_pack(
            a.short_message[udh_len:], udh_fill_bits(udh_len)))


def test_reference_allocator_rotates_per_destination() -> None:
    """Two long messages to one handset in a row must not share a reference."""
    refs = ReferenceAllocator()
    assert [refs.next("A") for _ in range(3)] == [1, 2, 3]
    assert refs.next("B") == 1
    assert refs.next("A") == 4


def test_reference_allocator_wraps() -> None:
    """8-bit refs wrap 255 -> 1 and 16-bit 65535 -> 1 (0 is never handed out)."""
    eight = ReferenceAllocator(bits=8)
    assert [eight.next("A") for _ in range(256)][-2:] == [255, 1]
    sixteen = ReferenceAllocator.for_method(SplitMethod.UDH16)
    seen = [sixteen.next("A") for _ in range(65536)]
    assert seen[-2:] == [65535, 1] and min(seen) == 1
    assert ReferenceAllocator.for_method(SplitMethod.UDH8).next("x") == 1


def test_reference_allocator_bounded() -> None:
    """Memory is bounded: the least recently used destination is forgotten first."""
    refs = ReferenceAllocator(capacity=2)
    refs.next("A")
    refs.next("B")
    refs.next("A")
    refs.next("C")  # evicts B, the least recently used
    assert len(refs) == 2
    assert refs.next("A") == 3
    assert refs.next("B") == 1


def test_reference_allocator_random_start() -> None:
    """With an rng a new destination starts at a random reference (restart safety)."""
    refs = ReferenceAllocator(bits=8, rng=random.Random(4))
    first = refs.next("A")
    assert 1 <= first <= 255
    assert refs.next("A") == first % 255 + 1
