# tests: tests/integration/test_next_turn.py
"""Run a callable at the start of the reactor's next turn, before that turn's reads.

Why: on Twisted's asyncio reactor `callLater(0, f)` is an asyncio timer, and asyncio runs
timers after the I/O callbacks of the iteration; at full speed those are the reads of
every busy connection (tens of ms of work), so an answer flushed that way waited a whole
turn more than on the epoll reactor, where callLater(0) runs before I/O. asyncio's
`call_soon` runs before the next reads. Any other clock (task.Clock in tests, another
reactor) keeps `callLater(0, f)`.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Protocol


class Scheduled(Protocol):
    """asyncio's Handle or Twisted's DelayedCall: cancel it before it has run."""
    def cancel(self) -> None: ...


Soon = Callable[[Callable[[], object]], Scheduled]


def next_turn(clock: Any) -> Soon:
    """`f -> handle`: schedules `f()` at the start of `clock`'s next turn."""
    loop = getattr(clock, "_asyncioEventloop", None)   # AsyncioSelectorReactor's own loop
    if loop is not None:
        return loop.call_soon  # type: ignore[no-any-return]
    return partial(clock.callLater, 0)
