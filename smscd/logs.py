# tests: tests/integration/test_daemon.py
"""Daemon logging: Twisted's logger, one line per event, at the configured level."""
from __future__ import annotations

import sys
from pathlib import Path

from twisted.logger import (FilteringLogObserver, LogLevel, LogLevelFilterPredicate,
                            globalLogBeginner, textFileLogObserver)

_LEVELS = {"debug": LogLevel.debug, "info": LogLevel.info, "warning": LogLevel.warn,
           "error": LogLevel.error}


def start_logging(level: str, file: Path | None) -> None:
    stream = open(file, "a", encoding="utf-8") if file is not None else sys.stderr
    # zope interfaces do not type-check without a mypy plugin (see smscd/smpp_protocol.py)
    observer = FilteringLogObserver(
        textFileLogObserver(stream),  # type: ignore[arg-type]
        [LogLevelFilterPredicate(defaultLogLevel=_LEVELS[level])])  # type: ignore[list-item]
    globalLogBeginner.beginLoggingTo([observer],  # type: ignore[list-item]
                                     redirectStandardIO=False)
