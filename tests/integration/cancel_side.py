"""Test harness for cancel_sm by address and replace_sm's times: the real SQLite store, the
MT pipeline and an SMPP server given a view of the MT queues (smpp_cancel.WaitingMt), all on
one frozen clock moved by hand, so queue readiness and expiry are checked without waiting."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from twisted.internet.defer import DeferredList, maybeDeferred
from twisted.internet.endpoints import TCP4ServerEndpoint

from customer_side import PASSWORD, ManualClock, default_rules, submit
from smscd.bind_registry import BindRegistry
from smscd.deliveries import mt_queue
from smscd.mt_pipeline import Pipeline
from smscd.smpp import pdu as P
from smscd.smpp.message_state import MessageState
from smscd.smpp.session import SessionConfig
from smscd.smpp.status import CommandStatus as S
from smscd.smpp_cancel import WaitingMt
from smscd.smpp_protocol import SmppProtocol, connect_and_bind
from smscd.smpp_server import ServerSettings, smpp_server_factory
from smscd.stores.sqlite import SqliteStore

QUEUE = mt_queue("vendor1")           # where default_rules() routes everything


class FrozenReactor(ManualClock):
    """The real reactor's timers and threads, with a clock that moves only by `advance`."""

    def __init__(self, reactor: Any) -> None:
        super().__init__(reactor)
        self.now = float(int(self.now))          # whole seconds: relative times are exact

    def callFromThread(self, f: Callable[..., Any], *a: Any, **kw: Any) -> None:
        self.reactor.callFromThread(f, *a, **kw)

    def getThreadPool(self) -> Any:
        return self.reactor.getThreadPool()


@dataclass
class Side:
    """The store, the pipeline and an SMPP server that can cancel by address."""
    clock: FrozenReactor
    store: SqliteStore
    port: int = 0
    listening: Any = None
    clients: list[SmppProtocol] = field(default_factory=list)

    async def bind(self, user: str = "alice") -> SmppProtocol:
        proto = await connect_and_bind(
            self.clock.reactor, "127.0.0.1", self.port,
            P.BindTransceiver(system_id=user, password=PASSWORD), None,
            SessionConfig(enquire_link_interval=0))
        self.clients.append(proto)
        return proto

    async def submit(self, proto: SmppProtocol, **fields: Any) -> str:
        resp = await proto.request(submit(**fields))
        assert resp.command_status == S.ESME_ROK
        return str(resp.message_id)

    async def state(self, message_id: str, user: str = "alice") -> MessageState:
        record = await self.store.messages.get(message_id, user)
        assert record is not None
        return record.state

    async def close(self) -> None:
        closing = [p.when_closed() for p in self.clients]
        for proto in self.clients:
            proto.close()
        await DeferredList(closing)
        await maybeDeferred(self.listening.stopListening)
        await self.store.close()


async def start_side(tmp_path: Path) -> Side:
    from twisted.internet import reactor
    clock = FrozenReactor(reactor)
    store = SqliteStore.open(tmp_path / "smscd.db", clock)
    for name in ("alice", "bob"):
        await store.users.create(name, PASSWORD)
    pipeline = Pipeline(default_rules(), lambda cid: True, store.messages, store.billing,
                        clock)
    factory = smpp_server_factory(
        users=store.users, log=store.messages, pipeline=pipeline, registry=BindRegistry(),
        clock=clock, settings=ServerSettings(session=SessionConfig(enquire_link_interval=0)),
        billing=store.billing, queued=WaitingMt(store.queues, lambda: ["vendor1"]))
    side = Side(clock, store)
    side.listening = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1"
                                              ).listen(factory)
    side.port = side.listening.getHost().port
    return side
