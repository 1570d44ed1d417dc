# tests: tests/unit/test_connector_config.py
"""Settings of one vendor connector: one typed schema, every problem reported at once.

Rules:
- Each key is declared once in `_KEYS` (its reader and default); unknown keys are errors.
- Nothing is coerced: "2775" is not a number, true is not 1. Floats accept ints.
- Every problem is `path.key: reason`; `ConnectorConfigError.problems` lists all of them.
- `burst` defaults to one second of `throughput` (at least 1); `throughput` 0 = unlimited.
- The TON/NPI/data_coding defaults apply only to messages that leave them unknown (0);
  None keeps whatever the message has (see connectors/mt_pdus.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping

from smscd.smpp.receipt import ReceiptIdMode

BindType = Literal["transceiver", "transmitter", "receiver"]
DeliveryPolicy = Literal["as_requested", "always", "never"]

_ID = re.compile(r"^[A-Za-z0-9_-]{3,25}$")
_TONS = frozenset(range(7))                                   # SMPP 3.4 §5.2.5
_NPIS = frozenset({0, 1, 3, 4, 6, 8, 9, 10, 14, 18})          # SMPP 3.4 §5.2.6


class ConnectorConfigError(ValueError):
    """The connector settings cannot be used; `problems` names every key and reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid connector configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ConnectorConfig:
    """Times in seconds, rates per second. See `connector_config_from_mapping` for defaults."""
    id: str
    hosts: tuple[tuple[str, int], ...]          # primary first, then backups
    system_id: str
    password: str
    system_type: str = ""
    bind: BindType = "transceiver"
    address_range: str = ""
    addr_ton: int = 0
    addr_npi: int = 0
    binds: int = 1
    window: int = 10
    throughput: float = 0.0
    burst: float = 1.0
    enquire_link_interval: float = 30.0
    response_timeout: float = 30.0
    inactivity_timeout: float = 0.0
    connect_timeout: float = 10.0
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    source_ton: int | None = None
    source_npi: int | None = None
    dest_ton: int | None = None
    dest_npi: int | None = None
    data_coding: int | None = None
    registered_delivery: DeliveryPolicy = "as_requested"
    receipt_id_mode: ReceiptIdMode = ReceiptIdMode.AS_IS
    correlation_ttl: float = 259200.0
    max_attempts: int = 5
    retry_delay: float = 10.0
    retry_max_delay: float = 600.0
    throttle_pause: float = 1.0
    mo_reassembly_timeout: float = 300.0
    pending_receipt_ttl: float = 300.0          # 0: a receipt without correlation is dropped

    @property
    def sends(self) -> bool:
        """Whether this connector consumes its MT queue (a receiver bind cannot submit)."""
        return self.bind != "receiver"


# --- readers: (raw value, where, problems) -> value or None (problem recorded) -------------

Reader = Callable[[Any, str, list[str]], Any]


def _string(max_len: int, min_len: int = 0) -> Reader:
    def read(v: Any, where: str, p: list[str]) -> str | None:
        if not isinstance(v, str):
            p.append(f"{where}: expected a string")
        elif not min_len <= len(v) <= max_len:
            p.append(f"{where}: {min_len}..{max_len} characters, got {len(v)}")
        elif not v.isascii():
            p.append(f"{where}: ASCII only (SMPP C-octet string)")
        else:
            return v
        return None
    return read


def _int(lo: int, hi: int, allowed: frozenset[int] | None = None,
         optional: bool = False) -> Reader:
    def read(v: Any, where: str, p: list[str]) -> int | None:
        if v is None and optional:
            return None
        if not isinstance(v, int) or isinstance(v, bool):
            p.append(f"{where}: expected an integer" + (" or null" if optional else ""))
        elif allowed is not None and v not in allowed:
            p.append(f"{where}: one of {sorted(allowed)}, got {v}")
        elif not lo <= v <= hi:
            p.append(f"{where}: must be within {lo}..{hi}, got {v}")
        else:
            return v
        return None
    return read


def _number(lo: float, hi: float = float("inf"), lo_open: bool = False) -> Reader:
    def read(v: Any, where: str, p: list[str]) -> float | None:
        if not isinstance(v, int | float) or isinstance(v, bool) or v != v:
            p.append(f"{where}: expected a number")
        elif (v <= lo if lo_open else v < lo) or v > hi:
            p.append(f"{where}: must be {'>' if lo_open else '>='} {lo:g}"
                     + (f" and <= {hi:g}" if hi != float("inf") else "") + f", got {v}")
        else:
            return float(v)
        return None
    return read


def _choice(*values: str) -> Reader:
    def read(v: Any, where: str, p: list[str]) -> str | None:
        if v not in values:
            p.append(f"{where}: one of {', '.join(values)}, got {v!r}")
            return None
        return str(v)
    return read


def _id(v: Any, where: str, p: list[str]) -> str | None:
    if not isinstance(v, str) or not _ID.match(v):
        p.append(f"{where}: 3..25 characters among A-Z a-z 0-9 _ -")
        return None
    return v


def _hosts(v: Any, where: str, p: list[str]) -> tuple[tuple[str, int], ...] | None:
    if not isinstance(v, list) or not v:
        p.append(f"{where}: a non-empty list of \"host:port\" (primary first)")
        return None
    out: list[tuple[str, int]] = []
    for i, item in enumerate(v):
        host_port = _host_port(item)
        if host_port is None:
            p.append(f"{where}[{i}]: expected \"host:port\" with a port in 1..65535, "
                     f"got {item!r}")
        else:
            out.append(host_port)
    return tuple(out) if len(out) == len(v) else None


def _host_port(item: Any) -> tuple[str, int] | None:
    if not isinstance(item, str) or ":" not in item:
        return None
    host, _, port = item.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]                                      # [::1]:2775
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return host, int(port)


_KEYS: dict[str, tuple[Reader, Any]] = {
    # key: (reader, default); a default of ... means required
    "id": (_id, ...),
    "hosts": (_hosts, ...),
    "system_id": (_string(15, 1), ...),
    "password": (_string(8), ...),
    "system_type": (_string(12), ""),
    "bind": (_choice("transceiver", "transmitter", "receiver"), "transceiver"),
    "address_range": (_string(40), ""),
    "addr_ton": (_int(0, 6, _TONS), 0),
    "addr_npi": (_int(0, 18, _NPIS), 0),
    "binds": (_int(1, 64), 1),
    "window": (_int(1, 10_000), 10),
    "throughput": (_number(0), 0.0),
    "burst": (_number(1), None),
    "enquire_link_interval": (_number(0), 30.0),
    "response_timeout": (_number(0, lo_open=True), 30.0),
    "inactivity_timeout": (_number(0), 0.0),
    "connect_timeout": (_number(0, lo_open=True), 10.0),
    "reconnect_initial_delay": (_number(0, lo_open=True), 1.0),
    "reconnect_max_delay": (_number(0, lo_open=True), 60.0),
    "source_ton": (_int(0, 6, _TONS, optional=True), None),
    "source_npi": (_int(0, 18, _NPIS, optional=True), None),
    "dest_ton": (_int(0, 6, _TONS, optional=True), None),
    "dest_npi": (_int(0, 18, _NPIS, optional=True), None),
    "data_coding": (_int(0, 255, optional=True), None),
    "registered_delivery": (_choice("as_requested", "always", "never"), "as_requested"),
    "receipt_id_mode": (_choice(*(m.value for m in ReceiptIdMode)), "as_is"),
    "correlation_ttl": (_number(0, lo_open=True), 259200.0),
    "max_attempts": (_int(1, 1000), 5),
    "retry_delay": (_number(0), 10.0),
    "retry_max_delay": (_number(0), 600.0),
    "throttle_pause": (_number(0), 1.0),
    "mo_reassembly_timeout": (_number(0, lo_open=True), 300.0),
    "pending_receipt_ttl": (_number(0), 300.0),
}


def connector_config_from_mapping(raw: Mapping[str, Any],
                                  path: str = "connectors[0]") -> ConnectorConfig:
    """Read one connector's settings (a YAML mapping); raise ConnectorConfigError listing
    every problem, each as `path.key: reason`."""
    if not isinstance(raw, Mapping):
        raise ConnectorConfigError([f"{path}: expected a mapping"])
    p: list[str] = [f"{path}.{k}: unknown key" for k in sorted(map(str, raw.keys() - _KEYS))]
    values: dict[str, Any] = {}
    for key, (read, default) in _KEYS.items():
        if key not in raw:
            if default is ...:
                p.append(f"{path}.{key}: required")
            values[key] = default
            continue
        before = len(p)
        value = read(raw[key], f"{path}.{key}", p)
        values[key] = value if len(p) == before else default
    if "reconnect_max_delay" in raw or "reconnect_initial_delay" in raw:
        lo, hi = values["reconnect_initial_delay"], values["reconnect_max_delay"]
        if isinstance(lo, float) and isinstance(hi, float) and hi < lo:
            p.append(f"{path}.reconnect_max_delay: must be >= reconnect_initial_delay")
    if p:
        raise ConnectorConfigError(p)
    if values["burst"] is None:
        values["burst"] = max(1.0, values["throughput"])
    values["receipt_id_mode"] = ReceiptIdMode(values["receipt_id_mode"])
    return ConnectorConfig(**values)


def connector_keys() -> tuple[str, ...]:
    """Every key a connector mapping may have (for the admin shell and the docs)."""
    return tuple(_KEYS)
