# tests: tests/unit/test_service_http_connectors.py
"""HTTP callback connectors for MO (Jasmin's httpccm): the settings and their validation.

The MO router names one of these as a target; the HTTP helper's sender does the calls.
Rules:
- `id` follows Jasmin's HttpConnector cid syntax; `url` is absolute http(s) with a host;
  `method` is GET or POST (Jasmin's words: upper-case, but "get" is accepted and stored
  upper-case).
- Basic auth is optional and complete: `username` and `password` together or neither.
- `headers` are extra request headers; names are HTTP tokens, values carry no CR/LF
  (header injection), and the basic-auth header cannot be set this way.
- Every problem is `path.key: reason`, all of them at once (HttpConnectorError.problems).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlsplit

_ID = re.compile(r"^[A-Za-z0-9_-]{3,25}$")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")     # RFC 9110 §5.6.2
_KEYS = {"id", "url", "method", "username", "password", "headers", "connect_timeout",
         "timeout"}


class HttpConnectorError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid HTTP connector:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class HttpConnectorConfig:
    id: str
    url: str
    method: str = "GET"
    username: str | None = None
    password: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    connect_timeout: float = 10.0
    timeout: float = 30.0

    def __repr__(self) -> str:           # the password never reaches a log line
        return (f"HttpConnectorConfig(id={self.id!r}, url={self.url!r}, "
                f"method={self.method!r}, username={self.username!r})")


def http_connector_from_mapping(raw: Any, path: str = "http_connectors[0]") -> \
        HttpConnectorConfig:
    """Read one HTTP connector; HttpConnectorError lists every problem with its path."""
    if not isinstance(raw, Mapping):
        raise HttpConnectorError([f"{path}: expected a mapping"])
    p = [f"{path}.{k}: unknown key" for k in sorted(map(str, raw.keys() - _KEYS))]
    cid = raw.get("id")
    if not isinstance(cid, str) or not _ID.match(cid):
        p.append(f"{path}.id: 3..25 characters among A-Z a-z 0-9 _ -")
    url = raw.get("url")
    if not _valid_url(url):
        p.append(f"{path}.url: an absolute http:// or https:// URL with a host, got {url!r}")
    method = raw.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in ("GET", "POST"):
        p.append(f"{path}.method: must be GET or POST, got {method!r}")
        method = "GET"
    username, password = raw.get("username"), raw.get("password")
    for key, value in (("username", username), ("password", password)):
        if value is not None and (not isinstance(value, str) or not value
                                  or "\r" in value or "\n" in value):
            p.append(f"{path}.{key}: a non-empty string on one line")
    if (username is None) != (password is None):
        p.append(f"{path}.password: basic auth needs both username and password")
    headers = _headers(raw.get("headers", {}), f"{path}.headers", p)
    timeouts = {k: _timeout(raw.get(k, default), f"{path}.{k}", p)
                for k, default in (("connect_timeout", 10.0), ("timeout", 30.0))}
    if p:
        raise HttpConnectorError(p)
    return HttpConnectorConfig(str(cid), str(url), method.upper(), username, password,
                               headers, **timeouts)


def http_connector_to_mapping(c: HttpConnectorConfig) -> dict[str, Any]:
    """The mapping `http_connector_from_mapping` reads back to an equal config."""
    out: dict[str, Any] = {"id": c.id, "url": c.url, "method": c.method}
    if c.username is not None:
        out["username"], out["password"] = c.username, c.password
    if c.headers:
        out["headers"] = dict(c.headers)
    out["connect_timeout"], out["timeout"] = c.connect_timeout, c.timeout
    return out


def _valid_url(url: Any) -> bool:
    if not isinstance(url, str) or any(ch.isspace() for ch in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port                          # raises on a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _headers(raw: Any, where: str, p: list[str]) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, Mapping):
        p.append(f"{where}: expected a mapping of header name to value")
        return ()
    out: list[tuple[str, str]] = []
    for name, value in raw.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            p.append(f"{where}.{name}: not a valid header name")
        elif name.lower() == "authorization":
            p.append(f"{where}.{name}: set username and password for basic auth instead")
        elif not isinstance(value, str) or "\r" in value or "\n" in value:
            p.append(f"{where}.{name}: a string on one line")
        else:
            out.append((name, value))
    return tuple(out)


def _timeout(v: Any, where: str, p: list[str]) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 3600:
        p.append(f"{where}: seconds, a number > 0 and <= 3600, got {v!r}")
        return 1.0
    return float(v)
