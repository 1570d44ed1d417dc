# tests: tests/unit/test_rest_openapi.py
"""The /v1 routes as data: what the server dispatches on and what openapi.py documents.

Each route: method, path template ({id} is one path segment), operation id (the
handler's name in resources.py), request body model, query model, answer model and
the statuses it may answer besides 200. Pure: no Twisted.
"""
from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from . import models as M

COMMON = (400, 401, 404, 405, 413, 415, 422)


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    operation: str
    summary: str
    answer: type[BaseModel]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/")[1:])       # without "v1"


ROUTES: tuple[Route, ...] = (
    Route("POST", "/v1/messages", "send", "Send one message to one or many recipients",
          M.SendResponse, body=M.SendRequest, errors=(402, 403, 409, 429, 503)),
    Route("POST", "/v1/messages/batch", "batch", "Send up to 1,000 messages at once",
          M.BatchResponse, body=M.BatchRequest, errors=(409, 503)),
    Route("GET", "/v1/messages", "messages", "List your messages, newest last",
          M.MessageList, query=M.ListQuery),
    Route("GET", "/v1/messages/{id}", "message", "One of your messages", M.MessageView),
    Route("DELETE", "/v1/messages/{id}", "cancel", "Cancel a message still queued",
          M.MessageView, errors=(409,)),
    Route("GET", "/v1/balance", "balance", "Your balance", M.Balance, errors=(403,)),
    Route("POST", "/v1/rate", "rate", "Price and parts of a message, without sending it",
          M.RateResponse, body=M.SendRequest, errors=(403, 409, 429)),
    Route("GET", "/v1/inbound", "inbound", "Inbound messages kept for you",
          M.InboundList, query=M.PageQuery),
    Route("GET", "/v1/webhooks", "webhooks", "Your webhook endpoints", M.WebhookList),
    Route("POST", "/v1/webhooks", "add_webhook", "Add a webhook endpoint (secret shown once)",
          M.WebhookView, body=M.WebhookCreate, errors=(409,)),
    Route("DELETE", "/v1/webhooks/{id}", "remove_webhook", "Remove a webhook endpoint",
          M.Deleted),
    Route("GET", "/v1/webhooks/dead-letters", "dead_letters",
          "Webhook deliveries that gave up", M.DeadLetterList),
    Route("POST", "/v1/webhooks/dead-letters/{id}/replay", "replay",
          "Send a dead webhook delivery again", M.Replayed, errors=(409,)),
)


_PATTERNS = tuple((route, route.segments) for route in ROUTES)     # split once


def match(segments: tuple[str, ...]) -> tuple[list[Route], str | None]:
    """The routes of this path (any method) and the {id} it names, if any."""
    found: list[Route] = []
    ident: str | None = None
    for route, pattern in _PATTERNS:
        if len(pattern) != len(segments):
            continue
        got: str | None = None
        for want, seg in zip(pattern, segments):
            if want == "{id}":
                got = seg
            elif want != seg:
                break
        else:
            found.append(route)
            ident = got
    exact = [r for r in found if "{id}" not in r.path]      # /messages/batch over {id}
    return (exact, None) if exact else (found, ident)
