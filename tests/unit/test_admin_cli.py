"""`smscd admin-token`: create prints the token once, list never shows it, revoke works
beside the daemon's copy and says when there is nothing to revoke."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from smscd.admin_api.tokens import AdminTokens
from smscd.cli import main


def test_create_list_revoke(tmp_path: Path) -> None:
    """Breaks if the CLI's tokens are not the daemon's, or a list shows a secret."""
    run = CliRunner()
    out = run.invoke(main, ["admin-token", "create", "--label", "ci", "--read-only",
                            "--data-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    token = out.stdout.strip()
    daemon = AdminTokens(tmp_path / "admin_tokens.json")
    info = daemon.verify(token)
    assert info is not None and info.read_only and info.label == "ci"
    listed = run.invoke(main, ["admin-token", "list", "--data-dir", str(tmp_path)])
    assert info.id in listed.stdout and "read-only" in listed.stdout
    assert token.rsplit("_", 1)[1] not in listed.stdout
    out = run.invoke(main, ["admin-token", "revoke", info.id, "--data-dir", str(tmp_path)])
    assert out.exit_code == 0 and daemon.verify(token) is None
    out = run.invoke(main, ["admin-token", "revoke", info.id, "--data-dir", str(tmp_path)])
    assert out.exit_code == 1 and "no live admin token" in out.stderr


def test_bad_settings_and_broken_file(tmp_path: Path) -> None:
    """Breaks if a bad settings file or a broken token file is not a clear error."""
    conf = tmp_path / "smscd.yaml"
    conf.write_text("admin_api:\n  port: 99999\n")
    out = CliRunner().invoke(main, ["admin-token", "list", "--config", str(conf)])
    assert out.exit_code == 2 and "admin_api.port" in out.stderr
    (tmp_path / "admin_tokens.json").write_text("[]")
    out = CliRunner().invoke(main, ["admin-token", "list", "--data-dir", str(tmp_path)])
    assert out.exit_code == 1 and "not a valid admin token file" in out.stderr
