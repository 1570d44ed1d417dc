# tests: tests/unit/test_rest_openapi.py
"""The OpenAPI 3.1 document of /v1, generated from routes.py and the pydantic models.

Nothing here is written by hand that the server decides elsewhere: paths, methods,
bodies, queries and answers come from ROUTES and the models' JSON schemas (pydantic
emits JSON Schema 2020-12, which OpenAPI 3.1 uses as is).
"""
from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import models_json_schema

from smscd import __version__

from . import models as M
from .routes import COMMON, ROUTES

REF = "#/components/schemas/{model}"
_DESCRIPTIONS = {400: "Bad request (malformed JSON, bad header)", 401: "Unauthorized",
                 402: "Insufficient balance", 403: "Forbidden by your credentials",
                 404: "Not found", 405: "Method not allowed", 409: "Conflict",
                 413: "Body too large", 415: "Body is not application/json",
                 422: "Invalid request", 429: "Throughput exceeded (see Retry-After)",
                 503: "Busy (see Retry-After)"}


def _models() -> list[type[M.BaseModel]]:
    seen: dict[str, type[M.BaseModel]] = {"ErrorResponse": M.ErrorResponse}
    for r in ROUTES:
        for model in (r.answer, r.body):
            if model is not None:
                seen[model.__name__] = model
    return list(seen.values())


def _query_parameters(model: type[M.BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    return [{"name": name, "in": "query", "required": name in schema.get("required", []),
             "schema": prop} for name, prop in schema["properties"].items()]


def document() -> dict[str, Any]:
    models = _models()
    keys, defs = models_json_schema(
        [(m, "validation") for m in models if m not in {r.answer for r in ROUTES}] +
        [(m, "serialization") for m in models if m in {r.answer for r in ROUTES}],
        ref_template=REF)
    ref = {m: keys[(m, mode)] for (m, mode) in keys}
    error = {"description": "", "content": {"application/json": {
        "schema": ref[M.ErrorResponse]}}}
    paths: dict[str, dict[str, Any]] = {}
    for r in ROUTES:
        op: dict[str, Any] = {"operationId": r.operation, "summary": r.summary,
                              "responses": {"200": {"description": "OK", "content": {
                                  "application/json": {"schema": ref[r.answer]}}}}}
        params: list[dict[str, Any]] = []
        if "{id}" in r.path:
            params.append({"name": "id", "in": "path", "required": True,
                           "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"}})
        if r.query is not None:
            params += _query_parameters(r.query)
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": ref[r.body]}}}
            params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                                      "pattern": "^[!-~]+$"}})
        if params:
            op["parameters"] = params
        for status in sorted(set(COMMON + r.errors)):
            op["responses"][str(status)] = {**error, "description": _DESCRIPTIONS[status]}
        op["responses"]["401"]["description"] = _DESCRIPTIONS[401]
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "smscd REST API", "version": __version__,
                 "description": "Send SMS, read their state, receive inbound messages and "
                                "signed webhooks. Errors: {\"error\": {code, message, "
                                "field}}."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"basic": []}],
        "paths": paths,
        "components": {"schemas": defs.get("$defs", {}), "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"}}},
    }


def document_bytes() -> bytes:
    return json.dumps(document(), separators=(",", ":")).encode()
