# tests: tests/unit/test_shell_session.py
"""Interactive `key value` drafts: what `-a` and `-u` open until `ok` or `ko`.

jCli rules (reference §7.1): keys come in any order, the last value of a key wins, `ok`
validates and saves (errors keep the `> ` prompt, success leaves the draft), `ko` drops it,
`quit` is refused, an empty line only re-prompts. A draft checks each key as it is typed
when it can (so the operator sees the error at once) and the whole at `ok`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from .reply import Reply, say

# A key check: the raw value -> (the value to keep, or None and an error line)
KeyCheck = Callable[[str], "tuple[object, str | None]"]


class Draft(Protocol):
    announcement: str

    def keys(self) -> tuple[str, ...]:
        """Keys offered by TAB completion."""

    def set(self, key: str, value: str) -> Reply:
        """One `key value` line."""

    def save(self) -> Reply:
        """`ok`: validation errors, or the call that saves."""


def accept(value: str) -> tuple[object, str | None]:
    """A key whose value is taken as typed."""
    return value, None


@dataclass
class KeyDraft:
    """A draft over a fixed set of simple keys, each with its own check.

    `unknown` formats the error for a key that is not in `checks`; `refused` maps keys
    that exist but cannot be set here (e.g. an id in an update) to their error line;
    `on_save` turns the collected values into the saving Reply.
    """
    announcement: str
    checks: dict[str, KeyCheck]
    unknown: str
    on_save: Callable[[dict[str, object]], Reply]
    refused: dict[str, str] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)

    def keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.checks if k not in self.refused)

    def set(self, key: str, value: str) -> Reply:
        if key in self.refused:
            return say(self.refused[key])
        check = self.checks.get(key)
        if check is None:
            return say(self.unknown % key)
        kept, error = check(value)
        if error is not None:
            return say(error)
        self.values[key] = kept
        return Reply()

    def save(self) -> Reply:
        return self.on_save(dict(self.values))
