"""/rate and /balance over a loopback socket: Jasmin's JSON bodies and errors (§4.4)."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
import pytest_twisted

from smscd.billing import Account
from smscd.credentials import MtCredential, set_mt
from smscd.mt_pipeline import Refused
from smscd.smpp.status import CommandStatus as S

from http_api_side import HttpApiSide, side  # noqa: F401  (fixture)

LOGIN = {"username": "u1", "password": "password"}


@pytest_twisted.ensureDeferred
async def test_rate_gives_parts_and_unit_rate(side: HttpApiSide) -> None:
    """The route's rate per part and the part count, with or without content."""
    side.balances.accounts["u1"] = Account("u1", Decimal("10"))
    status, body = await side.get("/rate", to="06155423", **LOGIN)
    assert (status, json.loads(body)) == (200, {"submit_sm_count": 1, "unit_rate": 0.02})
    status, body = await side.get("/rate", to="06155423", content="X" * 300, **LOGIN)
    assert (status, json.loads(body)) == (200, {"submit_sm_count": 2, "unit_rate": 0.02})


RATE_ERRORS = [
    ({}, 400, "Mandatory argument [to] is not found."),
    ({"to": "1", "x": "y", **LOGIN}, 400, "Argument [x] is unknown."),
    ({"to": "abc", **LOGIN}, 400, "Argument [to] has an invalid value: [abc]."),
    ({"to": "1", "dlr": "yes", **LOGIN}, 400, "Argument [dlr] is unknown."),
    ({"to": "1", "content": "a", "hex-content": "61", **LOGIN}, 400,
     "content and hex-content cannot be used both in same request."),
    ({"to": "1", "hex-content": "6", **LOGIN}, 400, "Invalid hex-content data: '6'"),
    ({"to": "1", "username": "u1", "password": "bad"}, 403,
     "Authentication failure for username:u1"),
]


@pytest.mark.parametrize("params,status,text", RATE_ERRORS)
@pytest_twisted.ensureDeferred
async def test_rate_errors(side: HttpApiSide, params: dict[str, str], status: int,
                           text: str) -> None:
    """Errors are JSON strings with Jasmin's status."""
    assert await side.get("/rate", **params) == (status, json.dumps(text))


@pytest_twisted.ensureDeferred
async def test_rate_is_zero_for_an_unlimited_user(side: HttpApiSide) -> None:
    """As Jasmin: without a balance quota there is nothing to pay."""
    status, body = await side.get("/rate", to="06155423", **LOGIN)
    assert (status, json.loads(body)) == (200, {"submit_sm_count": 1, "unit_rate": 0.0})


@pytest_twisted.ensureDeferred
async def test_rate_needs_http_rate(side: HttpApiSide) -> None:
    await side.store.users.update(
        "u1", mt_credential=set_mt(MtCredential(), "authorization", "http_rate", "no"))
    assert await side.get("/rate", to="1", **LOGIN) == (
        400, '"Authorization failed for user [u1] (Cannot check rate)."')


@pytest_twisted.ensureDeferred
async def test_rate_without_route(side: HttpApiSide) -> None:
    side.pipeline.refusal = Refused(S.ESME_RINVDSTADR, 412, "No route found")
    assert await side.get("/rate", to="1", **LOGIN) == (412, '"No route found"')


@pytest_twisted.ensureDeferred
async def test_rate_and_balance_are_get_only(side: HttpApiSide) -> None:
    """As in Jasmin, POST to /rate or /balance is 405."""
    assert (await side.request("POST", "/rate", {"to": "1", **LOGIN}))[0] == 405
    assert (await side.request("POST", "/balance", LOGIN))[0] == 405


@pytest_twisted.ensureDeferred
async def test_balance(side: HttpApiSide) -> None:
    """Unlimited is "ND"; numbers are numbers."""
    status, body = await side.get("/balance", **LOGIN)
    assert (status, json.loads(body)) == (200, {"balance": "ND", "sms_count": "ND"})
    side.balances.accounts["u1"] = Account("u1", Decimal("44.2"), 10)
    status, body = await side.get("/balance", **LOGIN)
    assert (status, json.loads(body)) == (200, {"balance": 44.2, "sms_count": 10})


BALANCE_ERRORS = [
    ({}, 400, "Mandatory arguments not found, please refer to the HTTPAPI specifications."),
    ({"username": "u1"}, 400, "Mandatory argument [password] is not found."),
    ({"to": "1", **LOGIN}, 400, "Argument [to] is unknown."),
    ({"username": "u1", "password": "x" * 17}, 400,
     f"Argument [password] has an invalid value: [{'x' * 17}]."),
    ({"username": "u1", "password": "bad"}, 403, "Authentication failure for username:u1"),
]


@pytest.mark.parametrize("params,status,text", BALANCE_ERRORS)
@pytest_twisted.ensureDeferred
async def test_balance_errors(side: HttpApiSide, params: dict[str, str], status: int,
                              text: str) -> None:
    assert await side.get("/balance", **params) == (status, json.dumps(text))


@pytest_twisted.ensureDeferred
async def test_balance_needs_http_balance(side: HttpApiSide) -> None:
    await side.store.users.update(
        "u1", mt_credential=set_mt(MtCredential(), "authorization", "http_balance", "no"))
    assert await side.get("/balance", **LOGIN) == (
        400, '"Authorization failed for user [u1] (Cannot check balance)."')
