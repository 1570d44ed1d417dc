"""Interceptor tables: order, first match, default, rejection, Python hand-off, listings."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.errors import RuleError
from routing.filters import (ConnectorFilter, DestinationAddrFilter, ShortMessageFilter,
                             TagFilter, TransparentFilter, UserFilter)
from routing.interceptor_actions import (DESTINATION, SOURCE, AddTags,
                                         ForceRegisteredDelivery, Reject, RewriteAddress,
                                         SetSource, StripRegisteredDelivery)
from routing.interceptors import (HEADER, DefaultInterceptor, Interception, InterceptorTable,
                                  StaticMOInterceptor, StaticMTInterceptor, intercept, listing,
                                  show)
from routing.routable import MO, MT, Routable
from smscd.smpp.status import CommandStatus

from interceptor_fixtures import AT, FOO, FR, mt

ALL = TransparentFilter("all")


def test_empty_table_leaves_the_message_alone() -> None:
    """Breaks if a table with no interceptors changes or refuses messages."""
    r = mt()
    assert intercept(InterceptorTable(MT, {}), r) == Interception(r, None)


def test_highest_order_all_matching_interceptor_wins() -> None:
    """Breaks if evaluation stops going from the highest order down, or if an interceptor
    with one failing filter (AND) is taken."""
    table = InterceptorTable(MT, {
        10: StaticMTInterceptor((ALL,), (SetSource("TEN"),)),
        30: StaticMTInterceptor((FOO, DestinationAddrFilter("DA-44", "^44")),
                                (SetSource("THIRTY"),)),
        20: StaticMTInterceptor((FOO, FR), (SetSource("TWENTY"),)),
    })
    result = intercept(table, mt())
    assert (result.order, result.routable.source_addr) == (20, "TWENTY")
    assert intercept(table, mt(user="bar")).order == 10


def test_only_the_winner_applies() -> None:
    """Breaks if interceptors after the first match also rewrite the message."""
    table = InterceptorTable(MT, {
        20: StaticMTInterceptor((ALL,), (AddTags(frozenset({"a"})),)),
        0: DefaultInterceptor((AddTags(frozenset({"b"})),)),
    })
    assert intercept(table, mt()).routable.tags == {"a"}


def test_default_interceptor_takes_what_nothing_else_matched() -> None:
    """Breaks if order 0 stops matching every message the others left."""
    table = InterceptorTable(MT, {
        5: StaticMTInterceptor((UserFilter("U-bar", "bar"),), (SetSource("BAR"),)),
        0: DefaultInterceptor((ForceRegisteredDelivery(1),)),
    })
    result = intercept(table, mt())
    assert (result.order, result.routable.registered_delivery) == (0, 1)


def test_no_match_without_default_goes_on_unchanged() -> None:
    """Breaks if a table without a default refuses or rewrites unmatched messages."""
    r = mt(user="bar")
    table = InterceptorTable(MT, {5: StaticMTInterceptor((FOO,), (Reject(8),))})
    assert intercept(table, r) == Interception(r, None)


def test_actions_apply_in_order_on_the_rewritten_message() -> None:
    """Breaks if actions stop seeing the previous action's output."""
    table = InterceptorTable(MT, {1: StaticMTInterceptor((ALL,), (
        RewriteAddress(DESTINATION, "^33", "0033"),
        RewriteAddress(DESTINATION, "^00", "+"),
        StripRegisteredDelivery()))})
    out = intercept(table, mt(registered_delivery=1)).routable
    assert (out.destination_addr, out.registered_delivery) == ("+33612345678", 0)


def test_reject_refuses_with_its_statuses_and_keeps_earlier_changes() -> None:
    """Breaks if a rejection loses its SMPP/HTTP statuses or message."""
    table = InterceptorTable(MT, {7: StaticMTInterceptor((FR,), (
        AddTags(frozenset({"blocked"})),
        Reject(CommandStatus.ESME_RINVDSTADR, 412, "France is closed")))})
    result = intercept(table, mt())
    assert result.order == 7 and result.python is None
    assert result.rejection == Reject(0x0B, 412, "France is closed")
    assert result.routable.tags == {"blocked"}


def test_python_interceptor_named_after_the_actions() -> None:
    """Breaks if the rule's Python interceptor name is not handed to the daemon, or is
    handed over when another interceptor matched."""
    table = InterceptorTable(MT, {
        9: StaticMTInterceptor((FOO,), (SetSource("ACME"),), python="hlr_lookup"),
        0: DefaultInterceptor(python="audit"),
    })
    result = intercept(table, mt())
    assert (result.routable.source_addr, result.python) == ("ACME", "hlr_lookup")
    assert intercept(table, mt(user="x")).python == "audit"
    assert table.python_names == {"hlr_lookup", "audit"}


def test_mo_table_uses_mo_filters() -> None:
    """Breaks if MO interceptors stop matching on the connector a message came in on."""
    table = InterceptorTable(MO, {3: StaticMOInterceptor(
        (ConnectorFilter("C-v1", "vendor1"),), (RewriteAddress(SOURCE, r"^\+", "00"),))})
    r = Routable(MO, AT, connector="vendor1", source_addr="+33612345678")
    assert intercept(table, r).routable.source_addr == "0033612345678"
    assert intercept(table, Routable(MO, AT, connector="vendor2")).order is None


def test_needs_content_follows_the_filters() -> None:
    """Breaks if the daemon is not told to decode text for a content filter."""
    assert not InterceptorTable(MT, {1: StaticMTInterceptor((ALL,), (Reject(8),))}).needs_content
    assert InterceptorTable(MT, {1: StaticMTInterceptor(
        (ShortMessageFilter("SM", "STOP"),), (Reject(8),))}).needs_content


@pytest.mark.parametrize("build, problems", [
    (lambda: StaticMTInterceptor((), (SetSource("X"),)),
     ["filters: a StaticMTInterceptor needs at least one filter"]),
    (lambda: StaticMOInterceptor((FOO,), (SetSource("X"),)),
     ["filters[0]: UserFilter#U-foo is not a valid filter for MOInterceptor"]),
    (lambda: StaticMTInterceptor((ConnectorFilter("C", "c"),), (SetSource("X"),)),
     ["filters[0]: ConnectorFilter#C is not a valid filter for MTInterceptor"]),
    (lambda: DefaultInterceptor(), ["actions: an interceptor needs at least one action or a "
                                    "python interceptor"]),
    (lambda: DefaultInterceptor((Reject(8), SetSource("X"))),
     ["actions[0]: reject must be the last action"]),
    (lambda: DefaultInterceptor((Reject(8),), python="p"),
     ["python: never runs after a reject action"]),
    (lambda: DefaultInterceptor(python="a b"), ["python: 'a b' is not an entry point name"]),
])
def test_bad_interceptors_are_refused(build, problems) -> None:  # type: ignore[no-untyped-def]
    """Breaks if an interceptor that cannot work as written is accepted."""
    with pytest.raises(RuleError) as e:
        build()
    assert e.value.problems == problems


def test_table_checks_every_order() -> None:
    """Breaks if the table accepts order 0 for a static interceptor, a default elsewhere,
    a negative order or an interceptor of the other direction; all reported at once."""
    static = StaticMTInterceptor((ALL,), (SetSource("X"),))
    with pytest.raises(RuleError) as e:
        InterceptorTable(MT, {0: static, 4: DefaultInterceptor(python="p"), -1: static,
                              2: StaticMOInterceptor((ALL,), (SetSource("X"),))})
    assert e.value.problems == [
        "[0].order: 0 is reserved for DefaultInterceptor",
        "[4].order: a DefaultInterceptor sits at order 0, not 4",
        "[-1].order: must be an integer >= 0, got -1",
        "[2].type: a StaticMOInterceptor does not belong in an MT table"]


def test_listing_and_show() -> None:
    """Breaks if `mtinterceptor -l` / `-s` lines change layout."""
    icpt = StaticMTInterceptor((FOO, FR), (SetSource("ACME"),), python="hlr")
    assert HEADER == ("#Order Type                 Action(s)                                  "
                      "     Filter(s)")
    assert listing(100, icpt) == (
        "#100   StaticMTInterceptor  <SA:= (ACME)> <PY (hlr)>                        "
        "<U (uid=foo)>, <DA (dst_addr=^33)>")
    assert listing(0, DefaultInterceptor((StripRegisteredDelivery(),))) == (
        "#0     DefaultInterceptor   <RD strip>")
    assert show(icpt) == "StaticMTInterceptor/<SA:= (ACME)> <PY (hlr)>"


POOL = [ALL, FOO, UserFilter("U-bar", "bar"), FR, DestinationAddrFilter("DA-44", "^44"),
        TagFilter("TG-vip", "vip")]


@given(st.dictionaries(st.integers(1, 50), st.lists(st.sampled_from(POOL), min_size=1,
                                                     max_size=3), max_size=8),
       st.booleans(), st.sampled_from(["foo", "bar", "baz"]),
       st.sampled_from(["33612345678", "447700900123", "1"]),
       st.frozensets(st.sampled_from(["vip", "bulk"])))
def test_winner_is_the_highest_order_all_matching(rules, default, user, dest, tags) -> None:  # type: ignore[no-untyped-def]
    """Breaks if the table's answer differs from its definition: the highest order whose
    filters all match, else the default, else none; and only the winner's action applies."""
    interceptors: dict[int, StaticMTInterceptor | DefaultInterceptor] = {
        order: StaticMTInterceptor(tuple(filters), (AddTags(frozenset({f"o{order}"})),))
        for order, filters in rules.items()}
    if default:
        interceptors[0] = DefaultInterceptor((AddTags(frozenset({"o0"})),))
    r = mt(user=user, destination_addr=dest, tags=tags)
    matching = [o for o, filters in rules.items() if all(f.matches(r) for f in filters)]
    expected = max(matching, default=0 if default else None)
    result = intercept(InterceptorTable(MT, interceptors), r)
    assert result.order == expected
    assert result.routable.tags == tags | ({f"o{expected}"} if expected is not None else set())
