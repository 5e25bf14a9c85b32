"""The reserve's integer arithmetic: floored, exact at the floor, never larger than the truth."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escrow.errors import InvariantViolation
from settlement.reserves.coverage import coverage_bps, meets_floor, pi_value_idr

units = st.integers(min_value=0, max_value=10**15)
positive = st.integers(min_value=1, max_value=10**15)
bps = st.integers(min_value=0, max_value=10_000)


@given(units, positive, bps)
def test_the_pi_value_is_the_exact_product_floored(pi: int, price: int, haircut: int) -> None:
    exact = Fraction(pi * price, 10**7) * Fraction(haircut, 10_000)
    assert pi_value_idr(pi, price, haircut) == int(exact)  # int() floors a non-negative Fraction
    assert pi_value_idr(pi, price, haircut) <= exact


def test_without_a_price_or_with_a_bad_haircut() -> None:
    assert pi_value_idr(10**7, None, 10_000) == 0
    with pytest.raises(InvariantViolation):
        pi_value_idr(1, 1, 10_001)


@given(st.integers(min_value=-(10**15), max_value=10**15), positive, st.integers(0, 100_000))
def test_the_floor_is_checked_exactly_and_the_ratio_is_floored(
    reserve: int, outstanding: int, floor: int
) -> None:
    ratio = Fraction(max(reserve, 0) * 10_000, outstanding)
    assert coverage_bps(reserve, outstanding) == int(ratio)
    assert meets_floor(reserve, outstanding, floor) == (
        Fraction(reserve, outstanding) * 10_000 >= floor
    )


def test_nothing_outstanding_has_no_ratio_and_meets_any_floor() -> None:
    assert coverage_bps(5, 0) is None
    assert meets_floor(0, 0, 100_000)
