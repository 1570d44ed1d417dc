# tests: tests/unit/test_session.py
"""The sans-IO SMPP session: bytes in, events out; PDUs in, bytes out.

Rules:
- No clock and no I/O: every call takes `now` (seconds, any monotonic origin); the
  session reports `next_deadline()` and the adapter calls `on_time(now)` then.
- What the peer may send in each state is one table per role (MAY_RECEIVE). Anything
  else is answered here, never passed up: ESME_RINVBNDSTS for a request in the wrong
  state, ESME_RALYBND for a second bind, generic_nack for an unknown command, the
  request's own *_resp with the decoder's status for a bad field. The bind survives
  all of these; only lost framing closes the connection (after a generic_nack).
- enquire_link, unbind and their responses are handled here. Requests the
  application must act on come out as RequestReceived; responses to our requests come
  out as ResponseReceived or RequestFailed, matched by sequence number, in any order.
- Our requests are limited by a window; each has a response deadline.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from . import pdu as P
from .codec import decode, encode
from .commands import RESPONSE_BIT
from .commands import CommandId as C
from .errors import FramingError, InvalidPdu, SmppError
from .frame_buffer import DEFAULT_MAX_PDU, FrameBuffer
from .status import CommandStatus as S
from .tlv import STANDARD_TLVS, TlvRegistry

MAX_SEQUENCE = 0x7FFFFFFF


class Role(Enum):
    SMSC = "smsc"   # customers bind to us
    ESME = "esme"   # we bind to a vendor


class State(Enum):
    OPEN = "open"
    BINDING = "binding"          # ESME: bind sent, no answer yet
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"      # we sent unbind
    UNBOUND = "unbound"          # the peer unbound us: answers in flight may still pass (5.0)
    CLOSED = "closed"


BIND_STATE = {C.BIND_TRANSMITTER: State.BOUND_TX, C.BIND_RECEIVER: State.BOUND_RX,
              C.BIND_TRANSCEIVER: State.BOUND_TRX}
BIND_RESP_CLASS: dict[int, type[P.BindTransmitterResp | P.BindReceiverResp
                               | P.BindTransceiverResp]] = {
    C.BIND_TRANSMITTER: P.BindTransmitterResp, C.BIND_RECEIVER: P.BindReceiverResp,
    C.BIND_TRANSCEIVER: P.BindTransceiverResp}

_COMMON = frozenset({C.ENQUIRE_LINK, C.UNBIND})
_TX_OPS = frozenset({C.SUBMIT_SM, C.SUBMIT_MULTI, C.DATA_SM, C.QUERY_SM, C.CANCEL_SM,
                     C.REPLACE_SM, C.BROADCAST_SM, C.QUERY_BROADCAST_SM,
                     C.CANCEL_BROADCAST_SM})
_RX_OPS = frozenset({C.DELIVER_SM, C.DATA_SM, C.ALERT_NOTIFICATION})

# Requests the peer may send us, per role and state (3.4 Table 2-1, 5.0 Table 2-1).
# enquire_link is accepted before bind too: 5.0 allows it and 3.4 clients send it.
MAY_RECEIVE: dict[Role, dict[State, frozenset[int]]] = {
    Role.SMSC: {
        State.OPEN: frozenset(BIND_STATE) | {C.ENQUIRE_LINK},
        State.BOUND_TX: _TX_OPS | _COMMON,
        State.BOUND_RX: _COMMON,
        State.BOUND_TRX: _TX_OPS | _COMMON,
        State.UNBINDING: _COMMON,
    },
    Role.ESME: {
        State.OPEN: frozenset({C.OUTBIND, C.ENQUIRE_LINK}),
        State.BINDING: frozenset({C.ENQUIRE_LINK}),
        State.BOUND_TX: _COMMON,
        State.BOUND_RX: _RX_OPS | _COMMON,
        State.BOUND_TRX: _RX_OPS | _COMMON,
        State.UNBINDING: _COMMON,
    },
}

# Requests we may send, per role and state.
MAY_SEND: dict[Role, dict[State, frozenset[int]]] = {
    Role.SMSC: {
        State.BOUND_TX: _COMMON,
        State.BOUND_RX: _RX_OPS | _COMMON,
        State.BOUND_TRX: _RX_OPS | _COMMON,
    },
    Role.ESME: {
        State.OPEN: frozenset(BIND_STATE),
        State.BOUND_TX: _TX_OPS | _COMMON,
        State.BOUND_RX: _COMMON,
        State.BOUND_TRX: _TX_OPS | _COMMON,
    },
}

_NO_RESPONSE = frozenset({C.ALERT_NOTIFICATION, C.OUTBIND})
_BOUND = frozenset({State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX})


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Timers in seconds; 0 disables enquire_link, inactivity and session_init (never the
    response timeout: an unanswered request must fail some day)."""
    window: int = 10
    response_timeout: float = 10.0
    enquire_link_interval: float = 30.0
    inactivity_timeout: float = 0.0
    session_init_timeout: float = 30.0
    max_pdu_size: int = DEFAULT_MAX_PDU
    max_inbound_pending: int = 1000
    tlv_registry: TlvRegistry = STANDARD_TLVS

    def __post_init__(self) -> None:
        if self.response_timeout <= 0 or self.window < 1:
            raise ValueError("response_timeout must be > 0 and window >= 1")


# --- events ---------------------------------------------------------------------------

class Event:
    """Something the application should know about; see the subclasses."""
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class RequestReceived(Event):
    """A request the application must act on, and answer with `respond` (except
    alert_notification and outbind, which have no response)."""
    pdu: P.Pdu


@dataclass(frozen=True, slots=True)
class ResponseReceived(Event):
    """The peer answered one of our requests (any command_status)."""
    request: P.Pdu
    response: P.Pdu
    context: object


@dataclass(frozen=True, slots=True)
class RequestFailed(Event):
    """One of our requests will never be answered: `reason` is 'timeout', 'generic_nack'
    (with the nack's status), 'unbound' or 'closed'. The peer may still have acted on it."""
    request: P.Pdu
    context: object
    reason: str
    status: int = 0


@dataclass(frozen=True, slots=True)
class EnquireLinkReceived(Event):
    """The peer's enquire_link, already answered by the session: for counters only."""


ENQUIRE_LINK_RECEIVED = EnquireLinkReceived()


@dataclass(frozen=True, slots=True)
class UnexpectedResponse(Event):
    """A response matching nothing in flight (late, duplicate or invented): logged, dropped."""
    pdu: P.Pdu


@dataclass(frozen=True, slots=True)
class ProtocolError(Event):
    """The peer sent something invalid; it has already been answered as the spec says."""
    error: SmppError


@dataclass(frozen=True, slots=True)
class Bound(Event):
    """The session reached a bound state (our bind accepted, or we accepted theirs)."""
    state: State
    system_id: str


@dataclass(frozen=True, slots=True)
class BindRejected(Event):
    """ESME role: the vendor refused our bind."""
    status: int


@dataclass(frozen=True, slots=True)
class Unbound(Event):
    """The unbind handshake finished (or the peer unbound us); the connection should close."""
    by_peer: bool


@dataclass(frozen=True, slots=True)
class CloseConnection(Event):
    """The adapter should flush `data_to_send()` and close the transport."""
    reason: str


class WindowFull(Exception):
    """Raised by send_request when the window is full; check `window_free` first."""


@dataclass(slots=True)
class _Outstanding:
    request: P.Pdu
    context: object
    deadline: float


# --- the session ------------------------------------------------------------------------

class Session:
    """One SMPP connection, in either role."""

    def __init__(self, role: Role, now: float, config: SessionConfig = SessionConfig()) -> None:
        self.role = role
        self.config = config
        self.state = State.OPEN
        self.system_id = ""            # the peer's (SMSC role) or ours (ESME role)
        self.interface_version = 0x34  # the peer's, from its bind (SMSC role)
        self._frames = FrameBuffer(config.max_pdu_size)
        self._out: list[bytes] = []
        self._window: dict[int, _Outstanding] = {}
        self._inbound_pending: set[int] = set()
        self._bind_pending: int | None = None   # SMSC role: a bind the app has not answered
        self._next_seq = 1
        self._last_received = now
        self._last_transaction = now
        self._enquire_deadline: float | None = None
        self._unbind_deadline: float | None = None
        self._init_deadline: float | None = (
            now + config.session_init_timeout
            if role is Role.SMSC and config.session_init_timeout > 0 else None)

    # -- queries ---------------------------------------------------------------------
    @property
    def bound(self) -> bool:
        return self.state in _BOUND

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    @property
    def window_free(self) -> int:
        return self.config.window - len(self._window)

    @property
    def in_flight(self) -> int:
        """Our requests awaiting a response."""
        return len(self._window)

    @property
    def inbound_pending(self) -> int:
        """Peer requests the application has not answered yet."""
        return len(self._inbound_pending)

    def may_send(self, command_id: int) -> bool:
        return command_id in MAY_SEND[self.role].get(self.state, frozenset())

    def data_to_send(self) -> bytes:
        """Everything queued for the wire since the last call, as one write."""
        if not self._out:
            return b""
        out = b"".join(self._out)
        self._out.clear()
        return out

    # -- input ---------------------------------------------------------------------------
    def receive_data(self, data: bytes, now: float) -> list[Event]:
        events: list[Event] = []
        if self.state is State.CLOSED:
            return events
        try:
            frames = self._frames.feed(data)
        except FramingError as e:
            self._framing_lost(e, events)
            return events
        if frames:
            self._last_received = now
            self._enquire_deadline = None
        for frame in frames:
            if self.closed:
                return events
            self._receive_frame(frame, now, events)
        if self._frames.broken and not self.closed:
            try:                                 # the frames before the bad header are done
                self._frames.feed(b"")
            except FramingError as e:
                self._framing_lost(e, events)
        return events

    def _framing_lost(self, e: FramingError, events: list[Event]) -> None:
        self._send_raw(encode(P.GenericNack(command_status=e.status), e.sequence_number or 0))
        events.append(ProtocolError(e))
        self._close(events, "framing lost: " + e.detail)

    def _receive_frame(self, frame: bytes, now: float, events: list[Event]) -> None:
        try:
            pdu = decode(frame, self.config.tlv_registry)
        except InvalidPdu as e:
            self._answer_invalid(e, events)
            return
        cid = pdu.command_id
        if cid & RESPONSE_BIT:
            self._receive_response(pdu, now, events)
            return
        if cid != C.ENQUIRE_LINK:
            self._last_transaction = now
        if cid not in MAY_RECEIVE[self.role].get(self.state, frozenset()) or (
                cid in BIND_STATE and self._bind_pending is not None):
            status = S.ESME_RALYBND if cid in BIND_STATE and self.bound else S.ESME_RINVBNDSTS
            self._reject(pdu, status, events,
                         f"{cid.name.lower()} not allowed in state {self.state.name}")
            return
        if cid == C.ENQUIRE_LINK:
            self._send_raw(encode(P.EnquireLinkResp(), pdu.sequence_number))
            events.append(ENQUIRE_LINK_RECEIVED)
        elif cid == C.UNBIND:
            # UNB-01: answer, accept nothing new, let answers in flight pass both ways,
            # then close (when drained, or after response_timeout; see on_time).
            self._send_raw(encode(P.UnbindResp(), pdu.sequence_number))
            self.state = State.UNBOUND
            self._unbind_deadline = now + self.config.response_timeout
            events.append(Unbound(by_peer=True))
        elif cid in _NO_RESPONSE:
            events.append(RequestReceived(pdu))
        elif len(self._inbound_pending) >= self.config.max_inbound_pending:
            self._reject(pdu, S.ESME_RTHROTTLED, events,
                         f"more than {self.config.max_inbound_pending} requests unanswered")
        else:
            if cid in BIND_STATE and isinstance(pdu, P.BindTransmitter | P.BindReceiver
                                                | P.BindTransceiver):
                self.interface_version = pdu.interface_version
                self._bind_pending = pdu.sequence_number
            self._inbound_pending.add(pdu.sequence_number)
            events.append(RequestReceived(pdu))

    def _receive_response(self, pdu: P.Pdu, now: float, events: list[Event]) -> None:
        pending = self._window.get(pdu.sequence_number)
        if pending is None:         # our enquire_link and unbind are not in the window
            if pdu.command_id == C.UNBIND_RESP and self.state is State.UNBINDING:
                self._fail_all("unbound", events)
                events.append(Unbound(by_peer=False))
                self._close(events, "unbind completed")
            elif pdu.command_id != C.ENQUIRE_LINK_RESP:
                events.append(UnexpectedResponse(pdu))
            return
        request = pending.request
        if pdu.command_id not in (C.GENERIC_NACK, request.command_id | RESPONSE_BIT):
            events.append(UnexpectedResponse(pdu))   # not an answer to it: keep waiting
            return
        # Left in place until here: the window's order is its deadline order.
        del self._window[pdu.sequence_number]
        if pdu.command_id == C.GENERIC_NACK:
            events.append(RequestFailed(request, pending.context, "generic_nack",
                                        pdu.command_status))
            if request.command_id in BIND_STATE:
                self.state = State.OPEN
                events.append(BindRejected(pdu.command_status))
            return
        if request.command_id in BIND_STATE:
            if pdu.command_status == S.ESME_ROK:
                self.state = BIND_STATE[C(request.command_id)]
                events.append(Bound(self.state, self.system_id))
            else:
                self.state = State.OPEN
                events.append(BindRejected(pdu.command_status))
            return
        if request.command_id != C.ENQUIRE_LINK:
            self._last_transaction = now
            events.append(ResponseReceived(request, pdu, pending.context))

    def _answer_invalid(self, e: InvalidPdu, events: list[Event]) -> None:
        events.append(ProtocolError(e))
        cid = e.command_id
        if cid is not None and cid & RESPONSE_BIT:
            return                      # never answer a response (NAK-05)
        response_class = P.RESPONSE_CLASS.get(cid) if cid is not None else None
        seq = e.sequence_number or 0
        if response_class is None or e.status in (S.ESME_RINVCMDID, S.ESME_RINVCMDLEN):
            if cid not in _NO_RESPONSE:
                self._send_raw(encode(P.GenericNack(command_status=e.status), seq))
        else:
            self._send_raw(encode(response_class(command_status=e.status), seq))

    def _reject(self, request: P.Pdu, status: int, events: list[Event], detail: str) -> None:
        error = InvalidPdu(detail, status, None, request.command_id, request.sequence_number)
        events.append(ProtocolError(error))
        response_class = P.RESPONSE_CLASS.get(request.command_id)
        if response_class is not None:
            self._send_raw(encode(response_class(command_status=status),
                                  request.sequence_number))
        elif request.command_id not in _NO_RESPONSE:
            self._send_raw(encode(P.GenericNack(command_status=status),
                                  request.sequence_number))

    # -- output ----------------------------------------------------------------------
    def send_request(self, pdu: P.Pdu, now: float, context: object = None) -> int:
        """Queue a request; returns its sequence number. Raises WindowFull, or InvalidPdu
        (ESME_RINVBNDSTS) when the state does not allow it."""
        cid = pdu.command_id
        if not self.may_send(cid):
            raise InvalidPdu(f"may not send {cid.name.lower()} in state {self.state.name}",
                             S.ESME_RINVBNDSTS)
        if cid == C.UNBIND:
            self.unbind(now)
            return (self._next_seq - 2) % MAX_SEQUENCE + 1   # the one unbind took, even at the wrap
        if len(self._window) >= self.config.window:
            raise WindowFull(f"window of {self.config.window} is full")
        if pdu.tlvs and self.role is Role.SMSC and self.interface_version < 0x34:
            pdu = dataclasses.replace(pdu, tlvs=())   # a 3.3 ESME cannot take TLVs (3.4 §3.4)
        seq = self._allocate_seq()
        data = encode(pdu, seq, self.config.tlv_registry)
        self._window[seq] = _Outstanding(pdu, context, now + self.config.response_timeout)
        self._out.append(data)
        if cid != C.ENQUIRE_LINK:
            self._last_transaction = now
        return seq

    def respond(self, request: P.Pdu, response: P.Pdu, now: float) -> None:
        """Answer a RequestReceived; the response gets the request's sequence number."""
        seq = request.sequence_number
        self._inbound_pending.discard(seq)
        if seq == self._bind_pending:
            self._bind_pending = None
        if self.state is State.CLOSED:
            return
        self._out.append(encode(response, seq, self.config.tlv_registry))
        self._last_transaction = now

    def accept_bind(self, request: P.Pdu, system_id: str, now: float) -> list[Event]:
        """SMSC role: answer a bind with ESME_ROK and enter the bound state; returns Bound."""
        cid = C(request.command_id)
        resp_class = BIND_RESP_CLASS[cid]
        extra = (STANDARD_TLVS.make("sc_interface_version", 0x34),) \
            if self.interface_version >= 0x34 else ()
        self.respond(request, resp_class(system_id=system_id, tlvs=extra), now)
        assert isinstance(request, P.BindTransmitter | P.BindReceiver | P.BindTransceiver)
        self.system_id = request.system_id
        self.state = BIND_STATE[cid]
        self._init_deadline = None
        return [Bound(self.state, self.system_id)]

    def reject_bind(self, request: P.Pdu, status: int, now: float) -> None:
        """SMSC role: refuse a bind (header-only body, as 3.4 §4.1 says); stays OPEN."""
        resp_class = BIND_RESP_CLASS[C(request.command_id)]
        self.respond(request, resp_class(command_status=status), now)

    def bind(self, request: P.BindTransmitter | P.BindReceiver | P.BindTransceiver,
             now: float) -> int:
        """ESME role: send our bind; Bound or BindRejected follows."""
        seq = self.send_request(request, now)
        self.system_id = request.system_id
        self.state = State.BINDING
        return seq

    def unbind(self, now: float) -> None:
        """Start the unbind handshake; Unbound follows (or a close on timeout)."""
        if self.state not in _BOUND:
            return
        seq = self._allocate_seq()
        self._out.append(encode(P.Unbind(), seq))
        self.state = State.UNBINDING
        self._unbind_deadline = now + self.config.response_timeout

    def connection_lost(self) -> list[Event]:
        """The transport is gone: every request in flight fails with reason 'closed'."""
        events: list[Event] = []
        self._fail_all("closed", events)
        self.state = State.CLOSED
        return events

    # -- timers --------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        if self.state is State.CLOSED:
            return None
        cfg = self.config
        due: list[float] = []
        if self._window:
            due.append(next(iter(self._window.values())).deadline)
        if self._init_deadline is not None and self.state is State.OPEN:
            due.append(self._init_deadline)
        if self._unbind_deadline is not None and self.state is State.UNBINDING:
            due.append(self._unbind_deadline)
        if self.state is State.UNBOUND:
            drained = not self._window and not self._inbound_pending
            due.append(0.0 if drained else self._unbind_deadline or 0.0)
        if self.state in _BOUND:
            if self._enquire_deadline is not None:
                due.append(self._enquire_deadline)
            elif cfg.enquire_link_interval > 0:
                due.append(self._last_received + cfg.enquire_link_interval)
            if cfg.inactivity_timeout > 0:
                due.append(self._last_transaction + cfg.inactivity_timeout)
        return min(due) if due else None

    def on_time(self, now: float) -> list[Event]:
        events: list[Event] = []
        if self.state is State.CLOSED:
            return events
        cfg = self.config
        self._expire_requests(now, events)
        if self.state is State.OPEN and self._init_deadline is not None \
                and now >= self._init_deadline:
            self._close(events, f"no bind within {cfg.session_init_timeout:g} s")
            return events
        if self.state is State.UNBOUND and (
                not self._window and not self._inbound_pending
                or self._unbind_deadline is None or now >= self._unbind_deadline):
            self._fail_all("unbound", events)
            self._close(events, "peer unbound")
            return events
        if self.state is State.UNBINDING and self._unbind_deadline is not None \
                and now >= self._unbind_deadline:
            self._fail_all("unbound", events)
            events.append(Unbound(by_peer=False))
            self._close(events, "no unbind_resp in time")
            return events
        if self.state not in _BOUND:
            return events
        if self._enquire_deadline is not None and now >= self._enquire_deadline:
            self._fail_all("closed", events)
            self._close(events, f"no answer to enquire_link within {cfg.response_timeout:g} s")
            return events
        if cfg.inactivity_timeout > 0 and now >= self._last_transaction + cfg.inactivity_timeout:
            self.unbind(now)
            return events
        if self._enquire_deadline is None and cfg.enquire_link_interval > 0 \
                and now >= self._last_received + cfg.enquire_link_interval:
            self._out.append(encode(P.EnquireLink(), self._allocate_seq()))
            self._enquire_deadline = now + cfg.response_timeout
        return events

    def _expire_requests(self, now: float, events: list[Event]) -> None:
        while self._window:
            seq, first = next(iter(self._window.items()))
            if first.deadline > now:
                break
            del self._window[seq]
            events.append(RequestFailed(first.request, first.context, "timeout"))
            if first.request.command_id in BIND_STATE:
                self.state = State.OPEN
                events.append(BindRejected(S.ESME_RSYSERR))

    # -- helpers ---------------------------------------------------------------------
    def _allocate_seq(self) -> int:
        seq = self._next_seq
        while seq in self._window:
            seq = seq % MAX_SEQUENCE + 1
        self._next_seq = seq % MAX_SEQUENCE + 1
        return seq

    def _send_raw(self, data: bytes) -> None:
        self._out.append(data)

    def _fail_all(self, reason: str, events: list[Event]) -> None:
        for pending in self._window.values():
            events.append(RequestFailed(pending.request, pending.context, reason))
        self._window.clear()

    def _close(self, events: list[Event], reason: str) -> None:
        self.state = State.CLOSED
        events.append(CloseConnection(reason))

