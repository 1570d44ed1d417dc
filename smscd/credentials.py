# tests: tests/unit/test_credentials.py
"""Jasmin's user credentials: what a user may send, and from where it may bind.

Jasmin's model and names (../shared/reference/jasmin.md §6.2, §6.3), so an operator moves
over with the same jCli keys: `mt_messaging_cred <section> <key> <value>` and
`smpps_cred <section> <key> <value>`.

Rules:
- Pure: no Twisted, no store. Credentials are frozen; `set_mt` / `set_smpps` return a new
  one. Every error is a CredentialError naming section, key and the bad value.
- Values come typed as jCli types them: booleans true/1/t/y/yes and false/0/f/n/no; quotas
  `none` (unlimited), an absolute number, or (updates only) a signed delta `+10` / `-2.5`
  applied to the current value; an int quota refuses a float. Regexes compile once, here.
- The quotas `balance` and `sms_count` are not kept here: billing changes them atomically
  with its holds. `parse_quota` parses their jCli values for whoever hands them to billing.
- Checks follow Jasmin's order (§3.3): authorizations, then value filters, then the default
  source address. A value filter equal to its default passes without running the regex.
  A value filter runs against the value as sent: an empty source_addr meets the src_addr
  filter before the default source is put in (as Jasmin).
- A refusal carries the SMPP status and the HTTP status/text (§4.3) so that no ingress
  re-decides an error.
- Mappings (`*_to_mapping` / `*_from_mapping`) are versioned and JSON-safe, for the store
  and for profiles; a missing key has its default, an unknown one is an error.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, Union

from smscd.message import Address, Message
from smscd.smpp.status import CommandStatus as S

FORMAT_VERSION = 1
TRUE_WORDS = frozenset({"true", "1", "t", "y", "yes"})
FALSE_WORDS = frozenset({"false", "0", "f", "n", "no"})
MT_SECTIONS = ("authorization", "valuefilter", "defaultvalue", "quota")
SMPPS_SECTIONS = ("authorization", "quota")
SECTION_TITLES = {"authorization": "Authorization", "valuefilter": "ValueFilter",
                  "defaultvalue": "DefaultValue", "quota": "Quota"}
BILLING_QUOTAS = ("balance", "sms_count")     # kept by billing, see parse_quota
IpNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Number = Union[Decimal, int, float]


class CredentialError(ValueError):
    def __init__(self, where: str, value: object, reason: str) -> None:
        super().__init__(f"{where}: {reason} (got {value!r})")
        self.where = where
        self.value = value
        self.reason = reason


# --- the credentials ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MtAuthorizations:
    http_send: bool = True
    http_balance: bool = True
    http_rate: bool = True
    http_bulk: bool = False
    smpps_send: bool = True
    http_long_content: bool = True
    dlr_level: bool = True
    http_dlr_method: bool = True
    src_addr: bool = True
    priority: bool = True
    validity_period: bool = True
    schedule_delivery_time: bool = True
    hex_content: bool = True


@dataclass(frozen=True, slots=True)
class ValueFilter:
    """A regex applied with re.match; the default pattern of its key passes everything."""
    pattern: str
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, value: str) -> bool:
        return self.regex is None or self.regex.match(value) is not None


FILTER_DEFAULTS = {"dst_addr": ".*", "src_addr": ".*", "priority": "^[0-3]$",
                   "validity_period": r"^\d+$", "content": ".*"}


def _default_filter(key: str) -> ValueFilter:
    return ValueFilter(FILTER_DEFAULTS[key])


@dataclass(frozen=True, slots=True)
class MtValueFilters:
    dst_addr: ValueFilter = field(default_factory=lambda: _default_filter("dst_addr"))
    src_addr: ValueFilter = field(default_factory=lambda: _default_filter("src_addr"))
    priority: ValueFilter = field(default_factory=lambda: _default_filter("priority"))
    validity_period: ValueFilter = field(
        default_factory=lambda: _default_filter("validity_period"))
    content: ValueFilter = field(default_factory=lambda: _default_filter("content"))


@dataclass(frozen=True, slots=True)
class MtDefaults:
    src_addr: str | None = None


@dataclass(frozen=True, slots=True)
class MtQuotas:
    """None = unlimited. Throughputs in messages/s (0 is unlimited too, as Jasmin)."""
    early_percent: Decimal | None = None
    http_throughput: float | None = None
    smpps_throughput: float | None = None


@dataclass(frozen=True, slots=True)
class MtCredential:
    authorization: MtAuthorizations = MtAuthorizations()
    valuefilter: MtValueFilters = MtValueFilters()
    defaultvalue: MtDefaults = MtDefaults()
    quota: MtQuotas = MtQuotas()


ANY_V4, ANY_V6 = ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")


@dataclass(frozen=True, slots=True)
class SmppsAuthorizations:
    bind: bool = True
    ip: tuple[IpNetwork, ...] = (ANY_V4, ANY_V6)


@dataclass(frozen=True, slots=True)
class SmppsQuotas:
    max_bindings: int | None = None        # binds of all types together; None = unlimited


@dataclass(frozen=True, slots=True)
class SmppsCredential:
    authorization: SmppsAuthorizations = SmppsAuthorizations()
    quota: SmppsQuotas = SmppsQuotas()


# --- jCli-typed values ----------------------------------------------------------------------

def parse_bool(where: str, text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CredentialError(where, text, "not a boolean: use true/1/t/y/yes or false/0/f/n/no")


def compile_filter(where: str, key: str, pattern: str) -> ValueFilter:
    if pattern == FILTER_DEFAULTS[key]:
        return ValueFilter(pattern)
    try:
        return ValueFilter(pattern, re.compile(pattern))
    except re.error as e:
        raise CredentialError(where, pattern, f"not a regex pattern: {e}") from None


@dataclass(frozen=True, slots=True)
class QuotaChange:
    """A parsed jCli quota value: `value` None is unlimited; `delta` adds to the current."""
    key: str
    value: Number | None
    delta: bool = False

    def apply(self, where: str, current: Number | None) -> Number | None:
        if not self.delta:
            return self.value
        if current is None:
            raise CredentialError(where, self.value,
                                  "cannot update a None (unlimited) quota by a delta")
        assert self.value is not None
        total: Number = current + self.value  # type: ignore[operator]
        _check_quota(where, self.key, total)
        return total


_INT_QUOTAS = frozenset({"sms_count", "max_bindings"})
_DECIMAL_QUOTAS = frozenset({"balance", "early_percent"})
_FLOAT_QUOTAS = frozenset({"http_throughput", "smpps_throughput"})
_INT_TEXT = re.compile(r"^[+-]?\d+$")
_NUMBER_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def parse_quota(where: str, key: str, text: str, *, update: bool = False) -> QuotaChange:
    """jCli's quota value for `key`: `none`, an absolute number, or with `update` a signed
    delta. Integer quotas (sms_count, max_bindings) refuse a float, delta or not."""
    raw = text.strip()
    if raw.lower() == "none":
        return QuotaChange(key, None)
    signed = raw[:1] in ("+", "-")
    if signed and not update:
        if raw[0] == "-":
            raise CredentialError(where, text, "a quota cannot be negative")
        raw = raw[1:]
        signed = False
    if key in _INT_QUOTAS:
        if not _INT_TEXT.match(raw):
            raise CredentialError(where, text, "not an integer (or none)")
        value: Number = int(raw)
    elif _NUMBER_TEXT.match(raw):
        value = Decimal(raw) if key in _DECIMAL_QUOTAS else float(raw)
    else:
        raise CredentialError(where, text, "not a number (or none)")
    if not signed:
        _check_quota(where, key, value)
    return QuotaChange(key, value, signed)


def _check_quota(where: str, key: str, value: Number) -> None:
    if key == "early_percent" and not 1 <= value <= 100:
        raise CredentialError(where, value, "must be None or a number in 1..100")
    if value < 0:
        kind = "a positive int" if key in _INT_QUOTAS else "a positive number"
        raise CredentialError(where, value, f"must be None or {kind}")


def parse_networks(where: str, text: str) -> tuple[IpNetwork, ...]:
    """A comma list of IPv4/IPv6 addresses or CIDR networks; empty is refused."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise CredentialError(where, text, "give at least one IP address or network")
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in items)
    except ValueError as e:
        raise CredentialError(where, text, f"not an IP address or network: {e}") from None


# --- jCli keys: set one value ------------------------------------------------------------

def _section_key(cred_name: str, sections: tuple[str, ...], section: str, key: str,
                 holder: Any) -> tuple[str, str, str]:
    sec = section.strip().lower()
    if sec not in sections:
        raise CredentialError(f"{cred_name} {section}", section,
                              "invalid section name, possible values: "
                              + ", ".join(SECTION_TITLES[s] for s in sections))
    names = [f.name for f in fields(getattr(holder, sec))]
    if sec == "quota" and cred_name == "mt_messaging_cred":
        names = ["balance", names[0], "sms_count", *names[1:]]
    k = key.strip().lower()
    if k not in names:
        raise CredentialError(f"{cred_name} {sec} {key}", key,
                              "invalid key, possible keys: " + ", ".join(names))
    return sec, k, f"{cred_name} {sec} {k}"


def set_mt(cred: MtCredential, section: str, key: str, value: str, *,
           update: bool = False) -> MtCredential:
    """`mt_messaging_cred <section> <key> <value>` applied to `cred` (section and key are
    case-insensitive). `update` allows quota deltas. balance and sms_count raise: billing
    keeps them (check `key in BILLING_QUOTAS` and use parse_quota)."""
    sec, k, where = _section_key("mt_messaging_cred", MT_SECTIONS, section, key, cred)
    if sec == "authorization":
        return replace(cred, authorization=replace(cred.authorization,
                                                   **{k: parse_bool(where, value)}))
    if sec == "valuefilter":
        return replace(cred, valuefilter=replace(cred.valuefilter,
                                                 **{k: compile_filter(where, k, value)}))
    if sec == "defaultvalue":
        text = value.strip()
        if text.lower() == "none":
            return replace(cred, defaultvalue=MtDefaults(None))
        if not 1 <= len(text) <= 20:
            raise CredentialError(where, value, "1 to 20 characters (SMPP source_addr)")
        return replace(cred, defaultvalue=MtDefaults(text))
    if k in BILLING_QUOTAS:
        raise CredentialError(where, value, "kept by the billing account, not the credential")
    change = parse_quota(where, k, value, update=update)
    new: Any = change.apply(where, getattr(cred.quota, k))
    if new is not None and k in _FLOAT_QUOTAS:
        new = float(new)
    return replace(cred, quota=replace(cred.quota, **{k: new}))


def set_smpps(cred: SmppsCredential, section: str, key: str, value: str, *,
              update: bool = False) -> SmppsCredential:
    """`smpps_cred <section> <key> <value>` applied to `cred`."""
    sec, k, where = _section_key("smpps_cred", SMPPS_SECTIONS, section, key, cred)
    if sec == "authorization":
        new: Any = parse_bool(where, value) if k == "bind" else parse_networks(where, value)
        return replace(cred, authorization=replace(cred.authorization, **{k: new}))
    change = parse_quota(where, k, value, update=update)
    return replace(cred, quota=SmppsQuotas(change.apply(where, cred.quota.max_bindings)))  # type: ignore[arg-type]


def _show(value: object) -> str:
    if value is None:
        return "ND"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value.pattern if isinstance(value, ValueFilter) else value)


def mt_items(cred: MtCredential) -> list[tuple[str, str, str]]:
    """(section, key, shown value) in `user -s` order, without the billing quotas."""
    out = [(sec, f.name, _show(getattr(getattr(cred, sec), f.name)))
           for sec in MT_SECTIONS for f in fields(getattr(cred, sec))]
    return [(s, k, "None" if s == "defaultvalue" and v == "ND" else v) for s, k, v in out]


def smpps_items(cred: SmppsCredential) -> list[tuple[str, str, str]]:
    """(section, key, shown value) in `user -s` order."""
    return [(sec, f.name, _show(getattr(getattr(cred, sec), f.name)))
            for sec in SMPPS_SECTIONS for f in fields(getattr(cred, sec))]


# --- mappings for the store and profiles -----------------------------------------------------

def mt_credential_to_mapping(cred: MtCredential) -> dict[str, Any]:
    q = cred.quota
    return {"v": FORMAT_VERSION,
            "authorization": {f.name: getattr(cred.authorization, f.name)
                              for f in fields(MtAuthorizations)},
            "valuefilter": {f.name: getattr(cred.valuefilter, f.name).pattern
                            for f in fields(MtValueFilters)},
            "defaultvalue": {"src_addr": cred.defaultvalue.src_addr},
            "quota": {"early_percent": None if q.early_percent is None else str(q.early_percent),
                      "http_throughput": q.http_throughput,
                      "smpps_throughput": q.smpps_throughput}}


def smpps_credential_to_mapping(cred: SmppsCredential) -> dict[str, Any]:
    return {"v": FORMAT_VERSION,
            "authorization": {"bind": cred.authorization.bind,
                              "ip": [str(n) for n in cred.authorization.ip]},
            "quota": {"max_bindings": cred.quota.max_bindings}}


def _sections(raw: Any, where: str, sections: tuple[str, ...]) -> dict[str, Mapping[str, Any]]:
    if not isinstance(raw, Mapping):
        raise CredentialError(where, raw, "expected a mapping")
    if raw.get("v", FORMAT_VERSION) != FORMAT_VERSION:
        raise CredentialError(f"{where}.v", raw.get("v"),
                              f"unsupported credential format (this smscd reads {FORMAT_VERSION})")
    out: dict[str, Mapping[str, Any]] = {}
    for name, body in raw.items():
        if name == "v":
            continue
        if str(name).lower() not in sections:
            raise CredentialError(f"{where}.{name}", name,
                                  "unknown section, expected one of " + ", ".join(sections))
        if not isinstance(body, Mapping):
            raise CredentialError(f"{where}.{name}", body, "expected a mapping")
        out[str(name).lower()] = body
    return out


def _text(value: Any) -> str:
    """A mapping value as the jCli text it stands for."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def mt_credential_from_mapping(raw: Any, where: str = "mt_messaging_cred") -> MtCredential:
    """From `mt_credential_to_mapping` output or a profile's hand-written subset (booleans,
    numbers or jCli words). Raises CredentialError naming the path."""
    cred = MtCredential()
    for sec, body in _sections(raw, where, MT_SECTIONS).items():
        for key, value in body.items():
            if isinstance(value, (dict, list)) or (sec == "authorization"
                                                   and not isinstance(value, (bool, str, int))):
                raise CredentialError(f"{where}.{sec}.{key}", value, "expected a scalar")
            if sec == "valuefilter" and not isinstance(value, str):
                raise CredentialError(f"{where}.{sec}.{key}", value, "expected a regex string")
            try:
                cred = set_mt(cred, sec, str(key), _text(value))
            except CredentialError as e:
                raise CredentialError(f"{where}.{sec}.{key}", value, e.reason) from None
    return cred


def smpps_credential_from_mapping(raw: Any, where: str = "smpps_cred") -> SmppsCredential:
    cred = SmppsCredential()
    for sec, body in _sections(raw, where, SMPPS_SECTIONS).items():
        for key, value in body.items():
            if isinstance(value, dict) or (isinstance(value, list) and key != "ip"):
                raise CredentialError(f"{where}.{sec}.{key}", value, "expected a scalar")
            try:
                cred = set_smpps(cred, sec, str(key), _text(value))
            except CredentialError as e:
                raise CredentialError(f"{where}.{sec}.{key}", value, e.reason) from None
    return cred


# --- checks ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CredentialRefusal:
    """Why a message is refused: its SMPP status, its HTTP status, Jasmin's words."""
    smpp_status: int
    http_status: int
    kind: str               # "authorization" or "valuefilter"
    field: str              # the jCli key: "smpps_send", "dst_addr", ...
    reason: str             # Jasmin's words inside the parentheses

    def http_text(self, username: str) -> str:
        """The /send error text (§4.3), without the `Error "..."` wrapping."""
        if self.kind == "authorization":
            return f"Authorization failed for user [{username}] ({self.reason})."
        return f"Value filter failed for user [{username}] ({self.reason})."


AUTHORIZATION_REASONS = {
    "http_send": "Cannot send MT messages", "smpps_send": "Cannot send MT messages",
    "http_balance": "Cannot check balance", "http_rate": "Cannot check rate",
    "http_bulk": "Cannot send bulk messages",
    "http_long_content": "Long content not authorized",
    "dlr_level": "Setting dlr level not authorized",
    "http_dlr_method": "Setting dlr method not authorized",
    "src_addr": "Setting source address not authorized",
    "priority": "Setting priority not authorized",
    "validity_period": "Setting validity period not authorized",
    "schedule_delivery_time": "Setting schedule delivery time not authorized",
    "hex_content": "Setting hex content not authorized"}
_FILTER_NAMES = {"dst_addr": "destination_address", "src_addr": "source_address",
                 "priority": "priority", "validity_period": "validity_period",
                 "content": "content"}
_FILTER_STATUS = {"dst_addr": S.ESME_RINVDSTADR, "src_addr": S.ESME_RINVSRCADR,
                  "priority": S.ESME_RINVPRTFLG}
AUTHORIZATION_REFUSALS = {k: CredentialRefusal(S.ESME_RINVSYSID, 400, "authorization", k, r)
                          for k, r in AUTHORIZATION_REASONS.items()}
FILTER_REFUSALS = {k: CredentialRefusal(_FILTER_STATUS.get(k, S.ESME_RSYSERR), 400,
                                        "valuefilter", k, f"{name} filter mismatch")
                   for k, name in _FILTER_NAMES.items()}


def authorized(cred: MtCredential, key: str) -> bool:
    """The MT authorization `key` (jCli name); KeyError for an unknown key."""
    if key not in AUTHORIZATION_REASONS:
        raise KeyError(key)
    return bool(getattr(cred.authorization, key))


def value_ok(cred: MtCredential, key: str, value: str) -> bool:
    """The value filter `key` (jCli name) passes `value`; KeyError for an unknown key."""
    if key not in _FILTER_NAMES:
        raise KeyError(key)
    return bool(getattr(cred.valuefilter, key).matches(value))


def message_content(message: Message) -> str:
    """The first part's text (short_message, else message_payload) as the content filter
    sees it: UTF-8 with undecodable octets replaced, as Jasmin."""
    if not message.parts:
        return ""
    part = message.parts[0]
    data = part.short_message
    if not data:
        data = next((t.value for t in part.tlvs if t.name == "message_payload"
                     and isinstance(t.value, bytes)), b"")
    return data.decode("utf-8", "replace")


def check_smpp_submit(cred: MtCredential, message: Message) -> CredentialRefusal | Message:
    """A submit_sm / data_sm against the user's MT credential (§3.3 order); the message
    to go on with (the default source address put in when it had none) or the refusal."""
    auth, filters = cred.authorization, cred.valuefilter
    if not auth.smpps_send:
        return AUTHORIZATION_REFUSALS["smpps_send"]
    if message.registered_delivery and not auth.dlr_level:
        return AUTHORIZATION_REFUSALS["dlr_level"]
    source = message.source.addr
    if source and not auth.src_addr:
        return AUTHORIZATION_REFUSALS["src_addr"]
    if message.priority and not auth.priority:
        return AUTHORIZATION_REFUSALS["priority"]
    if not filters.dst_addr.matches(message.destination.addr):
        return FILTER_REFUSALS["dst_addr"]
    if not filters.src_addr.matches(source):
        return FILTER_REFUSALS["src_addr"]
    if not filters.priority.matches(str(message.priority)):
        return FILTER_REFUSALS["priority"]
    if filters.content.regex is not None and not filters.content.matches(
            message_content(message)):
        return FILTER_REFUSALS["content"]
    default = cred.defaultvalue.src_addr
    if not source and default is not None:
        old = message.source
        return replace(message, source=Address(default, old.ton, old.npi))
    return message


def bind_allowed_from(cred: SmppsCredential, host: str) -> bool:
    """The peer `host` (as the transport gives it) is in the allowed networks. An address
    we cannot parse is refused unless every address is allowed."""
    networks = cred.authorization.ip
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return ANY_V4 in networks and ANY_V6 in networks
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in n for n in networks)
