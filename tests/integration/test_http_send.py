"""/send over a loopback socket: Jasmin's validation order, statuses and exact bodies
(../shared/reference/jasmin.md §4.2-§4.3), against the real store's users."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.web.client import ResponseNeverReceived

from smscd.credentials import MtAuthorizations, MtCredential, set_mt
from smscd.mt_pipeline import Refused
from smscd.smpp.status import CommandStatus as S

from http_api_side import HttpApiSide, side  # noqa: F401  (fixture)

GOOD = {"to": "06155423", "username": "u1", "password": "password", "content": "test"}


def _with(**changes: Any) -> dict[str, Any]:
    params = {k.replace("_", "-"): v for k, v in changes.items()}
    return {**GOOD, **params}


def _without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k not in names}


ARGUMENT_ERRORS = [
    ({}, 'Error "Mandatory argument [to] is not found."'),
    (_without("to"), 'Error "Mandatory argument [to] is not found."'),
    (_without("username"), 'Error "Mandatory argument [username] is not found."'),
    (_without("password"), 'Error "Mandatory argument [password] is not found."'),
    ({"bogus": "1", **GOOD}, 'Error "Argument [bogus] is unknown."'),
    (_with(to="+33abc"), 'Error "Argument [to] has an invalid value: [+33abc]."'),
    (_with(coding="11"), 'Error "Argument [coding] has an invalid value: [11]."'),
    (_with(username="x" * 17), f'Error "Argument [username] has an invalid value: '
                               f'[{"x" * 17}]."'),
    (_with(priority="4"), 'Error "Argument [priority] has an invalid value: [4]."'),
    (_with(sdt="2601011200000"), 'Error "Argument [sdt] has an invalid value: '
                                 '[2601011200000]."'),
    (_with(validity_period="1h"), 'Error "Argument [validity-period] has an invalid '
                                  'value: [1h]."'),
    (_with(dlr="maybe"), 'Error "Argument [dlr] has an invalid value: [maybe]."'),
    (_with(dlr_url="ftp://x"), 'Error "Argument [dlr-url] has an invalid value: '
                               '[ftp://x]."'),
    (_with(dlr_level="4"), 'Error "Argument [dlr-level] has an invalid value: [4]."'),
    (_with(dlr_method="put"), 'Error "Argument [dlr-method] has an invalid value: [PUT]."'),
    (_with(tags="a b"), 'Error "Argument [tags] has an invalid value: [a b]."'),
    (_without("content"), 'Error "content or hex-content not present."'),
    (_with(hex_content="74657374"), 'Error "content and hex-content cannot be used both in '
                                    'same request."'),
    ({**_without("content"), "hex-content": "zz"}, "Error \"Invalid hex-content data: 'zz'\""),
]


@pytest.mark.parametrize("params,body", ARGUMENT_ERRORS)
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest_twisted.ensureDeferred
async def test_argument_errors(side: HttpApiSide, method: str, params: dict[str, Any],
                               body: str) -> None:
    """Each argument error of §4.3 answers 400 with Jasmin's exact body, GET or POST."""
    assert await side.request(method, "/send", params) == (400, body)
    assert side.pipeline.submitted == []


@pytest_twisted.ensureDeferred
async def test_an_invalid_sdt_date_is_refused(side: HttpApiSide) -> None:
    """An sdt that matches the pattern but is no date (month 13) is refused by name."""
    assert await side.get("/send", **_with(sdt="261301120000000+")) == (
        400, 'Error "Argument [sdt] has an invalid value: [261301120000000+]."')


@pytest.mark.parametrize("params", [_with(password="wrong"), _with(username="nobody")])
@pytest_twisted.ensureDeferred
async def test_authentication_failure(side: HttpApiSide, params: dict[str, Any]) -> None:
    """A wrong password and an unknown user get the same 403."""
    username = params["username"]
    assert await side.get("/send", **params) == (
        403, f'Error "Authentication failure for username:{username}"')


@pytest_twisted.ensureDeferred
async def test_disabled_user_and_group_fail_authentication(side: HttpApiSide) -> None:
    """A disabled user, then a user of a disabled group, is refused as a bad login."""
    await side.store.users.disable("u1")
    assert (await side.get("/send", **GOOD))[0] == 403
    await side.store.users.enable("u1")
    assert (await side.get("/send", **GOOD))[0] == 200
    await side.store.users.add_group("g2")
    await side.store.users.add("u2", "u2", "password", "g2")
    await side.store.users.disable_group("g2")
    assert await side.get("/send", **_with(username="u2")) == (
        403, 'Error "Authentication failure for username:u2"')


def _denied(key: str) -> MtCredential:
    return set_mt(MtCredential(), "authorization", key, "false")


def _filtered(key: str, pattern: str) -> MtCredential:
    return set_mt(MtCredential(), "valuefilter", key, pattern)


AUTHORIZATION_ERRORS = [
    (_denied("http_send"), GOOD, "Cannot send MT messages"),
    (_denied("http_long_content"), _with(content="X" * 300), "Long content not authorized"),
    (_denied("dlr_level"), _with(dlr_level="3"), "Setting dlr level not authorized"),
    (_denied("dlr_level"), _with(dlr="yes"), "Setting dlr level not authorized"),
    (_denied("http_dlr_method"), _with(dlr_method="post"), "Setting dlr method not authorized"),
    (_denied("src_addr"), {**GOOD, "from": "JASMINTEST"}, "Setting source address not authorized"),
    (_denied("priority"), _with(priority="2"), "Setting priority not authorized"),
    (_denied("validity_period"), _with(validity_period="10"),
     "Setting validity period not authorized"),
    (_denied("hex_content"), {**_without("content"), "hex-content": "74657374"},
     "Setting hex content not authorized"),
    (_denied("schedule_delivery_time"), _with(sdt="000000010000000R"),
     "Setting schedule delivery time not authorized"),
]


@pytest.mark.parametrize("cred,params,reason", AUTHORIZATION_ERRORS)
@pytest_twisted.ensureDeferred
async def test_authorization_errors(side: HttpApiSide, cred: MtCredential,
                                    params: dict[str, Any], reason: str) -> None:
    """Each authorization of §4.3 refuses with 400 and Jasmin's words."""
    await side.store.users.update("u1", mt_credential=cred)
    assert await side.get("/send", **params) == (
        400, f'Error "Authorization failed for user [u1] ({reason})."')
    assert side.pipeline.submitted == []


FILTER_ERRORS = [
    (_filtered("dst_addr", "^33"), GOOD, "destination_address"),
    (_filtered("src_addr", "^ACME$"), {**GOOD, "from": "OTHER"}, "source_address"),
    (_filtered("priority", "^[01]$"), _with(priority="3"), "priority"),
    (_filtered("validity_period", "^[0-5]$"), _with(validity_period="60"), "validity_period"),
    (_filtered("content", "^hello"), GOOD, "content"),
]


@pytest.mark.parametrize("cred,params,name", FILTER_ERRORS)
@pytest_twisted.ensureDeferred
async def test_value_filter_errors(side: HttpApiSide, cred: MtCredential,
                                   params: dict[str, Any], name: str) -> None:
    """Each value filter of §4.3 refuses with 400 and Jasmin's words."""
    await side.store.users.update("u1", mt_credential=cred)
    assert await side.get("/send", **params) == (
        400, f'Error "Value filter failed for user [u1] ({name} filter mismatch)."')


PIPELINE_ERRORS = [
    (Refused(S.ESME_RINVDSTADR, 412, "No route found"), 412, "No route found"),
    (Refused(S.ESME_RTHROTTLED, 403, "User throughput exceeded"), 403,
     "User throughput exceeded"),
    (Refused(S.ESME_RSYSERR, 403, "Cannot charge submit_sm, check RouterPB log file for "
                                  "details"), 403,
     "Cannot charge submit_sm, check RouterPB log file for details"),
    (Refused(S.ESME_RSYSERR, 503, "InterceptorPB not connected !"), 503,
     "InterceptorPB not connected !"),
]


@pytest.mark.parametrize("refusal,status,text", PIPELINE_ERRORS)
@pytest_twisted.ensureDeferred
async def test_pipeline_refusals(side: HttpApiSide, refusal: Refused, status: int,
                                 text: str) -> None:
    """Routing, throughput, billing and interceptor refusals keep their status and text."""
    side.pipeline.refusal = refusal
    assert await side.get("/send", **GOOD) == (status, f'Error "{text}"')


@pytest_twisted.ensureDeferred
async def test_success_gives_the_pipelines_id(side: HttpApiSide) -> None:
    """200 `Success "<id>"` with the id of the message the pipeline queued."""
    status, body = await side.get("/send", **GOOD)
    [(uid, message, channel)] = side.pipeline.submitted
    assert (status, body) == (200, f'Success "{message.id}"')
    assert (uid, channel, message.origin) == ("u1", "http", "http")
    assert message.destination.addr == "06155423"
    assert message.parts[0].short_message == b"test"


@pytest_twisted.ensureDeferred
async def test_post_form_and_json(side: HttpApiSide) -> None:
    """POST with a form or a JSON object (numbers allowed) is the same request."""
    assert (await side.request("POST", "/send", GOOD))[0] == 200
    status, body = await side.post_json("/send", {**GOOD, "coding": 8, "priority": 1})
    assert status == 200, body
    message = side.pipeline.submitted[-1][1]
    assert (message.data_coding, message.priority) == (8, 1)


@pytest_twisted.ensureDeferred
async def test_bad_json_is_a_clear_400(side: HttpApiSide) -> None:
    """A body that is not a JSON object, or a value that is not text or a number."""
    status, body = await side.request("POST", "/send", body=b"{nope",
                                      content_type="application/json")
    assert status == 400 and body.startswith('Error "Invalid JSON body')
    assert await side.post_json("/send", {**GOOD, "to": ["1", "2"]}) == (
        400, 'Error "Argument [to] has an invalid value: [["1", "2"]]."')


@pytest_twisted.ensureDeferred
async def test_too_large_body_is_413(tmp_path: Path) -> None:
    """A body above max_body_size is refused, not kept."""
    side = HttpApiSide(tmp_path, max_body_size=100)
    try:
        await side.add_user()
        status, body = await side.request("POST", "/send", {**GOOD, "content": "x" * 200})
        assert (status, body) == (413, 'Error "Request body too large: at most 100 octets."')
        assert side.pipeline.submitted == []
    finally:
        await side.close()


@pytest_twisted.ensureDeferred
async def test_utf8_content_is_encoded_for_its_coding(side: HttpApiSide) -> None:
    """UTF-8 text is encoded by us: UCS2 for coding 8, GSM 03.38 (with ?) for coding 0."""
    assert (await side.get("/send", **_with(content="héllo €", coding="8")))[0] == 200
    assert side.pipeline.submitted[-1][1].parts[0].short_message == \
        "héllo €".encode("utf-16-be")
    assert (await side.get("/send", **_with(content="€ ok ш")))[0] == 200
    assert side.pipeline.submitted[-1][1].parts[0].short_message == b"\x1be ok ?"


@pytest_twisted.ensureDeferred
async def test_text_a_coding_cannot_carry_is_refused(side: HttpApiSide) -> None:
    """Latin-1 cannot carry Cyrillic: a 400 naming the character, nothing sent."""
    status, body = await side.get("/send", **_with(content="ш", coding="3"))
    assert status == 400 and "U+0448" in body and body.startswith(
        'Error "Argument [content] cannot be sent with coding 3')


@pytest_twisted.ensureDeferred
async def test_long_content_is_split_with_one_id(side: HttpApiSide) -> None:
    """300 GSM characters: 2 parts with a concatenation UDH, one message, one id."""
    status, body = await side.get("/send", **_with(content="X" * 300))
    message = side.pipeline.submitted[-1][1]
    assert (status, body) == (200, f'Success "{message.id}"')
    assert [p.esm_class for p in message.parts] == [0x40, 0x40]
    assert [p.short_message[:3] for p in message.parts] == [b"\x05\x00\x03"] * 2


@pytest_twisted.ensureDeferred
async def test_too_many_parts_is_refused(side: HttpApiSide) -> None:
    """More parts than allowed is a 400 (Jasmin drops the rest silently)."""
    assert await side.get("/send", **_with(content="X" * 153 * 11)) == (
        400, 'Error "Content is too long: it needs 11 parts, at most 10 are allowed."')


@pytest_twisted.ensureDeferred
async def test_dlr_settings_travel_with_the_message(side: HttpApiSide) -> None:
    """dlr-url forces dlr=yes; level 2 asks the vendor for receipts; method defaults to POST."""
    url = "http://127.0.0.1:1/dlr"
    assert (await side.get("/send", **_with(dlr_url=url, dlr_level="2")))[0] == 200
    message = side.pipeline.submitted[-1][1]
    assert message.registered_delivery == 1
    assert message.extra == {"dlr-url": url, "dlr-level": "2", "dlr-method": "POST"}
    assert (await side.get("/send", **_with(dlr_url=url, dlr_method="get", tags="a,b")))[0] \
        == 200
    message = side.pipeline.submitted[-1][1]
    assert message.registered_delivery == 0
    assert message.extra == {"dlr-url": url, "dlr-level": "1", "dlr-method": "GET",
                             "tags": "a,b"}


@pytest_twisted.ensureDeferred
async def test_default_source_address(side: HttpApiSide) -> None:
    """Without `from`, the user's default source address is used."""
    cred = set_mt(MtCredential(), "defaultvalue", "src_addr", "ACME")
    await side.store.users.update("u1", mt_credential=cred)
    assert (await side.get("/send", **GOOD))[0] == 200
    assert side.pipeline.submitted[-1][1].source.addr == "ACME"


@pytest_twisted.ensureDeferred
async def test_ping_and_root(side: HttpApiSide) -> None:
    """/ping answers Jasmin/PONG."""
    assert await side.get("/ping") == (200, "Jasmin/PONG")


@pytest_twisted.ensureDeferred
async def test_a_changed_password_is_not_served_from_the_cache(side: HttpApiSide) -> None:
    """After a password change the old password stops working at once."""
    assert (await side.get("/send", **GOOD))[0] == 200
    await side.store.users.update("u1", password="newpass")
    assert (await side.get("/send", **GOOD))[0] == 403
    assert (await side.get("/send", **_with(password="newpass")))[0] == 200


def test_authorizations_table_covers_jasmin() -> None:
    """Every HTTP authorization key of §6.2 exists in the credential."""
    keys = {"http_send", "http_long_content", "dlr_level", "http_dlr_method", "src_addr",
            "priority", "validity_period", "hex_content", "schedule_delivery_time",
            "http_rate", "http_balance"}
    assert keys <= set(MtAuthorizations.__dataclass_fields__)


@pytest_twisted.ensureDeferred
async def test_an_unexpected_failure_is_a_500_without_details(side: HttpApiSide) -> None:
    """A store failure behind the pipeline: 500, and no exception text to the client."""
    side.pipeline.refusal = RuntimeError("disk on fire at /var/lib/secret")
    assert await side.get("/send", **GOOD) == (500, 'Error "Unknown error: internal error"')


@pytest_twisted.ensureDeferred
async def test_a_client_gone_before_the_answer_breaks_nothing(side: HttpApiSide) -> None:
    """The pipeline answers after the client hung up: nothing is written, nothing fails,
    and the server keeps serving."""
    side.pipeline.hold = Deferred()
    request = Deferred.fromCoroutine(side.get("/send", **GOOD))
    await side.pipeline.reached
    request.cancel()                            # the client hangs up
    with pytest.raises(ResponseNeverReceived):
        await request
    side.pipeline.hold.callback(None)
    side.pipeline.hold = None
    assert (await side.get("/send", **GOOD))[0] == 200

