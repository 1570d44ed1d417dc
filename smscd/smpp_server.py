# tests: tests/integration/test_smpp_server.py, tests/integration/test_smpp_credentials.py
"""The customer-facing SMPP server (SMSC role): one handler per connection.

Rules:
- The adapter and the session do the SMPP rules (states, enquire_link, unbind, generic_nack,
  malformed PDUs, the customer's window: beyond `max_inbound_pending` unanswered requests
  the session answers ESME_RTHROTTLED itself). This module decides answers only.
- submit_sm / data_sm: validate (its status per wrong field), the user's MT credential
  (`credentials.check_smpp_submit`: authorizations, value filters, default source; its
  status), then the MT pipeline (smscd/mt_pipeline.py: interceptors, route, per-user
  throughput, billing, durable accept), and ONLY when it fires the resp with our message
  id; a refusal is answered with its SMPP status. Answers go out in completion order;
  many submits may be outstanding on one bind.
- submit_multi: one Message per SME destination (see smpp_multi.py).
- query_sm / cancel_sm / replace_sm see only the user's own messages; someone else's id
  looks exactly like an unknown one (ESME_RQUERYFAIL / RCANCELFAIL / RREPLACEFAIL).
  cancel_sm and replace_sm act on a message still waiting in its connector's queue (log
  and queue in one durable change); a cancelled message's billing hold is released at
  once (`billing.message_failed`, as REST DELETE does). cancel_sm by addresses (empty
  message_id) cancels every matching queued message of the user (smpp_cancel.py).
  replace_sm's schedule_delivery_time / validity_period move the message's schedule and
  expiry, empty keeps them (smpp_replace.py).
- Binds are checked by `smpp_auth.Authenticator`; accepted ones join the BindRegistry under
  the user's uid (messages carry the uid too), and leave it at unbind or disconnect.
  A bind keeps the user (and credentials) it was accepted with until it unbinds.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from smscd.bind_registry import BindRegistry
from smscd.credentials import CredentialRefusal, check_smpp_submit
from smscd.deliveries import mt_queue
from smscd.ids import new_message_id
from smscd.lockout import BindLockout
from smscd.message import Part
from smscd.mt_pipeline import MtPipeline, Refused
from smscd.smpp import pdu as P
from smscd.smpp.commands import CommandId as C
from smscd.smpp.errors import SmppError
from smscd.smpp.message_state import is_final
from smscd.smpp.session import (EnquireLinkReceived, Event, RequestReceived, SessionConfig,
                                State, Unbound)
from smscd.smpp.smpp_time import format_absolute
from smscd.smpp.status import CommandStatus as S
from smscd.smpp.validate import validate_submission
from smscd.smpp_auth import Authenticator, BindRefused, Verifier, verify_in_thread
from smscd.smpp_cancel import QueuedMt, cancel_matching, cancel_one, group_criteria, id_criteria
from smscd.smpp_multi import submit_multi
from smscd.smpp_protocol import HandlerBase, ReactorTime, SmppFactory, SmppProtocol, server_factory
from smscd.smpp_replace import parse_replace_times, replaced_times
from smscd.stats import SmppUserStats, Stats
from smscd.stores.billing_interface import PartHooks
from smscd.stores.interfaces import MessageLog, MessageRecord, UserRecord, Users
from smscd.submission import build_message, destination_of

log = Logger(namespace="smscd.smpp_server")

_BIND = (C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER)
_BROADCAST_FAIL = {C.BROADCAST_SM: S.ESME_RBCASTFAIL,
                   C.QUERY_BROADCAST_SM: S.ESME_RBCASTQUERYFAIL,
                   C.CANCEL_BROADCAST_SM: S.ESME_RBCASTCANCELFAIL}
_BIND_KIND = {State.BOUND_TRX: "trx", State.BOUND_RX: "rx", State.BOUND_TX: "tx"}


@dataclass(frozen=True)
class ServerSettings:
    system_id: str = "smscd"            # ours, in bind_resp
    session: SessionConfig = SessionConfig()   # window, timers, max_inbound_pending
    max_parts: int = 10                 # network segments one message_payload may cost


@dataclass
class ServerContext:
    """What every connection of one server shares."""
    users: Users
    log: MessageLog
    pipeline: MtPipeline
    registry: BindRegistry
    clock: ReactorTime
    settings: ServerSettings
    auth: Authenticator
    stats: Stats
    billing: PartHooks | None = None    # releases a cancelled message's hold
    queued: QueuedMt | None = None      # what cancel_sm by address searches

    def now_utc(self) -> tuple[float, datetime]:
        now = self.clock.seconds()
        return now, datetime.fromtimestamp(now, timezone.utc)


def smpp_server_factory(*, users: Users, log: MessageLog, pipeline: MtPipeline,
                        registry: BindRegistry, clock: ReactorTime,
                        settings: ServerSettings = ServerSettings(),
                        lockout: BindLockout | None = None,
                        verify: Verifier = verify_in_thread,
                        stats: Stats | None = None,
                        billing: PartHooks | None = None,
                        queued: QueuedMt | None = None) -> SmppFactory:
    """The protocol factory for the customers' listening endpoint; `stats` counts for
    jCli `stats` (its own when not given); `billing` releases cancelled messages' holds;
    `queued` (smpp_cancel.WaitingMt) is what cancel_sm by address searches: without it
    that is answered ESME_RCANCELFAIL."""
    auth = Authenticator(users, clock, lockout or BindLockout(), registry.count, verify)
    ctx = ServerContext(users, log, pipeline, registry, clock, settings, auth,
                        stats or Stats(clock.seconds()), billing, queued)
    return server_factory(lambda: SmppServerHandler(ctx), clock, settings.session)


class SmppServerHandler(HandlerBase):
    """One customer connection."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.user: UserRecord | None = None
        self.peer_host = "?"
        self.bound_as = ""                      # its _BIND_KIND while counted as bound

    # -- SmppHandler --------------------------------------------------------------------
    def connected(self, proto: SmppProtocol) -> None:
        self.peer_host = proto.connected_peer.rsplit(":", 1)[0]
        self.ctx.stats.smpp_connected()

    def event(self, proto: SmppProtocol, event: Event) -> None:
        if type(event) is RequestReceived:
            self.ctx.stats.smpp_request(self.ctx.clock.seconds())
            pdu = event.pdu
            cid = pdu.command_id
            if cid == C.SUBMIT_SM or cid == C.DATA_SM:
                self._on_submit(proto, pdu)                     # type: ignore[arg-type]
            elif cid in _BIND:
                self._on_bind(proto, pdu)                       # type: ignore[arg-type]
            elif cid == C.SUBMIT_MULTI:
                assert isinstance(pdu, P.SubmitMulti) and self.user is not None
                submit_multi(self, proto, pdu)
            elif cid == C.QUERY_SM:
                self._on_query(proto, pdu)                      # type: ignore[arg-type]
            elif cid == C.CANCEL_SM:
                self._on_cancel(proto, pdu)                     # type: ignore[arg-type]
            elif cid == C.REPLACE_SM:
                self._on_replace(proto, pdu)                    # type: ignore[arg-type]
            else:
                resp = P.RESPONSE_CLASS.get(cid)
                if resp is not None:
                    proto.respond(pdu, resp(command_status=_BROADCAST_FAIL.get(
                        C(cid), S.ESME_RINVCMDID)))
        elif type(event) is EnquireLinkReceived:
            self.ctx.stats.smpp_elink(self.user.uid if self.user is not None else None,
                                      self.ctx.clock.seconds())
        elif isinstance(event, Unbound):
            self._leave(proto)

    def disconnected(self, proto: SmppProtocol, reason: Failure) -> None:
        self._leave(proto)
        self.ctx.stats.smpp_disconnected()

    def _leave(self, proto: SmppProtocol) -> None:
        if self.user is not None:
            self.ctx.registry.remove(self.user.uid, proto)
            if self.bound_as:
                self.ctx.stats.smpp_unbound(self.user.uid, self.bound_as, self.peer_host,
                                            self.ctx.clock.seconds())
                self.bound_as = ""

    # -- bind -----------------------------------------------------------------------------
    def _on_bind(self, proto: SmppProtocol,
                 pdu: P.BindTransmitter | P.BindReceiver | P.BindTransceiver) -> None:
        d = self.ctx.auth.authenticate(pdu.system_id, pdu.password, self.peer_host)
        d.addCallbacks(self._bind_ok, self._bind_refused, callbackArgs=(proto, pdu),
                       errbackArgs=(proto, pdu))

    def _bind_ok(self, user: UserRecord, proto: SmppProtocol, pdu: P.Pdu) -> None:
        if proto.session.closed:
            return
        proto.accept_bind(pdu, self.ctx.settings.system_id)
        self.user = user
        self.ctx.registry.add(user.uid, proto)
        self.bound_as = _BIND_KIND[proto.session.state]
        self.ctx.stats.smpp_bound(user.uid, self.bound_as, self.peer_host,
                                  self.ctx.clock.seconds())
        log.info("{user} bound {state} from {peer}", user=user.username,
                 state=proto.session.state.name, peer=proto.connected_peer)

    def _bind_refused(self, failure: Failure, proto: SmppProtocol,
                      pdu: P.BindTransmitter | P.BindReceiver | P.BindTransceiver) -> None:
        if failure.check(BindRefused):
            error: BindRefused = failure.value
            status, reason = error.status, error.reason
        else:
            log.failure("bind of {system_id!r} failed", failure, system_id=pdu.system_id)
            status, reason = S.ESME_RBINDFAIL, "internal error"
        log.info("bind refused: {system_id!r} from {peer}: {reason}", system_id=pdu.system_id,
                 peer=proto.connected_peer, reason=reason)
        if not proto.session.closed:
            proto.reject_bind(pdu, status)

    # -- submit_sm / data_sm --------------------------------------------------------------
    def _on_submit(self, proto: SmppProtocol, pdu: P.SubmitSm | P.DataSm) -> None:
        ctx, user = self.ctx, self.user
        assert user is not None                  # the session lets no submit in unbound
        resp_class = P.SubmitSmResp if type(pdu) is P.SubmitSm else P.DataSmResp
        now, now_dt = ctx.now_utc()
        counters = ctx.stats.smpp_submit(user.uid, now)
        try:
            times = validate_submission(pdu, now_dt)
            message = build_message(pdu, message_id=new_message_id(now), user=user.uid,
                                    destination=destination_of(pdu), times=times, now=now,
                                    max_parts=ctx.settings.max_parts)
        except SmppError as e:
            self._refuse(proto, pdu, resp_class(command_status=e.status), counters)
            return
        checked = check_smpp_submit(user.mt_credential, message)
        if isinstance(checked, CredentialRefusal):
            self._refuse(proto, pdu, resp_class(command_status=checked.smpp_status), counters)
            return
        ctx.pipeline.submit(user, checked, "smpp").addCallbacks(
            self._accepted, self._not_accepted, callbackArgs=(proto, pdu, resp_class, counters),
            errbackArgs=(proto, pdu, resp_class, checked.id, counters))

    def _accepted(self, message_id: str, proto: SmppProtocol, pdu: P.Pdu,
                  resp_class: Any, counters: SmppUserStats) -> None:
        self.ctx.stats.smpp_submit_ok(counters, self.ctx.clock.seconds())
        proto.respond(pdu, resp_class(message_id=message_id))

    def _not_accepted(self, failure: Failure, proto: SmppProtocol, pdu: P.Pdu,
                      resp_class: Any, message_id: str, counters: SmppUserStats) -> None:
        if failure.check(Refused):
            status = failure.value.smpp_status
        else:
            log.failure("submitting message {id} failed; answered ESME_RSYSERR", failure,
                        id=message_id)
            status = S.ESME_RSYSERR
        self._refuse(proto, pdu, resp_class(command_status=status), counters)

    def _refuse(self, proto: SmppProtocol, pdu: P.Pdu, resp: P.Pdu,
                counters: SmppUserStats) -> None:
        self.ctx.stats.smpp_submit_error(counters, resp.command_status == S.ESME_RTHROTTLED,
                                         self.ctx.clock.seconds())
        proto.respond(pdu, resp)

    # -- query_sm / cancel_sm / replace_sm ------------------------------------------------
    def _own(self, proto: SmppProtocol, pdu: P.Pdu, message_id: str, fail_status: int,
             then: Callable[[MessageRecord], Deferred[P.Pdu] | P.Pdu]) -> None:
        """Look up the user's own message, answer `fail_status` if there is none, else
        answer what `then(record)` gives; a store failure is ESME_RSYSERR."""
        assert self.user is not None
        resp_class = P.RESPONSE_CLASS[pdu.command_id]

        def found(record: MessageRecord | None) -> Deferred[P.Pdu] | P.Pdu:
            if record is None:
                return resp_class(command_status=fail_status)
            return then(record)

        def failed(failure: Failure) -> P.Pdu:
            log.failure("{cmd} for {id!r} failed", failure, cmd=pdu.command_id.name.lower(),
                        id=message_id)
            return resp_class(command_status=S.ESME_RSYSERR)

        def answer(resp: P.Pdu) -> None:
            proto.respond(pdu, resp)

        d: Deferred[Any] = self.ctx.log.get(message_id, self.user.uid)
        d.addCallback(found)
        d.addErrback(failed)
        d.addCallback(answer)

    def _on_query(self, proto: SmppProtocol, pdu: P.QuerySm) -> None:
        self._own(proto, pdu, pdu.message_id, S.ESME_RQUERYFAIL,
                  lambda r: query_answer(pdu.message_id, r))

    def _on_cancel(self, proto: SmppProtocol, pdu: P.CancelSm) -> None:
        assert self.user is not None
        ctx = self.ctx
        if pdu.message_id:
            criteria = id_criteria(pdu)

            def cancel(record: MessageRecord) -> Deferred[P.Pdu] | P.Pdu:
                message = record.message
                if not criteria.matches(message):
                    return P.CancelSmResp(command_status=S.ESME_RCANCELFAIL)
                return cancel_one(ctx.log, ctx.billing, message,
                                  mt_queue(message.connector)).addCallback(_cancel_answer)
            self._own(proto, pdu, pdu.message_id, S.ESME_RCANCELFAIL, cancel)
            return
        try:
            criteria = group_criteria(pdu)
        except SmppError as e:
            proto.respond(pdu, P.CancelSmResp(command_status=e.status))
            return
        if ctx.queued is None:
            log.warn("cancel_sm by address from {user} refused: this server has no view of "
                     "the queues", user=self.user.username)
            proto.respond(pdu, P.CancelSmResp(command_status=S.ESME_RCANCELFAIL))
            return
        d = maybeDeferred(cancel_matching, ctx.log, ctx.billing, ctx.queued, self.user.uid,
                          criteria)
        d.addErrback(self._cancel_failed, self.user.uid)
        d.addCallback(lambda resp: proto.respond(pdu, resp))

    def _cancel_failed(self, failure: Failure, uid: str) -> P.CancelSmResp:
        log.failure("cancel_sm by address for {uid} failed", failure, uid=uid)
        return P.CancelSmResp(command_status=S.ESME_RSYSERR)

    def _on_replace(self, proto: SmppProtocol, pdu: P.ReplaceSm) -> None:
        status = replace_sm_status(pdu)
        if not status:
            try:
                times = parse_replace_times(pdu, self.ctx.now_utc()[1])
            except SmppError as e:
                status = e.status
        if status:
            proto.respond(pdu, P.ReplaceSmResp(command_status=status))
            return

        def replace(record: MessageRecord) -> Deferred[P.Pdu] | P.Pdu:
            old = record.message
            try:
                schedule_at, expires_at = replaced_times(old, times)
            except SmppError as e:
                return P.ReplaceSmResp(command_status=e.status)
            payload = tuple(t for t in pdu.tlvs if t.name == "message_payload")
            new = dataclasses.replace(
                old, registered_delivery=pdu.registered_delivery,
                parts=(Part(pdu.short_message, old.parts[0].esm_class if old.parts else 0,
                            payload),),
                schedule_at=schedule_at, expires_at=expires_at)
            return self.ctx.log.replace(new, mt_queue(old.connector)).addCallback(
                lambda done: P.ReplaceSmResp(
                    command_status=S.ESME_ROK if done else S.ESME_RREPLACEFAIL))
        self._own(proto, pdu, pdu.message_id, S.ESME_RREPLACEFAIL, replace)


def _cancel_answer(done: bool) -> P.CancelSmResp:
    return P.CancelSmResp(command_status=S.ESME_ROK if done else S.ESME_RCANCELFAIL)


def query_answer(message_id: str, record: MessageRecord) -> P.QuerySmResp:
    """query_sm_resp from the log: final_date once final (3.4 §4.8.2), the error code of the
    first failed part (one octet)."""
    final = is_final(record.state)
    final_date = format_absolute(datetime.fromtimestamp(record.updated_at, timezone.utc)) \
        if final else ""
    error = next((p.error for p in record.parts if p.error), "")
    return P.QuerySmResp(message_id=message_id, final_date=final_date,
                         message_state=int(record.state),
                         error_code=int(error) & 0xFF if error.isdigit() else 0)


def replace_sm_status(pdu: P.ReplaceSm) -> int:
    """What we refuse in a replace_sm before looking the message up (0: nothing)."""
    if pdu.sm_default_msg_id:
        return S.ESME_RINVDFTMSGID
    if pdu.registered_delivery & 0xE0:
        return S.ESME_RINVREGDLVFLG
    if pdu.short_message and pdu.tlv("message_payload") is not None:
        return S.ESME_RINVMSGLEN
    return 0
