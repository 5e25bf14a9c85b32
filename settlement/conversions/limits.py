"""Conversion limits: the MSC a Pioneer converts per WIB day and per WIB month, by tier.

Counted over the conversions ``converted`` in the period (the MSC actually credited), plus the
one being decided; the limits are treasury parameters (``conversion_limit_{period}_tier{n}``).
"""

from __future__ import annotations

from datetime import datetime

from escrow.calendar import business_day, day_range, from_us, month_range_us
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement import parameters
from settlement.unit_of_work import UnitOfWork


class LimitExceeded(Refusal, ValueError):
    """The conversion would take the Pioneer past a daily or monthly limit of their tier."""

    code = "conversion_limit_exceeded"


def period_starts(now_us: int) -> dict[str, tuple[datetime, datetime]]:
    """[start, end) of the WIB day and the WIB month of ``now_us``."""
    day = business_day(from_us(now_us))
    month_start, month_end = month_range_us(day.year, day.month)
    return {"day": day_range(day), "month": (from_us(month_start), from_us(month_end))}


def converted_units(uow: UnitOfWork, uid: str, start: datetime, end: datetime) -> int:
    """MSC sen converted for ``uid`` in [start, end)."""
    return int(
        uow.conn.execute(
            sql(
                "SELECT coalesce(sum(converted_units), 0) FROM conversions WHERE uid = :uid"
                " AND status = 'converted' AND converted_at >= :start AND converted_at < :end"
            ),
            {"uid": uid, "start": start, "end": end},
        ).scalar_one()
    )


def require_within(uow: UnitOfWork, uid: str, tier: int, buy_units: int) -> None:
    """Refuse (``conversion_limit_exceeded``) unless ``buy_units`` more MSC keeps ``uid`` within
    the day's and the month's limit of ``tier``, at the unit of work's now."""
    for period, (start, end) in period_starts(uow.clock.now_us()).items():
        limit = parameters.conversion_limit_units(uow.conn, tier, period)
        used = converted_units(uow, uid, start, end)
        if used + buy_units > limit:
            raise LimitExceeded(
                f"converting {buy_units} sen more would exceed the tier {tier} {period} limit"
                f" of {limit} sen ({used} used)"
            )
