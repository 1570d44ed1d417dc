# tests: tests/unit/test_message.py
"""Message ids: unique across restarts and nodes, opaque, time-ordered, 32 characters.

48 bits of milliseconds since the epoch, then 80 random bits, in lowercase hex (the
shape of a UUIDv7). Time order keeps index inserts local; the random part makes ids
from different nodes and restarts collide with negligible probability.
"""
import os
import time


def new_message_id(now: float | None = None) -> str:
    ms = int((time.time() if now is None else now) * 1000) & 0xFFFFFFFFFFFF
    return f"{ms:012x}{os.urandom(10).hex()}"
