# tests: tests/unit/test_cli.py
"""The process-wide reactor: Twisted on asyncio, so aio-pika, redis.asyncio and asyncpg
share its loop. Installed once, before anything imports twisted.internet.reactor."""
from __future__ import annotations

import asyncio
import sys
from typing import Any, Callable, Coroutine, TypeVar

T = TypeVar("T")


def install() -> Any:
    """Install the asyncio reactor unless it is installed already; return the reactor.
    Another reactor installed first (an early import of twisted.internet.reactor) is an
    error, not a silent fallback: aio-pika, redis.asyncio and asyncpg need asyncio's loop."""
    from twisted.internet import asyncioreactor
    if "twisted.internet.reactor" not in sys.modules:
        asyncioreactor.install(asyncio.new_event_loop())
    from twisted.internet import reactor
    if not isinstance(reactor, asyncioreactor.AsyncioSelectorReactor):
        raise RuntimeError(f"{type(reactor).__name__} was installed before smscd's asyncio "
                           "reactor: something imported twisted.internet.reactor too early")
    return reactor


def run_async(main: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """Run `main(reactor)` to completion on a fresh reactor and return its result."""
    from twisted.internet.defer import ensureDeferred

    reactor = install()
    box: list[Any] = []

    def start() -> None:
        d: Any = ensureDeferred(main(reactor))
        d.addBoth(box.append)
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=True)
    outcome = box[0]
    if hasattr(outcome, "raiseException"):
        outcome.raiseException()
    return outcome  # type: ignore[no-any-return]
