# tests: tests/integration/test_shell_telnet.py
"""The shell over telnet: Twisted conch's TelnetTransport, insults and HistoricRecvLine.

This layer only moves characters: line editing, history and TAB come from conch; each
finished line goes to the pure `Session` (or to the login steps before it), and the lines
it answers are written back with CRLF. A service call is awaited here, and lines typed
meanwhile are held and fed one by one after it, so a pasted runbook runs in order.

Login (when `authentication` is on): `Authentication required.`, `Username: `,
`Password: ` (not echoed), scrypt check off the reactor thread, lockout per peer address
and per username with growing delay (smscd/lockout.py), `Incorrect Username/Password.`
on failure, and the connection closed after LOGIN_TIMEOUT without a login. A line is cut
at MAX_LINE characters and at most MAX_HELD lines are held, so no client grows memory. Every change (a service call) is written to the audit log with the operator,
the peer and the session ref. A bug in a command handler is logged and reported as one
line; it never closes the session or reaches the daemon.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from twisted.conch.insults import insults
from twisted.conch.recvline import HistoricRecvLine
from twisted.conch.telnet import (ECHO, LINEMODE, NAWS, SGA, TelnetBootstrapProtocol,
                                  TelnetTransport)
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.protocol import ServerFactory
from twisted.internet.threads import deferToThread
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd import __version__
from smscd.lockout import BindLockout
from smscd.service.api import ServiceError

from .audit import AuditLog
from .grammar import Command
from .operators import LOCAL_USER, Operators
from .reply import Call, Reply
from .session import Session

log = Logger(namespace="smscd.shell")

Verifier = Callable[[str, str], "Deferred[bool]"]
ANONYMOUS = "Anonymous"
LOGIN_TIMEOUT = 60.0       # seconds to log in before the connection is closed
MAX_LINE = 4096            # characters kept of one line
MAX_HELD = 1000            # lines typed ahead of a running call
LOCAL_OPERATOR = "local"


class ShellFactory(ServerFactory):
    """Builds one telnet shell per connection; `session_ref` counts connections."""

    def __init__(self, commands: Sequence[Command], service: Any, audit: AuditLog,
                 clock: Any, authentication: bool = True,
                 operators: Operators | None = None, verify: Verifier | None = None,
                 lockout: BindLockout | None = None, queues: Any = None,
                 profiles: Any = None, billing: Any = None, api_keys: Any = None,
                 stats: Any = None) -> None:
        self.commands = commands
        self.service = service
        self.queues, self.profiles, self.billing = queues, profiles, billing
        self.api_keys, self.stats = api_keys, stats
        self.audit = audit
        self.clock = clock
        self.authentication = authentication
        if verify is None and operators is not None:
            checker = operators.verify
            verify = lambda u, p: deferToThread(checker, u, p)    # noqa: E731
        self.verify = verify
        self.lockout = lockout or BindLockout(free_failures=3, base_delay=2.0, max_delay=300.0)
        self.session_ref = 0

    def buildProtocol(self, addr: Any) -> TelnetTransport:
        proto = TelnetTransport(_Bootstrap, insults.ServerProtocol, ShellProtocol, self)
        proto.factory = self
        return proto


def _check_failed(failure: Failure) -> bool:
    log.failure("operator check failed", failure)
    return False


class _Bootstrap(TelnetBootstrapProtocol):
    """conch's bootstrap, without logging a failure each time a client (`smscd shell`,
    a script) ignores or drops the option negotiation: that is allowed."""

    def connectionMade(self) -> None:
        telnet: Any = self.transport
        telnet.negotiationMap[NAWS] = self.telnet_NAWS
        telnet.negotiationMap[LINEMODE] = self.telnet_LINEMODE
        for opt in (LINEMODE, NAWS, SGA):
            telnet.do(opt).addErrback(lambda _: None)
        telnet.will(ECHO).addErrback(lambda _: None)
        protocol: Any = self.protocolFactory(*self.protocolArgs, **self.protocolKwArgs)
        protocol.factory = self.factory
        self.protocol = protocol
        protocol.makeConnection(self)


class ShellProtocol(HistoricRecvLine):
    def __init__(self, shell: ShellFactory) -> None:
        super().__init__()
        self.shell = shell
        self.session: Session | None = None
        self.username: str | None = None      # typed at the login prompt
        self.prompt = ""
        self.busy = False                     # a call or a password check is running
        self.held: list[str] = []
        self.peer = "unknown"
        self.gone = False
        self.login_timer: Any = None

    # --- conch hooks ---------------------------------------------------------------------------

    def connectionMade(self) -> None:
        super().connectionMade()
        peer = self.terminal.transport.transport.getPeer()
        self.peer = f"{getattr(peer, 'host', '?')}:{getattr(peer, 'port', '?')}"
        self.shell.session_ref += 1
        self.ref = self.shell.session_ref
        if self.shell.authentication:
            self.login_timer = self.shell.clock.callLater(LOGIN_TIMEOUT, self._login_timeout)
            self._write(["Authentication required.", ""])
            self._prompt("Username: ")
        else:
            self._open(ANONYMOUS)

    def _login_timeout(self) -> None:
        self.login_timer = None
        self._write(["", "Login timed out."])
        self.terminal.loseConnection()

    def initializeScreen(self) -> None:
        self.terminal.reset()
        self.setInsertMode()

    def terminalSize(self, width: int, height: int) -> None:
        self.width, self.height = width, height          # no redraw: the prompt stays put

    def drawInputLine(self) -> None:
        self.terminal.write((self.prompt + "".join(self._buffer())).encode())

    def characterReceived(self, ch: bytes, moreCharactersComing: bool) -> None:
        if len(self.lineBuffer) >= MAX_LINE:           # a line that long is not typed
            return
        if self._in_password():
            self.lineBuffer.insert(self.lineBufferIndex, ch)
            self.lineBufferIndex += 1
            return
        super().characterReceived(ch, moreCharactersComing)

    def handle_RETURN(self) -> None:
        line = b"".join(self.lineBuffer)
        if line and not self._in_password() and self.session is not None:
            self.historyLines.append(line)
        self.historyPosition = len(self.historyLines)
        self.lineBuffer, self.lineBufferIndex = [], 0
        self.terminal.write(b"\r\n")
        self.lineReceived(line)

    def handle_TAB(self) -> None:
        if self.session is None or self.busy:
            return
        typed = "".join(self._buffer())
        completed, candidates = self.session.complete(typed)
        if candidates:
            self._write(["", " ".join(candidates)])
            self.terminal.write((self.prompt + completed).encode())
        elif completed != typed:
            self.terminal.write(completed[len(typed):].encode())
        self.lineBuffer = [bytes([b]) for b in completed.encode()]
        self.lineBufferIndex = len(self.lineBuffer)

    def lineReceived(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace")
        if self.busy:
            if len(self.held) >= MAX_HELD:
                log.warn("shell session {ref}: more than {n} lines typed ahead, closing",
                         ref=self.ref, n=MAX_HELD)
                self.terminal.loseConnection()
                return
            self.held.append(line)
            return
        if self.session is None:
            self._login_line(line)
        else:
            self._command_line(self.session, line)

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.login_timer is not None and self.login_timer.active():
            self.login_timer.cancel()
        self.gone = True
        self.held.clear()
        self.session = None

    # --- login -------------------------------------------------------------------------------

    def _in_password(self) -> bool:
        return self.session is None and self.username is not None

    def _login_line(self, line: str) -> None:
        if self.username is None:
            name = line.strip()
            if name:
                self.username = name
                self._prompt("Password: ")
            else:
                self._prompt("Username: ")
            return
        username, self.username = self.username, None
        keys = (f"peer:{self.peer.rsplit(':', 1)[0]}", f"operator:{username}")
        now = self.shell.clock.seconds()
        left = self.shell.lockout.locked_for(keys, now)
        if left > 0:
            self._write([f"Too many failed logins: try again in {int(left) + 1} s."])
            self._prompt("Username: ")
            return
        verify = self.shell.verify
        if verify is None:
            self._login_failed(keys)
            return
        self.busy = True
        d = maybeDeferred(verify, username, line.rstrip("\r\n"))
        d.addErrback(_check_failed)
        d.addCallback(self._login_checked, username, keys)

    def _login_checked(self, ok: bool, username: str, keys: tuple[str, ...]) -> None:
        self.busy = False
        if self.gone:
            return
        if ok:
            self.shell.lockout.succeeded(keys)
            self._open(LOCAL_OPERATOR if username == LOCAL_USER else username)
        else:
            self.shell.lockout.failed(keys, self.shell.clock.seconds())
            log.info("shell login refused for {username!r} from {peer}",
                     username=username, peer=self.peer)
            self._login_failed(keys)
        self._drain()

    def _login_failed(self, keys: tuple[str, ...]) -> None:
        self._write(["Incorrect Username/Password."])
        self._prompt("Username: ")

    def _open(self, operator: str) -> None:
        if self.login_timer is not None and self.login_timer.active():
            self.login_timer.cancel()
        shell = self.shell
        self.session = Session(shell.commands, shell.service, operator, self.ref,
                               queues=shell.queues, profiles=shell.profiles,
                               billing=shell.billing, api_keys=shell.api_keys,
                               stats=shell.stats)
        log.info("shell session {ref} opened by {operator} from {peer}", ref=self.ref,
                 operator=operator, peer=self.peer)
        self._write([f"Welcome to smscd {__version__} console",
                     "Type help or ? to list commands.", "", f"Session ref: {self.ref}"])
        self._prompt(self.session.prompt)

    # --- commands ------------------------------------------------------------------------------

    def _command_line(self, session: Session, line: str) -> None:
        try:
            reply = session.step(line)
        except Exception:
            log.failure("shell command {line!r} failed", line=line)
            reply = Reply(lines=("Error: internal error, see the daemon log",))
        self._render(session, reply)

    def _render(self, session: Session, reply: Reply) -> None:
        self._write(list(reply.lines))
        if reply.call is not None:
            self.busy = True
            call = reply.call
            d = maybeDeferred(call.run)
            d.addCallbacks(self._call_done, self._call_failed, callbackArgs=(session, call),
                           errbackArgs=(session, call))
            return
        if session.closed:
            self.terminal.loseConnection()
            return
        self._prompt(session.prompt)
        self._drain()

    def _call_done(self, result: Any, session: Session, call: Call) -> None:
        self._audit(session, call, None)
        self._after(session, lambda: session.finish(call, result, True))

    def _call_failed(self, failure: Failure, session: Session, call: Call) -> None:
        if not failure.check(ServiceError):
            log.failure("shell call {what!r} failed", failure, what=call.audit)
        self._audit(session, call, failure.getErrorMessage())
        self._after(session, lambda: session.finish(call, failure.value, False))

    def _after(self, session: Session, follow: Callable[[], Reply]) -> None:
        self.busy = False
        if self.session is not session:           # the connection went away meanwhile
            return
        try:
            reply = follow()
        except Exception:
            log.failure("shell follow-up failed")
            reply = Reply(lines=("Error: internal error, see the daemon log",))
        self._render(session, reply)

    def _audit(self, session: Session, call: Call, error: str | None) -> None:
        if call.audit is None:
            return
        try:
            self.shell.audit.record(session.ctx.operator, self.peer, self.ref, call.audit,
                                    ok=error is None, error=error)
        except OSError:
            log.failure("cannot write the shell audit log")

    # --- output --------------------------------------------------------------------------------

    def _drain(self) -> None:
        while self.held and not self.busy and not self.gone:
            self.lineReceived(self.held.pop(0).encode())

    def _write(self, lines: list[str]) -> None:
        for line in lines:
            self.terminal.write(line.replace("\n", "\r\n").encode() + b"\r\n")

    def _prompt(self, prompt: str) -> None:
        self.prompt = prompt
        self.terminal.write(prompt.encode())

    def _buffer(self) -> list[str]:
        return [b.decode("utf-8", "replace") for b in self.lineBuffer]
