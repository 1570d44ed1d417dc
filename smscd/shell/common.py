# tests: tests/unit/test_shell_modules.py
"""Helpers every jCli module shares: listing rows, existence checks, service refusals.

Listing rule (reference §7.1): each field is left-justified to its column width and the
fields are joined by one space; header and rows start with `#`.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from smscd.service.api import InvalidValue, NotFound, ServiceError

from .reply import Reply, call, say

TRUE_WORDS = ("true", "1", "t", "y", "yes")
FALSE_WORDS = ("false", "0", "f", "n", "no")


def row(fields: Sequence[str], widths: Sequence[int]) -> str:
    """One `#`-prefixed listing line; the last field is padded only when it has a width."""
    cells = [f.ljust(w) for f, w in zip(fields, widths)] + list(fields[len(widths):])
    return "#" + " ".join(cells)


def exists(get: Callable[[Any], Any], key: Any) -> bool:
    try:
        get(key)
    except NotFound:
        return False
    return True


def refusal(e: Exception, fallback: str) -> str:
    """The line for a failed service call: the service's own words, or `fallback`
    (`Failed adding X, check log for details`) for anything that is not a refusal."""
    if isinstance(e, InvalidValue) and len(e.problems) > 1:
        return "Error: " + "; ".join(e.problems)
    if isinstance(e, ServiceError):
        return f"Error: {e.message}"
    return fallback


def simple_call(run: Callable[[], Any], audit: str, success: str, fallback: str) -> Reply:
    """A call whose success prints one line and whose failure prints the refusal."""
    return call(run, audit, lambda _: say(success), lambda e: say(refusal(e, fallback)))


def saving_call(run: Callable[[], Any], audit: str, success: Callable[[Any], str],
                fallback: str) -> Reply:
    """A draft's save: success prints and leaves the draft, failure keeps it open."""
    return call(run, audit, lambda result: Reply(lines=(success(result),), leave_draft=True),
                lambda e: say(refusal(e, fallback)))


def parse_bool(value: str) -> bool | None:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None
