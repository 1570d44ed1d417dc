"""Semantic validation of customer submissions: each wrong field gets its own status."""
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from smscd.smpp.errors import InvalidPdu
from smscd.smpp.pdu import DataSm, SmeAddress, SubmitMulti, SubmitSm
from smscd.smpp.smpp_time import format_absolute
from smscd.smpp.status import CommandStatus as S
from smscd.smpp.tlv import tlvs
from smscd.smpp.validate import validate_submission

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
GOOD = SubmitSm(source_addr_ton=1, source_addr_npi=1, source_addr="12345",
                dest_addr_ton=1, dest_addr_npi=1, destination_addr="31600000000",
                registered_delivery=1, short_message=b"hello")


def status_of(pdu: SubmitSm | DataSm | SubmitMulti) -> int:
    with pytest.raises(InvalidPdu) as caught:
        validate_submission(pdu, NOW)
    return caught.value.status


def test_a_plain_submit_sm_passes_with_no_times():
    """A valid message must not be refused."""
    times = validate_submission(GOOD, NOW)
    assert times.schedule_delivery_time is None and times.validity_period is None


@pytest.mark.parametrize("change, status", [
    (dict(source_addr_ton=7), S.ESME_RINVSRCTON),
    (dict(source_addr_npi=2), S.ESME_RINVSRCNPI),
    (dict(dest_addr_ton=9), S.ESME_RINVDSTTON),
    (dict(dest_addr_npi=5), S.ESME_RINVDSTNPI),
    (dict(destination_addr=""), S.ESME_RINVDSTADR),
    (dict(esm_class=0x04), S.ESME_RINVESMCLASS),
    (dict(esm_class=0x02), S.ESME_RINVESMCLASS),
    (dict(priority_flag=4), S.ESME_RINVPRTFLG),
    (dict(registered_delivery=0x20), S.ESME_RINVREGDLVFLG),
    (dict(replace_if_present_flag=2), S.ESME_RINVREPFLAG),
    (dict(sm_default_msg_id=3), S.ESME_RINVDFTMSGID),
    (dict(schedule_delivery_time="2611231200000"), S.ESME_RINVSCHED),
    (dict(validity_period="261123120000004X"), S.ESME_RINVEXPIRY),
    (dict(validity_period="251123120000000+"), S.ESME_RINVEXPIRY),
    (dict(tlvs=tlvs(message_payload=b"x")), S.ESME_RINVMSGLEN),
    (dict(tlvs=tlvs(sar_msg_ref_num=1, sar_total_segments=2)), S.ESME_RMISSINGOPTPARAM),
    (dict(tlvs=tlvs(sar_msg_ref_num=1, sar_total_segments=2, sar_segment_seqnum=3)),
     S.ESME_RINVOPTPARAMVAL),
    (dict(esm_class=0x40, short_message=b"\x05\x00\x03"), S.ESME_RINVESMCLASS),
    (dict(esm_class=0x40, short_message=b"\x05\x00\x03\x01\x02\x01hi",
          tlvs=tlvs(sar_msg_ref_num=1, sar_total_segments=2, sar_segment_seqnum=1)),
     S.ESME_ROPTPARNOTALLWD),
])
def test_each_bad_field_gets_its_status(change, status):
    """A customer must learn which field is wrong from the command_status."""
    assert status_of(replace(GOOD, **change)) == status


def test_times_are_parsed_and_ordered():
    """Scheduled and validity times come back in UTC; validity before schedule is refused."""
    schedule = format_absolute(NOW + timedelta(hours=1))
    validity = format_absolute(NOW + timedelta(hours=2))
    times = validate_submission(replace(GOOD, schedule_delivery_time=schedule,
                                        validity_period=validity), NOW)
    assert times.schedule_delivery_time == NOW + timedelta(hours=1)
    assert times.validity_period == NOW + timedelta(hours=2)
    assert status_of(replace(GOOD, schedule_delivery_time=validity,
                             validity_period=schedule)) == S.ESME_RINVEXPIRY


def test_relative_validity_counts_from_now():
    """A relative validity of one day must end one day after `now`."""
    times = validate_submission(replace(GOOD, validity_period="000001000000000R"), NOW)
    assert times.validity_period == NOW + timedelta(days=1)


def test_data_sm_needs_message_payload():
    """data_sm carries text only in message_payload (5.0 §4.2.2)."""
    data_sm = DataSm(source_addr="1", destination_addr="2")
    assert status_of(data_sm) == S.ESME_RMISSINGOPTPARAM
    validate_submission(replace(data_sm, tlvs=tlvs(message_payload=b"hi")), NOW)


def test_submit_multi_destination_count():
    """submit_multi needs 1..254 destinations."""
    multi = SubmitMulti(source_addr="1", short_message=b"hi")
    assert status_of(multi) == S.ESME_RINVNUMDESTS
    validate_submission(replace(multi, dest_addresses=(SmeAddress(1, 1, "316"),)), NOW)
    assert status_of(replace(multi, dest_addresses=(SmeAddress(1, 1, "316"),),
                             replace_if_present_flag=1)) == S.ESME_RINVREPFLAG
