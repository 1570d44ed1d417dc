"""`smscd send` against the simulator over loopback: parts, ids, receipts, failures."""
from __future__ import annotations

from typing import Any

import pytest_twisted
from twisted.internet import reactor

from connectors.sim_config import SimulatorConfig
from connectors.simulator import SimulatorService
from smscd.send_client import SendRequest, send
from smscd.smpp.message_state import MessageState


async def _run(sim_config: SimulatorConfig, **overrides: Any) -> tuple[Any, list[str], Any]:
    sim = SimulatorService(sim_config, reactor)
    port = await sim.start()
    lines: list[str] = []
    values: dict[str, Any] = dict(host="127.0.0.1", port=port, system_id="acct",
                                  password="secret", to="31600000000", text="hello", timeout=10)
    values.update(overrides)
    try:
        result = await send(reactor, SendRequest(**values), lines.append)
    finally:
        await sim.stop()
    return result, lines, sim


def _sim(**overrides: Any) -> SimulatorConfig:
    values: dict[str, Any] = dict(accounts={"acct": "secret"}, receipt_delay=0.0, seed=1,
                                  record_submits=True)
    values.update(overrides)
    return SimulatorConfig(**values)


@pytest_twisted.ensureDeferred
async def test_send_prints_the_id_and_the_delivered_receipt():
    """A newcomer's first message must come back DELIVRD with the id it was given."""
    result, lines, sim = await _run(_sim())
    assert result.exit_code == 0 and len(result.message_ids) == 1
    [message_id] = result.message_ids
    assert result.receipts[message_id].state is MessageState.DELIVERED
    assert any(message_id in line and "stat:DELIVRD" in line for line in lines)
    assert sim.received.total == 1


@pytest_twisted.ensureDeferred
async def test_a_long_message_goes_as_udh_parts_each_with_a_receipt():
    """A 200-character text must go as two UDH parts, each correlated with its receipt."""
    result, _, sim = await _run(_sim(), text="x" * 200)
    assert result.exit_code == 0 and len(result.message_ids) == 2
    assert set(result.receipts) == set(result.message_ids)
    assert all(p.esm_class & 0x40 for p in sim.received.submits)


@pytest_twisted.ensureDeferred
async def test_a_failed_receipt_gives_exit_1():
    """An UNDELIV receipt must not look like success to a script."""
    result, lines, _ = await _run(_sim(outcomes={MessageState.UNDELIVERABLE: 100.0}))
    assert result.exit_code == 1 and any("stat:UNDELIV" in line for line in lines)


@pytest_twisted.ensureDeferred
async def test_a_wrong_password_gives_exit_2_and_names_the_status():
    """A refused bind must say why, with the SMPP status name, and exit 2."""
    result, lines, _ = await _run(_sim(), password="wrong")
    assert result.exit_code == 2 and "ESME_RINVPASWD" in lines[0]


@pytest_twisted.ensureDeferred
async def test_no_wait_submits_without_asking_for_a_receipt():
    """--no-wait must return after the submit_sm_resp, with registered_delivery 0."""
    result, _, sim = await _run(_sim(), wait_receipt=False)
    assert result.exit_code == 0 and result.receipts == {}
    assert [p.registered_delivery for p in sim.received.submits] == [0]
