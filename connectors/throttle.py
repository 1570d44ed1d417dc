# tests: tests/unit/test_throttle.py
"""Token bucket: `rate` tokens per second, at most `burst` saved up. Pure: time is `now`.

Used for vendor submit throughput, per-user quotas and the simulator's throttling.
Unlike a minimum-spacing limiter (Jasmin's), it lets a short burst through at once and
still holds the long-run rate.
"""
from __future__ import annotations


class TokenBucket:
    __slots__ = ("rate", "burst", "_tokens", "_stamp")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got {rate}, {burst}")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp = now

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def try_take(self, now: float, n: int = 1) -> bool:
        """Take n tokens if they are there; never blocks, never goes negative."""
        self._refill(now)
        if self._tokens >= n:
            self._tokens -= n
            return True
        return False

    def available(self, now: float) -> int:
        """Whole tokens that could be taken now."""
        self._refill(now)
        return int(self._tokens)

    def wait_time(self, now: float, n: int = 1) -> float:
        """Seconds until n tokens will be there (0 if they are now)."""
        self._refill(now)
        missing = n - self._tokens
        return 0.0 if missing <= 0 else missing / self.rate
