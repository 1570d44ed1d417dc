# tests: tests/unit/test_shell_modules.py
"""Profile files for `persist` / `load`: `<data_dir>/profiles/<name>.yaml`.

The service exports and imports the YAML text (versioned, never pickle); this only keeps
it on disk under a safe name (no path separators: `-p ../x` is refused), written
atomically with mode 0600 since a profile holds password hashes.
"""
from __future__ import annotations

import re
from pathlib import Path

from .files import write_private

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


class ProfileFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"profile name {name!r}: 1..64 characters among A-Z a-z 0-9 _ . -")
        return self.directory / f"{name}.yaml"

    def save(self, name: str, text: str) -> Path:
        path = self.path(name)
        write_private(path, text.encode("utf-8"))
        return path

    def read(self, name: str) -> str:
        path = self.path(name)
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ValueError(f"no profile {name!r} ({path})") from None
