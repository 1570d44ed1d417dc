"""What the connector sends upstream and how it reads the answers, as pure functions."""
from __future__ import annotations

from typing import Any

import pytest

from connectors.connector_config import connector_config_from_mapping
from connectors.mt_pdus import (Outcome, classify, error_code, registered_delivery, retry_delay,
                                submit_sm_for)
from smscd.message import Address, Message, Part
from smscd.smpp.status import CommandStatus as S
from smscd.smpp.tlv import STANDARD_TLVS


def cfg(**overrides: Any) -> Any:
    return connector_config_from_mapping(dict(id="vendor1", hosts=["h:1"], system_id="s",
                                               password="p", **overrides))


def message(**overrides: Any) -> Message:
    values: dict[str, Any] = dict(
        id="m1", user="u", source=Address("SENDER", 5, 0), destination=Address("336", 0, 1),
        parts=(Part(b"\x05\x00\x03\x01\x02\x01abc", 0x40, (STANDARD_TLVS.make("sar_msg_ref_num", 1),)),
               Part(b"def")),
        created_at=0.0, esm_class=0x03, data_coding=0, protocol_id=7, priority=2,
        registered_delivery=0x02, service_type="CMT",
        tlvs=(STANDARD_TLVS.make("user_message_reference", 9),))
    values.update(overrides)
    return Message(**values)


def test_message_fields_win_and_defaults_fill_only_unknowns() -> None:
    """Breaks if connector defaults overwrite what the message set, or do not fill what it
    left unknown (0)."""
    pdu = submit_sm_for(message(), 0, cfg(source_ton=1, source_npi=1, dest_ton=1, dest_npi=9,
                                          data_coding=3), now=0.0)
    assert (pdu.source_addr, pdu.source_addr_ton, pdu.source_addr_npi) == ("SENDER", 5, 1)
    assert (pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi) == ("336", 1, 1)
    assert (pdu.data_coding, pdu.protocol_id, pdu.priority_flag, pdu.service_type) == \
        (3, 7, 2, "CMT")
    assert pdu.esm_class == 0x43                              # message | part (UDHI)
    assert [t.name for t in pdu.tlvs] == ["user_message_reference", "sar_msg_ref_num"]
    assert pdu.short_message.endswith(b"abc") and pdu.schedule_delivery_time == ""


def test_no_defaults_keep_the_message_as_is() -> None:
    """Breaks if an unset default (None) changes a field."""
    pdu = submit_sm_for(message(), 1, cfg(), now=0.0)
    assert (pdu.source_addr_npi, pdu.dest_addr_ton, pdu.data_coding, pdu.esm_class) == \
        (0, 0, 0, 0x03)
    assert pdu.short_message == b"def" and pdu.registered_delivery == 0x02


def test_validity_is_the_time_left_before_expiry() -> None:
    """Breaks if a message that expires is sent without a validity period (the vendor would
    keep trying after the customer gave up) or with the wrong one."""
    pdu = submit_sm_for(message(expires_at=1000.0 + 3723.2), 1, cfg(), now=1000.0)
    assert pdu.validity_period == "000000010204000R"


@pytest.mark.parametrize("requested, policy, sent", [
    (0x00, "as_requested", 0x00), (0x02, "as_requested", 0x02),
    (0x00, "always", 0x01), (0x12, "always", 0x11), (0x01, "never", 0x00)])
def test_registered_delivery_policy(requested: int, policy: str, sent: int) -> None:
    """Breaks if `always` does not ask the vendor for a final receipt (billing cannot
    settle) or drops the customer's intermediate bit, or `never` asks for one."""
    assert registered_delivery(requested, policy) == sent


@pytest.mark.parametrize("status, outcome", [
    (S.ESME_ROK, Outcome.ACCEPTED), (S.ESME_RTHROTTLED, Outcome.BACKPRESSURE),
    (S.ESME_RMSGQFUL, Outcome.BACKPRESSURE), (S.ESME_RSYSERR, Outcome.TRANSIENT),
    (S.ESME_RINVBNDSTS, Outcome.TRANSIENT), (S.ESME_RINVDSTADR, Outcome.PERMANENT),
    (0x400, Outcome.PERMANENT)])
def test_answers_are_classified(status: int, outcome: Outcome) -> None:
    """Breaks if throttling counts as a failure, or a refused destination is retried."""
    assert classify(status) is outcome


def test_retry_delay_doubles_up_to_the_cap_and_codes_are_hex() -> None:
    """Breaks if retries hammer the vendor at a fixed rate or wait without bound, or error
    codes change format (customers parse them from receipts)."""
    assert [retry_delay(n, 10, 600) for n in range(8)] == [10, 20, 40, 80, 160, 320, 600, 600]
    assert retry_delay(10_000, 10, 600) == 600
    assert (error_code(S.ESME_RINVDSTADR), error_code(0x58), error_code(0x400)) == \
        ("00B", "058", "400")


def test_submit_sm_is_the_one_the_constructor_builds() -> None:
    """submit_sm_for fills the PDU's __dict__ directly: breaks if that gives a PDU that is
    not equal, field for field, to the one SubmitSm(...) builds (or misses a default)."""
    from dataclasses import fields

    from smscd.smpp.pdu import SubmitSm
    pdu = submit_sm_for(message(expires_at=100.5), 0, cfg(), now=0.0)
    rebuilt = SubmitSm(**{f.name: getattr(pdu, f.name) for f in fields(SubmitSm)})
    assert pdu == rebuilt and vars(pdu) == vars(rebuilt) and hash(pdu) == hash(rebuilt)
    assert pdu.validity_period == "000000000141000R"     # 101 s, relative
    assert submit_sm_for(message(expires_at=100.5), 0, cfg(), now=50.0).validity_period \
        == "000000000051000R"
