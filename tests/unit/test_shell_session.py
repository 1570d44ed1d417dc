"""The shell's grammar and session rules (reference §7.1), on the pure interpreter."""
from __future__ import annotations

import pytest

from shell_fake import new_session, run, transcript

HELP = """Available commands:
===================
persist             Persist current configuration profile to disk in PROFILE
load                Load configuration PROFILE profile from disk
user                User management
group               Group management
filter              Filter management
mointerceptor       MO Interceptor management
mtinterceptor       MT Interceptor management
morouter            MO Router management
mtrouter            MT Router management
smppccm             SMPP connector management
httpccm             HTTP client connector management
stats               Stats management
queue               Dead-letter queue management

Control commands:
=================
quit                Disconnect from console
help                List available commands with "help" or detailed help with "help cmd".
""".splitlines()

USER_HELP = """User management
Usage: user [options] 

Options:
  -l, --list            List all users or a group users when provided with GID
  -a, --add             Add user
  -e UID, --enable=UID  Enable user
  -d UID, --disable=UID
                        Disable user
  -u UID, --update=UID  Update user using it's UID
  -r UID, --remove=UID  Remove user using it's UID
  -s UID, --show=UID    Show user using it's UID
  --smpp-unbind=UID     Unbind user from smpp server using it's UID
  --smpp-ban=UID        Unbind and ban user from smpp server using it's UID
  --api-key=UID         REST API keys of UID: list, create [LABEL] or revoke
                        KEY_ID""".splitlines()


def test_help_lists_jcli_commands_in_jcli_order_then_additions():
    assert run(new_session(), "help") == HELP


def test_help_cmd_and_question_mark_print_docstring_and_option_help():
    s = new_session()
    assert run(s, "help user") == USER_HELP
    assert run(s, "?user") == USER_HELP


def test_help_width_does_not_depend_on_the_environment(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert run(new_session(), "help user") == USER_HELP


def test_help_on_unknown_and_control_commands():
    s = new_session()
    assert run(s, "help foo") == ["*** No help on foo"]
    assert run(s, "help quit") == ["Disconnect from console"]


def test_unknown_command_and_empty_line():
    s = new_session()
    assert run(s, "foo -l") == ["Incorrect command: foo -l, type help for a list of commands"]
    assert run(s, "") == []
    assert s.prompt == "jcli : "


def test_command_without_option_is_missing_required_option():
    assert run(new_session(), "user") == ["Missing required option"]
    assert run(new_session(), "group marketing") == ["Missing required option"]


@pytest.mark.parametrize("line, error", [
    ("group -u marketing", "no such option: -u"),
    ("user -u", "-u option requires 1 argument"),
    ("smppccm --smpp-ban=x", "no such option: --smpp-ban"),
])
def test_option_errors_are_optparse_words_followed_by_the_usage(line, error):
    out = run(new_session(), line)
    assert out[0] == error
    assert out[1] == f"Usage: {line.split()[0]} [options] "
    assert out[3] == "Options:"


def test_draft_prompt_quit_ko_and_unknown_key():
    s = new_session()
    assert transcript(s, ["group -a", "quit", "foo bar", "", "ko", "group -l"]) == [
        "jcli : group -a", "Adding a new Group: (ok: save, ko: exit)",
        "> quit", "Exit session before quitting",
        "> foo bar", "Unknown Group key: foo",
        "> ",
        "> ko",
        "jcli : group -l", "Total Groups: 0"]


def test_draft_keys_last_value_wins():
    s = new_session()
    transcript(s, ["group -a", "gid first", "gid second", "ok"])
    assert run(s, "group -l")[1:] == ["#second          ", "Total Groups: 1"]


def test_failed_save_keeps_the_draft_open():
    s = new_session()
    transcript(s, ["smppccm -a", "cid cc1", "ok"])
    assert transcript(s, ["smppccm -a", "cid cc1", "ok"])[-1] == \
        "Error: cid: connector 'cc1' exists"
    assert s.prompt == "> "
    assert run(s, "cid cc2") == [] and run(s, "bind_ton 9") == []
    assert run(s, "ok")[0].startswith("Error: bind_ton") and s.prompt == "> "
    assert run(s, "bind_ton 1") == [] and run(s, "ok") == ["Successfully added connector [cc2]"]
    assert s.prompt == "jcli : "


def test_quit_closes_the_session():
    s = new_session()
    run(s, "quit")
    assert s.closed


def test_tab_completion_of_commands_and_draft_keys():
    s = new_session()
    assert s.complete("") == ("", [c for c in HELP_WORDS])
    assert s.complete("sm") == ("smppccm ", [])
    assert s.complete("mt") == ("mt", ["mtinterceptor", "mtrouter"])
    run(s, "user -a")
    assert s.complete("mt_") == ("mt_messaging_cred ", [])
    assert s.complete("u") == ("u", ["uid", "username"])
    assert s.complete("uid fo") == ("uid fo", [])
    assert s.complete("mt_messaging_cred q") == ("mt_messaging_cred quota ", [])
    assert s.complete("mt_messaging_cred quota s") == \
        ("mt_messaging_cred quota s", ["smpps_throughput", "sms_count"])
    assert s.complete("smpps_cred authorization ") == \
        ("smpps_cred authorization ", ["bind", "ip"])


HELP_WORDS = ["persist", "load", "user", "group", "filter", "mointerceptor", "mtinterceptor",
              "morouter", "mtrouter", "smppccm", "httpccm", "stats", "queue", "quit", "help"]


def test_the_interpreter_imports_no_twisted():
    """Only the transport, the listener and the client may touch Twisted or sockets."""
    import ast
    import pathlib

    import smscd.shell

    io_modules = {"transport.py", "listener.py", "client.py"}
    bad = []
    for path in pathlib.Path(smscd.shell.__file__).parent.glob("*.py"):
        if path.name in io_modules:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [(path.name, n) for n in names
                    if n.split(".")[0] in ("twisted", "socket", "asyncio")]
    assert bad == []
