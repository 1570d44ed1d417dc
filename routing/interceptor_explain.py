# tests: tests/unit/test_interceptors_explain.py
"""Why an interceptor table decided what it did: the interceptor part of the route tester.

Rules:
- `explain_interception(table, r)` walks the table as `intercept` does (highest order
  first, up to the first interceptor whose filters all match) but evaluates every filter
  of each interceptor it tries, so the operator sees each reason, not only the first.
- It records each applied action with the fields it changed (before, after), stops at a
  reject, and its `result` is exactly `intercept(table, r)`.
- A Python interceptor is named, never run: the tester is pure and has no time limit.
- `lines()` is the text the shell's `mtrouter --test` and the admin API print before the
  route explanation.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from .interceptor_actions import Action, Reject
from .interceptors import Interception, InterceptorTable, intercept
from .routable import Routable


@dataclass(frozen=True, slots=True)
class FilterVerdict:
    fid: str
    description: str
    matched: bool


@dataclass(frozen=True, slots=True)
class InterceptorCheck:
    order: int
    kind: str
    filters: tuple[FilterVerdict, ...]

    @property
    def matched(self) -> bool:
        return all(v.matched for v in self.filters)


@dataclass(frozen=True, slots=True)
class ActionStep:
    """One applied action and the fields it changed: (field, before, after)."""
    description: str
    changes: tuple[tuple[str, object, object], ...]
    rejects: bool = False


@dataclass(frozen=True, slots=True)
class InterceptionExplanation:
    direction: str
    checks: tuple[InterceptorCheck, ...]      # in evaluation order, up to the winner
    steps: tuple[ActionStep, ...]             # the winner's actions, in order
    result: Interception

    def lines(self) -> list[str]:
        """A text rendering for the shell's and admin API's route tester."""
        label = f"{self.direction.upper()} interceptors"
        if not self.checks:
            return [f"{label}: none"]
        out = [f"{label}:"]
        for check in self.checks:
            verdict = "matched" if check.matched else "no match"
            out.append(f"  #{check.order} {check.kind}: {verdict}")
            out += [f"    {v.description} {'matched' if v.matched else 'did not match'}"
                    for v in check.filters]
        for step in self.steps:
            changes = "refuses the message" if step.rejects else "; ".join(
                f"{name} {before!r} -> {after!r}"
                for name, before, after in step.changes) or "no change"
            out.append(f"  action {step.description}: {changes}")
        out.append(f"  result: {_outcome(self.result)}")
        return out


def _outcome(result: Interception) -> str:
    if result.rejection is not None:
        rj = result.rejection
        return (f"rejected (smpp_status {rj.smpp_status:#x}, http {rj.http_status}, "
                f"{rj.message!r})")
    if result.order is None:
        return "no interceptor matched; message unchanged"
    if result.python is not None:
        return f"continue; python interceptor {result.python!r} runs next (not run here)"
    return "continue"


def _diff(before: Routable, after: Routable) -> tuple[tuple[str, object, object], ...]:
    if before is after:
        return ()
    return tuple((f.name, _shown(getattr(before, f.name)), _shown(getattr(after, f.name)))
                 for f in fields(Routable) if getattr(before, f.name) != getattr(after, f.name))


def _shown(value: object) -> object:
    """Tags and TLVs in a stable, readable order (frozensets print in hash order)."""
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return [(f"{tag:#06x}", v.hex()) for tag, v in value]
    return value


def _steps(actions: tuple[Action, ...], r: Routable) -> tuple[ActionStep, ...]:
    steps = []
    for action in actions:
        if isinstance(action, Reject):
            steps.append(ActionStep(action.describe(), (), rejects=True))
            break
        after = action.apply(r)
        steps.append(ActionStep(action.describe(), _diff(r, after)))
        r = after
    return tuple(steps)


def explain_interception(table: InterceptorTable, r: Routable) -> InterceptionExplanation:
    """`intercept`, with its reasons; `result` is what `intercept` gives."""
    checks = []
    steps: tuple[ActionStep, ...] = ()
    for order, interceptor in table.entries:
        check = InterceptorCheck(order, type(interceptor).__name__, tuple(
            FilterVerdict(f.fid, f.describe(), f.matches(r)) for f in interceptor.filters))
        checks.append(check)
        if check.matched:
            steps = _steps(interceptor.actions, r)
            break
    return InterceptionExplanation(table.direction, tuple(checks), steps, intercept(table, r))
