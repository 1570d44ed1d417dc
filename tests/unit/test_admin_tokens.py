"""Admin tokens: shown once, stored hashed in a 0600 file, verified in constant time,
revoked for every reader of the file, read-only flag kept; a broken file is an error."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest

from smscd.admin_api.tokens import AdminTokenError, AdminTokens


def test_create_verify_and_the_secret_is_not_stored(tmp_path: Path) -> None:
    """Breaks if a token does not verify, or its secret reaches the file."""
    tokens = AdminTokens(tmp_path / "t.json", now=lambda: 100.0)
    new = tokens.create("ops")
    assert tokens.verify(new.token) == new.info
    assert new.info.read_only is False and new.info.created_at == 100.0
    text = (tmp_path / "t.json").read_text()
    assert new.token.rsplit("_", 1)[1] not in text and new.info.id in text
    assert stat.S_IMODE((tmp_path / "t.json").stat().st_mode) == 0o600


def test_wrong_malformed_and_revoked_tokens_fail(tmp_path: Path) -> None:
    """Breaks if a token with another secret, a malformed one or a revoked one verifies."""
    tokens = AdminTokens(tmp_path / "t.json")
    new = tokens.create()
    forged = new.token[:-1] + ("A" if new.token[-1] != "A" else "B")
    for bad in (forged, "", "adm_", new.token + "x", "Bearer " + new.token):
        assert tokens.verify(bad) is None, bad
    assert tokens.revoke(new.info.id) is True
    assert tokens.verify(new.token) is None
    assert tokens.revoke(new.info.id) is False
    assert tokens.revoke("nope") is False
    assert tokens.list()[0].revoked_at is not None


def test_read_only_flag_and_another_writer_are_seen(tmp_path: Path) -> None:
    """Breaks if the daemon's copy misses a token created or revoked by the CLI's."""
    daemon, cli = AdminTokens(tmp_path / "t.json"), AdminTokens(tmp_path / "t.json")
    assert daemon.verify("adm_000000000000_" + "a" * 43) is None
    new = cli.create("viewer", read_only=True)
    seen = daemon.verify(new.token)
    assert seen is not None and seen.read_only and seen.label == "viewer"
    cli.revoke(new.info.id)
    assert daemon.verify(new.token) is None


def test_label_length_and_broken_file(tmp_path: Path) -> None:
    """Breaks if a broken token file is silently treated as empty (losing revocations)."""
    with pytest.raises(AdminTokenError, match="label"):
        AdminTokens(tmp_path / "t.json").create("x" * 101)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(AdminTokenError, match="not a valid admin token file"):
        AdminTokens(tmp_path / "bad.json").list()
    (tmp_path / "v2.json").write_text('{"version": 2, "tokens": []}')
    with pytest.raises(AdminTokenError, match="version 2"):
        AdminTokens(tmp_path / "v2.json").verify("adm_000000000000_" + "a" * 43)
