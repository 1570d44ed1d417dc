"""Operator accounts, the local token of `smscd shell`, private files and the audit log."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from smscd.shell.audit import AuditLog
from smscd.shell.files import write_private
from smscd.shell.operators import (LOCAL_USER, OperatorError, Operators, ensure_operator)


def test_first_start_creates_one_operator_and_shows_its_password_once(tmp_path):
    password = ensure_operator(tmp_path)
    assert password and len(password) >= 12
    assert ensure_operator(tmp_path) is None
    ops = Operators(tmp_path)
    assert list(ops.accounts()) == ["admin"]
    assert (tmp_path / "operators.json").stat().st_mode & 0o777 == 0o600
    assert password not in (tmp_path / "operators.json").read_text()
    assert ops.verify("admin", password)
    assert not ops.verify("admin", password + "x")
    assert not ops.verify("nobody", password)


def test_operator_names_and_passwords_are_checked(tmp_path):
    ops = Operators(tmp_path)
    with pytest.raises(OperatorError, match="operator name '@local'"):
        ops.set_password(LOCAL_USER, "x")
    with pytest.raises(OperatorError, match="must not be empty"):
        ops.set_password("ops", "")
    ops.set_password("ops", "one")
    ops.set_password("ops", "two")
    assert ops.verify("ops", "two") and not ops.verify("ops", "one")


def test_a_corrupt_accounts_file_is_an_error_not_an_empty_list(tmp_path):
    (tmp_path / "operators.json").write_text('{"version": 9}')
    with pytest.raises(OperatorError, match="not a version 1"):
        Operators(tmp_path).accounts()


def test_local_token_login(tmp_path):
    ops = Operators(tmp_path)
    assert not ops.verify(LOCAL_USER, "")               # no token written yet
    token = ops.new_local_token()
    assert (tmp_path / "shell.token").stat().st_mode & 0o777 == 0o600
    assert ops.verify(LOCAL_USER, token)
    assert not ops.verify(LOCAL_USER, token[:-1])
    assert ops.new_local_token() != token and not ops.verify(LOCAL_USER, token)


def test_private_files_replace_an_old_readable_temp_file(tmp_path):
    stale = tmp_path / "x.tmp"
    stale.write_text("old")
    stale.chmod(0o644)
    write_private(tmp_path / "x", b"new")
    assert (tmp_path / "x").read_bytes() == b"new"
    assert (tmp_path / "x").stat().st_mode & 0o777 == 0o600


def test_audit_log_is_one_json_line_per_change(tmp_path):
    log = AuditLog(tmp_path / "shell-audit.log")
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    log.record("admin", "127.0.0.1:5000", 3, "group -a: gid g1", True, now=at)
    log.record("local", "127.0.0.1:5001", 4, "group -r g1", False, "Error: in use", now=at)
    entries = [json.loads(ln) for ln in (tmp_path / "shell-audit.log").read_text().splitlines()]
    assert entries == [
        {"at": "2026-01-02T03:04:05.000+00:00", "operator": "admin", "peer": "127.0.0.1:5000",
         "session": 3, "what": "group -a: gid g1", "ok": True},
        {"at": "2026-01-02T03:04:05.000+00:00", "operator": "local", "peer": "127.0.0.1:5001",
         "session": 4, "what": "group -r g1", "ok": False, "error": "Error: in use"}]


def _connected(tmp_path, clock):
    from twisted.internet.testing import StringTransport

    from shell_fake import FakeService
    from smscd.shell.listener import shell_factory

    factory = shell_factory(FakeService(), Operators(tmp_path), tmp_path, clock)
    proto = factory.buildProtocol(None)
    transport = StringTransport()
    proto.makeConnection(transport)
    return proto, transport


def test_an_idle_login_is_closed_after_the_timeout(tmp_path):
    from twisted.internet.task import Clock

    from smscd.shell.transport import LOGIN_TIMEOUT
    clock = Clock()
    _, transport = _connected(tmp_path, clock)
    assert b"Username: " in transport.value()
    clock.advance(LOGIN_TIMEOUT - 1)
    assert not transport.disconnecting
    clock.advance(1)
    assert transport.disconnecting and b"Login timed out." in transport.value()


def test_an_endless_line_is_cut(tmp_path):
    from twisted.internet.task import Clock

    from smscd.shell.transport import MAX_LINE
    proto, transport = _connected(tmp_path, Clock())
    proto.dataReceived(b"x" * (MAX_LINE + 500))
    shell = proto.protocol.protocol.terminalProtocol
    assert len(shell.lineBuffer) == MAX_LINE
