# tests: tests/unit/test_shell_modules.py
"""jCli `user` (reference §7.4, credentials §6.2-§6.3), plus `--api-key`.

The credentials are parsed by smscd/credentials.py, so the shell and every other front end
read `mt_messaging_cred <section> <key> <value>` the same way. The quotas `balance` and
`sms_count` belong to billing (its account per uid, which the Context carries): the user is
saved first, then billing is set, and the line says so if that second step fails.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from dataclasses import dataclass, field
from typing import Any, Callable

from smscd.credentials import (BILLING_QUOTAS, CredentialError, MtCredential, SmppsCredential,
                               mt_items, parse_quota, set_mt, set_smpps, smpps_items)

from smscd.service.api import AlreadyExists

from .common import exists, refusal, row, simple_call
from .grammar import Action, Command, Context, Opt
from .reply import Reply, call, say

SYNTAX = re.compile(r"^(\S+) (\S+) (\S+.*)$")
BILLING_ITEMS = [("quota", key, "") for key in BILLING_QUOTAS]
USER_KEYS = ("uid", "gid", "username", "password", "mt_messaging_cred", "smpps_cred")


def _cred_error(e: CredentialError) -> str:
    """Jasmin's words for a bad section or key; the credential's own reason otherwise."""
    for head in ("invalid section name", "invalid key"):
        if e.reason.startswith(head):
            return f"Error: {head}: {e.value}{e.reason[len(head):]}"
    return f"Error: {e}"


@dataclass
class UserDraft:
    """`user -a` / `user -u UID`: plain keys, the two credentials and billing quotas."""
    ctx: Context
    announcement: str
    on_save: Callable[["UserDraft"], Reply]
    update: bool = False
    values: dict[str, str] = field(default_factory=dict)
    mt: MtCredential = field(default_factory=MtCredential)
    smpps: SmppsCredential = field(default_factory=SmppsCredential)
    mt_changed: bool = False
    smpps_changed: bool = False
    billing: dict[str, Any] = field(default_factory=dict)    # key -> QuotaChange
    typed: list[str] = field(default_factory=list)           # credential lines, for audit

    def keys(self) -> tuple[str, ...]:
        return tuple(k for k in USER_KEYS if not (self.update and k in ("uid", "username")))

    def set(self, key: str, value: str) -> Reply:
        if key not in USER_KEYS:
            return say(f"Unknown User key: {key}")
        if self.update and key == "uid":
            return say("User id can not be modified !")
        if self.update and key == "username":
            return say("User username can not be modified !")
        if key in ("mt_messaging_cred", "smpps_cred"):
            return self._credential(key, value)
        if key == "gid" and not exists(self.ctx.service.groups.get, value):
            return say(f"Unknown Group gid:{value}, you must first create the Group")
        self.values[key] = value
        return Reply()

    def _credential(self, key: str, value: str) -> Reply:
        m = SYNTAX.match(value)
        if m is None:
            return say(f"Error: expected syntax: {key} section key value")
        section, name, text = m.groups()
        try:
            if key == "smpps_cred":
                self.smpps = set_smpps(self.smpps, section, name, text, update=self.update)
                self.smpps_changed = True
            elif section.lower() == "quota" and name.lower() in BILLING_QUOTAS:
                if self.ctx.billing is None:
                    return say(f"Error: {name.lower()} is kept by billing, which this shell "
                               "cannot reach")
                where = f"mt_messaging_cred quota {name.lower()}"
                self.billing[name.lower()] = parse_quota(where, name.lower(), text,
                                                         update=self.update)
            else:
                self.mt = set_mt(self.mt, section, name, text, update=self.update)
                self.mt_changed = True
        except CredentialError as e:
            return say(_cred_error(e))
        self.typed.append(f"{key} {value}")
        return Reply()

    def save(self) -> Reply:
        return self.on_save(self)

    def choices(self, words: list[str]) -> tuple[str, ...]:
        """TAB after `mt_messaging_cred` / `smpps_cred`: its sections, then their keys."""
        items = {"mt_messaging_cred": mt_items(MtCredential()) + BILLING_ITEMS,
                 "smpps_cred": smpps_items(SmppsCredential())}.get(words[0], [])
        if len(words) == 1:
            return tuple(dict.fromkeys(section for section, _, _ in items))
        if len(words) == 2:
            return tuple(k for section, k, _ in items if section == words[1].lower())
        return ()


def _masked(draft: UserDraft) -> str:
    parts = [f"{k}={'***' if k == 'password' else v}" for k, v in draft.values.items()]
    return ", ".join(parts + draft.typed)


def _apply_billing(ctx: Context, uid: str, changes: dict[str, Any]) -> Any:
    """Set or move each billing quota in turn; a Deferred (or None when nothing to do)."""
    billing = ctx.billing
    steps = []
    for key, change in changes.items():
        if key == "balance":
            steps.append((billing.add_balance, f"{change.value:+}") if change.delta
                         else (billing.set_balance, change.value))
        else:
            steps.append((billing.add_sms_count, change.value) if change.delta
                         else (billing.set_sms_count, change.value))
    result: Any = None
    for method, value in steps:
        if result is None:
            result = method(uid, value)
        else:
            result.addCallback(lambda _, m=method, v=value: m(uid, v))
    return result


def _with_billing(ctx: Context, uid: str, first: Callable[[], Any] | None,
                  changes: dict[str, Any]) -> Callable[[], Any]:
    """The service call `first`, then the billing changes once it has succeeded."""
    def run() -> Any:
        if first is None:
            return _apply_billing(ctx, uid, changes)
        d = first()
        if changes:
            d.addCallback(lambda _: _apply_billing(ctx, uid, changes))
        return d
    return run


def _add(ctx: Context, _: object, arg: str) -> Reply:
    def save(draft: UserDraft) -> Reply:
        v = draft.values
        if any(k not in v for k in ("uid", "gid", "username", "password")):
            return say("You must set User id (uid), group (gid), username and password "
                       "before saving !")
        users = ctx.service.users
        spec = {**v, "mt_credential": draft.mt, "smpps_credential": draft.smpps}
        added = Reply(lines=(f"Successfully added User [{v['uid']}] to Group [{v['gid']}]",),
                      leave_draft=True)

        def failed(e: Exception) -> Reply:
            """Jasmin replaces a user added again under the same uid and username (§6.1),
            so a runbook can be replayed: do that as an update."""
            if isinstance(e, AlreadyExists) and exists(users.get, v["uid"]) \
                    and users.get(v["uid"]).username == v["username"]:
                changes = {k: x for k, x in spec.items() if k not in ("uid", "username")}
                return call(_with_billing(ctx, v["uid"], lambda: users.update(v["uid"], changes),
                                          draft.billing),
                            f"user -a (replacing): {_masked(draft)}", lambda _: added,
                            lambda e: say(refusal(e, "Failed adding User, check log for "
                                                     "details")))
            return say(refusal(e, "Failed adding User, check log for details"))

        run = _with_billing(ctx, v["uid"], lambda: users.add(spec), draft.billing)
        return call(run, f"user -a: {_masked(draft)}", lambda _: added, failed)

    draft = UserDraft(ctx, "Adding a new User: (ok: save, ko: exit)", save)
    return Reply(lines=(draft.announcement,), draft=draft)


def _update(ctx: Context, uid: str, arg: str) -> Reply:
    users = ctx.service.users
    if not exists(users.get, uid):
        return say(f"Unknown User: {uid}")
    user = users.get(uid)

    def save(draft: UserDraft) -> Reply:
        if not (draft.values or draft.billing or draft.mt_changed or draft.smpps_changed):
            return say("Nothing to save")
        changes: dict[str, Any] = dict(draft.values)
        if draft.mt_changed:
            changes["mt_credential"] = draft.mt
        if draft.smpps_changed:
            changes["smpps_credential"] = draft.smpps
        first = (lambda: users.update(uid, changes)) if changes else None
        run = _with_billing(ctx, uid, first, draft.billing)
        return call(run, f"user -u {uid}: {_masked(draft)}",
                    lambda _: Reply(lines=(f"Successfully updated User [{uid}]",),
                                    leave_draft=True),
                    lambda e: say(refusal(e, "Failed updating User, check log for details")))

    draft = UserDraft(ctx, f"Updating User id [{uid}]: (ok: save, ko: exit)", save,
                      update=True, mt=user.mt_credential, smpps=user.smpps_credential)
    return Reply(lines=(draft.announcement,), draft=draft)


def _quotas(ctx: Context, uid: str) -> tuple[str, str]:
    if ctx.billing is None:
        return "ND", "ND"
    account = ctx.billing.account(uid)
    return ("ND" if account.balance is None else str(account.balance),
            "ND" if account.sms_count is None else str(account.sms_count))


def _list(ctx: Context, _: object, gid: str) -> Reply:
    users = ctx.service.users.list(gid or None)
    groups = {g.gid: g for g in ctx.service.groups.list()}
    widths = [16, 16, 16, 7, 6, 8]
    lines = [row(["User id", "Group id", "Username", "Balance", "MT SMS", "Throughput"],
                 widths)] if users else []
    for u in users:
        balance, sms = _quotas(ctx, u.uid)
        if balance == sms == "ND":
            balance = sms = "ND (!)"
        q = u.mt_credential.quota
        throughput = "/".join("ND" if t is None else str(t)
                              for t in (q.http_throughput, q.smpps_throughput))
        group_off = u.gid in groups and not groups[u.gid].enabled
        lines.append(row([("" if u.enabled else "!") + u.uid,
                          ("!" if group_off else "") + u.gid, u.username, balance, sms,
                          throughput], widths))
    total = f"Total Users in group [{gid}]: {len(users)}" if gid else f"Total Users: {len(users)}"
    return say(*lines, total)


def _show(ctx: Context, uid: str, arg: str) -> Reply:
    users = ctx.service.users
    if not exists(users.get, uid):
        return say(f"Unknown User: {uid}")
    u = users.get(uid)
    balance, sms = _quotas(ctx, uid)
    lines = [f"uid {u.uid}", f"gid {u.gid}", f"username {u.username}"]
    for section, key, value in mt_items(u.mt_credential):
        if (section, key) == ("quota", "early_percent"):
            lines.append(f"mt_messaging_cred quota balance {balance}")
            lines.append(f"mt_messaging_cred quota early_percent {value}")
            lines.append(f"mt_messaging_cred quota sms_count {sms}")
        else:
            lines.append(f"mt_messaging_cred {section} {key} {value}")
    lines += [f"smpps_cred {s} {k} {v}" for s, k, v in smpps_items(u.smpps_credential)]
    return say(*lines)


def _on_user(verb: str, done: str, failed: str) -> Action:
    def action(ctx: Context, uid: str, arg: str) -> Reply:
        users = ctx.service.users
        if not exists(users.get, uid):
            return say(f"Unknown User: {uid}")
        option = {"smpp_unbind": "--smpp-unbind", "smpp_ban": "--smpp-ban"}.get(verb,
                                                                               f"--{verb}")
        return simple_call(lambda: getattr(users, verb)(uid), f"user {option}={uid}",
                           f"Successfully {done} User id:{uid}",
                           f"Failed {failed} User, check log for details")
    return action


def _api_key(ctx: Context, uid: str, arg: str) -> Reply:
    """`user --api-key=UID [list | create [LABEL] | revoke KEY_ID]`: REST API keys."""
    keys = ctx.api_keys
    if keys is None:
        return say("Error: REST API keys are not available in this shell")
    if not exists(ctx.service.users.get, uid):
        return say(f"Unknown User: {uid}")
    verb, _, rest = arg.partition(" ")
    rest = rest.strip()
    if verb in ("", "list"):
        return call(lambda: keys.list(uid), None, lambda infos: say(
            *(f"#{k.id} {k.label or '-'} created {_when(k.created_at)}"
              + (f" revoked {_when(k.revoked_at)}" if k.revoked_at is not None else "")
              for k in infos), f"Total API keys: {len(infos)}"),
            lambda e: say(refusal(e, "Failed listing API keys, check log for details")))
    if verb == "create":
        return call(lambda: keys.create(uid, rest), f"user --api-key={uid} create {rest}",
                    lambda new: say(f"Created API key {new.info.id} for User id:{uid}: "
                                    f"{new.key}", "(shown once; only its hash is kept)"),
                    lambda e: say(refusal(e, "Failed creating API key, check log for details")))
    if verb == "revoke" and rest:
        return call(lambda: keys.revoke(uid, rest), f"user --api-key={uid} revoke {rest}",
                    lambda ok: say(f"Successfully revoked API key {rest} of User id:{uid}"
                                   if ok else f"Unknown API key: {rest}"),
                    lambda e: say(refusal(e, "Failed revoking API key, check log for details")))
    return say("Error: expected syntax: user --api-key=UID [list | create [LABEL] | "
               "revoke KEY_ID]")


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


COMMAND = Command("user", "User management", (
    Opt("-l", "--list", "List all users or a group users when provided with GID", _list),
    Opt("-a", "--add", "Add user", _add),
    Opt("-e", "--enable", "Enable user", _on_user("enable", "enabled", "enabling"), "UID"),
    Opt("-d", "--disable", "Disable user", _on_user("disable", "disabled", "disabling"),
        "UID"),
    Opt("-u", "--update", "Update user using it's UID", _update, "UID"),
    Opt("-r", "--remove", "Remove user using it's UID",
        _on_user("remove", "removed", "removing"), "UID"),
    Opt("-s", "--show", "Show user using it's UID", _show, "UID"),
    Opt(None, "--smpp-unbind", "Unbind user from smpp server using it's UID",
        _on_user("smpp_unbind", "unbound", "unbinding"), "UID"),
    Opt(None, "--smpp-ban", "Unbind and ban user from smpp server using it's UID",
        _on_user("smpp_ban", "unbound and banned", "banning"), "UID"),
    Opt(None, "--api-key", "REST API keys of UID: list, create [LABEL] or revoke KEY_ID",
        _api_key, "UID"),
))
