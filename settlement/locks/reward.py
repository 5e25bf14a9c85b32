"""A lock's reward, computed from the position's start, never step by step (decision 0029).

``accrued(days) = floor(principal x rate x days)`` in whole MSCP, the rate being MSCP per Pi
per day and the principal in Pi units (1e-7). Each day's credit is ``accrued(d) -
accrued(d - 1)``, so the credits of any schedule of runs add up to ``accrued`` of the last day
exactly: flooring happens once per total, never per step, and no dust is lost.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from escrow.errors import InvariantViolation
from escrow.money import MSCP, PI

US_PER_DAY = 86_400 * 1_000_000


def rate_per_unit(rate: Decimal) -> Decimal:
    """MSCP units per Pi unit per day: ``rate`` shifted by the scales, exactly (a decimal shift
    never rounds), so SQL multiplies it without any division."""
    return rate.scaleb(MSCP.scale - PI.scale)


def accrued_units(principal_units: int, per_unit: Decimal, days: int) -> int:
    """Whole MSCP accrued after ``days`` whole days: exact rational arithmetic, then one floor."""
    if principal_units < 0 or days < 0 or per_unit < 0:
        raise InvariantViolation("a reward needs a non-negative principal, rate and days")
    return int(Fraction(per_unit) * principal_units * days // 1)


def days_elapsed(started_us: int, now_us: int, term_days: int) -> int:
    """Whole days from ``started_us`` to ``now_us``, capped at the term (0 before the start)."""
    return max(0, min(term_days, (now_us - started_us) // US_PER_DAY))
