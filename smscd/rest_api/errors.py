# tests: tests/unit/test_rest_errors.py
"""REST errors: `ApiError` and the one table from pipeline refusals to HTTP answers.

Body: {"error": {"code", "message", "field"}}. Rules:
- A body that is not JSON is 400 `invalid_json`; a body that fails validation is 422
  `invalid_request` naming the deepest bad field (dotted path, list indices included).
- The pipeline's `Refused`: billing (field balance or sms_count) is 402
  `insufficient_balance`; throughput is 429 `throttled` with Retry-After; no route (412 on
  /send) is 422 `no_route`; a store failure is 503 `unavailable` with Retry-After (the
  client may retry with its Idempotency-Key); any other 4xx (an interceptor's reject) keeps
  its status with code `rejected`.
- Authorizations and value filters of the user's credential are 403 `forbidden`.
"""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from smscd.mt_pipeline import THROTTLED, Refused

from .models import ErrorBody, ErrorResponse


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after

    @property
    def body(self) -> ErrorBody:
        return ErrorBody(code=self.code, message=self.message, field=self.field)

    def encoded(self) -> bytes:
        return ErrorResponse(error=self.body).model_dump_json().encode()


def field_path(loc: tuple[Any, ...]) -> str:
    """Dotted path of a pydantic error location, without union branch names."""
    names = [str(x) for x in loc if isinstance(x, int) or
             (isinstance(x, str) and x.replace("_", "").isalnum())]
    return ".".join(names)


def from_validation(e: ValidationError) -> ApiError:
    errors = e.errors(include_url=False)
    if errors[0]["type"] == "json_invalid":
        return ApiError(400, "invalid_json", f"Invalid JSON body: {errors[0]['msg']}")
    # the deepest error: for a union (`to`: a number or a list) that is the branch the
    # value was meant for, e.g. to.1 rather than "to is not a string"
    first = max(errors, key=lambda err: field_path(err["loc"]).count(".") + 1)
    field = field_path(first["loc"]) or None
    message = first["msg"] if field is None else f"{field}: {first['msg']}"
    return ApiError(422, "invalid_request", message, field)


def from_refused(e: Refused, retry_after: int = 1) -> ApiError:
    if e.field in ("balance", "sms_count"):
        return ApiError(402, "insufficient_balance", e.text, e.field)
    if (e.smpp_status, e.http_status, e.text) == THROTTLED:
        return ApiError(429, "throttled", e.text, None, retry_after)
    if e.http_status == 412:
        return ApiError(422, "no_route", e.text, "to")
    if 400 <= e.http_status < 500:
        return ApiError(e.http_status, "rejected", e.text, e.field)
    return ApiError(503, "unavailable", "The message could not be queued; try again.",
                    None, retry_after)

