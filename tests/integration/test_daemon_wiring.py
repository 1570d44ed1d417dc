"""The daemon wires its finished parts together: failover fall-through runs, HTTP level-1
callbacks fire at vendor acceptance, cancel_sm gives the hold back, the REST API's limits.
The real daemon over loopback, simulators as vendors, the real SQLite store."""
from __future__ import annotations

from decimal import Decimal
import base64
import json
from pathlib import Path
from typing import Any, AsyncIterator
from io import BytesIO
from urllib.parse import urlencode

import pytest_twisted
from twisted.internet import reactor
from twisted.web import server
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers

from connectors.sim_config import SimulatorConfig
from connectors.simulator import SimulatorService
from smscd.config import load_config
from smscd.daemon import Daemon
from smscd.smpp import pdu as P
from smscd.smpp.status import CommandStatus as S

from test_http_callbacks import Receiver, _Endpoint
from test_routing_e2e import PASSWORD, World, submit


async def start_world(tmp_path: Path, cids: tuple[str, ...] = ("vnd1", "vnd2"),
                      sim: dict[str, Any] | None = None, **config: Any) -> World:
    sims, ports = {}, {}
    for cid in cids:
        sims[cid] = SimulatorService(SimulatorConfig(
            accounts={"v": "vpw"}, receipt_delay=0.0, record_submits=True, mo_system_id="v",
            **(sim or {})), reactor)
        ports[cid] = await sims[cid].start(0)
    raw: dict[str, Any] = {"data_dir": str(tmp_path), "smpp_server": {"port": 0},
                           "http_api": {"port": 0}, "shell": {"port": 0},
                           "admin_api": {"port": 0}, "demo": {"simulator": False}}
    raw.update(config)
    daemon = Daemon(load_config(raw), reactor, lambda line: None)
    await daemon.start()
    return World(daemon, sims, ports)


async def stop_world(w: World) -> None:
    for proto in w.binds:
        if not proto.session.closed:
            proto.close()
    await w.daemon.stop()
    for sim in w.sims.values():
        await sim.stop()


@pytest_twisted.async_yield_fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    w = await start_world(tmp_path, routing={"fallthrough_after": 0.2},
                          rest_api={"max_body_size": 100_000, "busy_queue_depth": 2})
    yield w
    await stop_world(w)


@pytest_twisted.ensureDeferred
async def test_failover_messages_queued_on_a_connector_that_goes_down_reach_the_next(
        world: World) -> None:
    """Breaks if the daemon does not run FallThrough: messages queued for a failover
    route's first connector wait for it forever once it goes down."""
    await world.user("alice")
    await world.connector("vnd1")
    await world.service.smpp_connectors.update("vnd1", {"throughput": 0.01})  # 1 now, then none
    runner = world.daemon.live.running["vnd1"]                 # type: ignore[union-attr]
    await runner.until(lambda c: any(p.session.bound for p in c.bound))
    await world.connector("vnd2")
    await world.service.mt_routes.add({"order": 0, "type": "DefaultRoute", "connector": "vnd1"})
    await world.service.filters.add({"fid": "fo", "type": "DestinationAddrFilter",
                                     "destination_addr": "^44"})
    await world.service.mt_routes.add({"order": 10, "type": "FailoverMTRoute",
                                       "filters": ["fo"], "connectors": ["vnd1", "vnd2"]})
    esme = await world.bind("alice")
    for i in range(3):
        assert (await submit(esme, f"447000{i}")).command_status == S.ESME_ROK
    await world.sims["vnd1"].until(lambda s: len(s.received.submits) == 1)
    assert world.sims["vnd2"].received.submits == []
    await world.sims["vnd1"].stop()                            # vnd1 goes down, 2 queued
    await world.sims["vnd2"].until(lambda s: len(s.received.submits) == 2)
    sent = sorted(p.destination_addr for s in world.sims.values() for p in s.received.submits)
    assert sent == ["4470000", "4470001", "4470002"]
    assert world.daemon.fallthrough is not None and world.daemon.fallthrough.moved == 2


@pytest_twisted.ensureDeferred
async def test_http_send_with_dlr_level_1_gets_its_callback_when_the_vendor_accepts(
        world: World) -> None:
    """Breaks if the daemon's connectors do not queue the level-1 callback (Jasmin's
    dlr-level 1: the vendor's submit_sm_resp) of a message sent over /send."""
    await world.user("alice")
    await world.connector("vnd1")
    await world.service.mt_routes.add({"order": 0, "type": "DefaultRoute", "connector": "vnd1"})
    receiver = Receiver()
    listening = reactor.listenTCP(0, server.Site(_Endpoint(receiver)), interface="127.0.0.1")
    pool = HTTPConnectionPool(reactor, persistent=False)
    try:
        query = urlencode({"username": "alice", "password": PASSWORD, "to": "33600000001",
                           "content": "hello", "dlr": "yes", "dlr-level": "1",
                           "dlr-method": "GET",
                           "dlr-url": f"http://127.0.0.1:{listening.getHost().port}/dlr"})
        url = f"http://127.0.0.1:{world.daemon.http_port}/send?{query}"
        response = await Agent(reactor, pool=pool).request(b"GET", url.encode())
        body = (await readBody(response)).decode()
        assert response.code == 200, body
        message_id = body.split('"')[1]
        await receiver.until(1)
        [(method, params, _)] = receiver.got
        assert (method, params["id"], params["level"], params["message_status"],
                params["connector"]) == ("GET", message_id, "1", "ESME_ROK", "vnd1")
    finally:
        await pool.closeCachedConnections()
        await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_cancel_sm_gives_the_billing_hold_back_at_once(world: World) -> None:
    """Breaks if the SMPP server's cancel_sm leaves the cancelled message's money held
    (REST DELETE releases it; cancel_sm must too)."""
    await world.user("alice")
    await world.connector("vnd1", start=False)              # queued, never sent
    await world.service.mt_routes.add({"order": 0, "type": "DefaultRoute", "connector": "vnd1",
                                       "rate": "1.5"})
    billing = world.daemon.store.billing                    # type: ignore[union-attr]
    await billing.set_balance("alice", "5")
    esme = await world.bind("alice")
    resp = await submit(esme)
    assert resp.command_status == S.ESME_ROK
    assert billing.account("alice").balance == Decimal("3.5")
    cancelled = await esme.request(P.CancelSm(message_id=resp.message_id))
    assert cancelled.command_status == S.ESME_ROK
    assert billing.account("alice").balance == Decimal(5)
    again = await esme.request(P.CancelSm(message_id=resp.message_id))
    assert again.command_status == S.ESME_RCANCELFAIL
    assert billing.account("alice").balance == Decimal(5)


@pytest_twisted.ensureDeferred
async def test_a_vendor_refusal_for_good_gives_the_hold_back(tmp_path: Path) -> None:
    """Breaks if a part the vendor refuses for good (the simulator's `reject` prefix)
    keeps its billing hold: the customer must get the money back."""
    world = await start_world(tmp_path, ("vnd1",),
                              sim={"reject": {"999": S.ESME_RINVDSTADR}})
    try:
        await world.user("alice")
        await world.connector("vnd1")
        await world.service.mt_routes.add({"order": 0, "type": "DefaultRoute",
                                           "connector": "vnd1", "rate": "1.5"})
        billing = world.daemon.store.billing                # type: ignore[union-attr]
        await billing.set_balance("alice", "5")
        esme = await world.bind("alice")
        assert (await submit(esme, "9991234")).command_status == S.ESME_ROK
        assert billing.account("alice").balance == Decimal("3.5")
        runner = world.daemon.live.running["vnd1"]          # type: ignore[union-attr]
        await runner.until(lambda c: c.pump.stats.rejected == 1
                           and billing.account("alice").balance == Decimal(5))
        assert world.sims["vnd1"].stats.rejected == 1
        assert world.sims["vnd1"].received.submits == []
    finally:
        await stop_world(world)


async def post(world: World, path: str, body: bytes, content_type: str
               ) -> tuple[int, dict[str, str], bytes]:
    pool = HTTPConnectionPool(reactor, persistent=False)
    basic = base64.b64encode(f"alice:{PASSWORD}".encode())
    headers = Headers({b"content-type": [content_type.encode()],
                       b"authorization": [b"Basic " + basic]})
    try:
        response = await Agent(reactor, pool=pool).request(
            b"POST", f"http://127.0.0.1:{world.daemon.http_port}{path}".encode(), headers,
            FileBodyProducer(BytesIO(body)))
        got = await readBody(response)
        return response.code, {k.decode().lower(): v[0].decode() for k, v in
                               response.headers.getAllRawHeaders()}, got
    finally:
        await pool.closeCachedConnections()


def batch(n: int, padding: int = 0) -> bytes:
    messages = [{"to": f"3360000{i:04d}", "text": "hello"} for i in range(n)]
    return json.dumps({"messages": messages}).encode() + b" " * padding


@pytest_twisted.ensureDeferred
async def test_v1_bodies_have_their_own_limit_above_the_jasmin_pages_one(
        world: World) -> None:
    """Breaks if /v1 bodies are capped at the Jasmin API's 64 KiB (the listener's limit),
    or if either API stops refusing what is over its own limit."""
    await world.user("alice")
    await world.connector("vnd1", start=False)
    await world.service.mt_routes.add({"order": 0, "type": "DefaultRoute", "connector": "vnd1"})
    code, _, body = await post(world, "/v1/messages/batch", batch(1, padding=80_000),
                               "application/json")
    assert code == 200, body
    code, _, body = await post(world, "/v1/messages/batch", batch(1, padding=110_000),
                               "application/json")
    assert code == 413 and json.loads(body)["error"]["code"] == "too_large"
    form = urlencode({"username": "alice", "password": PASSWORD, "to": "33600000001",
                      "content": "x" * 70_000}).encode()
    code, _, body = await post(world, "/send", form, "application/x-www-form-urlencoded")
    assert (code, body) == (413, b'Error "Request body too large: at most 65536 octets."')


@pytest_twisted.ensureDeferred
async def test_v1_sends_are_503_with_retry_after_while_the_mt_queues_are_over_high_water(
        world: World) -> None:
    """Breaks if the daemon does not pass `busy` (rest_api.busy_queue_depth) to /v1."""
    await world.user("alice")
    await world.connector("vnd1", start=False)              # everything stays queued
    await world.service.mt_routes.add({"order": 0, "type": "DefaultRoute", "connector": "vnd1"})
    code, _, body = await post(world, "/v1/messages/batch", batch(3), "application/json")
    assert code == 200, body                                # 3 queued: above 2
    code, headers, body = await post(world, "/v1/messages/batch", batch(1),
                                     "application/json")
    assert code == 503 and json.loads(body)["error"]["code"] == "busy"
    assert int(headers["retry-after"]) >= 1
