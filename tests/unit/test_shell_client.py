"""What `smscd shell` makes of the server's bytes: the text a terminal would show."""
from __future__ import annotations

from smscd.shell.client import TerminalText, ends_with_prompt


def feed_in_pieces(data: bytes, step: int) -> str:
    t = TerminalText()
    return "".join(t.feed(data[i:i + step]) for i in range(0, len(data), step))


def test_telnet_commands_and_ansi_escapes_are_dropped_in_any_chunking():
    data = (b"\xff\xfb\x01\xff\xfd\x1f\x1bc\x1b[4hAuthentication required.\r\n\r\n"
            b"\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0Username: caf\xc3\xa9 \xff\xff\r\n")
    for step in range(1, len(data) + 1):
        assert feed_in_pieces(data, step) == \
            "Authentication required.\n\nUsername: café \xff\n".replace("\xff", "\ufffd")


def test_a_prompt_counts_only_at_the_start_of_a_line():
    assert ends_with_prompt("Session ref: 1\njcli : ") == "jcli : "
    assert ends_with_prompt("> ") == "> "
    assert ends_with_prompt("Adding a new Group: (ok: save, ko: exit)\n> ") == "> "
    assert ends_with_prompt("#x <T> > ") is None
    assert ends_with_prompt("output\n") is None
