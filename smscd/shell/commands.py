# tests: tests/unit/test_shell_session.py
"""The shell's commands, in jCli's `help` order, then smscd's additions."""
from __future__ import annotations

from . import group, httpccm, interceptor, persist, queue, router, smppccm, stats, user
from . import filter as filter_module
from .grammar import Command

COMMANDS: tuple[Command, ...] = (
    persist.PERSIST, persist.LOAD, user.COMMAND, group.COMMAND, filter_module.COMMAND,
    interceptor.MO_COMMAND, interceptor.MT_COMMAND, router.MO_COMMAND, router.MT_COMMAND,
    smppccm.COMMAND, httpccm.COMMAND, stats.COMMAND, queue.COMMAND,
)
