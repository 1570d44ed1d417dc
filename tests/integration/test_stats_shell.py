"""jCli `stats` over the running daemon's counters and `queue -p` over the real store: a
customer binds and submits over loopback (and calls the HTTP API), then the shell's
interpreter shows the counts;
a purge drops a queue's dead letters for good (they stay gone after a reopen)."""
from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest_twisted
from twisted.internet import reactor
from twisted.web.client import Agent, readBody

from connectors.sim_config import SimulatorConfig
from connectors.simulator import SimulatorService
from smscd.config import load_config
from smscd.daemon import Daemon
from smscd.shell.commands import COMMANDS
from smscd.shell.session import Session
from smscd.smpp import pdu as P
from smscd.smpp.status import CommandStatus as S
from smscd.stores.sqlite import SqliteStore

from customer_side import Inbox
from test_routing_e2e import PASSWORD, World, submit
from test_shell_service import shown


@pytest_twisted.async_yield_fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    sim = SimulatorService(SimulatorConfig(accounts={"v": "vpw"}, receipt_delay=0.0), reactor)
    port = await sim.start(0)
    daemon = Daemon(load_config({"data_dir": str(tmp_path), "smpp_server": {"port": 0},
                                 "http_api": {"port": 0}, "shell": {"port": 0},
                                 "admin_api": {"port": 0}, "demo": {"simulator": False}}),
                    reactor, lambda line: None)
    await daemon.start()
    w = World(daemon, {"vnd1": sim}, {"vnd1": port})
    yield w
    for proto in w.binds:
        if not proto.session.closed:
            proto.close()
    await daemon.stop()
    await sim.stop()


def shell_of(w: World) -> Session:
    d = w.daemon
    assert d.store is not None
    return Session(COMMANDS, d.service, "tester", 1, queues=d.store.queues, stats=d.stats)


def value(lines: list[str], key: str, kind: str = "") -> str:
    """The value column of the `#key` row (of `kind`, SMPP Server or HTTP Api, if given)."""
    [row] = [ln for ln in lines if ln.split()[0] == f"#{key}" and kind in ln]
    return row.split(kind)[-1].split()[-1] if kind else row.split()[-1]


@pytest_twisted.ensureDeferred
async def test_a_customers_binds_and_submits_show_in_stats(world: World) -> None:
    """Breaks if the SMPP server does not feed the daemon's counters, or the shell does not
    read the same ones: binds, accepted and refused submits, receipts sent, unbinds per user
    and server."""
    await world.user("alice")
    await world.user("bob")
    await world.connector("vnd1")
    await world.service.mt_routes.add({"order": 0, "type": "DefaultRoute", "connector": "vnd1"})
    inbox = Inbox(reactor)
    esme = await world.bind("alice", handler=inbox)
    for receipt in (1, 0, 0):
        assert (await submit(esme, registered_delivery=receipt)).command_status == S.ESME_ROK
    await inbox.when(1)                          # the receipt went out as a deliver_sm
    refused = await submit(esme, destination="")
    assert refused.command_status != S.ESME_ROK
    await world.bind("alice", P.BindReceiver)
    shell = shell_of(world)

    users = await shown(shell, "stats --users")
    assert users[0].split("  ")[0] == "#User id" and users[-1] == "Total users: 2"
    [alice] = [ln for ln in users if ln.startswith("#alice ")]
    assert alice.split()[1:3] == ["2", '["127.0.0.1"]']
    assert [ln for ln in users if ln.startswith("#bob ")][0].split()[1:4] == ["0", "[]", "ND"]

    user = await shown(shell, "stats --user=alice")
    assert value(user, "bind_count") == "2"
    assert value(user, "submit_sm_request_count", "SMPP Server") == "4"
    assert value(user, "submit_sm_count") == "3"
    assert value(user, "other_submit_error_count") == "1"
    assert value(user, "deliver_sm_count") == "1"
    assert value(user, "connects_count", "HTTP Api") == "0"
    assert await shown(shell, "stats --user=carol") == ["Unknown User: carol"]

    server = await shown(shell, "stats --smppsapi")
    assert (value(server, "bound_trx_count"), value(server, "bound_rx_count"),
            value(server, "submit_sm_count"), value(server, "connected_count")) == (
        "1", "1", "3", "2")

    esme.unbind()
    await esme.when_closed()
    server = await shown(shell, "stats --smppsapi")
    assert (value(server, "unbind_count"), value(server, "bound_trx_count"),
            value(server, "bind_trx_count")) == ("1", "0", "1")
    assert value(await shown(shell, "stats --user=alice"), "unbind_count") == "1"


@pytest_twisted.ensureDeferred
async def test_queue_purge_drops_one_queues_dead_letters_durably(tmp_path: Path) -> None:
    """Breaks if `queue -p` leaves dead letters behind, touches another queue's, or its
    purge is not durable."""
    path = tmp_path / "smscd.db"
    store = SqliteStore.open(path, reactor)
    for queue, key in (("mt:vnd1", "a"), ("mt:vnd1", "b"), ("mt:vnd2", "c")):
        await store.queues.publish(queue, key, b"payload")
        [entry] = store.queues.take(queue, 1)
        await store.queues.dead_letter(entry, "permanent: 0x0b")
    shell = Session(COMMANDS, None, "tester", 1, queues=store.queues)
    assert await shown(shell, "queue -p mt:vnd1") == [
        "Successfully purged 2 dead letter(s) from mt:vnd1"]
    await store.close()

    store = SqliteStore.open(path, reactor)
    try:
        assert await store.queues.dead_letters("mt:vnd1") == []
        assert [d.key for d in await store.queues.dead_letters("mt:vnd2")] == ["c"]
        shell = Session(COMMANDS, None, "tester", 1, queues=store.queues)
        assert await shown(shell, "queue --purge=mt:vnd1") == [
            "Successfully purged 0 dead letter(s) from mt:vnd1"]
    finally:
        await store.close()


async def http_get(w: World, path: str) -> int:
    """GET `path` from the daemon's Jasmin HTTP API; its status code."""
    response = await Agent(reactor).request(
        b"GET", f"http://127.0.0.1:{w.daemon.http_port}{path}".encode())
    await readBody(response)
    return response.code


@pytest_twisted.ensureDeferred
async def test_http_api_requests_show_in_stats(world: World) -> None:
    """Breaks if the HTTP API does not feed the daemon's counters: requests, per-user
    balance requests, successes and authentication errors."""
    await world.user("alice")
    assert await http_get(world, f"/balance?username=alice&password={PASSWORD}") == 200
    assert await http_get(world, "/send?username=alice&password=wrong&to=1&content=x") == 403
    shell = shell_of(world)
    api = await shown(shell, "stats --httpapi")
    assert (value(api, "request_count"), value(api, "success_count"),
            value(api, "auth_error_count")) == ("2", "1", "1")
    assert value(api, "last_success_at") != "ND"
    user = await shown(shell, "stats --user=alice")
    assert (value(user, "connects_count", "HTTP Api"),
            value(user, "balance_request_count", "HTTP Api"),
            value(user, "submit_sm_request_count", "HTTP Api")) == ("1", "1", "0")


@pytest_twisted.ensureDeferred
async def test_intercepted_smpp_submits_show_in_stats_smppsapi(world: World) -> None:
    """Breaks if the daemon does not pass the MT pipeline's interceptor hook to its
    counters: a matched submit and a rejected one, but not one no interceptor matched."""
    await world.user("alice")
    await world.connector("vnd1")
    await world.service.mt_routes.add({"order": 0, "type": "DefaultRoute", "connector": "vnd1"})
    await world.service.filters.add({"fid": "blocked", "type": "DestinationAddrFilter",
                                     "destination_addr": "^999"})
    await world.service.filters.add({"fid": "fr", "type": "DestinationAddrFilter",
                                     "destination_addr": "^33"})
    await world.service.mt_interceptors.add({
        "order": 20, "type": "StaticMTInterceptor", "filters": ["blocked"],
        "actions": [{"action": "reject", "smpp_status": "ESME_RINVDSTADR"}]})
    await world.service.mt_interceptors.add({
        "order": 10, "type": "StaticMTInterceptor", "filters": ["fr"],
        "actions": [{"action": "set_source", "address": "BRAND"}]})
    esme = await world.bind("alice")
    assert (await submit(esme, "33611111111")).command_status == S.ESME_ROK
    assert (await submit(esme, "4470000000")).command_status == S.ESME_ROK
    assert (await submit(esme, "9990001")).command_status == S.ESME_RINVDSTADR
    shell = shell_of(world)
    server = await shown(shell, "stats --smppsapi")
    assert (value(server, "interceptor_count"),
            value(server, "interceptor_error_count")) == ("2", "1")
    api = await shown(shell, "stats --httpapi")
    assert value(api, "interceptor_count") == "0"
