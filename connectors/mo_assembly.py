# tests: tests/integration/test_mo_durable.py, tests/integration/test_connector_pump.py
"""Long MO from a vendor: its parts kept durably until the message is whole.

Rules:
- A part that does not complete its message is kept (`MoParts.add`) before the vendor is
  answered: `part()` fires once that is durable (for a resent copy too). A part that could
  not be kept is taken back from memory (`Reassembler.discard`) and `part()` fails, so the
  vendor is told to send it again.
- The part that completes a message is not kept: the whole MO (with that part's TLVs) is
  published for the customer and the group's kept parts deleted as ONE durable change
  when Deliveries can hand over its publication (`InboundPublisher`). Otherwise the MO goes
  to `Deliveries.inbound` and the parts are deleted after it (a crash in between would
  deliver what arrived again, as a partial MO, after the restart). If publishing fails,
  the other parts go back to memory and the vendor sends the last one again.
- A group is named when its first part arrives, by a fresh id (the `Reassembler` tag): a
  later message reusing the key and reference is another group, here and in the store.
- At the first start the kept parts are loaded and their groups rebuilt with their first
  arrival time (so their timeout runs on); parts arriving meanwhile wait for that.
- An incomplete group at its timeout (or evicted to stay within bounds) is published as
  what arrived, its parts joined in order (logged, counted as `mo_partial`), and its parts
  deleted, in one change the same way. If that fails it is tried again later while the
  connector runs, and after a restart at the latest (its parts are still kept).
- Without a store (`parts` None: tests, tools) parts are held in memory only.
"""
from __future__ import annotations

import json
from typing import Callable, Protocol, runtime_checkable

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.deliveries import Deliveries, InboundMessage
from smscd.ids import new_message_id
from smscd.message import Address
from smscd.smpp import pdu as P
from smscd.smpp.reassembly import UDHI, Completed, ConcatInfo, Expired, GroupKey, Reassembler
from smscd.smpp_protocol import DelayedCall, ReactorTime
from smscd.stores.interfaces import Publication
from smscd.stores.mo_parts import MoParts, StoredPart
from connectors.connector_config import ConnectorConfig
from connectors.inbound_stats import InboundStats

log = Logger(namespace="connectors.mo_assembly")

_CONTENT_TLVS = frozenset({"message_payload", "sar_msg_ref_num", "sar_total_segments",
                           "sar_segment_seqnum"})


@runtime_checkable
class InboundPublisher(Protocol):
    """Deliveries that can say what `inbound` would publish (smscd.dispatch.Dispatcher)."""

    def inbound_publication(self, mo: InboundMessage) -> Publication: ...


def inbound_message(mo_id: str, connector: str, pdu: P.DeliverSm | P.DataSm, content: bytes,
                    esm_class: int, at: float) -> InboundMessage:
    """The MO a deliver_sm/data_sm (or the last part of a long one) carries."""
    return InboundMessage(
        id=mo_id, connector=connector,
        source=Address(pdu.source_addr, pdu.source_addr_ton, pdu.source_addr_npi),
        destination=Address(pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi),
        data_coding=pdu.data_coding, esm_class=esm_class, content=content, received_at=at,
        tlvs=tuple(t for t in pdu.tlvs if t.name not in _CONTENT_TLVS))


def group_key(pdu: P.DeliverSm | P.DataSm) -> GroupKey:
    return (pdu.source_addr, str(pdu.source_addr_ton), str(pdu.source_addr_npi),
            pdu.destination_addr, str(pdu.dest_addr_ton), str(pdu.dest_addr_npi),
            str(pdu.data_coding))


def group_name(tag: str, key: GroupKey, ref: int, total: int) -> str:
    """The stored name of a group: versioned JSON, never evaluated."""
    return json.dumps([1, tag, list(key), ref, total], separators=(",", ":"))


def parse_group(name: str) -> tuple[str, GroupKey, int, int]:
    """(tag, key, ref, total) of a stored group name; ValueError if it is not one."""
    try:
        version, tag, key, ref, total = json.loads(name)
    except (TypeError, ValueError) as e:
        raise ValueError(f"not a group name: {name!r}") from e
    if version != 1 or not isinstance(tag, str) or not isinstance(key, list) \
            or len(key) != 7 or not all(isinstance(k, str) for k in key) \
            or not isinstance(ref, int) or not isinstance(total, int) or total < 1:
        raise ValueError(f"not a group name: {name!r}")
    return tag, tuple(key), ref, total


class _Unkept:
    """MoParts for a connector without a store: nothing is kept."""

    def load(self, connector: str) -> Deferred[list[StoredPart]]:
        return succeed([])

    def add(self, connector: str, group: str, seq: int, body: bytes,
            received_at: float) -> Deferred[None]:
        return succeed(None)

    def settle(self, connector: str, group: str,
               publication: Publication | None = None) -> Deferred[None]:
        return succeed(None)


class MoAssembly:
    def __init__(self, cfg: ConnectorConfig, deliveries: Deliveries, clock: ReactorTime,
                 stats: InboundStats, parts: MoParts | None = None,
                 new_id: Callable[[float], str] = new_message_id,
                 reassembler: Reassembler | None = None) -> None:
        self.cfg = cfg
        self._deliveries = deliveries
        self._clock = clock
        self.stats = stats
        self._parts: MoParts = parts if parts is not None else _Unkept()
        self._publisher = deliveries if parts is not None and isinstance(
            deliveries, InboundPublisher) else None
        self._new_id = new_id
        self.reassembler = reassembler or Reassembler(timeout=cfg.mo_reassembly_timeout)
        self._loaded = False
        self._waiting: list[Callable[[], object]] | None = None    # parts held while loading
        self._timer: DelayedCall | None = None
        self._retries: set[DelayedCall] = set()
        self.running = True

    def start(self) -> None:
        self.running = True
        self._load()
        self._arm()

    def stop(self) -> None:
        """Stop the timers; incomplete groups stay held (and kept) for the next start."""
        self.running = False
        for call in [self._timer, *self._retries]:
            if call is not None and call.active():
                call.cancel()
        self._timer = None
        self._retries.clear()

    # -- parts ------------------------------------------------------------------------------
    def part(self, pdu: P.DeliverSm | P.DataSm, info: ConcatInfo, now: float) -> Deferred[None]:
        """Take one part; fires when the vendor may be answered OK (see the rules)."""
        if not self._loaded:
            self._load()
        if self._waiting is not None:
            later: Deferred[None] = Deferred()
            self._waiting.append(lambda: self.part(pdu, info, now).chainDeferred(later))
            return later
        key = group_key(pdu)
        tag = self.reassembler.tag_of(key, info.ref, info.total) or self._new_id(now)
        done = self.reassembler.add(key, info.ref, info.total, info.seq, info.body, now, tag)
        self._arm()
        if done is None:
            d = self._parts.add(self.cfg.id, group_name(tag, key, info.ref, info.total),
                                info.seq, info.body, now)
            return d.addErrback(self._not_kept, key, info, tag)
        self.stats.mo += 1
        mo = inbound_message(self._new_id(done.first_seen), self.cfg.id, pdu, done.body,
                             pdu.esm_class & ~UDHI, done.first_seen)
        return self._publish(mo, done.tag, key, done.ref, done.total).addErrback(
            self._put_back, done, info.seq)

    def _not_kept(self, f: Failure, key: GroupKey, info: ConcatInfo, tag: str) -> Failure:
        self.reassembler.discard(key, info.ref, info.total, info.seq, tag)
        return f

    def _put_back(self, f: Failure, done: Completed, last: int) -> Failure:
        now = self._clock.seconds()
        for seq, body in done.parts:
            if seq != last:
                self.reassembler.add(done.key, done.ref, done.total, seq, body, now, done.tag)
        self._arm()
        return f

    def _publish(self, mo: InboundMessage, tag: str, key: GroupKey, ref: int,
                 total: int) -> Deferred[None]:
        """`mo` for the customer and the group's kept parts gone (one change if we can)."""
        name = group_name(tag, key, ref, total)
        publisher = self._publisher
        if publisher is not None:
            return maybeDeferred(lambda: self._parts.settle(
                self.cfg.id, name, publisher.inbound_publication(mo)))
        d: Deferred[None] = maybeDeferred(self._deliveries.inbound, mo)
        return d.addCallback(lambda _: self._parts.settle(self.cfg.id, name).addErrback(
            self._left_kept, name))

    def _left_kept(self, f: Failure, name: str) -> None:
        log.failure("connector {id}: MO delivered but its parts {group} stay kept; after a "
                    "restart they are delivered again", f, id=self.cfg.id, group=name)

    # -- loading ----------------------------------------------------------------------------
    def _load(self) -> None:
        if self._loaded or self._waiting is not None:
            return
        self._waiting = []
        self._parts.load(self.cfg.id).addCallbacks(self._restore, self._load_failed)

    def _restore(self, stored: list[StoredPart]) -> None:
        groups: dict[str, list[StoredPart]] = {}       # oldest first: `load` order
        for p in stored:
            groups.setdefault(p.group, []).append(p)
        for name, parts in groups.items():
            try:
                tag, key, ref, total = parse_group(name)
            except ValueError:
                log.warn("connector {id}: kept MO parts under an unreadable group name "
                         "{name!r} left in the store", id=self.cfg.id, name=name)
                continue
            first = min(p.received_at for p in parts)
            for p in parts:
                if 1 <= p.seq <= total:
                    done = self.reassembler.add(key, ref, total, p.seq, p.body, first, tag)
                    if done is not None:        # kept whole: never written so, but be safe
                        self._give_up(Expired(key, ref, total, done.parts, first, "timeout",
                                              tag), 0)
        if groups:
            log.info("connector {id}: {n} incomplete multipart MO reloaded", id=self.cfg.id,
                     n=len(groups))
        self._ready()

    def _load_failed(self, f: Failure) -> None:
        log.failure("connector {id}: kept MO parts could not be loaded; they stay in the "
                    "store until the next start", f, id=self.cfg.id)
        self._ready()

    def _ready(self) -> None:
        self._loaded = True
        waiting, self._waiting = self._waiting or [], None
        for run in waiting:
            run()
        self._arm()

    # -- incomplete groups ------------------------------------------------------------------
    def _arm(self) -> None:
        due = self.reassembler.next_deadline()
        if due is None or not self.running:
            return
        if self._timer is not None and self._timer.active():
            if self._timer.getTime() <= due:
                return
            self._timer.cancel()
        self._timer = self._clock.callLater(max(0.0, due - self._clock.seconds()), self._expire)

    def _expire(self) -> None:
        self._timer = None
        for group in self.reassembler.expire(self._clock.seconds()):
            self.stats.mo_partial += 1
            log.warn("connector {id}: MO from {src} to {dst} incomplete ({why}): parts "
                     "{missing} of {total} missing; delivering what arrived",
                     id=self.cfg.id, src=group.key[0], dst=group.key[3], why=group.reason,
                     missing=list(group.missing), total=group.total)
            self._give_up(group, 0)
        self._arm()

    def _give_up(self, group: Expired, attempt: int) -> None:
        src, src_ton, src_npi, dst, dst_ton, dst_npi, dcs = group.key
        mo = InboundMessage(
            id=self._new_id(group.first_seen), connector=self.cfg.id,
            source=Address(src, int(src_ton), int(src_npi)),
            destination=Address(dst, int(dst_ton), int(dst_npi)), data_coding=int(dcs),
            esm_class=0, content=b"".join(body for _, body in group.parts),
            received_at=group.first_seen)

        def again(f: Failure) -> None:
            self.stats.failures += 1
            log.failure("connector {id}: partial MO not recorded; trying again", f,
                        id=self.cfg.id)
            if self.running:
                call = self._clock.callLater(min(60.0, 2.0 ** attempt), self._retry,
                                             group, attempt + 1)
                self._retries.add(call)
        self._publish(mo, group.tag, group.key, group.ref, group.total).addErrback(again)

    def _retry(self, group: Expired, attempt: int) -> None:
        self._retries = {c for c in self._retries if c.active()}
        self._give_up(group, attempt)
