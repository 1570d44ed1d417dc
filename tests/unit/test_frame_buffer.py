"""FrameBuffer: a TCP stream cut into whole PDUs, bounded and linear (HDR-02, HDR-06, NAK-02)."""
from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smscd.smpp import codec
from smscd.smpp.errors import FramingError, SmppError
from smscd.smpp.frame_buffer import DEFAULT_MAX_PDU, MIN_PDU, FrameBuffer
from smscd.smpp.status import CommandStatus as S

from strategies import pdus

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENQUIRE_LINK = bytes.fromhex("00000010 00000015 00000000 00000003")


def header(length: int, command_id: int = 0x15, seq: int = 77) -> bytes:
    return struct.pack(">IIII", length, command_id, 0, seq)


def feed_in_pieces(buf: FrameBuffer, data: bytes, cuts: list[int]) -> list[bytes]:
    frames: list[bytes] = []
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    for lo, hi in zip(bounds, bounds[1:]):
        frames += buf.feed(data[lo:hi])
    return frames


@PROPERTY
@given(st.lists(pdus(), min_size=1, max_size=5), st.lists(st.integers(0, 10_000), max_size=12))
def test_any_chunking_yields_the_same_frames(pdu_list: list[Any], cuts: list[int]) -> None:
    """Breaks when a PDU split across TCP segments (or several in one) is lost or merged."""
    wires = [codec.encode(p) for p in pdu_list]
    buf = FrameBuffer()
    assert feed_in_pieces(buf, b"".join(wires), cuts) == wires
    assert buf.pending == 0


@PROPERTY
@given(st.lists(pdus(), min_size=1, max_size=3))
def test_byte_at_a_time_yields_the_same_pdus(pdu_list: list[Any]) -> None:
    """Breaks when a peer that writes one octet per segment cannot be understood."""
    data = b"".join(codec.encode(p) for p in pdu_list)
    buf = FrameBuffer()
    frames = [f for i in range(len(data)) for f in buf.feed(data[i:i + 1])]
    assert [codec.decode(f) for f in frames] == pdu_list


@settings(PROPERTY, max_examples=500)
@given(st.binary(max_size=2048), st.lists(st.integers(0, 4096), max_size=8))
def test_garbage_raises_only_smpp_errors(data: bytes, cuts: list[int]) -> None:
    """Breaks when random input escapes FrameBuffer+decode as a non-SMPP exception."""
    buf = FrameBuffer()
    try:
        for frame in feed_in_pieces(buf, data, cuts):
            try:
                codec.decode(frame)
            except SmppError:
                pass                   # an InvalidPdu is answered; the stream goes on
    except FramingError as e:
        assert e.status == S.ESME_RINVCMDLEN


@settings(PROPERTY, max_examples=300)
@given(st.lists(st.integers(MIN_PDU, 200), min_size=1, max_size=6), st.data())
def test_garbage_with_plausible_lengths_raises_only_smpp_errors(lengths: list[int],
                                                               data: st.DataObject) -> None:
    """Breaks when frames of the right length but random content upset decode."""
    stream = b"".join(struct.pack(">I", n) + data.draw(st.binary(min_size=n - 4, max_size=n - 4))
                      for n in lengths)
    frames = FrameBuffer().feed(stream)
    assert [len(f) for f in frames] == lengths
    for frame in frames:
        try:
            codec.decode(frame)
        except SmppError:
            pass


@pytest.mark.parametrize("length", [0, 1, 15])
def test_command_length_below_16_is_a_framing_error_without_sequence(length: int) -> None:
    """Breaks when an impossible length is buffered instead of nacked (NAK-02), or when its
    generic_nack echoes octets that are not a header (NAK-03 says sequence 0 then)."""
    with pytest.raises(FramingError) as info:
        FrameBuffer().feed(header(length, command_id=0x04, seq=77))
    e = info.value
    assert (e.status, e.command_id, e.sequence_number) == (S.ESME_RINVCMDLEN, None, None)


def test_command_length_below_16_without_a_full_header_has_no_sequence() -> None:
    """Breaks when a generic_nack would echo a sequence number we never read (NAK-03: 0)."""
    with pytest.raises(FramingError) as info:
        FrameBuffer().feed(b"\x00\x00\x00\x08\x00\x00")
    assert info.value.status == S.ESME_RINVCMDLEN
    assert info.value.sequence_number is None and info.value.command_id is None


def test_command_length_above_the_cap_is_a_framing_error() -> None:
    """Breaks when a peer can make us buffer more than the configured maximum."""
    buf = FrameBuffer(max_len=1024)
    assert buf.feed(header(1024) + b"\0" * 1008) != []      # exactly the cap is fine
    with pytest.raises(FramingError) as info:
        buf.feed(header(1025, command_id=0x04, seq=78))
    e = info.value
    assert (e.status, e.command_id, e.sequence_number) == (S.ESME_RINVCMDLEN, 0x04, 78)


def test_command_length_above_the_cap_before_16_octets_has_no_sequence() -> None:
    """Breaks when the sequence number of a refused PDU is made up from a partial header."""
    with pytest.raises(FramingError) as info:
        FrameBuffer(max_len=1024).feed(header(1025)[:10])
    assert (info.value.status, info.value.sequence_number) == (S.ESME_RINVCMDLEN, None)


def test_70000_octet_command_length_is_refused_before_its_body_arrives() -> None:
    """Breaks when a huge length is only noticed after 70 kB were buffered (HDR-06), or when
    a legal PDU with a full 65,535-octet message_payload no longer fits the default cap."""
    assert 16 + 200 + 4 + 65_535 < DEFAULT_MAX_PDU < 70_000
    buf = FrameBuffer()
    with pytest.raises(FramingError) as info:
        buf.feed((70_000).to_bytes(4, "big"))
    assert info.value.status == S.ESME_RINVCMDLEN


def test_frames_before_a_bad_length_are_returned_then_the_stream_is_dead() -> None:
    """Breaks when a response read together with garbage is lost, or the garbage is missed."""
    buf = FrameBuffer()
    assert buf.feed(ENQUIRE_LINK + header(3)) == [ENQUIRE_LINK]
    assert buf.broken
    for more in (b"", ENQUIRE_LINK):
        with pytest.raises(FramingError) as info:
            buf.feed(more)
        assert info.value.status == S.ESME_RINVCMDLEN


def test_partial_frame_is_kept_until_complete() -> None:
    """Breaks when a partial PDU is dropped, returned early, or counted wrongly."""
    buf = FrameBuffer()
    assert buf.feed(ENQUIRE_LINK[:3]) == [] and buf.pending == 3
    assert buf.feed(ENQUIRE_LINK[3:10]) == [] and buf.pending == 10
    assert buf.feed(ENQUIRE_LINK[10:] + ENQUIRE_LINK[:5]) == [ENQUIRE_LINK]
    assert buf.pending == 5
    assert buf.feed(ENQUIRE_LINK[5:]) == [ENQUIRE_LINK] and buf.pending == 0


def test_frames_are_immutable_bytes() -> None:
    """Breaks when a frame aliases the internal buffer and changes under the decoder."""
    buf = FrameBuffer()
    buf.feed(ENQUIRE_LINK[:8])
    (frame,) = buf.feed(ENQUIRE_LINK[8:])
    assert type(frame) is bytes


def test_max_len_below_a_header_is_refused() -> None:
    """Breaks when a misconfigured cap silently refuses every PDU."""
    with pytest.raises(ValueError):
        FrameBuffer(max_len=15)
