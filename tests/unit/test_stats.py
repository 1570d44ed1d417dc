"""The runtime counters (smscd/stats.py) and jCli `stats` in Jasmin's layouts (reference
§6.4, §7.10), against the pure interpreter with an in-memory service."""
from __future__ import annotations

import pytest

from shell_fake import FakeService, new_session, run, transcript
from smscd.stats import Stats, http_error_kind

T0 = 1_700_000_000.0        # 2023-11-14 22:13:20 UTC


def item(key: str, value: str, width: int) -> str:
    """One `#Item  Value` row: the key column is as wide as the longest key, plus two."""
    return f"#{key}".ljust(width) + value


@pytest.fixture
def stats() -> Stats:
    return Stats(T0)


@pytest.fixture
def shell(stats: Stats):
    s = new_session(FakeService(), stats=stats)
    transcript(s, ["group -a", "gid g", "ok", "user -a", "uid u1", "gid g", "username u1",
                   "password pw", "ok", "user -a", "uid u2", "gid g", "username u2",
                   "password pw", "ok"])
    return s


def test_binds_are_counted_by_kind_and_peer_until_they_leave(stats: Stats) -> None:
    """Breaks if bound connections or peer IPs drift after binds come and go."""
    stats.smpp_connected()
    stats.smpp_connected()
    stats.smpp_bound("u1", "trx", "10.0.0.1", T0 + 1)
    stats.smpp_bound("u1", "rx", "10.0.0.1", T0 + 2)
    stats.smpp_unbound("u1", "trx", "10.0.0.1", T0 + 3)
    stats.smpp_disconnected()
    u = stats.smpp_user("u1")
    assert (u.bind_count, u.unbind_count, u.bound) == (2, 1, {"trx": 0, "rx": 1, "tx": 0})
    assert u.peers == {"10.0.0.1": 1} and u.last_activity_at == T0 + 3
    s = stats.smpps
    assert (s.connect_count, s.disconnect_count, s.connected_count) == (2, 1, 1)
    assert (s.binds, s.bound, s.unbind_count) == (
        {"trx": 1, "rx": 1, "tx": 0}, {"trx": 0, "rx": 1, "tx": 0}, 1)
    stats.smpp_unbound("u1", "rx", "10.0.0.1", T0 + 4)
    assert stats.smpp_user("u1").peers == {}


def test_submit_outcomes_land_in_their_counters(stats: Stats) -> None:
    """Breaks if an accepted, throttled or refused submit_sm is counted in the wrong place."""
    for ok, throttled in ((True, False), (False, True), (False, False), (True, False)):
        counters = stats.smpp_submit("u1", T0 + 5)
        if ok:
            stats.smpp_submit_ok(counters, T0 + 6)
        else:
            stats.smpp_submit_error(counters, throttled, T0 + 6)
    u = stats.smpp_user("u1")
    assert (u.submit_sm_request_count, u.submit_sm_count, u.throttling_error_count,
            u.other_submit_error_count, u.qos_last_submit_sm_at) == (4, 2, 1, 1, T0 + 5)
    s = stats.smpps
    assert (s.submit_sm_request_count, s.submit_sm_count, s.throttling_error_count,
            s.other_submit_error_count, s.last_sent_pdu_at) == (4, 2, 1, 1, T0 + 6)


def test_reading_a_user_never_creates_it(stats: Stats) -> None:
    """Breaks if looking at an unseen user's stats allocates (and keeps) a record."""
    assert stats.smpp_user("ghost").bind_count == 0
    assert stats.http_user("ghost").connects_count == 0
    assert stats._smpp_users == {} and stats._http_users == {}


def test_http_counters_by_request_kind_and_error_kind(stats: Stats) -> None:
    """Breaks if /send, /rate, /balance or an error kind is counted in the wrong place."""
    for kind in ("send", "send", "rate", "balance"):
        stats.http_request(T0 + 1)
        stats.http_login("u1", kind, T0 + 1)
    stats.http_success(T0 + 2)
    u = stats.http_user("u1")
    assert (u.connects_count, u.submit_sm_request_count, u.rate_request_count,
            u.balance_request_count, u.qos_last_submit_sm_at) == (4, 2, 1, 1, T0 + 1)
    assert (stats.httpapi.request_count, stats.httpapi.success_count,
            stats.httpapi.last_success_at) == (4, 1, T0 + 2)
    assert [http_error_kind(s, t) for s, t in (
        (403, "Authentication failure for username:x"), (412, "No route found"),
        (403, "User throughput exceeded"), (403, "Not enough balance (0) for charging: 1"),
        (500, "Unknown error: internal error"), (400, "Mandatory argument [to] is not found."))
    ] == ["auth", "route", "throughput", "charging", "server", "server"]


def test_stats_users_lists_every_user_in_jasmin_columns(shell, stats: Stats) -> None:
    """Breaks if `stats --users` loses its header, a user, the dates or the total."""
    stats.smpp_bound("u1", "trx", "127.0.0.1", T0)
    stats.http_login("u2", "send", T0 + 60)
    assert run(shell, "stats --users") == [
        "#User id  SMPP Bound connections  SMPP Peer IPs  SMPP L.A.            "
        "HTTP requests counter  HTTP L.A.",
        '#u1       1                       ["127.0.0.1"]  2023-11-14 22:13:20  0'
        "                      ND",
        "#u2       0                       []             ND                   1"
        "                      2023-11-14 22:14:20",
        "Total users: 2"]


def test_stats_user_shows_both_sides_and_refuses_unknown_users(shell, stats: Stats) -> None:
    """Breaks if `stats --user` misses a §6.4 key, a type column or Jasmin's unknown line."""
    stats.smpp_bound("u1", "tx", "127.0.0.1", T0)
    out = run(shell, "stats --user=u1")
    assert out[0] == "#Item" + " " * 22 + "Type         Value"
    assert out[1] == "#bind_count" + " " * 16 + "SMPP Server  1"
    assert ("#bound_connections_count   SMPP Server  "
            '{"bind_receiver": 0, "bind_transceiver": 0, "bind_transmitter": 1}') in out
    assert "#last_activity_at" + " " * 10 + "SMPP Server  2023-11-14 22:13:20" in out
    assert "#qos_last_submit_sm_at" + " " * 5 + "HTTP Api     ND" in out
    assert [ln.split()[0] for ln in out[1:]] == [
        "#bind_count", "#unbind_count", "#bound_connections_count", "#bound_peer_ips",
        "#submit_sm_request_count", "#last_activity_at", "#qos_last_submit_sm_at",
        "#submit_sm_count", "#deliver_sm_count", "#data_sm_count", "#elink_count",
        "#throttling_error_count", "#other_submit_error_count", "#connects_count",
        "#last_activity_at", "#submit_sm_request_count", "#balance_request_count",
        "#rate_request_count", "#qos_last_submit_sm_at"]
    assert run(shell, "stats --user=nobody") == ["Unknown User: nobody"]


def test_stats_smppsapi_and_httpapi_items(shell, stats: Stats) -> None:
    """Breaks if the server-side item lists lose a key, a count or the created date."""
    stats.smpp_connected()
    stats.smpp_bound("u1", "rx", "127.0.0.1", T0)
    out = run(shell, "stats --smppsapi")
    assert out[:2] == [item("Item", "Value", 27), item("created_at", "2023-11-14 22:13:20", 27)]
    assert item("bound_rx_count", "1", 27) in out and item("bind_rx_count", "1", 27) in out
    assert item("connected_count", "1", 27) in out and item("last_sent_pdu_at", "ND", 27) in out
    assert len(out) == 1 + 23
    stats.http_request(T0)
    stats.http_error(403, "Authentication failure for username:x")
    out = run(shell, "stats --httpapi")
    assert item("request_count", "1", 26) in out and item("auth_error_count", "1", 26) in out
    assert out[-1] == item("last_success_at", "ND", 26) and len(out) == 1 + 12


def test_interceptor_hook_counts_per_channel_and_http_refusals_once(shell, stats: Stats
                                                                    ) -> None:
    """Breaks if an interception is not counted on its channel, an SMPP refusal is not an
    interceptor error, or a refused HTTP message counts twice (hook and its answer) or as
    a server error (Jasmin's default reject answers 520)."""
    stats.interceptor("smpp", False)
    stats.interceptor("smpp", True)
    stats.interceptor("http", True)
    stats.http_error(520, "Interception specific error code 520")
    stats.interceptor("http", False)
    smpps = run(shell, "stats --smppsapi")
    assert item("interceptor_count", "2", 27) in smpps
    assert item("interceptor_error_count", "1", 27) in smpps
    api = run(shell, "stats --httpapi")
    assert item("interceptor_count", "2", 26) in api
    assert item("interceptor_error_count", "1", 26) in api
    assert item("server_error_count", "0", 26) in api
    assert http_error_kind(503, "interceptor hlr is not loaded") == "interceptor"


def test_admin_api_stats_carry_the_same_counters(stats: Stats) -> None:
    """Breaks if GET /admin/v1/stats loses the SMPP server or HTTP API counters, or words
    them differently from the shell."""
    from twisted.internet.defer import Deferred

    from smscd.admin_api.operations import Operations
    stats.smpp_connected()
    stats.http_request(T0)
    body: list[dict[str, object]] = []
    Deferred.fromCoroutine(Operations(FakeService(), None, None, None, stats).stats(
        {}, {}, None)).addCallback(body.append)
    assert body[0]["smpp_server"]["connected_count"] == "1"          # type: ignore[index]
    assert body[0]["http_api"]["last_request_at"] == "2023-11-14 22:13:20"  # type: ignore[index]
