# tests: tests/integration/test_sqlite_store.py
"""What the core path needs from storage, as small typing.Protocols.

Rule 1: every method that changes state returns a Deferred that fires only once the change
is durable (committed and fsynced, or confirmed by the broker). Callers answer customers and
vendors from that callback, never before.
Rule 2: callers hold no backend object: the embedded SQLite store implements all four
protocols today; RabbitMQ (Queues), Redis (Correlations) and PostgreSQL (MessageLog, Users)
can each implement one later without a caller changing.
Rule 3: queues are at-least-once. An entry leased when the process dies is handed out again
after the restart, so a message in flight at a crash may reach the vendor twice.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol, Sequence, runtime_checkable

from twisted.internet.defer import Deferred

from smscd.credentials import MtCredential, SmppsCredential
from smscd.message import Message
from smscd.smpp.message_state import MessageState
from smscd.stores.ops import Statement


DEFAULT_GROUP = "default"      # made by schema migration 2; users of older stores are in it


class StoreError(Exception):
    """The store cannot be used: locked by another process, newer schema, closed."""


class UserExists(StoreError):
    """`Users.add` / `create` for a uid or username that is already taken."""


class GroupExists(StoreError):
    """`Users.add_group` for a gid that is already taken."""


class UnknownGroup(StoreError):
    """A user added to, or moved to, a group that does not exist."""


class UnknownUser(StoreError):
    """`Users.update` of a uid that does not exist."""


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One queued item as handed to a consumer.

    `obj` is the object the publisher gave in this process (e.g. the `Message`), so a
    consumer need not decode `payload`; after a restart, or from another node, it is None.
    """
    id: int
    queue: str
    key: str
    payload: bytes
    obj: object | None = field(default=None, compare=False, repr=False)
    attempts: int = 0
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An entry that could not be processed (or expired), kept for an operator."""
    id: int
    queue: str
    key: str
    payload: bytes
    attempts: int
    reason: str
    dead_at: float
    expires_at: float | None


ExpiredHandler = Callable[[list[QueueEntry]], object]


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a queued entry is handed out (None: now) and when it expires (None: never)."""
    ready_at: float | None = None
    expires_at: float | None = None


class Queues(Protocol):
    """Durable work queues with leases, delayed retry, a dead-letter list and expiry."""

    def publish(self, queue: str, key: str, payload: bytes, obj: object | None = None,
                delay: float = 0.0, expires_at: float | None = None) -> Deferred[int]:
        """Durably enqueue; fires with the entry id. `key` (unique per queue) names it for
        `remove`/`replace`; `delay` holds it back; after `expires_at` it is never handed out."""

    def take(self, queue: str, max_n: int) -> list[QueueEntry]:
        """Up to `max_n` ready entries, leased to the caller until ack/retry/dead_letter/
        release (or a restart). Expired entries are dropped and reported, never returned."""

    def when_ready(self, queue: str) -> Deferred[None]:
        """Fires when `take` would return something (cancel it to stop waiting)."""

    def ack(self, entry: QueueEntry) -> Deferred[None]:
        """Done with a leased entry: it is gone for good."""

    def retry(self, entry: QueueEntry, delay: float, reason: str) -> Deferred[None]:
        """Back in the queue after `delay` seconds with attempts + 1."""

    def dead_letter(self, entry: QueueEntry, reason: str) -> Deferred[None]:
        """Out of the queue into the dead-letter list."""

    def release(self, entry: QueueEntry) -> Deferred[None]:
        """Give a leased entry back unchanged, at the head of the queue (consumer stopped)."""

    def remove(self, queue: str, key: str) -> Deferred[bool]:
        """cancel_sm: delete the entry with `key` if it is queued and not leased."""

    def replace(self, queue: str, key: str, payload: bytes, obj: object | None = None,
                schedule: Schedule | None = None) -> Deferred[bool]:
        """replace_sm: new payload for the entry with `key` if it is queued and not leased,
        and with `schedule` its new ready time and expiry (None: both kept)."""

    def move(self, queue: str, key: str, to_queue: str, payload: bytes,
             obj: object | None = None, delay: float = 0.0) -> Deferred[bool]:
        """Fall-through: the entry with `key`, if it is queued and not leased, leaves `queue`
        and is published to `to_queue` with `payload` (same key and expiry, attempts 0,
        ready after `delay`), as one durable change. False if it is gone or leased."""

    def waiting(self, queue: str) -> list[QueueEntry]:
        """The entries of `queue` that are not leased (ready or delayed), oldest first."""

    def depth(self, queue: str) -> int:
        """Entries waiting (ready or delayed), not counting leased ones."""

    def dead_letters(self, queue: str, limit: int = 100,
                     after_id: int = 0) -> Deferred[list[DeadLetter]]:
        """The dead-letter list of `queue`, oldest first, `limit` entries after `after_id`."""

    def requeue_dead(self, dead_id: int) -> Deferred[bool]:
        """Put a dead letter back in its queue with attempts reset to 0."""

    def purge_dead(self, queue: str) -> Deferred[int]:
        """Drop every dead letter of `queue` for good (durably); fires with how many."""

    def on_expired(self, queue: str, handler: ExpiredHandler | None) -> None:
        """Call `handler` with the entries of `queue` dropped because they expired, once their
        removal is durable (they are also kept as dead letters with reason "expired")."""


@dataclass(frozen=True, slots=True)
class Publication:
    """A queue entry to publish together with another change (see MessageLog.record_state)."""
    queue: str
    key: str
    payload: bytes
    obj: object | None = None
    expires_at: float | None = None


PublishFor = Callable[[Message | None], Publication | None]
# Rows another part writes in the same durable change (new keys only, see stores/ops.py).
AlsoRows = tuple[tuple[Statement, tuple[Any, ...]], ...]


@dataclass(frozen=True, slots=True)
class Acceptance:
    """One message of `MessageLog.accept_many`: what `accept(message, queue, also)` takes."""
    message: Message
    queue: str
    also: AlsoRows = ()        # e.g. that message's billing hold rows


@dataclass(frozen=True, slots=True)
class PartRecord:
    """What happened to one part upstream; None until it happened."""
    index: int
    connector: str | None = None
    vendor_id: str | None = None
    sent_at: float | None = None
    state: MessageState | None = None
    error: str = ""
    state_at: float | None = None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    message: Message
    accepted_at: float
    state: MessageState                 # overall, see smscd.stores.states.overall_state
    updated_at: float                   # latest of accepted, sent and state times
    parts: tuple[PartRecord, ...]       # one per message part, in order


EventKind = Literal["accepted", "sent", "state", "cancelled"]


@dataclass(frozen=True, slots=True)
class StateEvent:
    """One event of a message's history (GET /v1/messages/{id}), oldest first: "accepted"
    (queued for `connector`), "sent" (a vendor took the part: `connector`, `vendor_id`),
    "state" (a receipt, or a failure decided here: `state`, `error`), "cancelled" (state
    DELETED). `part_index` None: the event is the whole message's."""
    part_index: int | None
    at: float
    state: MessageState | None
    event: EventKind
    error: str = ""
    connector: str | None = None
    vendor_id: str | None = None


class MessageLog(Protocol):
    """Every accepted message, what became of each part, answerable per customer."""

    def accept(self, message: Message, queue: str, also: AlsoRows = ()) -> Deferred[None]:
        """Log `message` and publish it (key = message.id, obj = message, delayed until
        schedule_at, expiring at expires_at) to `queue` as one durable change, with the
        rows `also` (a billing hold: Billing.reserve) in it; the customer's submit_sm_resp
        waits on this."""

    def accept_many(self, accepts: Sequence[Acceptance], also: AlsoRows = (),
                    publish: Sequence[Publication] = ()) -> Deferred[None]:
        """Every accept (as `accept` does it: log row, queue entry delayed until schedule_at
        and expiring at expires_at, its rows), plus the rows `also` and the `publish` queue
        entries, as ONE durable change: a REST batch of thousands of recipients is one op.
        If it fails, nothing of it is durable and no entry is in any queue."""

    def record_sent(self, message_id: str, part_index: int, connector: str,
                    vendor_id: str) -> Deferred[None]:
        """The vendor accepted a part and gave it `vendor_id`."""

    def record_state(self, message_id: str, part_index: int, state: int, error: str,
                     at: float, publish: PublishFor | None = None,
                     ack: QueueEntry | None = None) -> Deferred[None]:
        """A part reached `state` (from a receipt, or failed here); an intermediate state
        never overwrites a final one. With `publish`: called (reactor thread) with the
        message (None if unknown); what it returns, if anything, is published in the same
        durable change (the customer's receipt), so one commit settles a vendor receipt.
        With `ack`: that leased entry (a kept receipt) is acked in the same change too; if
        the change fails it is still leased to the caller (StoreError if it is not leased)."""

    def get(self, message_id: str, user: str) -> Deferred[MessageRecord | None]:
        """The record, if `message_id` exists and belongs to `user`; otherwise None."""

    def history(self, message_id: str, user: str) -> Deferred[list[StateEvent]]:
        """The events of `user`'s message, oldest first (by time, then as written); an
        empty list if it does not exist or is not theirs. Every change of the log writes
        its event in the same durable change, so the history is never behind the record."""

    def find(self, message_id: str) -> Deferred[MessageRecord | None]:
        """The record whoever owns it: for internal lookups (a receipt found through its
        correlation), never to answer a customer, which `get` is for."""

    def cancel(self, message_id: str, user: str, queue: str) -> Deferred[bool]:
        """cancel_sm: if `user`'s message is still in `queue` and not leased, remove it and
        mark every part DELETED, as one durable change. False if gone, sent or not theirs."""

    def replace(self, message: Message, queue: str) -> Deferred[bool]:
        """replace_sm: if the message is still in `queue`, not leased and `message.user`'s,
        make `message` its body in the log and the queue, as one durable change; the entry
        is then ready at `message.schedule_at` (None: now) and expires at
        `message.expires_at`."""

    def reroute(self, message: Message, queue: str, to_queue: str,
                delay: float = 0.0) -> Deferred[bool]:
        """Fall-through: if the message is still in `queue` and not leased, move it to
        `to_queue` with `message` (its new connector and candidates) as its body in the
        log and the queue, as one durable change (Queues.move). False if gone or leased."""


@runtime_checkable
class AcceptedParts(Protocol):
    """Optional, for a MessageLog that shares one transaction with the Correlations and
    Queues it works with (the embedded store): a vendor's acceptance of a part as ONE
    durable change. A connector whose MessageLog has it uses it for the last part of a
    message; otherwise it writes record_sent and the correlation, then acks, as before."""

    def record_accepted(self, message_id: str, part_index: int, connector: str,
                        vendor_id: str, correlation_key: str, expires_at: float,
                        ack: QueueEntry | None = None) -> Deferred[None]:
        """`record_sent` + `Correlations.put(connector, correlation_key, ...)`, and with
        `ack` the leased entry's ack, in one change. If it fails nothing of it is durable
        and `ack` is still leased to the caller."""


class Correlations(Protocol):
    """Vendor message id -> our message and part, until the receipt is due no more."""

    def put(self, connector: str, vendor_id: str, message_id: str, part_index: int,
            expires_at: float) -> Deferred[None]: ...

    def get(self, connector: str, vendor_id: str) -> Deferred[tuple[str, int] | None]:
        """(message_id, part_index), or None if unknown or expired."""


@dataclass(frozen=True, slots=True)
class GroupRecord:
    gid: str
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A customer: `username` is its SMPP system_id and HTTP login, `uid` its identity
    everywhere else (messages, binds, billing). Jasmin's credentials come with it."""
    uid: str
    username: str
    password_hash: str = field(repr=False)    # smscd.passwords format; never logged
    gid: str = DEFAULT_GROUP
    enabled: bool = True
    mt_credential: MtCredential = MtCredential()
    smpps_credential: SmppsCredential = SmppsCredential()
    created_at: float = 0.0


class Users(Protocol):
    """Groups and users (Jasmin's §6.1). Every change is durable before its Deferred fires.
    Bad names or passwords fail with ValueError; enable/disable/remove of an unknown id
    fire False."""

    # groups
    def list_groups(self) -> Deferred[list[GroupRecord]]: ...

    def get_group(self, gid: str) -> Deferred[GroupRecord | None]: ...

    def add_group(self, gid: str, enabled: bool = True) -> Deferred[GroupRecord]:
        """GroupExists if `gid` is taken."""

    def enable_group(self, gid: str) -> Deferred[bool]: ...

    def disable_group(self, gid: str) -> Deferred[bool]:
        """Its users are refused at bind and at HTTP while it is disabled."""

    def remove_group(self, gid: str) -> Deferred[bool]:
        """Removes its users too, in the same change."""

    # users
    def list_users(self, gid: str | None = None) -> Deferred[list[UserRecord]]: ...

    def get(self, username: str) -> Deferred[UserRecord | None]: ...

    def get_by_uid(self, uid: str) -> Deferred[UserRecord | None]: ...

    def add(self, uid: str, username: str, password: str, gid: str = DEFAULT_GROUP, *,
            mt_credential: MtCredential = MtCredential(),
            smpps_credential: SmppsCredential = SmppsCredential(),
            enabled: bool = True) -> Deferred[UserRecord]:
        """Store a new user with its password scrypt-hashed. UserExists if the uid or the
        username is taken, UnknownGroup if `gid` does not exist."""

    def update(self, uid: str, *, password: str | None = None, gid: str | None = None,
               mt_credential: MtCredential | None = None,
               smpps_credential: SmppsCredential | None = None,
               enabled: bool | None = None) -> Deferred[UserRecord]:
        """Change what is given; UnknownUser / UnknownGroup."""

    def enable(self, uid: str) -> Deferred[bool]: ...

    def disable(self, uid: str) -> Deferred[bool]: ...

    def remove(self, uid: str) -> Deferred[bool]: ...

    def create(self, username: str, password: str, max_bindings: int | None = None,
               throughput: float | None = None) -> Deferred[UserRecord]:
        """`add` with uid = username in the default group (made if missing), default
        credentials but smpps max_bindings and smpps_throughput; for demo and profiles."""
