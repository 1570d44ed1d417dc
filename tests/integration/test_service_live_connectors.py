"""LiveConnectors following a real provisioning service (SQLite store in tmp_path): start,
stop, rebind on a settings change, status in Jasmin's words, and the shell's answer waiting
for the connector to drain. Connector services are fakes whose stop the test releases."""
from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator, Mapping

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed

from connectors.connector_config import ConnectorConfig
from smscd.passwords import hash_password
from smscd.service.live_connectors import LiveConnectors
from smscd.service.service import ProvisioningService, open_service
from smscd.stores.sqlite import SqliteStore

CONNECTOR = {"id": "vendor-a", "hosts": ["127.0.0.1:2776"], "system_id": "acct",
             "password": "secret", "bind": "transmitter"}


class FakeRunner:
    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        self.started = False
        self.stopping: Deferred[None] | None = None
        self.bound = 0

    def start(self) -> Deferred[None]:
        self.started = True
        return succeed(None)

    def stop(self) -> Deferred[None]:
        self.stopping = Deferred()
        return self.stopping

    def status(self) -> Mapping[str, Any]:
        return {"bound": self.bound, "in_flight": 3, "throughput": 12.5, "queue_depth": 7,
                "last_error": None}


class World:
    def __init__(self) -> None:
        self.made: list[FakeRunner] = []
        self.unbound: list[str] = []
        self.live = LiveConnectors(self.make, self.unbind)

    def make(self, config: ConnectorConfig) -> FakeRunner:
        self.made.append(FakeRunner(config))
        return self.made[-1]

    def unbind(self, uid: str) -> int:
        self.unbound.append(uid)
        return 1


@pytest_twisted.async_yield_fixture
async def opened(tmp_path: Path) -> AsyncIterator[tuple[World, ProvisioningService]]:
    store = SqliteStore.open(tmp_path / "store.db", reactor)
    world = World()
    try:
        service = await open_service(store.provisioning, store.users, world.live,
                                     lambda p: succeed(hash_password(p, n=16, r=1, p=1)),
                                     reactor)
        yield world, service
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_start_rebind_stop(opened: tuple[World, ProvisioningService]) -> None:
    """Breaks if a started connector does not run, a settings change does not rebind it,
    or a stop answers the operator before the connector drained."""
    world, s = opened
    await world.live.follow(s)
    await s.smpp_connectors.add(CONNECTOR)
    assert world.made == []
    await s.smpp_connectors.start("vendor-a")
    first = world.made[0]
    assert first.started and first.config.window == 10
    status = s.smpp_connectors.status("vendor-a")
    assert (status.service, status.session, status.starts) == ("started", "UNBOUND", 1)
    first.bound = 1
    status = s.smpp_connectors.status("vendor-a")
    assert (status.session, status.binds, status.window_in_use, status.queue_depth) == (
        "BOUND_TX", 1, 3, 7)

    updating = s.smpp_connectors.update("vendor-a", {"window": 20})
    answered = _answers(updating)
    while first.stopping is None:
        await _turn()
    assert len(world.made) == 1 and answered == []
    first.stopping.callback(None)
    await updating
    second = world.made[1]
    assert second.started and second.config.window == 20

    stopping = s.smpp_connectors.stop("vendor-a")
    answered = _answers(stopping)
    while second.stopping is None:
        await _turn()
    assert answered == []
    second.stopping.callback(None)
    await stopping
    status = s.smpp_connectors.status("vendor-a")
    assert (status.service, status.session, status.starts, status.stops) == (
        "stopped", "NONE", 2, 2)


@pytest_twisted.ensureDeferred
async def test_follow_starts_what_was_started_before(tmp_path: Path,
                                                     opened: tuple[World, ProvisioningService]
                                                     ) -> None:
    """Breaks if a restart forgets to start the connectors that were started."""
    world, s = opened
    await s.smpp_connectors.add(CONNECTOR)
    await s.smpp_connectors.start("vendor-a")
    assert world.made == []              # not followed yet
    await world.live.follow(s)
    assert [r.config.id for r in world.made] == ["vendor-a"] and world.made[0].started
    stopping = world.live.stop_all()
    world.made[0].stopping.callback(None)       # type: ignore[union-attr]
    await stopping
    assert world.live.running == {}


@pytest_twisted.ensureDeferred
async def test_unbind_goes_to_the_daemon(opened: tuple[World, ProvisioningService]) -> None:
    world, s = opened
    await s.groups.add("g1")
    await s.users.add({"uid": "u1", "gid": "g1", "username": "alice", "password": "pw"})
    assert await s.users.smpp_unbind("u1") == 1
    assert world.unbound == ["u1"]


def _answers(d: Deferred[Any]) -> list[object]:
    out: list[object] = []

    def seen(result: object) -> object:
        out.append(result)
        return result
    d.addBoth(seen)
    return out


async def _turn() -> None:
    d: Deferred[None] = Deferred()
    reactor.callLater(0, d.callback, None)
    await d
