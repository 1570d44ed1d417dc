# tests: tests/unit/test_admin_cli.py
"""`smscd admin-token`: create, list and revoke the admin API's tokens.

Works beside a running daemon: the tokens live in their own file (admin_api.tokens_file
under data_dir), which the daemon re-reads when it changes, so a revoked token is refused
at its next request. A new token is printed once; only its SHA-256 is kept.
Exit status: 0 done, 1 nothing to revoke or an unreadable token file, 2 bad settings.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import NoReturn

import click

from .admin_api.tokens import AdminTokenError, AdminTokens
from .cli_settings import load_settings, settings_options


def _tokens(config_file: str | None, data_dir: str | None) -> AdminTokens:
    return AdminTokens(load_settings(config_file, data_dir).admin_tokens_path)


@click.group("admin-token")
def admin_token() -> None:
    """Tokens of the admin REST API (/admin/v1)."""


@admin_token.command("create")
@click.option("--label", default="", help="What the token is for (shown in lists).")
@click.option("--read-only", is_flag=True, help="The token may only read (GET).")
@settings_options
def create(label: str, read_only: bool, config_file: str | None,
           data_dir: str | None) -> None:
    """Create a token and print it (it is not shown again)."""
    try:
        new = _tokens(config_file, data_dir).create(label, read_only)
    except AdminTokenError as e:
        _fail([str(e)], 1)
    click.echo(new.token)
    click.echo(f"id {new.info.id}{' (read-only)' if read_only else ''}: keep the token; "
               "only its hash is stored", err=True)


@admin_token.command("list")
@settings_options
def list_(config_file: str | None, data_dir: str | None) -> None:
    """List tokens: id, access, created, revoked, label (never the token)."""
    try:
        tokens = _tokens(config_file, data_dir).list()
    except AdminTokenError as e:
        _fail([str(e)], 1)
    for t in tokens:
        revoked = "-" if t.revoked_at is None else _iso(t.revoked_at)
        click.echo(f"{t.id}  {'read-only ' if t.read_only else 'read-write'}  "
                   f"{_iso(t.created_at)}  {revoked}  {t.label}")


@admin_token.command("revoke")
@click.argument("token_id")
@settings_options
def revoke(token_id: str, config_file: str | None, data_dir: str | None) -> None:
    """Revoke the token TOKEN_ID (from `smscd admin-token list`)."""
    try:
        done = _tokens(config_file, data_dir).revoke(token_id)
    except AdminTokenError as e:
        _fail([str(e)], 1)
    if not done:
        _fail([f"no live admin token {token_id}"], 1)
    click.echo(f"revoked {token_id}")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")


def _fail(problems: list[str], status: int) -> NoReturn:
    for problem in problems:
        click.echo(problem, err=True)
    sys.exit(status)
