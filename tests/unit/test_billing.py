"""Billing money rules (smscd/billing.py): every transition of a hold, exact decimals,
Jasmin's early_percent split, unlimited quotas, refusals and idempotent settling."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smscd.billing import (CAPTURED, HELD, RELEASED, Account, Hold, RecordState, Refusal,
                           charge, early_share, hold_for, parse_amount, parse_delta, quote,
                           record_state, refund)
from smscd.smpp.status import CommandStatus

D = Decimal


def place(account: Account, rate: str = "0.10", parts: int = 3,
          early: int | None = None) -> Hold | Refusal | None:
    return hold_for(account, "m1", D(rate), parts, early, "10", "vendor", "smpp", "EUR", 5.0)


def test_quote_is_rate_times_parts_in_exact_decimals() -> None:
    assert quote(D("0.1"), 3) == D("0.3")          # 0.1 * 3 in float is 0.30000000000000004
    assert quote(D("0"), 5) == 0


def test_parse_amount_refuses_floats_negatives_and_junk_naming_the_field() -> None:
    assert parse_amount("12.50") == D("12.50")
    with pytest.raises(ValueError, match="rate: expected a decimal string"):
        parse_amount(0.1, "rate")
    with pytest.raises(ValueError, match="balance: '-1' is negative"):
        parse_amount("-1", "balance")
    with pytest.raises(ValueError, match="balance: 'abc' is not a decimal"):
        parse_amount("abc", "balance")
    with pytest.raises(ValueError, match="not a decimal"):
        parse_amount("NaN", "balance")


def test_parse_delta_takes_jcli_signed_values() -> None:
    assert parse_delta("+10") == D(10)
    assert parse_delta("-22.4") == D("-22.4")
    assert parse_delta(D(-3)) == D(-3)


def test_early_share_is_the_percent_of_the_rate_and_validates_its_range() -> None:
    assert early_share(D("0.10"), 30) == D("0.03")
    assert early_share(D("0.10"), None) == 0
    with pytest.raises(ValueError, match="early_percent"):
        early_share(D("0.10"), 0)


def test_hold_takes_rate_times_parts_and_one_sms_per_part() -> None:
    hold = place(Account("u", D("1.00"), 10))
    assert isinstance(hold, Hold)
    assert charge(hold) == (D("0.30"), 3)
    record = hold.record()
    assert (record.amount, record.held, record.captured, record.released) == \
        (D("0.30"), D("0.30"), 0, 0)
    assert record.state is RecordState.HELD and record.part_states == "HHH"


def test_insufficient_balance_is_refused_with_jasmin_statuses() -> None:
    refusal = place(Account("u", D("0.29")))
    assert isinstance(refusal, Refusal)
    assert refusal.field == "balance"
    assert refusal.smpp_status == CommandStatus.ESME_RSYSERR
    assert (refusal.http_status, refusal.rest_status) == (403, 402)
    assert "0.29 < 0.30" in refusal.reason


def test_exact_balance_is_enough() -> None:
    assert isinstance(place(Account("u", D("0.30"))), Hold)


def test_insufficient_sms_count_is_refused_even_on_a_free_route() -> None:
    refusal = place(Account("u", None, 2), rate="0")
    assert isinstance(refusal, Refusal) and refusal.field == "sms_count"


def test_unlimited_balance_moves_no_money_but_keeps_the_cost_on_record() -> None:
    hold = place(Account("u"))
    assert isinstance(hold, Hold)
    assert charge(hold) == (0, 0)
    assert not hold.prepaid and hold.record().amount == D("0.30")


def test_rate_zero_counts_sms_only() -> None:
    hold = place(Account("u", D(5), 10), rate="0")
    assert isinstance(hold, Hold)
    assert charge(hold) == (0, 3)


def test_rate_zero_and_unlimited_sms_count_bills_nothing() -> None:
    assert place(Account("u", D(5)), rate="0") is None


def test_capture_per_part_moves_the_held_share_to_captured() -> None:
    hold = place(Account("u", D(1)))
    assert isinstance(hold, Hold)
    assert hold.settle(1, CAPTURED, 6.0) == D("0.10")
    r = hold.record()
    assert (r.held, r.captured, r.part_states, r.updated_at) == (D("0.20"), D("0.10"), "HCH", 6.0)
    hold.settle(0, CAPTURED, 7.0)
    hold.settle(2, CAPTURED, 7.0)
    assert hold.record().state is RecordState.CAPTURED


def test_early_percent_captures_its_share_at_acceptance_and_releases_only_the_rest() -> None:
    hold = place(Account("u", D(1), 10), early=30)
    assert isinstance(hold, Hold)
    r = hold.record()
    assert (r.captured, r.held) == (D("0.09"), D("0.21"))     # 3 x 0.03 at once
    share = hold.settle(0, RELEASED, 6.0)
    assert share == D("0.07")
    assert refund(hold, share) == (D("0.07"), 1)
    hold.settle(1, CAPTURED, 6.0)
    r = hold.record()
    assert (r.held, r.captured, r.released) == (D("0.07"), D("0.16"), D("0.07"))
    assert r.captured + r.held + r.released == r.amount


def test_release_gives_back_money_only_when_prepaid_and_sms_only_when_counted() -> None:
    hold = place(Account("u"), parts=1)
    assert isinstance(hold, Hold)
    assert refund(hold, hold.settle(0, RELEASED, 6.0) or D(0)) == (0, 0)


def test_settling_is_idempotent_and_final() -> None:
    hold = place(Account("u", D(1)))
    assert isinstance(hold, Hold)
    assert hold.settle(0, CAPTURED, 6.0) is not None
    assert hold.settle(0, CAPTURED, 6.0) is None     # duplicate submit_sm_resp
    assert hold.settle(0, RELEASED, 6.0) is None     # failure receipt after capture: no refund
    assert hold.settle(1, RELEASED, 6.0) is not None
    assert hold.settle(1, CAPTURED, 6.0) is None     # resent after a restart: stays released
    assert hold.settle(7, CAPTURED, 6.0) is None     # no such part


def test_record_state_of_the_parts() -> None:
    assert record_state("HC") is RecordState.HELD
    assert record_state("CC") is RecordState.CAPTURED
    assert record_state("RR") is RecordState.RELEASED
    assert record_state("CR") is RecordState.PARTIAL


def test_bad_parts_count_is_an_error() -> None:
    with pytest.raises(ValueError, match="parts"):
        place(Account("u"), parts=0)


@given(rate=st.decimals(min_value=0, max_value=100, places=4),
       parts=st.integers(min_value=1, max_value=10),
       early=st.none() | st.integers(min_value=1, max_value=100),
       outcomes=st.lists(st.sampled_from([CAPTURED, RELEASED, HELD]), min_size=10,
                         max_size=10))
def test_money_is_conserved_through_any_settling(rate: Decimal, parts: int, early: int | None,
                                                  outcomes: list[str]) -> None:
    """held + captured + released is always the cost, and what the account gets back is
    exactly `released`."""
    hold = hold_for(Account("u", D(10_000)), "m", rate, parts, early, "0", "c", "http",
                    "EUR", 0.0)
    if hold is None:
        assert rate == 0
        return
    assert isinstance(hold, Hold)
    given_back = D(0)
    for index, outcome in enumerate(outcomes[:parts]):
        if outcome != HELD:
            share = hold.settle(index, outcome, 1.0)
            if outcome == RELEASED and share is not None:
                given_back += refund(hold, share)[0]
    r = hold.record()
    assert r.held + r.captured + r.released == r.amount == quote(rate, parts)
    assert given_back == r.released
