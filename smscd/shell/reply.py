# tests: tests/unit/test_shell_session.py
"""What one step of the interpreter asks of its driver: lines to print, maybe a service call.

The interpreter never runs a service write itself. It returns a `Call`: `run()` starts
the write (it returns a Deferred, or a plain value from an in-memory fake), and the driver
hands the outcome back through `Session.finish`, which turns it into the next `Reply` with
`done` or `failed`. So the interpreter stays free of Twisted and is tested with plain
transcripts, while the telnet transport waits on the real Deferreds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .drafts import Draft


@dataclass(frozen=True)
class Call:
    """A service call to run; `audit` says what it changes (passwords masked), None for
    a read that only has to wait (dead letters come from the store asynchronously)."""
    run: Callable[[], Any]
    done: Callable[[Any], "Reply"]
    failed: Callable[[Exception], "Reply"]
    audit: str | None


@dataclass(frozen=True)
class Reply:
    """Lines to print, then maybe a draft to enter or leave, a call to make, or the end."""
    lines: tuple[str, ...] = ()
    call: Call | None = None
    draft: "Draft | None" = None
    leave_draft: bool = False
    close: bool = False


def say(*lines: str) -> Reply:
    """A reply that only prints."""
    return Reply(lines=tuple(lines))


def call(run: Callable[[], Any], audit: str | None, done: Callable[[Any], Reply],
         failed: Callable[[Exception], Reply]) -> Reply:
    """A reply that makes one service call."""
    return Reply(call=Call(run=run, done=done, failed=failed, audit=audit))
