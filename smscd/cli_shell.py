# tests: tests/integration/test_shell_cli.py
"""`smscd shell`: the admin shell of the daemon running on this machine, from a terminal,
a script (`-c 'user -l'`) or a runbook piped in.

Login: by default with the local token the daemon writes at every start in its data
directory (`shell.token`, mode 0600): whoever can read it is the daemon's user, so no
password is asked. `--user NAME` logs in as an operator instead (password asked on the
terminal). Exit status: 0 done, 1 the shell could not be reached or refused the login,
2 bad settings.
"""
from __future__ import annotations

import getpass
import socket
import sys
from typing import NoReturn

import click

from .cli_settings import load_settings, settings_options
from .shell.client import BlockingShell, LoginRefused
from .shell.operators import LOCAL_USER, OperatorError, Operators

READ_TIMEOUT = 300.0          # a `load` of a big profile may take a while


@click.command()
@click.option("-c", "command", metavar="COMMAND",
              help="Run one shell command, print its answer and exit.")
@settings_options
@click.option("--port", type=click.IntRange(1, 65535), help="Shell port (default: shell.port).")
@click.option("--user", "operator", metavar="NAME",
              help="Log in as this operator (asks for its password) instead of with the "
                   "daemon's local token.")
@click.option("--set-password", "set_password", metavar="NAME",
              help="Create operator NAME or change its password (asked twice), then exit.")
def shell(command: str | None, config_file: str | None, data_dir: str | None,
          port: int | None, operator: str | None, set_password: str | None) -> None:
    """Open the admin shell of the local daemon (jCli commands; `help` lists them)."""
    config = load_settings(config_file, data_dir)
    if set_password is not None:
        _set_password(Operators(config.data_dir), set_password)
        return
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(config.shell.host, config.shell.host)
    port = port or config.shell.port
    if operator is None:
        username = LOCAL_USER
        password = Operators(config.data_dir).local_token()
        if password is None:
            _fail([f"cannot read {config.data_dir / 'shell.token'}: is the daemon running, "
                   "and are you its user? (or use --user NAME)"], 1)
    else:
        username, password = operator, getpass.getpass("Password: ")
    try:
        sock = socket.create_connection((host, port), timeout=10)
    except OSError as e:
        _fail([f"cannot reach the shell on {host}:{port}: {e.strerror or e}"], 1)
    sock.settimeout(READ_TIMEOUT)
    client = BlockingShell(sock)
    try:
        welcome = client.login(username, password)
        if command is not None:
            _, answer = client.run(command)
            if answer:
                click.echo(answer)
        elif not sys.stdin.isatty():
            click.echo(welcome)
            for line in sys.stdin:
                prompt, answer = client.run(line.rstrip("\r\n"))
                click.echo(prompt + line.rstrip("\r\n"))
                if answer:
                    click.echo(answer)
        else:
            _interactive(client, welcome)
        client.quit()
    except LoginRefused as e:
        _fail([f"smscd shell: {e}"], 1)
    except (ConnectionError, OSError) as e:
        _fail([f"smscd shell: {e}"], 1)
    finally:
        sock.close()


def _set_password(operators: Operators, name: str) -> None:
    password = getpass.getpass(f"New password for operator {name}: ")
    if getpass.getpass("Again: ") != password:
        _fail(["the two passwords differ; nothing changed"], 2)
    try:
        operators.set_password(name, password)
    except (OperatorError, OSError) as e:
        _fail([str(e)], 2)
    click.echo(f"operator {name!r}: password set (the daemon uses it at the next login)")


def _interactive(client: BlockingShell, welcome: str) -> None:
    """A terminal: local line editing and history (readline), the shell's answers."""
    import readline  # noqa: F401  (input() gains line editing and history)

    click.echo(welcome)
    while True:
        try:
            line = input(client.prompt)
        except EOFError:
            click.echo()
            return
        if line.strip() == "quit" and client.prompt != "> ":
            return
        _, answer = client.run(line)
        if answer:
            click.echo(answer)


def _fail(problems: list[str], status: int) -> NoReturn:
    for problem in problems:
        click.echo(problem, err=True)
    sys.exit(status)
