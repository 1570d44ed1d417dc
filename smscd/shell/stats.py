# tests: tests/unit/test_shell_modules.py, tests/unit/test_stats.py, tests/integration/test_stats_shell.py
"""jCli `stats` (reference §7.10): what smscd measures, in jCli's layout.

`--smppcs` and `--smppc=CID` come from the live connector status; `--users`, `--user=UID`,
`--httpapi` and `--smppsapi` read the daemon's in-memory counters (smscd.stats.Stats, the
Context's `stats`). Rules: tabulate "plain" columns; dates `%Y-%m-%d %H:%M:%S` (UTC) or
`ND` for never; `--users` lists every provisioned user, `--user` refuses an unknown one
(`Unknown User: <uid>`) and shows zeros for a user with no traffic yet.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from smscd.stats import (BIND_KINDS, BIND_NAMES, HttpApiStats, HttpUserStats, SmppServerStats,
                         SmppUserStats, Stats)

from .common import exists
from .grammar import Action, Command, Context, Opt
from .reply import Reply, say

SMPPS_ID = "smpps_01"


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


def _date(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if at else "ND"


def _bound(bound: dict[str, int]) -> dict[str, int]:
    """Jasmin's bound_connections_count: by bind command name, sorted."""
    return dict(sorted((BIND_NAMES[kind], n) for kind, n in bound.items()))


def smpp_user_items(u: SmppUserStats) -> list[tuple[str, str]]:
    """§6.4 `smpps` of one user, as (key, shown value)."""
    return [("bind_count", str(u.bind_count)), ("unbind_count", str(u.unbind_count)),
            ("bound_connections_count", json.dumps(_bound(u.bound))),
            ("bound_peer_ips", json.dumps(sorted(u.peers))),
            ("submit_sm_request_count", str(u.submit_sm_request_count)),
            ("last_activity_at", _date(u.last_activity_at)),
            ("qos_last_submit_sm_at", _date(u.qos_last_submit_sm_at)),
            ("submit_sm_count", str(u.submit_sm_count)),
            ("deliver_sm_count", str(u.deliver_sm_count)),
            ("data_sm_count", str(u.data_sm_count)), ("elink_count", str(u.elink_count)),
            ("throttling_error_count", str(u.throttling_error_count)),
            ("other_submit_error_count", str(u.other_submit_error_count))]


def http_user_items(u: HttpUserStats) -> list[tuple[str, str]]:
    """§6.4 `httpapi` of one user."""
    return [("connects_count", str(u.connects_count)),
            ("last_activity_at", _date(u.last_activity_at)),
            ("submit_sm_request_count", str(u.submit_sm_request_count)),
            ("balance_request_count", str(u.balance_request_count)),
            ("rate_request_count", str(u.rate_request_count)),
            ("qos_last_submit_sm_at", _date(u.qos_last_submit_sm_at))]


def smpps_items(s: SmppServerStats) -> list[tuple[str, str]]:
    """§7.10 `stats --smppsapi`."""
    items = [("created_at", _date(s.created_at)),
             ("last_received_pdu_at", _date(s.last_received_pdu_at)),
             ("last_sent_pdu_at", _date(s.last_sent_pdu_at)),
             ("last_received_elink_at", _date(s.last_received_elink_at)),
             ("connected_count", str(s.connected_count)),
             ("connect_count", str(s.connect_count)),
             ("disconnect_count", str(s.disconnect_count))]
    items += [(f"bound_{k}_count", str(s.bound[k])) for k in BIND_KINDS]
    items += [(f"bind_{k}_count", str(s.binds[k])) for k in BIND_KINDS]
    return items + [("unbind_count", str(s.unbind_count)),
                    ("submit_sm_request_count", str(s.submit_sm_request_count)),
                    ("submit_sm_count", str(s.submit_sm_count)),
                    ("deliver_sm_count", str(s.deliver_sm_count)),
                    ("data_sm_count", str(s.data_sm_count)),
                    ("elink_count", str(s.elink_count)),
                    ("throttling_error_count", str(s.throttling_error_count)),
                    ("other_submit_error_count", str(s.other_submit_error_count)),
                    ("interceptor_error_count", str(s.interceptor_error_count)),
                    ("interceptor_count", str(s.interceptor_count))]


def httpapi_items(h: HttpApiStats) -> list[tuple[str, str]]:
    """§7.10 `stats --httpapi`."""
    e = h.errors
    return [("created_at", _date(h.created_at)), ("request_count", str(h.request_count)),
            ("last_request_at", _date(h.last_request_at)),
            ("auth_error_count", str(e["auth"])), ("route_error_count", str(e["route"])),
            ("interceptor_error_count", str(e["interceptor"])),
            ("interceptor_count", str(h.interceptor_count)),
            ("throughput_error_count", str(e["throughput"])),
            ("charging_error_count", str(e["charging"])),
            ("server_error_count", str(e["server"])), ("success_count", str(h.success_count)),
            ("last_success_at", _date(h.last_success_at))]


def users_lines(stats: Stats, uids: list[str]) -> list[str]:
    """`stats --users`: one row per user, then the total."""
    rows = []
    for uid in uids:
        smpp, http = stats.smpp_user(uid), stats.http_user(uid)
        rows.append([f"#{uid}", str(sum(smpp.bound.values())),
                     json.dumps(sorted(smpp.peers)), _date(smpp.last_activity_at),
                     str(http.connects_count), _date(http.last_activity_at)])
    return [*_table(["#User id", "SMPP Bound connections", "SMPP Peer IPs", "SMPP L.A.",
                     "HTTP requests counter", "HTTP L.A."], rows), f"Total users: {len(uids)}"]


def user_lines(stats: Stats, uid: str) -> list[str]:
    """`stats --user=UID`: the SMPP server items, then the HTTP API items."""
    rows = [[f"#{k}", "SMPP Server", v] for k, v in smpp_user_items(stats.smpp_user(uid))]
    rows += [[f"#{k}", "HTTP Api", v] for k, v in http_user_items(stats.http_user(uid))]
    return _table(["#Item", "Type", "Value"], rows)


def items_lines(items: list[tuple[str, str]]) -> list[str]:
    return _table(["#Item", "Value"], [[f"#{k}", v] for k, v in items])


def _needs_stats(action: Action) -> Action:
    def guarded(ctx: Context, value: Any, arg: str) -> Reply:
        if ctx.stats is None:
            return say("Error: runtime statistics are not available in this shell")
        return action(ctx, value, arg)
    return guarded


def _users(ctx: Context, _: object, arg: str) -> Reply:
    return say(*users_lines(ctx.stats, [u.uid for u in ctx.service.users.list()]))


def _user(ctx: Context, uid: str, arg: str) -> Reply:
    if not exists(ctx.service.users.get, uid):
        return say(f"Unknown User: {uid}")
    return say(*user_lines(ctx.stats, uid))


def _httpapi(ctx: Context, _: object, arg: str) -> Reply:
    return say(*items_lines(httpapi_items(ctx.stats.httpapi)))


def _smppsapi(ctx: Context, _: object, arg: str) -> Reply:
    return say(*items_lines(smpps_items(ctx.stats.smpps)))


COMMAND = Command("stats", "Stats management", (
    Opt(None, "--user", "Show user stats using it's UID", _needs_stats(_user), "UID"),
    Opt(None, "--users", "Show all users stats", _needs_stats(_users)),
    Opt(None, "--smppc", "Show smpp connector stats using it's CID", _smppc, "CID"),
    Opt(None, "--smppcs", "Show all smpp connectors stats", _smppcs),
    Opt(None, "--httpapi", "Show HTTP API stats", _needs_stats(_httpapi)),
    Opt(None, "--smppsapi", "Show SMPP Server API stats", _needs_stats(_smppsapi)),
))
