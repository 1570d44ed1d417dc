# tests: tests/integration/test_service.py
"""persist / load: the service's whole provisioning out to, and in from, a YAML profile.

Rules:
- Export writes version 2 (smscd.provisioning.render_profile): passwords as hashes only.
- Import validates the whole profile first (every problem with its path, references
  included) and refuses it whole (InvalidValue) before touching anything. Then it replaces
  the provisioning, as Jasmin's `load` does, in ONE store op: groups, users and documents
  commit together or not at all, and the new snapshot is swapped in after the commit.
- A user given without password nor hash keeps the hash of the stored user with the same
  uid and username (version-1 profiles name users created earlier that way).
- Clear passwords are hashed before the change starts (scrypt is slow; never in the
  store's writer thread).
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, fail, gatherResults, succeed

from smscd.provisioning import ProfileError, Provisioning, read_profile_text, render_profile
from smscd.service.api import ImportSummary, InvalidValue
from smscd.service.python_rules import require_python
from smscd.stores.interfaces import UserRecord
from smscd.stores.sqlite_provisioning import Document
from smscd.stores.sqlite_users import replace_all_op

if TYPE_CHECKING:
    from smscd.service.service import ProvisioningService


def export_profile(service: ProvisioningService) -> str:
    return render_profile(service.groups.list(), service.users.list(), service.docs)


def import_profile(service: ProvisioningService, text: str) -> Deferred[ImportSummary]:
    try:
        profile = read_profile_text(text)
    except ProfileError as e:
        return _refused(e.problems)
    clear = [u for u in profile.users if u.password is not None]
    hashing = gatherResults([service.hasher(u.password or "") for u in clear],
                            consumeErrors=True)

    def apply(hashes: list[str]) -> Deferred[ImportSummary]:
        by_uid = {u.uid: h for u, h in zip(clear, hashes)}
        return service.serialized(_replace, service, profile, by_uid)
    return hashing.addCallback(apply)


def seed_from_file(service: ProvisioningService, path: str) -> Deferred[str]:
    """At start: the profile file (`provisioning.file`) seeds an EMPTY store; once the store
    holds provisioning it wins, since every shell change is durable there and re-reading
    the file would undo them. Fires with a line for the log; InvalidValue for a bad file."""
    if not service.is_empty:
        return succeed(f"provisioning from the store; {path} not read (use `load` to "
                       "replace the store's provisioning with it)")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        return _refused([f"{path}: cannot read: {e}"])
    d = import_profile(service, text)
    return d.addCallback(lambda summary: f"provisioning loaded from {path}: " + ", ".join(
        f"{n} {section}" for section, n in summary.counts.items() if n))


def _refused(problems: list[str]) -> Deferred[Any]:
    return fail(InvalidValue(f"invalid profile: {problems[0]}"
                             + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                             None, problems))


def _replace(service: ProvisioningService, profile: Provisioning,
             hashes: dict[str, str]) -> Deferred[ImportSummary]:
    now = service.clock.seconds()
    records: list[UserRecord] = []
    problems: list[str] = []
    for i, u in enumerate(profile.users):
        stored = service.user_records.get(u.uid)
        password_hash = u.password_hash or hashes.get(u.uid) or (
            stored.password_hash if stored is not None and stored.username == u.username
            else None)
        if password_hash is None:
            problems.append(f"users[{i}].password: required for a user that does not "
                            "exist yet")
            continue
        records.append(UserRecord(u.uid, u.username, password_hash, u.gid, u.enabled,
                                  u.mt_credential, u.smpps_credential,
                                  stored.created_at if stored is not None else now))
    if problems:
        return _refused(problems)
    require_python(service.python, profile.snapshot)
    puts = [Document(kind, i, spec) for kind, specs in profile.docs.items()
            for i, spec in specs.items()]
    d = service.document_store.apply(
        puts, replace_all=True, also=replace_all_op(list(profile.groups), records, now))

    def swap(_: None) -> Deferred[ImportSummary]:
        service.group_records = {g.gid: g for g in profile.groups}
        service.user_records = {u.uid: u for u in records}
        snapshot = replace(profile.snapshot, version=service.snapshot.version + 1)
        return service.swap(profile.docs, snapshot, profile.decoded).addCallback(
            lambda _: ImportSummary(profile.counts()))
    return d.addCallback(swap)
