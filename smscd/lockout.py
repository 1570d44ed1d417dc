# tests: tests/unit/test_lockout.py
"""Lockout with growing delay after repeated failed binds, per source address and per user.

After `free_failures` failures a key is locked for `base_delay`, doubling with each
further failure up to `max_delay`; a success clears the key. Memory is bounded: the
oldest keys are forgotten first. Pure: time is `now`.
"""
from __future__ import annotations

from collections import OrderedDict


class BindLockout:
    def __init__(self, free_failures: int = 3, base_delay: float = 1.0,
                 max_delay: float = 300.0, max_keys: int = 100_000) -> None:
        self.free_failures = free_failures
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_keys = max_keys
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key -> (n, until)

    def locked_for(self, keys: tuple[str, ...], now: float) -> float:
        """Seconds left on the longest lock among `keys` (0 when none is locked)."""
        left = 0.0
        for key in keys:
            entry = self._failures.get(key)
            if entry is not None:
                left = max(left, entry[1] - now)
        return left

    def failed(self, keys: tuple[str, ...], now: float) -> None:
        for key in keys:
            count, _ = self._failures.pop(key, (0, 0.0))
            count += 1
            over = count - self.free_failures
            until = now + min(self.max_delay, self.base_delay * 2 ** (over - 1)) \
                if over > 0 else now
            self._failures[key] = (count, until)
            if len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self._failures.pop(key, None)
