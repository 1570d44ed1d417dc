# tests: tests/unit/test_shell_operators.py
"""Private files of the shell in the data directory, written atomically with mode 0600.

The operator accounts and the local token are secrets of the daemon's user: they are
created 0600 from the start (never chmod-ed after being readable), replaced with
os.replace after an fsync, so a crash leaves the old file or the new one, never half.
"""
from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, readable and writable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)            # an old .tmp left by a crash may have other bits
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
