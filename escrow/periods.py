"""Accounting periods: calendar months in Asia/Jakarta time (WIB), as ledger-timestamp ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from escrow.errors import PeriodNotClosable

JAKARTA = ZoneInfo("Asia/Jakarta")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class Period:
    """A month ``YYYY-MM`` in WIB: the ledger timestamps ``starts_at_us <= ts <= ends_at_us``."""

    name: str
    starts_at_us: int
    ends_at_us: int


def period(name: str) -> Period:
    """Parse ``YYYY-MM`` into the month's range of ledger timestamps (µs since the epoch)."""
    match = _PERIOD.match(name)
    if match is None:
        raise PeriodNotClosable(f"a period is written YYYY-MM, not {name!r}")
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=JAKARTA)
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=JAKARTA)
    return Period(name, _to_us(start), _to_us(following) - 1)


def period_of(timestamp_us: int) -> str:
    """The ``YYYY-MM`` (WIB) a ledger timestamp falls in."""
    moment = datetime.fromtimestamp(timestamp_us // 1_000_000, tz=JAKARTA)
    return f"{moment.year:04d}-{moment.month:02d}"


def _to_us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000
