# tests: tests/unit/test_routing_codec.py, tests/unit/test_interceptors_codec.py
"""Decoding a list of ordered entries (route tables, interceptor tables) from a mapping.

Why: a route table and an interceptor table are both written as a list of mappings that
each carry an `order`; reading such a list, and refusing two entries at one order, is the
same for both.
Rules:
- Anything but a list (text is not a list) is a RuleError "<path>: expected a list of <what>".
- Entry i is decoded with the path `<path>[i]`; every entry's problems are collected.
- An entry at an order an earlier entry took is a problem naming both entries.
- Any problem at all: one RuleError with every problem, in list order.
"""
from __future__ import annotations

from typing import Callable, Sequence, TypeVar

from .errors import RuleError

T = TypeVar("T")


def decode_ordered(raw: object, path: str, what: str,
                   entry: Callable[[object, str], tuple[int, T]]) -> dict[int, T]:
    """order -> decoded entry, where `entry(item, item_path)` gives (order, value)."""
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        raise RuleError([f"{path}: expected a list of {what}"])
    problems: list[str] = []
    entries: dict[int, T] = {}
    first_at: dict[int, int] = {}
    for i, item in enumerate(raw):
        try:
            order, value = entry(item, f"{path}[{i}]")
        except RuleError as e:
            problems += e.problems
            continue
        if order in first_at:
            problems.append(f"{path}[{i}].order: {order} is already used by "
                            f"{path}[{first_at[order]}]")
            continue
        first_at[order] = i
        entries[order] = value
    if problems:
        raise RuleError(problems)
    return entries
