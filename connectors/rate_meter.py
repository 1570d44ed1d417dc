# tests: tests/unit/test_mt_pump.py
"""Events per second over the last few seconds, for operators' status (one int per second)."""
from __future__ import annotations

from collections import deque

from smscd.smpp_protocol import ReactorTime


class RateMeter:
    __slots__ = ("_clock", "_span", "_buckets")

    def __init__(self, clock: ReactorTime, span: int = 10) -> None:
        self._clock = clock
        self._span = span
        self._buckets: deque[list[int]] = deque()     # [second, count], oldest first

    def tick(self, n: int = 1) -> None:
        second = int(self._clock.seconds())
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += n
        else:
            self._buckets.append([second, n])
            while self._buckets[0][0] <= second - self._span:
                self._buckets.popleft()

    def rate(self) -> float:
        """Mean per second over the last `span` whole seconds (the current one excluded)."""
        now = int(self._clock.seconds())
        total = sum(c for s, c in self._buckets if now - self._span <= s < now)
        return total / self._span
