"""Delivery receipt text and TLVs, both ways (DLR-01, DLR-02), and receipt id correlation (DLR-03)."""
from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smscd.smpp.message_state import MessageState, stat_word
from smscd.smpp.receipt import (
    Receipt,
    ReceiptIdMode,
    format_receipt,
    network_error_code,
    normalise_receipt_id,
    normalise_submitted_id,
    parse_receipt,
    receipt_tlvs,
)

S = MessageState
STANDARD = ("id:abc sub:001 dlvrd:001 submit date:2611221200 done date:2611221201 "
            "stat:DELIVRD err:000 text:hello")
SUBMIT = datetime(2026, 11, 22, 12, 0)
DONE = datetime(2026, 11, 22, 12, 1)
NO_TLVS: dict[str, object] = {}


def test_standard_vector_parses() -> None:
    """DLR-02: the App. B receipt must read field by field."""
    assert parse_receipt(STANDARD, NO_TLVS) == Receipt(
        "abc", S.DELIVERED, "DELIVRD", 1, 1, SUBMIT, DONE, "000", "hello")


def test_standard_vector_formats() -> None:
    """DLR-01: what we send must be exactly the App. B layout with lowercase text:."""
    r = Receipt.for_state("abc", S.DELIVERED, submit_date=SUBMIT, done_date=DONE, text="hello")
    assert format_receipt(r) == STANDARD


def test_format_with_seconds() -> None:
    """Some customers want 12-digit dates; the option must add seconds and nothing else."""
    r = Receipt.for_state("abc", S.UNDELIVERABLE, submit_date=SUBMIT.replace(second=5),
                          done_date=DONE.replace(second=6), error="034")
    assert format_receipt(r, date_digits=12) == (
        "id:abc sub:001 dlvrd:000 submit date:261122120005 done date:261122120106 "
        "stat:UNDELIV err:034 text:")


def test_format_keeps_only_twenty_characters_of_text() -> None:
    """App. B: text carries the first 20 characters of the message."""
    r = Receipt.for_state("abc", S.DELIVERED, submit_date=SUBMIT, done_date=DONE,
                          text="0123456789abcdefghijKLMNOP")
    assert format_receipt(r).endswith(" text:0123456789abcdefghij")


def test_format_needs_dates() -> None:
    """A TLV-only receipt must be given dates before it is written as text."""
    with pytest.raises(ValueError):
        format_receipt(Receipt.for_state("abc", S.DELIVERED))


def test_for_state_counts_delivered_only_for_delivered() -> None:
    """dlvrd:001 must only be claimed for DELIVERED."""
    assert [Receipt.for_state("a", s).delivered for s in MessageState] == [
        1 if s is S.DELIVERED else 0 for s in MessageState]
    assert all(Receipt.for_state("a", s).stat == stat_word(s) for s in MessageState)


def test_receipt_tlvs() -> None:
    """The three receipt TLVs, with network_error_code only when known."""
    r = Receipt.for_state("abc", S.UNDELIVERABLE)
    assert receipt_tlvs(r) == {"receipted_message_id": "abc", "message_state": 5}
    nec = network_error_code(3, 0x22)
    assert nec == b"\x03\x00\x22"
    assert receipt_tlvs(dataclasses.replace(r, network_error_code=nec)) == {
        "receipted_message_id": "abc", "message_state": 5, "network_error_code": b"\x03\x00\x22"}


@pytest.mark.parametrize(("network_type", "error"), [(-1, 0), (256, 0), (3, -1), (3, 0x10000)])
def test_network_error_code_range(network_type: int, error: int) -> None:
    """Out-of-range parts must not be silently truncated into a different code."""
    with pytest.raises(ValueError):
        network_error_code(network_type, error)


@pytest.mark.parametrize("changes", [
    {"message_id": ""}, {"message_id": "a b"}, {"message_id": "a:b"}, {"message_id": "x" * 66},
    {"stat": ""}, {"stat": "DELI VRD"}, {"error": ""}, {"error": "0 0"},
    {"submitted": -1}, {"delivered": 1000}, {"network_error_code": b"\x03\x00"},
])
def test_receipt_refuses_unwritable_values(changes: dict[str, object]) -> None:
    """A Receipt that could not be written back as text must fail at construction, not later."""
    with pytest.raises(ValueError):
        dataclasses.replace(Receipt.for_state("abc", S.DELIVERED), **changes)  # type: ignore[arg-type]


# Real-world receipts -----------------------------------------------------------------------

CLICKATELL = ("id:6b3c5e2f9a1d4e7b8c0f2a3d4e5f6a7b sub:001 dlvrd:001 submit date:1411181046 "
              "done date:1411181046 stat:DELIVRD err:000 text:")
UUID_ID = "5f0e2c4a-9b7d-4e1a-8c3f-2d6b1a0e9f47"
GOIP = "id:123 submit date:1101010000 done date:1101010000 stat:DELIVRD err:0 Text:xx"


def test_clickatell_32_hex_id() -> None:
    """32-hex ids must be kept whole and exact."""
    r = parse_receipt(CLICKATELL, NO_TLVS)
    assert r is not None
    assert r.message_id == "6b3c5e2f9a1d4e7b8c0f2a3d4e5f6a7b"
    assert r.submit_date == datetime(2014, 11, 18, 10, 46)
    assert r.text == ""


def test_uuid_id() -> None:
    """Ids with dashes (our own UUIDs, echoed by peers) must not be cut at the dash."""
    text = (f"id:{UUID_ID} sub:001 dlvrd:000 submit date:2611221200 done date:2611221230 "
            "stat:EXPIRED err:000 text:")
    r = parse_receipt(text, NO_TLVS)
    assert r is not None and r.message_id == UUID_ID and r.state is S.EXPIRED


def test_goip_style_without_sub_and_dlvrd() -> None:
    """Missing sub/dlvrd default to 1/derived, err:0 pads to 000, Text: is accepted."""
    assert parse_receipt(GOIP, NO_TLVS) == Receipt(
        "123", S.DELIVERED, "DELIVRD", 1, 1, datetime(2011, 1, 1), datetime(2011, 1, 1),
        "000", "xx")


def test_twelve_digit_dates() -> None:
    """DLR-02: YYMMDDhhmmss dates are the most common variant."""
    r = parse_receipt("id:abc sub:001 dlvrd:001 submit date:261122120000 done date:261122120130 "
                      "stat:DELIVRD err:000 text:hello", NO_TLVS)
    assert r is not None
    assert (r.submit_date, r.done_date) == (datetime(2026, 11, 22, 12), datetime(2026, 11, 22, 12, 1, 30))


def test_fourteen_digit_dates() -> None:
    """DLR-02: YYYYMMDDhhmmss dates (Sinch) read with a four-digit year."""
    r = parse_receipt("id:abc sub:001 dlvrd:001 submit date:20261122120000 "
                      "done date:20261122120130 stat:DELIVRD err:000 text:", NO_TLVS)
    assert r is not None and r.done_date == datetime(2026, 11, 22, 12, 1, 30)


def test_message_state_tlv_overrides_text_stat() -> None:
    """TLVs take precedence (Jasmin #427): state 5 wins over stat:DELIVRD, and stat agrees."""
    r = parse_receipt(STANDARD, {"message_state": 5})
    assert r is not None
    assert (r.state, r.stat) == (S.UNDELIVERABLE, "UNDELIV")


def test_receipted_message_id_overrides_text_id() -> None:
    """The TLV id is the correlation key when present."""
    r = parse_receipt(STANDARD, {"receipted_message_id": "XYZ-9", "message_state": 2})
    assert r is not None and r.message_id == "XYZ-9" and r.stat == "DELIVRD"


def test_agreeing_tlv_keeps_the_vendors_word() -> None:
    """When TLV and text agree, the vendor's own word (ACKED) is kept for reports."""
    r = parse_receipt(STANDARD.replace("DELIVRD", "ACKED"), {"message_state": 1})
    assert r is not None and (r.state, r.stat) == (S.ENROUTE, "ACKED")


def test_tlv_only_receipt() -> None:
    """Sicap-style receipts carry no text; id and state come from the TLVs, err from the network code."""
    r = parse_receipt(None, {"receipted_message_id": "0042", "message_state": 5,
                             "network_error_code": b"\x03\x00\x22"})
    assert r == Receipt("0042", S.UNDELIVERABLE, "UNDELIV", 1, 0, None, None, "034", "",
                        b"\x03\x00\x22")


def test_tlv_only_receipt_with_empty_text() -> None:
    """An empty short_message (message_payload receipts) is the same as no text."""
    r = parse_receipt("", {"receipted_message_id": b"abc\x00", "message_state": 2})
    assert r is not None and (r.message_id, r.state, r.delivered) == ("abc", S.DELIVERED, 1)


def test_tlv_id_with_text_state() -> None:
    """Either source may supply either half of the receipt."""
    r = parse_receipt("stat:EXPIRED err:000", {"receipted_message_id": "abc"})
    assert r is not None and (r.message_id, r.state) == ("abc", S.EXPIRED)


def test_out_of_table_tlv_state_is_unknown() -> None:
    """A message_state outside 0..9 becomes UNKNOWN (failure), the receipt is kept."""
    r = parse_receipt(None, {"receipted_message_id": "abc", "message_state": 42})
    assert r is not None and (r.state, r.stat) == (S.UNKNOWN, "UNKNOWN")


def test_malformed_tlvs_are_ignored() -> None:
    """Wrong TLV types or sizes must fall back to the text, not crash."""
    r = parse_receipt(STANDARD, {"receipted_message_id": 7, "message_state": "5",
                                 "network_error_code": b"\x03"})
    assert r is not None
    assert (r.message_id, r.state, r.network_error_code) == ("abc", S.DELIVERED, None)


def test_keys_in_any_case_extra_fields_and_spaces() -> None:
    """DLR-02: vendors vary case, spacing, underscores and add their own fields."""
    text = ("ID:0a1B  SUB:1   Dlvrd:0 Submit_Date:2611221200 DONE  DATE:2611221201 "
            "imsi:214010000000000 Stat :UNDELIV ERR:ab1 MCCMNC:21401  Text: hi  there  ")
    assert parse_receipt(text, NO_TLVS) == Receipt(
        "0a1B", S.UNDELIVERABLE, "UNDELIV", 1, 0, SUBMIT, DONE, "ab1", "hi  there")


def test_leading_zeros_and_case_are_kept() -> None:
    """Jasmin #643: the parser must not strip zeros or change case; correlation decides."""
    r = parse_receipt("id:000E999F21 stat:DELIVRD", NO_TLVS)
    assert r is not None and r.message_id == "000E999F21"


def test_id_of_65_characters() -> None:
    """Ids up to 65 characters are accepted; longer ones cannot be ours."""
    long_id = "a-" * 32 + "b"
    assert len(long_id) == 65
    r = parse_receipt(f"id:{long_id} stat:DELIVRD", NO_TLVS)
    assert r is not None and r.message_id == long_id
    assert parse_receipt(f"id:{long_id}c stat:DELIVRD", NO_TLVS) is None


def test_unknown_stat_word_is_kept_as_failure() -> None:
    """Jasmin #447: FAILED must not drop the receipt; it is UNKNOWN with the word kept."""
    r = parse_receipt("id:abc sub:001 dlvrd:000 submit date:2611221200 done date:2611221201 "
                      "stat:FAILED err:069 text:", NO_TLVS)
    assert r is not None and (r.state, r.stat, r.error) == (S.UNKNOWN, "FAILED", "069")


def test_text_takes_the_rest_of_the_message() -> None:
    """Field-like words inside text: must not override the real fields."""
    r = parse_receipt("id:abc stat:DELIVRD err:000 text:stat:REJECTD id:zzz", NO_TLVS)
    assert r is not None
    assert (r.message_id, r.state, r.text) == ("abc", S.DELIVERED, "stat:REJECTD id:zzz")


def test_missing_text_and_bad_dates() -> None:
    """Missing text: and unreadable dates leave defaults; the receipt survives."""
    r = parse_receipt("id:abc sub:ND dlvrd:x submit date:ND done date:2613221200 stat:DELIVRD",
                      NO_TLVS)
    assert r == Receipt("abc", S.DELIVERED, "DELIVRD", 1, 1, None, None, "000", "")


def test_provider_specific_err_is_kept() -> None:
    """Non-numeric err codes (err:xxx seen in the wild) are kept as written."""
    r = parse_receipt("id:2 sub:001 dlvrd:001 submit date:0908312310 done date:0908312311 "
                      "stat:DELIVRD err:xxx Text:Hello SMPP world!", NO_TLVS)
    assert r is not None and (r.error, r.text) == ("xxx", "Hello SMPP world!")


@pytest.mark.parametrize("text", [
    "hello world", "Your code is 1234", "id:abc", "stat:DELIVRD err:000", "id: stat:DELIVRD",
    "", "id:abc sub:001 dlvrd:001 text:stat:DELIVRD", "identity:abc status:DELIVRD",
])
def test_not_a_receipt(text: str) -> None:
    """Content without both an id and a state is an MO or useless: None, never a guess."""
    assert parse_receipt(text, NO_TLVS) is None


def test_state_without_id_is_not_a_receipt() -> None:
    """A message_state TLV alone cannot be correlated."""
    assert parse_receipt(None, {"message_state": 2}) is None


@given(st.text(max_size=200))
def test_garbage_text_never_raises(text: str) -> None:
    """No vendor text may crash the parser; a result is always a valid Receipt or None."""
    r = parse_receipt(text, NO_TLVS)
    assert r is None or isinstance(r, Receipt)


# Round trips -------------------------------------------------------------------------------

ids = st.from_regex(r"\A[A-Za-z0-9_-]{1,65}\Z")
errors = st.one_of(st.from_regex(r"\A[0-9]{3}\Z"), st.from_regex(r"\A[A-Za-z0-9_-]{1,8}\Z"))
dates = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59))
texts = st.text(max_size=30)


@st.composite
def receipts(draw: st.DrawFn) -> Receipt:
    state = draw(st.sampled_from(list(MessageState)))
    error = draw(errors)
    if error.isdecimal() and len(error) < 3:
        error = error.zfill(3)       # the parser pads short numeric codes, as App. B shows them
    return Receipt(
        message_id=draw(ids), state=state, stat=stat_word(state),
        submitted=draw(st.integers(0, 999)), delivered=draw(st.integers(0, 999)),
        submit_date=draw(dates), done_date=draw(dates), error=error, text=draw(texts),
        network_error_code=draw(st.one_of(st.none(), st.binary(min_size=3, max_size=3))))


def _as_written(r: Receipt, digits: int) -> Receipt:
    """What survives the text: dates at the written precision, 20 characters of text."""
    assert r.submit_date is not None and r.done_date is not None
    def cut(d: datetime) -> datetime:
        return d.replace(second=0 if digits == 10 else d.second, microsecond=0)
    return dataclasses.replace(r, submit_date=cut(r.submit_date), done_date=cut(r.done_date),
                               text=r.text[:20].strip())


@given(receipts(), st.sampled_from([10, 12]))
def test_text_round_trip(r: Receipt, digits: int) -> None:
    """Whatever we write, we read back (minus TLV-only data and written precision)."""
    written = format_receipt(r, date_digits=10 if digits == 10 else 12)
    expected = dataclasses.replace(_as_written(r, digits), network_error_code=None)
    assert parse_receipt(written, NO_TLVS) == expected


@given(receipts())
def test_text_and_tlv_round_trip(r: Receipt) -> None:
    """Text plus our TLVs reads back the whole receipt, network_error_code included."""
    assert parse_receipt(format_receipt(r), receipt_tlvs(r)) == _as_written(r, 10)


@given(receipts())
def test_tlv_only_round_trip(r: Receipt) -> None:
    """The TLVs alone carry id and state, and the network error when present."""
    got = parse_receipt(None, receipt_tlvs(r))
    assert got is not None
    assert (got.message_id, got.state, got.network_error_code) == (
        r.message_id, r.state, r.network_error_code)


# Id correlation ---------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "receipt_id", "submitted_id"), [
    (ReceiptIdMode.AS_IS, "0e999f21", "0e999f21"),
    (ReceiptIdMode.HEX_TO_DEC, "0E999F21", "244948769"),
    (ReceiptIdMode.HEX_TO_DEC, "e999f21", "0244948769"),
    (ReceiptIdMode.DEC_TO_HEX, "244948769", "0E999F21"),
    (ReceiptIdMode.DEC_TO_HEX, "00244948769", "e999f21"),
    (ReceiptIdMode.DEC_TO_HEX, "0", "000"),
])
def test_ids_correlate(mode: ReceiptIdMode, receipt_id: str, submitted_id: str) -> None:
    """DLR-03/Jasmin #643: base, case and leading zeros must not break the match."""
    assert normalise_receipt_id(receipt_id, mode) == normalise_submitted_id(submitted_id, mode)


def test_canonical_forms() -> None:
    """Converted keys are decimal or lowercase hex without leading zeros; AS_IS is untouched."""
    assert normalise_receipt_id("00FF", ReceiptIdMode.HEX_TO_DEC) == "255"
    assert normalise_receipt_id("0255", ReceiptIdMode.DEC_TO_HEX) == "ff"
    assert normalise_submitted_id("00FF", ReceiptIdMode.DEC_TO_HEX) == "ff"
    assert normalise_receipt_id("00Ab-c", ReceiptIdMode.AS_IS) == "00Ab-c"
    assert normalise_submitted_id("00Ab-c", ReceiptIdMode.AS_IS) == "00Ab-c"


def test_as_is_is_exact() -> None:
    """AS_IS ids are opaque: different case or zeros are different messages."""
    mode = ReceiptIdMode.AS_IS
    assert normalise_receipt_id("0abc", mode) != normalise_submitted_id("ABC", mode)


@pytest.mark.parametrize(("mode", "receipt_id"), [
    (ReceiptIdMode.HEX_TO_DEC, "xyz"), (ReceiptIdMode.HEX_TO_DEC, "0x1f"),
    (ReceiptIdMode.HEX_TO_DEC, ""), (ReceiptIdMode.HEX_TO_DEC, "1_f"),
    (ReceiptIdMode.DEC_TO_HEX, "1f"), (ReceiptIdMode.DEC_TO_HEX, " 12"),
    (ReceiptIdMode.DEC_TO_HEX, "-12"), (ReceiptIdMode.DEC_TO_HEX, "١٢"),   # Arabic-Indic digits
    (ReceiptIdMode.DEC_TO_HEX, "1_000"),
])
def test_invalid_conversions_raise(mode: ReceiptIdMode, receipt_id: str) -> None:
    """An id that is not in the configured base is a ValueError, never a wrong key."""
    with pytest.raises(ValueError):
        normalise_receipt_id(receipt_id, mode)


@pytest.mark.parametrize(("mode", "submitted_id"), [
    (ReceiptIdMode.HEX_TO_DEC, "ff"), (ReceiptIdMode.DEC_TO_HEX, "xyz"),
])
def test_invalid_submitted_ids_raise(mode: ReceiptIdMode, submitted_id: str) -> None:
    """The submit_sm_resp side is checked the same way."""
    with pytest.raises(ValueError):
        normalise_submitted_id(submitted_id, mode)


@given(st.integers(min_value=0, max_value=2**256), st.integers(0, 5), st.booleans())
def test_any_number_correlates_across_bases(n: int, zeros: int, upper: bool) -> None:
    """For every id value, the decimal and hex spellings map to the same key in both modes."""
    hex_id = "0" * zeros + (f"{n:X}" if upper else f"{n:x}")
    dec_id = "0" * zeros + str(n)
    assert normalise_receipt_id(hex_id, ReceiptIdMode.HEX_TO_DEC) == \
        normalise_submitted_id(dec_id, ReceiptIdMode.HEX_TO_DEC)
    assert normalise_receipt_id(dec_id, ReceiptIdMode.DEC_TO_HEX) == \
        normalise_submitted_id(hex_id, ReceiptIdMode.DEC_TO_HEX)
