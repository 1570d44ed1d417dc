# tests: tests/unit/test_shell_session.py
"""One shell session: the pure step function from a typed line to what the terminal shows.

State is small: the draft being edited (if any) and whether the session has ended. A step
returns a `Reply`; when it carries a `Call`, the driver runs it and passes the outcome to
`finish`, which applies the follow-up `Reply` (leaving the draft after a successful save).
The driver must not feed the next line before `finish` (the transport holds lines meanwhile).
Prompts, help layout, `quit` and the unknown-command line follow jCli (reference §7.1).
"""
from __future__ import annotations

from typing import Any, Sequence

from .drafts import Draft
from .grammar import Command, Context, split_command
from .reply import Call, Reply, say

PROMPT = "jcli : "
DRAFT_PROMPT = "> "
HELP_DOC = 'List available commands with "help" or detailed help with "help cmd".'
QUIT_DOC = "Disconnect from console"


class Session:
    def __init__(self, commands: Sequence[Command], service: Any, operator: str,
                 session_ref: int, queues: Any = None, profiles: Any = None,
                 billing: Any = None, api_keys: Any = None, stats: Any = None) -> None:
        self.commands = {c.name: c for c in commands}
        self.ctx = Context(service=service, operator=operator, session_ref=session_ref,
                           queues=queues, profiles=profiles, billing=billing,
                           api_keys=api_keys, stats=stats)
        self.draft: Draft | None = None
        self.closed = False

    @property
    def prompt(self) -> str:
        return DRAFT_PROMPT if self.draft is not None else PROMPT

    def step(self, line: str) -> Reply:
        line = line.strip()
        if self.draft is not None:
            return self._apply(self._draft_line(self.draft, line))
        if not line:
            return Reply()
        word, rest = split_command(line)
        if word == "quit":
            return self._apply(Reply(close=True))
        if word == "help":
            return say(self.help(rest))
        command = self.commands.get(word)
        if command is None:
            return say(f"Incorrect command: {line}, type help for a list of commands")
        return self._apply(command.execute(self.ctx, rest))

    def finish(self, call: Call, outcome: Any, ok: bool) -> Reply:
        """The follow-up of `call`, which succeeded with `outcome` or failed with it."""
        return self._apply(call.done(outcome) if ok else call.failed(outcome))

    def _draft_line(self, draft: Draft, line: str) -> Reply:
        if not line:
            return Reply()
        if line == "ko":
            return Reply(leave_draft=True)
        if line == "quit":
            return say("Exit session before quitting")
        if line == "ok":
            return draft.save()
        key, _, value = line.partition(" ")
        return draft.set(key, value.strip())

    def _apply(self, reply: Reply) -> Reply:
        if reply.draft is not None:
            self.draft = reply.draft
        elif reply.leave_draft:
            self.draft = None
        if reply.close:
            self.closed = True
        return reply

    # --- help and completion ----------------------------------------------------------------

    def help(self, topic: str) -> str:
        if topic:
            if topic == "help":
                return HELP_DOC
            if topic == "quit":
                return QUIT_DOC
            command = self.commands.get(topic)
            return command.help().rstrip("\n") if command else f"*** No help on {topic}"
        title, control = "Available commands:", "Control commands:"
        lines = [title, "=" * len(title)]
        lines += [name.ljust(20) + c.doc for name, c in self.commands.items()]
        lines += ["", control, "=" * len(control),
                  "quit".ljust(20) + QUIT_DOC, "help".ljust(20) + HELP_DOC]
        return "\n".join(lines)

    def complete(self, line: str) -> tuple[str, list[str]]:
        """TAB on `line`: the completed line, and the candidates to list when ambiguous.
        The first word is a command (or a draft key); a draft may offer the later words
        through `choices(words_before)` (credential sections and keys, for instance)."""
        words = line.lstrip().split(" ")
        if len(words) == 1:
            offered: tuple[str, ...] = (self.draft.keys() if self.draft is not None
                                        else (*self.commands, "quit", "help"))
        else:
            choices = getattr(self.draft, "choices", None)
            offered = choices(words[:-1]) if choices is not None else ()
        found = [w for w in offered if w.startswith(words[-1])]
        if len(found) == 1:
            return " ".join(words[:-1] + found) + " ", []
        return line, found if len(found) > 1 else []
