"""Accounting periods: calendar months in Asia/Jakarta time (WIB), as ledger-timestamp ranges.

The months themselves are ``escrow.calendar``'s; this module names and parses periods.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from escrow.calendar import month_of, month_range_us
from escrow.errors import PeriodNotClosable

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class Period:
    """A month ``YYYY-MM`` in WIB: the ledger timestamps ``starts_at_us <= ts <= ends_at_us``."""

    name: str
    starts_at_us: int
    ends_at_us: int


@dataclass(frozen=True, slots=True)
class ClosedPeriod:
    """The outcome of closing a month."""

    period: Period
    transfer_count: int


def period(name: str) -> Period:
    """Parse ``YYYY-MM`` into the month's range of ledger timestamps (µs since the epoch)."""
    match = _PERIOD.match(name)
    if match is None:
        raise PeriodNotClosable(f"a period is written YYYY-MM, not {name!r}")
    year, month = int(match.group(1)), int(match.group(2))
    start_us, following_us = month_range_us(year, month)
    return Period(name, start_us, following_us - 1)


def period_of(timestamp_us: int) -> str:
    """The ``YYYY-MM`` (WIB) a ledger timestamp falls in."""
    return month_of(timestamp_us)
