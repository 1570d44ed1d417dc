# tests: tests/unit/test_frame_buffer.py
"""Cuts a TCP byte stream into whole PDUs.

Rules: bounded (a command_length outside 16..max_len is a FramingError, raised before
buffering the body); linear (each byte is copied at most twice, consumed bytes are
dropped once per feed); nothing is decoded here beyond the 4-octet length.
Frames that arrived before a bad header are still returned (a response among them must
not be lost); the FramingError then comes from the next call (`feed(b"")` will do), and
every call after it raises it again: the stream is dead.
"""
from __future__ import annotations

import struct

from .errors import FramingError
from .status import CommandStatus

MIN_PDU = 16
DEFAULT_MAX_PDU = 68_000   # a full 65,535-octet message_payload fits (HDR-06)
_HEADER = struct.Struct(">IIII")
_LENGTH = struct.Struct(">I")


class FrameBuffer:
    def __init__(self, max_len: int = DEFAULT_MAX_PDU) -> None:
        if max_len < MIN_PDU:
            raise ValueError(f"max_len {max_len} is below the 16-octet header")
        self._buf = bytearray()
        self._max = max_len
        self._error: FramingError | None = None

    @property
    def broken(self) -> bool:
        """Framing was lost; the next `feed` raises the FramingError."""
        return self._error is not None

    @property
    def pending(self) -> int:
        """Octets received that do not yet form a whole PDU."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Return every complete PDU now available; keep the rest."""
        if self._error is not None:
            raise self._error
        if self._buf:
            self._buf += data
            view: bytes | bytearray = self._buf
        else:
            view = data                      # common case: no copy until a partial frame
        frames: list[bytes] = []
        pos, end = 0, len(view)
        while end - pos >= 4:
            (length,) = _LENGTH.unpack_from(view, pos)
            if not MIN_PDU <= length <= self._max:
                self._error = self._framing_error(view, pos, end, length)
                if not frames:
                    raise self._error
                self._buf = bytearray()
                return frames
            if end - pos < length:
                break
            frames.append(bytes(view[pos:pos + length]))
            pos += length
        if view is self._buf:
            del self._buf[:pos]
        elif pos < end:
            self._buf += view[pos:]
        return frames

    def _framing_error(self, view: bytes | bytearray, pos: int, end: int,
                       length: int) -> FramingError:
        command_id = seq = None
        if length >= MIN_PDU and end - pos >= MIN_PDU:   # a too-long PDU still has a header
            _, command_id, _, seq = _HEADER.unpack_from(view, pos)
        return FramingError(f"command_length {length} outside {MIN_PDU}..{self._max}",
                            CommandStatus.ESME_RINVCMDLEN, pos, command_id, seq)
