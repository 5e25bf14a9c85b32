"""Business time in Asia/Jakarta (WIB): the one home of the zone, its days and its months.

Periods close per WIB month, QRIS reconciles per WIB day, MDR bands apply per WIB date. Every
one of them asks this module; nothing else names the zone. Timestamps are the ledger's: integer
microseconds since the Unix epoch (``escrow.clock.Clock.now_us``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")
"""Western Indonesian Time; UTC+7 without daylight saving since 1964, from the tz database."""
US_PER_S = 1_000_000


def to_us(moment: datetime) -> int:
    """Exact microseconds since the epoch of an aware ``moment`` (``from_us``'s inverse; no
    float on the way)."""
    if moment.tzinfo is None:
        raise ValueError("a moment without a timezone is no point in time")
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_us(timestamp_us: int) -> datetime:
    """The aware UTC moment of a ledger timestamp (µs precision kept)."""
    return _EPOCH + timedelta(microseconds=timestamp_us)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_or_none(moment: datetime | None) -> str | None:
    """``moment`` in ISO 8601, or None for a time not yet reached (a NULL column)."""
    return None if moment is None else moment.isoformat()


def iso_of_us(timestamp_us: int | None) -> str | None:
    """``iso_or_none`` of a time held as microseconds since the epoch (UTC)."""
    return None if timestamp_us is None else from_us(timestamp_us).isoformat()


def business_day(moment: datetime) -> date:
    """The WIB calendar day an aware ``moment`` belongs to."""
    if moment.tzinfo is None:
        raise ValueError("a moment without a timezone has no business day")
    return moment.astimezone(WIB).date()


def day_range(day: date) -> tuple[datetime, datetime]:
    """[00:00, 24:00) WIB of ``day``, as aware datetimes."""
    start = datetime.combine(day, time(0), tzinfo=WIB)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=WIB)


def month_of(timestamp_us: int) -> str:
    """The ``YYYY-MM`` (WIB) a ledger timestamp falls in."""
    moment = datetime.fromtimestamp(timestamp_us // US_PER_S, tz=WIB)
    return f"{moment.year:04d}-{moment.month:02d}"


def month_range_us(year: int, month: int) -> tuple[int, int]:
    """[first µs, first µs of the next month) of WIB month ``year``-``month``."""
    start = datetime(year, month, 1, tzinfo=WIB)
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=WIB)
    return to_us(start), to_us(following)


def format_wib(timestamp_us: int) -> str:
    """A ledger timestamp as people in Madiun read it: ``01-12-2026 16:22 WIB``."""
    return from_us(timestamp_us).astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")
