"""One message per recipient from a template (rest_api.api._Recipients) against
dataclasses.replace: a Message field added, or one copied wrong, breaks these tests."""
from __future__ import annotations

import dataclasses

from smscd.message import Address, Message, Part
from smscd.rest_api.api import _Recipients
from smscd.smpp.tlv import STANDARD_TLVS

TEMPLATE = Message(
    id="", user="alice", source=Address("SHOP", 5, 0), destination=Address("33600000001"),
    parts=(Part(b"\x05\x00\x03\x01\x02\x01hello", 0x40), Part(b"\x05\x00\x03\x01\x02\x02x", 0x40)),
    created_at=12.5, data_coding=8, esm_class=3, protocol_id=1, priority=2,
    registered_delivery=1, service_type="CMT",
    tlvs=(STANDARD_TLVS.make("user_message_reference", 7),), schedule_at=20.0,
    expires_at=99.0, connector="c0", origin="http", tenant="g1", template="t",
    idempotency_key="k", extra={"tags": "vip"})


def test_each_recipient_is_the_template_with_its_id_destination_and_origin() -> None:
    """Breaks if a field of the template is lost or another changed."""
    got = _Recipients(TEMPLATE).message("m2", "4470000")
    assert got == dataclasses.replace(TEMPLATE, id="m2", destination=Address("4470000"),
                                      origin="rest")
    assert [f.name for f in dataclasses.fields(Message) if not hasattr(got, f.name)] == []


def test_extra_is_each_messages_own() -> None:
    """Breaks if the pipeline's change to one message's extra (fall-through candidates)
    shows on another recipient's message or on the template."""
    recipients = _Recipients(TEMPLATE)
    a, b = recipients.message("a", "1"), recipients.message("b", "2")
    a.extra["candidates"] = "c2"
    assert b.extra == TEMPLATE.extra == {"tags": "vip"}
