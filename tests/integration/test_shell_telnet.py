"""The admin shell over a real telnet socket on loopback: login, MOTD, commands, drafts,
TAB completion, no password echo, lockout and the audit log."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP4ServerEndpoint
from twisted.internet.protocol import Factory, Protocol

from smscd import __version__
from smscd.shell.client import TerminalText, ends_with_prompt
from smscd.shell.listener import shell_factory
from smscd.shell.operators import Operators

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from shell_fake import FakeService  # noqa: E402


class Term(Protocol):
    """A dumb terminal: what the server showed, and a wait for some text to appear."""

    def __init__(self) -> None:
        self.parser = TerminalText()
        self.shown = ""
        self.mark = 0
        self.waiting: list[tuple[str, Deferred[str]]] = []
        self.closed: Deferred[None] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.shown += self.parser.feed(data)
        for text, d in list(self.waiting):
            at = (self.shown.find(text, self.mark) if text
                  else len(self.shown) if ends_with_prompt(self.shown[self.mark:]) else -1)
            if at >= 0:
                self.waiting.remove((text, d))
                end = at + len(text)
                seen, self.mark = self.shown[self.mark:end], end
                d.callback(seen)

    def until(self, text: str) -> Deferred[str]:
        """Everything shown since the last wait, up to and including `text`."""
        d: Deferred[str] = Deferred()
        self.waiting.append((text, d))
        self.dataReceived(b"")
        return d

    def until_prompt(self) -> Deferred[str]:
        """Everything shown since the last wait, up to the next prompt."""
        return self.until("")

    def type(self, keys: str) -> None:
        self.transport.write(keys.encode())

    def connectionLost(self, reason: object = None) -> None:
        self.closed.callback(None)


async def serve(tmp_path: Path, authentication: bool = True, service: object = None):
    ops = Operators(tmp_path)
    if authentication:
        ops.set_password("admin", "s3cret")
    factory = shell_factory(service or FakeService(), ops, tmp_path, reactor,
                            authentication=authentication)
    port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(factory)
    return port


async def connect(port) -> Term:
    return await TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port).connect(
        Factory.forProtocol(Term))


async def login(term: Term, user: str, password: str) -> str:
    await term.until("Username: ")
    term.type(user + "\r\n")
    await term.until("Password: ")
    term.type(password + "\r\n")
    await term.until("\n")                       # the end of the (not echoed) password line
    return await term.until("\n")


@pytest_twisted.ensureDeferred
async def test_login_motd_command_draft_and_tab_completion(tmp_path: Path) -> None:
    port = await serve(tmp_path)
    term = await connect(port)
    try:
        assert await term.until("Username: ") == "Authentication required.\n\nUsername: "
        term.type("admin\r\n")
        await term.until("Password: ")
        term.type("s3cret\r\n")
        shown = await term.until("jcli : ")
        assert "s3cret" not in term.shown
        assert shown.endswith(f"Welcome to smscd {__version__} console\n"
                              "Type help or ? to list commands.\n\nSession ref: 1\njcli : ")
        term.type("group -a\r\n")
        assert await term.until("> ") == "group -a\nAdding a new Group: (ok: save, ko: exit)\n> "
        term.type("gid g1\r\nok\r\n")
        assert await term.until("jcli : ") == \
            "gid g1\n> ok\nSuccessfully added Group [g1]\njcli : "
        term.type("user -a\r\n")
        await term.until("> ")
        term.type("mt_\t")
        assert await term.until("mt_messaging_cred ") == "mt_messaging_cred "
        term.type("\r\n")
        assert await term.until("> ") == \
            "\nError: expected syntax: mt_messaging_cred section key value\n> "
        term.type("ko\r\ngroup -l\r\n")
        assert (await term.until("Total Groups: 1\n")).endswith("#g1              \n"
                                                              "Total Groups: 1\n")
        term.type("quit\r\n")
        await term.closed
    finally:
        await port.stopListening()
    audit = [json.loads(ln) for ln in (tmp_path / "shell-audit.log").read_text().splitlines()]
    assert [(a["operator"], a["what"], a["ok"], a["session"]) for a in audit] == [
        ("admin", "group -a: gid g1", True, 1)]
    assert audit[0]["peer"].startswith("127.0.0.1:")


@pytest_twisted.ensureDeferred
async def test_wrong_passwords_then_lockout(tmp_path: Path) -> None:
    port = await serve(tmp_path)
    term = await connect(port)
    try:
        for _ in range(4):                        # three are free, the fourth locks
            assert await login(term, "admin", "nope") == "Incorrect Username/Password.\n"
        locked = await login(term, "admin", "s3cret")   # even the right password now
        assert locked.startswith("Too many failed logins: try again in ")
        assert await term.until("Username: ") == "Username: "
        term.transport.loseConnection()
        await term.closed
    finally:
        await port.stopListening()
    assert not (tmp_path / "shell-audit.log").exists()


@pytest_twisted.ensureDeferred
async def test_without_authentication_the_operator_is_anonymous(tmp_path: Path) -> None:
    port = await serve(tmp_path, authentication=False)
    first, second = await connect(port), await connect(port)
    try:
        assert (await first.until("jcli : ")).endswith("Session ref: 1\njcli : ")
        assert (await second.until("jcli : ")).endswith("Session ref: 2\njcli : ")
        first.type("group -a\r\ngid g2\r\nok\r\n")
        await first.until("Successfully added Group [g2]\njcli : ")
        second.type("group -l\r\n")
        assert (await second.until("Total Groups: 1\n")).startswith("group -l\n#Group id")
        for t in (first, second):
            t.transport.loseConnection()
            await t.closed
    finally:
        await port.stopListening()
    audit = json.loads((tmp_path / "shell-audit.log").read_text())
    assert audit["operator"] == "Anonymous"


@pytest_twisted.ensureDeferred
async def test_typed_ahead_lines_run_in_order(tmp_path: Path) -> None:
    port = await serve(tmp_path, authentication=False)
    term = await connect(port)
    try:
        await term.until("jcli : ")
        term.type("group -a\r\ngid a\r\nok\r\ngroup -a\r\ngid b\r\nok\r\ngroup -l\r\n")
        shown = await term.until("Total Groups: 2\n")
        assert "#a               \n#b               \n" in shown
        term.transport.loseConnection()
        await term.closed
    finally:
        await port.stopListening()


TRANSCRIPT = """jcli : group -a
Adding a new Group: (ok: save, ko: exit)
> gid marketing
> ok
Successfully added Group [marketing]
jcli : user -a
Adding a new User: (ok: save, ko: exit)
> username foo
> password bar
> gid marketing
> uid foo
> mt_messaging_cred valuefilter src_addr ^JASMIN$
> mt_messaging_cred quota smpps_throughput 2
> smpps_cred quota max_bindings 2
> ok
Successfully added User [foo] to Group [marketing]
jcli : user -l
#User id          Group id         Username         Balance MT SMS Throughput
#foo              marketing        foo              ND (!)  ND (!) ND/2.0  
Total Users: 1
jcli : user -x
no such option: -x
Usage: user [options] 
"""


@pytest_twisted.ensureDeferred
async def test_a_transcript_over_telnet_shows_what_the_interpreter_says(tmp_path: Path) -> None:
    port = await serve(tmp_path, authentication=False)
    term = await connect(port)
    try:
        await term.until("jcli : ")
        shown = "jcli : "
        for line in TRANSCRIPT.splitlines():
            prompt = next((p for p in ("jcli : ", "> ") if line.startswith(p)), None)
            if prompt is not None:
                term.type(line[len(prompt):] + "\r\n")
                shown += await term.until_prompt()
        assert shown.startswith(TRANSCRIPT)
        term.transport.loseConnection()
        await term.closed
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_up_arrow_recalls_the_previous_line(tmp_path: Path) -> None:
    port = await serve(tmp_path, authentication=False)
    term = await connect(port)
    try:
        await term.until("jcli : ")
        term.type("group -l\r\n")
        await term.until("Total Groups: 0\njcli : ")
        term.type("\x1b[A")                              # UP: the last line comes back
        assert await term.until("group -l") == "group -l"
        term.type("\r\n")
        assert await term.until_prompt() == "\nTotal Groups: 0\njcli : "
        term.transport.loseConnection()
        await term.closed
    finally:
        await port.stopListening()
