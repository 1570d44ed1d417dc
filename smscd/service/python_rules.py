# tests: tests/integration/test_service.py
"""Rules may name operator Python interceptors (entry points); check them when written.

Why: a rule naming an interceptor that is not installed, or does not load, would refuse
every message it matches. The service asks the loader (smscd.python_interceptors) to load
every name of a new snapshot before the change is made, so the operator sees the problem
at `mtinterceptor -a` / `load` / start-up instead.
"""
from __future__ import annotations

from typing import Iterable, Protocol

from smscd.service.api import InvalidValue, RoutingSnapshot


class PythonInterceptorLoader(Protocol):
    """smscd.python_interceptors.PythonInterceptors: loads named entry points; raises a
    ValueError with `problems` for a name that cannot be used."""
    def require(self, names: Iterable[str]) -> None: ...


def require_python(loader: PythonInterceptorLoader | None, snapshot: RoutingSnapshot) -> None:
    """InvalidValue when an interceptor of `snapshot` names a Python interceptor that is not
    installed or does not load: refused when the rule is written, not when a message
    comes."""
    if loader is None:
        return
    names = snapshot.mt_interceptors.python_names | snapshot.mo_interceptors.python_names
    try:
        loader.require(names)
    except ValueError as e:
        problems = list(getattr(e, "problems", [str(e)]))
        raise InvalidValue("; ".join(problems), "python", problems) from None
