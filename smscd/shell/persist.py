# tests: tests/unit/test_shell_modules.py
"""jCli `persist` / `load` (reference §7.2) over versioned YAML profiles.

Every change is durable the moment it is made, so `persist` is never needed; it still
exports the whole provisioning to `<data_dir>/profiles/<PROFILE>.yaml` (a backup, or a
copy for another node) and `load` imports one, replacing the provisioning as one change
after validating all of it (nothing changes if any part is wrong). The answer keeps
jCli's one line per manager, in jCli's order.
"""
from __future__ import annotations

from typing import Any

from smscd.service.api import InvalidValue

from .grammar import Command, Context, Opt
from .reply import Reply, call, say

MANAGERS = ("group", "user", "mointerceptor", "mtinterceptor", "morouter", "mtrouter",
            "smppcc", "filter", "httpcc")
DEFAULT_PROFILE = "jcli-prod"


def _lines(template: str, profile: str) -> tuple[str, ...]:
    return tuple(template.format(name=m, profile=profile) for m in MANAGERS)


def _persist(ctx: Context, opts: Any, arg: str) -> Reply:
    profile = opts.profile
    failed = _lines("Failed to persist {name} configuration (profile:{profile})", profile)
    if ctx.profiles is None:
        return say(*failed, "Error: profiles are not available in this shell")

    def failure(e: Exception) -> Reply:
        return Reply(lines=failed + (f"Error: {e}",))

    return call(lambda: ctx.profiles.save(profile, ctx.service.export_profile()),
                f"persist -p {profile}",
                lambda _: Reply(lines=_lines("{name} configuration persisted "
                                             "(profile:{profile})", profile)), failure)


def _load(ctx: Context, opts: Any, arg: str) -> Reply:
    profile = opts.profile
    failed = _lines("Failed to load {name} configuration (profile:{profile})", profile)
    if ctx.profiles is None:
        return say(*failed, "Error: profiles are not available in this shell")
    try:
        text = ctx.profiles.read(profile)
    except (ValueError, OSError) as e:
        return say(*failed, f"Error: {e}")

    def failure(e: Exception) -> Reply:
        problems = e.problems if isinstance(e, InvalidValue) else (str(e),)
        return Reply(lines=failed + tuple(f"Error: {p}" for p in problems))

    return call(lambda: ctx.service.import_profile(text), f"load -p {profile}",
                lambda _: Reply(lines=_lines("{name} configuration loaded (profile:{profile})",
                                             profile)), failure)


_PROFILE = Opt("-p", "--profile", "Configuration profile, default: jcli-prod",
               takes="PROFILE")

PERSIST = Command("persist", "Persist current configuration profile to disk in PROFILE",
                  (_PROFILE,), defaults={"profile": DEFAULT_PROFILE}, run=_persist)
LOAD = Command("load", "Load configuration PROFILE profile from disk",
               (_PROFILE,), defaults={"profile": DEFAULT_PROFILE}, run=_load)
