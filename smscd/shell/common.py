# tests: tests/unit/test_shell_modules.py
"""Helpers every jCli module shares: listing rows, existence checks, service refusals.

Listing rule (reference §7.1): each field is left-justified to its column width and the
fields are joined by one space; header and rows start with `#`.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

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


def refusal(e: Exception, fallback: str, keys: Mapping[str, str] | None = None) -> str:
    """The line for a failed call: the service's (or billing's) own words, or `fallback`
    (`Failed adding X, check log for details`) for anything that is not a refusal."""
    if isinstance(e, InvalidValue) and len(e.problems) > 1:
        text = "; ".join(_typed_key(p, keys) for p in e.problems)
    elif isinstance(e, ServiceError):
        text = _typed_key(e.message, keys)
    elif isinstance(e, ValueError):        # billing's refusals (BillingError) are ValueErrors
        text = str(e)
    else:
        return fallback
    return f"Error: {text}"


def _typed_key(problem: str, keys: Mapping[str, str] | None) -> str:
    """`id: ...` -> `cid: ...`: a problem named with the key the operator typed."""
    key, sep, rest = problem.lstrip(".").partition(":")
    if keys and sep and key in keys:
        return f"{keys[key]}:{rest}"
    return problem.lstrip(".")


def simple_call(run: Callable[[], Any], audit: str, success: str, fallback: str) -> Reply:
    """A call whose success prints one line and whose failure prints the refusal."""
    return call(run, audit, lambda _: say(success), lambda e: say(refusal(e, fallback)))


def saving_call(run: Callable[[], Any], audit: str, success: Callable[[Any], str],
                fallback: str, keys: Mapping[str, str] | None = None) -> Reply:
    """A draft's save: success prints and leaves the draft, failure keeps it open;
    `keys` renames the service's keys in errors to the ones typed (id -> cid)."""
    return call(run, audit, lambda result: Reply(lines=(success(result),), leave_draft=True),
                lambda e: say(refusal(e, fallback, keys)))


def parse_bool(value: str) -> bool | None:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None
