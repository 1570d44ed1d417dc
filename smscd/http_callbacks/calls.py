# tests: tests/unit/test_http_callback_calls.py
"""One outbound HTTP callback as data: where, how, what; and the acknowledgement contract.

Rules:
- A Call is stored in the durable callback queue as versioned JSON (never pickle);
  `load_call` validates types and refuses unknown versions, evaluating nothing.
- Parameters are ordered (name, value) text pairs: the query string of a GET, the
  application/x-www-form-urlencoded body of a POST. Octets that are not UTF-8 ride in
  the text as surrogateescape characters and go out as the same octets.
- The receiver has taken a callback only when it answers 2xx with a body that starts,
  after white space, with `ACK/Jasmin` (Jasmin's contract); anything else is a failure.
- Credentials never go in a stored Call (MO calls with basic auth are not queued).
Pure: no Twisted.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from smscd.message import UnsupportedFormat, load_versioned

FORMAT_VERSION = 1
ACK = b"ACK/Jasmin"


@dataclass(frozen=True, slots=True)
class Call:
    url: str
    method: str                            # "GET" or "POST"
    params: tuple[tuple[str, str], ...]
    ref: str = ""                          # what it is about, for logs and operators

    def encoded(self) -> str:
        # surrogateescape: MO content that is not UTF-8 is carried as its own octets
        return urlencode(self.params, encoding="utf-8", errors="surrogateescape")

    def target(self) -> str:
        """The URL to request: with the parameters for a GET."""
        if self.method != "GET":
            return self.url
        return self.url + ("&" if "?" in self.url else "?") + self.encoded()

    def body(self) -> bytes | None:
        return self.encoded().encode("ascii") if self.method == "POST" else None


def is_ack(code: int, body: bytes) -> bool:
    return 200 <= code < 300 and body.lstrip().startswith(ACK)


def dump_call(call: Call) -> bytes:
    d = {"v": FORMAT_VERSION, "url": call.url, "method": call.method,
         "params": [list(p) for p in call.params], "ref": call.ref}
    return json.dumps(d, separators=(",", ":")).encode()


def load_call(data: bytes) -> Call:
    d = load_versioned(data, FORMAT_VERSION, "callback")
    url, method, params, ref = d.get("url"), d.get("method"), d.get("params"), d.get("ref")
    if not (isinstance(url, str) and method in ("GET", "POST") and isinstance(ref, str)
            and isinstance(params, list)
            and all(isinstance(p, list) and len(p) == 2
                    and all(isinstance(x, str) for x in p) for p in params)):
        raise UnsupportedFormat("malformed callback")
    return Call(url, method, tuple((k, v) for k, v in params), ref)
