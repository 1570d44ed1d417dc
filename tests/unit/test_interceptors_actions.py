"""Declarative interceptor actions: each one's effect, its validation and its listing repr."""
from datetime import datetime, timezone

import pytest

from routing.errors import RuleError
from routing.interceptor_actions import (ACTION_TYPES, DESTINATION, SOURCE, AddTags,
                                         ForceRegisteredDelivery, ForceTonNpi, Reject,
                                         RemoveTags, RewriteAddress, SetSource, SetTlv,
                                         StripRegisteredDelivery)
from routing.routable import MT, Routable
from smscd.smpp.status import CommandStatus

AT = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def msg(**kw: object) -> Routable:
    base: dict[str, object] = dict(direction=MT, at=AT, user="u1", source_addr="12345",
                                   destination_addr="0033612345678")
    base.update(kw)
    return Routable(**base)  # type: ignore[arg-type]


def test_set_source_overrides_the_sender() -> None:
    """Breaks if the sender override stops replacing an existing source address."""
    assert SetSource("ACME").apply(msg()).source_addr == "ACME"


def test_set_source_only_if_empty_keeps_a_given_sender() -> None:
    """Breaks if the 'default sender' form overwrites what the customer sent."""
    action = SetSource("ACME", only_if_empty=True)
    assert action.apply(msg()).source_addr == "12345"
    assert action.apply(msg(source_addr="")).source_addr == "ACME"


def test_an_action_that_changes_nothing_returns_the_same_record() -> None:
    """Breaks if no-op actions copy the record (the explanation relies on `is`)."""
    r = msg(source_addr="ACME", registered_delivery=1, tags=frozenset({"a"}),
            tlvs=((0x1400, b"\x01"),))
    for action in (SetSource("ACME"), ForceRegisteredDelivery(1), AddTags(frozenset({"a"})),
                   RemoveTags(frozenset({"b"})), SetTlv(0x1400, b"\x01"),
                   ForceTonNpi(SOURCE, ton=0, npi=0), RewriteAddress(SOURCE, "^zzz", "y"),
                   Reject(8)):
        assert action.apply(r) is r, action
    unregistered = msg()
    assert StripRegisteredDelivery().apply(unregistered) is unregistered


def test_force_ton_npi_on_either_side() -> None:
    """Breaks if forcing TON/NPI touches the wrong address or an unset half."""
    r = msg(source_ton=5, source_npi=0, dest_ton=1, dest_npi=1)
    src = ForceTonNpi(SOURCE, ton=1, npi=1).apply(r)
    assert (src.source_ton, src.source_npi, src.dest_ton, src.dest_npi) == (1, 1, 1, 1)
    dst = ForceTonNpi(DESTINATION, npi=0).apply(r)
    assert (dst.source_ton, dst.source_npi, dst.dest_ton, dst.dest_npi) == (5, 0, 1, 0)


def test_registered_delivery_forced_or_stripped() -> None:
    """Breaks if enforcing or stripping receipt requests stops working."""
    assert ForceRegisteredDelivery(1).apply(msg()).registered_delivery == 1
    assert StripRegisteredDelivery().apply(msg(registered_delivery=17)).registered_delivery == 0


def test_tags_added_and_removed() -> None:
    """Breaks if tagging loses existing tags or removal leaves the tag."""
    r = msg(tags=frozenset({"bulk", "x"}))
    assert AddTags(frozenset({"vip"})).apply(r).tags == {"bulk", "x", "vip"}
    assert RemoveTags(frozenset({"bulk", "absent"})).apply(r).tags == {"x"}


def test_set_tlv_replaces_the_same_tag_and_keeps_others() -> None:
    """Breaks if a TLV is duplicated instead of replaced, or others are dropped."""
    r = msg(tlvs=((0x1400, b"\x01"), (0x1401, b"\x02")))
    assert SetTlv(0x1400, b"\xaa").apply(r).tlvs == ((0x1401, b"\x02"), (0x1400, b"\xaa"))
    assert SetTlv(0x1500, b"").apply(msg()).tlvs == ((0x1500, b""),)


def test_rewrite_addresses_with_groups() -> None:
    """Breaks if the regex rewrite stops using groups or rewrites the other address."""
    r = msg(source_addr="0033612345678", destination_addr="0044700900123")
    out = RewriteAddress(DESTINATION, r"^00(\d+)", r"+\1").apply(r)
    assert (out.source_addr, out.destination_addr) == ("0033612345678", "+44700900123")
    assert RewriteAddress(SOURCE, "^0033", "33").apply(r).source_addr == "33612345678"


def test_reject_carries_jasmin_defaults() -> None:
    """Breaks if a reject without http status/message stops using Jasmin's 520 text."""
    rj = Reject(CommandStatus.ESME_RINVDSTADR)
    assert (rj.smpp_status, rj.http_status, rj.message) == (
        0x0B, 520, "Interception specific error code 520")
    assert Reject(0x0B, 412, "blocked").message == "blocked"


@pytest.mark.parametrize("build, problem", [
    (lambda: SetSource(""), "address: must not be empty"),
    (lambda: ForceTonNpi("both", ton=1), "side: expected 'source' or 'destination', got 'both'"),
    (lambda: ForceTonNpi(SOURCE), "ton: set ton, npi or both"),
    (lambda: ForceTonNpi(SOURCE, ton=256), "ton: expected 0..255, got 256"),
    (lambda: ForceRegisteredDelivery(-1), "value: expected 0..255, got -1"),
    (lambda: AddTags(frozenset()), "tags: expected one or more non-empty tags"),
    (lambda: RemoveTags(frozenset({""})), "tags: expected one or more non-empty tags"),
    (lambda: SetTlv(0x10000, b""), "tag: expected 0x0001..0xffff, got 0x10000"),
    (lambda: RewriteAddress(SOURCE, "(", "x"),
     "pattern: not a valid regular expression (missing ), unterminated subpattern at "
     "position 0)"),
    (lambda: RewriteAddress(SOURCE, "^00", r"\1"),
     "replacement: invalid group reference 1 at position 1"),
    (lambda: Reject(0), "smpp_status: ESME_ROK (0) does not refuse a message"),
    (lambda: Reject(8, 200), "http_status: expected an error code 400..599, got 200"),
])
def test_bad_actions_are_refused_naming_the_field(build, problem) -> None:  # type: ignore[no-untyped-def]
    """Breaks if a bad action is accepted (it would fail per message) or the error stops
    naming its field."""
    with pytest.raises(RuleError) as e:
        build()
    assert e.value.problems == [problem]


def test_listing_reprs() -> None:
    """Breaks if the short reprs shown by `mtinterceptor -l` change."""
    assert [a.describe() for a in (
        SetSource("ACME"), SetSource("ACME", only_if_empty=True),
        ForceTonNpi(DESTINATION, ton=1, npi=1), ForceRegisteredDelivery(1),
        StripRegisteredDelivery(), AddTags(frozenset({"b", "a"})), RemoveTags(frozenset({"x"})),
        SetTlv(0x1400, b"\x0a\x0b"), RewriteAddress(SOURCE, "^00", "+"),
        Reject(0x0B, 412, "blocked"), Reject(0x400))] == [
        "<SA:= (ACME)>", "<SA:= (ACME, if empty)>", "<TON/NPI (destination ton=1 npi=1)>",
        "<RD:= (1)>", "<RD strip>", "<TG+ (a,b)>", "<TG- (x)>", "<TLV (0x1400=0a0b)>",
        "<SA~ (^00 -> +)>", "<REJECT (ESME_RINVDSTADR, http=412, blocked)>",
        "<REJECT (0x400, http=520, Interception specific error code 520)>"]


def test_action_names_are_the_codec_names() -> None:
    """Breaks if an action class is left out of the name table the codec uses."""
    assert sorted(ACTION_TYPES) == sorted([
        "set_source", "force_ton_npi", "force_registered_delivery",
        "strip_registered_delivery", "add_tags", "remove_tags", "set_tlv", "rewrite", "reject"])
