"""Token bucket: bursts pass at once, the long-run rate holds, time is only an argument."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.throttle import TokenBucket


def test_a_burst_passes_then_the_rate_holds():
    """A full bucket lets `burst` through at once, then one per 1/rate seconds."""
    bucket = TokenBucket(rate=10, burst=5, now=0.0)
    assert [bucket.try_take(0.0) for _ in range(6)] == [True] * 5 + [False]
    assert not bucket.try_take(0.05)
    assert bucket.try_take(0.1)
    assert bucket.wait_time(0.1) == pytest.approx(0.1)


def test_tokens_never_exceed_the_burst():
    """Idle time must not save up more than `burst` tokens."""
    bucket = TokenBucket(rate=100, burst=3, now=0.0)
    assert bucket.available(1000.0) == 3


def test_time_going_backwards_changes_nothing():
    """A clock step back must not create or destroy tokens."""
    bucket = TokenBucket(rate=1, burst=1, now=10.0)
    assert bucket.try_take(10.0)
    assert not bucket.try_take(5.0)
    assert bucket.try_take(11.0)


@given(st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=300))
def test_long_run_rate_is_never_exceeded(gaps):
    """Over any run, taken <= burst + rate * elapsed."""
    bucket, now, taken = TokenBucket(rate=20, burst=4, now=0.0), 0.0, 0
    for gap in gaps:
        now += gap
        taken += bucket.try_take(now)
    assert taken <= 4 + 20 * now + 1e-9


def test_bad_parameters_are_refused():
    """A zero rate or empty bucket is a configuration error, not a silent stall."""
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1, now=0)
