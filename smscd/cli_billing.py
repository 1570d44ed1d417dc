# tests: tests/integration/test_billing_flow.py
"""`smscd billing`: billing records as CSV for a period, and a user's balance.

Why a read-only connection and not the store: the store allows one process (the daemon);
SQLite in WAL mode lets a reader see the last committed state beside it, so an operator
exports a period while the daemon runs. Reads never write, never migrate.

Rules:
- Periods are UTC, `--since` inclusive, `--until` exclusive (so months tile without overlap).
- Amounts are written as the exact decimal strings the store holds; times as ISO 8601 UTC.
- A store that is missing, or older than the billing tables, is a clear error (exit 1).
"""
from __future__ import annotations

import csv
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Iterable

import click

from smscd.billing import BillingRecord
from smscd.cli_settings import load_settings, settings_options

CSV_COLUMNS = ("created_at", "updated_at", "uid", "message_id", "route", "connector",
               "channel", "parts", "rate", "early_percent", "currency", "amount", "held",
               "captured", "released", "state", "part_states", "prepaid", "counts_sms")
_DATES = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"]


class BillingReadError(Exception):
    """The store cannot be read for billing; the message says why."""


def write_csv(records: Iterable[BillingRecord], out: IO[str]) -> int:
    """One header line, then one line per record; returns how many records."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for r in records:
        writer.writerow((_iso(r.created_at), _iso(r.updated_at), r.uid, r.message_id, r.route,
                         r.connector, r.channel, r.parts, r.rate,
                         "" if r.early_percent is None else r.early_percent, r.currency,
                         r.amount, r.held, r.captured, r.released, r.state.value,
                         r.part_states, int(r.prepaid), int(r.counts_sms)))
        n += 1
    return n


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")


def read_only(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise BillingReadError(f"no store at {path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.execute("SELECT 1 FROM billing_records LIMIT 1").fetchall()
    except sqlite3.Error as e:
        conn.close()
        raise BillingReadError(f"{path} has no billing tables ({e}); start smscd once on it "
                               "to migrate it") from None
    return conn


def export(path: Path, since: float, until: float, uid: str | None, out: IO[str]) -> int:
    from smscd.stores.sqlite_billing import iter_records     # Twisted: only when needed
    with closing(read_only(path)) as conn:
        return write_csv(iter_records(since, until, uid, conn), out)


def balance_lines(path: Path, uid: str, currency: str) -> list[str]:
    from smscd.stores.sqlite_billing import read_account     # Twisted: only when needed
    with closing(read_only(path)) as conn:
        account = read_account(uid, conn)
    money = "ND" if account.balance is None else \
        f"{account.balance} {account.currency or currency}"
    sms = "ND" if account.sms_count is None else str(account.sms_count)
    return [f"uid: {uid}", f"balance: {money}", f"sms_count: {sms}"]


# --- the click group (registered in smscd/cli.py) ----------------------------------------------

def _when(value: datetime) -> float:
    return value.replace(tzinfo=timezone.utc).timestamp()


@click.group("billing")
def billing() -> None:
    """Billing records and balances (read-only; works beside a running daemon)."""


def _store_and_config(config_file: str | None, data_dir: str | None) -> tuple[Path, Any]:
    config = load_settings(config_file, data_dir)
    return config.store_path, config


@billing.command("export")
@click.option("--since", required=True, type=click.DateTime(_DATES),
              help="Start of the period, UTC, inclusive (2026-11-01 or 2026-11-01T08:00:00).")
@click.option("--until", required=True, type=click.DateTime(_DATES),
              help="End of the period, UTC, exclusive.")
@click.option("--user", "uid", default=None, help="Only this user's records (uid).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              default=None, help="CSV file to write (default: standard output).")
@settings_options
def export_command(since: datetime, until: datetime, uid: str | None, output: str | None,
                   config_file: str | None, data_dir: str | None) -> None:
    """Write the billing records created in a period as CSV."""
    if until <= since:
        raise click.BadParameter("must be after --since", param_hint="--until")
    path, _ = _store_and_config(config_file, data_dir)
    try:
        if output is None:
            n = export(path, _when(since), _when(until), uid, click.get_text_stream("stdout"))
        else:
            with open(output, "w", encoding="utf-8", newline="") as f:
                n = export(path, _when(since), _when(until), uid, f)
    except BillingReadError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{n} billing record(s)", err=True)


@billing.command("balance")
@click.argument("uid")
@settings_options
def balance_command(uid: str, config_file: str | None, data_dir: str | None) -> None:
    """Show UID's balance and sms_count ("ND": unlimited) as last committed."""
    path, config = _store_and_config(config_file, data_dir)
    try:
        for line in balance_lines(path, uid, config.billing.currency):
            click.echo(line)
    except BillingReadError as e:
        raise click.ClickException(str(e)) from None
