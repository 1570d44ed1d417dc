# tests: tests/unit/test_shell_modules.py
"""jCli `smppccm`: vendor SMPP connectors (reference §7.5, keys §2.1), plus `--status`.

jCli keys are translated to smscd's connector settings (connectors/connector_config.py);
smscd's own keys (window, binds, hosts, ...) may be typed as they are. Jasmin keys smscd
has no use for are accepted with a notice, so runbooks keep working and nobody believes
they took effect; `ssl yes` is refused (the connection would not be encrypted).
"""
from __future__ import annotations

from typing import Any

from connectors.connector_config import connector_keys

from smscd.service.api import WrongState

from .common import exists, refusal, row, saving_call
from .drafts import KeyDraft
from .grammar import Action, Command, Context, Opt
from .reply import Reply, call, say

# jCli key -> smscd connector key (host and port make up `hosts`, dlr_msgid is translated)
JCLI_KEYS = {
    "username": "system_id", "password": "password", "systype": "system_type",
    "bind": "bind", "bind_ton": "addr_ton", "bind_npi": "addr_npi",
    "addr_range": "address_range", "src_ton": "source_ton", "src_npi": "source_npi",
    "dst_ton": "dest_ton", "dst_npi": "dest_npi", "coding": "data_coding",
    "submit_throughput": "throughput", "elink_interval": "enquire_link_interval",
    "res_to": "response_timeout", "trx_to": "inactivity_timeout",
    "con_loss_delay": "reconnect_initial_delay", "con_fail_delay": "reconnect_initial_delay",
    "requeue_delay": "retry_delay", "dlr_expiry": "correlation_ttl",
    "dlr_msgid": "receipt_id_mode",
}
# smscd key -> the jCli key an operator typed, for error lines
TYPED_KEYS = {"id": "cid", **{v: k for k, v in reversed(list(JCLI_KEYS.items()))}}
DLR_MSGID = {"0": "as_is", "1": "dec_to_hex", "2": "hex_to_dec"}
IGNORED = ("logfile", "logrotate", "loglevel", "logprivacy", "src_addr", "proto_id",
           "priority", "validity", "ripf", "def_msg_id", "con_loss_retry", "con_fail_retry",
           "pdu_red_to", "bind_to", "custom_tlvs", "ssl")
JASMIN_DEFAULTS = {"host": "127.0.0.1", "port": 2775, "system_id": "smppclient",
                   "password": "password"}
NATIVE = tuple(k for k in connector_keys() if k != "id")
# `smppccm -s` order: Jasmin's, then smscd's own keys
SHOW_ORDER = ("cid", "host", "port", "username", "password", "systype", "elink_interval",
              "res_to", "bind_npi", "con_loss_delay", "bind", "bind_ton", "src_ton",
              "src_npi", "dst_ton", "addr_range", "coding", "requeue_delay",
              "submit_throughput", "dlr_expiry", "dlr_msgid", "dst_npi", "trx_to")
STRING_KEYS = {"system_id", "password", "system_type", "bind", "address_range",
               "registered_delivery", "receipt_id_mode"}


def number(value: str) -> Any:
    """jCli's str2num: an int, else a float, else the text; `none` is None."""
    if value.lower() == "none":
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


class ConnectorDraft(KeyDraft):
    """Collects jCli and smscd keys; `set` answers notices and type errors at once."""

    def keys(self) -> tuple[str, ...]:
        return ("cid", "host", "port", *JCLI_KEYS, *NATIVE)

    def set(self, key: str, value: str) -> Reply:
        if key in self.refused:
            return say(self.refused[key])
        if key == "ssl":
            if value.lower() in ("yes", "true", "1"):
                return say("Error: ssl is not supported by smscd connectors yet")
            return Reply()
        if key in IGNORED:
            return say(f"{key} is not used by smscd, ignoring its value.")
        if key == "cid":
            self.values["id"] = value
        elif key == "host":
            self.values["host"] = value
        elif key == "port":
            if not value.isdigit():
                return say("Error: port must be an integer")
            self.values["port"] = int(value)
        elif key == "dlr_msgid":
            if value not in DLR_MSGID:
                return say(f"Error: Unknown value for key dlr_msgid: {value}")
            self.values["receipt_id_mode"] = DLR_MSGID[value]
        elif key == "hosts":
            self.values["hosts"] = [h for h in value.replace(",", ";").split(";") if h]
        elif key in JCLI_KEYS or key in NATIVE:
            name = JCLI_KEYS.get(key, key)
            self.values[name] = value if name in STRING_KEYS else number(value)
        else:
            return say(self.unknown % key)
        return Reply()


def to_spec(values: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A connector mapping from draft values, host/port folded into `hosts` (the first
    host is replaced, backups are kept)."""
    spec = dict(values)
    host, port = spec.pop("host", None), spec.pop("port", None)
    if host is not None or port is not None:
        hosts = list((base or {}).get("hosts") or [])
        old_host, _, old_port = (hosts[0].rpartition(":") if hosts else ("", "", ""))
        first = f"{host or old_host or JASMIN_DEFAULTS['host']}:" \
                f"{port or old_port or JASMIN_DEFAULTS['port']}"
        spec["hosts"] = [first] + hosts[1:]
    return spec


def _list(ctx: Context, _: object, arg: str) -> Reply:
    api = ctx.service.smpp_connectors
    connectors = api.list()
    widths = [35, 7, 16, 6, 5]
    lines = [row(["Connector id", "Service", "Session", "Starts", "Stops"], widths)] \
        if connectors else []
    for c in connectors:
        s = api.status(c.config.id)
        lines.append(row([c.config.id, s.service, s.session, str(s.starts), str(s.stops)],
                         widths))
    return say(*lines, f"Total connectors: {len(connectors)}")


def _status(ctx: Context, _: object, arg: str) -> Reply:
    api = ctx.service.smpp_connectors
    if arg:
        if not exists(api.get, arg):
            return say(f"Unknown connector: {arg}")
        statuses = [api.status(arg)]
    else:
        statuses = api.statuses()
    widths = [25, 8, 16, 5, 6, 10, 6]
    lines = [row(["Connector id", "Service", "Session", "Binds", "Window", "Throughput",
                  "Queue", "Last error"], widths)]
    for s in statuses:
        lines.append(row([s.cid, s.service, s.session, str(s.binds), str(s.window_in_use),
                          f"{s.throughput:.1f}/s", str(s.queue_depth),
                          s.last_error or "-"], widths))
    return say(*lines, f"Total connectors: {len(statuses)}")


def _add(ctx: Context, _: object, arg: str) -> Reply:
    api = ctx.service.smpp_connectors

    def save(values: dict[str, Any]) -> Reply:
        if "id" not in values:
            return say("You must set at least connector id (cid) before saving !")
        spec = to_spec({**JASMIN_DEFAULTS, **values})
        cid = str(spec["id"])
        return saving_call(lambda: api.add(spec), f"smppccm -a: {_masked(spec)}",
                           lambda _: f"Successfully added connector [{cid}]",
                           "Failed adding connector, check log for details", TYPED_KEYS)

    draft = ConnectorDraft("Adding a new connector: (ok: save, ko: exit)", {},
                           "Unknown SMPPClientConfig key: %s", save)
    return Reply(lines=(draft.announcement,), draft=draft)


def _update(ctx: Context, cid: str, arg: str) -> Reply:
    api = ctx.service.smpp_connectors
    if not exists(api.get, cid):
        return say(f"Unknown connector: {cid}")

    def save(values: dict[str, Any]) -> Reply:
        if not values:
            return say("Nothing to save")
        changes = to_spec(values, dict(api.get(cid).spec))
        return saving_call(lambda: api.update(cid, changes),
                           f"smppccm -u {cid}: {_masked(changes)}",
                           lambda _: f"Successfully updated connector [{cid}]",
                           "Failed updating connector, check log for details", TYPED_KEYS)

    draft = ConnectorDraft(f"Updating connector id [{cid}]: (ok: save, ko: exit)", {},
                           "Unknown SMPPClientConfig key: %s", save,
                           refused={"cid": "Connector id can not be modified !"})
    return Reply(lines=(draft.announcement,), draft=draft)


def _show(ctx: Context, cid: str, arg: str) -> Reply:
    api = ctx.service.smpp_connectors
    if not exists(api.get, cid):
        return say(f"Unknown connector: {cid}")
    spec = {k: v for k, v in _settings(api.get(cid).config).items()}
    host, _, port = spec["hosts"][0].rpartition(":")
    shown = {"cid": cid, "host": host, "port": port}
    for key in SHOW_ORDER[3:]:
        value = spec.get(JCLI_KEYS[key])
        if key == "dlr_msgid":
            value = {v: k for k, v in DLR_MSGID.items()}[str(value)]
        shown[key] = value
    mapped = set(JCLI_KEYS.values()) | {"id"}
    shown.update({k: v for k, v in spec.items() if k not in mapped})
    return say(*(f"{k} {_value(v)}" for k, v in shown.items()))


def _settings(config: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("id", *NATIVE):
        value = getattr(config, key)
        if key == "hosts":
            value = [f"{h}:{p}" for h, p in value]
        elif hasattr(value, "value"):
            value = value.value
        out[key] = value
    return out


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(map(str, value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _masked(spec: dict[str, Any]) -> str:
    return ", ".join(f"{k}={'***' if k == 'password' else v}" for k, v in spec.items())


def _on_connector(verb: str, done: str, failed: str) -> Action:
    def action(ctx: Context, cid: str, arg: str) -> Reply:
        api = ctx.service.smpp_connectors
        if not exists(api.get, cid):
            return say(f"Unknown connector: {cid}")
        jasmin_line = f"Failed {failed} connector, check log for details"

        def refused(e: Exception) -> Reply:      # jCli's line for start/stop in wrong state
            return say(jasmin_line if isinstance(e, WrongState) else refusal(e, jasmin_line))

        return call(lambda: getattr(api, verb)(cid), f"smppccm --{verb}={cid}",
                    lambda _: say(f"Successfully {done} connector id:{cid}"), refused)
    return action


COMMAND = Command("smppccm", "SMPP connector management", (
    Opt("-l", "--list", "List SMPP connectors", _list),
    Opt("-a", "--add", "Add SMPP connector", _add),
    Opt("-u", "--update", "Update SMPP connector configuration using it's CID", _update,
        "CID"),
    Opt("-r", "--remove", "Remove SMPP connector using it's CID",
        _on_connector("remove", "removed", "removing"), "CID"),
    Opt("-s", "--show", "Show SMPP connector using it's CID", _show, "CID"),
    Opt("-1", "--start", "Start SMPP connector using it's CID",
        _on_connector("start", "started", "starting"), "CID"),
    Opt("-0", "--stop", "Stop SMPP connector using it's CID",
        _on_connector("stop", "stopped", "stopping"), "CID"),
    Opt(None, "--status", "Show binds, window in use, throughput, queue depth and last "
        "error of every SMPP connector (or of CID)", _status),
))
