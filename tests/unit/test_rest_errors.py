"""REST error mapping: pipeline refusals and validation errors to statuses, codes and
fields, in one table."""
from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from smscd.mt_pipeline import NO_ROUTE, NOT_QUEUED, THROTTLED, Refused
from smscd.rest_api.errors import field_path, from_refused, from_validation
from smscd.rest_api.models import BatchRequest, SendRequest


@pytest.mark.parametrize("refused, status, code", [
    (Refused(*NO_ROUTE), 422, "no_route"),
    (Refused(*THROTTLED), 429, "throttled"),
    (Refused(8, 403, "Charging failed", "balance"), 402, "insufficient_balance"),
    (Refused(8, 403, "Charging failed", "sms_count"), 402, "insufficient_balance"),
    (Refused(*NOT_QUEUED), 503, "unavailable"),
    (Refused(69, 400, "Rejected by interceptor"), 400, "rejected"),
])
def test_refusals(refused: Refused, status: int, code: str) -> None:
    """Breaks if a refusal is answered with a status other than the table's."""
    e = from_refused(refused)
    assert (e.status, e.code) == (status, code)
    assert (e.retry_after is not None) == (status in (429, 503))
    body = json.loads(e.encoded())
    assert set(body["error"]) == {"code", "message", "field"}


def _error(model: type, data: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(data)
    return caught.value


def test_validation_names_the_field() -> None:
    """Breaks if a validation error does not name the bad field by its path."""
    e = from_validation(_error(BatchRequest, b'{"messages":[{"to":"1","text":"a"},'
                                             b'{"to":["1","x"],"text":"a"}]}'))
    assert (e.status, e.field) == (422, "messages.1.to.1")
    assert from_validation(_error(SendRequest, b"{")).status == 400
    e = from_validation(_error(SendRequest, b'{"to":"1"}'))
    assert e.status == 422 and "exactly one of text and hex" in e.message


def test_field_path_drops_union_branch_names() -> None:
    """Breaks if pydantic's union branch names leak into the `field` of an error."""
    assert field_path(("to", "list[constrained-str]", 2)) == "to.2"
