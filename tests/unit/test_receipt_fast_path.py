"""The fast receipt paths behave exactly as the general ones and as the code before them.

`parse_receipt` reads the canonical App. B shape with one regex and falls back to the general
parser for anything else; receipt dates are cached; Receipt checks, date formatting, the text
preview and the customer deliver_sm are built with cheaper operations. None of this may
change a result: these tests compare each fast path with the general parser and with the
pre-optimisation code kept in receipt_oracle.py, over generated receipts and near-misses.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any, Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import receipt_oracle as oracle
from smscd.dlr_pdus import customer_receipt
from smscd.message import Address, Message, Part
from smscd.smpp import smpp_time
from smscd.smpp.message_state import MessageState, state_from_stat, stat_word
from smscd.smpp.receipt import (
    _CANONICAL,
    Receipt,
    _parse_general,
    _unchecked_receipt,
    format_receipt,
    parse_receipt,
)
from smscd.smpp.smpp_time import format_receipt_date, parse_receipt_date
from smscd.smpp.tlv import Tlv, tlvs

EXAMPLES = settings(max_examples=400, deadline=None)

# Letters the general parser's re.IGNORECASE key regex matches but whose lower() differs.
LOOKALIKES = {"s": ["ſ"], "k": ["\u212a"], "i": ["İ", "ı"]}
TOKENS = st.from_regex(r"\A[^\s:]{1,70}\Z")
IDS = st.one_of(TOKENS, st.from_regex(r"\A[^\s:]{60,70}\Z"), st.text(max_size=8))  # 65 max
WORDS = [stat_word(s) for s in MessageState] + ["ACKED", "BUFFRED", "delivrd", "Undeliv",
                                                "FAILED", "ENROUTE\x00"]
dates_in_range = st.datetimes(min_value=datetime(2000, 1, 1),
                              max_value=datetime(2099, 12, 31, 23, 59, 59))


def _formatted_date(d: datetime, digits: int) -> str:
    return {10: f"{d:%y%m%d%H%M}", 12: f"{d:%y%m%d%H%M%S}", 14: f"{d:%Y%m%d%H%M%S}"}[digits]


values = st.one_of(TOKENS, st.text(max_size=6))
counts = st.one_of(st.from_regex(r"\A[0-9]{1,4}\Z"), st.sampled_from(["001", "000", "1", "ND"]),
                   st.text(max_size=4))
dates = st.one_of(
    st.builds(_formatted_date, dates_in_range, st.sampled_from([10, 12, 14])),
    st.from_regex(r"\A[0-9]{8,15}\Z"), st.sampled_from(["ND", "2613221200", "2602301200"]),
    st.text(max_size=6))
stats = st.one_of(st.sampled_from(WORDS), TOKENS, st.text(max_size=8))
errors = st.one_of(st.from_regex(r"\A[0-9]{1,4}\Z"),
                   st.sampled_from(["000", "0", "xxx", "١٢", "²"]), TOKENS, st.text(max_size=4))
texts = st.text(max_size=40)


MUTATIONS = ("lookalike", "joiner", "order", "extra", "drop", "separator", "ends", "id")


@st.composite
def receipt_texts(draw: st.DrawFn) -> tuple[str, str]:
    """Receipt texts around the canonical shape, with the id token they carry: half of them
    canonical, half with one or two differences, most of which must send them to the general
    parser (values that are not tokens come from the value strategies themselves)."""
    mutations: set[str] = set()
    if draw(st.booleans()):
        mutations = draw(st.sets(st.sampled_from(MUTATIONS), min_size=1, max_size=2))

    def key(word: str) -> str:
        extra = LOOKALIKES if "lookalike" in mutations else {}
        return "".join(draw(st.sampled_from([c.lower(), c.upper()] + extra.get(c, [])))
                       for c in word)

    def joiner() -> str:
        return draw(st.sampled_from([" ", "_", "", "  ", "\t"] if "joiner" in mutations
                                    else [" ", "_"]))

    text_id = draw(st.text(max_size=6) if "id" in mutations else TOKENS)
    fields = [f"{key('id')}:{text_id}"]
    if draw(st.booleans()):
        fields.append(f"{key('sub')}:{draw(counts)}")
    if draw(st.booleans()):
        fields.append(f"{key('dlvrd')}:{draw(counts)}")
    fields += [f"{key('submit')}{joiner()}{key('date')}:{draw(dates)}",
               f"{key('done')}{joiner()}{key('date')}:{draw(dates)}",
               f"{key('stat')}:{draw(stats)}", f"{key('err')}:{draw(errors)}"]
    if draw(st.booleans()):
        fields.append(f"{key('text')}:{draw(texts)}")
    if "order" in mutations:
        fields = draw(st.permutations(fields))
    if "extra" in mutations:
        fields.insert(draw(st.integers(0, len(fields))), f"{draw(TOKENS)}:{draw(values)}")
    if "drop" in mutations:
        del fields[draw(st.integers(0, len(fields) - 1))]
    separators = [draw(st.sampled_from([" "] * 4 + ["  ", "\t", "\n", "\x1c", "\xa0"]
                                       if "separator" in mutations else [" "]))
                  for _ in fields]
    text = "".join(s + f for s, f in zip(separators, fields))[1:]
    if "ends" in mutations:
        text = (draw(st.sampled_from(["", " ", "\n", "x"])) + text
                + draw(st.sampled_from(["", " "])))
    return text, text_id


@st.composite
def receipt_tlv_maps(draw: st.DrawFn, text_id: str) -> dict[str, object]:
    """The TLVs a vendor may send beside the text, well-formed or not."""
    out: dict[str, object] = {}
    rid = draw(st.sampled_from(["absent", "same", "nul", "bytes", "other", "odd"]))
    if rid == "same":
        out["receipted_message_id"] = text_id
    elif rid == "nul":
        out["receipted_message_id"] = text_id + "\x00"
    elif rid == "bytes":
        out["receipted_message_id"] = text_id.encode("utf-8")
    elif rid == "other":
        out["receipted_message_id"] = draw(st.one_of(TOKENS, st.text(max_size=70)))
    elif rid == "odd":
        out["receipted_message_id"] = draw(st.sampled_from([7, None, "", " ", "\x00", b""]))
    if draw(st.booleans()):
        out["message_state"] = draw(st.one_of(
            st.integers(-2, 12), st.sampled_from(list(MessageState)),
            st.sampled_from([True, False, "5", None, 2.0, 10**30])))
    if draw(st.booleans()):
        out["network_error_code"] = draw(st.one_of(
            st.binary(min_size=3, max_size=3), st.binary(max_size=5),
            st.sampled_from(["\x03\x00\x22", None])))
    return out


@st.composite
def receipt_inputs(draw: st.DrawFn) -> tuple[str | None, dict[str, object]]:
    text, text_id = draw(receipt_texts())
    return text, draw(receipt_tlv_maps(text_id))


CANONICAL = [
    "id:abc sub:001 dlvrd:001 submit date:2611221200 done date:2611221201 stat:DELIVRD "
    "err:000 text:hello",
    "ID:abc SUB:1 DLVRD:0 SUBMIT_DATE:261122120005 Done Date:261122120106 Stat:undeliv "
    "Err:34 Text:",
    "id:123 submit date:1101010000 done date:1101010000 stat:DELIVRD err:0 Text:xx",
    "id:x-1 sub:001 dlvrd:000 submit date:ND done date:20261122120130 stat:FAILED err:xxx",
    "id:abc sub:001 dlvrd:001 submit date:2611221200 done date:2611221201 stat:DELIVRD "
    "err:000 text:stat:REJECTD id:zzz\n second line",
]


@pytest.mark.parametrize("text", CANONICAL)
def test_canonical_receipts_take_the_fast_path(text: str) -> None:
    """The shapes most SMSCs send must be read by the one-regex path, not the general one."""
    assert _CANONICAL.match(text) is not None
    assert parse_receipt(text, {}) == _parse_general(text, {}) == oracle.parse_receipt(text, {})


@pytest.mark.parametrize("text", [
    "id:abc sub:001 dlvrd:001 submit date:2611221200 done date:2611221201 stat:DELIVRD "
    "err:000 imsi:1 text:x",
    "id:abc  sub:001 dlvrd:001 submit date:2611221200 done date:2611221201 stat:DELIVRD err:0",
    "id:abc ſub:001 dlvrd:001 submit date:2611221200 done date:2611221201 stat:DELIVRD err:0",
    "id:abc sub:0001 dlvrd:001 submit date:2611221200 done date:2611221201 stat:DELIVRD err:0",
    "id:abc sub:001 dlvrd:001 submit date:2611221200 done date:2611221201 stat:DELIVRD err:0 ",
])
def test_near_misses_take_the_general_path(text: str) -> None:
    """Anything the fast regex would read differently from the general parser must not match."""
    assert _CANONICAL.match(text) is None
    assert parse_receipt(text, {}) == oracle.parse_receipt(text, {})


@EXAMPLES
@given(receipt_inputs())
def test_fast_and_general_parsers_agree(inputs: tuple[str, dict[str, object]]) -> None:
    """Whenever the fast path reads a text, the general parser must read the same receipt."""
    text, tlv_map = inputs
    assert parse_receipt(text, tlv_map) == _parse_general(text, tlv_map)


@EXAMPLES
@given(receipt_inputs())
@example(("", {"receipted_message_id": b"abc\x00", "message_state": 2}))
@example(("id:a\x00 stat:DELIVRD", {"receipted_message_id": "a\x00"}))
@example(("id:a submit date:1 done date:1 stat:DELIVRD err:١٢", {}))
@example(("id:a:b submit date:1 done date:1 stat:DELIVRD err:0", {}))
def test_parse_receipt_matches_the_original(inputs: tuple[str, dict[str, object]]) -> None:
    """Neither path may read any receipt differently from the code before the fast path."""
    text, tlv_map = inputs
    assert parse_receipt(text, tlv_map) == oracle.parse_receipt(text, tlv_map)
    assert parse_receipt(None, tlv_map) == oracle.parse_receipt(None, tlv_map)


@EXAMPLES
@given(st.text(max_size=200))
def test_parse_receipt_matches_the_original_on_any_text(text: str) -> None:
    """Arbitrary text (MOs, garbage) reads as before."""
    assert parse_receipt(text, {}) == oracle.parse_receipt(text, {})


@EXAMPLES
@given(receipt_inputs())
def test_parsed_receipts_pass_the_checks_they_skip(inputs: tuple[str, dict[str, object]]) -> None:
    """The parser builds Receipts without __post_init__: each must pass it anyway."""
    r = parse_receipt(*inputs)
    if r is not None:
        assert dataclasses.replace(r) == r          # replace() runs __post_init__


@given(st.builds(
    lambda *v: v, TOKENS, st.sampled_from(list(MessageState)), st.sampled_from(WORDS),
    st.integers(0, 999), st.integers(0, 999), st.none() | dates_in_range,
    st.none() | dates_in_range, TOKENS, texts, st.none() | st.binary(min_size=3, max_size=3)))
def test_unchecked_receipt_sets_every_field(values: tuple[Any, ...]) -> None:
    """A field added to Receipt but not to _unchecked_receipt must fail here."""
    assert _unchecked_receipt(*values) == Receipt(*values)


def _outcome(fn: Callable[[], object]) -> object:
    try:
        return fn()
    except (ValueError, TypeError, OverflowError, OSError) as e:
        return type(e)


@EXAMPLES
@given(message_id=st.one_of(TOKENS, st.text(max_size=70)), stat=st.one_of(stats, st.integers()),
       error=errors, submitted=st.integers(-2, 1001), delivered=st.integers(-2, 1001),
       nec=st.none() | st.binary(max_size=4))
def test_receipt_checks_as_before(message_id: str, stat: str, error: str, submitted: int,
                                  delivered: int, nec: bytes | None) -> None:
    """Receipt construction must accept and refuse exactly what it did."""
    def build() -> Receipt:
        return Receipt(message_id, MessageState.DELIVERED, stat, submitted, delivered,
                       error=error, network_error_code=nec)

    def check() -> None:
        oracle.check_receipt(_unchecked_receipt(message_id, MessageState.DELIVERED, stat,
                                                submitted, delivered, None, None, error, "",
                                                nec))
    got = _outcome(build)
    assert (got if isinstance(got, type) else None) == _outcome(check)


@EXAMPLES
@given(st.one_of(st.text(max_size=16), dates.map(lambda d: d + " ")))
def test_receipt_dates_read_as_before(text: str) -> None:
    """The cache must give what parsing gives, on the first read and on the next ones."""
    expected = oracle.parse_receipt_date(text)
    assert parse_receipt_date(text) == expected
    assert parse_receipt_date(text) == expected


def test_receipt_date_cache_is_bounded() -> None:
    """Dates from every minute of a long run must not grow the cache without limit."""
    start = datetime(2026, 1, 1)
    for minute in range(3 * smpp_time._RECEIPT_DATES_MAX):
        text = format_receipt_date(start + timedelta(minutes=minute))
        assert parse_receipt_date(text) == start + timedelta(minutes=minute)
        assert len(smpp_time._RECEIPT_DATES) <= smpp_time._RECEIPT_DATES_MAX


@EXAMPLES
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2110, 1, 1),
                    timezones=st.none() | st.timezones()),
       st.sampled_from([10, 12, 14]))
def test_receipt_dates_format_as_before(dt: datetime, digits: Any) -> None:
    """Table formatting must write what strftime wrote, and refuse what it refused."""
    assert _outcome(lambda: format_receipt_date(dt, digits)) == \
        _outcome(lambda: oracle.format_receipt_date(dt, digits))


@given(st.one_of(st.sampled_from(WORDS), st.text(max_size=10)))
def test_stat_words_read_as_before(word: str) -> None:
    """The exact-word shortcut must not change any word's state."""
    assert state_from_stat(word) is oracle.state_from_stat(word)


@given(st.builds(
    Receipt.for_state, TOKENS.filter(lambda t: len(t) <= 65), st.sampled_from(list(MessageState)),
    submit_date=dates_in_range, done_date=dates_in_range, error=st.sampled_from(["000", "x1"]),
    text=texts))
def test_format_receipt_as_before(r: Receipt) -> None:
    """The receipt text we write is unchanged, byte for byte."""
    assert format_receipt(r) == oracle.format_receipt(r)
    assert format_receipt(r, date_digits=12) == oracle.format_receipt(r, date_digits=12)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    udh = draw(st.booleans())
    bodies = st.binary(max_size=40).map(lambda b: bytes([len(b) % 7]) + b if udh else b)
    parts = tuple(Part(body, 0x40 if udh else 0) for body in draw(st.lists(bodies, max_size=3)))
    extra: tuple[Tlv, ...] = ()
    if draw(st.booleans()):
        extra = tlvs(user_message_reference=draw(st.integers(0, 0xFFFF)))
    if draw(st.booleans()):
        extra = tlvs(source_port=1) + extra + tlvs(user_message_reference=7)
    return Message(
        id=draw(IDS), user="alice",
        source=Address(draw(st.text(max_size=5)), draw(st.integers(0, 6)), 1),
        destination=Address("31600000000", 1, draw(st.integers(0, 18))), parts=parts,
        created_at=draw(st.floats(0, 4.2e9)),
        data_coding=draw(st.sampled_from([0, 1, 3, 4, 8])), tlvs=extra)


vendor_receipts = st.builds(
    Receipt, TOKENS.filter(lambda t: len(t) <= 65), st.sampled_from(list(MessageState)),
    st.sampled_from(WORDS[:-1]), st.integers(0, 999), st.integers(0, 999),
    st.none() | st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2105, 1, 1)),
    st.none() | dates_in_range, errors.filter(lambda e: oracle._TOKEN.fullmatch(e) is not None),
    texts, st.none() | st.binary(min_size=3, max_size=3))


@EXAMPLES
@given(messages(), vendor_receipts, st.integers(0, 3),
       st.none() | st.floats(0, 4.2e9) | st.just(1_795_867_260.0))
def test_customer_receipt_as_before(message: Message, receipt: Receipt, part_index: int,
                                    now: float | None) -> None:
    """The customer's deliver_sm is the one the original code built, or fails the same way."""
    assert _outcome(lambda: customer_receipt(message, receipt, part_index, now)) == \
        _outcome(lambda: oracle.customer_receipt(message, receipt, part_index, now))


def test_customer_receipt_example_as_before() -> None:
    """One ordinary receipt, spelled out, so the property above is not all that guards it."""
    message = Message(id="01a2b3c4d5e6f708090a0b0c0d0e0f10", user="alice",
                      source=Address("ACME", 5, 0), destination=Address("31612345678", 1, 1),
                      parts=(Part(b"hi: caf\xe9 \x00 there, 0123456789"),),
                      created_at=1_795_867_200.0, tlvs=tlvs(user_message_reference=42))
    vendor = parse_receipt(CANONICAL[0], {"message_state": 5,
                                          "network_error_code": b"\x03\x00\x22"})
    assert vendor is not None
    got = customer_receipt(message, vendor, now=1_795_867_260.0)
    assert got == oracle.customer_receipt(message, vendor, now=1_795_867_260.0)
    assert got.short_message == (b"id:01a2b3c4d5e6f708090a0b0c0d0e0f10 sub:001 dlvrd:000 "
                                 b"submit date:2611221200 done date:2611281201 stat:UNDELIV "
                                 b"err:000 text:hi  caf    there, 01")
    assert [t.value for t in got.tlvs] == [message.id, 5, b"\x03\x00\x22", 42]


@EXAMPLES
@given(vendor_receipts, IDS, st.none() | dates_in_range, texts)
def test_relayed_is_the_checked_receipt(receipt: Receipt, message_id: str,
                                        done: datetime | None, text: str) -> None:
    """Receipt.relayed skips the checks its source passed: it must build what the checking
    constructor builds, and refuse the ids it refuses."""
    def checked() -> Receipt:
        return Receipt(message_id, receipt.state, receipt.stat, 1,
                       1 if receipt.state is MessageState.DELIVERED else 0,
                       receipt.submit_date, done, receipt.error, text,
                       receipt.network_error_code)
    assert _outcome(lambda: receipt.relayed(message_id, submit_date=receipt.submit_date,
                                            done_date=done, text=text)) == _outcome(checked)
