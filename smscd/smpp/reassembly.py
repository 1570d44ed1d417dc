# tests: tests/unit/test_reassembly.py
"""Inbound multipart: recognise concatenation (UDH IEI 0x00/0x08, SAR TLVs) and join parts.

Rules:
1. parse_udh is strict: a UDH whose lengths overrun the user data raises InvalidPdu
   (ESME_RINVESMCLASS: the UDHI bit promised a header that is not there).
   concat_of is lenient about the concatenation IE itself: seq 0, seq > total or a
   wrong IEDL make the IE be ignored (23.040 §9.2.3.24.1), and the message is single.
2. The Reassembler never reads a clock: `now` is an argument, deadlines are
   first-part time + timeout, and `next_deadline` tells the adapter when to call
   `expire`. `now` is treated as non-decreasing (an earlier value counts as the latest).
3. Nothing is dropped silently: incomplete groups past their deadline, and groups
   evicted to stay within max_groups / max_bytes, come back from `expire` as Expired
   with every part that arrived (reason 'timeout' or 'evicted').
4. Duplicates (same group, same seq) are ignored: the first copy wins. A total of 1
   completes at once and is not held, so it cannot be told from a resend.
5. Cost per part is O(1) amortised: groups sit in arrival order in one OrderedDict,
   which is also deadline order, so expiry and eviction only look at the front.
6. A group carries the caller's `tag` (given by the part that opens it, reported in
   Completed/Expired, asked with `tag_of`): a name for this group only, so a caller that
   keeps parts elsewhere (a database) never mixes them with a later message reusing the
   same key, ref and total. `discard` takes back a part the caller could not keep.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

from .errors import InvalidPdu
from .status import CommandStatus

UDHI = 0x40
IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08

GroupKey = tuple[str, ...]


def parse_udh(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Split user data that starts with a UDH into its IEs (iei, value) and the rest."""
    if not data:
        raise InvalidPdu("UDHI set but the user data is empty",
                         CommandStatus.ESME_RINVESMCLASS, offset=0)
    udhl = data[0]
    end = 1 + udhl
    if end > len(data):
        raise InvalidPdu(f"UDH length {udhl} exceeds the {len(data) - 1} octets after it",
                         CommandStatus.ESME_RINVESMCLASS, offset=0)
    ies: list[tuple[int, bytes]] = []
    pos = 1
    while pos < end:
        if pos + 2 > end:
            raise InvalidPdu("UDH ends inside an information element header",
                             CommandStatus.ESME_RINVESMCLASS, offset=pos)
        iei, iedl = data[pos], data[pos + 1]
        if pos + 2 + iedl > end:
            raise InvalidPdu(f"UDH element 0x{iei:02X} length {iedl} overruns the UDH",
                             CommandStatus.ESME_RINVESMCLASS, offset=pos + 1)
        ies.append((iei, data[pos + 2:pos + 2 + iedl]))
        pos += 2 + iedl
    return ies, data[end:]


@dataclass(frozen=True, slots=True)
class ConcatInfo:
    """One part of a concatenated message, whichever way it was marked.

    `body` is the user data without the UDH; `other_ies` keeps the UDH elements that
    are not concatenation (ports, language shifts) for whoever rebuilds the message.
    """

    ref: int
    total: int
    seq: int
    body: bytes
    via: Literal["udh8", "udh16", "sar"]
    other_ies: tuple[tuple[int, bytes], ...] = ()


def _valid(total: int, seq: int) -> bool:
    return 1 <= seq <= total


def concat_of(esm_class: int, data: bytes,
              sar: tuple[int, int, int] | None = None) -> ConcatInfo | None:
    """Concatenation info of one short_message / message_payload, or None if single.

    The UDH wins over SAR TLVs (the spec forbids both; the UDH is in the content).
    Of several concatenation IEs the last valid one counts (23.040: last occurrence).
    """
    if esm_class & UDHI:
        ies, body = parse_udh(data)
        found: tuple[int, int, int, Literal["udh8", "udh16"]] | None = None
        others: list[tuple[int, bytes]] = []
        for iei, value in ies:
            if iei == IEI_CONCAT_8 and len(value) == 3 and _valid(value[1], value[2]):
                found = (value[0], value[1], value[2], "udh8")
            elif iei == IEI_CONCAT_16 and len(value) == 4 and _valid(value[2], value[3]):
                found = (int.from_bytes(value[:2], "big"), value[2], value[3], "udh16")
            elif iei not in (IEI_CONCAT_8, IEI_CONCAT_16):
                others.append((iei, value))
        if found is not None:
            ref, total, seq, via = found
            return ConcatInfo(ref, total, seq, body, via, tuple(others))
    if sar is not None:
        ref, total, seq = sar
        if _valid(total, seq):
            return ConcatInfo(ref, total, seq, data, "sar")
    return None


@dataclass(frozen=True, slots=True)
class Completed:
    """Every part arrived: `body` is the parts' bodies joined in seq order."""

    key: GroupKey
    ref: int
    total: int
    body: bytes
    first_seen: float
    tag: str = ""
    parts: tuple[tuple[int, bytes], ...] = field(default=(), compare=False)  # (seq, body)


@dataclass(frozen=True, slots=True)
class Expired:
    """An incomplete group given up on; `parts` holds (seq, body) of what arrived."""

    key: GroupKey
    ref: int
    total: int
    parts: tuple[tuple[int, bytes], ...]
    first_seen: float
    reason: Literal["timeout", "evicted"]
    tag: str = ""

    @property
    def missing(self) -> tuple[int, ...]:
        have = {seq for seq, _ in self.parts}
        return tuple(seq for seq in range(1, self.total + 1) if seq not in have)


@dataclass(slots=True)
class _Group:
    first_seen: float
    deadline: float
    tag: str
    parts: dict[int, bytes] = field(default_factory=dict)
    size: int = 0


_GroupId = tuple[GroupKey, int, int]  # key, ref, total: a differing total is another message


class Reassembler:
    """Joins concatenated parts per (key, ref, total) within bounded memory and time."""

    def __init__(self, max_groups: int = 10_000, max_bytes: int = 16 * 1024 * 1024,
                 timeout: float = 300.0) -> None:
        if max_groups < 1 or max_bytes < 1 or timeout <= 0:
            raise ValueError("max_groups, max_bytes and timeout must be positive")
        self._max_groups = max_groups
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._groups: OrderedDict[_GroupId, _Group] = OrderedDict()
        self._bytes = 0
        self._latest = float("-inf")
        self._evicted: list[Expired] = []
        self._evicted_at = 0.0

    def __len__(self) -> int:
        return len(self._groups)

    @property
    def bytes_held(self) -> int:
        return self._bytes

    def add(self, key: GroupKey, ref: int, total: int, seq: int, body: bytes,
            now: float, tag: str = "") -> Completed | None:
        """Store one part; return the whole message when this part completes it.
        `tag` names the group if this part opens it (rule 6), and is ignored otherwise.

        Groups evicted to make room are reported by the next `expire` call, and
        `next_deadline` becomes `now` so the adapter makes that call at once.
        """
        if not 1 <= seq <= total:
            raise ValueError(f"seq {seq} outside 1..{total}")
        now = max(now, self._latest)
        self._latest = now
        gid = (key, ref, total)
        group = self._groups.get(gid)
        if group is None:
            if total == 1:
                return Completed(key, ref, total, body, now, tag, ((1, body),))
            group = _Group(now, now + self._timeout, tag)
            self._groups[gid] = group
        elif seq in group.parts:
            return None
        group.parts[seq] = body
        group.size += len(body)
        self._bytes += len(body)
        if len(group.parts) == total:
            del self._groups[gid]
            self._bytes -= group.size
            parts = tuple((i, group.parts[i]) for i in range(1, total + 1))
            return Completed(key, ref, total, b"".join(b for _, b in parts), group.first_seen,
                             group.tag, parts)
        self._make_room(now)
        return None

    def tag_of(self, key: GroupKey, ref: int, total: int) -> str | None:
        """The tag of the group a part with these values would join, None if none is held."""
        group = self._groups.get((key, ref, total))
        return None if group is None else group.tag

    def discard(self, key: GroupKey, ref: int, total: int, seq: int, tag: str) -> bool:
        """Take back part `seq` of the group tagged `tag`, if it is still held (rule 6)."""
        gid = (key, ref, total)
        group = self._groups.get(gid)
        if group is None or group.tag != tag or seq not in group.parts:
            return False
        body = group.parts.pop(seq)
        group.size -= len(body)
        self._bytes -= len(body)
        if not group.parts:
            del self._groups[gid]
        return True

    def _make_room(self, now: float) -> None:
        """Evict oldest groups while over either bound (rule 3)."""
        while self._groups and (len(self._groups) > self._max_groups
                                or self._bytes > self._max_bytes):
            gid, group = self._groups.popitem(last=False)
            self._bytes -= group.size
            if not self._evicted:
                self._evicted_at = now
            self._evicted.append(_expired(gid, group, "evicted"))

    def expire(self, now: float) -> list[Expired]:
        """Evicted groups, then groups whose deadline is at or before `now`."""
        out, self._evicted = self._evicted, []
        while self._groups:
            gid, group = next(iter(self._groups.items()))
            if group.deadline > now:
                break
            del self._groups[gid]
            self._bytes -= group.size
            out.append(_expired(gid, group, "timeout"))
        return out

    def next_deadline(self) -> float | None:
        """When `expire` has something to report next, or None when nothing is held."""
        if self._evicted:
            return self._evicted_at
        if self._groups:
            return next(iter(self._groups.values())).deadline
        return None


def _expired(gid: _GroupId, group: _Group,
             reason: Literal["timeout", "evicted"]) -> Expired:
    key, ref, total = gid
    return Expired(key, ref, total, tuple(sorted(group.parts.items())),
                   group.first_seen, reason, group.tag)
