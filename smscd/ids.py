# tests: tests/unit/test_message.py
"""Message ids: unique across restarts and nodes, opaque, time-ordered, 32 characters.

48 bits of milliseconds since the epoch, then 80 random bits, in lowercase hex (the
shape of a UUIDv7). Time order keeps index inserts local; the random part makes ids
from different nodes and restarts collide with negligible probability.

The random bits come from the OS (`os.urandom`), read 4 KiB at a time: one system call
per ~400 ids rather than one per id. A forked child starts with an empty buffer, so
parent and child never hand out the same bits.
"""
import os
import time

_CHUNK = 4000                  # bytes of randomness per os.urandom call: 400 ids
_random = bytearray()


def _forget() -> None:
    _random.clear()


os.register_at_fork(after_in_child=_forget)


def new_message_id(now: float | None = None) -> str:
    ms = int((time.time() if now is None else now) * 1000) & 0xFFFFFFFFFFFF
    if not _random:
        _random.extend(os.urandom(_CHUNK))
    tail = _random[-10:]
    del _random[-10:]
    return f"{ms:012x}{tail.hex()}"
