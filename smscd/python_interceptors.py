# tests: tests/integration/test_python_interceptors.py
"""Operator-supplied Python interceptors: trusted code, installed, configured by name.

Jasmin compiles a script the operator names at rule creation and runs it with `exec`, with
no time limit, in a separate daemon (§5.5). Here an interceptor is a function an operator
INSTALLS (pip) as an entry point in the group `smscd.interceptors`; a rule names it
(`python: hlr_lookup`). Code typed into the shell or sent over the network never runs.

Writing one (in the operator's own package):

    # pyproject.toml:  [project.entry-points."smscd.interceptors"]
    #                  hlr_lookup = "acme_smscd.hlr:intercept"
    def intercept(routable: Routable) -> Routable | Reject:
        ...   # return dataclasses.replace(routable, ...) to go on, or Reject(...) to refuse

Rules:
- The function gets the Routable after the rule's declarative actions. It returns a
  Routable of the same direction (the message goes on with it) or a
  `routing.interceptor_actions.Reject` (refused with its SMPP status, HTTP status, text).
- It runs in a worker thread (the reactor's pool unless one is given): it may block, e.g.
  on an HLR lookup, must be thread-safe and must not touch the reactor.
- Time limit `timeout` seconds (default 1). Late, raising, or returning anything else:
  the message is refused with ESME_RSYSERR / HTTP 503 (as Jasmin refuses when a script
  fails) and the failure is logged with the interceptor's name. A thread cannot be
  stopped: a late call runs to its end and its result is dropped.
- `require(names)` loads interceptors up front (daemon start, every table change): a name
  that is not installed, installed twice, or does not import is a configuration error
  naming it. `run` never loads; a name it was not given is refused and logged.
"""
from __future__ import annotations

import importlib.metadata
from dataclasses import replace
from typing import Callable, Iterable, Protocol, Union

from twisted.internet.defer import Deferred, TimeoutError, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from routing.interceptor_actions import Reject
from routing.interceptors import Interception
from routing.routable import Routable
from smscd.smpp.status import CommandStatus

GROUP = "smscd.interceptors"
DEFAULT_TIMEOUT = 1.0
FAILED_HTTP_STATUS = 503

log = Logger(namespace="smscd.python_interceptors")

PythonInterceptor = Callable[[Routable], Union[Routable, Reject]]


class InterceptorConfigError(ValueError):
    """Named Python interceptors that cannot be used; `problems` names each one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ThreadReactor(Protocol):
    def getThreadPool(self) -> ThreadPool: ...
    def callFromThread(self, f: Callable[..., object], *args: object) -> None: ...


def installed_entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=GROUP)


def failed(name: str, why: str) -> Reject:
    """What a message gets when its Python interceptor could not decide."""
    return Reject(CommandStatus.ESME_RSYSERR, FAILED_HTTP_STATUS,
                  f"interceptor {name} {why}")


class PythonInterceptors:
    def __init__(self, reactor: ThreadReactor, *, clock: IReactorTime | None = None,
                 threadpool: ThreadPool | None = None, timeout: float = DEFAULT_TIMEOUT,
                 entry_points: Callable[[], Iterable[importlib.metadata.EntryPoint]]
                 = installed_entry_points) -> None:
        self._reactor = reactor
        self._clock: IReactorTime = clock if clock is not None else reactor  # type: ignore[assignment]
        self._pool = threadpool
        self._timeout = timeout
        self._entry_points = entry_points
        self._loaded: dict[str, PythonInterceptor] = {}

    def installed(self) -> list[str]:
        """Names an operator may put in a rule (for the shell's help and listings)."""
        return sorted({ep.name for ep in self._entry_points()})

    def require(self, names: Iterable[str]) -> None:
        """Load every named interceptor not loaded yet; InterceptorConfigError names each
        one that cannot be used (nothing is half-loaded: the good ones stay loaded)."""
        wanted = sorted(set(names) - self._loaded.keys())
        if not wanted:
            return
        by_name: dict[str, list[importlib.metadata.EntryPoint]] = {}
        for ep in self._entry_points():
            by_name.setdefault(ep.name, []).append(ep)
        problems = []
        for name in wanted:
            found = by_name.get(name, [])
            if not found:
                problems.append(f"python interceptor {name!r}: not installed (no entry point "
                                f"{name!r} in group {GROUP!r})")
            elif len(found) > 1:
                problems.append(f"python interceptor {name!r}: installed more than once ("
                                f"{', '.join(sorted(ep.value for ep in found))})")
            else:
                problems += self._load(name, found[0])
        if problems:
            raise InterceptorConfigError(problems)

    def _load(self, name: str, ep: importlib.metadata.EntryPoint) -> list[str]:
        try:
            fn = ep.load()
        except Exception as e:
            return [f"python interceptor {name!r}: cannot load {ep.value} "
                    f"({type(e).__name__}: {e})"]
        if not callable(fn):
            return [f"python interceptor {name!r}: {ep.value} is not callable"]
        self._loaded[name] = fn
        return []

    def run(self, interception: Interception) -> Deferred[Interception]:
        """Run the Python interceptor `interception` names, if any and if not refused yet;
        fires with the Interception to go on with (never fails)."""
        name = interception.python
        if name is None or interception.rejection is not None:
            return succeed(interception)
        fn = self._loaded.get(name)
        if fn is None:
            log.error("python interceptor {name!r} was not loaded; message refused",
                      name=name)
            return succeed(replace(interception, rejection=failed(name, "is not loaded")))
        pool = self._pool if self._pool is not None else self._reactor.getThreadPool()
        d: Deferred[object] = deferToThreadPool(
            self._reactor, pool, fn, interception.routable)  # type: ignore[arg-type]
        d.addTimeout(self._timeout, self._clock)
        return d.addCallbacks(self._decided, self._failed, callbackArgs=(name, interception),
                              errbackArgs=(name, interception))

    def _decided(self, result: object, name: str, interception: Interception) -> Interception:
        if isinstance(result, Reject):
            return replace(interception, rejection=result)
        if (isinstance(result, Routable)
                and result.direction == interception.routable.direction):
            return replace(interception, routable=result)
        log.error("python interceptor {name!r} returned {kind}, not a {direction} Routable "
                  "or a Reject; message refused", name=name, kind=type(result).__name__,
                  direction=interception.routable.direction.upper())
        return replace(interception, rejection=failed(name, "returned a bad result"))

    def _failed(self, failure: Failure, name: str, interception: Interception) -> Interception:
        if failure.check(TimeoutError):
            log.error("python interceptor {name!r} took longer than {timeout}s; message "
                      "refused", name=name, timeout=self._timeout)
            return replace(interception, rejection=failed(name, "timed out"))
        log.failure("python interceptor {name!r} raised; message refused", failure,
                    name=name)
        return replace(interception, rejection=failed(name, "failed"))
