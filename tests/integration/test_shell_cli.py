"""`smscd shell` against a running shell listener on loopback: `-c`, a piped runbook with
drafts, the local token login, and the refusals (no token, wrong operator password)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.threads import deferToThread

from smscd.config import load_config
from smscd.shell.listener import shell_factory, start_shell
from smscd.shell.operators import Operators

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from shell_fake import FakeService  # noqa: E402


async def listening(tmp_path: Path, token: bool = True):
    """The shell as the daemon starts it (start_shell writes a new local token)."""
    ops = Operators(tmp_path)
    ops.set_password("ops", "right")
    if token:
        config = load_config({"data_dir": str(tmp_path), "shell": {"port": 0}})
        port = await start_shell(reactor, FakeService(), config)
    else:
        port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
            shell_factory(FakeService(), ops, tmp_path, reactor, authentication=True))
    cfg = tmp_path / "smscd.yaml"
    cfg.write_text(f"data_dir: {tmp_path}\nshell:\n  port: {port.getHost().port}\n")
    return port, cfg


def smscd(*args: str, stdin: str | None = None) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, "-m", "smscd", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


RUNBOOK = """group -a
gid marketing
ok
group -l
user -a
uid foo
gid marketing
username foo
password bar
ok
user -l
"""


@pytest_twisted.ensureDeferred
async def test_dash_c_prints_only_the_answer(tmp_path: Path) -> None:
    port, cfg = await listening(tmp_path)
    try:
        done = await deferToThread(smscd, "shell", "--config", str(cfg), "-c", "group -l")
    finally:
        await port.stopListening()
    assert (done.returncode, done.stdout, done.stderr) == (0, "Total Groups: 0\n", "")


@pytest_twisted.ensureDeferred
async def test_piped_runbook_shows_what_the_terminal_would(tmp_path: Path) -> None:
    port, cfg = await listening(tmp_path)
    try:
        done = await deferToThread(smscd, "shell", "--config", str(cfg), stdin=RUNBOOK)
    finally:
        await port.stopListening()
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0].startswith("Welcome to smscd ") and out[3].startswith("Session ref: ")
    assert out[4:] == [
        "jcli : group -a", "Adding a new Group: (ok: save, ko: exit)",
        "> gid marketing", "> ok", "Successfully added Group [marketing]",
        "jcli : group -l", "#Group id        ", "#marketing       ", "Total Groups: 1",
        "jcli : user -a", "Adding a new User: (ok: save, ko: exit)",
        "> uid foo", "> gid marketing", "> username foo", "> password bar", "> ok",
        "Successfully added User [foo] to Group [marketing]",
        "jcli : user -l",
        "#User id          Group id         Username         Balance MT SMS Throughput",
        "#foo              marketing        foo              ND (!)  ND (!) ND/ND   ",
        "Total Users: 1"]
    audit = (tmp_path / "shell-audit.log").read_text()
    assert '"operator":"local"' in audit and "password=***" in audit and "bar" not in audit


@pytest_twisted.ensureDeferred
async def test_without_the_token_file_it_says_why(tmp_path: Path) -> None:
    port, cfg = await listening(tmp_path, token=False)
    try:
        done = await deferToThread(smscd, "shell", "--config", str(cfg), "-c", "group -l")
    finally:
        await port.stopListening()
    assert done.returncode == 1
    assert "shell.token: is the daemon running, and are you its user?" in done.stderr


@pytest_twisted.ensureDeferred
async def test_operator_login_with_password(tmp_path: Path) -> None:
    port, cfg = await listening(tmp_path, token=False)
    try:
        wrong = await deferToThread(smscd, "shell", "--config", str(cfg), "--user", "ops",
                                    "-c", "group -l", stdin="wrong\n")
        right = await deferToThread(smscd, "shell", "--config", str(cfg), "--user", "ops",
                                    "-c", "group -l", stdin="right\n")
    finally:
        await port.stopListening()
    assert wrong.returncode == 1
    assert wrong.stderr.splitlines()[-1] == "smscd shell: Incorrect Username/Password."
    assert (right.returncode, right.stdout) == (0, "Total Groups: 0\n")


def test_nothing_listening_is_one_clear_line(tmp_path: Path) -> None:
    cfg = tmp_path / "smscd.yaml"
    cfg.write_text(f"data_dir: {tmp_path}\nshell:\n  port: 1\n")
    Operators(tmp_path).new_local_token()
    done = smscd("shell", "--config", str(cfg), "-c", "group -l")
    assert done.returncode == 1
    assert done.stderr.startswith("cannot reach the shell on 127.0.0.1:1:")


def test_set_password_creates_an_operator(tmp_path: Path) -> None:
    done = smscd("shell", "--data-dir", str(tmp_path), "--set-password", "night",
                 stdin="pw1\npw1\n")
    assert done.returncode == 0, done.stderr
    assert Operators(tmp_path).verify("night", "pw1")
    differ = smscd("shell", "--data-dir", str(tmp_path), "--set-password", "night",
                   stdin="pw2\npw3\n")
    assert differ.returncode == 2 and "nothing changed" in differ.stderr
    assert Operators(tmp_path).verify("night", "pw1")
