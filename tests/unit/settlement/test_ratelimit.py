"""The public routes' token bucket: never more than a burst plus the refill in a window, one
key's spending never another's, and Retry-After is when a request would pass."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escrow.clock import FixedClock
from settlement.ratelimit import InProcessLimiter

START_US = 1_750_000_000 * 10**6


@settings(max_examples=60)
@given(
    st.integers(1, 20),
    st.integers(1, 120),
    st.lists(st.integers(0, 30), min_size=1, max_size=200),
)
def test_no_window_admits_more_than_the_allowance(
    allowed: int, window_s: int, gaps_s: list[int]
) -> None:
    clock = FixedClock(START_US)
    limiter = InProcessLimiter(allowed, float(window_s), clock)
    admitted: list[int] = []
    for gap in gaps_s:
        clock.advance(gap)
        decision = limiter.take("ip:1")
        if decision.allowed:
            admitted.append(clock.now_us())
        else:
            assert decision.retry_after_s >= 1
    for start in admitted:
        inside = [t for t in admitted if start <= t < start + window_s * 10**6]
        assert len(inside) <= 2 * allowed  # a full bucket, and what refills during the window


def test_retry_after_is_when_a_request_passes_again_and_keys_are_apart() -> None:
    clock = FixedClock(START_US)
    limiter = InProcessLimiter(2, 60.0, clock)
    assert [limiter.take("ip:a").allowed for _ in range(3)] == [True, True, False]
    assert limiter.take("ip:b").allowed, "another client has its own allowance"
    wait = limiter.take("ip:a").retry_after_s
    assert wait == 30
    clock.advance(wait - 1)
    assert not limiter.take("ip:a").allowed
    clock.advance(1)
    assert limiter.take("ip:a").allowed


@pytest.mark.parametrize(("allowed", "window_s"), [(0, 60.0), (5, 0.0), (5, -1.0)])
def test_a_limit_that_admits_nothing_is_refused(allowed: int, window_s: float) -> None:
    with pytest.raises(ValueError, match="at least one request"):
        InProcessLimiter(allowed, window_s, FixedClock(START_US))
