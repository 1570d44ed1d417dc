"""Interceptor codec: mappings <-> interceptors, round trips, and errors named by path."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.errors import RuleError
from routing.filters import ConnectorFilter, DestinationAddrFilter, TransparentFilter, UserFilter
from routing.interceptor_actions import (DESTINATION, SOURCE, AddTags, ForceRegisteredDelivery,
                                         ForceTonNpi, Reject, RemoveTags, RewriteAddress,
                                         SetSource, SetTlv, StripRegisteredDelivery)
from routing.interceptor_codec import (action_from_mapping, action_to_mapping,
                                       interceptor_from_mapping, table_from_mappings,
                                       table_to_mappings)
from routing.interceptors import DefaultInterceptor, StaticMTInterceptor
from routing.routable import MO, MT

FILTERS = {f.fid: f for f in (TransparentFilter("all"), UserFilter("U-foo", "foo"),
                              DestinationAddrFilter("DA-33", "^33"),
                              ConnectorFilter("C-v1", "vendor1"))}

EVERY_ACTION = [
    SetSource("ACME"), SetSource("ACME", only_if_empty=True),
    ForceTonNpi(SOURCE, ton=5), ForceTonNpi(DESTINATION, ton=1, npi=1),
    ForceRegisteredDelivery(1), StripRegisteredDelivery(), AddTags(frozenset({"b", "a"})),
    RemoveTags(frozenset({"x"})), SetTlv(0x1400, b"\x0a\x0b"),
    RewriteAddress(SOURCE, r"^00(\d+)", r"+\1"), Reject(0x0B, 412, "blocked"), Reject(0x400)]


@pytest.mark.parametrize("action", EVERY_ACTION, ids=lambda a: a.describe())
def test_every_action_round_trips(action) -> None:  # type: ignore[no-untyped-def]
    """Breaks if an action saved to a profile comes back different."""
    assert action_from_mapping(action_to_mapping(action), "a") == action


def test_action_mappings_are_short_and_readable() -> None:
    """Breaks if the stored shape changes (profiles written before would stop loading)."""
    assert [action_to_mapping(a) for a in EVERY_ACTION] == [
        {"action": "set_source", "address": "ACME"},
        {"action": "set_source", "address": "ACME", "only_if_empty": True},
        {"action": "force_ton_npi", "side": "source", "ton": 5},
        {"action": "force_ton_npi", "side": "destination", "ton": 1, "npi": 1},
        {"action": "force_registered_delivery", "value": 1},
        {"action": "strip_registered_delivery"},
        {"action": "add_tags", "tags": ["a", "b"]},
        {"action": "remove_tags", "tags": ["x"]},
        {"action": "set_tlv", "tag": "0x1400", "value": "0a0b"},
        {"action": "rewrite", "side": "source", "pattern": r"^00(\d+)", "replacement": r"+\1"},
        {"action": "reject", "smpp_status": "ESME_RINVDSTADR", "http_status": 412,
         "message": "blocked"},
        {"action": "reject", "smpp_status": 0x400, "http_status": 520,
         "message": "Interception specific error code 520"}]


def test_numeric_forms_are_accepted() -> None:
    """Breaks if a TLV tag or status given as a number, or as the text of one (the shell
    types text), is refused or read in the wrong base."""
    assert action_from_mapping({"action": "set_tlv", "tag": 5120, "value": ""}, "a") == (
        SetTlv(0x1400, b""))
    assert action_from_mapping({"action": "set_tlv", "tag": "5120", "value": ""}, "a") == (
        SetTlv(0x1400, b""))
    for status in (11, "11", "0x0b", "ESME_RINVDSTADR"):
        assert action_from_mapping({"action": "reject", "smpp_status": status}, "a") == (
            Reject(0x0B))


@pytest.mark.parametrize("raw, problems", [
    ("set_source", ["a: expected a mapping with an 'action' key"]),
    ({"action": "explode"}, ["a.action: unknown action 'explode'; known: set_source, "
                             "force_ton_npi, force_registered_delivery, "
                             "strip_registered_delivery, add_tags, remove_tags, set_tlv, "
                             "rewrite, reject"]),
    ({"action": "set_source", "adress": "X"}, ["a.adress: unknown key", "a.address: missing"]),
    ({"action": "set_source", "address": 42}, ["a.address: expected text, got int"]),
    ({"action": "set_source", "address": "X", "only_if_empty": "yes"},
     ["a.only_if_empty: expected true or false, got 'yes'"]),
    ({"action": "force_registered_delivery", "value": "1"},
     ["a.value: expected an integer, got '1'"]),
    ({"action": "force_ton_npi", "side": "source", "ton": 300},
     ["a.ton: expected 0..255, got 300"]),
    ({"action": "add_tags", "tags": "vip"}, ["a.tags: expected a list of tags (text)"]),
    ({"action": "set_tlv", "tag": "0xZZ", "value": "0g"},
     ["a.tag: expected a tag like 0x1400 or 5120, got '0xZZ'",
      "a.value: expected hex octets like 0a0b, got '0g'"]),
    ({"action": "rewrite", "side": "destination", "pattern": "[", "replacement": ""},
     ["a.pattern: not a valid regular expression (unterminated character set at "
      "position 0)"]),
    ({"action": "reject", "smpp_status": "ESME_NOPE"}, ["a.smpp_status: unknown SMPP status "
                                                        "'ESME_NOPE'"]),
    ({"action": "reject", "smpp_status": "nope"},
     ["a.smpp_status: expected an SMPP status name (ESME_...) or number, got 'nope'"]),
    ({"action": "reject", "smpp_status": 8, "http_status": 200},
     ["a.http_status: expected an error code 400..599, got 200"]),
])
def test_bad_actions_name_their_path(raw, problems) -> None:  # type: ignore[no-untyped-def]
    """Breaks if a bad action in a profile is accepted or its error loses the path."""
    with pytest.raises(RuleError) as e:
        action_from_mapping(raw, "a")
    assert e.value.problems == problems


def test_table_round_trip() -> None:
    """Breaks if a table saved as mappings does not rebuild the same interceptors."""
    raw = [
        {"order": 100, "type": "StaticMTInterceptor", "filters": ["U-foo", "DA-33"],
         "actions": [{"action": "set_source", "address": "ACME"}], "python": "hlr_lookup"},
        {"type": "DefaultInterceptor", "actions": [{"action": "strip_registered_delivery"}]},
    ]
    table = table_from_mappings(MT, raw, FILTERS, "mt_interceptors")
    assert table.entries == (
        (100, StaticMTInterceptor((FILTERS["U-foo"], FILTERS["DA-33"]),
                                  (SetSource("ACME"),), "hlr_lookup")),
        (0, DefaultInterceptor((StripRegisteredDelivery(),))))
    again = table_from_mappings(MT, table_to_mappings(table), FILTERS, "mt_interceptors")
    assert again.entries == table.entries
    assert table_to_mappings(table)[1] == {
        "order": 0, "type": "DefaultInterceptor",
        "actions": [{"action": "strip_registered_delivery"}]}


def test_every_problem_in_a_table_is_reported_with_its_path() -> None:
    """Breaks if loading a profile stops at the first problem or loses where it is."""
    raw = [
        {"order": 10, "type": "StaticMTInterceptor", "filters": ["U-foo", "nope"],
         "actions": [{"action": "set_source", "address": "X"},
                     {"action": "rewrite", "side": "source", "pattern": "(",
                      "replacement": "x"}],
         "colour": "red"},
        {"order": 10, "type": "StaticMTInterceptor", "filters": ["all"],
         "actions": [{"action": "add_tags", "tags": ["a"]}]},
        {"order": 10, "type": "StaticMTInterceptor", "filters": ["all"],
         "actions": [{"action": "add_tags", "tags": ["b"]}]},
        {"order": 0, "type": "StaticMTInterceptor", "filters": ["all"],
         "actions": [{"action": "strip_registered_delivery"}]},
        {"order": 5, "type": "StaticMOInterceptor", "filters": ["C-v1"],
         "actions": [{"action": "strip_registered_delivery"}]},
        {"order": 6, "type": "StaticMTInterceptor", "filters": ["C-v1"]},
        {"order": 7, "type": "Lambda"},
        {"type": "DefaultInterceptor", "filters": ["all"], "python": 3},
        {"order": 8, "type": "StaticMTInterceptor", "filters": "all", "actions": {}},
        "junk",
    ]
    with pytest.raises(RuleError) as e:
        table_from_mappings(MT, raw, FILTERS, "mt_interceptors")
    assert e.value.problems == [
        "mt_interceptors[0].colour: unknown key",
        "mt_interceptors[0].filters[1]: no filter 'nope'",
        "mt_interceptors[0].actions[1].pattern: not a valid regular expression (missing ), "
        "unterminated subpattern at position 0)",
        "mt_interceptors[2].order: 10 is already used by mt_interceptors[1]",
        "mt_interceptors[3].order: 0 is reserved for DefaultInterceptor",
        "mt_interceptors[4].type: a StaticMOInterceptor does not belong in an MT table",
        "mt_interceptors[5].filters[0]: ConnectorFilter#C-v1 is not a valid filter for "
        "MTInterceptor",
        "mt_interceptors[5].actions: an interceptor needs at least one action or a python "
        "interceptor",
        "mt_interceptors[6].type: unknown interceptor type 'Lambda'; known: "
        "DefaultInterceptor, StaticMTInterceptor, StaticMOInterceptor",
        "mt_interceptors[7].filters: unknown key",
        "mt_interceptors[7].python: expected an entry point name (text)",
        "mt_interceptors[8].filters: expected a list of filter ids",
        "mt_interceptors[8].actions: expected a list of actions",
        "mt_interceptors[9]: expected a mapping"]


def test_static_interceptor_needs_order_and_filters() -> None:
    """Breaks if a static interceptor without order silently lands at 0."""
    with pytest.raises(RuleError) as e:
        interceptor_from_mapping({"type": "StaticMOInterceptor",
                                  "actions": [{"action": "strip_registered_delivery"}]},
                                 MO, FILTERS, "mo_interceptors[0]")
    assert e.value.problems == ["mo_interceptors[0].filters: missing",
                                "mo_interceptors[0].order: missing"]


def test_not_a_list() -> None:
    """Breaks if a table given as a mapping or text is half-read instead of refused."""
    with pytest.raises(RuleError) as e:
        table_from_mappings(MO, {"order": 1}, FILTERS, "mo_interceptors")
    assert e.value.problems == ["mo_interceptors: expected a list of interceptors"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.sampled_from(
        ["set_source", "reject", "rewrite", "set_tlv", "add_tags", "StaticMTInterceptor",
         "DefaultInterceptor", "all", "U-foo", "source", "^00", "(", "0a", "0x1400",
         "ESME_RSYSERR", "order", "type", "filters", "actions", "action", "python"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["order", "type", "filters", "actions", "action", "python", "address",
                         "side", "pattern", "replacement", "tag", "value", "tags", "ton",
                         "smpp_status", "http_status", "message", "only_if_empty"]),
        children, max_size=6),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.lists(JSON, max_size=4))
def test_garbage_only_raises_rule_errors(raw) -> None:  # type: ignore[no-untyped-def]
    """Breaks if some malformed profile crashes the loader with anything but RuleError."""
    try:
        table_from_mappings(MT, raw, FILTERS, "mt_interceptors")
    except RuleError as e:
        assert e.problems and all(p.startswith("mt_interceptors") for p in e.problems)
