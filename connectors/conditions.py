# tests: tests/integration/test_simulator.py, tests/integration/test_connector.py
"""Deferreds that fire once a condition on an object holds, for tests and the admin shell.

The owner calls `check()` after each change worth re-checking; waiting costs nothing
when nobody waits.
"""
from __future__ import annotations

from typing import Callable, Generic, TypeVar

from twisted.internet.defer import Deferred

T = TypeVar("T")


class Conditions(Generic[T]):
    def __init__(self, subject: T) -> None:
        self._subject = subject
        self._waiting: list[tuple[Callable[[T], bool], Deferred[None]]] = []

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def until(self, condition: Callable[[T], bool]) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        if condition(self._subject):
            d.callback(None)
        else:
            self._waiting.append((condition, d))
        return d

    def check(self) -> None:
        if not self._waiting:
            return
        ready = [(c, d) for c, d in self._waiting if c(self._subject)]
        if ready:
            self._waiting = [w for w in self._waiting if w not in ready]
            for _, d in ready:
                d.callback(None)
