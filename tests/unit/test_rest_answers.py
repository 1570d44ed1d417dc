"""The sending answers written directly (rest_api/answers.py) against the models that
define them (and the OpenAPI document): a field renamed, reordered or mistyped in one
and not the other breaks these tests."""
from __future__ import annotations

import pytest

from smscd.rest_api import answers
from smscd.rest_api import models as M

ERROR = M.ErrorBody(code="no_route", message='No route "found" é\n', field="to")
ODD = ['33600000001', '+4470000', 'quote" back\\slash', "é\u2028\x01"]


def _accepted(to: str, queued: bool) -> tuple[str, M.Accepted]:
    if queued:
        return (answers.queued(to, "0123abcd", 3),
                M.Accepted(to=to, id="0123abcd", parts=3, status="queued"))
    return (answers.refused(to, answers.error(ERROR)),
            M.Accepted(to=to, status="refused", error=ERROR))


@pytest.mark.parametrize("to", ODD)
@pytest.mark.parametrize("queued", [True, False])
def test_one_recipient_is_the_models_json(to: str, queued: bool) -> None:
    """Breaks if a recipient's JSON differs from the `Accepted` model's own, octet for
    octet (so replays of either are the same answer)."""
    fast, model = _accepted(to, queued)
    assert fast.encode() == model.model_dump_json().encode()


def test_send_and_batch_answers_are_the_models_json() -> None:
    """Breaks if the envelopes (SendResponse, BatchResponse with per-item results) are
    not what the models validate and dump."""
    pairs = [_accepted(to, i % 2 == 0) for i, to in enumerate(ODD)]
    fast = answers.send_response([f for f, _ in pairs])
    model = M.SendResponse(messages=[m for _, m in pairs])
    assert fast == model.model_dump_json(by_alias=True).encode()
    assert M.SendResponse.model_validate_json(fast) == model
    fast = answers.batch_response(2, 2, [[f for f, _ in pairs[:3]], [], [pairs[3][0]]])
    model = M.BatchResponse(accepted=2, refused=2, results=[
        M.BatchItem(index=0, messages=[m for _, m in pairs[:3]]),
        M.BatchItem(index=1, messages=[]), M.BatchItem(index=2, messages=[pairs[3][1]])])
    assert fast == model.model_dump_json(by_alias=True).encode()
