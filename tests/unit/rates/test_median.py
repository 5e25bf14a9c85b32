"""The median of fresh readings and its refusals (decision 0022): properties over random panels,
checked against the rules restated here in exact rational arithmetic."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.rates.median import (
    RatePolicy,
    RateRefused,
    decide,
    is_fresh,
    median_units,
    observed_skew_s_max,
)
from settlement.rates.readings import Reading

NOW = 1_800_000_000 * 1_000_000
S = 1_000_000


def reading(
    n: int,
    price: int | None,
    age_s: int = 0,
    *,
    valid_for_s: int | None = None,
    source: str | None = None,
) -> Reading:
    observed = None if price is None else NOW - age_s * S
    valid = None if valid_for_s is None or observed is None else observed + valid_for_s * S
    return Reading(
        n,
        source or f"s{n}",
        "PI",
        "IDR",
        price,
        "source_timeout" if price is None else None,
        observed,
        NOW,
        valid,
        "officer" if valid is not None else None,
    )


panels = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(1, 10**12)),
        st.integers(-observed_skew_s_max * 2, 1000),
    ),
    max_size=9,
)
policies = st.builds(RatePolicy, st.integers(1, 6), st.integers(1, 600), st.integers(0, 10_000))


def _expected(found: list[Reading], policy: RatePolicy) -> str | int:
    """The rules, restated: the refusal code, or the median."""
    fresh = [
        r.price_units
        for r in found
        if r.price_units is not None
        and r.observed_at_us is not None
        and NOW - policy.age_s_max * S <= r.observed_at_us <= NOW + observed_skew_s_max * S
    ]
    if len(fresh) < policy.sources_min:
        answered = sum(1 for r in found if r.price_units is not None)
        return "rate_stale" if answered >= policy.sources_min else "rate_sources_insufficient"
    ordered = sorted(fresh)
    half = len(ordered) // 2
    median = ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) // 2
    if Fraction(ordered[-1] - ordered[0], median) > Fraction(policy.spread_bp_max, 10_000):
        return "rate_spread_exceeded"
    return median


@given(panels, policies)
def test_refused_exactly_when_the_rules_say_and_the_median_lies_within_the_fresh(
    panel: list[tuple[int | None, int]], policy: RatePolicy
) -> None:
    found = [reading(n, price, age) for n, (price, age) in enumerate(panel)]
    expected = _expected(found, policy)
    if isinstance(expected, str):
        with pytest.raises(RateRefused) as refused:
            decide(found, NOW, policy, "PI", "IDR")
        assert refused.value.code == expected
        return
    median = decide(found, NOW, policy, "PI", "IDR")
    used = [r.price_units for r in median.used if r.price_units is not None]
    assert median.price_units == expected
    assert min(used) <= median.price_units <= max(used)
    assert all(is_fresh(r, NOW, policy.age_s_max) for r in median.used)
    assert len(median.used) >= policy.sources_min


@given(st.lists(st.integers(1, 10**15), min_size=1, max_size=20))
def test_the_median_is_between_the_lowest_and_highest(prices: list[int]) -> None:
    median = median_units(prices)
    assert min(prices) <= median <= max(prices)
    below = sum(1 for p in prices if p < median)
    above = sum(1 for p in prices if p > median)
    assert below <= len(prices) // 2
    assert above <= len(prices) // 2


def test_an_even_count_takes_the_two_middle_prices_mean_rounded_down() -> None:
    assert median_units([100, 101]) == 100
    assert median_units([100, 103, 200, 90]) == 101
    assert median_units([5]) == 5


def test_a_treasury_rate_is_fresh_until_its_validity_not_the_age_limit() -> None:
    policy = RatePolicy(sources_min=1, age_s_max=60)
    officer = reading(1, 500_000, age_s=3000, valid_for_s=3600, source="treasury")
    assert decide([officer], NOW, policy, "PI", "IDR").price_units == 500_000
    lapsed = reading(2, 500_000, age_s=3601, valid_for_s=3600, source="treasury")
    with pytest.raises(RateRefused) as refused:
        decide([lapsed], NOW, policy, "PI", "IDR")
    assert refused.value.code == "rate_stale"


def test_stale_insufficient_and_spread_are_told_apart() -> None:
    policy = RatePolicy(sources_min=2, age_s_max=300, spread_bp_max=500)
    stale = [reading(1, 500_000, 301), reading(2, 500_000, 10)]
    missing = [reading(1, None), reading(2, 500_000)]
    wild = [reading(1, 500_000), reading(2, 5_000_000)]
    edge = [reading(1, 500_000), reading(2, 525_000)]  # 25,000 / 512,500 < 5 %
    for found, code in ((stale, "rate_stale"), (missing, "rate_sources_insufficient"),
                        (wild, "rate_spread_exceeded")):  # fmt: skip
        with pytest.raises(RateRefused) as refused:
            decide(found, NOW, policy, "PI", "IDR")
        assert refused.value.code == code
    assert decide(edge, NOW, policy, "PI", "IDR").price_units == 512_500


def test_a_reading_from_the_future_beyond_the_skew_is_not_fresh() -> None:
    policy = RatePolicy()
    assert is_fresh(reading(1, 5, age_s=-observed_skew_s_max), NOW, policy.age_s_max)
    assert not is_fresh(reading(1, 5, age_s=-observed_skew_s_max - 1), NOW, policy.age_s_max)


def test_readings_of_another_pair_do_not_count() -> None:
    other = Reading(1, "x", "PI", "MSC", 500_000, None, NOW, NOW)
    with pytest.raises(RateRefused) as refused:
        decide([other], NOW, RatePolicy(), "PI", "IDR")
    assert refused.value.code == "rate_sources_insufficient"
