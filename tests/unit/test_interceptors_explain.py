"""The route tester's interceptor section: which interceptors were tried and why, what
each action changed, and the outcome."""
from routing.filters import TagFilter
from routing.interceptor_actions import (DESTINATION, AddTags, ForceRegisteredDelivery, Reject,
                                         RewriteAddress, SetSource)
from routing.interceptor_explain import explain_interception
from routing.interceptors import (DefaultInterceptor, InterceptorTable, StaticMTInterceptor,
                                  intercept)
from routing.routable import MO, MT
from smscd.smpp.status import CommandStatus

from interceptor_fixtures import FOO, FR, mt


def test_explanation_transcript() -> None:
    """Breaks if the route tester's interceptor section stops saying which interceptors
    were tried, which filter failed, what each action changed and the outcome."""
    table = InterceptorTable(MT, {
        50: StaticMTInterceptor((FOO, TagFilter("TG-vip", "vip")), (Reject(8),)),
        20: StaticMTInterceptor((FOO, FR), (
            SetSource("ACME"), AddTags(frozenset({"fr"})), ForceRegisteredDelivery(0),
            RewriteAddress(DESTINATION, "^33", "+33")), python="hlr_lookup"),
        0: DefaultInterceptor((Reject(8),)),
    })
    r = mt()
    explanation = explain_interception(table, r)
    assert explanation.result == intercept(table, r)
    assert explanation.lines() == [
        "MT interceptors:",
        "  #50 StaticMTInterceptor: no match",
        "    <U (uid=foo)> matched",
        "    <TG (tag=vip)> did not match",
        "  #20 StaticMTInterceptor: matched",
        "    <U (uid=foo)> matched",
        "    <DA (dst_addr=^33)> matched",
        "  action <SA:= (ACME)>: source_addr '12345' -> 'ACME'",
        "  action <TG+ (fr)>: tags [] -> ['fr']",
        "  action <RD:= (0)>: no change",
        "  action <DA~ (^33 -> +33)>: destination_addr '33612345678' -> '+33612345678'",
        "  result: continue; python interceptor 'hlr_lookup' runs next (not run here)"]


def test_explanation_of_a_rejection_and_of_no_match() -> None:
    """Breaks if the tester hides a rejection's statuses or says nothing when no
    interceptor matched."""
    table = InterceptorTable(MT, {1: StaticMTInterceptor((FR,), (
        Reject(CommandStatus.ESME_RINVDSTADR, 412, "blocked"),))})
    assert explain_interception(table, mt()).lines()[-2:] == [
        "  action <REJECT (ESME_RINVDSTADR, http=412, blocked)>: refuses the message",
        "  result: rejected (smpp_status 0xb, http 412, 'blocked')"]
    assert explain_interception(table, mt(destination_addr="44")).lines()[-1] == (
        "  result: no interceptor matched; message unchanged")
    assert explain_interception(InterceptorTable(MO, {}), mt()).lines() == [
        "MO interceptors: none"]
