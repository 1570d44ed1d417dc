# tests: tests/unit/test_shell_session.py
"""jCli's command grammar: a leading command word, then optparse options (reference §7.1).

Rules:
- The command is the leading run of `[A-Za-z0-9_]`; `?x` means `help x`; the rest is split
  on whitespace and parsed with the standard library's optparse, as jCli does, so that
  option errors read the same (`no such option: -u`, `-u option requires 1 argument`) and
  `help <cmd>` prints the same usage block. The help width is fixed (78 columns, optparse's
  default on an 80-column terminal): it never depends on the daemon's environment.
- A command runs the action of the first option given, in declaration order; none given is
  `Missing required option`.
"""
from __future__ import annotations

import optparse
import string
from dataclasses import dataclass, field
from typing import Any, Callable

from .reply import Reply, say

IDENT = frozenset(string.ascii_letters + string.digits + "_")
HELP_WIDTH = 78


@dataclass(frozen=True)
class Context:
    """What a command handler may use: the service API, the dead-letter queues
    (`Queues` of smscd.stores.interfaces), the profile files, billing (`Billing` of
    smscd.stores.billing_interface), the REST API keys (smscd.stores.sqlite_api_keys) and
    who is asking."""
    service: Any
    operator: str
    session_ref: int
    queues: Any = None
    profiles: Any = None
    billing: Any = None
    api_keys: Any = None
    stats: Any = None                     # smscd.stats.Stats of the running daemon


Action = Callable[[Context, Any, str], Reply]     # (context, option value, rest of line)


@dataclass(frozen=True)
class Opt:
    """One option. `takes` names its metavar when it takes a value (a flag otherwise)."""
    short: str | None
    long: str
    help: str
    action: Action | None = None          # None: a setting read by Command.run
    takes: str | None = None


@dataclass(frozen=True)
class Command:
    name: str
    doc: str
    options: tuple[Opt, ...] = ()
    arg_desc: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    # a command whose options are all settings (persist -p) runs `run` with them instead
    run: Callable[[Context, optparse.Values, str], Reply] | None = None

    def parser(self) -> optparse.OptionParser:
        parser = _Parser(prog=self.name, usage=f"%prog [options] {self.arg_desc}",
                         add_help_option=False,
                         formatter=optparse.IndentedHelpFormatter(width=HELP_WIDTH))
        for opt in self.options:
            names = [n for n in (opt.short, opt.long) if n]
            if opt.takes is None:
                parser.add_option(*names, action="store_true", help=opt.help)
            else:
                parser.add_option(*names, type="string", metavar=opt.takes, help=opt.help,
                                  default=self.defaults.get(_dest(opt.long)))
        return parser

    def help(self) -> str:
        return self.doc + "\n" + self.parser().format_help()

    def execute(self, ctx: Context, rest: str) -> Reply:
        parser = self.parser()
        try:
            opts, args = parser.parse_args(rest.split())
        except optparse.OptParseError as e:
            return say(str(e), parser.format_help().rstrip("\n"))
        arg = " ".join(args)
        if self.run is not None:
            return self.run(ctx, opts, arg)
        for opt in self.options:
            value = getattr(opts, _dest(opt.long))
            if value and opt.action is not None:
                return opt.action(ctx, value, arg)
        return say("Missing required option")


class _Parser(optparse.OptionParser):
    def error(self, msg: str) -> Any:
        raise optparse.OptParseError(msg)


def _dest(long: str) -> str:
    return long.lstrip("-").replace("-", "_")


def split_command(line: str) -> tuple[str, str]:
    """(command word, rest) of a stripped line; `?x` is `help x`."""
    if line.startswith("?"):
        line = "help " + line[1:]
    i = 0
    while i < len(line) and line[i] in IDENT:
        i += 1
    return line[:i], line[i:].strip()
