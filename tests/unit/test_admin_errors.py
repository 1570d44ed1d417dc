"""Service refusals as admin API answers: the status per kind, the service's own words."""
from __future__ import annotations

import pytest

from smscd.admin_api.errors import from_refusal
from smscd.rest_api.errors import ApiError
from smscd.service.api import (AlreadyExists, InUse, InvalidValue, NotFound, ServiceError,
                               WrongState)
from smscd.stores.sqlite_billing import BillingError


@pytest.mark.parametrize("error, status, code", [
    (NotFound("Unknown Filter: x", "fid"), 404, "not_found"),
    (AlreadyExists("filter 'x' already exists", "fid"), 409, "already_exists"),
    (InUse("in use by mt_route 10", ["mt_route 10"], "fid"), 409, "in_use"),
    (WrongState("already started", "cid"), 409, "wrong_state"),
    (InvalidValue("rate: bad", "rate"), 422, "invalid_value"),
    (ServiceError("other", None), 422, "invalid_value"),
])
def test_each_refusal_kind(error: ServiceError, status: int, code: str) -> None:
    """Breaks if a refusal kind changes status or loses its message or field."""
    e = from_refusal(error)
    assert e is not None and (e.status, e.code, e.message, e.field) == (
        status, code, error.message, error.field)


def test_every_problem_is_listed_and_others_are_not_refusals() -> None:
    """Breaks if a multi-problem refusal keeps only one, or a bug becomes a 4xx."""
    e = from_refusal(InvalidValue("a: x", None, ["a: x", "b: y"]))
    assert e is not None and e.message == "a: x; b: y"
    billing = from_refusal(BillingError("balance: must not be negative"))
    assert billing is not None and billing.status == 422
    assert from_refusal(ValueError("bug")) is None
    assert from_refusal(KeyError("bug")) is None
    passed = ApiError(501, "not_implemented", "x")
    assert from_refusal(passed) is passed
