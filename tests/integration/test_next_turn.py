"""next_turn: on the asyncio reactor a flush scheduled for the next turn runs before that
turn's reads (callLater(0) runs after them); on any other clock it is callLater(0)."""
from __future__ import annotations

import socket

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from smscd.next_turn import next_turn


@pytest_twisted.ensureDeferred
async def test_next_turn_runs_before_the_reads_of_the_next_turn() -> None:
    """If next_turn fell back to callLater(0) on asyncio, an answer flushed that way would
    wait behind every connection's reads of the next turn: 'soon' would come after 'read'."""
    order: list[str] = []
    done: Deferred[None] = Deferred()
    loop = reactor._asyncioEventloop  # type: ignore[attr-defined]
    ours, peer = socket.socketpair()
    ours.setblocking(False)

    def readable() -> None:
        ours.recv(16)
        order.append("read")

    def later() -> None:
        order.append("later")
        done.callback(None)

    def schedule() -> None:
        # This turn: the socket becomes readable, then both kinds of "next turn" are asked.
        peer.send(b"x")
        next_turn(reactor)(lambda: order.append("soon"))
        reactor.callLater(0, later)

    loop.add_reader(ours.fileno(), readable)
    try:
        reactor.callLater(0, schedule)
        await done
    finally:
        loop.remove_reader(ours.fileno())
        ours.close()
        peer.close()
    assert order == ["soon", "read", "later"]


def test_other_clocks_use_call_later_zero() -> None:
    clock = Clock()
    ran: list[int] = []
    next_turn(clock)(lambda: ran.append(1))
    assert ran == []
    clock.advance(0)
    assert ran == [1]
