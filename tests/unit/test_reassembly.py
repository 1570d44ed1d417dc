"""Inbound multipart: UDH parsing, concatenation detection and the bounded Reassembler."""
from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smscd.smpp.errors import InvalidPdu
from smscd.smpp.reassembly import (
    Completed,
    ConcatInfo,
    Expired,
    Reassembler,
    concat_of,
    parse_udh,
)
from smscd.smpp.status import CommandStatus

KEY = ("conn", "447700900001", "447700900002")


def test_parse_udh() -> None:
    """IEs come back in order with their values, and the rest is the user text."""
    ies, rest = parse_udh(bytes.fromhex("0B" "0003AA0201" "05041F4B0000") + b"hi")
    assert ies == [(0x00, b"\xaa\x02\x01"), (0x05, b"\x1f\x4b\x00\x00")]
    assert rest == b"hi"
    assert parse_udh(b"\x00abc") == ([], b"abc")


@pytest.mark.parametrize("data", [
    b"",                       # UDHI but no data
    b"\x05\x00\x03\x01",       # UDHL beyond the data
    b"\x01\x00",               # IE header cut short
    b"\x04\x00\x03\x01\x02",   # IEDL overruns the UDH
])
def test_parse_udh_malformed(data: bytes) -> None:
    """A UDHI promise the data does not keep is an InvalidPdu, not an IndexError."""
    with pytest.raises(InvalidPdu) as info:
        parse_udh(data)
    assert info.value.status == CommandStatus.ESME_RINVESMCLASS


@given(st.binary(max_size=300))
def test_parse_udh_garbage_raises_only_invalid_pdu(data: bytes) -> None:
    """Any octets either parse or raise InvalidPdu; nothing else escapes."""
    try:
        ies, rest = parse_udh(data)
    except InvalidPdu:
        return
    assert sum(2 + len(v) for _, v in ies) + 1 + len(rest) == len(data)


def test_concat_udh8() -> None:
    """IEI 0x00 with UDHI set: ref, total, seq and the text after the UDH."""
    info = concat_of(0x40, bytes.fromhex("050003AA0302") + b"body")
    assert info == ConcatInfo(0xAA, 3, 2, b"body", "udh8")


def test_concat_udh16_and_other_ies() -> None:
    """IEI 0x08 (16-bit ref, which Jasmin misses) alongside a port IE that must be kept."""
    udh = bytes.fromhex("0C" "05040B841234" "080412340302")
    info = concat_of(0x43, udh + b"x")
    assert info is not None
    assert (info.ref, info.total, info.seq, info.body, info.via) == (0x1234, 3, 2, b"x", "udh16")
    assert info.other_ies == ((0x05, b"\x0b\x84\x12\x34"),)


def test_concat_requires_udhi() -> None:
    """Without UDHI the same octets are plain text, not a header."""
    assert concat_of(0x00, bytes.fromhex("050003AA0302") + b"body") is None


@pytest.mark.parametrize("udh", ["050003AA0300", "050003AA0304", "050003AA0000",
                                 "0400020102", "060804AAAA0300"])
def test_concat_ignores_invalid_ie(udh: str) -> None:
    """23.040: seq 0, seq > total, or a wrong IEDL means 'ignore the IE', not reject."""
    assert concat_of(0x40, bytes.fromhex(udh) + b"x") is None


def test_concat_sar() -> None:
    """SAR TLVs give the same info, on the whole short_message."""
    assert concat_of(0x00, b"text", (0x1234, 2, 1)) == ConcatInfo(0x1234, 2, 1, b"text", "sar")
    assert concat_of(0x00, b"text", (1, 2, 3)) is None
    assert concat_of(0x00, b"text", (1, 0, 0)) is None


def test_concat_last_ie_wins() -> None:
    """A repeated concatenation IE: the last occurrence counts (23.040 §9.2.3.24)."""
    udh = bytes.fromhex("0A" "000301 0201" "000302 0202")
    info = concat_of(0x40, udh + b"z")
    assert info is not None and (info.ref, info.seq) == (2, 2)


def test_reassemble_out_of_order_with_duplicates() -> None:
    """Parts arriving 3,1,1,2 produce one message in seq order; the duplicate is ignored."""
    r = Reassembler()
    assert r.add(KEY, 7, 3, 3, b"C", now=0.0) is None
    assert r.add(KEY, 7, 3, 1, b"A", now=1.0) is None
    assert r.add(KEY, 7, 3, 1, b"X", now=2.0) is None
    done = r.add(KEY, 7, 3, 2, b"B", now=3.0)
    assert done == Completed(KEY, 7, 3, b"ABC", 0.0)
    assert len(r) == 0 and r.bytes_held == 0 and r.next_deadline() is None


def test_groups_are_separate() -> None:
    """Same ref from another sender, or another total, is another message."""
    r = Reassembler()
    other = ("conn", "447700900003", "447700900002")
    r.add(KEY, 7, 2, 1, b"a1", now=0.0)
    r.add(other, 7, 2, 1, b"b1", now=0.0)
    r.add(KEY, 7, 3, 1, b"c1", now=0.0)
    assert r.add(other, 7, 2, 2, b"b2", now=1.0) == Completed(other, 7, 2, b"b1b2", 0.0)
    assert r.add(KEY, 7, 2, 2, b"a2", now=1.0) == Completed(KEY, 7, 2, b"a1a2", 0.0)
    assert len(r) == 1


def test_single_part_group_completes_at_once() -> None:
    """total=1 is a complete message; holding it would only delay it."""
    assert Reassembler().add(KEY, 1, 1, 1, b"x", now=5.0) == Completed(KEY, 1, 1, b"x", 5.0)


def test_timeout_is_reported_with_parts() -> None:
    """Incomplete groups past the timeout come back with what arrived, not dropped."""
    r = Reassembler(timeout=300.0)
    r.add(KEY, 9, 3, 2, b"B", now=10.0)
    r.add(KEY, 9, 3, 3, b"C", now=20.0)
    r.add(KEY, 10, 2, 1, b"Z", now=100.0)
    assert r.next_deadline() == 310.0
    assert r.expire(309.9) == []
    gone = r.expire(310.0)
    assert gone == [Expired(KEY, 9, 3, ((2, b"B"), (3, b"C")), 10.0, "timeout")]
    assert gone[0].missing == (1,)
    assert r.next_deadline() == 400.0
    assert len(r) == 1 and r.bytes_held == 1


def test_late_part_starts_a_new_group() -> None:
    """After expiry a straggler opens a new group instead of resurrecting the old one."""
    r = Reassembler(timeout=10.0)
    r.add(KEY, 1, 2, 1, b"a", now=0.0)
    assert len(r.expire(10.0)) == 1
    assert r.add(KEY, 1, 2, 2, b"b", now=11.0) is None
    assert r.next_deadline() == 21.0


def test_evicts_oldest_group_beyond_max_groups() -> None:
    """max_groups bounds memory; the oldest group is evicted and reported as such."""
    r = Reassembler(max_groups=2)
    r.add(KEY, 1, 2, 1, b"a", now=0.0)
    r.add(KEY, 2, 2, 1, b"b", now=1.0)
    r.add(KEY, 1, 2, 1, b"dup", now=2.0)  # duplicate does not refresh age
    r.add(KEY, 3, 2, 1, b"c", now=3.0)
    assert len(r) == 2
    assert r.next_deadline() == 3.0  # report the eviction now
    assert r.expire(3.0) == [Expired(KEY, 1, 2, ((1, b"a"),), 0.0, "evicted")]
    assert r.next_deadline() == 301.0


def test_evicts_by_bytes() -> None:
    """max_bytes bounds memory too, counting every held body octet."""
    r = Reassembler(max_bytes=10)
    r.add(KEY, 1, 2, 1, b"12345", now=0.0)
    r.add(KEY, 2, 2, 1, b"1234", now=1.0)
    assert r.bytes_held == 9
    r.add(KEY, 3, 2, 1, b"123", now=2.0)
    assert r.bytes_held == 7
    assert [e.ref for e in r.expire(2.0)] == [1]


def test_oversized_group_is_evicted_itself() -> None:
    """A group larger than max_bytes on its own is reported, not kept past the bound."""
    r = Reassembler(max_bytes=4)
    r.add(KEY, 1, 2, 1, b"123456", now=0.0)
    assert len(r) == 0 and r.bytes_held == 0
    assert r.expire(0.0) == [Expired(KEY, 1, 2, ((1, b"123456"),), 0.0, "evicted")]


def test_time_going_backwards_keeps_order() -> None:
    """A stepped-back clock must not let a newer group expire before an older one."""
    r = Reassembler(timeout=10.0)
    r.add(KEY, 1, 2, 1, b"a", now=100.0)
    r.add(KEY, 2, 2, 1, b"b", now=50.0)
    assert r.next_deadline() == 110.0
    assert [e.ref for e in r.expire(110.0)] == [1, 2]


def test_invalid_seq_rejected() -> None:
    """concat_of filters seq; a caller passing seq 0 has a bug we surface."""
    with pytest.raises(ValueError):
        Reassembler().add(KEY, 1, 2, 0, b"", now=0.0)
    with pytest.raises(ValueError):
        Reassembler(max_groups=0)


@given(st.lists(st.binary(max_size=20), min_size=2, max_size=20), st.randoms(),
       st.integers(0, 3))
def test_any_order_any_duplicates(bodies: list[bytes], rnd: random.Random, dups: int) -> None:
    """Whatever the arrival order and duplication, the result is the parts joined by seq.

    (A copy arriving after completion opens a new group; PDU-level dedup is elsewhere.)
    """
    total = len(bodies)
    arrivals = list(range(1, total + 1)) + [rnd.randint(1, total) for _ in range(dups)]
    rnd.shuffle(arrivals)
    r = Reassembler()
    seen: set[int] = set()
    out = None
    for t, seq in enumerate(arrivals):
        out = r.add(KEY, 5, total, seq, bodies[seq - 1], now=float(t))
        seen.add(seq)
        if out is not None:
            break
    assert len(seen) == total  # completes on the first arrival that makes the set whole
    assert out is not None and out.body == b"".join(bodies)
    assert len(r) == 0


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(1, 4), st.integers(1, 4),
                          st.binary(max_size=8)), max_size=200))
def test_bounds_hold_and_nothing_is_lost(events: list[tuple[int, int, int, bytes]]) -> None:
    """Under any traffic: bounds hold, and every accepted part comes out exactly once."""
    r = Reassembler(max_groups=5, max_bytes=40, timeout=7.0)
    model: dict[tuple[int, int], dict[int, bytes]] = {}  # (ref, total) -> seq -> body
    for now, (ref, total, seq, body) in enumerate(events):
        seq = min(seq, total)
        held = model.setdefault((ref, total), {})
        held.setdefault(seq, body)  # a duplicate keeps the first copy
        out = r.add(KEY, ref, total, seq, body, now=float(now))
        assert len(r) <= 5 and r.bytes_held <= 40
        if out is not None:
            assert out.body == b"".join(held[i] for i in range(1, total + 1))
            del model[(ref, total)]
        for gone in r.expire(float(now)):
            assert dict(gone.parts) == model.pop((gone.ref, gone.total))
            assert gone.reason in ("timeout", "evicted")
    for gone in r.expire(float("inf")):
        assert dict(gone.parts) == model.pop((gone.ref, gone.total))
    assert model == {} and r.next_deadline() is None and r.bytes_held == 0


def test_the_opening_part_names_the_group() -> None:
    """Breaks if a group's tag is not the one its first part gave (later parts cannot
    rename it), is not reported when it completes or expires, or if a message reusing
    the key, ref and total after completion is taken for the old group."""
    r = Reassembler(timeout=10.0)
    assert r.tag_of(KEY, 7, 2) is None
    r.add(KEY, 7, 2, 1, b"a", now=0.0, tag="g1")
    assert r.tag_of(KEY, 7, 2) == "g1" and r.tag_of(KEY, 7, 3) is None
    done = r.add(KEY, 7, 2, 2, b"b", now=1.0, tag="other")
    assert done is not None and done.tag == "g1" and done.parts == ((1, b"a"), (2, b"b"))
    assert r.tag_of(KEY, 7, 2) is None
    r.add(KEY, 7, 2, 2, b"c", now=2.0, tag="g2")
    [gone] = r.expire(12.0)
    assert (gone.tag, gone.parts) == ("g2", ((2, b"c"),))


def test_discard_takes_back_one_part_of_the_named_group_only() -> None:
    """Breaks if a part the caller could not keep still completes its group, if discard
    touches a later group with the same key, or if the memory bound miscounts after it."""
    r = Reassembler()
    r.add(KEY, 7, 3, 1, b"aa", now=0.0, tag="g1")
    r.add(KEY, 7, 3, 2, b"bb", now=0.0, tag="g1")
    assert not r.discard(KEY, 7, 3, 2, "g0")
    assert r.discard(KEY, 7, 3, 2, "g1") and not r.discard(KEY, 7, 3, 2, "g1")
    assert r.bytes_held == 2
    assert r.add(KEY, 7, 3, 3, b"cc", now=1.0) is None        # part 2 is missing again
    done = r.add(KEY, 7, 3, 2, b"BB", now=2.0)
    assert done is not None and done.body == b"aaBBcc"
    r.add(KEY, 7, 3, 1, b"x", now=3.0, tag="g2")
    assert r.discard(KEY, 7, 3, 1, "g2")
    assert len(r) == 0 and r.bytes_held == 0 and r.next_deadline() is None
