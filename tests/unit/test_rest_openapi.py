"""The OpenAPI document is generated from the routes and models: every route is in it,
every reference resolves, and dispatch finds each route by its path."""
from __future__ import annotations

import json

import pytest

from smscd.rest_api.openapi import document
from smscd.rest_api.routes import ROUTES, match


def test_every_route_is_documented_with_its_errors() -> None:
    """Breaks if a served route is missing from the document or lacks its body."""
    doc = document()
    assert doc["openapi"] == "3.1.0"
    for r in ROUTES:
        op = doc["paths"][r.path][r.method.lower()]
        assert op["operationId"] == r.operation
        assert {"200", "401", "422"} <= set(op["responses"])
        assert ("requestBody" in op) == (r.body is not None)


def test_every_reference_resolves() -> None:
    """Breaks if the document points at a schema it does not hold."""
    doc = document()
    text = json.dumps(doc)
    for name in {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in doc["components"]["schemas"], name


def test_message_view_documents_from_not_from_underscore() -> None:
    """Breaks if the document and the answers disagree on the `from` field's name."""
    props = document()["components"]["schemas"]["MessageView"]["properties"]
    assert "from" in props and "from_" not in props


@pytest.mark.parametrize("path, operations, ident", [
    (("messages",), {"send", "messages"}, None),
    (("messages", "batch"), {"batch"}, None),
    (("messages", "abc"), {"message", "cancel"}, "abc"),
    (("webhooks", "dead-letters"), {"dead_letters"}, None),
    (("webhooks", "dead-letters", "7", "replay"), {"replay"}, "7"),
    (("nowhere",), set(), None),
])
def test_match(path: tuple[str, ...], operations: set[str], ident: str | None) -> None:
    """Breaks if /messages/batch is taken for a message id, or a path maps wrongly."""
    routes, got = match(path)
    assert {r.operation for r in routes} == operations and got == ident
