# tests: tests/unit/test_rest_answers.py
"""The answers of POST /v1/messages and /v1/messages/batch, written as JSON directly.

Why: a batch answers up to 10,000 recipients; a pydantic model per recipient
(`model_construct` is Python code) cost more than building the recipient's message. The
models (models.Accepted, SendResponse, BatchResponse) stay the one definition of the
wire format and of the OpenAPI document: tests/unit/test_rest_answers.py holds what is
written here to what those models validate and dump (same fields, order and values).
Pure: no Twisted.
"""
from __future__ import annotations

from json.encoder import encode_basestring as _quote  # type: ignore[attr-defined]

from .models import ErrorBody


def queued(to: str, message_id: str, parts: int) -> str:
    """One recipient's `Accepted` (status queued) as JSON."""
    return (f'{{"to":{_quote(to)},"id":{_quote(message_id)},"parts":{parts:d},'
            f'"status":"queued","error":null}}')


def refused(to: str, error_json: str) -> str:
    """One recipient's `Accepted` (status refused) as JSON; `error_json`: `error(...)`."""
    return (f'{{"to":{_quote(to)},"id":null,"parts":null,"status":"refused",'
            f'"error":{error_json}}}')


def error(body: ErrorBody) -> str:
    return body.model_dump_json()


def send_response(items: list[str]) -> bytes:
    """`SendResponse` of the recipients' JSON, in order."""
    return f'{{"messages":[{",".join(items)}]}}'.encode()


def batch_response(accepted: int, refused_: int, results: list[list[str]]) -> bytes:
    """`BatchResponse`: `results[i]` holds item i's recipients' JSON, in order."""
    items = ",".join(f'{{"index":{i:d},"messages":[{",".join(r)}]}}'
                     for i, r in enumerate(results))
    return f'{{"accepted":{accepted:d},"refused":{refused_:d},"results":[{items}]}}'.encode()
