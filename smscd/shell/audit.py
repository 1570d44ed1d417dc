# tests: tests/unit/test_shell_operators.py
"""The audit log: one JSON line per change made from the shell (who, when, what, where).

Written to `<data_dir>/shell-audit.log`, appended and flushed per line, so that `tail -f`
and log shippers see each change as it happens. `what` is the command as the operator
typed it, drafts included, with password values masked; `ok` and `error` say how it
ended. Reads (listings, show, stats) are not changes and are not logged.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

AUDIT_FILE = "shell-audit.log"


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, operator: str, peer: str, session_ref: int, what: str, ok: bool,
               error: str | None = None, now: datetime | None = None) -> None:
        at = (now or datetime.now(timezone.utc)).isoformat(timespec="milliseconds")
        entry = {"at": at, "operator": operator, "peer": peer, "session": session_ref,
                 "what": what, "ok": ok}
        if error is not None:
            entry["error"] = error
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
