"""HTTP authorizations and value filters in Jasmin's order."""
from __future__ import annotations

import pytest

from smscd.credentials import MtCredential, set_mt
from smscd.http_api.authorize import check_balance, check_rate, check_send
from smscd.http_api.params import HttpError, send_args

ARGS = send_args({"to": "336", "username": "u", "password": "p", "content": "hi",
                  "from": "ACME", "priority": "1"})


def _text(cred: MtCredential, args=ARGS, parts: int = 1) -> str:
    with pytest.raises(HttpError) as e:
        check_send(cred, "u", args, parts)
    assert e.value.status == 400
    return e.value.text


def test_defaults_allow_everything() -> None:
    check_send(MtCredential(), "u", ARGS, 5)
    check_rate(MtCredential(), "u")
    check_balance(MtCredential(), "u")


def test_authorizations_come_before_value_filters() -> None:
    cred = set_mt(set_mt(MtCredential(), "authorization", "priority", "no"),
                  "valuefilter", "dst_addr", "^44")
    assert _text(cred) == "Authorization failed for user [u] (Setting priority not authorized)."


def test_http_send_comes_first_and_long_content_counts_parts() -> None:
    cred = set_mt(set_mt(MtCredential(), "authorization", "http_send", "no"),
                  "authorization", "http_long_content", "no")
    assert "Cannot send MT messages" in _text(cred, parts=2)
    cred = set_mt(MtCredential(), "authorization", "http_long_content", "no")
    check_send(cred, "u", ARGS, 1)
    assert "Long content not authorized" in _text(cred, parts=2)


def test_destination_filter_comes_before_source_filter() -> None:
    cred = set_mt(set_mt(MtCredential(), "valuefilter", "src_addr", "^X"),
                  "valuefilter", "dst_addr", "^44")
    assert _text(cred) == ("Value filter failed for user [u] (destination_address filter "
                           "mismatch).")
