# tests: tests/unit/test_failover.py, tests/integration/test_connector.py
"""Reaching a vendor: one connection attempt = TCP connect to the next host + bind.

Rules:
- `FailoverBindEndpoint.connect` is one attempt for `ClientService`: it connects to the
  current host, binds, and fires with a small lease protocol once bound. A refused or
  timed-out bind closes the connection first, then fails the attempt, so ClientService
  counts it and backs off exactly as for a refused TCP connection.
- Any failed attempt moves to the next host (primary, backup, ..., primary). A bound session
  that is later lost sends the next attempt to the primary again.
- Why not the bind in `prepareConnection`: ClientService (Twisted 26.10) leaves the
  connection open when prepareConnection fails, and closing it then reaches its state
  machine as `_clientDisconnected` in Connecting/Waiting, which has no transition
  (automat NoTransition). Binding inside the attempt keeps one clean meaning: an attempt
  either yields a bound session or fails with nothing left open.
- The lease is what ClientService holds: its transport is the SMPP connection's, so
  `stopService` closes that connection; our SmppProtocol reports the loss to the lease.
- `backoff_policy` doubles from the initial delay up to the maximum, times 0.8..1.2 of
  jitter drawn from an injected `random.Random` (tests are deterministic).
"""
from __future__ import annotations

import random
from typing import Any, Callable

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure

from smscd.smpp_protocol import BindPdu, SmppFactory, SmppProtocol

HostPort = tuple[str, int]
EndpointFor = Callable[[HostPort], Any]        # -> an IStreamClientEndpoint
OnBound = Callable[[SmppProtocol, HostPort], None]


def backoff_policy(initial: float, maximum: float,
                   rng: random.Random) -> Callable[[int], float]:
    """ClientService retryPolicy: `attempt` is the number of failed attempts in a row (>= 1)."""
    def policy(attempt: int) -> float:
        base = min(maximum, initial * 2.0 ** min(max(attempt, 1) - 1, 60))
        return base * (0.8 + 0.4 * rng.random())
    return policy


class SessionLease(Protocol):
    """What ClientService holds for a bound session; the SMPP protocol does the work."""

    def connectionLost(self, reason: Failure = Failure(ConnectionDone())) -> None:
        pass


class FailoverBindEndpoint:
    """An IStreamClientEndpoint over several hosts whose connections come out bound."""

    def __init__(self, hosts: tuple[HostPort, ...], endpoint_for: EndpointFor,
                 smpp_factory: SmppFactory, bind: Callable[[], BindPdu],
                 on_bound: OnBound) -> None:
        if not hosts:
            raise ValueError("at least one host")
        self.hosts = hosts
        self._endpoint_for = endpoint_for
        self._smpp_factory = smpp_factory
        self._bind = bind
        self._on_bound = on_bound
        self.index = 0                      # the host the next attempt goes to
        self.attempts = 0
        self.last_failure: Failure | None = None

    @property
    def current(self) -> HostPort:
        return self.hosts[self.index]

    def connect(self, factory: Any) -> Deferred[Protocol]:
        """One attempt; `factory` is ClientService's (it wraps our lease)."""
        self.attempts += 1
        host = self.current
        proto_box: list[SmppProtocol] = []

        def cancel(d: Deferred[Protocol]) -> None:
            connecting.cancel()
            for proto in proto_box:
                proto.abort()

        result: Deferred[Protocol] = Deferred(cancel)
        connecting: Deferred[Any] = self._endpoint_for(host).connect(self._smpp_factory)

        def connected(proto: SmppProtocol) -> None:
            proto_box.append(proto)
            try:
                binding = proto.bind(self._bind())
            except Exception:
                bind_failed(Failure(), proto)
                return
            binding.addCallbacks(bound, bind_failed, callbackArgs=(proto,),
                                 errbackArgs=(proto,))

        def bound(_: object, proto: SmppProtocol) -> None:
            if result.called:                         # cancelled meanwhile
                proto.abort()
                return
            transport: Any = proto.transport
            lease = factory.buildProtocol(transport.getPeer())
            lease.makeConnection(transport)
            proto.when_closed().addCallback(lambda _: self._lost(proto, lease))
            self.last_failure = None
            self._on_bound(proto, host)
            result.callback(lease)

        def bind_failed(f: Failure, proto: SmppProtocol) -> None:
            proto.close()
            proto.when_closed().addCallback(lambda _: failed(f))

        def failed(f: Failure) -> None:
            if result.called:                         # cancelled: nothing left to report
                return
            self.last_failure = f
            self.index = (self.index + 1) % len(self.hosts)
            result.errback(f)

        connecting.addCallbacks(connected, failed)
        return result

    def _lost(self, proto: SmppProtocol, lease: Protocol) -> None:
        self.index = 0                                # next time, try the primary first
        lease.connectionLost(proto.lost_reason or Failure(ConnectionDone()))
