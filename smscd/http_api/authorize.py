# tests: tests/unit/test_http_authorize.py
"""What a user's MT credential allows on the HTTP API, in Jasmin's order and words.

Rules (../shared/reference/jasmin.md §4.3, §6.2; `HttpAPICredentialValidator`):
- /send: authorizations first (http_send, http_long_content when the message has more
  than one part, then dlr_level, http_dlr_method, src_addr, priority, validity_period,
  hex_content, schedule_delivery_time, each when its argument is present; defaults
  count as present, so dlr=yes needs dlr_level and http_dlr_method), then value filters
  (dst_addr always; src_addr, priority, validity_period, content when present).
- /rate needs http_rate, /balance http_balance; neither applies value filters.
- Every refusal is HTTP 400 (Jasmin's code, though its documentation says 403).
Keys are jCli's names; the words are smscd.credentials' (one table for SMPP and HTTP).
Pure: no Twisted.
"""
from __future__ import annotations

from typing import Mapping

from smscd.credentials import (AUTHORIZATION_REFUSALS, FILTER_REFUSALS, MtCredential,
                               authorized, value_ok)

from .params import HttpError, bad_request

# (argument, authorization key), in Jasmin's order
_SEND_AUTHORIZATIONS = (("dlr-level", "dlr_level"), ("dlr-method", "http_dlr_method"),
                        ("from", "src_addr"), ("priority", "priority"),
                        ("validity-period", "validity_period"), ("hex-content", "hex_content"),
                        ("sdt", "schedule_delivery_time"))
# (argument, value filter key), in Jasmin's order, after dst_addr
_SEND_FILTERS = (("from", "src_addr"), ("priority", "priority"),
                 ("validity-period", "validity_period"), ("content", "content"))


def _refused(key: str, username: str, filters: bool = False) -> HttpError:
    refusal = (FILTER_REFUSALS if filters else AUTHORIZATION_REFUSALS)[key]
    return bad_request(refusal.http_text(username))


def check_send(cred: MtCredential, username: str, args: Mapping[str, str],
               parts: int) -> None:
    """Raises HttpError 400 at the first authorization or value filter that refuses."""
    if not authorized(cred, "http_send"):
        raise _refused("http_send", username)
    if parts > 1 and not authorized(cred, "http_long_content"):
        raise _refused("http_long_content", username)
    for arg, key in _SEND_AUTHORIZATIONS:
        if arg in args and not authorized(cred, key):
            raise _refused(key, username)
    if not value_ok(cred, "dst_addr", args["to"]):
        raise _refused("dst_addr", username, filters=True)
    for arg, key in _SEND_FILTERS:
        value = args.get(arg)
        if value is not None and not value_ok(cred, key, value):
            raise _refused(key, username, filters=True)


def check_rate(cred: MtCredential, username: str) -> None:
    if not authorized(cred, "http_rate"):
        raise _refused("http_rate", username)


def check_balance(cred: MtCredential, username: str) -> None:
    if not authorized(cred, "http_balance"):
        raise _refused("http_balance", username)
