# tests: tests/unit/test_admin_errors.py
"""Service refusals as admin API answers: one table, the service's own words.

The shell prints `Error: <message>` for the same refusals (smscd.shell.common.refusal);
here the message is the same text and the status says what kind of refusal it was:
NotFound 404, AlreadyExists / InUse / WrongState 409, InvalidValue (and any other
ServiceError) 422; billing's BillingError 422. An InvalidValue with several problems lists
them all, joined by "; ", as the shell does.
"""
from __future__ import annotations

from smscd.rest_api.errors import ApiError
from smscd.service.api import (AlreadyExists, InUse, InvalidValue, NotFound, ServiceError,
                               WrongState)
from smscd.stores.sqlite_billing import BillingError

_TABLE: tuple[tuple[type[ServiceError], int, str], ...] = (
    (NotFound, 404, "not_found"),
    (AlreadyExists, 409, "already_exists"),
    (InUse, 409, "in_use"),
    (WrongState, 409, "wrong_state"),
    (InvalidValue, 422, "invalid_value"),
)


def from_refusal(e: Exception) -> ApiError | None:
    """The answer for a refusal, or None for an exception that is not one (a 500)."""
    if isinstance(e, ApiError):
        return e
    if isinstance(e, ServiceError):
        status, code = next(((s, c) for kind, s, c in _TABLE if isinstance(e, kind)),
                            (422, "invalid_value"))
        message = e.message
        if isinstance(e, InvalidValue) and len(e.problems) > 1:
            message = "; ".join(e.problems)
        return ApiError(status, code, message, e.field)
    if isinstance(e, BillingError):
        return ApiError(422, "invalid_value", str(e))
    return None
