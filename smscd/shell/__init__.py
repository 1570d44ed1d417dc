# tests: tests/unit/test_shell_session.py
"""The jCli-compatible admin shell.

The interpreter is pure (session.py, drafts.py and one module per jCli module: it returns
lines and service calls to make, never touches a socket or the reactor); transport.py
serves it over Twisted conch telnet; operators.py and audit.py hold who may log in and
what they changed.
"""
