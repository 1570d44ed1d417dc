"""Shared by the REST and admin API tests: one JSON request over a real Agent.

A JSON `body` is sent as application/json; `raw` octets are sent as they are, under
`content_type`; the answer body is parsed as JSON when there is one."""
from __future__ import annotations

import json
from io import BytesIO
from typing import Any

from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers


async def json_call(agent: Agent, method: str, url: str, auth: str | None = None,
                    body: Any = None, raw: bytes | None = None,
                    content_type: str = "application/json",
                    headers: dict[str, str] | None = None) -> tuple[int, Any, Headers]:
    """(status, parsed JSON body or None, response headers)."""
    h = Headers({k: [v] for k, v in (headers or {}).items()})
    if auth is not None:
        h.setRawHeaders("Authorization", [auth])
    if body is not None:
        raw = json.dumps(body).encode()
    producer = None
    if raw is not None:
        h.setRawHeaders("Content-Type", [content_type])
        producer = FileBodyProducer(BytesIO(raw))
    response = await agent.request(method.encode(), url.encode(), h, producer)
    data = await readBody(response)
    return response.code, json.loads(data) if data else None, response.headers
