"""Vendor connector settings: defaults, strict types, every problem reported at once."""
from __future__ import annotations

from typing import Any

import pytest

from connectors.connector_config import (ConnectorConfigError, connector_config_from_mapping,
                                         connector_keys)
from smscd.smpp.receipt import ReceiptIdMode

MINIMAL = {"id": "vendor_1", "hosts": ["smsc.example.net:2775"], "system_id": "acme",
           "password": "secret"}


def problems(raw: dict[str, Any], path: str = "connectors[0]") -> list[str]:
    with pytest.raises(ConnectorConfigError) as e:
        connector_config_from_mapping(raw, path)
    return e.value.problems


def test_minimal_mapping_gets_the_documented_defaults() -> None:
    """Breaks if a default changes silently (window 10, no throughput limit, 72 h TTL...)."""
    cfg = connector_config_from_mapping(MINIMAL)
    assert cfg.hosts == (("smsc.example.net", 2775),)
    assert (cfg.bind, cfg.binds, cfg.window, cfg.throughput, cfg.burst) == \
        ("transceiver", 1, 10, 0.0, 1.0)
    assert (cfg.enquire_link_interval, cfg.response_timeout, cfg.inactivity_timeout,
            cfg.connect_timeout) == (30.0, 30.0, 0.0, 10.0)
    assert (cfg.reconnect_initial_delay, cfg.reconnect_max_delay) == (1.0, 60.0)
    assert (cfg.source_ton, cfg.dest_npi, cfg.data_coding) == (None, None, None)
    assert (cfg.registered_delivery, cfg.receipt_id_mode) == ("as_requested", ReceiptIdMode.AS_IS)
    assert (cfg.correlation_ttl, cfg.max_attempts, cfg.retry_delay, cfg.throttle_pause) == \
        (259200.0, 5, 10.0, 1.0)
    assert cfg.sends


def test_every_key_can_be_set() -> None:
    """Breaks if a documented key is not read (or read into the wrong field)."""
    raw = dict(MINIMAL, hosts=["10.0.0.1:2775", "[::1]:2776"], system_type="VMA", bind="receiver",
               address_range="^336", addr_ton=1, addr_npi=1, binds=3, window=50,
               throughput=100, enquire_link_interval=15, response_timeout=20,
               inactivity_timeout=600, connect_timeout=5, reconnect_initial_delay=0.5,
               reconnect_max_delay=30, source_ton=5, source_npi=0, dest_ton=1, dest_npi=1,
               data_coding=3, registered_delivery="always", receipt_id_mode="hex_to_dec",
               correlation_ttl=3600, max_attempts=2, retry_delay=1, retry_max_delay=8,
               throttle_pause=0.5, mo_reassembly_timeout=60, pending_receipt_ttl=30)
    cfg = connector_config_from_mapping(raw)
    assert cfg.hosts == (("10.0.0.1", 2775), ("::1", 2776))
    assert cfg.burst == 100.0                        # one second of throughput
    assert cfg.receipt_id_mode is ReceiptIdMode.HEX_TO_DEC and not cfg.sends
    assert (cfg.binds, cfg.window, cfg.data_coding, cfg.retry_max_delay) == (3, 50, 3, 8.0)
    assert set(raw) == set(connector_keys()) - {"burst"}


def test_all_problems_are_reported_together_with_their_path() -> None:
    """Breaks if loading stops at the first problem, accepts unknown keys, or coerces
    strings and booleans into numbers."""
    raw = {"id": "x", "hosts": ["nohost", "h:99999"], "system_id": "s" * 16,
           "password": "123456789", "window": "10", "binds": True, "throughput": -1,
           "registered_delivery": "sometimes", "addr_npi": 2, "speed": 3}
    assert problems(raw, "connectors[2]") == [
        "connectors[2].speed: unknown key",
        "connectors[2].id: 3..25 characters among A-Z a-z 0-9 _ -",
        "connectors[2].hosts[0]: expected \"host:port\" with a port in 1..65535, got 'nohost'",
        "connectors[2].hosts[1]: expected \"host:port\" with a port in 1..65535, got 'h:99999'",
        "connectors[2].system_id: 1..15 characters, got 16",
        "connectors[2].password: 0..8 characters, got 9",
        "connectors[2].addr_npi: one of [0, 1, 3, 4, 6, 8, 9, 10, 14, 18], got 2",
        "connectors[2].binds: expected an integer",
        "connectors[2].window: expected an integer",
        "connectors[2].throughput: must be >= 0, got -1",
        "connectors[2].registered_delivery: one of as_requested, always, never, got 'sometimes'",
    ]


def test_required_keys_and_delay_order() -> None:
    """Breaks if a connector without hosts or credentials loads, or a maximum reconnect
    delay below the initial one is accepted."""
    assert problems({"reconnect_initial_delay": 5, "reconnect_max_delay": 1}) == [
        "connectors[0].id: required", "connectors[0].hosts: required",
        "connectors[0].system_id: required", "connectors[0].password: required",
        "connectors[0].reconnect_max_delay: must be >= reconnect_initial_delay"]
    assert problems(dict(MINIMAL, hosts=[])) == [
        "connectors[0].hosts: a non-empty list of \"host:port\" (primary first)"]
    assert problems([]) == ["connectors[0]: expected a mapping"]  # type: ignore[arg-type]
