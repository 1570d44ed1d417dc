# tests: tests/unit/test_stats.py, tests/integration/test_stats_shell.py
"""Runtime counters for jCli `stats` (reference §6.4 and §7.10), kept in memory.

Rules:
- One `Stats` per daemon, shared by the SMPP server, the HTTP API and the shell. Counters
  reset on restart, as in Jasmin.
- Cheap on the hot path: every event is one method call doing plain int increments and a
  float store; the per-user records are created once per user (at its first event), never
  per message.
- Times are the caller's `now` (epoch seconds from the injected clock); 0.0 means never,
  shown `ND`.
- The SMPP server API is Jasmin's hard-coded `smpps_01`; bind kinds are `trx`, `rx`, `tx`.
"""
from __future__ import annotations

BIND_KINDS = ("trx", "rx", "tx")
BIND_NAMES = {"trx": "bind_transceiver", "rx": "bind_receiver", "tx": "bind_transmitter"}
HTTP_ERROR_KINDS = ("auth", "route", "interceptor", "throughput", "charging", "server")


class SmppUserStats:
    """§6.4 `smpps` of one user (CnxStatus)."""
    __slots__ = ("bind_count", "unbind_count", "bound", "peers", "submit_sm_request_count",
                 "last_activity_at", "qos_last_submit_sm_at", "submit_sm_count",
                 "deliver_sm_count", "data_sm_count", "elink_count",
                 "throttling_error_count", "other_submit_error_count")

    def __init__(self) -> None:
        self.bind_count = self.unbind_count = 0
        self.bound = dict.fromkeys(BIND_KINDS, 0)
        self.peers: dict[str, int] = {}
        self.submit_sm_request_count = self.submit_sm_count = 0
        self.deliver_sm_count = self.data_sm_count = self.elink_count = 0
        self.throttling_error_count = self.other_submit_error_count = 0
        self.last_activity_at = self.qos_last_submit_sm_at = 0.0


class HttpUserStats:
    """§6.4 `httpapi` of one user."""
    __slots__ = ("connects_count", "last_activity_at", "submit_sm_request_count",
                 "balance_request_count", "rate_request_count", "qos_last_submit_sm_at")

    def __init__(self) -> None:
        self.connects_count = self.submit_sm_request_count = 0
        self.balance_request_count = self.rate_request_count = 0
        self.last_activity_at = self.qos_last_submit_sm_at = 0.0


class SmppServerStats:
    """§7.10 `stats --smppsapi`."""
    __slots__ = ("created_at", "last_received_pdu_at", "last_sent_pdu_at",
                 "last_received_elink_at", "connected_count", "connect_count",
                 "disconnect_count", "bound", "binds", "unbind_count",
                 "submit_sm_request_count", "submit_sm_count", "deliver_sm_count",
                 "data_sm_count", "elink_count", "throttling_error_count",
                 "other_submit_error_count", "interceptor_error_count", "interceptor_count")

    def __init__(self, now: float) -> None:
        self.created_at = now
        self.last_received_pdu_at = self.last_sent_pdu_at = self.last_received_elink_at = 0.0
        self.connected_count = self.connect_count = self.disconnect_count = 0
        self.bound = dict.fromkeys(BIND_KINDS, 0)
        self.binds = dict.fromkeys(BIND_KINDS, 0)
        self.unbind_count = self.submit_sm_request_count = self.submit_sm_count = 0
        self.deliver_sm_count = self.data_sm_count = self.elink_count = 0
        self.throttling_error_count = self.other_submit_error_count = 0
        self.interceptor_error_count = self.interceptor_count = 0


class HttpApiStats:
    """§7.10 `stats --httpapi`."""
    __slots__ = ("created_at", "request_count", "last_request_at", "errors",
                 "interceptor_count", "success_count", "last_success_at")

    def __init__(self, now: float) -> None:
        self.created_at = now
        self.request_count = self.success_count = self.interceptor_count = 0
        self.last_request_at = self.last_success_at = 0.0
        self.errors = dict.fromkeys(HTTP_ERROR_KINDS, 0)


def http_error_kind(status: int, text: str) -> str:
    """Which §7.10 error counter an HTTP API error answer falls in."""
    if "intercept" in text.lower():
        return "interceptor"
    if status >= 500:
        return "server"
    if text.startswith("Authentication failure"):
        return "auth"
    if status == 412:
        return "route"
    if "throughput" in text.lower():
        return "throughput"
    return "charging" if status == 403 else "server"


class Stats:
    """Every counter of one daemon; the SMPP server and the HTTP API call its hooks."""

    def __init__(self, now: float) -> None:
        self.smpps = SmppServerStats(now)
        self.httpapi = HttpApiStats(now)
        self._smpp_users: dict[str, SmppUserStats] = {}
        self._http_users: dict[str, HttpUserStats] = {}

    # -- reading (never creates a record) -------------------------------------------------
    def smpp_user(self, uid: str) -> SmppUserStats:
        """The user's SMPP server counters (zeros if it has not been seen)."""
        return self._smpp_users.get(uid) or SmppUserStats()

    def http_user(self, uid: str) -> HttpUserStats:
        """The user's HTTP API counters (zeros if it has not been seen)."""
        return self._http_users.get(uid) or HttpUserStats()

    def _smpp(self, uid: str) -> SmppUserStats:
        user = self._smpp_users.get(uid)
        if user is None:
            user = self._smpp_users[uid] = SmppUserStats()
        return user

    def _http(self, uid: str) -> HttpUserStats:
        user = self._http_users.get(uid)
        if user is None:
            user = self._http_users[uid] = HttpUserStats()
        return user

    # -- SMPP server hooks --------------------------------------------------------------
    def smpp_connected(self) -> None:
        self.smpps.connect_count += 1
        self.smpps.connected_count += 1

    def smpp_disconnected(self) -> None:
        self.smpps.disconnect_count += 1
        self.smpps.connected_count -= 1

    def smpp_request(self, now: float) -> None:
        """Any request PDU from a customer (enquire_link is answered by the session)."""
        self.smpps.last_received_pdu_at = now

    def smpp_elink(self, uid: str | None, now: float) -> None:
        """A customer's enquire_link (answered by the session); `uid` None before bind."""
        self.smpps.elink_count += 1
        self.smpps.last_received_elink_at = self.smpps.last_received_pdu_at = now
        if uid is not None:
            user = self._smpp(uid)
            user.elink_count += 1
            user.last_activity_at = now

    def smpp_bound(self, uid: str, kind: str, peer: str, now: float) -> None:
        user = self._smpp(uid)
        user.bind_count += 1
        user.bound[kind] += 1
        user.peers[peer] = user.peers.get(peer, 0) + 1
        user.last_activity_at = now
        self.smpps.binds[kind] += 1
        self.smpps.bound[kind] += 1

    def smpp_unbound(self, uid: str, kind: str, peer: str, now: float) -> None:
        user = self._smpp(uid)
        user.unbind_count += 1
        user.bound[kind] -= 1
        left = user.peers.get(peer, 1) - 1
        if left > 0:
            user.peers[peer] = left
        else:
            user.peers.pop(peer, None)
        user.last_activity_at = now
        self.smpps.unbind_count += 1
        self.smpps.bound[kind] -= 1

    def smpp_submit(self, uid: str, now: float) -> SmppUserStats:
        """A submit_sm/data_sm arrived; the user's record, for the outcome hooks."""
        user = self._smpp(uid)
        user.submit_sm_request_count += 1
        user.last_activity_at = user.qos_last_submit_sm_at = now
        self.smpps.submit_sm_request_count += 1
        return user

    def smpp_submit_ok(self, user: SmppUserStats, now: float) -> None:
        user.submit_sm_count += 1
        self.smpps.submit_sm_count += 1
        self.smpps.last_sent_pdu_at = now

    def smpp_submit_error(self, user: SmppUserStats, throttled: bool, now: float) -> None:
        if throttled:
            user.throttling_error_count += 1
            self.smpps.throttling_error_count += 1
        else:
            user.other_submit_error_count += 1
            self.smpps.other_submit_error_count += 1
        self.smpps.last_sent_pdu_at = now

    def smpp_delivered(self, uid: str, data_sm: bool, now: float) -> None:
        """A deliver_sm (or data_sm) was sent to a customer's bind."""
        user = self._smpp(uid)
        if data_sm:
            user.data_sm_count += 1
            self.smpps.data_sm_count += 1
        else:
            user.deliver_sm_count += 1
            self.smpps.deliver_sm_count += 1
        user.last_activity_at = now
        self.smpps.last_sent_pdu_at = now

    # -- MT pipeline hook ---------------------------------------------------------------
    def interceptor(self, channel: str, refused: bool) -> None:
        """An MT interceptor rule matched a message from `channel` ("smpp" or "http").
        A refused HTTP message is counted by `http_error` (its answer), not here."""
        if channel == "smpp":
            self.smpps.interceptor_count += 1
            if refused:
                self.smpps.interceptor_error_count += 1
        else:
            self.httpapi.interceptor_count += 1

    # -- HTTP API hooks -----------------------------------------------------------------
    def http_request(self, now: float) -> None:
        self.httpapi.request_count += 1
        self.httpapi.last_request_at = now

    def http_login(self, uid: str, kind: str, now: float) -> None:
        """An authenticated /send (`send`), /rate (`rate`) or /balance (`balance`)."""
        user = self._http(uid)
        user.connects_count += 1
        user.last_activity_at = now
        if kind == "send":
            user.submit_sm_request_count += 1
            user.qos_last_submit_sm_at = now
        elif kind == "rate":
            user.rate_request_count += 1
        else:
            user.balance_request_count += 1

    def http_success(self, now: float) -> None:
        self.httpapi.success_count += 1
        self.httpapi.last_success_at = now

    def http_error(self, status: int, text: str) -> None:
        self.httpapi.errors[http_error_kind(status, text)] += 1
