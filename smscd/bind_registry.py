# tests: tests/integration/test_smpp_server.py, tests/integration/test_dispatch.py
"""Every bound customer connection of this node, by user.

The SMPP server adds a connection once its bind is accepted and removes it when the
customer unbinds or the connection is lost; it counts a user's binds here (max_bindings).
Customer delivery (receipts, MO) asks for the user's receiver-capable binds and listens
for binds coming and going, so that what waits in a user's queue goes out as soon as a
receiver binds. Listeners are called synchronously; they must not raise.
"""
from __future__ import annotations

from typing import Protocol

from smscd.smpp.session import State
from smscd.smpp_protocol import SmppProtocol

RECEIVER_STATES = frozenset({State.BOUND_RX, State.BOUND_TRX})


class BindListener(Protocol):
    def receiver_bound(self, user: str, proto: SmppProtocol) -> None:
        """`proto` of `user` can now take deliver_sm."""

    def receiver_gone(self, user: str, proto: SmppProtocol) -> None:
        """`proto` of `user` takes no more deliver_sm (unbinding or closed)."""


class BindRegistry:
    def __init__(self) -> None:
        self._binds: dict[str, list[SmppProtocol]] = {}
        self._listeners: list[BindListener] = []
        self._receiving: set[SmppProtocol] = set()   # bound as RX/TRX when added

    def add_listener(self, listener: BindListener) -> None:
        self._listeners.append(listener)

    def count(self, user: str) -> int:
        """Binds of `user` on this node, all types together."""
        return len(self._binds.get(user, ()))

    def add(self, user: str, proto: SmppProtocol) -> None:
        self._binds.setdefault(user, []).append(proto)
        if proto.session.state in RECEIVER_STATES:
            self._receiving.add(proto)
            for listener in self._listeners:
                listener.receiver_bound(user, proto)

    def remove(self, user: str, proto: SmppProtocol) -> None:
        """Forget `proto` (idempotent: unbind and then the lost connection both call it)."""
        binds = self._binds.get(user)
        if binds is None or proto not in binds:
            return
        binds.remove(proto)
        if not binds:
            del self._binds[user]
        if proto in self._receiving:
            self._receiving.discard(proto)
            for listener in self._listeners:
                listener.receiver_gone(user, proto)

    def receivers(self, user: str) -> list[SmppProtocol]:
        """`user`'s binds that may be sent a deliver_sm now, in bind order."""
        return [p for p in self._binds.get(user, ()) if p.session.state in RECEIVER_STATES]

    def binds(self, user: str) -> list[SmppProtocol]:
        """Every bind of `user` on this node (to close them: ban, unbind)."""
        return list(self._binds.get(user, ()))

    def all_binds(self) -> list[SmppProtocol]:
        """Every bound customer connection (for a clean stop: unbind them all)."""
        return [p for binds in self._binds.values() for p in binds]

    def users(self) -> list[str]:
        return list(self._binds)
