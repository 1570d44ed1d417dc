# tests: tests/unit/test_message.py
"""The one message model that flows ingress -> router -> queue -> connector -> store.

A Message is what a customer submitted once (one submit_sm, or one HTTP request per
recipient); its parts are what goes upstream, one submit_sm each, each with its own
vendor id and state. Fields that later features need (priority, tenant, schedule and
validity, template, idempotency key) are here from the start so that queues and stores
never change shape for them.

Serialisation is versioned JSON (never pickle): `dump_message` / `load_message`.
`load_message` validates types and refuses unknown versions; it evaluates nothing.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from smscd.smpp.tlv import STANDARD_TLVS, Tlv

FORMAT_VERSION = 1


class UnsupportedFormat(ValueError):
    """A stored message in a format this version cannot read."""


@dataclass(frozen=True, slots=True)
class Address:
    addr: str
    ton: int = 0
    npi: int = 0


@dataclass(frozen=True, slots=True)
class Part:
    """One submit_sm upstream: its bytes, the esm_class bits it adds (UDHI), its TLVs
    (SAR or message_payload)."""
    short_message: bytes
    esm_class: int = 0
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    user: str                          # the customer's uid
    source: Address
    destination: Address
    parts: tuple[Part, ...]
    created_at: float                  # epoch seconds, UTC
    data_coding: int = 0
    esm_class: int = 0
    protocol_id: int = 0
    priority: int = 0
    registered_delivery: int = 0
    service_type: str = ""
    tlvs: tuple[Tlv, ...] = ()         # customer TLVs passed upstream as they came
    schedule_at: float | None = None
    expires_at: float | None = None
    connector: str = ""                # chosen by the router
    origin: str = "smpp"               # "smpp" or "http": where receipts go back to
    tenant: str = ""                   # the customer's group
    template: str | None = None
    idempotency_key: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # ingress-specific (dlr-url, ...)


# --- serialisation ----------------------------------------------------------------------

def _tlv_to_json(t: Tlv) -> list[Any]:
    v = t.value
    if isinstance(v, bytes):
        return [t.tag, "b", base64.b64encode(v).decode("ascii")]
    return [t.tag, "i" if isinstance(v, int) else "s", v]


def _tlv_from_json(item: Any) -> Tlv:
    tag, kind, value = item
    if not isinstance(tag, int) or kind not in ("b", "i", "s"):
        raise UnsupportedFormat(f"bad TLV entry {item!r}")
    spec = STANDARD_TLVS.by_tag.get(tag)
    name = spec.name if spec is not None else None
    if kind == "b":
        return Tlv(tag, base64.b64decode(_typed(value, str)), name)
    return Tlv(tag, _typed(value, int if kind == "i" else str), name)


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise UnsupportedFormat(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def dump_message(m: Message) -> bytes:
    d: dict[str, Any] = {
        "v": FORMAT_VERSION, "id": m.id, "user": m.user,
        "src": [m.source.addr, m.source.ton, m.source.npi],
        "dst": [m.destination.addr, m.destination.ton, m.destination.npi],
        "parts": [[base64.b64encode(p.short_message).decode("ascii"), p.esm_class,
                   [_tlv_to_json(t) for t in p.tlvs]] for p in m.parts],
        "created": m.created_at, "dcs": m.data_coding, "esm": m.esm_class,
        "pid": m.protocol_id, "prio": m.priority, "rd": m.registered_delivery,
        "st": m.service_type, "tlvs": [_tlv_to_json(t) for t in m.tlvs],
        "sched": m.schedule_at, "exp": m.expires_at, "conn": m.connector,
        "origin": m.origin, "tenant": m.tenant, "tpl": m.template,
        "idem": m.idempotency_key, "extra": m.extra,
    }
    return json.dumps(d, separators=(",", ":")).encode()


def load_message(data: bytes) -> Message:
    try:
        d = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise UnsupportedFormat(f"not JSON: {e}") from None
    if not isinstance(d, dict) or d.get("v") != FORMAT_VERSION:
        raise UnsupportedFormat(f"message format version {d.get('v') if isinstance(d, dict) else None!r}")
    try:
        return Message(
            id=_typed(d["id"], str), user=_typed(d["user"], str),
            source=_address(d["src"]), destination=_address(d["dst"]),
            parts=tuple(Part(base64.b64decode(_typed(b, str)), _typed(e, int),
                             tuple(_tlv_from_json(t) for t in ts)) for b, e, ts in d["parts"]),
            created_at=float(_typed(d["created"], (int, float))),  # type: ignore[arg-type]
            data_coding=_typed(d["dcs"], int), esm_class=_typed(d["esm"], int),
            protocol_id=_typed(d["pid"], int), priority=_typed(d["prio"], int),
            registered_delivery=_typed(d["rd"], int), service_type=_typed(d["st"], str),
            tlvs=tuple(_tlv_from_json(t) for t in d["tlvs"]),
            schedule_at=_optional_float(d["sched"]), expires_at=_optional_float(d["exp"]),
            connector=_typed(d["conn"], str), origin=_typed(d["origin"], str),
            tenant=_typed(d["tenant"], str),
            template=None if d["tpl"] is None else _typed(d["tpl"], str),
            idempotency_key=None if d["idem"] is None else _typed(d["idem"], str),
            extra={_typed(k, str): _typed(v, str) for k, v in _typed(d["extra"], dict).items()},
        )
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, UnsupportedFormat):
            raise
        raise UnsupportedFormat(f"malformed message: {e!r}") from None


def _address(item: Any) -> Address:
    addr, ton, npi = item
    return Address(_typed(addr, str), _typed(ton, int), _typed(npi, int))


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(_typed(value, (int, float)))  # type: ignore[arg-type]
