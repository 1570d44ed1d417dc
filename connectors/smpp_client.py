# tests: tests/integration/test_connector.py
"""One vendor connector: `binds` SMPP sessions, the MT pump, receipts and MO.

Rules:
- Each session is a `ClientService` (injected reactor; backoff with jitter from an injected
  `random.Random`) over a `FailoverBindEndpoint`: an attempt connects to the current host
  and binds; a refused bind is a failed attempt (see connectors/failover.py).
- This object is the `SmppHandler` of every connection: it routes answers to our submit_sm
  to the `MtPump`, deliver_sm/data_sm to the `InboundHandler`, and keeps counters. It holds
  no SMPP rules (the session does) and no queue logic (the pump does).
- `start()` / `stop()` work at run time without losing a message: stop = stop taking, wait
  for the answers in flight (bounded by the session's response timeout, after which they
  fail and their entries go back), unbind every session, stop reconnecting, close.
  Entries whose parts had not gone out are released unchanged; nothing is acked unanswered.
"""
from __future__ import annotations

import random
from typing import Any, Callable

from twisted.application.internet import ClientService
from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.deliveries import Deliveries
from smscd.smpp import pdu as P
from smscd.smpp.session import (Event, ProtocolError, RequestFailed, RequestReceived,
                                ResponseReceived, SessionConfig, Unbound, UnexpectedResponse)
from smscd.smpp_protocol import BindPdu, SmppProtocol, client_factory
from smscd.stores.billing_interface import PartHooks
from smscd.stores.interfaces import Correlations, MessageLog, Queues
from smscd.stores.mo_parts import MoParts
from connectors.conditions import Conditions
from connectors.connector_config import ConnectorConfig
from connectors.failover import EndpointFor, FailoverBindEndpoint, HostPort, SessionLease, \
    backoff_policy
from connectors.inbound import InboundHandler
from connectors.mt_entries import AcceptedHook
from connectors.mt_pump import MtPump, PartSend

log = Logger(namespace="connectors.smpp_client")

_BIND_PDU: dict[str, type[BindPdu]] = {"transceiver": P.BindTransceiver,
                                       "transmitter": P.BindTransmitter,
                                       "receiver": P.BindReceiver}


class ConnectorService(Service):
    """A vendor connector; a `twisted.application` service (name = connector id)."""

    def __init__(self, config: ConnectorConfig, reactor: Any, queues: Queues,
                 messages: MessageLog, correlations: Correlations, deliveries: Deliveries,
                 rng: random.Random | None = None,
                 endpoint_for: EndpointFor | None = None,
                 billing: PartHooks | None = None,
                 mo_parts: MoParts | None = None,
                 dlr: AcceptedHook | None = None) -> None:
        self.config = config
        self.name: str = config.id  # type: ignore[assignment]  # Service declares None
        self.reactor = reactor
        self.queues = queues
        rng = rng if rng is not None else random.Random()
        self.pump = MtPump(config, queues, messages, correlations, deliveries, reactor,
                           billing=billing, dlr=dlr)
        self.inbound = InboundHandler(config, correlations, deliveries, reactor,
                                      queues=queues, mo_parts=mo_parts)
        self.bound: dict[SmppProtocol, HostPort] = {}
        self.late_responses = 0             # answers after their timeout: possible duplicates
        self.last_error: str | None = None
        self.running_now = False
        self._stop_waiters: list[Deferred[None]] = []
        self._conditions: Conditions[ConnectorService] = Conditions(self)
        self.pump.observer = self.inbound.observer = self._conditions.check
        session = SessionConfig(window=config.window, response_timeout=config.response_timeout,
                                enquire_link_interval=config.enquire_link_interval,
                                inactivity_timeout=config.inactivity_timeout)
        smpp_factory = client_factory(lambda: self, reactor, session)
        smpp_factory.noisy = False                  # no "Starting factory" per reconnect
        endpoint_for = endpoint_for or (lambda hp: HostnameEndpoint(
            reactor, hp[0], hp[1], timeout=config.connect_timeout))
        self.endpoints = [FailoverBindEndpoint(config.hosts, endpoint_for, smpp_factory,
                                               self._bind_pdu, self._on_bound)
                          for _ in range(config.binds)]
        self.clients = [ClientService(endpoint, Factory.forProtocol(SessionLease),  # type: ignore[arg-type]
                                      retryPolicy=backoff_policy(
                                          config.reconnect_initial_delay,
                                          config.reconnect_max_delay, rng),
                                      clock=reactor)
                        for endpoint in self.endpoints]

    # -- run time control ---------------------------------------------------------------------
    def startService(self) -> None:
        super().startService()
        self.start()

    def stopService(self) -> Deferred[None]:
        super().stopService()
        return self.stop()

    def start(self) -> Deferred[None]:
        """Connect, bind and send; after a stop in progress, once it is over."""
        if self._stop_waiters:
            return self._wait_stopped().addCallback(lambda _: self._start())
        self._start()
        return succeed(None)

    def _start(self) -> None:
        if self.running_now:
            return
        self.running_now = True
        self.inbound.start()
        if self.config.sends:
            self.pump.start()
        for client in self.clients:
            client.startService()

    def stop(self) -> Deferred[None]:
        """Stop without losing a message; fires when every session is closed and every
        entry taken is acked, retried or released."""
        first = not self._stop_waiters
        d = self._wait_stopped()
        if first:
            self.running_now = False
            Deferred.fromCoroutine(self._stop()).addBoth(self._stopped)
        return d

    def _wait_stopped(self) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        self._stop_waiters.append(d)
        return d

    def _stopped(self, result: object) -> None:
        if isinstance(result, Failure):
            log.failure("connector {id}: stop failed", result, id=self.config.id)
        waiters, self._stop_waiters = self._stop_waiters, []
        for d in waiters:
            d.callback(None)

    async def _stop(self) -> None:
        await _within(self.pump.stop(), self.config.response_timeout + 1.0, self.reactor)
        closing = [proto.when_closed() for proto in list(self.bound)]
        for proto in list(self.bound):
            if proto.session.bound:
                proto.unbind()
        await DeferredList(closing)
        await DeferredList([client.stopService() for client in self.clients
                            if client.running])
        self.inbound.stop()
        await self.pump.when_idle()

    # -- status -------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """What an operator wants to see (admin shell `smppccm -l`, metrics)."""
        stats, inbound = self.pump.stats, self.inbound.stats
        errors = [e for e in (self.last_error, stats.last_error, inbound.last_error,
                              self.bind_failure) if e]
        return {
            "id": self.config.id,
            "running": self.running_now,
            "binds": self.config.binds,
            "bound": sum(1 for p in self.bound if p.session.bound),
            "hosts": sorted(f"{h}:{p}" for h, p in self.bound.values()),
            "window": self.config.window,
            "in_flight": self.pump.in_flight,
            "throughput": self.pump.meter.rate(),
            "queue_depth": self.queues.depth(self.pump.queue),
            "sent": stats.sent, "accepted": stats.accepted, "retried": stats.retried,
            "throttled": stats.backpressure, "rejected": stats.rejected,
            "dead_lettered": stats.dead_lettered, "late_responses": self.late_responses,
            "receipts": inbound.receipts, "unknown_receipts": inbound.unknown_receipts,
            "receipts_late": inbound.receipts_late,
            "receipts_given_up": inbound.receipts_given_up,
            "mo": inbound.mo, "mo_partial": inbound.mo_partial,
            "last_error": errors[0] if errors else None,
        }

    @property
    def up(self) -> bool:
        """Started with at least one session bound: failover routing and fall-through
        (connectors/fallthrough.py) send nothing new to a connector that is not up."""
        return self.running_now and any(p.session.bound for p in self.bound)

    def until(self, condition: Callable[[ConnectorService], bool]) -> Deferred[None]:
        """Fires once `condition(self)` holds; checked after each entry resolves, each
        inbound answer, each bind and each lost session (tests, the admin shell)."""
        return self._conditions.until(condition)

    # -- binding ------------------------------------------------------------------------------
    def _bind_pdu(self) -> BindPdu:
        cfg = self.config
        return _BIND_PDU[cfg.bind](system_id=cfg.system_id, password=cfg.password,
                                   system_type=cfg.system_type, addr_ton=cfg.addr_ton,
                                   addr_npi=cfg.addr_npi, address_range=cfg.address_range)

    def _on_bound(self, proto: SmppProtocol, host: HostPort) -> None:
        log.info("connector {id}: bound to {host}:{port}", id=self.config.id, host=host[0],
                 port=host[1])
        self.bound[proto] = host
        if self.config.sends:
            self.pump.add_session(proto)
        self._conditions.check()

    # -- SmppHandler --------------------------------------------------------------------------
    def connected(self, proto: SmppProtocol) -> None:
        pass

    def event(self, proto: SmppProtocol, event: Event) -> None:
        if type(event) is ResponseReceived and type(event.context) is PartSend:
            self.pump.on_response(event.context, event.response)
        elif type(event) is RequestReceived:
            pdu = event.pdu
            if isinstance(pdu, P.DeliverSm | P.DataSm):
                self.inbound.on_request(proto.respond, pdu)
        elif isinstance(event, RequestFailed) and type(event.context) is PartSend:
            self.pump.on_failed(event.context, event.reason, event.status)
        elif isinstance(event, UnexpectedResponse):
            self.late_responses += 1
        elif isinstance(event, ProtocolError):
            self.last_error = f"protocol: {event.error}"
        elif isinstance(event, Unbound) and event.by_peer:
            self.last_error = "vendor unbound"

    def disconnected(self, proto: SmppProtocol, reason: Failure) -> None:
        self.pump.remove_session(proto)
        host = self.bound.pop(proto, None)
        if host is not None and self.running_now:
            self.last_error = f"bind to {host[0]}:{host[1]} lost: {reason.getErrorMessage()}"
            log.warn("connector {id}: {error}", id=self.config.id, error=self.last_error)
        self._conditions.check()

    @property
    def bind_failure(self) -> str | None:
        """The last failed attempt of any session, for operators."""
        failures = [e.last_failure for e in self.endpoints if e.last_failure is not None]
        return failures[-1].getErrorMessage() if failures else None


def _within(d: Deferred[None], timeout: float, clock: Any) -> Deferred[None]:
    """`d`, or give up waiting on it after `timeout` (what it waits for goes on)."""
    out: Deferred[None] = Deferred()

    def give_up() -> None:
        if not out.called:
            out.callback(None)
    timer = clock.callLater(timeout, give_up)

    def fire(_: object) -> None:
        if timer.active():
            timer.cancel()
        if not out.called:
            out.callback(None)
    d.addBoth(fire)
    return out


__all__ = ["ConnectorService"]
