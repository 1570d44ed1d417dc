# tests: tests/unit/test_http_params.py
"""Request arguments of Jasmin's HTTP API, checked the way Jasmin checks them.

Jasmin clients read our error bodies, so the order and the words are Jasmin's
(../shared/reference/jasmin.md §4.2-§4.4; `UrlArgsValidator` in jasmin/protocols/http):
- Defaults are filled in BEFORE validation and then count as given: /send gets
  `coding=0`, `dlr=no` (`yes` when `dlr-url` or `dlr-level` is present) and with `dlr=yes`
  `dlr-level=1` and `dlr-method=POST`; /rate gets `coding=0` and, without any content,
  `content=""`. So a request with no arguments at all answers "Mandatory argument [to]
  is not found." on /send and /rate, and only /balance can say "Mandatory arguments not
  found, ...".
- Then, for each argument in the order the request gave them: an unknown name is an error
  at once; a known one triggers a pass over every field in the endpoint's declared
  order, where the first invalid value or missing mandatory field is the error.
- `content` vs `hex-content` is checked after that pass.
Arguments are text: names and values decoded as UTF-8 with surrogateescape, so octets that
are not UTF-8 survive to the message builder (see build.py) and are echoed back as given.
Pure: no Twisted.
"""
from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from typing import Mapping


class HttpError(Exception):
    """A request refused with `status` and Jasmin's `text` (written as `Error "text"` on
    /send, as a JSON string on /rate and /balance)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def bad_request(text: str) -> HttpError:
    return HttpError(400, text)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    optional: bool
    pattern: re.Pattern[str] | None = None


def _f(name: str, optional: bool, pattern: str | None = None, flags: int = 0) -> Field:
    return Field(name, optional, re.compile(pattern, flags | re.ASCII) if pattern else None)


# Jasmin's patterns are matched with re.match on bytes: anchored at the start, `$` also
# before a trailing newline, and `\d` only ASCII digits (re.ASCII here, since we match
# text). The same semantics are kept on purpose.
_TO = _f("to", False, r"^\+{0,1}\d+$")
_FROM = _f("from", True)
_CODING = _f("coding", True, r"^(0|1|2|3|4|5|6|7|8|9|10|13|14){1}$")
_USERNAME = _f("username", False, r"^.{1,16}$")
_PASSWORD = _f("password", False, r"^.{1,16}$")
_PRIORITY = _f("priority", True, r"^[0-3]$")
_VALIDITY = _f("validity-period", True, r"^\d+$")
_TAGS = _f("tags", True, r"^([-a-zA-Z0-9,])*$")
_CONTENT = _f("content", True)
_HEX = _f("hex-content", True)

SEND_FIELDS = (
    _TO, _FROM, _CODING, _USERNAME, _PASSWORD, _PRIORITY,
    _f("sdt", True, r"^\d{2}\d{2}\d{2}\d{2}\d{2}\d{2}\d{1}\d{2}(\+|-|R)$"),
    _VALIDITY,
    _f("dlr", False, r"^(yes|no)$"),
    _f("dlr-url", True, r"^(http|https)\://.*$"),
    _f("dlr-level", True, r"^[1-3]$"),
    _f("dlr-method", True, r"^(get|post)$", re.IGNORECASE),
    _TAGS, _CONTENT, _HEX,
)
RATE_FIELDS = (_TO, _FROM, _CODING, _USERNAME, _PASSWORD, _PRIORITY, _VALIDITY, _TAGS,
               _CONTENT, _HEX)
BALANCE_FIELDS = (_USERNAME, _PASSWORD)

Args = dict[str, str]


def validate(args: Mapping[str, str], fields: tuple[Field, ...]) -> None:
    """Jasmin's UrlArgsValidator: raises HttpError 400 naming the first problem."""
    if not args:
        raise bad_request("Mandatory arguments not found, please refer to the HTTPAPI "
                          "specifications.")
    known = {f.name for f in fields}
    checked = False
    for name in args:
        if name not in known:
            raise bad_request(f"Argument [{name}] is unknown.")
        if checked:
            continue          # Jasmin repeats the same pass for every argument: same result
        checked = True
        for field in fields:
            value = args.get(field.name)
            if value is None:
                if not field.optional:
                    raise bad_request(f"Mandatory argument [{field.name}] is not found.")
            elif field.pattern is not None and field.pattern.match(value) is None:
                raise bad_request(f"Argument [{field.name}] has an invalid value: [{value}].")


def send_args(given: Mapping[str, str]) -> Args:
    """/send: the arguments with Jasmin's defaults, validated (HttpError 400)."""
    args = dict(given)
    args.setdefault("coding", "0")
    if "dlr-url" in args or "dlr-level" in args:
        args["dlr"] = "yes"
    args.setdefault("dlr", "no")
    if args["dlr"] == "yes":
        args.setdefault("dlr-level", "1")
        args.setdefault("dlr-method", "POST")
    if "dlr-method" in args:
        args["dlr-method"] = args["dlr-method"].upper()
    validate(args, SEND_FIELDS)
    _one_content(args, required=True)
    return args


def rate_args(given: Mapping[str, str]) -> Args:
    """/rate: the arguments with Jasmin's defaults, validated (HttpError 400)."""
    args = dict(given)
    args.setdefault("coding", "0")
    if "hex-content" not in args and "content" not in args:
        args["content"] = ""
    validate(args, RATE_FIELDS)
    _one_content(args, required=False)
    return args


def balance_args(given: Mapping[str, str]) -> Args:
    args = dict(given)
    validate(args, BALANCE_FIELDS)
    return args


def _one_content(args: Args, required: bool) -> None:
    has_text, has_hex = "content" in args, "hex-content" in args
    if required and not has_text and not has_hex:
        raise bad_request("content or hex-content not present.")
    if has_text and has_hex:
        raise bad_request("content and hex-content cannot be used both in same request.")


def hex_octets(args: Mapping[str, str]) -> bytes | None:
    """The octets of `hex-content`, None without it; HttpError 400 when it is not hex."""
    value = args.get("hex-content")
    if value is None:
        return None
    try:
        return binascii.unhexlify(value)
    except ValueError:
        raise bad_request(f"Invalid hex-content data: '{value}'") from None
