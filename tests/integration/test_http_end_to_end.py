"""A Jasmin-style HTTP client end to end: /send a long message over plain HTTP, the real
connector sends its parts to the simulator, the simulator's receipts come back, and the
client's dlr-url gets a level-2 callback for every part, with our id, and acknowledges it.

Until the daemon wires the shared MT pipeline and the dispatcher's hook, this test plays
both with a few lines: a pipeline that routes to the one connector and accepts durably,
and a `Deliveries` that records each part's state with `DlrCallbacks.state_publication`
in the same durable change (what Dispatcher does for origin "http")."""
from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed
from twisted.web import server
from twisted.web.client import Agent, HTTPConnectionPool, readBody

from connectors.connector_config import connector_config_from_mapping
from connectors.sim_config import SimulatorConfig
from connectors.simulator import SimulatorService
from connectors.smpp_client import ConnectorService
from smscd.billing import Account
from smscd.config import default_config
from smscd.customer_delivery import RetryPolicy
from smscd.deliveries import InboundMessage, mt_queue
from smscd.http_api import http_api_site
from smscd.http_callbacks.client import CallbackClient
from smscd.http_callbacks.dlr import DlrCallbacks
from smscd.http_callbacks.sender import CallbackSender
from smscd.message import Message
from smscd.mt_pipeline import Quote
from smscd.smpp.message_state import MessageState
from smscd.smpp.receipt import Receipt
from smscd.stores.interfaces import UserRecord
from smscd.stores.sqlite import SqliteStore
from smscd.submission import routed

from test_http_callbacks import Receiver, _Endpoint


class StorePipeline:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def submit(self, user: UserRecord, message: Message, channel: str) -> Deferred[str]:
        message = routed(message, "cnx1")
        return self.store.messages.accept(message, mt_queue("cnx1")).addCallback(
            lambda _: message.id)

    def quote(self, user: UserRecord, message: Message) -> Deferred[Quote]:
        raise AssertionError("not used")


class HttpDeliveries:
    """The dispatcher's part for origin "http": state and callback in one change."""

    def __init__(self, store: SqliteStore, dlr: DlrCallbacks) -> None:
        self.store, self.dlr = store, dlr

    def part_state(self, message_id: str, part_index: int, state: MessageState, error: str,
                   receipt: Receipt | None, at: float) -> Deferred[None]:
        return self.store.messages.record_state(
            message_id, part_index, state, error, at,
            lambda m: None if m is None else self.dlr.state_publication(
                m, part_index, state, error, receipt, at))

    def inbound(self, mo: InboundMessage) -> Deferred[None]:
        return succeed(None)


class Unlimited:
    def account(self, uid: str) -> Account:
        return Account(uid)


@pytest_twisted.ensureDeferred
async def test_long_message_gets_a_receipt_callback_per_part(tmp_path: Path) -> None:
    sim = SimulatorService(SimulatorConfig(accounts={"smscd": "pw"}, receipt_delay=0.0,
                                           seed=1), reactor)
    sim_port = await sim.start(0)
    store = SqliteStore.open(tmp_path / "e2e.sqlite3", reactor)
    await store.users.add("u1", "u1", "password")
    receiver = Receiver()
    receiving = reactor.listenTCP(0, server.Site(_Endpoint(receiver)), interface="127.0.0.1")
    dlr_url = f"http://127.0.0.1:{receiving.getHost().port}/dlr"
    client = CallbackClient(reactor, timeout=5.0)
    sender = CallbackSender(store.queues, client, retry=RetryPolicy(0.01, 2.0, 0.05))
    sender.start()
    connector = ConnectorService(
        connector_config_from_mapping({"id": "cnx1", "hosts": [f"127.0.0.1:{sim_port}"],
                                       "system_id": "smscd", "password": "pw",
                                       "enquire_link_interval": 0, "response_timeout": 5}),
        reactor, store.queues, store.messages, store.correlations,
        HttpDeliveries(store, DlrCallbacks(store.queues)))
    connector.start()
    config = default_config().http_api
    site = http_api_site(StorePipeline(store), store.users, Unlimited(), reactor,
                         type(config)("127.0.0.1", 0, 65536, "udh", 10))
    api = reactor.listenTCP(0, site, interface="127.0.0.1")
    pool = HTTPConnectionPool(reactor, persistent=False)
    try:
        query = urlencode({"username": "u1", "password": "password", "to": "33600000001",
                           "content": "X" * 300, "dlr-url": dlr_url, "dlr-level": "2"})
        response = await Agent(reactor, pool=pool).request(
            b"GET", f"http://127.0.0.1:{api.getHost().port}/send?{query}".encode())
        body = (await readBody(response)).decode()
        assert response.code == 200 and body.startswith('Success "'), body
        message_id = body[len('Success "'):-1]
        await receiver.until(2)
        await sender.until(lambda s: s.delivered == 2)
        calls: list[dict[str, Any]] = sorted((p for _, p, _ in receiver.got),
                                             key=lambda p: p["part"])
        assert [(c["id"], c["level"], c["message_status"], c["part"], c["parts"])
                for c in calls] == [(message_id, "2", "DELIVRD", "1", "2"),
                                    (message_id, "2", "DELIVRD", "2", "2")]
        assert calls[0]["id_smsc"] != calls[1]["id_smsc"]      # each part's own receipt
        record = await store.messages.get(message_id, "u1")
        assert record is not None and record.state is MessageState.DELIVERED
    finally:
        sender.stop()
        await connector.stop()
        await api.stopListening()
        await receiving.stopListening()
        await pool.closeCachedConnections()
        await client.close()
        await sim.stop()
        await store.close()
