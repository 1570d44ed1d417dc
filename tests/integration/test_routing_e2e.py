"""Issue 5 end to end: the real daemon, two simulators as vendors, customers over SMPP and
HTTP, and provisioning changed live through the service the shell uses."""
from __future__ import annotations

import base64
import json
from io import BytesIO
from pathlib import Path
from typing import Any, AsyncIterator
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
from smscd.smpp_protocol import SmppProtocol, connect_and_bind
from smscd.smpp.session import SessionConfig

from customer_side import Inbox
from test_http_callbacks import Receiver, _Endpoint

PASSWORD = "pw123456"


class World:
    def __init__(self, daemon: Daemon, sims: dict[str, SimulatorService],
                 ports: dict[str, int]) -> None:
        self.daemon = daemon
        self.sims = sims
        self.ports = ports
        self.binds: list[SmppProtocol] = []

    @property
    def service(self) -> Any:
        return self.daemon.service

    async def user(self, uid: str) -> None:
        await self.service.users.add({"uid": uid, "gid": "default", "username": uid,
                                      "password": PASSWORD})

    async def connector(self, cid: str, start: bool = True) -> None:
        port = self.ports[cid]
        await self.service.smpp_connectors.add({
            "id": cid, "hosts": [f"127.0.0.1:{port}"], "system_id": "v", "password": "vpw",
            "enquire_link_interval": 0, "response_timeout": 5})
        if start:
            await self.service.smpp_connectors.start(cid)
            runner = self.daemon.live.running[cid]         # type: ignore[union-attr]
            await runner.until(lambda c: any(p.session.bound for p in c.bound))

    async def bind(self, uid: str, kind: Any = P.BindTransceiver,
                   handler: Any = None) -> SmppProtocol:
        proto = await connect_and_bind(
            reactor, "127.0.0.1", self.daemon.port, kind(system_id=uid, password=PASSWORD),
            handler, SessionConfig(window=20, enquire_link_interval=0))
        self.binds.append(proto)
        return proto

    def submitted(self, cid: str) -> list[P.SubmitSm]:
        return self.sims[cid].received.submits


async def submit(esme: SmppProtocol, destination: str = "33600000001", **kw: Any) -> Any:
    return await esme.request(P.SubmitSm(source_addr=kw.pop("source_addr", "SHOP"),
                                         destination_addr=destination,
                                         short_message=kw.pop("text", b"hello"), **kw))


@pytest_twisted.async_yield_fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    sims, ports = {}, {}
    for cid in ("vnd1", "vnd2"):
        sim = SimulatorService(SimulatorConfig(accounts={"v": "vpw"}, receipt_delay=0.0,
                                               record_submits=True, mo_system_id="v"),
                               reactor)
        ports[cid] = await sim.start(0)
        sims[cid] = sim
    daemon = Daemon(load_config({"data_dir": str(tmp_path), "smpp_server": {"port": 0},
                                 "http_api": {"port": 0}, "shell": {"port": 0},
                                 "admin_api": {"port": 0},
                                 "demo": {"simulator": False}}), reactor, lambda line: None)
    await daemon.start()
    w = World(daemon, sims, ports)
    yield w
    for proto in w.binds:
        if not proto.session.closed:
            proto.close()
    await daemon.stop()
    for sim in sims.values():
        await sim.stop()


@pytest_twisted.ensureDeferred
async def test_per_user_routes_reach_their_own_vendor(world: World) -> None:
    """Breaks if a user's StaticMTRoute (UserFilter) is not what carries its traffic."""
    for uid in ("alice", "bob"):
        await world.user(uid)
    await world.connector("vnd1")
    await world.connector("vnd2")
    for fid, uid in (("f-alice", "alice"), ("f-bob", "bob")):
        await world.service.filters.add({"fid": fid, "type": "UserFilter", "uid": uid})
    await world.service.mt_routes.add({"order": 20, "type": "StaticMTRoute",
                                       "filters": ["f-alice"], "connector": "vnd1"})
    await world.service.mt_routes.add({"order": 10, "type": "StaticMTRoute",
                                       "filters": ["f-bob"], "connector": "vnd2"})
    alice, bob = await world.bind("alice"), await world.bind("bob")
    for esme, text in ((alice, b"from alice"), (bob, b"from bob"), (alice, b"again alice")):
        assert (await submit(esme, text=text)).command_status == S.ESME_ROK
    await world.sims["vnd1"].until(lambda s: len(s.received.submits) == 2)
    await world.sims["vnd2"].until(lambda s: len(s.received.submits) == 1)
    assert [p.short_message for p in world.submitted("vnd1")] == [b"from alice", b"again alice"]
    assert [p.short_message for p in world.submitted("vnd2")] == [b"from bob"]


@pytest_twisted.ensureDeferred
async def test_round_robin_spreads_evenly_and_failover_takes_the_one_up(world: World
                                                                        ) -> None:
    """Breaks if round-robin does not alternate, or failover sends to a stopped
    connector (or refuses while one is up)."""
    await world.user("alice")
    await world.connector("vnd1")
    await world.connector("vnd2", start=False)
    await world.service.mt_routes.add({"order": 0, "type": "DefaultRoute", "connector": "vnd1"})
    await world.service.filters.add({"fid": "fo", "type": "DestinationAddrFilter",
                                     "destination_addr": "^44"})
    await world.service.mt_routes.add({"order": 10, "type": "FailoverMTRoute",
                                       "filters": ["fo"], "connectors": ["vnd2", "vnd1"]})
    esme = await world.bind("alice")
    assert (await submit(esme, "4470001")).command_status == S.ESME_ROK
    await world.sims["vnd1"].until(lambda s: len(s.received.submits) == 1)
    await world.service.smpp_connectors.start("vnd2")
    runner = world.daemon.live.running["vnd2"]                 # type: ignore[union-attr]
    await runner.until(lambda c: any(p.session.bound for p in c.bound))
    await world.service.filters.add({"fid": "rr", "type": "DestinationAddrFilter",
                                     "destination_addr": "^33"})
    await world.service.mt_routes.add({"order": 20, "type": "RandomRoundrobinMTRoute",
                                       "filters": ["rr"], "connectors": ["vnd1", "vnd2"]})
    for i in range(10):
        assert (await submit(esme, f"3360000{i:04d}")).command_status == S.ESME_ROK
    await world.sims["vnd1"].until(lambda s: len(s.received.submits) == 6)
    await world.sims["vnd2"].until(lambda s: len(s.received.submits) == 5)
    assert sorted(p.destination_addr[-1] for p in world.submitted("vnd2")) == list("13579")
    assert sorted(p.destination_addr[-1] for p in world.submitted("vnd1")[1:]) == list("02468")


@pytest_twisted.ensureDeferred
async def test_balance_exhausted_mid_batch_over_smpp(world: World) -> None:
    """Breaks if a user can send past its balance, or is refused before it runs out."""
    await world.user("alice")
    await world.connector("vnd1")
    await world.service.mt_routes.add({"order": 0, "type": "DefaultRoute", "connector": "vnd1",
                                       "rate": "1.5"})
    await world.daemon.store.billing.set_balance("alice", "5")    # type: ignore[union-attr]
    esme = await world.bind("alice")
    statuses = [(await submit(esme, f"336{i:08d}")).command_status for i in range(5)]
    assert statuses == [S.ESME_ROK] * 3 + [S.ESME_RSYSERR] * 2
    account = world.daemon.store.billing.account("alice")      # type: ignore[union-attr]
    assert str(account.balance) == "0.5"
    await world.sims["vnd1"].until(lambda s: len(s.received.submits) == 3)


@pytest_twisted.ensureDeferred
async def test_interceptors_rewrite_and_reject_and_a_new_route_routes_the_next(
        world: World) -> None:
    """Breaks if an MT interceptor's rewrite does not reach the vendor, its reject does
    not answer its status, or a route added live is not used by the very next message."""
    await world.user("alice")
    await world.connector("vnd1")
    esme = await world.bind("alice")
    assert (await submit(esme)).command_status == S.ESME_RINVDSTADR       # no route yet
    await world.service.mt_routes.add({"order": 0, "type": "DefaultRoute", "connector": "vnd1"})
    assert (await submit(esme)).command_status == S.ESME_ROK
    await world.service.filters.add({"fid": "blocked", "type": "DestinationAddrFilter",
                                     "destination_addr": "^999"})
    await world.service.filters.add({"fid": "all", "type": "TransparentFilter"})
    await world.service.mt_interceptors.add({
        "order": 20, "type": "StaticMTInterceptor", "filters": ["blocked"],
        "actions": [{"action": "reject", "smpp_status": "ESME_RINVDSTADR",
                     "http_status": 412, "message": "blocked"}]})
    await world.service.mt_interceptors.add({
        "order": 10, "type": "StaticMTInterceptor", "filters": ["all"],
        "actions": [{"action": "set_source", "address": "BRAND"}]})
    assert (await submit(esme, "9990001")).command_status == S.ESME_RINVDSTADR
    assert (await submit(esme, "33611111111")).command_status == S.ESME_ROK
    await world.sims["vnd1"].until(lambda s: len(s.received.submits) == 2)
    assert [p.source_addr for p in world.submitted("vnd1")] == ["SHOP", "BRAND"]


@pytest_twisted.ensureDeferred
async def test_mo_routed_by_destination_to_a_user_and_to_an_http_connector(
        world: World) -> None:
    """Breaks if an MO route with a DestinationAddrFilter does not pick the user's bind,
    or an MO route to an HTTP callback connector does not call it."""
    for uid in ("alice", "bob"):
        await world.user(uid)
    receiver = Receiver()
    listening = reactor.listenTCP(0, server.Site(_Endpoint(receiver)), interface="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{listening.getHost().port}/mo"
        await world.service.http_connectors.add({"id": "cb1", "url": url})
        await world.service.filters.add({"fid": "to-5555", "type": "DestinationAddrFilter",
                                         "destination_addr": "^5555"})
        await world.service.filters.add({"fid": "to-7777", "type": "DestinationAddrFilter",
                                         "destination_addr": "^7777"})
        await world.service.mo_routes.add({"order": 20, "type": "StaticMORoute",
                                           "filters": ["to-5555"], "target": "smpps(bob)"})
        await world.service.mo_routes.add({"order": 10, "type": "StaticMORoute",
                                           "filters": ["to-7777"], "target": "http(cb1)"})
        await world.service.mo_routes.add({"order": 0, "type": "DefaultRoute",
                                           "target": "smpps(alice)"})
        await world.connector("vnd1")
        bob_inbox = Inbox(reactor)
        await world.bind("bob", P.BindReceiver, bob_inbox)
        world.sims["vnd1"].inject_mo("for bob", destination="5555", system_id="v")
        world.sims["vnd1"].inject_mo("for the web", destination="7777", system_id="v")
        [pdu] = await bob_inbox.when(1)
        assert (pdu.destination_addr, pdu.short_message) == ("5555", b"for bob")
        await receiver.until(1)
        [(_, params, _)] = receiver.got
        assert (params["to"], params["content"], params["origin-connector"]) == (
            "7777", "for the web", "vnd1")
    finally:
        await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_http_send_goes_through_the_same_pipeline(world: World) -> None:
    """Breaks if /send does not use the route table (412 without a route) and the
    throughput and billing of the one pipeline."""
    await world.user("alice")
    await world.connector("vnd1")
    pool = HTTPConnectionPool(reactor, persistent=False)
    agent = Agent(reactor, pool=pool)

    async def send(to: str) -> tuple[int, str]:
        query = urlencode({"username": "alice", "password": PASSWORD, "to": to,
                           "content": "hello"})
        url = f"http://127.0.0.1:{world.daemon.http_port}/send?{query}"
        response = await agent.request(b"GET", url.encode())
        return response.code, (await readBody(response)).decode()
    try:
        assert await send("33600000001") == (412, 'Error "No route found"')
        await world.service.mt_routes.add({"order": 0, "type": "DefaultRoute",
                                           "connector": "vnd1", "rate": "2"})
        await world.daemon.store.billing.set_balance("alice", "3")  # type: ignore[union-attr]
        code, body = await send("33600000001")
        assert code == 200 and body.startswith('Success "'), body
        assert await send("33600000002") == (
            403, 'Error "Cannot charge submit_sm, check RouterPB log file for details"')
        await world.sims["vnd1"].until(lambda s: len(s.received.submits) == 1)
    finally:
        await pool.closeCachedConnections()


@pytest_twisted.ensureDeferred
async def test_mo_failover_falls_through_a_failing_http_connector_to_a_bind(world: World
                                                                           ) -> None:
    """Breaks if an MO failover route stops at an HTTP connector that does not
    acknowledge instead of trying the next target, or if `store` keeps nothing."""
    await world.user("alice")
    receiver = Receiver(script=[(500, b"down")])
    listening = reactor.listenTCP(0, server.Site(_Endpoint(receiver)), interface="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{listening.getHost().port}/mo"
        await world.service.http_connectors.add({"id": "cb-down", "url": url})
        await world.service.filters.add({"fid": "to-1", "type": "DestinationAddrFilter",
                                         "destination_addr": "^1"})
        await world.service.mo_routes.add({"order": 10, "type": "FailoverMORoute",
                                           "filters": ["to-1"],
                                           "targets": ["http(cb-down)", "smpps(alice)"]})
        await world.service.mo_routes.add({"order": 0, "type": "DefaultRoute",
                                           "target": "store"})
        await world.connector("vnd1")
        inbox = Inbox(reactor)
        await world.bind("alice", P.BindReceiver, inbox)
        world.sims["vnd1"].inject_mo("to the web first", destination="1234", system_id="v")
        [pdu] = await inbox.when(1)
        assert pdu.short_message == b"to the web first"
        assert len(receiver.got) == 1                        # it was tried first
        world.sims["vnd1"].inject_mo("kept", destination="999", system_id="v")
        store: Any = world.daemon.store
        await store.queues.when_ready("mo:store:")
        [kept] = store.queues.take("mo:store:", 10)
        assert kept.obj.pdu.short_message == b"kept"
    finally:
        await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_mo_kept_for_a_user_is_read_through_the_rest_api(world: World) -> None:
    """Breaks if an MO routed to store(<username>) is not in that user's GET /v1/inbound."""
    await world.user("alice")
    await world.service.mo_routes.add({"order": 0, "type": "DefaultRoute",
                                       "target": "store(alice)"})
    await world.connector("vnd1")
    world.sims["vnd1"].inject_mo("keep me", source="33611", destination="4242",
                                 system_id="v")
    pool = HTTPConnectionPool(reactor, persistent=False)
    agent = Agent(reactor, pool=pool)
    auth = Headers({"Authorization": ["Basic " + base64.b64encode(
        f"alice:{PASSWORD}".encode()).decode()]})
    try:
        url = f"http://127.0.0.1:{world.daemon.http_port}/v1/inbound".encode()
        # the vendor's deliver_sm is answered once the MO is kept
        await world.sims["vnd1"].until(lambda sim: sim.stats.mo_acked == 1)
        response = await agent.request(b"GET", url, auth)
        items = json.loads(await readBody(response))["data"]
        [item] = items
        assert (item["from"], item["to"], item["text"], item["origin_connector"]) == (
            "33611", "4242", "keep me", "vnd1")
    finally:
        await pool.closeCachedConnections()


@pytest_twisted.ensureDeferred
async def test_a_rest_message_gets_its_delivered_webhook(world: World) -> None:
    """Breaks if a REST message's receipt does not reach the user's webhook endpoint."""
    await world.user("alice")
    await world.connector("vnd1")
    await world.service.mt_routes.add({"order": 0, "type": "DefaultRoute", "connector": "vnd1"})
    receiver = Receiver(script=[(200, b"")])
    listening = reactor.listenTCP(0, server.Site(_Endpoint(receiver)), interface="127.0.0.1")
    pool = HTTPConnectionPool(reactor, persistent=False)
    agent = Agent(reactor, pool=pool)
    headers = Headers({"Authorization": ["Basic " + base64.b64encode(
        f"alice:{PASSWORD}".encode()).decode()], "Content-Type": ["application/json"]})
    base = f"http://127.0.0.1:{world.daemon.http_port}/v1"

    async def post(path: str, body: Any) -> Any:
        response = await agent.request(b"POST", (base + path).encode(), headers,
                                       FileBodyProducer(BytesIO(json.dumps(body).encode())))
        answer = json.loads(await readBody(response))
        assert response.code in (200, 201), answer
        return answer
    try:
        hook = f"http://127.0.0.1:{listening.getHost().port}/hook"
        await post("/webhooks", {"url": hook, "events": ["message.delivered"]})
        await post("/messages", {"to": "33600000001", "text": "over REST"})
        await receiver.until(1)
        [(method, _, _)] = receiver.got
        assert method == "POST"
        assert b"message.delivered" in receiver.raw[0].encode()
    finally:
        await pool.closeCachedConnections()
        await listening.stopListening()
