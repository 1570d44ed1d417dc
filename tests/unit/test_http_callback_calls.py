"""Callbacks as data: storage format, the ACK contract, which receipt callbacks are due."""
from __future__ import annotations

import pytest

from smscd.http_callbacks.calls import Call, dump_call, is_ack, load_call
from smscd.http_callbacks.dlr_calls import for_state, level_one, level_two
from smscd.message import Address, Message, Part, UnsupportedFormat
from smscd.smpp.message_state import MessageState
from smscd.smpp.receipt import Receipt

URL = "http://h/dlr?k=1"


def _message(level: int | None, origin: str = "http") -> Message:
    extra = {} if level is None else {"dlr-url": URL, "dlr-level": str(level),
                                      "dlr-method": "GET"}
    return Message(id="m1", user="u", source=Address("s"), destination=Address("d"),
                   parts=(Part(b"x"),), created_at=0.0, connector="c1", origin=origin,
                   extra=extra)


def test_round_trip_keeps_octets_that_are_not_utf8() -> None:
    call = Call(URL, "POST", (("content", b"\xff\x00".decode("utf-8", "surrogateescape")),
                              ("id", "m1")), "ref")
    assert load_call(dump_call(call)) == call
    assert call.body() == b"content=%FF%00&id=m1"


def test_get_appends_to_an_existing_query() -> None:
    assert Call(URL, "GET", (("id", "m 1"),)).target() == URL + "&id=m+1"
    assert Call("http://h/x", "GET", (("a", "b"),)).target() == "http://h/x?a=b"


@pytest.mark.parametrize("data", [b"nope", b'{"v":2}', b'{"v":1,"url":"u","method":"PUT",'
                                  b'"params":[],"ref":""}', b'{"v":1,"url":"u","method":"GET",'
                                  b'"params":[["a"]],"ref":""}'])
def test_bad_payloads_are_refused(data: bytes) -> None:
    with pytest.raises(UnsupportedFormat):
        load_call(data)


@pytest.mark.parametrize("code,body,ok", [
    (200, b"ACK/Jasmin", True), (200, b"  ACK/Jasmin\r\n", True), (204, b"ACK/Jasmin", True),
    (200, b"ack/jasmin", False), (200, b"OK", False), (500, b"ACK/Jasmin", False),
    (302, b"ACK/Jasmin", False)])
def test_ack_contract(code: int, body: bytes, ok: bool) -> None:
    assert is_ack(code, body) is ok


def test_only_http_messages_with_a_dlr_url_get_callbacks() -> None:
    receipt = Receipt(message_id="v1", state=MessageState.DELIVERED, stat="DELIVRD")
    assert level_one(_message(None), 0, "ESME_ROK", "c1") is None
    assert level_two(_message(3, origin="smpp"), 0, receipt) is None
    assert level_one(_message(2), 0, "ESME_ROK", "c1") is None
    assert level_two(_message(1), 0, receipt) is None
    call = level_one(_message(3), 0, "ESME_ROK", "c1")
    assert call is not None and call.method == "GET" and call.url == URL


def test_failures_decided_here_reach_both_kinds_of_client() -> None:
    """No receipt will come: level 1 hears the vendor's status, level 2 a final stat."""
    one = for_state(_message(1), 0, MessageState.REJECTED, "045", None, 0.0)
    assert one is not None and dict(one.params)["message_status"] == "ESME_RSUBMITFAIL"
    two = for_state(_message(2), 0, MessageState.UNDELIVERABLE, "008", None, 1.8e9)
    assert two is not None
    params = dict(two.params)
    assert (params["message_status"], params["err"], params["donedate"]) == (
        "UNDELIV", "008", "2701150800")
    assert for_state(_message(2), 0, MessageState.ENROUTE, "", None, 0.0) is None


def test_a_date_two_digits_cannot_say_is_nd() -> None:
    call = for_state(_message(2), 0, MessageState.UNDELIVERABLE, "008", None, 0.0)
    assert call is not None and dict(call.params)["donedate"] == "ND"
