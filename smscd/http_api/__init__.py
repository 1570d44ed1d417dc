# tests: tests/integration/test_http_send.py, tests/integration/test_http_rate_balance.py
"""The Jasmin-compatible HTTP API (/send, /rate, /balance, /ping), served by twisted.web.

Modules: params.py (arguments, Jasmin's validation order and words), build.py (the
Message: encoding, splitting, dlr settings), authorize.py (authorizations and value
filters), auth.py (login with a verification cache), resources.py (the pages), lean.py
(twisted.web's channel, request and site minus per-request work the pages do not need).
The daemon listens with `http_api_site(...)`; every submission goes through the one MT
pipeline the SMPP server uses.
"""
from __future__ import annotations

from smscd.config import HttpApiConfig
from smscd.mt_pipeline import MtPipeline
from smscd.smpp.split import SplitMethod
from smscd.smpp_auth import Verifier, verify_in_thread
from smscd.stats import Stats
from smscd.stores.interfaces import Users

from .auth import Clock, HttpAuthenticator, PasswordCache
from .build import BuildSettings, Builder
from .lean import ApiSite
from .resources import Accounts, HttpApi, site_for

__all__ = ["http_api_site", "http_authenticator"]


def http_authenticator(users: Users, clock: Clock, config: HttpApiConfig,
                       verify: Verifier = verify_in_thread,
                       user_ttl: float = 1.0) -> HttpAuthenticator:
    """The login checker (caches and lockout) of the HTTP listener: one per listener, so
    that the Jasmin pages and the REST API share it."""
    return HttpAuthenticator(users, clock, verify, PasswordCache(config.auth_cache_size),
                             user_ttl)


def http_api_site(pipeline: MtPipeline, users: Users, billing: Accounts, clock: Clock,
                  config: HttpApiConfig, *, max_parts: int = 255,
                  verify: Verifier = verify_in_thread, user_ttl: float = 1.0,
                  stats: Stats | None = None, listen_max_body: int = 0,
                  auth: HttpAuthenticator | None = None) -> ApiSite:
    """The site to listen with (TCP4ServerEndpoint(reactor, config.port, interface=...));
    `stats` counts for jCli `stats` (its own when not given). The pages refuse bodies over
    config.max_body_size; the listener reads up to `listen_max_body` when that is larger
    (the REST API mounted on it keeps its own limit). `auth`: the listener's authenticator
    (http_authenticator), to share it with the REST API."""
    split = SplitMethod.SAR if config.long_content_split == "sar" else SplitMethod.UDH8
    api = HttpApi(pipeline=pipeline,
                  auth=auth or http_authenticator(users, clock, config, verify, user_ttl),
                  billing=billing, builder=Builder(BuildSettings(split, max_parts)),
                  clock=clock, stats=stats or Stats(clock.seconds()),
                  max_body=config.max_body_size)
    return site_for(api, max(config.max_body_size, listen_max_body))
