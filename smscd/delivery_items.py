# tests: tests/integration/test_dispatch.py
"""What waits in a customer's deliver queue: a receipt or an MO, as the deliver_sm to send.

Stored as versioned JSON (never pickle), the deliver_sm fields only, so a receipt queued by
one node or before a restart is sent unchanged by another. `load_item` validates types and
refuses unknown versions; it evaluates nothing. `dump_item` runs once per receipt, so it
formats the usual item itself (exact int fields, str fields that are str): the same bytes
as `json.dumps(_as_dict(item))`, which it falls back to otherwise (a test holds the two to
each other).
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from functools import partial

from twisted.logger import Logger

from smscd.deliveries import deliver_queue
from smscd.message import (UnsupportedFormat, _json, _quote, _tlv_from_json, _tlv_to_json,
                           _tlvs_json, load_versioned)
from smscd.smpp.pdu import DeliverSm
from smscd.stores.interfaces import QueueEntry, Queues

log = Logger(namespace="smscd.delivery_items")

FORMAT_VERSION = 1
RECEIPT, MO = "receipt", "mo"


@dataclass(frozen=True, slots=True)
class DeliverItem:
    kind: str          # RECEIPT or MO
    ref: str           # our message id (receipt) or the MO's id: for logs and operators
    pdu: DeliverSm
    origin: str = ""   # MO: the connector it came in on (for routing it again later)


_FIELDS = ("service_type", "source_addr_ton", "source_addr_npi", "source_addr",
           "dest_addr_ton", "dest_addr_npi", "destination_addr", "esm_class", "protocol_id",
           "priority_flag", "registered_delivery", "data_coding")


def dump_item(item: DeliverItem) -> bytes:
    fast = _format(item)
    return fast if fast is not None else _json(_as_dict(item)).encode()


def _as_dict(item: DeliverItem) -> dict[str, Any]:
    pdu = item.pdu
    d: dict[str, Any] = {"v": FORMAT_VERSION, "kind": item.kind, "ref": item.ref,
                         **{name: getattr(pdu, name) for name in _FIELDS},
                         "sm": base64.b64encode(pdu.short_message).decode("ascii"),
                         "tlvs": [_tlv_to_json(t) for t in pdu.tlvs]}
    if item.origin:
        d["origin"] = item.origin
    return d


def _format(item: DeliverItem) -> bytes | None:
    """`_as_dict(item)` as compact JSON; None when a field is not of its exact usual type."""
    p = item.pdu
    for v in (p.source_addr_ton, p.source_addr_npi, p.dest_addr_ton, p.dest_addr_npi,
              p.esm_class, p.protocol_id, p.priority_flag, p.registered_delivery,
              p.data_coding):
        if type(v) is not int:
            return None
    try:
        origin = f',"origin":{_quote(item.origin)}' if item.origin else ""
        return (
            f'{{"v":{FORMAT_VERSION},"kind":{_quote(item.kind)},"ref":{_quote(item.ref)},'
            f'"service_type":{_quote(p.service_type)},"source_addr_ton":{p.source_addr_ton},'
            f'"source_addr_npi":{p.source_addr_npi},"source_addr":{_quote(p.source_addr)},'
            f'"dest_addr_ton":{p.dest_addr_ton},"dest_addr_npi":{p.dest_addr_npi},'
            f'"destination_addr":{_quote(p.destination_addr)},"esm_class":{p.esm_class},'
            f'"protocol_id":{p.protocol_id},"priority_flag":{p.priority_flag},'
            f'"registered_delivery":{p.registered_delivery},"data_coding":{p.data_coding},'
            f'"sm":"{base64.b64encode(p.short_message).decode("ascii")}",'
            f'"tlvs":{_tlvs_json(p.tlvs)}'
            f'{origin}}}').encode()
    except TypeError:           # a str field that is not a str
        return None


def load_item(data: bytes) -> DeliverItem:
    d = load_versioned(data, FORMAT_VERSION, "delivery item")
    try:
        fields = {name: d[name] for name in _FIELDS}
        for name, value in fields.items():
            expected = str if name in ("service_type", "source_addr", "destination_addr") \
                else int
            if not isinstance(value, expected) or isinstance(value, bool):
                raise UnsupportedFormat(f"{name}: expected {expected.__name__}")
        if d["kind"] not in (RECEIPT, MO) or not isinstance(d["ref"], str) \
                or not isinstance(d["sm"], str) or not isinstance(d["tlvs"], list):
            raise UnsupportedFormat("malformed delivery item")
        pdu = DeliverSm(short_message=base64.b64decode(d["sm"], validate=True),
                        tlvs=tuple(_tlv_from_json(t) for t in d["tlvs"]), **fields)
        origin = d.get("origin", "")
        if not isinstance(origin, str):
            raise UnsupportedFormat("origin: expected str")
        return DeliverItem(d["kind"], d["ref"], pdu, origin)
    except UnsupportedFormat:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise UnsupportedFormat(f"malformed delivery item: {e!r}") from None


def item_of(entry_obj: object, payload: bytes) -> DeliverItem:
    """The queue entry's item: the object published in this process, else the payload."""
    return entry_obj if isinstance(entry_obj, DeliverItem) else load_item(payload)


def report_expired(user: str, entries: list[QueueEntry]) -> None:
    """Expired receipts and MO stay in the dead letters; say which, so nothing goes silently."""
    for entry in entries:
        try:
            item = item_of(entry.obj, entry.payload)
            kind, ref = item.kind, item.ref
        except UnsupportedFormat:
            kind, ref = "item", entry.key
        log.warn("{kind} {ref} for {user} expired undelivered after {attempts} attempts; "
                 "kept as a dead letter", kind=kind, ref=ref, user=user,
                 attempts=entry.attempts)


def watch_expiry(queues: Queues, user: str) -> None:
    """Report what expires in `user`'s deliver queue (idempotent, cheap)."""
    queues.on_expired(deliver_queue(user), partial(report_expired, user))
