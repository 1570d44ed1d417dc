# tests: tests/unit/test_shell_modules.py
"""jCli `httpccm`: HTTP callback connectors for MO (reference §7.6), plus `-u` in place.

Unlike Jasmin (#473), they live in the daemon, shared by every session and durable at once.
Keys: jCli's cid, url, method, and smscd's username, password, connect_timeout, timeout
and `headers Name: value; Other: value`.
"""
from __future__ import annotations

from typing import Any

from .common import exists, row, saving_call, simple_call
from .drafts import KeyDraft, KeyCheck, accept
from .grammar import Command, Context, Opt
from .reply import Reply, say
from .smppccm import number


def _number(value: str) -> tuple[object, str | None]:
    return number(value), None


def _headers(value: str) -> tuple[object, str | None]:
    pairs = [h.partition(":") for h in value.split(";") if h.strip()]
    if any(not sep for _, sep, _ in pairs):
        return None, "Error: headers must be `Name: value` pairs separated by ;"
    return {n.strip(): v.strip() for n, _, v in pairs}, None


CHECKS: dict[str, KeyCheck] = {
    "cid": accept, "url": accept, "method": lambda v: (v.upper(), None),
    "username": accept, "password": accept, "headers": _headers,
    "connect_timeout": _number, "timeout": _number,
}


def _spec(values: dict[str, Any]) -> dict[str, Any]:
    return {("id" if k == "cid" else k): v for k, v in values.items()}


def _masked(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={'***' if k == 'password' else v}" for k, v in values.items())


def _list(ctx: Context, _: object, arg: str) -> Reply:
    connectors = ctx.service.http_connectors.list()
    widths = [16, 22, 6]
    lines = [row(["Httpcc id", "Type", "Method", "URL"], widths)] if connectors else []
    lines += [row([c.id, "HttpConnector", c.method, c.url], widths) for c in connectors]
    return say(*lines, f"Total Httpccs: {len(connectors)}")


def _add(ctx: Context, _: object, arg: str) -> Reply:
    def save(values: dict[str, Any]) -> Reply:
        missing = [k for k in ("cid", "url", "method") if k not in values]
        if missing:
            return say("You must set these options before saving: cid, url, method")
        spec = _spec(values)
        return saving_call(lambda: ctx.service.http_connectors.add(spec),
                           f"httpccm -a: {_masked(values)}",
                           lambda _: f"Successfully added Httpcc [HttpConnector] with "
                                     f"cid:{values['cid']}",
                           "Failed adding Httpcc, check log for details", {"id": "cid"})

    draft = KeyDraft("Adding a new Httpcc: (ok: save, ko: exit)", dict(CHECKS),
                     "Unknown Httpcc key: %s", save)
    return Reply(lines=(draft.announcement,), draft=draft)


def _update(ctx: Context, cid: str, arg: str) -> Reply:
    api = ctx.service.http_connectors
    if not exists(api.get, cid):
        return say(f"Unknown Httpcc: {cid}")

    def save(values: dict[str, Any]) -> Reply:
        if not values:
            return say("Nothing to save")
        return saving_call(lambda: api.update(cid, _spec(values)),
                           f"httpccm -u {cid}: {_masked(values)}",
                           lambda _: f"Successfully updated Httpcc id:{cid}",
                           "Failed updating Httpcc, check log for details")

    draft = KeyDraft(f"Updating Httpcc id [{cid}]: (ok: save, ko: exit)", dict(CHECKS),
                     "Unknown Httpcc key: %s", save,
                     refused={"cid": "Httpcc id can not be modified !"})
    return Reply(lines=(draft.announcement,), draft=draft)


def _show(ctx: Context, cid: str, arg: str) -> Reply:
    api = ctx.service.http_connectors
    if not exists(api.get, cid):
        return say(f"Unknown Httpcc: {cid}")
    c = api.get(cid)
    lines = ["HttpConnector:", f"cid = {c.id}", f"baseurl = {c.url}", f"method = {c.method}"]
    if c.username is not None:
        lines.append(f"username = {c.username}")
    lines += [f"header {name}: {value}" for name, value in c.headers]
    return say(*lines)


def _remove(ctx: Context, cid: str, arg: str) -> Reply:
    api = ctx.service.http_connectors
    if not exists(api.get, cid):
        return say(f"Unknown Httpcc: {cid}")
    return simple_call(lambda: api.remove(cid), f"httpccm -r {cid}",
                       f"Successfully removed Httpcc id:{cid}",
                       "Failed removing Httpcc, check log for details")


COMMAND = Command("httpccm", "HTTP client connector management", (
    Opt("-l", "--list", "List HTTP client connectors", _list),
    Opt("-a", "--add", "Add a new HTTP client connector", _add),
    Opt("-u", "--update", "Update HTTP client connector using it's CID", _update, "CID"),
    Opt("-r", "--remove", "Remove HTTP client connector using it's CID", _remove, "CID"),
    Opt("-s", "--show", "Show HTTP client connector using it's CID", _show, "CID"),
))
