# tests: tests/unit/test_config.py
"""The daemon's settings (conf/smscd.yaml): one typed schema, every problem at once.

Rules:
- Each key is declared once, in SECTIONS/TOP_KEYS below: its type, default, range, a
  one-line description and, where it has one, its environment override. The loader and
  `default_config()` follow that table; a test holds conf/smscd.yaml to it.
- Unknown keys are errors, and nothing is coerced: "2775" is not a port, 1 is not true.
- Every problem names its key path and the reason; all of them are reported together.
- Precedence: environment override, then the file, then the default. Command-line flags
  (`smscd run --data-dir`) are applied by the caller after loading.
- The environment is an argument (`env=`), never read here, so loading is a pure function.
"""
from __future__ import annotations

import ipaddress
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

__all__ = ["BillingConfig", "Config", "ConfigError", "DemoConfig", "HttpApiConfig",
           "HttpCallbacksConfig", "LogConfig", "ProvisioningConfig", "RoutingConfig",
           "ShellConfig", "SmppServerConfig", "StoreConfig", "TextConfig", "default_config",
           "load_config", "load_config_file", "schema_keys"]


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


# --- the result --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SmppServerConfig:
    host: str
    port: int
    max_pdu_size: int
    window: int
    session_init_timeout: float
    enquire_link_interval: float
    inactivity_timeout: float
    response_timeout: float


@dataclass(frozen=True, slots=True)
class TextConfig:
    max_parts: int
    reassembly_max_groups: int
    reassembly_max_bytes: int
    reassembly_timeout: float


@dataclass(frozen=True, slots=True)
class StoreConfig:
    path: Path
    group_commit_max_batch: int
    group_commit_interval_ms: float


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str
    file: Path | None


@dataclass(frozen=True, slots=True)
class DemoConfig:
    simulator: bool


@dataclass(frozen=True, slots=True)
class ProvisioningConfig:
    file: Path | None


@dataclass(frozen=True, slots=True)
class ShellConfig:
    host: str
    port: int
    authentication: bool


@dataclass(frozen=True, slots=True)
class AdminApiConfig:
    host: str
    port: int
    tokens_file: Path


@dataclass(frozen=True, slots=True)
class HttpApiConfig:
    host: str
    port: int
    max_body_size: int
    long_content_split: str
    auth_cache_size: int


@dataclass(frozen=True, slots=True)
class RestApiConfig:
    max_body_size: int
    busy_queue_depth: int


@dataclass(frozen=True, slots=True)
class WebhooksConfig:
    concurrency: int
    retry_delay: float
    retry_max_delay: float
    period: float
    timeout: float
    connect_timeout: float
    max_endpoints: int


@dataclass(frozen=True, slots=True)
class HttpCallbacksConfig:
    timeout: float
    connect_timeout: float
    concurrency: int
    max_attempts: int
    retry_delay: float
    retry_max_delay: float


@dataclass(frozen=True, slots=True)
class BillingConfig:
    currency: str
    smpp: bool
    http: bool


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    fallthrough_after: float


@dataclass(frozen=True, slots=True)
class Config:
    data_dir: Path
    smpp_server: SmppServerConfig
    text: TextConfig
    store: StoreConfig
    log: LogConfig
    demo: DemoConfig
    provisioning: ProvisioningConfig
    shell: ShellConfig
    admin_api: AdminApiConfig
    http_api: HttpApiConfig
    rest_api: RestApiConfig
    http_callbacks: HttpCallbacksConfig
    webhooks: WebhooksConfig
    billing: BillingConfig
    routing: RoutingConfig

    @property
    def store_path(self) -> Path:
        """The SQLite file: store.path under data_dir (an absolute store.path stands alone)."""
        return self.data_dir / self.store.path

    @property
    def admin_tokens_path(self) -> Path:
        """The admin API's token file: admin_api.tokens_file under data_dir."""
        return self.data_dir / self.admin_api.tokens_file


# --- the schema, as data ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Key:
    """One setting. `kind` is int, float, str, bool or Path (a non-empty string).

    `lo`/`hi` are inclusive bounds, `above` an exclusive lower bound; `choices` limits a
    str; `optional` admits null. `no_file_default` is the value used when the daemon runs
    with no configuration file at all (`default_config()`), if it differs from `default`.
    """
    name: str
    kind: type
    default: Any
    help: str
    lo: float | None = None
    hi: float | None = None
    above: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False
    env: str | None = None
    no_file_default: Any = None

    def expected(self) -> str:
        if self.kind is bool:
            text = "true or false"
        elif self.choices:
            text = "one of " + ", ".join(self.choices)
        elif self.kind in (str, Path):
            text = "a non-empty string"
        else:
            noun = "an integer" if self.kind is int else "a number"
            if self.above is not None:
                text = f"{noun} > {self.above:g}"
            elif self.lo is not None and self.hi is not None:
                text = f"{noun} {self.lo:g}..{self.hi:g}"
            elif self.lo is not None:
                text = f"{noun} >= {self.lo:g}"
            else:
                text = noun
        return text + (" or null" if self.optional else "")


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    cls: type
    help: str
    keys: tuple[Key, ...]


TOP_KEYS = (
    Key("data_dir", Path, Path("./var"), "directory for the embedded store and other state",
        env="SMSCD_DATA_DIR"),
)

SECTIONS = (
    Section("smpp_server", SmppServerConfig, "the SMPP listener customers bind to", (
        Key("host", str, "127.0.0.1", "address to listen on (loopback only by default)"),
        Key("port", int, 2775, "TCP port to listen on (0: any free port, printed at start)",
            lo=0, hi=65535),
        Key("max_pdu_size", int, 68000, "largest command_length accepted, in octets", lo=16),
        Key("window", int, 10, "outstanding requests allowed per bind", lo=1),
        Key("session_init_timeout", float, 30.0,
            "seconds a new connection may stay unbound", above=0),
        Key("enquire_link_interval", float, 30.0,
            "seconds of silence before we send enquire_link", above=0),
        Key("inactivity_timeout", float, 300.0,
            "seconds without any PDU before the bind is closed", above=0),
        Key("response_timeout", float, 10.0,
            "seconds to wait for the answer to a request we sent", above=0),
    )),
    Section("text", TextConfig, "long messages: splitting and reassembly limits", (
        Key("max_parts", int, 255, "most parts one message may be split into", lo=1, hi=255),
        Key("reassembly_max_groups", int, 10000,
            "most incomplete inbound multipart messages held at once", lo=1),
        Key("reassembly_max_bytes", int, 16777216,
            "most octets held by incomplete inbound multipart messages", lo=1),
        Key("reassembly_timeout", float, 300.0,
            "seconds before an incomplete multipart message is given up and reported",
            above=0),
    )),
    Section("store", StoreConfig, "the embedded SQLite store (queues, correlation, message log)", (
        Key("path", Path, Path("smscd.sqlite3"), "database file, relative to data_dir"),
        Key("group_commit_max_batch", int, 256, "most messages committed in one transaction",
            lo=1),
        Key("group_commit_interval_ms", float, 2.0,
            "milliseconds to gather a batch before committing it", lo=0, hi=1000),
    )),
    Section("log", LogConfig, "logging", (
        Key("level", str, "info", "least severe level written",
            choices=("debug", "info", "warning", "error")),
        Key("file", Path, None, "log file; null writes to stderr", optional=True),
    )),
    Section("demo", DemoConfig, "the demonstration setup", (
        Key("simulator", bool, False,
            "run the in-process SMSC simulator as a vendor connector (on when there is "
            "no configuration file)", no_file_default=True),
    )),
    Section("provisioning", ProvisioningConfig, "users, vendor connectors and routes", (
        Key("file", Path, None, "provisioning profile (YAML) read at start; null for none",
            optional=True),
    )),
    Section("shell", ShellConfig, "the jCli-compatible admin shell (telnet)", (
        Key("host", str, "127.0.0.1", "address to listen on (a non-loopback address needs "
            "authentication)"),
        Key("port", int, 8990, "TCP port to listen on (0: any free port)", lo=0, hi=65535),
        Key("authentication", bool, True, "ask for an operator login (smscd shell on the "
            "same machine logs in with the daemon's local token)"),
    )),
    Section("admin_api", AdminApiConfig, "the admin REST API /admin/v1 (token-authenticated; "
            "smscd admin-token creates tokens)", (
        Key("host", str, "127.0.0.1", "address to listen on (loopback only by default)"),
        Key("port", int, 8991, "TCP port to listen on (0: any free port)", lo=0, hi=65535),
        Key("tokens_file", Path, Path("admin_tokens.json"), "admin tokens (hashed), relative "
            "to data_dir"),
    )),
    Section("http_api", HttpApiConfig, "the Jasmin-compatible HTTP API (/send, /rate, ...)", (
        Key("host", str, "127.0.0.1", "address to listen on (loopback only by default)"),
        Key("port", int, 1401, "TCP port to listen on (0: any free port)", lo=0, hi=65535),
        Key("max_body_size", int, 65536, "largest request body the Jasmin pages accept, in "
            "octets (413 above); /v1 has its own (rest_api.max_body_size)", lo=1),
        Key("long_content_split", str, "udh", "how long content is split: a concatenation "
            "UDH or SAR TLVs", choices=("udh", "sar")),
        Key("auth_cache_size", int, 10000, "users whose last good password is remembered "
            "(in memory, as a keyed hash) to spare scrypt on each request", lo=1),
    )),
    Section("rest_api", RestApiConfig, "the REST API /v1, served by the HTTP API's listener", (
        Key("max_body_size", int, 2097152, "largest /v1 request body accepted, in octets (413 "
            "above; a batch of 10,000 recipients fits)", lo=1),
        Key("busy_queue_depth", int, 100000, "messages waiting in the connectors' MT queues "
            "above which /v1 sends are answered 503 with Retry-After; 0 never", lo=0),
    )),
    Section("http_callbacks", HttpCallbacksConfig,
            "outbound HTTP: receipt callbacks to dlr-url and MO to HTTP connectors", (
        Key("timeout", float, 30.0, "seconds to wait for a receiver's whole answer",
            above=0),
        Key("connect_timeout", float, 10.0, "seconds to wait for a connection", above=0),
        Key("concurrency", int, 50, "receipt callbacks in flight at once", lo=1),
        Key("max_attempts", int, 15, "tries of one receipt callback before it becomes a "
            "dead letter (smscd queue dead http:dlr)", lo=1),
        Key("retry_delay", float, 5.0, "seconds before the second try; doubled each time",
            above=0),
        Key("retry_max_delay", float, 600.0, "longest wait between two tries", above=0),
    )),
    Section("webhooks", WebhooksConfig, "REST webhooks: events POSTed to users' endpoints", (
        Key("concurrency", int, 20, "webhook calls in flight at once", lo=1),
        Key("retry_delay", float, 5.0, "seconds before the second try; doubled each time",
            above=0),
        Key("retry_max_delay", float, 600.0, "longest wait between two tries", above=0),
        Key("period", float, 86400.0, "seconds an event is retried before it becomes a dead "
            "letter", above=0),
        Key("timeout", float, 10.0, "seconds to wait for an endpoint's whole answer",
            above=0),
        Key("connect_timeout", float, 5.0, "seconds to wait for a connection", above=0),
        Key("max_endpoints", int, 20, "webhook endpoints one user may register", lo=1),
    )),
    Section("billing", BillingConfig, "rates and balances: currency, where billing applies", (
        Key("currency", str, "EUR", "system-wide currency of rates and balances (ISO 4217); "
            "a user's account may name its own"),
        Key("smpp", bool, True, "bill what is submitted over SMPP (Jasmin's smpp-server "
            "billing_feature)"),
        Key("http", bool, True, "bill what is submitted over HTTP (Jasmin's http-api "
            "billing_feature)"),
    )),
    Section("routing", RoutingConfig, "MT routing after the route is chosen", (
        Key("fallthrough_after", float, 10.0, "seconds a connector must be down (no bind, "
            "stopped or removed) before the failover and round-robin messages queued for it "
            "move to their next candidate connector that is up; 0 never moves them", lo=0),
    )),
)


def schema_keys() -> list[str]:
    """Every key path the schema declares, e.g. `smpp_server.port`."""
    return ([k.name for k in TOP_KEYS]
            + [f"{s.name}.{k.name}" for s in SECTIONS for k in s.keys])


# --- loading ------------------------------------------------------------------------------

def default_config(env: Mapping[str, str] | None = None) -> Config:
    """The settings of a daemon started without a configuration file."""
    return _build({}, env or {}, no_file=True)


def load_config(raw: Mapping[Any, Any], env: Mapping[str, str] | None = None) -> Config:
    """Validate a parsed configuration; raise ConfigError listing every problem."""
    return _build(raw, env or {}, no_file=False)


def load_config_file(path: str | os.PathLike[str],
                     env: Mapping[str, str] | None = None) -> Config:
    """Read, parse and validate a YAML file; problems with the file itself name the file."""
    name = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ConfigError([f"{name}: no such file"]) from None
    except UnicodeDecodeError as e:
        raise ConfigError([f"{name}: not UTF-8 text (byte offset {e.start})"]) from None
    except OSError as e:
        raise ConfigError([f"{name}: cannot read: {e.strerror}"]) from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as e:
        raise ConfigError([f"{name}: {_yaml_problem(e)}"]) from None
    except yaml.YAMLError as e:
        raise ConfigError([f"{name}: not valid YAML: {e}"]) from None
    if raw is None:            # an empty or all-comment file: every key at its default
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([f"{name}: expected a mapping of settings at the top level, "
                           f"got {_show(raw)}"])
    return load_config(raw, env)


def _build(raw: Mapping[Any, Any], env: Mapping[str, str], no_file: bool) -> Config:
    problems: list[str] = []
    known = {k.name for k in TOP_KEYS} | {s.name for s in SECTIONS}
    problems += [f"{k}: unknown key" for k in sorted(map(str, raw.keys() - known))]
    top = _values("", TOP_KEYS, raw, env, no_file, problems)
    sections: dict[str, Any] = {}
    for section in SECTIONS:
        body = raw.get(section.name)
        if body is None:       # absent, or present with every key commented out
            body = {}
        elif not isinstance(body, Mapping):
            problems.append(f"{section.name}: expected a mapping, got {_show(body)}")
            continue
        names = {k.name for k in section.keys}
        problems += [f"{section.name}.{k}: unknown key"
                     for k in sorted(map(str, body.keys() - names))]
        values = _values(section.name + ".", section.keys, body, env, no_file, problems)
        sections[section.name] = section.cls(**values)
    shell = sections.get("shell")
    if shell is not None and not shell.authentication and not _loopback(shell.host):
        problems.append(f"shell.authentication: must be true when shell.host "
                        f"({shell.host}) is not a loopback address")
    if problems:
        raise ConfigError(problems)
    return Config(**top, **sections)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _values(prefix: str, keys: tuple[Key, ...], body: Mapping[Any, Any],
            env: Mapping[str, str], no_file: bool, problems: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys:
        use_no_file = no_file and key.no_file_default is not None
        out[key.name] = key.no_file_default if use_no_file else key.default
        given = [(prefix + key.name, body[key.name])] if key.name in body else []
        if key.env is not None and key.env in env:      # checked after the file: it wins
            given.append((f"{prefix}{key.name} (from ${key.env})", env[key.env]))
        for where, value in given:
            checked = _check(key, value)
            if checked is _BAD:
                problems.append(f"{where}: expected {key.expected()}, got {_show(value)}")
            else:
                out[key.name] = checked
    return out


_BAD = object()


def _check(key: Key, value: Any) -> Any:
    """The value converted to the key's type, or _BAD."""
    if value is None:
        return None if key.optional else _BAD
    if key.kind is bool:
        return value if isinstance(value, bool) else _BAD
    if key.kind in (str, Path):
        if not isinstance(value, str) or not value or (key.choices and value not in key.choices):
            return _BAD
        return Path(value) if key.kind is Path else value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _BAD
    if key.kind is int and not isinstance(value, int):
        return _BAD
    if not math.isfinite(value):
        return _BAD
    if ((key.lo is not None and value < key.lo) or (key.hi is not None and value > key.hi)
            or (key.above is not None and value <= key.above)):
        return _BAD
    return float(value) if key.kind is float else value


def _show(value: Any) -> str:
    """A value as an operator wrote it in YAML, kept short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


# --- YAML ----------------------------------------------------------------------------------

class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:      # unhashable key: construct_mapping reports it
            break
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {_show(key)}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                              _construct_mapping)


def _yaml_problem(e: yaml.MarkedYAMLError) -> str:
    mark = e.problem_mark or e.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    text = f"{where}{e.problem or e.context or 'not valid YAML'}"
    if e.context and e.problem and e.context_mark is not None:
        text += f" ({e.context} at line {e.context_mark.line + 1}, " \
                f"column {e.context_mark.column + 1})"
    return text
