"""Billing across the MT path on the real SQLite store: the MT pipeline at acceptance
(reserve, accept with the hold, refuse when the money runs out), what the
connector's answers do to the hold (capture, release on a permanent failure, on exhausted
retries, on expiry in the queue), a vendor over loopback (the simulator), and the
`smscd billing` export and balance commands. Store time is a `task.Clock`; the vendor's
answers are given by the test, or by the simulator over a real socket."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest_twisted
from click.testing import CliRunner
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from connectors.connector_config import connector_config_from_mapping
from connectors.mt_pump import MtPump, PartSend
from connectors.sim_config import SimulatorConfig
from connectors.simulator import SimulatorService
from connectors.smpp_client import ConnectorService
from routing.interceptors import InterceptorTable
from routing.routable import MO, MT
from routing.routes import DefaultRoute
from routing.table import RouteTable
from smscd.billing import RecordState
from smscd.cli import main
from smscd.credentials import MtCredential, MtQuotas
from smscd.deliveries import mt_queue
from customer_side import prefix_router
from smscd.dispatch import Dispatcher
from smscd.message import Message
from smscd.mt_pipeline import Pipeline, Refused
from smscd.service.api import RoutingSnapshot
from smscd.smpp import pdu as P
from smscd.smpp.message_state import MessageState
from smscd.smpp.status import CommandStatus as S
from smscd.stores.interfaces import UserRecord
from smscd.stores.sqlite import SqliteStore
from test_billing_store import message
from test_sqlite_store import T0, ClockedReactor, Stores, store, stores  # noqa: F401

D = Decimal
CID = "vendor"
Q = mt_queue(CID)


@dataclass
class Rules:
    snapshot: RoutingSnapshot


def pipeline_submit(store: SqliteStore, m: Message, rate: str,
                    early: int | None = None) -> Deferred[Refused | str]:
    """Submit through the MT pipeline (one default route to CID at `rate`, the user's
    early_percent `early`): our id once accepted, or the Refused it answered."""
    routes = RouteTable(MT, {0: DefaultRoute(CID, D(rate))})
    rules = Rules(RoutingSnapshot(1, {}, routes, RouteTable(MO, {}), InterceptorTable(MT, {}),
                                  InterceptorTable(MO, {}), {}, {}))
    pipeline = Pipeline(rules, lambda connector: True, store.messages, store.billing,
                        Clock())
    quota = MtQuotas(early_percent=None if early is None else D(early))
    user = UserRecord(m.user, m.user, "x", mt_credential=MtCredential(quota=quota))
    return pipeline.submit(user, m, "smpp").addErrback(_refusal)


def _refusal(failure: Failure) -> Refused:
    failure.trap(Refused)
    assert isinstance(failure.value, Refused)
    return failure.value


class Session:
    window_free = 100
    in_flight = 0

    def may_send(self, command_id: int) -> bool:
        return True


class Vendor:
    """A bound session that keeps what the pump sent; the test answers each part."""

    def __init__(self) -> None:
        self.session = Session()
        self.sent: list[PartSend] = []

    def send_request(self, pdu: P.Pdu, context: object = None) -> int:
        assert isinstance(context, PartSend)
        self.sent.append(context)
        return len(self.sent)

    def answer(self, pump: MtPump, statuses: dict[tuple[str, int], int]) -> None:
        sent, self.sent = self.sent, []
        for send in sent:
            status = statuses.get((send.job.message.id, send.index), S.ESME_ROK)
            pump.on_response(send, P.SubmitSmResp(command_status=status,
                                                  message_id=f"v-{send.job.message.id}"))


def pump_for(stores: Stores, store: SqliteStore, start: bool = True,
             **config: Any) -> tuple[MtPump, Vendor, Dispatcher]:
    reactor = ClockedReactor(stores.clock)
    dispatcher = Dispatcher(store.messages, store.queues, reactor, prefix_router({}))
    cfg = connector_config_from_mapping(dict(id=CID, hosts=["127.0.0.1:1"], system_id="x",
                                             password="y", **config))
    pump = MtPump(cfg, store.queues, store.messages, store.correlations, dispatcher, reactor,
                  billing=store.billing)
    vendor = Vendor()
    pump.add_session(vendor)
    if start:
        pump.start()
    return pump, vendor, dispatcher


async def settle(store: SqliteStore) -> None:
    """Every change submitted so far is durable (and the callbacks it triggered ran)."""
    await store.billing.record("barrier")
    await store.billing.record("barrier")


# --- the MT path ----------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_balance_exhausted_mid_batch(stores: Stores, store: SqliteStore) -> None:
    """Breaks if a batch spends more than the balance, a refusal is not ESME_RSYSERR /
    403, or the parts the vendor took are not captured for good."""
    await store.billing.set_balance("alice", "1.00")
    batch = [message() for _ in range(5)]
    outcomes = await gatherResults([pipeline_submit(store, m, "0.30") for m in batch])
    accepted = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if isinstance(o, Refused)]
    assert accepted == [m.id for m in batch[:3]]
    assert [(r.smpp_status, r.http_status, r.field) for r in refused] == \
        [(S.ESME_RSYSERR, 403, "balance")] * 2
    pump, vendor, _ = pump_for(stores, store)
    pump.pump()
    assert sorted(s.job.message.id for s in vendor.sent) == sorted(accepted)
    vendor.answer(pump, {})
    await settle(store)
    store = await stores.reopen(store)
    assert store.billing.account("alice").balance == D("0.10")
    records = await store.billing.records(T0, T0 + 1, "alice")
    assert [(r.message_id, r.state, r.captured) for r in records] == \
        [(i, RecordState.CAPTURED, D("0.30")) for i in accepted]


@pytest_twisted.ensureDeferred
async def test_refund_on_permanent_failure_but_not_on_a_failure_receipt(
        stores: Stores, store: SqliteStore) -> None:
    """Breaks if a part the vendor refused for good is still charged (money and sms_count),
    or if an UNDELIV receipt for a part the vendor took refunds it (Jasmin does not)."""
    await store.billing.set_balance("alice", "1.00")
    await store.billing.set_sms_count("alice", 10)
    m = message(parts=2)
    assert await pipeline_submit(store, m, "0.20", early=25) == m.id
    pump, vendor, dispatcher = pump_for(stores, store)
    pump.pump()
    vendor.answer(pump, {(m.id, 1): S.ESME_RINVDSTADR})
    await settle(store)
    account = store.billing.account("alice")
    assert (account.balance, account.sms_count) == (D("0.75"), 9)    # 0.15 of 0.20 back
    await dispatcher.part_state(m.id, 0, MessageState.UNDELIVERABLE, "001", None, T0)
    await settle(store)
    store = await stores.reopen(store)
    account = store.billing.account("alice")
    assert (account.balance, account.sms_count) == (D("0.75"), 9)
    record = await store.billing.record(m.id)
    assert record is not None
    assert (record.state, record.part_states, record.captured, record.released) == \
        (RecordState.PARTIAL, "CR", D("0.25"), D("0.15"))


@pytest_twisted.ensureDeferred
async def test_exhausted_retries_release_the_hold(stores: Stores, store: SqliteStore) -> None:
    """Breaks if a message that became a dead letter after its last attempt keeps the
    customer's money."""
    await store.billing.set_balance("alice", "1.00")
    m = message()
    await pipeline_submit(store, m, "0.40")
    pump, vendor, _ = pump_for(stores, store, max_attempts=1)
    pump.pump()
    vendor.answer(pump, {(m.id, 0): S.ESME_RSYSERR})          # transient, but the last try
    await settle(store)
    assert [d.key for d in await store.queues.dead_letters(Q)] == [m.id]
    assert store.billing.account("alice").balance == D("1.00")
    record = await store.billing.record(m.id)
    assert record is not None and record.state is RecordState.RELEASED


@pytest_twisted.ensureDeferred
async def test_expiry_in_the_queue_releases_the_hold(stores: Stores, store: SqliteStore) -> None:
    """Breaks if a message whose validity ran out before any vendor took it is charged."""
    await store.billing.set_balance("alice", "1.00")
    m = message()
    m = Message(**{**{f: getattr(m, f) for f in m.__dataclass_fields__},
                   "expires_at": T0 + 10})
    await pipeline_submit(store, m, "0.40")
    pump_for(stores, store, start=False)                   # hooks registered, not sending
    stores.clock.advance(11)                               # the store's sweep expires it
    await settle(store)
    assert store.billing.account("alice").balance == D("1.00")
    record = await store.billing.record(m.id)
    assert record is not None and record.state is RecordState.RELEASED


# --- a vendor over loopback -----------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_parts_the_simulator_accepts_are_captured(tmp_path: Path) -> None:
    """Breaks if the connector, wired with billing, does not capture what a real SMPP
    vendor accepted (the hook path of ConnectorService)."""
    from twisted.internet import reactor
    sim = SimulatorService(SimulatorConfig(accounts={"smscd": "secret"}, receipt_delay=60,
                                           seed=1), reactor)
    port = await sim.start(0)
    store = SqliteStore.open(tmp_path / "store.db", reactor)
    cfg = connector_config_from_mapping(dict(
        id=CID, hosts=[f"127.0.0.1:{port}"], system_id="smscd", password="secret",
        enquire_link_interval=0, reconnect_initial_delay=0.05, reconnect_max_delay=0.2))
    connector = ConnectorService(cfg, reactor, store.queues, store.messages,
                                 store.correlations,
                                 Dispatcher(store.messages, store.queues, reactor,
                                            prefix_router({})),
                                 billing=store.billing)
    try:
        await store.billing.set_balance("alice", "5")
        messages = [message(parts=2), message()]
        for m in messages:
            await pipeline_submit(store, m, "0.50")
        connector.startService()
        await connector.until(lambda c: store.billing.holds() == 0)
        await settle(store)
        records = [await store.billing.record(m.id) for m in messages]
        assert [(r.state, r.captured) for r in records if r] == \
            [(RecordState.CAPTURED, D("1.00")), (RecordState.CAPTURED, D("0.50"))]
        assert store.billing.account("alice").balance == D("3.50")
    finally:
        await connector.stopService()
        await sim.stop()
        await store.close()


# --- smscd billing --------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_export_and_balance_commands_read_beside_the_daemon(stores: Stores,
                                                                  store: SqliteStore) -> None:
    """Breaks if the CSV misses a record of the period, shows another user's, loses decimal
    digits, or the commands need the daemon stopped."""
    await store.billing.set_balance("alice", "2.000")
    await store.billing.set_balance("bob", "1")
    first, second = message("alice", parts=2), message("bob")
    await pipeline_submit(store, first, "0.035", early=20)
    await pipeline_submit(store, second, "0.1")
    await store.billing.part_accepted(first.id, 0)
    stores.clock.advance(86_400)
    await pipeline_submit(store, message("alice"), "0.035")      # the next day: not exported
    data_dir = str(stores.path.parent)
    runner = CliRunner()
    result = runner.invoke(main, ["billing", "export", "--since", "2023-11-14",
                                  "--until", "2023-11-15", "--data-dir", data_dir],
                           env={"SMSCD_DATA_DIR": data_dir})
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["uid"], r["message_id"]) for r in rows] == [("alice", first.id),
                                                           ("bob", second.id)]
    alice = rows[0]
    assert (alice["parts"], alice["rate"], alice["early_percent"], alice["currency"],
            alice["amount"], alice["held"], alice["captured"], alice["state"],
            alice["part_states"], alice["created_at"]) == \
        ("2", "0.035", "20", "EUR", "0.070", "0.028", "0.042", "held", "CH",
         "2023-11-14T22:13:20+00:00")
    only_bob = runner.invoke(main, ["billing", "export", "--since", "2023-11-14",
                                    "--until", "2023-11-16", "--user", "bob",
                                    "--data-dir", data_dir])
    assert [r["uid"] for r in csv.DictReader(io.StringIO(only_bob.stdout))] == ["bob"]
    balance = runner.invoke(main, ["billing", "balance", "alice", "--data-dir", data_dir])
    assert balance.exit_code == 0
    assert balance.stdout.splitlines() == ["uid: alice", "balance: 1.895 EUR",
                                           "sms_count: ND"]
    bad = runner.invoke(main, ["billing", "export", "--since", "2023-11-15", "--until",
                               "2023-11-14", "--data-dir", data_dir])
    assert bad.exit_code == 2 and "--until" in bad.output


def test_export_of_a_missing_store_says_so(tmp_path: Path) -> None:
    """Breaks if a wrong data directory gives an empty CSV instead of an error."""
    result = CliRunner().invoke(main, ["billing", "export", "--since", "2023-11-14",
                                       "--until", "2023-11-15", "--data-dir",
                                       str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "no store at" in result.output
