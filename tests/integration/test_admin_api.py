"""/admin/v1 over a loopback socket, a real ProvisioningService and the real SQLite store:
every resource, its validation errors (the service's words, as the shell shows them),
authorization (no token, wrong token, revoked token, read-only token on a write), the HTTP
edges (404, 405, 413, 415, 400) and the audit log."""
from __future__ import annotations

import json
from pathlib import Path
from typing import AsyncIterator

import pytest
import pytest_twisted
from twisted.internet import reactor

from twisted.internet.defer import maybeDeferred

from smscd.admin_api import AdminTokens, admin_api_site
from smscd.admin_api.routes import match
from smscd.shell.commands import COMMANDS
from smscd.shell.session import Session

from admin_api_side import AdminSide

CONNECTOR = {"id": "vendor-a", "hosts": ["127.0.0.1:2776"], "system_id": "acct",
             "password": "secret"}
HTTP = {"id": "http-01", "url": "http://127.0.0.1:8080/mo", "method": "POST",
        "username": "u", "password": "hidden"}
F33 = {"fid": "f33", "type": "DestinationAddrFilter", "destination_addr": "^33"}
DEFAULT_MT = {"order": 0, "type": "DefaultRoute", "connector": "vendor-a"}
STATIC_MT = {"order": 10, "type": "StaticMTRoute", "filters": ["f33"],
             "connector": "vendor-a", "rate": "0.05"}
USER = {"uid": "u1", "gid": "g1", "username": "alice", "password": "pw"}


@pytest_twisted.async_yield_fixture
async def side(tmp_path: Path) -> AsyncIterator[AdminSide]:
    s = AdminSide(tmp_path)
    await s.start()
    yield s
    await s.close()


async def routed(side: AdminSide) -> None:
    for path, body in (("/smppccs", CONNECTOR), ("/filters", F33), ("/mtroutes", DEFAULT_MT),
                       ("/mtroutes", STATIC_MT), ("/groups", {"gid": "g1"}),
                       ("/users", USER)):
        status, answer, _ = await side.call("POST", path, body)
        assert status == 201, answer


def error(answer: dict) -> tuple[str, str, str | None]:
    e = answer["error"]
    return e["code"], e["message"], e["field"]


# --- authorization ------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_tokens_no_wrong_revoked_and_read_only(side: AdminSide) -> None:
    """Breaks if a request without a valid token gets through, or a read-only token can
    write while it can still read."""
    for auth in (None, "Bearer adm_000000000000_" + "x" * 43, side.revoked,
                 side.write.replace("Bearer", "Basic"), "Bearer"):
        status, body, headers = await side.call("GET", "/groups", auth=auth)
        assert status == 401 and error(body)[0] == "unauthorized", auth
        assert headers.getRawHeaders(b"www-authenticate") == [b'Bearer realm="smscd-admin"']
    status, body, _ = await side.call("POST", "/groups", {"gid": "g1"}, auth=None)
    assert status == 401
    assert (await side.call("GET", "/groups", auth=side.read))[0] == 200
    status, body, _ = await side.call("POST", "/groups", {"gid": "g1"}, auth=side.read)
    assert status == 403 and error(body) == ("forbidden", "This admin token is read-only.",
                                             None)
    assert side.service is not None
    assert [g.gid for g in side.service.groups.list()] == ["default"]
    status, _, _ = await side.call("POST", "/mtrouter/test", {}, auth=side.read)
    assert status == 200            # the tester changes nothing: a read-only token may use it


@pytest_twisted.ensureDeferred
async def test_openapi_needs_no_token_and_names_every_route(side: AdminSide) -> None:
    """Breaks if the document is hidden behind auth or misses a route the server serves."""
    status, doc, _ = await side.call("GET", "/openapi.json", auth=None)
    assert status == 200 and doc["openapi"] == "3.1.0"
    assert "/admin/v1/smppccs/{cid}/start" in doc["paths"]
    assert "post" in doc["paths"]["/admin/v1/mtrouter/test"]


@pytest_twisted.ensureDeferred
async def test_a_token_revoked_while_running_stops_at_once(side: AdminSide) -> None:
    """Breaks if the daemon keeps honouring a token revoked from the CLI's copy of the file."""
    new = side.tokens.create("temp")
    auth = "Bearer " + new.token
    assert (await side.call("GET", "/groups", auth=auth))[0] == 200
    AdminTokens(side.tokens.path).revoke(new.info.id)      # another process, same file
    assert (await side.call("GET", "/groups", auth=auth))[0] == 401


# --- groups and users ---------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_groups(side: AdminSide) -> None:
    """Breaks if groups cannot be added, listed, disabled or removed, or a refusal loses the
    service's words or status."""
    status, body, _ = await side.call("POST", "/groups", {"gid": "g1"})
    assert (status, body) == (201, {"gid": "g1", "enabled": True})
    status, body, _ = await side.call("POST", "/groups", {"gid": "g1"})
    assert status == 409 and error(body)[0] == "already_exists"
    status, body, _ = await side.call("POST", "/groups", {"gid": "g1", "colour": "red"})
    assert status == 422 and error(body) == ("invalid_value", "Unknown Group key: colour",
                                             "colour")
    status, body, _ = await side.call("POST", "/groups", {})
    assert status == 422 and error(body)[2] == "gid"
    assert (await side.call("POST", "/groups/g1/disable"))[1] == {"gid": "g1",
                                                                  "enabled": False}
    assert (await side.call("POST", "/groups/g1/enable"))[1]["enabled"] is True
    assert (await side.call("GET", "/groups"))[1] == [{"gid": "default", "enabled": True},
                                                      {"gid": "g1", "enabled": True}]
    assert (await side.call("GET", "/groups/g1"))[0] == 200
    assert (await side.call("DELETE", "/groups/g1"))[1] == {"removed": "g1"}
    status, body, _ = await side.call("GET", "/groups/g1")
    assert status == 404 and error(body)[0] == "not_found"


@pytest_twisted.ensureDeferred
async def test_users(side: AdminSide) -> None:
    """Breaks if users cannot be managed over the API, a password or hash is shown, or the
    service's validation is bypassed."""
    await side.call("POST", "/groups", {"gid": "g1"})
    status, body, _ = await side.call("POST", "/users", USER)
    assert status == 201 and body["username"] == "alice"
    assert "password" not in json.dumps(body) and "scrypt" not in json.dumps(body)
    assert body["smpps_credential"]["authorization"]["bind"] is True
    status, body, _ = await side.call("POST", "/users", {**USER, "uid": "u2"})
    assert status == 409
    status, body, _ = await side.call("POST", "/users", {"uid": "u3", "gid": "g1"})
    assert status == 422 and error(body)[2] == "username"
    status, body, _ = await side.call("PATCH", "/users/u1", {"username": "bob"})
    assert status == 422 and error(body) == (
        "invalid_value", "username: User username can not be modified", "username")
    status, body, _ = await side.call("PATCH", "/users/u1", {"enabled": "yes"})
    assert status == 422 and error(body)[2] == "enabled"
    status, body, _ = await side.call("PATCH", "/users/u1", {
        "mt_credential": {"quota": {"http_throughput": "5"}}})
    assert status == 200, body
    assert (await side.call("POST", "/users/u1/disable"))[1]["enabled"] is False
    assert (await side.call("POST", "/users/u1/enable"))[1]["enabled"] is True
    assert [u["uid"] for u in (await side.call("GET", "/users?gid=g1"))[1]] == ["u1"]
    assert (await side.call("GET", "/users?gid=other"))[1] == []
    assert (await side.call("POST", "/users/u1/unbind"))[1] == {"unbound": 1}
    assert (await side.call("POST", "/users/u1/ban"))[1] == {"unbound": 1}
    body = (await side.call("GET", "/users/u1"))[1]
    assert body["smpps_credential"]["authorization"]["bind"] is False
    assert (await side.call("DELETE", "/users/u1"))[0] == 200
    assert (await side.call("GET", "/users/u1"))[0] == 404


@pytest_twisted.ensureDeferred
async def test_balance(side: AdminSide) -> None:
    """Breaks if an operator cannot read or set a user's quotas, or a bad value is not a
    422 naming the key."""
    await routed(side)
    status, body, _ = await side.call("GET", "/users/u1/balance")
    assert status == 200 and body["balance"] is None
    status, body, _ = await side.call("PATCH", "/users/u1/balance",
                                      {"balance": "12.50", "sms_count": 3})
    assert status == 200 and (body["balance"], body["sms_count"]) == ("12.50", 3)
    for bad, field in (({"balance": 5}, "balance"), ({"sms_count": "x"}, "sms_count"),
                       ({"colour": 1}, "colour")):
        status, body, _ = await side.call("PATCH", "/users/u1/balance", bad)
        assert status == 422 and error(body)[2] == field, body
    status, body, _ = await side.call("PATCH", "/users/u1/balance", {"balance": "-1"})
    assert status == 422, body
    assert (await side.call("GET", "/users/nobody/balance"))[0] == 404


@pytest_twisted.ensureDeferred
async def test_api_keys(side: AdminSide) -> None:
    """Breaks if REST keys cannot be created (shown once), listed and revoked for a user."""
    await routed(side)
    status, body, _ = await side.call("POST", "/users/u1/api-keys", {"label": "shop"})
    assert status == 201 and body["key"].startswith("sk_")
    assert await side.store.api_keys.verify(body["key"]) == "u1"
    listed = (await side.call("GET", "/users/u1/api-keys"))[1]
    assert [k["label"] for k in listed] == ["shop"] and "key" not in listed[0]
    assert (await side.call("DELETE", f"/users/u1/api-keys/{body['id']}"))[0] == 200
    assert await side.store.api_keys.verify(body["key"]) is None
    assert (await side.call("DELETE", f"/users/u1/api-keys/{body['id']}"))[0] == 404
    status, body, _ = await side.call("POST", "/users/u1/api-keys", {"label": 3})
    assert status == 422 and error(body)[2] == "label"
    assert (await side.call("GET", "/users/nobody/api-keys"))[0] == 404


# --- filters, routes, interceptors, connectors --------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_filters_and_mt_routes(side: AdminSide) -> None:
    """Breaks if routes and filters cannot be managed, or a dangling or in-use reference is
    not refused with the service's words."""
    await routed(side)
    assert [r["order"] for r in (await side.call("GET", "/mtroutes"))[1]] == [10, 0]
    status, body, _ = await side.call("PATCH", "/mtroutes/10", {"rate": "0.07"})
    assert status == 200 and body == {**STATIC_MT, "rate": "0.07"}
    status, body, _ = await side.call("POST", "/mtroutes", {**STATIC_MT, "order": 20,
                                                            "filters": ["nope"]})
    assert status == 422 and "nope" in error(body)[1]
    status, body, _ = await side.call("DELETE", "/filters/f33")
    assert status == 409 and error(body)[0] == "in_use" and "mt_route 10" in error(body)[1]
    assert (await side.call("GET", "/mtroutes/99"))[0] == 404
    assert (await side.call("GET", "/mtroutes/ten"))[0] == 404
    status, body, _ = await side.call("PATCH", "/filters/f33", {"destination_addr": "^34"})
    assert status == 200 and body["destination_addr"] == "^34"
    assert (await side.call("DELETE", "/mtroutes/10"))[1] == {"removed": 10}
    assert (await side.call("DELETE", "/filters/f33"))[0] == 200
    assert (await side.call("GET", "/filters"))[1] == []
    assert (await side.call("DELETE", "/mtroutes"))[1] == {"removed": 1}
    assert (await side.call("GET", "/mtroutes"))[1] == []
    status, body, _ = await side.call("POST", "/filters", {"fid": "x", "type": "Nope"})
    assert status == 422 and error(body)[2] is not None


@pytest_twisted.ensureDeferred
async def test_mo_side_interceptors_and_http_connectors(side: AdminSide) -> None:
    """Breaks if MO routes, interceptors or HTTP connectors cannot be managed, or an HTTP
    connector's password is shown."""
    await routed(side)
    status, body, _ = await side.call("POST", "/httpccs", HTTP)
    assert status == 201 and "password" not in body and body["username"] == "u"
    status, body, _ = await side.call("POST", "/moroutes", {
        "order": 0, "type": "DefaultRoute", "target": "http(http-01)"})
    assert status == 201, body
    status, body, _ = await side.call("DELETE", "/httpccs/http-01")
    assert status == 409 and error(body)[0] == "in_use"
    status, body, _ = await side.call("PATCH", "/httpccs/http-01", {"timeout": 5})
    assert status == 200 and body["timeout"] == 5
    for table, kind in (("mtinterceptors", "StaticMTInterceptor"),
                        ("mointerceptors", "StaticMOInterceptor")):
        rule = {"order": 5, "type": kind, "filters": ["f33"],
                "actions": [{"action": "add_tags", "tags": ["fr"]}]}
        status, body, _ = await side.call("POST", f"/{table}", rule)
        assert status == 201 and body == rule, body
        assert (await side.call("GET", f"/{table}/5"))[1] == rule
        assert (await side.call("DELETE", f"/{table}/5"))[0] == 200
    status, body, _ = await side.call("POST", "/mointerceptors", {
        "order": 8, "type": "StaticMTInterceptor", "filters": ["f33"],
        "actions": [{"action": "add_tags", "tags": ["x"]}]})
    assert status == 422 and error(body)[2] == "type"
    assert (await side.call("DELETE", "/moroutes/0"))[0] == 200
    assert (await side.call("GET", "/moroutes"))[1] == []
    assert (await side.call("DELETE", "/httpccs/http-01"))[0] == 200


@pytest_twisted.ensureDeferred
async def test_smpp_connectors_start_stop_status(side: AdminSide) -> None:
    """Breaks if a connector cannot be started, stopped or inspected over the API, a wrong
    state is not a 409, or its password is shown."""
    status, body, _ = await side.call("POST", "/smppccs", CONNECTOR)
    assert status == 201 and body["started"] is False and "password" not in body
    status, body, _ = await side.call("POST", "/smppccs/vendor-a/start")
    assert status == 200 and (body["service"], body["binds"]) == ("started", 1)
    status, body, _ = await side.call("POST", "/smppccs/vendor-a/start")
    assert status == 409 and error(body)[0] == "wrong_state"
    assert (await side.call("GET", "/smppccs/vendor-a"))[1]["started"] is True
    assert (await side.call("GET", "/smppccs/vendor-a/status"))[1]["session"] == "BOUND_TRX"
    status, body, _ = await side.call("PATCH", "/smppccs/vendor-a", {"system_id": "other"})
    assert status == 200 and body["system_id"] == "other"
    assert (await side.call("POST", "/smppccs/vendor-a/stop"))[1]["service"] == "stopped"
    assert (await side.call("POST", "/smppccs/nope/stop"))[0] == 404
    status, body, _ = await side.call("POST", "/smppccs", {"id": "b"})
    assert status == 422 and error(body)[1], body
    assert (await side.call("DELETE", "/smppccs/vendor-a"))[0] == 200
    assert (await side.call("GET", "/smppccs"))[1] == []


# --- queues, stats, tester, profile -------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_dead_letters_list_requeue_and_purge(side: AdminSide) -> None:
    """Breaks if an operator cannot see, requeue and purge dead letters, or an unknown one
    or a bad limit is not said so."""
    q = side.store.queues
    await q.publish("mt:vendor-a", "m1", b"payload")
    [entry] = q.take("mt:vendor-a", 10)
    await q.dead_letter(entry, "vendor refused")
    status, body, _ = await side.call("GET", "/queues/mt:vendor-a/dead-letters?limit=10")
    assert status == 200 and [(d["key"], d["reason"]) for d in body] == [
        ("m1", "vendor refused")]
    status, body, _ = await side.call("GET", "/queues/mt:vendor-a/dead-letters?limit=0")
    assert status == 422 and error(body)[2] == "limit"
    status, body, _ = await side.call("GET", "/queues/mt:vendor-a/dead-letters?colour=1")
    assert status == 422 and error(body)[2] == "colour"
    dead_id = body and (await side.call("GET", "/queues/mt:vendor-a/dead-letters"))[1][0]["id"]
    assert (await side.call("POST", f"/dead-letters/{dead_id}/requeue"))[0] == 200
    assert q.depth("mt:vendor-a") == 1
    assert (await side.call("POST", f"/dead-letters/{dead_id}/requeue"))[0] == 404
    assert (await side.call("GET", "/queues/mt:vendor-a/dead-letters"))[1] == []
    [entry] = q.take("mt:vendor-a", 10)
    await q.dead_letter(entry, "again")
    status, body, _ = await side.call("DELETE", "/queues/mt:vendor-a/dead-letters")
    assert (status, body) == (200, {"purged": 1})
    assert (await side.call("GET", "/queues/mt:vendor-a/dead-letters"))[1] == []
    assert q.depth("mt:vendor-a") == 0


@pytest_twisted.ensureDeferred
async def test_what_the_daemon_lacks_is_a_501(side: AdminSide) -> None:
    """Breaks if a site without queues, billing or API keys crashes instead of saying so."""
    await routed(side)
    port = reactor.listenTCP(0, admin_api_site(side.service, None, None, side.tokens),
                             interface="127.0.0.1")
    base = f"http://127.0.0.1:{port.getHost().port}"
    try:
        for method, path in (("GET", "/users/u1/balance"), ("GET", "/users/u1/api-keys"),
                             ("GET", "/queues/mt:x/dead-letters"),
                             ("POST", "/dead-letters/1/requeue")):
            status, body, _ = await side.call(method, path, base=base)
            assert status == 501 and error(body)[0] == "not_implemented", path
        status, body, _ = await side.call("GET", "/stats", base=base)
        assert status == 200 and "queue_depths" not in body
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_stats(side: AdminSide) -> None:
    """Breaks if stats miss a connector's status or its queue depth."""
    await routed(side)
    await side.store.queues.publish("mt:vendor-a", "m1", b"x")
    status, body, _ = await side.call("GET", "/stats", auth=side.read)
    assert status == 200 and [s["cid"] for s in body["smpp_connectors"]] == ["vendor-a"]
    assert body["queue_depths"] == {"mt:vendor-a": 1}
    assert (body["users"], body["groups"]) == (1, 2)          # g1 and "default"


@pytest_twisted.ensureDeferred
async def test_route_tester(side: AdminSide) -> None:
    """Breaks if the tester does not explain on the live tables or accepts unusable facts."""
    await routed(side)
    await side.call("POST", "/smppccs/vendor-a/start")
    status, body, _ = await side.call("POST", "/mtrouter/test", {
        "user": "u1", "destination_addr": "33612345678"})
    assert status == 200, body
    assert "  route: #10 StaticMTRoute to smppc(vendor-a), rated 0.05" in body["lines"]
    for bad, field in (({"colour": "red"}, "colour"), ({"user": "nobody"}, "user"),
                       ({"priority": "1"}, "priority")):
        status, body, _ = await side.call("POST", "/mtrouter/test", bad)
        assert status == 422 and error(body)[2] == field
    status, body, _ = await side.call("POST", "/morouter/test", {"destination_addr": "1"})
    assert status == 200 and body["lines"], body


@pytest_twisted.ensureDeferred
async def test_profile_export_import(side: AdminSide) -> None:
    """Breaks if the profile does not round-trip over the API or a bad one changes anything."""
    await routed(side)
    status, body, _ = await side.call("GET", "/profile")
    assert status == 200 and "vendor-a" in body["profile"]
    profile = body["profile"]
    await side.call("DELETE", "/mtroutes")
    status, body, _ = await side.call("PUT", "/profile", {"profile": profile})
    assert status == 200 and body["imported"], body
    assert [r["order"] for r in (await side.call("GET", "/mtroutes"))[1]] == [10, 0]
    status, body, _ = await side.call("PUT", "/profile", {"profile": "version: 9\n"})
    assert status == 422, body
    status, body, _ = await side.call("PUT", "/profile", {"text": "x"})
    assert status == 422 and error(body)[2] == "profile"
    assert [r["order"] for r in (await side.call("GET", "/mtroutes"))[1]] == [10, 0]


async def shell_line(session: Session, line: str) -> list[str]:
    """What the jCli shell shows for `line`, its service call awaited as the transport does."""
    reply, out = session.step(line), []
    while True:
        out += list(reply.lines)
        if reply.call is None:
            return out
        call = reply.call
        try:
            outcome = (await maybeDeferred(call.run), True)
        except Exception as e:
            outcome = (e, False)
        reply = session.finish(call, *outcome)


@pytest_twisted.ensureDeferred
async def test_same_words_as_the_shell(side: AdminSide) -> None:
    """Breaks if the API and the shell word the same refusal differently (in use, unknown)."""
    await routed(side)
    shell = Session(COMMANDS, side.service, "tester", 1)
    for shell_command, method, path in (("filter -r f33", "DELETE", "/filters/f33"),
                                        ("smppccm -r vendor-a", "DELETE", "/smppccs/vendor-a"),
                                        ("filter -r nope", "DELETE", "/filters/nope")):
        status, body, _ = await side.call(method, path)
        assert status in (404, 409), body
        shown = await shell_line(shell, shell_command)      # Jasmin prefixes refusals only
        assert [line.removeprefix("Error: ") for line in shown] == [error(body)[1]]


# --- HTTP edges and audit -----------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_http_edges(side: AdminSide) -> None:
    """Breaks if a malformed request gets anything but its own 4xx in the error format."""
    status, body, _ = await side.call("GET", "/nothing")
    assert status == 404 and error(body)[0] == "not_found"
    status, body, headers = await side.call("PUT", "/groups")
    assert status == 405 and headers.getRawHeaders(b"allow") == [b"GET, POST"]
    status, body, _ = await side.call("POST", "/groups", raw=b"gid=g1",
                                      content_type="application/x-www-form-urlencoded")
    assert status == 415
    for raw in (b"{nope", b'{"gid": NaN}', b""):
        status, body, _ = await side.call("POST", "/groups", raw=raw)
        assert status == 400 and error(body)[0] == "invalid_json", raw
    status, body, _ = await side.call("POST", "/groups", ["g1"])
    assert status == 422
    status, body, _ = await side.call("PUT", "/profile", {"profile": "x" * 70000})
    assert status == 413 and error(body)[0] == "too_large"
    status, body, _ = await side.call("GET", "/groups/%2E%2E%2Fx")
    assert status == 404


@pytest_twisted.ensureDeferred
async def test_writes_are_audited_without_bodies(side: AdminSide) -> None:
    """Breaks if a change over the API leaves no audit line (who, from where, what, how it
    ended), a read is logged, or a password reaches the log."""
    await routed(side)
    await side.call("GET", "/users")
    await side.call("POST", "/groups", {"gid": "g1"})
    lines = [json.loads(x) for x in side.audit.path.read_text().splitlines()]
    assert [x["what"] for x in lines][-2:] == ["POST /admin/v1/users", "POST /admin/v1/groups"]
    assert lines[-2]["ok"] is True and lines[-1]["ok"] is False and "g1" in lines[-1]["error"]
    assert lines[-1]["operator"].startswith("admin-token:") and lines[-1]["peer"] == "127.0.0.1"
    assert "pw" not in side.audit.path.read_text().replace("POST", "")


@pytest.mark.parametrize("order", ["1e3", "", "9" * 30])
def test_order_must_be_a_plain_integer(order: str) -> None:
    """Breaks if a route order that is not a small integer reaches the service."""
    found, malformed = match(("mtroutes", order) if order else ("mtroutes", "-"))
    assert found == [] and malformed
