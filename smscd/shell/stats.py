# tests: tests/unit/test_shell_modules.py
"""jCli `stats` (reference §7.10): what smscd measures today, in jCli's layout.

`--smppcs` and `--smppc=CID` come from the live connector status; the per-user, HTTP API
and SMPP server counters are not collected yet, and say so instead of printing zeros.
"""
from __future__ import annotations

from .common import exists
from .grammar import Action, Command, Context, Opt
from .reply import Reply, say


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """tabulate's "plain" layout: columns padded to their widest cell, two spaces apart."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
            for r in [header, *rows]]


def _smppcs(ctx: Context, _: object, arg: str) -> Reply:
    statuses = ctx.service.smpp_connectors.statuses()
    rows = [[f"#{s.cid}", s.service, s.session, str(s.binds), f"{s.throughput:.1f}",
             str(s.queue_depth), s.last_error or "ND"] for s in statuses]
    lines = _table(["#Connector id", "Service", "Session", "Binds", "Submits/s", "Queue",
                    "Last error"], rows)
    return say(*lines, f"Total connectors: {len(statuses)}")


def _smppc(ctx: Context, cid: str, arg: str) -> Reply:
    api = ctx.service.smpp_connectors
    if not exists(api.get, cid):
        return say(f"Unknown connector: {cid}")
    s = api.status(cid)
    items = [("service", s.service), ("session", s.session), ("binds", s.binds),
             ("window_in_use", s.window_in_use), ("throughput", f"{s.throughput:.1f}"),
             ("queue_depth", s.queue_depth), ("starts", s.starts), ("stops", s.stops),
             ("last_error", s.last_error or "ND")]
    return say(*_table(["#Item", "Value"], [[f"#{k}", str(v)] for k, v in items]))


def _not_collected(what: str) -> Action:
    def action(ctx: Context, _: object, arg: str) -> Reply:
        return say(f"Error: {what} statistics are not collected by this smscd yet")
    return action


COMMAND = Command("stats", "Stats management", (
    Opt(None, "--user", "Show user stats using it's UID", _not_collected("user"), "UID"),
    Opt(None, "--users", "Show all users stats", _not_collected("user")),
    Opt(None, "--smppc", "Show smpp connector stats using it's CID", _smppc, "CID"),
    Opt(None, "--smppcs", "Show all smpp connectors stats", _smppcs),
    Opt(None, "--httpapi", "Show HTTP API stats", _not_collected("HTTP API")),
    Opt(None, "--smppsapi", "Show SMPP Server API stats", _not_collected("SMPP server")),
))
