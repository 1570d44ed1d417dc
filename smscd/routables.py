# tests: tests/integration/test_mt_pipeline.py, tests/integration/test_routing_e2e.py
"""The daemon's messages as routing sees them (routing.routable.Routable), and back.

Why here: routing/ never imports the daemon's message model, so the two conversions live
on the daemon's side, once, for the MT pipeline and the MO router alike.

Rules:
- `content` (the decoded text) is filled only when asked (`with_content`): decoding costs
  on the hot path and only a ContentFilter needs it. A long message's text is the text of
  all its parts (UDH removed; message_payload when present).
- MT tags come from the HTTP `tags` argument (comma-separated, Message.extra["tags"]).
- An interception is applied back only where it changed something: source and destination
  (address, TON, NPI), registered_delivery, tags (back into extra["tags"]) and TLVs (an
  interceptor's TLV replaces the message's TLV with that tag, new ones are appended).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from routing.routable import MO, MT, Routable
from smscd.deliveries import InboundMessage
from smscd.message import Address, Message
from smscd.smpp.coding import decode_text
from smscd.smpp.tlv import STANDARD_TLVS, Tlv
from smscd.stores.interfaces import UserRecord

TAGS = "tags"
_UDHI = 0x40


def message_text(message: Message) -> str:
    """The text the customer sent, all parts together."""
    octets = b""
    for part in message.parts:
        payload = next((t.value for t in part.tlvs if t.name == "message_payload"), None)
        data = payload if isinstance(payload, bytes) else part.short_message
        if (part.esm_class | message.esm_class) & _UDHI and data:
            data = data[data[0] + 1:]
        octets += data
    return decode_text(octets, message.data_coding)


def mt_routable(message: Message, user: UserRecord, channel: str, at: datetime,
                with_content: bool) -> Routable:
    src, dst = message.source, message.destination
    tags = message.extra.get(TAGS)
    return Routable(
        MT, at, user.uid, user.gid, "", channel, src.addr, src.ton, src.npi, dst.addr,
        dst.ton, dst.npi, message_text(message) if with_content else "", message.data_coding,
        message.priority, message.registered_delivery,
        frozenset(t for t in tags.split(",") if t) if tags else frozenset())


def apply_mt(message: Message, before: Routable, after: Routable) -> Message:
    """`message` with what an interceptor changed from `before` to `after`."""
    changes = _address_changes(before, after)
    if after.registered_delivery != before.registered_delivery:
        changes["registered_delivery"] = after.registered_delivery
    if after.tlvs != before.tlvs:
        changes["tlvs"] = merged_tlvs(message.tlvs, after.tlvs)
    extra = message.extra
    if after.tags != before.tags:
        extra = dict(extra)
        if after.tags:
            extra[TAGS] = ",".join(sorted(after.tags))
        else:
            extra.pop(TAGS, None)
        changes["extra"] = extra
    return replace(message, **changes) if changes else message   # type: ignore[arg-type]


def _address_changes(before: Routable, after: Routable) -> dict[str, object]:
    """`source`/`destination` Addresses for the sides an interceptor rewrote."""
    changes: dict[str, object] = {}
    if (after.source_addr, after.source_ton, after.source_npi) != (
            before.source_addr, before.source_ton, before.source_npi):
        changes["source"] = Address(after.source_addr, after.source_ton, after.source_npi)
    if (after.destination_addr, after.dest_ton, after.dest_npi) != (
            before.destination_addr, before.dest_ton, before.dest_npi):
        changes["destination"] = Address(after.destination_addr, after.dest_ton,
                                         after.dest_npi)
    return changes


def merged_tlvs(tlvs: tuple[Tlv, ...], set_: tuple[tuple[int, bytes], ...]) -> tuple[Tlv, ...]:
    tags = {tag for tag, _ in set_}
    kept = tuple(t for t in tlvs if t.tag not in tags)
    return kept + tuple(Tlv(tag, value, _tlv_name(tag)) for tag, value in set_)


def _tlv_name(tag: int) -> str | None:
    spec = STANDARD_TLVS.by_tag.get(tag)
    return spec.name if spec is not None else None


def mo_routable(mo: InboundMessage, at: datetime, with_content: bool) -> Routable:
    src, dst = mo.source, mo.destination
    return Routable(
        MO, at, connector=mo.connector, source_addr=src.addr, source_ton=src.ton,
        source_npi=src.npi, destination_addr=dst.addr, dest_ton=dst.ton, dest_npi=dst.npi,
        content=decode_text(mo.content, mo.data_coding) if with_content else "",
        data_coding=mo.data_coding)


def apply_mo(mo: InboundMessage, before: Routable, after: Routable) -> InboundMessage:
    """`mo` with the addresses an MO interceptor rewrote (tags only steer the router)."""
    changes = _address_changes(before, after)
    if after.tlvs != before.tlvs:
        changes["tlvs"] = merged_tlvs(mo.tlvs, after.tlvs)
    return replace(mo, **changes) if changes else mo   # type: ignore[arg-type]
