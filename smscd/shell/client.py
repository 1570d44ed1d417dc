# tests: tests/integration/test_shell_cli.py
"""The client side of `smscd shell`: log in to the daemon's telnet shell and run lines.

Rules:
- The bytes from the server are turned into what a terminal would show: telnet commands
  (IAC ...) and ANSI escapes are dropped, CRLF becomes LF. The client answers no telnet
  negotiation; the server does not need it.
- A line is sent only once the server shows a prompt (`jcli : ` or `> ` at the start of a
  line), so drafts and slow calls run in order. After the last line the client sends
  `quit`.
- `show_all` (input piped in) prints everything the terminal would show after the login:
  the welcome text, each prompt with the line typed, each answer. Otherwise (`-c`) only
  the answers are printed, without prompts or the echoed command.
"""
from __future__ import annotations

import re
from typing import Callable

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure

IAC, SB, SE = 255, 250, 240
_ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[@-Z\\^_`a-z])")
PROMPTS = ("jcli : ", "> ")


class TerminalText:
    """Bytes from a telnet server -> the text it shows; keeps partial sequences between
    calls."""

    def __init__(self) -> None:
        self._raw = bytearray()

    def feed(self, data: bytes) -> str:
        self._raw += data
        out = bytearray()
        raw, i = self._raw, 0
        while i < len(raw):
            b = raw[i]
            if b != IAC:
                out.append(b)
                i += 1
                continue
            if i + 1 >= len(raw):
                break                                   # wait for the command byte
            cmd = raw[i + 1]
            if cmd == IAC:
                out.append(IAC)
                i += 2
            elif 251 <= cmd <= 254:
                if i + 2 >= len(raw):
                    break
                i += 3
            elif cmd == SB:
                end = raw.find(bytes([IAC, SE]), i + 2)
                if end < 0:
                    break
                i = end + 2
            else:
                i += 2
        del self._raw[:i]
        text = out.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "")
        return _ANSI.sub("", text)


def ends_with_prompt(text: str) -> str | None:
    """The prompt `text` ends with, when it stands at the start of a line."""
    for prompt in PROMPTS:
        if text.endswith(prompt) and (len(text) == len(prompt)
                                      or text[-len(prompt) - 1] == "\n"):
            return prompt
    return None


class ShellClient(Protocol):
    """Logs in with (username, password) when asked, runs `lines`, then quits. `done`
    fires with an exit status: 0, or 1 when the login failed or the connection dropped."""

    def __init__(self, username: str, password: str, lines: list[str],
                 out: Callable[[str], None], show_all: bool) -> None:
        self.username, self.password = username, password
        self.lines = list(lines)
        self.out, self.show_all = out, show_all
        self.text = TerminalText()
        self.pending = ""                 # shown since the last prompt
        self.logged_in = False
        self.quitting = False
        self.status = 1
        self.last_prompt = PROMPTS[0]
        self.done: Deferred[int] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.pending += self.text.feed(data)
        if not self.logged_in:
            self._login()
            return
        prompt = ends_with_prompt(self.pending)
        if prompt is not None:
            self._answer(self.pending[:-len(prompt)])
            self.pending = ""
            self._next(prompt)

    def _login(self) -> None:
        refused = [ln for ln in self.pending.splitlines()
                   if ln.startswith(("Incorrect Username/Password.", "Too many failed"))]
        if refused:
            self.out(refused[0])
            self.transport.loseConnection()
            return
        if self.pending.endswith("Username: "):
            self.pending = ""
            self.transport.write(self.username.encode() + b"\r\n")
        elif self.pending.endswith("Password: "):
            self.pending = ""
            self.transport.write(self.password.encode() + b"\r\n")
        elif "Session ref: " in self.pending:
            prompt = ends_with_prompt(self.pending)
            if prompt is None:
                return
            self.logged_in = True
            welcome = self.pending[:-len(prompt)]
            if self.show_all:
                self.out(welcome[max(welcome.find("Welcome to"), 0):].rstrip("\n"))
            self.pending = ""
            self._next(prompt)

    def _answer(self, shown: str) -> None:
        """What came back between two prompts: the echoed line, then its answer."""
        echo, _, answer = shown.partition("\n")
        if self.show_all:
            self.out(self.last_prompt + echo)
        if answer:
            self.out(answer.rstrip("\n"))

    def _next(self, prompt: str) -> None:
        self.last_prompt = prompt
        if self.lines:
            line = self.lines.pop(0).replace("\t", " ").rstrip("\r\n")
            self.transport.write(line.encode() + b"\r\n")
        elif not self.quitting:
            self.quitting = True
            self.status = 0
            self.transport.write(b"quit\r\n")

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.logged_in and self.show_all and self.pending.strip() not in ("", "quit"):
            self.out(self.pending.rstrip("\n"))
        self.done.callback(self.status)
