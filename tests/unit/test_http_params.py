"""Jasmin's argument rules for /send, /rate, /balance, without a server."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from smscd.http_api.build import Builder, BuildSettings

from smscd.http_api.params import (HttpError, balance_args, hex_octets, rate_args, send_args,
                                   validate, SEND_FIELDS)

GOOD = {"to": "1", "username": "u", "password": "p", "content": "hi"}


def _error(call, *args) -> str:
    with pytest.raises(HttpError) as e:
        call(*args)
    assert e.value.status == 400
    return e.value.text


def test_defaults_are_filled_before_validation() -> None:
    """coding 0 and dlr no by default; dlr-url forces dlr yes with level 1 and POST."""
    assert send_args(GOOD) == {**GOOD, "coding": "0", "dlr": "no"}
    args = send_args({**GOOD, "dlr-url": "http://x/"})
    assert (args["dlr"], args["dlr-level"], args["dlr-method"]) == ("yes", "1", "POST")
    assert send_args({**GOOD, "dlr-method": "get", "dlr": "yes"})["dlr-method"] == "GET"


def test_unknown_argument_is_reported_when_it_comes_first() -> None:
    """Jasmin checks each argument in request order; a known one checks every field."""
    assert _error(send_args, {"x": "1", "to": "bad"}) == "Argument [x] is unknown."
    assert _error(send_args, {"to": "bad", "x": "1"}) == \
        "Argument [to] has an invalid value: [bad]."


def test_fields_are_checked_in_declared_order() -> None:
    """With several problems the first declared field wins (to before username)."""
    assert _error(send_args, {"content": "x"}) == "Mandatory argument [to] is not found."
    assert _error(send_args, {"to": "1", "content": "x"}) == \
        "Mandatory argument [username] is not found."


def test_patterns_use_match_semantics() -> None:
    """`+` once at most before digits; coding only Jasmin's 13 values."""
    validate({**GOOD, "to": "+336", "coding": "0", "dlr": "no"}, SEND_FIELDS)
    for to in ("++336", "33 6", ""):
        assert "[to]" in _error(send_args, {**GOOD, "to": to})
    for coding in ("11", "12", "15", "-1"):
        assert "[coding]" in _error(send_args, {**GOOD, "coding": coding})


def test_rate_defaults_content_and_balance_has_no_defaults() -> None:
    assert rate_args({"to": "1", "username": "u", "password": "p"})["content"] == ""
    assert _error(balance_args, {}) == ("Mandatory arguments not found, please refer to the "
                                        "HTTPAPI specifications.")


def test_hex_content() -> None:
    assert hex_octets({"hex-content": "00ff"}) == b"\x00\xff"
    assert hex_octets({}) is None
    assert _error(hex_octets, {"hex-content": "0g"}) == "Invalid hex-content data: '0g'"
    assert _error(hex_octets, {"hex-content": "00 ff"}) == "Invalid hex-content data: '00 ff'"


def test_digits_are_ascii_digits_only() -> None:
    """As Jasmin's byte patterns: an Arabic-Indic digit is not a digit."""
    assert "[to]" in _error(send_args, {**GOOD, "to": "\u0663\u0663"})
    assert "[validity-period]" in _error(send_args, {**GOOD, "validity-period": "\u0663"})


_PLAUSIBLE = st.one_of(st.text(max_size=40), st.sampled_from(
    ["0", "1", "2", "3", "4", "8", "10", "13", "14", "yes", "no", "get", "POST", "00ff",
     "000001000000000R", "991231235959000+", "http://h/", "a,b"]),
    st.text(alphabet="0123456789abcdef", max_size=400))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from([f.name for f in SEND_FIELDS] + ["x"]),
                       _PLAUSIBLE, max_size=8))
def test_any_arguments_give_a_message_or_a_400(overrides: dict[str, str]) -> None:
    """Whatever a client sends, the answer is a message or HttpError, never a crash."""
    try:
        args = send_args({**GOOD, **overrides})
        Builder(BuildSettings(max_parts=3)).message(args, message_id="m", user="u",
                                                    now=1.8e9)
    except HttpError as e:
        assert e.status == 400
