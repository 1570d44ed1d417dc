"""Users' groups and credentials at the SMPP server, over loopback on the real store: bind
refusals (disabled user or group, bind not authorized, address not allowed, max_bindings),
submit refusals with Jasmin's statuses, the default source address, and the smpps
throughput shared by a user's binds."""
from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import pytest_twisted

from customer_side import PASSWORD, Gateway, ManualClock, start_gateway, submit
from smscd.credentials import MtCredential, SmppsCredential, set_mt, set_smpps
from smscd.smpp import pdu as P
from smscd.smpp.status import CommandStatus as S
from smscd.smpp.tlv import tlvs
from smscd.smpp_protocol import BindFailed


@pytest_twisted.async_yield_fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    gateway = await start_gateway(tmp_path, users={"alice": {}})
    yield gateway
    await gateway.close()


def _reactor() -> Any:
    from twisted.internet import reactor
    return reactor


async def bind_status(gw: Gateway, user: str = "alice") -> int:
    try:
        await gw.bind(user)
    except BindFailed as e:
        return e.status
    return 0


def mt(*settings: tuple[str, str, str]) -> MtCredential:
    cred = MtCredential()
    for section, key, value in settings:
        cred = set_mt(cred, section, key, value)
    return cred


def smpps(*settings: tuple[str, str, str]) -> SmppsCredential:
    cred = SmppsCredential()
    for section, key, value in settings:
        cred = set_smpps(cred, section, key, value)
    return cred


# --- binds ----------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_disabled_user_is_refused_rinvpaswd(gw: Gateway) -> None:
    """Breaks if a disabled user can bind, is answered another status than Jasmin's
    ESME_RINVPASWD, or cannot bind once enabled again."""
    await gw.store.users.disable("alice")
    assert await bind_status(gw) == S.ESME_RINVPASWD
    await gw.store.users.enable("alice")
    assert await bind_status(gw) == 0


@pytest_twisted.ensureDeferred
async def test_disabled_group_refuses_its_users(gw: Gateway) -> None:
    """Breaks if a user of a disabled group can bind (ESME_RINVPASWD, as Jasmin), or users
    of other groups are refused with it."""
    users = gw.store.users
    await users.add_group("marketing")
    await users.add("bob", "bob", PASSWORD, "marketing")
    await users.disable_group("marketing")
    assert await bind_status(gw, "bob") == S.ESME_RINVPASWD
    assert await bind_status(gw, "alice") == 0
    await users.enable_group("marketing")
    assert await bind_status(gw, "bob") == 0


@pytest_twisted.ensureDeferred
async def test_bind_not_authorized_is_rbindfail(gw: Gateway) -> None:
    """Breaks if `smpps_cred authorization bind no` lets the user bind, or is answered
    another status than ESME_RBINDFAIL."""
    await gw.store.users.update("alice", smpps_credential=smpps(("authorization", "bind", "no")))
    assert await bind_status(gw) == S.ESME_RBINDFAIL


@pytest_twisted.ensureDeferred
async def test_address_outside_allowed_networks_is_rbindfail(gw: Gateway) -> None:
    """Breaks if a peer outside `smpps_cred authorization ip` can bind, or one inside
    cannot."""
    users = gw.store.users
    await users.update("alice", smpps_credential=smpps(("authorization", "ip", "10.0.0.0/8")))
    assert await bind_status(gw) == S.ESME_RBINDFAIL
    await users.update("alice", smpps_credential=smpps(("authorization", "ip",
                                                        "10.0.0.0/8,127.0.0.0/8")))
    assert await bind_status(gw) == 0


@pytest_twisted.ensureDeferred
async def test_max_bindings_from_the_credential(gw: Gateway) -> None:
    """Breaks if `smpps_cred quota max_bindings` does not cap the user's binds of all types
    (ESME_RBINDFAIL), or `none` does not lift the cap."""
    users = gw.store.users
    await users.update("alice", smpps_credential=smpps(("quota", "max_bindings", "1")))
    await gw.bind(kind=P.BindReceiver)
    assert await bind_status(gw) == S.ESME_RBINDFAIL
    await users.update("alice", smpps_credential=smpps(("quota", "max_bindings", "none")))
    assert await bind_status(gw) == 0


# --- submits --------------------------------------------------------------------------------

@pytest.mark.parametrize("setting, fields, status", [
    (("authorization", "smpps_send", "no"), {}, S.ESME_RINVSYSID),
    (("authorization", "dlr_level", "no"), {"registered_delivery": 1}, S.ESME_RINVSYSID),
    (("authorization", "src_addr", "no"), {}, S.ESME_RINVSYSID),
    (("authorization", "priority", "no"), {"priority_flag": 1}, S.ESME_RINVSYSID),
    (("valuefilter", "dst_addr", "^44"), {}, S.ESME_RINVDSTADR),
    (("valuefilter", "src_addr", "^JASMIN$"), {}, S.ESME_RINVSRCADR),
    (("valuefilter", "priority", "^0$"), {"priority_flag": 2}, S.ESME_RINVPRTFLG),
    (("valuefilter", "content", "^OK"), {}, S.ESME_RSYSERR)])
@pytest_twisted.ensureDeferred
async def test_submit_refusals_have_jasmins_status(gw: Gateway, setting: tuple[str, str, str],
                                                   fields: dict[str, Any], status: int) -> None:
    """Breaks if an MT authorization or value filter does not refuse submit_sm with
    Jasmin's status (§3.3), or lets the refused message be stored."""
    await gw.store.users.update("alice", mt_credential=mt(setting))
    proto = await gw.bind()
    resp = await proto.request(submit(**fields))
    assert resp.command_status == status
    assert gw.store.queues.depth("mt.vendor1") == 0


@pytest_twisted.ensureDeferred
async def test_data_sm_and_submit_multi_are_checked_too(gw: Gateway) -> None:
    """Breaks if data_sm or submit_multi bypass the user's MT credential."""
    await gw.store.users.update("alice", mt_credential=mt(("valuefilter", "dst_addr", "^336")))
    proto = await gw.bind()
    resp = await proto.request(P.DataSm(source_addr="SHOP", destination_addr="4470000001",
                                        tlvs=tlvs(message_payload=b"hi")))
    assert resp.command_status == S.ESME_RINVDSTADR
    multi = await proto.request(P.SubmitMulti(
        source_addr="SHOP", short_message=b"hi",
        dest_addresses=(P.SmeAddress(1, 1, "33600000010"), P.SmeAddress(1, 1, "4470000001"))))
    assert isinstance(multi, P.SubmitMultiResp) and multi.command_status == S.ESME_ROK
    assert [(u.destination_addr, u.error_status_code) for u in multi.unsuccess_smes] == [
        ("4470000001", S.ESME_RINVDSTADR)]


@pytest_twisted.ensureDeferred
async def test_default_source_is_applied_and_stored(gw: Gateway) -> None:
    """Breaks if the user's default src_addr is not put in a submit without source, or
    replaces a source the customer gave."""
    await gw.store.users.update("alice", mt_credential=mt(("defaultvalue", "src_addr",
                                                           "JASMIN")))
    proto = await gw.bind()
    empty = await proto.request(submit(source_addr=""))
    given = await proto.request(submit(source_addr="SHOP"))
    assert isinstance(empty, P.SubmitSmResp) and isinstance(given, P.SubmitSmResp)
    assert empty.command_status == given.command_status == S.ESME_ROK
    first = await gw.store.messages.get(empty.message_id, "alice")
    second = await gw.store.messages.get(given.message_id, "alice")
    assert first is not None and first.message.source.addr == "JASMIN"
    assert second is not None and second.message.source.addr == "SHOP"


@pytest_twisted.ensureDeferred
async def test_smpps_throughput_is_shared_by_the_users_binds(tmp_path: Path) -> None:
    """Breaks if the credential's smpps_throughput is not enforced, is counted per bind
    instead of per user (ESME_RTHROTTLED on either bind), or tokens do not come back."""
    clock = ManualClock(_reactor())
    gateway = await start_gateway(tmp_path, clock=clock, users={"alice": {}})
    try:
        await gateway.store.users.update("alice", mt_credential=mt(
            ("quota", "smpps_throughput", "2")))
        a = await gateway.bind(kind=P.BindTransmitter)
        b = await gateway.bind(kind=P.BindTransceiver)
        assert (await a.request(submit())).command_status == S.ESME_ROK
        assert (await b.request(submit())).command_status == S.ESME_ROK
        assert (await a.request(submit())).command_status == S.ESME_RTHROTTLED
        assert (await b.request(submit())).command_status == S.ESME_RTHROTTLED
        clock.advance(0.5)
        assert (await a.request(submit())).command_status == S.ESME_ROK
    finally:
        await gateway.close()
