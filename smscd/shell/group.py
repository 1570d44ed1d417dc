# tests: tests/unit/test_shell_modules.py
"""jCli `group`: list, add (draft with the one key `gid`), enable, disable, remove (§7.3)."""
from __future__ import annotations

from smscd.service.api import AlreadyExists

from .common import exists, refusal, row, simple_call
from .drafts import KeyDraft, accept
from .grammar import Action, Command, Context, Opt
from .reply import Reply, call, say


def _list(ctx: Context, _: object, arg: str) -> Reply:
    groups = ctx.service.groups.list()
    lines = [row(["Group id"], [16])] if groups else []
    lines += [row([("" if g.enabled else "!") + g.gid], [16]) for g in groups]
    return say(*lines, f"Total Groups: {len(groups)}")


def _add(ctx: Context, _: object, arg: str) -> Reply:
    def save(values: dict[str, object]) -> Reply:
        if "gid" not in values:
            return say("You must set Group id (gid) before saving !")
        gid = str(values["gid"])
        added = Reply(lines=(f"Successfully added Group [{gid}]",), leave_draft=True)

        def failed(e: Exception) -> Reply:       # adding it again keeps it, as in Jasmin
            if isinstance(e, AlreadyExists):
                return added
            return say(refusal(e, "Failed adding Group, check log for details"))

        return call(lambda: ctx.service.groups.add(gid), f"group -a: gid {gid}",
                    lambda _: added, failed)

    draft = KeyDraft("Adding a new Group: (ok: save, ko: exit)", {"gid": accept},
                     "Unknown Group key: %s", save)
    return Reply(lines=(draft.announcement,), draft=draft)


def _on_group(verb: str, done: str) -> Action:
    def action(ctx: Context, gid: str, arg: str) -> Reply:
        groups = ctx.service.groups
        if not exists(groups.get, gid):
            return say(f"Unknown Group: {gid}")
        return simple_call(lambda: getattr(groups, verb)(gid), f"group --{verb}={gid}",
                           f"Successfully {done} Group id:{gid}",
                           f"Failed {verb.rstrip('e')}ing Group, check log for details")
    return action


COMMAND = Command("group", "Group management", (
    Opt("-l", "--list", "List groups", _list),
    Opt("-a", "--add", "Add group", _add),
    Opt("-e", "--enable", "Enable group using it's GID", _on_group("enable", "enabled"), "GID"),
    Opt("-d", "--disable", "Disable group using it's GID", _on_group("disable", "disabled"),
        "GID"),
    Opt("-r", "--remove", "Remove group using it's GID", _on_group("remove", "removed"), "GID"),
))
