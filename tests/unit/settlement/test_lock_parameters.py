"""The lock and points parameters check their values before they are stored, and a lock's
reward is exact: one floor of the exact product, never a rounded step."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement import parameters
from settlement.locks.reward import accrued_units, days_elapsed, rate_per_unit
from settlement.parameters import PARAMETERS, ParameterInvalid

KEY = "ab" * 32


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("lock_rate_30d", "0.05", "0.05"),
        ("lock_rate_90d", "1", "1"),
        (parameters.LOCK_PENALTY_BP, "250", 250),
        (parameters.MSCP_EXPIRY_DAYS, 365, 365),
        (parameters.MSCP_ONBOARDING_BONUS, "100", 100),
        (parameters.DATA_TEAM_KEYS, f'{{"data-1": "{KEY}"}}', {"data-1": KEY}),
    ],
)
def test_good_values_are_stored(name: str, value: object, stored: object) -> None:
    assert PARAMETERS[name].check(value) == stored


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("lock_rate_30d", "-1"),
        ("lock_rate_30d", "0.0000000000001"),
        ("lock_rate_60d", 0.05),
        (parameters.LOCK_PENALTY_BP, 10_001),
        (parameters.MSCP_EXPIRY_DAYS, 0),
        (parameters.MSCP_REFERRAL_BONUS, True),
        (parameters.DATA_TEAM_KEYS, {"data-1": "00"}),
        (parameters.DATA_TEAM_KEYS, {}),
        (parameters.DATA_TEAM_KEYS, "not json"),
    ],
)
def test_bad_values_are_refused(name: str, value: object) -> None:
    with pytest.raises(ParameterInvalid):
        PARAMETERS[name].check(value)


def test_no_lock_term_other_than_30_60_90_has_a_rate() -> None:
    assert [n for n in PARAMETERS if n.startswith("lock_rate_")] == [
        "lock_rate_30d", "lock_rate_60d", "lock_rate_90d",
    ]  # fmt: skip


@given(
    principal=st.integers(0, 2**62),
    rate=st.decimals(min_value=0, max_value=10**6, places=12, allow_nan=False),
    days=st.integers(0, 90),
)
def test_the_reward_is_one_floor_of_the_exact_product(
    principal: int, rate: Decimal, days: int
) -> None:
    exact = Fraction(rate) * principal * days / 10**7  # MSCP scale 0, Pi scale 7
    assert accrued_units(principal, rate_per_unit(rate), days) == int(exact // 1)


@given(st.integers(1, 10**12), st.integers(0, 200 * 86_400 * 10**6))
def test_days_elapsed_are_whole_and_capped(start: int, later: int) -> None:
    days = days_elapsed(start, start + later, 90)
    assert days == min(90, later // (86_400 * 10**6))
    assert days_elapsed(start, start - 1, 90) == 0
