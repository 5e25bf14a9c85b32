"""The conversion parameters: limits are MSC decimal text (checked by ``escrow.money``), the
tolerance basis points; every tier has a day and a month limit."""

from __future__ import annotations

import pytest

from settlement import parameters


@pytest.mark.parametrize("tier", parameters.TIERS)
@pytest.mark.parametrize("period", parameters.PERIODS)
def test_each_tier_has_its_limits(tier: int, period: str) -> None:
    found = parameters.PARAMETERS[parameters.conversion_limit_name(tier, period)]
    assert found.check("1500") == "1500.00"
    for wrong in ("1.001", "-1", 15, "lima", "0"):
        with pytest.raises(parameters.ParameterInvalid):
            found.check(wrong)


def test_the_tolerance_is_basis_points() -> None:
    found = parameters.PARAMETERS[parameters.CONVERSION_TOLERANCE_BP]
    assert found.check("75") == 75
    with pytest.raises(parameters.ParameterInvalid):
        found.check(parameters.conversion_tolerance_bp_max + 1)
