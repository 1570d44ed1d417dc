# tests: tests/unit/test_cli.py
"""The `smscd` command: run the daemon, send a message, check a configuration, decode a PDU.

Exit codes: 0 success, 1 the command could not do its job, 2 bad input (a configuration
with problems, a PDU that does not decode, a usage error).
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterator, NoReturn

import click

from . import __version__
from .cli_billing import billing
from .cli_settings import load_settings, settings_options
from .config import Config, ConfigError, default_config, load_config_file
from .smpp.codec import command_name, decode
from .smpp.errors import SmppError
from .smpp.pdu import Pdu
from .smpp.status import status_name

EXIT_BAD_INPUT = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="smscd",
                      message="%(prog)s %(version)s")
def main() -> None:
    """smscd: an SMPP/SMSC gateway daemon."""


main.add_command(billing)


# --- smscd run ------------------------------------------------------------------------------

@main.command()
@click.option("--config", "config_file", metavar="FILE",
              help="Settings file (conf/smscd.yaml documents every key). "
                   "Without it, the embedded defaults and the demo simulator are used.")
@click.option("--data-dir", metavar="DIR",
              help="Directory for the embedded store; overrides data_dir and $SMSCD_DATA_DIR.")
def run(config_file: str | None, data_dir: str | None) -> None:
    """Run the daemon in the foreground."""
    try:
        config = (load_config_file(config_file, os.environ) if config_file is not None
                  else default_config(os.environ))
    except ConfigError as e:
        _fail(e.problems)
    if data_dir is not None:
        if not data_dir:
            _fail(["--data-dir: expected a non-empty directory name"])
        config = dataclasses.replace(config, data_dir=Path(data_dir))
    sys.exit(run_daemon(config))


def run_daemon(config: Config) -> int:
    """Run the daemon on a validated configuration until SIGTERM/SIGINT; its exit status."""
    from .reactor import install
    reactor = install()            # before smscd.daemon, which imports twisted's reactor
    from . import gc_tuning
    from .daemon import Daemon, StartupError
    from .logs import start_logging

    gc_tuning.tune()
    start_logging(config.log.level, config.log.file)
    daemon = Daemon(config, reactor, lambda line: click.echo(line))
    status: list[int] = []

    def failed(failure: Any) -> None:
        if failure.check(StartupError):
            click.echo(f"smscd: {failure.value}", err=True)
        else:
            click.echo(f"smscd: cannot start: {failure.getErrorMessage()}", err=True)
        status.append(1)
        reactor.stop()

    def start() -> None:
        from twisted.internet.defer import Deferred
        d = Deferred.fromCoroutine(daemon.start())
        d.addCallback(lambda _: reactor.addSystemEventTrigger("before", "shutdown",
                                                              daemon.stop))
        d.addCallback(lambda _: gc_tuning.freeze_startup())
        d.addErrback(failed)

    reactor.callWhenRunning(start)
    reactor.run()
    return status[0] if status else 0


# --- smscd send -----------------------------------------------------------------------------

@main.command()
@click.option("--to", required=True, help="Destination number (MSISDN).")
@click.option("--text", required=True, help="Message text; split and coded as needed.")
@click.option("--from", "sender", default="", help="Source address (digits or a name).")
@click.option("--host", default="127.0.0.1", show_default=True, help="SMSC host.")
@click.option("--port", default=2775, show_default=True, type=click.IntRange(1, 65535),
              help="SMSC port.")
@click.option("--user", "system_id", envvar="SMSCD_USER", required=True,
              help="system_id to bind with (or $SMSCD_USER).")
@click.option("--password", envvar="SMSCD_PASSWORD", required=True,
              help="Password to bind with (or $SMSCD_PASSWORD).")
@click.option("--no-wait", is_flag=True, help="Do not ask for or wait for a receipt.")
@click.option("--timeout", default=60.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds to wait for each answer and receipt.")
def send(to: str, text: str, sender: str, host: str, port: int, system_id: str,
         password: str, no_wait: bool, timeout: float) -> None:
    """Bind as an ESME, submit one message and print its receipt (works with any SMSC)."""
    from .reactor import run_async
    from .send_client import SendRequest, send as send_message

    request = SendRequest(host=host, port=port, system_id=system_id, password=password,
                          to=to, text=text, sender=sender, wait_receipt=not no_wait,
                          timeout=timeout)
    result = run_async(lambda reactor: send_message(reactor, request, click.echo))
    sys.exit(result.exit_code)


# --- smscd simulator ------------------------------------------------------------------------

@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Listen address.")
@click.option("--port", default=2776, show_default=True, type=click.IntRange(0, 65535),
              help="Listen port (0 picks a free one and prints it).")
@click.option("--account", "accounts", multiple=True, metavar="SYSTEM_ID:PASSWORD",
              help="An account ESMEs may bind with (repeatable; default smscd:smscd).")
@click.option("--latency", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds before each submit_sm_resp.")
@click.option("--receipt-delay", default=1.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds before each delivery receipt.")
@click.option("--outcome", "outcomes", multiple=True, metavar="STAT=PERCENT",
              help="Receipt outcome mix, e.g. DELIVRD=90 --outcome UNDELIV=10.")
@click.option("--throughput", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="submit_sm/s per account before ESME_RTHROTTLED (0: unlimited).")
@click.option("--ids", "id_format", type=click.Choice(["hex", "decimal"]), default="hex",
              show_default=True, help="Format of the message ids it hands out.")
@click.option("--mo-rate", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="MO messages per second to inject.")
def simulator(host: str, port: int, accounts: tuple[str, ...], latency: float,
              receipt_delay: float, outcomes: tuple[str, ...], throughput: float,
              id_format: str, mo_rate: float) -> None:
    """Run the SMSC simulator: a realistic vendor for demos, tests and benchmarks."""
    from connectors.sim_config import SimulatorConfig, SimulatorConfigError
    from connectors.simulator import SimulatorService
    from smscd.smpp.message_state import MessageState, state_from_stat

    from .reactor import install

    problems: list[str] = []
    account_map: dict[str, str] = {}
    for item in accounts:
        system_id, sep, password = item.partition(":")
        if not sep or not system_id:
            problems.append(f"--account {item!r}: expected SYSTEM_ID:PASSWORD")
        account_map[system_id] = password
    mix: dict[MessageState, float] = {}
    for item in outcomes:
        word, sep, percent = item.partition("=")
        state = state_from_stat(word)
        try:
            value = float(percent)
        except ValueError:
            value = -1.0
        if not sep or state is MessageState.UNKNOWN and word.upper() != "UNKNOWN" or value < 0:
            problems.append(f"--outcome {item!r}: expected STAT=PERCENT, e.g. UNDELIV=10")
            continue
        mix[state] = value
    try:
        config = SimulatorConfig(
            accounts=account_map or {"smscd": "smscd"}, latency=latency,
            receipt_delay=receipt_delay, outcomes=mix or {MessageState.DELIVERED: 100.0},
            throughput=throughput, message_id_format=id_format,  # type: ignore[arg-type]
            mo_rate=mo_rate)
    except SimulatorConfigError as e:
        problems += e.problems
    if problems:
        _fail(problems)
    reactor = install()
    service = SimulatorService(config, reactor)

    def started(bound_port: int) -> None:
        click.echo(f"smscd simulator listening on {host}:{bound_port} "
                   f"(accounts: {', '.join(config.accounts)})")

    def failed(failure: Any) -> None:
        click.echo(f"smscd simulator: cannot listen on {host}:{port}: "
                   f"{failure.getErrorMessage()}", err=True)
        reactor.stop()

    from twisted.internet.defer import ensureDeferred
    reactor.callWhenRunning(
        lambda: ensureDeferred(service.start(port, host)).addCallbacks(started, failed))
    reactor.addSystemEventTrigger("before", "shutdown",
                                  lambda: ensureDeferred(service.stop()))
    reactor.run()


# --- smscd queue ----------------------------------------------------------------------------

@main.group()
def queue() -> None:
    """Dead letters: list them and put them back (on a stopped daemon's store)."""


def _store_path(config_file: str | None, data_dir: str | None) -> Path:
    return load_settings(config_file, data_dir).store_path


@queue.command("dead")
@click.argument("queue_name", metavar="QUEUE")
@settings_options
def queue_dead(queue_name: str, config_file: str | None, data_dir: str | None) -> None:
    """List the dead letters of QUEUE (mt:<connector>, deliver:<user>, mo:unrouted)."""
    from .dead_letters import list_dead
    from .reactor import run_async
    from .stores.interfaces import StoreError

    path = _store_path(config_file, data_dir)
    try:
        run_async(lambda reactor: list_dead(reactor, path, queue_name, click.echo))
    except StoreError as e:
        _fail([f"{e} (stop the daemon first; the admin shell will reach a running one)"])


@queue.command("requeue")
@click.argument("ids", nargs=-1, required=True, type=int, metavar="ID...")
@settings_options
def queue_requeue(ids: tuple[int, ...], config_file: str | None, data_dir: str | None) -> None:
    """Put dead letters back in their queues, by id (from `smscd queue dead`)."""
    from .dead_letters import requeue
    from .reactor import run_async
    from .stores.interfaces import StoreError

    path = _store_path(config_file, data_dir)
    try:
        missing = run_async(lambda reactor: requeue(reactor, path, list(ids), click.echo))
    except StoreError as e:
        _fail([f"{e} (stop the daemon first; the admin shell will reach a running one)"])
    sys.exit(1 if missing else 0)


# --- smscd config ---------------------------------------------------------------------------

@main.group()
def config() -> None:
    """Work with configuration files."""


@config.command("check")
@click.argument("file")
def config_check(file: str) -> None:
    """Validate FILE and list every problem in it, one per line."""
    try:
        cfg = load_config_file(file, os.environ)
    except ConfigError as e:
        _fail(e.problems)
    s = cfg.smpp_server
    click.echo(f"{file}: OK (smpp_server {_host_port(s.host, s.port)}, "
               f"store sqlite {cfg.store_path})")


def _host_port(host: str, port: int) -> str:
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"


# --- smscd pdu ------------------------------------------------------------------------------

@main.group()
def pdu() -> None:
    """Look inside SMPP PDUs."""


@pdu.command("decode")
@click.argument("hex_dump", nargs=-1, required=True, metavar="HEX...")
def pdu_decode(hex_dump: tuple[str, ...]) -> None:
    """Print every field and TLV of one PDU given as hex ("-" reads it from stdin).

    Spaces, colons and 0x prefixes are ignored, so dumps can be pasted as they are:
    smscd pdu decode 00000010 00000015 00000000 00000003
    """
    text = sys.stdin.read() if hex_dump == ("-",) else " ".join(hex_dump)
    try:
        data = parse_hex(text)
    except ValueError as e:
        _fail([f"not a hex dump: {e}"])
    try:
        decoded = decode(data)
    except SmppError as e:
        _fail([f"cannot decode: {e}"])
    for line in describe_pdu(decoded, len(data)):
        click.echo(line)


_SEPARATORS = re.compile(r"[\s:]+")


def parse_hex(text: str) -> bytes:
    """Bytes from a hex dump; separators (whitespace, colons) and 0x prefixes are skipped."""
    digits: list[str] = []
    for token in _SEPARATORS.split(text.strip()):
        digits.append(token[2:] if token[:2] in ("0x", "0X") else token)
    joined = "".join(digits)
    bad = re.search(r"[^0-9a-fA-F]", joined)
    if bad is not None:
        raise ValueError(f"{bad.group()!r} is not a hex digit")
    if not joined:
        raise ValueError("no hex digits")
    if len(joined) % 2:
        raise ValueError(f"odd number of hex digits ({len(joined)})")
    return bytes.fromhex(joined)


def describe_pdu(decoded: Pdu, length: int) -> Iterator[str]:
    """`name: value` lines for the header, each mandatory field in wire order, each TLV."""
    cid = int(decoded.command_id)
    status = decoded.command_status
    yield f"command_length: {length}"
    yield f"command_id: {command_name(cid)} (0x{cid:08X})"
    name = status_name(status)
    yield (f"command_status: {name}" if name.startswith("0x")
           else f"command_status: {name} (0x{status:08X})")
    yield f"sequence_number: {decoded.sequence_number}"
    for field in dataclasses.fields(decoded):
        if field.name not in ("command_status", "sequence_number", "tlvs"):
            yield from _describe_field(field.name, getattr(decoded, field.name))
    for tlv in decoded.tlvs:
        if tlv.name is None:
            yield f"tag 0x{tlv.tag:04X}: {_hex(tlv.value)}"
        else:
            yield f"{tlv.name} (tag 0x{tlv.tag:04X}): {_show(tlv.value)}"


def _describe_field(name: str, value: Any) -> Iterator[str]:
    if isinstance(value, tuple):          # submit_multi dest_addresses, submit_multi_resp unsuccess_smes
        yield f"{name}: {len(value)} entries"
        for i, entry in enumerate(value):
            for sub in dataclasses.fields(entry):
                yield f"{name}[{i}].{sub.name}: {_show(getattr(entry, sub.name))}"
    else:
        yield f"{name}: {_show(value)}"


def _show(value: Any) -> str:
    if isinstance(value, int):
        return f"{value} (0x{value:02X})"
    if isinstance(value, bytes):
        return f"{_hex(value)} ({len(value)} octets)"
    return repr(value)


def _hex(value: Any) -> str:
    return value.hex() if isinstance(value, bytes) else repr(value)


def _fail(problems: list[str]) -> NoReturn:
    for problem in problems:
        click.echo(problem, err=True)
    sys.exit(EXIT_BAD_INPUT)


from .cli_shell import shell  # noqa: E402  (its own module: the shell client)
main.add_command(shell)
from .cli_admin import admin_token  # noqa: E402  (its own module: admin API tokens)
main.add_command(admin_token)
