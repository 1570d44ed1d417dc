# tests: tests/unit/test_http_build.py
"""A validated /send or /rate request as our `Message`.

Rules (../shared/reference/jasmin.md §4.2, §8; issue 6 fixes marked "fix"):
- `content` is text in UTF-8 and we encode it for `coding` (fix: Jasmin forwards the
  request octets for every coding but 0). coding 0 is GSM 03.38, unpacked; a character
  GSM cannot carry becomes `?`, as Jasmin's codec does. For the other text codings a
  character the coding cannot carry is a 400 naming it. Octets that are not UTF-8 are
  forwarded as given, which is what a Jasmin client that pre-encodes (UTF-16BE for 8)
  expects. Binary codings (2, 4, 9) carry the octets as given.
- `hex-content` is octets, cut into parts as they are.
- Long content is split into parts with a concatenation UDH (8-bit reference per
  destination) or SAR TLVs; more parts than `max_parts` is a 400 (fix: Jasmin silently
  drops what does not fit in 5 parts).
- registered_delivery asks the vendor for receipts when dlr-level is 2 or 3, on every part
  (fix: Jasmin asks on the last part only and loses the others' receipts).
- The dlr settings, when a dlr-url is given, and the tags travel in `Message.extra`
  (keys DLR_URL, DLR_LEVEL, DLR_METHOD, TAGS) for the callbacks and the router.
Pure: no Twisted.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

from smscd.message import Address, Message, Part
from smscd.smpp.coding import DEFAULT_REGISTRY, UnsupportedCoding
from smscd.smpp.errors import SmppError
from smscd.smpp.gsm7 import TextEncodingError, gsm7_encode, gsm7_fits
from smscd.smpp.smpp_time import parse_smpp_time
from smscd.smpp.split import (ReferenceAllocator, SplitMethod, TooManyParts, split_bytes,
                              split_text)
from smscd.smpp import split
from smscd.smpp.status import CommandStatus
from smscd.smpp.tlv import STANDARD_TLVS, Tlv

from .params import bad_request, hex_octets

DLR_URL, DLR_LEVEL, DLR_METHOD, TAGS = "dlr-url", "dlr-level", "dlr-method", "tags"
_UDHI = 0x40
_MAX_VALIDITY_MINUTES = 10 * 366 * 24 * 60     # beyond ten years a date stops making sense


@dataclass(frozen=True, slots=True)
class BuildSettings:
    split: SplitMethod = SplitMethod.UDH8
    max_parts: int = 255


class Builder:
    """Holds the concatenation references, so that it is one per server."""

    def __init__(self, settings: BuildSettings = BuildSettings()) -> None:
        self.settings = settings
        self._refs = ReferenceAllocator.for_method(settings.split)

    def message(self, args: Mapping[str, str], *, message_id: str, user: str, now: float,
                default_source: str | None = None) -> Message:
        """Raises HttpError 400 for content, sdt or lengths that cannot be sent."""
        coding = int(args["coding"])
        destination = args["to"]
        parts = self._parts(args, coding, destination)
        dlr = args.get("dlr") == "yes"
        level = int(args.get("dlr-level", "1"))
        extra: dict[str, str] = {}
        if dlr and "dlr-url" in args:
            extra.update({DLR_URL: args["dlr-url"], DLR_LEVEL: str(level),
                          DLR_METHOD: args.get("dlr-method", "POST")})
        if args.get("tags"):
            extra[TAGS] = args["tags"]
        validity = args.get("validity-period")
        if validity is not None and int(validity) > _MAX_VALIDITY_MINUTES:
            raise bad_request(f"Argument [validity-period] has an invalid value: [{validity}].")
        return Message(
            id=message_id, user=user, source=Address(args.get("from") or default_source or ""),
            destination=Address(destination), parts=parts, created_at=now,
            data_coding=coding, priority=int(args.get("priority", "0")),
            registered_delivery=1 if dlr and level in (2, 3) else 0,
            schedule_at=_schedule(args.get("sdt"), now),
            expires_at=None if validity is None else now + 60 * int(validity),
            origin="http", extra=extra)

    def _parts(self, args: Mapping[str, str], coding: int, destination: str
               ) -> tuple[Part, ...]:
        octets = hex_octets(args)
        content = _encodable(args.get("content", ""), coding) if octets is None else octets
        try:
            cut = self._split(content, coding, 0)
            if len(cut) > 1:          # long: a reference of its own for this destination
                cut = self._split(content, coding, self._refs.next(destination))
        except TooManyParts as e:
            raise bad_request(f"Content is too long: it needs {e.needed} parts, at most "
                              f"{e.maximum} are allowed.") from None
        except SmppError as e:    # a character the coding cannot carry, a bad coding
            raise bad_request(f"Argument [content] cannot be sent with coding {coding}: "
                              f"{e}.") from None
        return tuple(_part(p) for p in cut)

    def _split(self, content: str | bytes, coding: int, ref: int) -> list[split.Part]:
        method, max_parts = self.settings.split, self.settings.max_parts
        if isinstance(content, str):
            return split_text(content, coding, method, ref, max_parts)
        return split_bytes(content, coding, method, ref, max_parts)


def _encodable(text: str, coding: int) -> str | bytes:
    """What to split: text we encode, or octets passed through (see the rules). GSM text
    is encoded here, once (its octets split as the text would)."""
    if coding == 0:
        try:
            return gsm7_encode(text)
        except TextEncodingError:
            return gsm7_encode("".join(c if gsm7_fits(c) else "?" for c in text))
    raw = text.encode("utf-8", "surrogateescape")
    try:
        codec = DEFAULT_REGISTRY.codec_for(coding)
    except UnsupportedCoding:
        return raw
    if codec.encode is None or _has_escapes(text):
        return raw
    return text


def _has_escapes(text: str) -> bool:
    """True when the request octets were not UTF-8 (surrogateescape left lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _part(p: split.Part) -> Part:
    tlvs: tuple[Tlv, ...] = ()
    if p.sar is not None:
        ref, total, seq = p.sar
        make = STANDARD_TLVS.make
        tlvs = (make("sar_msg_ref_num", ref), make("sar_total_segments", total),
                make("sar_segment_seqnum", seq))
    return Part(p.short_message, _UDHI if p.udhi else 0, tlvs)


def _schedule(sdt: str | None, now: float) -> float | None:
    if sdt is None:
        return None
    try:
        when = parse_smpp_time(sdt, datetime.fromtimestamp(now, timezone.utc),
                               status=CommandStatus.ESME_RINVSCHED)
    except SmppError:
        raise bad_request(f"Argument [sdt] has an invalid value: [{sdt}].") from None
    return None if when is None else when.timestamp()
