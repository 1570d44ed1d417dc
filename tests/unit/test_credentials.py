"""Jasmin-style credentials without I/O: jCli parsing of every key, defaults, quota deltas,
mapping round trips, the submit_sm checks in Jasmin's order with each status, and the
bind address check."""
from __future__ import annotations

import ipaddress
import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smscd.credentials import (AUTHORIZATION_REASONS, BILLING_QUOTAS, CredentialError,
                               CredentialRefusal, MtCredential, SmppsCredential,
                               authorized, bind_allowed_from, check_smpp_submit,
                               message_content, mt_credential_from_mapping,
                               mt_credential_to_mapping, mt_items, parse_bool, parse_quota,
                               set_mt, set_smpps, smpps_credential_from_mapping,
                               smpps_credential_to_mapping, smpps_items, value_ok)
from smscd.message import Address, Message, Part
from smscd.smpp.status import CommandStatus as S
from smscd.smpp.tlv import Tlv

MT_AUTH_KEYS = ("http_send", "http_balance", "http_rate", "http_bulk", "smpps_send",
                "http_long_content", "dlr_level", "http_dlr_method", "src_addr", "priority",
                "validity_period", "schedule_delivery_time", "hex_content")


def mt(*settings: tuple[str, str, str]) -> MtCredential:
    cred = MtCredential()
    for section, key, value in settings:
        cred = set_mt(cred, section, key, value)
    return cred


def message(source: str = "SHOP", destination: str = "33600000001", text: bytes = b"hello",
            **fields: Any) -> Message:
    return Message(id="m1", user="alice", source=Address(source, 5, 0),
                   destination=Address(destination, 1, 1), parts=(Part(text),),
                   created_at=0.0, **fields)


# --- defaults and jCli parsing --------------------------------------------------------------

def test_defaults_are_jasmins() -> None:
    """Breaks if a default differs from Jasmin's (§6.2, §6.3): every authorization but
    http_bulk, the default filters, no default source, unlimited quotas, bind from anywhere."""
    cred = MtCredential()
    assert {k: authorized(cred, k) for k in MT_AUTH_KEYS} == {
        k: k != "http_bulk" for k in MT_AUTH_KEYS}
    assert [(s, k, v) for s, k, v in mt_items(cred) if s != "authorization"] == [
        ("valuefilter", "dst_addr", ".*"), ("valuefilter", "src_addr", ".*"),
        ("valuefilter", "priority", "^[0-3]$"), ("valuefilter", "validity_period", r"^\d+$"),
        ("valuefilter", "content", ".*"), ("defaultvalue", "src_addr", "None"),
        ("quota", "early_percent", "ND"), ("quota", "http_throughput", "ND"),
        ("quota", "smpps_throughput", "ND")]
    assert smpps_items(SmppsCredential()) == [
        ("authorization", "bind", "True"), ("authorization", "ip", "0.0.0.0/0,::/0"),
        ("quota", "max_bindings", "ND")]


@pytest.mark.parametrize("word", ["true", "1", "t", "y", "yes", "YES", " True "])
def test_true_words(word: str) -> None:
    """Breaks if one of jCli's true words is not accepted."""
    assert parse_bool("x", word) is True


@pytest.mark.parametrize("word", ["false", "0", "f", "n", "no", "No"])
def test_false_words(word: str) -> None:
    """Breaks if one of jCli's false words is not accepted."""
    assert parse_bool("x", word) is False


@pytest.mark.parametrize("key", MT_AUTH_KEYS)
def test_each_mt_authorization_can_be_set(key: str) -> None:
    """Breaks if an MT authorization key is unknown or does not take its value."""
    cred = set_mt(MtCredential(), "Authorization", key, "no")
    assert not authorized(cred, key)
    assert authorized(set_mt(cred, "authorization", key.upper(), "yes"), key)


def test_a_bad_boolean_names_section_key_and_value() -> None:
    """Breaks if a non-boolean authorization is accepted or its error does not say where."""
    with pytest.raises(CredentialError) as e:
        set_mt(MtCredential(), "authorization", "dlr_level", "maybe")
    assert "mt_messaging_cred authorization dlr_level" in str(e.value)
    assert "'maybe'" in str(e.value)


def test_unknown_section_and_key_list_the_possible_ones() -> None:
    """Breaks if an unknown section or key is accepted, or if the error does not list what
    is possible (as jCli does)."""
    with pytest.raises(CredentialError, match="possible values: Authorization, ValueFilter, "
                                              "DefaultValue, Quota"):
        set_mt(MtCredential(), "limits", "x", "1")
    with pytest.raises(CredentialError, match="possible keys: balance, early_percent, "
                                              "sms_count, http_throughput, smpps_throughput"):
        set_mt(MtCredential(), "quota", "speed", "1")
    with pytest.raises(CredentialError, match="possible values: Authorization, Quota"):
        set_smpps(SmppsCredential(), "valuefilter", "bind", "yes")


@pytest.mark.parametrize("key", ["dst_addr", "src_addr", "priority", "validity_period",
                                 "content"])
def test_each_value_filter_compiles_once_and_matches_from_the_start(key: str) -> None:
    """Breaks if a value filter key is unknown, is not a re.match (anchored at the start),
    or a bad regex is accepted."""
    cred = set_mt(MtCredential(), "valuefilter", key, "^12")
    assert value_ok(cred, key, "123") and not value_ok(cred, key, "0123")
    assert getattr(cred.valuefilter, key).regex is not None
    with pytest.raises(CredentialError, match=f"valuefilter {key}.*not a regex"):
        set_mt(MtCredential(), "valuefilter", key, "([")


def test_a_default_filter_does_not_run_a_regex() -> None:
    """Breaks if setting a filter back to its default keeps a compiled regex (Jasmin
    short-circuits the default patterns)."""
    cred = set_mt(mt(("valuefilter", "priority", "^0$")), "valuefilter", "priority", "^[0-3]$")
    assert cred.valuefilter.priority.regex is None and value_ok(cred, "priority", "9")


def test_default_source_can_be_set_and_cleared() -> None:
    """Breaks if `defaultvalue src_addr` is not kept, or `none` does not clear it."""
    cred = set_mt(MtCredential(), "defaultvalue", "src_addr", "JASMIN")
    assert cred.defaultvalue.src_addr == "JASMIN"
    assert set_mt(cred, "DefaultValue", "src_addr", "None").defaultvalue.src_addr is None
    with pytest.raises(CredentialError, match="defaultvalue src_addr.*20 characters"):
        set_mt(cred, "defaultvalue", "src_addr", "x" * 21)


@pytest.mark.parametrize("key, text, expected", [
    ("early_percent", "50", Decimal(50)), ("early_percent", "12.5", Decimal("12.5")),
    ("early_percent", "none", None), ("http_throughput", "2", 2.0),
    ("smpps_throughput", "0.5", 0.5), ("smpps_throughput", "NONE", None)])
def test_quota_absolute_values(key: str, text: str, expected: object) -> None:
    """Breaks if a quota's absolute or `none` value is not typed as Jasmin types it."""
    cred = set_mt(MtCredential(), "quota", key, text)
    assert getattr(cred.quota, key) == expected


@pytest.mark.parametrize("key, text, reason", [
    ("early_percent", "0", "1..100"), ("early_percent", "101", "1..100"),
    ("http_throughput", "-1", "cannot be negative"), ("smpps_throughput", "fast", "number"),
    ("early_percent", "nan", "number"), ("smpps_throughput", "inf", "number")])
def test_bad_quota_values(key: str, text: str, reason: str) -> None:
    """Breaks if an out-of-range or non-numeric quota is accepted, or its error does not
    name the key and the value."""
    with pytest.raises(CredentialError, match=reason) as e:
        set_mt(MtCredential(), "quota", key, text)
    assert f"mt_messaging_cred quota {key}" in str(e.value) and text in str(e.value)


def test_quota_delta_applies_only_on_update() -> None:
    """Breaks if `+10` / `-2.5` is not a delta in `user -u`, is a delta in `user -a`, or
    can update an unlimited quota."""
    cred = set_mt(MtCredential(), "quota", "smpps_throughput", "10")
    cred = set_mt(cred, "quota", "smpps_throughput", "-2.5", update=True)
    assert cred.quota.smpps_throughput == 7.5
    assert set_mt(cred, "quota", "smpps_throughput", "+10").quota.smpps_throughput == 10.0
    with pytest.raises(CredentialError, match="None"):
        set_mt(MtCredential(), "quota", "http_throughput", "+1", update=True)
    with pytest.raises(CredentialError, match="1..100"):
        set_mt(mt(("quota", "early_percent", "90")), "quota", "early_percent", "+20",
               update=True)


@pytest.mark.parametrize("text, update, expected", [
    ("none", False, (None, False)), ("44.2", False, (Decimal("44.2"), False)),
    ("+10", True, (Decimal(10), True)), ("-22.4", True, (Decimal("-22.4"), True))])
def test_billing_balance_parses_for_billing(text: str, update: bool,
                                            expected: tuple[object, bool]) -> None:
    """Breaks if the balance quota (kept by billing) does not parse as jCli's none /
    absolute / signed delta, as a Decimal."""
    change = parse_quota("mt_messaging_cred quota balance", "balance", text, update=update)
    assert (change.value, change.delta) == expected


def test_sms_count_is_an_int_quota() -> None:
    """Breaks if sms_count takes a float (absolute or delta) or a negative count."""
    assert parse_quota("q", "sms_count", "10").value == 10
    assert parse_quota("q", "sms_count", "-3", update=True).apply("q", 10) == 7
    for text, update in (("1.5", False), ("+1.5", True), ("-1", False)):
        with pytest.raises(CredentialError):
            parse_quota("q", "sms_count", text, update=update)
    with pytest.raises(CredentialError, match="positive int"):
        parse_quota("q", "sms_count", "-3", update=True).apply("q", 2)


@pytest.mark.parametrize("key", BILLING_QUOTAS)
def test_billing_quotas_are_not_kept_in_the_credential(key: str) -> None:
    """Breaks if balance or sms_count could be set on the credential, where billing's
    atomic holds would not see them."""
    with pytest.raises(CredentialError, match="billing"):
        set_mt(MtCredential(), "quota", key, "10")


def test_smpps_credential_keys() -> None:
    """Breaks if bind, ip (v4 and v6, CIDR or single address) or max_bindings do not parse,
    an empty ip list is accepted, or max_bindings takes a float."""
    cred = set_smpps(SmppsCredential(), "authorization", "bind", "no")
    cred = set_smpps(cred, "Authorization", "ip", "10.0.0.0/8, 192.168.1.5 ,2001:db8::/32")
    cred = set_smpps(cred, "quota", "max_bindings", "2")
    assert not cred.authorization.bind and cred.quota.max_bindings == 2
    assert cred.authorization.ip == tuple(ipaddress.ip_network(n) for n in
                                          ("10.0.0.0/8", "192.168.1.5/32", "2001:db8::/32"))
    assert set_smpps(cred, "quota", "max_bindings", "+1", update=True).quota.max_bindings == 3
    for key, value in (("ip", ""), ("ip", " , "), ("ip", "10.0.0.300"), ("bind", "maybe")):
        with pytest.raises(CredentialError, match=f"smpps_cred authorization {key}"):
            set_smpps(SmppsCredential(), "authorization", key, value)
    with pytest.raises(CredentialError, match="max_bindings"):
        set_smpps(SmppsCredential(), "quota", "max_bindings", "1.5")


# --- mappings ---------------------------------------------------------------------------------

def test_mt_mapping_round_trip_is_json_safe() -> None:
    """Breaks if a credential does not survive the store's JSON, or loses a compiled regex."""
    cred = mt(("authorization", "http_send", "no"), ("valuefilter", "dst_addr", "^336"),
              ("defaultvalue", "src_addr", "JASMIN"), ("quota", "early_percent", "12.5"),
              ("quota", "smpps_throughput", "2"))
    back = mt_credential_from_mapping(json.loads(json.dumps(mt_credential_to_mapping(cred))))
    assert back == cred and back.valuefilter.dst_addr.regex is not None
    assert mt_items(back) == mt_items(cred)


def test_smpps_mapping_round_trip_is_json_safe() -> None:
    """Breaks if an SMPP server credential does not survive the store's JSON."""
    cred = set_smpps(set_smpps(SmppsCredential(), "authorization", "ip", "10.1.0.0/16,::1"),
                     "quota", "max_bindings", "3")
    back = smpps_credential_from_mapping(json.loads(json.dumps(smpps_credential_to_mapping(cred))))
    assert back == cred


def test_a_profile_may_give_a_typed_subset() -> None:
    """Breaks if a hand-written profile mapping (YAML booleans and numbers, any subset,
    no version) is refused, or misses its defaults."""
    cred = mt_credential_from_mapping({"authorization": {"dlr_level": False},
                                       "quota": {"smpps_throughput": 5}})
    assert cred == replace(mt(("authorization", "dlr_level", "no")),
                           quota=replace(MtCredential().quota, smpps_throughput=5.0))
    smpps = smpps_credential_from_mapping({"authorization": {"ip": ["10.0.0.0/8"]},
                                           "quota": {"max_bindings": None}})
    assert smpps.authorization.ip == (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize("raw, where", [
    ({"v": 2}, "mt_messaging_cred.v"),
    ({"limits": {}}, "mt_messaging_cred.limits"),
    ({"quota": {"early_percent": 0}}, "mt_messaging_cred.quota.early_percent"),
    ({"authorization": {"http_send": [True]}}, "mt_messaging_cred.authorization.http_send"),
    ({"valuefilter": {"content": 5}}, "mt_messaging_cred.valuefilter.content"),
    ({"quota": "fast"}, "mt_messaging_cred.quota"),
    ([], "mt_messaging_cred")])
def test_bad_mappings_name_the_path(raw: Any, where: str) -> None:
    """Breaks if a bad stored or profile credential is accepted, or its error does not give
    the path of the bad value."""
    with pytest.raises(CredentialError) as e:
        mt_credential_from_mapping(raw)
    assert e.value.where == where


# --- submit checks --------------------------------------------------------------------------

@pytest.mark.parametrize("setting, msg, status, field", [
    (("authorization", "smpps_send", "no"), message(), S.ESME_RINVSYSID, "smpps_send"),
    (("authorization", "dlr_level", "no"), message(registered_delivery=1), S.ESME_RINVSYSID,
     "dlr_level"),
    (("authorization", "src_addr", "no"), message(), S.ESME_RINVSYSID, "src_addr"),
    (("authorization", "priority", "no"), message(priority=1), S.ESME_RINVSYSID, "priority"),
    (("valuefilter", "dst_addr", "^44"), message(), S.ESME_RINVDSTADR, "dst_addr"),
    (("valuefilter", "src_addr", "^JASMIN$"), message(), S.ESME_RINVSRCADR, "src_addr"),
    (("valuefilter", "priority", "^0$"), message(priority=2), S.ESME_RINVPRTFLG, "priority"),
    (("valuefilter", "content", "^OK"), message(), S.ESME_RSYSERR, "content")])
def test_each_refusal_has_jasmins_status(setting: tuple[str, str, str], msg: Message,
                                         status: int, field: str) -> None:
    """Breaks if an authorization or value filter refusal answers another SMPP status than
    Jasmin's (§3.3), or names another field."""
    refusal = check_smpp_submit(mt(setting), msg)
    assert isinstance(refusal, CredentialRefusal)
    assert (refusal.smpp_status, refusal.field, refusal.http_status) == (status, field, 400)


@pytest.mark.parametrize("setting, msg", [
    (("authorization", "dlr_level", "no"), message(registered_delivery=0)),
    (("authorization", "src_addr", "no"), message(source="")),
    (("authorization", "priority", "no"), message(priority=0)),
    (("valuefilter", "dst_addr", "^336"), message()),
    (("valuefilter", "content", "^hel"), message())])
def test_authorizations_apply_only_when_the_field_is_used(setting: tuple[str, str, str],
                                                          msg: Message) -> None:
    """Breaks if an authorization refuses a submit that does not use what it guards, or a
    matching filter refuses."""
    assert check_smpp_submit(mt(setting), msg) is msg


def test_checks_run_in_jasmins_order() -> None:
    """Breaks if value filters are checked before authorizations, or the destination filter
    after the source filter."""
    cred = mt(("authorization", "src_addr", "no"), ("valuefilter", "dst_addr", "^44"),
              ("valuefilter", "src_addr", "^X"))
    assert check_smpp_submit(cred, message()).field == "src_addr"  # type: ignore[union-attr]
    cred = mt(("valuefilter", "dst_addr", "^44"), ("valuefilter", "src_addr", "^X"))
    assert check_smpp_submit(cred, message()).field == "dst_addr"  # type: ignore[union-attr]


def test_default_source_only_when_none_given() -> None:
    """Breaks if the default src_addr is not put in an empty source (keeping TON/NPI), or
    overrides a source the customer gave."""
    cred = mt(("defaultvalue", "src_addr", "JASMIN"))
    out = check_smpp_submit(cred, message(source=""))
    assert isinstance(out, Message) and out.source == Address("JASMIN", 5, 0)
    given_source = message()
    assert check_smpp_submit(cred, given_source) is given_source


def test_source_filter_sees_the_source_as_sent() -> None:
    """Breaks if the src_addr filter runs after the default source is put in (Jasmin
    checks the empty source_addr, then applies the default)."""
    cred = mt(("defaultvalue", "src_addr", "JASMIN"), ("valuefilter", "src_addr", "^JASMIN$"))
    assert isinstance(check_smpp_submit(cred, message(source="")), CredentialRefusal)


def test_content_is_short_message_else_payload_decoded_with_replacement() -> None:
    """Breaks if the content filter does not see message_payload when short_message is
    empty, or undecodable octets raise instead of being replaced."""
    payload = Message(id="m", user="u", source=Address("S"), destination=Address("1"),
                      parts=(Part(b"", 0, (Tlv(0x0424, b"OK \xff", "message_payload"),)),),
                      created_at=0.0)
    assert message_content(payload) == "OK \ufffd"
    assert check_smpp_submit(mt(("valuefilter", "content", "^OK")), payload) is payload


def test_http_texts_are_jasmins() -> None:
    """Breaks if the HTTP error texts differ from Jasmin's /send words (§4.3)."""
    assert check_smpp_submit(mt(("authorization", "smpps_send", "no")), message()
                             ).http_text("foo") == (  # type: ignore[union-attr]
        "Authorization failed for user [foo] (Cannot send MT messages).")
    assert check_smpp_submit(mt(("valuefilter", "dst_addr", "^44")), message()
                             ).http_text("foo") == (  # type: ignore[union-attr]
        "Value filter failed for user [foo] (destination_address filter mismatch).")
    assert AUTHORIZATION_REASONS["http_long_content"] == "Long content not authorized"


def test_primitives_refuse_unknown_keys() -> None:
    """Breaks if a misspelt key silently authorizes or passes."""
    with pytest.raises(KeyError):
        authorized(MtCredential(), "http_sendd")
    with pytest.raises(KeyError):
        value_ok(MtCredential(), "destination", "1")


# --- bind address ---------------------------------------------------------------------------

@pytest.mark.parametrize("networks, host, ok", [
    ("0.0.0.0/0", "203.0.113.9", True), ("0.0.0.0/0", "2001:db8::1", False),
    ("10.0.0.0/8", "10.1.2.3", True), ("10.0.0.0/8", "11.1.2.3", False),
    ("10.0.0.0/8", "::ffff:10.1.2.3", True), ("2001:db8::/32", "2001:db8::5", True),
    ("2001:db8::/32", "[2001:db8::5]", True), ("127.0.0.1", "127.0.0.1", True),
    ("10.0.0.0/8", "?", False)])
def test_bind_address_in_allowed_networks(networks: str, host: str, ok: bool) -> None:
    """Breaks if the allowed networks do not decide the peer (v4, v6, v4-mapped v6,
    bracketed), or an unparsable peer passes a restricted list."""
    cred = set_smpps(SmppsCredential(), "authorization", "ip", networks)
    assert bind_allowed_from(cred, host) is ok


def test_default_networks_allow_everyone() -> None:
    """Breaks if the default credential refuses any peer, even one we cannot parse."""
    for host in ("203.0.113.9", "2001:db8::1", "?", "unix"):
        assert bind_allowed_from(SmppsCredential(), host)


@given(st.lists(st.sampled_from(MT_AUTH_KEYS), unique=True), st.booleans())
def test_any_authorization_set_round_trips(keys: list[str], value: bool) -> None:
    """Breaks if some combination of authorizations does not survive the mapping."""
    cred = MtCredential()
    for key in keys:
        cred = set_mt(cred, "authorization", key, str(value))
    assert mt_credential_from_mapping(mt_credential_to_mapping(cred)) == cred
