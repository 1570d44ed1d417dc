# tests: tests/integration/test_admin_api.py, tests/unit/test_admin_tokens.py
"""The admin REST API /admin/v1: JSON CRUD over the provisioning service, on its own listener.

Modules: routes.py (the routes as data), openapi.py (the document, generated), tokens.py
(admin tokens, hashed, in a file of the data directory), operations.py (what each route
does), views.py (records as JSON), errors.py (service refusals as HTTP answers),
resource.py (twisted.web dispatch and token checks).
The daemon listens with `admin_api_site(...)` on admin_api.host:admin_api.port.
"""
from __future__ import annotations

from typing import Any, cast

from twisted.web.resource import IResource, Resource
from twisted.web.server import Site

from smscd.http_api.resources import LimitedRequest
from smscd.service.api import ProvisioningApi
from smscd.shell.audit import AuditLog
from smscd.stats import Stats
from smscd.stores.billing_interface import Billing
from smscd.stores.interfaces import Queues

from .operations import Operations
from .resource import AdminV1
from .tokens import AdminTokens

__all__ = ["admin_api_site", "AdminTokens"]

MAX_BODY = 4 * 1024 * 1024        # a whole provisioning profile


def admin_api_site(service: ProvisioningApi, queues: Queues | None, billing: Billing | None,
                   tokens: AdminTokens, api_keys: Any | None = None,
                   audit: AuditLog | None = None, max_body: int = MAX_BODY,
                   stats: Stats | None = None) -> Site:
    """The site to listen with. `api_keys`: the REST API's key store (SqliteStore.api_keys;
    None answers 501 on /users/{uid}/api-keys); `queues` or `billing` None: 501 on dead
    letters or balances; `audit`: the shell's audit log, to record every write; `stats`:
    the daemon's runtime counters, shown by GET /admin/v1/stats."""
    v1 = AdminV1(Operations(service, queues, billing, api_keys, stats), tokens, max_body,
                 audit)
    admin = Resource()
    admin.putChild(b"v1", cast(IResource, v1))
    root = Resource()
    root.putChild(b"admin", cast(IResource, admin))
    site = Site(root, requestFactory=type("AdminRequest", (LimitedRequest,),
                                          {"max_body": max_body}))
    site.displayTracebacks = False
    return site
