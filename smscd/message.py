# tests: tests/unit/test_message.py
"""The one message model that flows ingress -> router -> queue -> connector -> store.

A Message is what a customer submitted once (one submit_sm, or one HTTP request per
recipient); its parts are what goes upstream, one submit_sm each, each with its own
vendor id and state. Fields that later features need (priority, tenant, schedule and
validity, template, idempotency key) are here from the start so that queues and stores
never change shape for them.

Serialisation is versioned JSON (never pickle): `dump_message` / `load_message`.
`load_message` validates types and refuses unknown versions; it evaluates nothing.
`dump_message` runs once per accepted message, so it formats the usual message (exact int
and finite float fields) itself, half the cost of `json.dumps` on the same dict; the bytes
are the same as `json.dumps(_as_dict(m))`, which it falls back to for anything else (a
test holds the two to each other).
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _quote  # type: ignore[attr-defined]
from typing import Any

from smscd.smpp.tlv import STANDARD_TLVS, Tlv

FORMAT_VERSION = 1


class UnsupportedFormat(ValueError):
    """A stored message in a format this version cannot read."""


def load_versioned(data: bytes, version: int, what: str) -> dict[str, Any]:
    """The JSON object of a stored `what` whose "v" is `version`, else UnsupportedFormat."""
    try:
        d = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise UnsupportedFormat(f"not JSON: {e}") from None
    if not isinstance(d, dict) or d.get("v") != version:
        raise UnsupportedFormat(f"{what} format version "
                                f"{d.get('v') if isinstance(d, dict) else None!r}")
    return d


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


def _tlvs_json(tlvs: tuple[Tlv, ...]) -> str:
    """`json.dumps([_tlv_to_json(t) for t in tlvs])`, compact, formatted directly when every
    tag is an int and every value exactly an int, str or bytes (what the codec makes)."""
    if not tlvs:
        return "[]"
    out = []
    for t in tlvs:
        tag, v = t.tag, t.value
        kind = type(v)
        if type(tag) is not int:
            return _json([_tlv_to_json(t) for t in tlvs])
        if kind is int:
            out.append(f'[{tag},"i",{v}]')
        elif kind is str:
            out.append(f'[{tag},"s",{_quote(v)}]')
        elif kind is bytes:
            out.append(f'[{tag},"b","{base64.b64encode(v).decode("ascii")}"]')
        else:
            return _json([_tlv_to_json(t) for t in tlvs])
    return f'[{",".join(out)}]'


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


_json = json.JSONEncoder(separators=(",", ":")).encode


def dump_message(m: Message) -> bytes:
    fast = _format(m)
    return fast if fast is not None else _json(_as_dict(m)).encode()


def _as_dict(m: Message) -> dict[str, Any]:
    return {
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


def _format(m: Message) -> bytes | None:
    """`_as_dict(m)` as compact JSON, or None when a field is not of its exact usual type
    (an int subclass, a non-finite float...): json.dumps then decides how it looks."""
    src, dst = m.source, m.destination
    for v in (src.ton, src.npi, dst.ton, dst.npi, m.data_coding, m.esm_class,
              m.protocol_id, m.priority, m.registered_delivery):
        if type(v) is not int:
            return None
    created, sched, exp = m.created_at, m.schedule_at, m.expires_at
    for f in (created, sched, exp):
        if f is not None and (type(f) is not float or f - f != 0.0):
            return None
    for p in m.parts:
        if type(p.esm_class) is not int:
            return None
    try:
        return _formatted(m, src, dst, created, sched, exp)
    except TypeError:           # a str field that is not a str
        return None


def _formatted(m: Message, src: Address, dst: Address, created: float,
               sched: float | None, exp: float | None) -> bytes:
    parts = ",".join(
        f'[{_quote(base64.b64encode(p.short_message).decode("ascii"))},{p.esm_class},'
        f'{_tlvs_json(p.tlvs)}]' for p in m.parts)
    return (
        f'{{"v":{FORMAT_VERSION},"id":{_quote(m.id)},"user":{_quote(m.user)},'
        f'"src":[{_quote(src.addr)},{src.ton},{src.npi}],'
        f'"dst":[{_quote(dst.addr)},{dst.ton},{dst.npi}],"parts":[{parts}],'
        f'"created":{created!r},"dcs":{m.data_coding},"esm":{m.esm_class},'
        f'"pid":{m.protocol_id},"prio":{m.priority},"rd":{m.registered_delivery},'
        f'"st":{_quote(m.service_type)},'
        f'"tlvs":{_tlvs_json(m.tlvs)},'
        f'"sched":{"null" if sched is None else repr(sched)},'
        f'"exp":{"null" if exp is None else repr(exp)},"conn":{_quote(m.connector)},'
        f'"origin":{_quote(m.origin)},"tenant":{_quote(m.tenant)},'
        f'"tpl":{"null" if m.template is None else _quote(m.template)},'
        f'"idem":{"null" if m.idempotency_key is None else _quote(m.idempotency_key)},'
        f'"extra":{_json(m.extra) if m.extra else "{}"}}}').encode()


def load_message(data: bytes) -> Message:
    d = load_versioned(data, FORMAT_VERSION, "message")
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
