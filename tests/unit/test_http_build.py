"""The Message a /send request becomes: encoding, splitting, dlr settings, times."""
from __future__ import annotations

import pytest

from smscd.http_api.build import Builder, BuildSettings
from smscd.http_api.params import HttpError, send_args
from smscd.smpp.split import SplitMethod

NOW = 1_800_000_000.0


def _message(builder: Builder | None = None, **params: str):
    args = send_args({"to": "336", "username": "u", "password": "p", **params})
    return (builder or Builder()).message(args, message_id="m1", user="u", now=NOW)


def test_gsm_text_with_replacement() -> None:
    """coding 0: GSM 03.38 unpacked, extension characters escaped, others become '?'."""
    assert _message(content="a€ш").parts[0].short_message == b"a\x1be?"


@pytest.mark.parametrize("coding,text,octets", [
    ("1", "abc", b"abc"), ("3", "é", b"\xe9"), ("6", "ш", "ш".encode("iso8859-5")),
    ("8", "😀", "😀".encode("utf-16-be")),
])
def test_text_codings_are_encoded_by_us(coding: str, text: str, octets: bytes) -> None:
    assert _message(content=text, coding=coding).parts[0].short_message == octets


def test_octets_that_are_not_utf8_pass_through() -> None:
    """A Jasmin client that pre-encodes UCS2 gets its octets sent as given."""
    raw = "é".encode("utf-16-be") + b"\xd8"           # not UTF-8
    content = raw.decode("utf-8", "surrogateescape")
    assert _message(content=content, coding="8").parts[0].short_message == raw


def test_binary_coding_and_hex_content_are_octets() -> None:
    assert _message(**{"hex-content": "00ff", "coding": "4"}).parts[0].short_message == \
        b"\x00\xff"


def test_sar_split_and_references_rotate_per_destination() -> None:
    builder = Builder(BuildSettings(SplitMethod.SAR, 10))
    one, two = _message(builder, content="x" * 200), _message(builder, content="x" * 200)
    refs = [dict((t.name, t.value) for t in m.parts[0].tlvs)["sar_msg_ref_num"]
            for m in (one, two)]
    assert len(one.parts) == 2 and refs[0] != refs[1]


def test_times_and_priority() -> None:
    m = _message(content="x", **{"validity-period": "10", "priority": "3",
                                 "sdt": "000001000000000R"})
    assert (m.expires_at, m.schedule_at, m.priority) == (NOW + 600, NOW + 86400, 3)


def test_a_bad_sdt_is_refused() -> None:
    with pytest.raises(HttpError, match=r"Argument \[sdt\]"):
        _message(content="x", sdt="991399000000000+")


def test_an_absurd_validity_period_is_refused_not_a_crash() -> None:
    with pytest.raises(HttpError, match=r"Argument \[validity-period\]"):
        _message(content="x", **{"validity-period": "9" * 400})
