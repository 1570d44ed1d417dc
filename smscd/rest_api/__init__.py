# tests: tests/integration/test_rest_api.py, tests/integration/test_rest_idempotency.py
"""The REST API /v1: JSON over the one MT pipeline, API keys, idempotency, OpenAPI 3.1.

Modules: models.py (pydantic bodies: the wire format), routes.py (the routes as data),
openapi.py (the document, generated), errors.py (error bodies, refusal table), auth.py
(Bearer keys, Basic), idempotency.py, api.py (what each endpoint does), webhook_api.py
(/v1/webhooks), resources.py (twisted.web dispatch).
The daemon mounts `rest_api_resource(...)` as the child `v1` of the Jasmin API's site
root, so both share one listener: `site.resource.putChild(b"v1", resource)`.
"""
from __future__ import annotations

from typing import Callable

from twisted.web.resource import Resource

from smscd.http_api.auth import Clock, HttpAuthenticator
from smscd.http_api.build import Builder
from smscd.mt_pipeline import BatchPipeline
from smscd.stores.billing_interface import Billing
from smscd.stores.interfaces import Users
from smscd.webhooks import Webhooks

from .api import Inbound, RestApi, SearchableLog
from .auth import KeyVerifier, RestAuthenticator
from .idempotency import Idempotency, Store
from .resources import V1
from .webhook_api import WebhookApi

__all__ = ["rest_api_resource"]

MAX_BODY = 2 * 1024 * 1024        # a full batch: 10,000 recipients and their texts


def rest_api_resource(pipeline: BatchPipeline, log: SearchableLog, users: Users,
                      billing: Billing, keys: KeyVerifier, idempotency: Store, clock: Clock,
                      *, basic: HttpAuthenticator | None = None,
                      builder: Builder | None = None, inbound: Inbound | None = None,
                      webhooks: Webhooks | None = None,
                      busy: Callable[[], bool] = lambda: False,
                      max_body: int = MAX_BODY) -> Resource:
    """The /v1 resource. `basic`: the Jasmin API's authenticator, to share its caches and
    lockout (a new one otherwise); `builder`: its Builder, to share concatenation
    references; `busy()`: true while the queues are over their high-water mark (503)."""
    api = RestApi(pipeline, log, billing, builder or Builder(), clock,
                  inbound_store=inbound, webhooks=webhooks, busy=busy)
    auth = RestAuthenticator(basic or HttpAuthenticator(users, clock), keys, users, clock)
    return V1(api, auth, Idempotency(idempotency),
              None if webhooks is None else WebhookApi(webhooks), max_body)
