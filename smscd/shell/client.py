# tests: tests/integration/test_shell_cli.py
"""The client side of `smscd shell`: log in to the daemon's telnet shell and run lines.

Rules:
- The bytes from the server are turned into what a terminal would show: telnet commands
  (IAC ...) and ANSI escapes are dropped, CRLF becomes LF. The client answers no telnet
  negotiation; the server does not need it.
- A line is sent only once the server shows a prompt (`jcli : ` or `> ` at the start of a
  line), so drafts and slow calls run in order; the server's echo of the line is split
  from its answer, so a caller can print the answer alone (`-c`) or the prompt, the line
  and the answer as a terminal shows them (piped input).
"""
from __future__ import annotations

import codecs
import socket
from typing import Callable

IAC, SB, SE = 255, 250, 240
ESC = 0x1B
PROMPTS = ("jcli : ", "> ")
REFUSALS = ("Incorrect Username/Password.", "Too many failed logins")


class TerminalText:
    """Bytes from a telnet server -> the text it shows; keeps partial sequences between
    calls."""

    def __init__(self) -> None:
        self._raw = bytearray()
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, data: bytes) -> str:
        self._raw += data
        out = bytearray()
        raw, i = self._raw, 0
        while i < len(raw):
            b = raw[i]
            if b == ESC:
                end = _escape_end(raw, i)
                if end is None:
                    break                                   # wait for the rest of it
                i = end
                continue
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
        return self._utf8.decode(bytes(out)).replace("\r\n", "\n").replace("\r", "")


def _escape_end(raw: bytearray, i: int) -> int | None:
    """Where the ANSI escape sequence starting at `raw[i]` ends, None if incomplete:
    ESC [ params final (a CSI), or ESC and one more byte."""
    if i + 1 >= len(raw):
        return None
    if raw[i + 1] != ord("["):
        return i + 2
    for j in range(i + 2, len(raw)):
        if 0x40 <= raw[j] <= 0x7E:
            return j + 1
    return None


def ends_with_prompt(text: str) -> str | None:
    """The prompt `text` ends with, when it stands at the start of a line."""
    for prompt in PROMPTS:
        if text.endswith(prompt) and (len(text) == len(prompt)
                                      or text[-len(prompt) - 1] == "\n"):
            return prompt
    return None


class LoginRefused(Exception):
    """The shell refused the login; the message is its line."""


class BlockingShell:
    """A blocking client of the shell (the CLI has nothing else to do meanwhile)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.text = TerminalText()
        self.prompt = PROMPTS[0]

    def _read(self, until: Callable[[str], bool]) -> str:
        shown = ""
        while not until(shown):
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the shell closed the connection")
            shown += self.text.feed(data)
        return shown

    def _send(self, line: str) -> None:
        self.sock.sendall(line.replace("\t", " ").encode("utf-8") + b"\r\n")

    def login(self, username: str, password: str) -> str:
        """Answer the login prompts if asked; the welcome text (up to the first prompt)."""
        def ready(shown: str) -> bool:
            return shown.endswith(("Username: ", "Password: ")) or bool(
                "Session ref: " in shown and ends_with_prompt(shown)) or any(
                ln.startswith(REFUSALS) for ln in shown.splitlines()[:-1])

        sent_password = False
        while True:
            shown = self._read(ready)
            refused = [ln for ln in shown.splitlines() if ln.startswith(REFUSALS)]
            if refused:
                raise LoginRefused(refused[0])
            if shown.endswith("Username: "):
                if sent_password:
                    raise LoginRefused("Incorrect Username/Password.")
                self._send(username)
            elif shown.endswith("Password: "):
                self._send(password)
                sent_password = True
            else:
                self.prompt = ends_with_prompt(shown) or PROMPTS[0]
                welcome = shown[:-len(self.prompt)]
                return welcome[max(welcome.find("Welcome to"), 0):].rstrip("\n")

    def run(self, line: str) -> tuple[str, str]:
        """Send one line; (the prompt it was typed at, the answer without the echo)."""
        typed_at = self.prompt
        self._send(line)
        shown = self._read(lambda s: ends_with_prompt(s) is not None)
        self.prompt = ends_with_prompt(shown) or PROMPTS[0]
        _, _, answer = shown[:-len(self.prompt)].partition("\n")
        return typed_at, answer.rstrip("\n")

    def quit(self) -> None:
        try:
            self._send("quit")
            self._read(lambda s: False)
        except (ConnectionError, OSError):
            pass
