"""The figures the transparency page charts: reserve coverage and the guarantee fund's balance
over time. Amounts and times only: the fund's movements name merchants, the chart never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from escrow.calendar import US_PER_S
from settlement.fund import fund
from settlement.fund.coverage import fund_balance
from settlement.reserves import reserve

SECONDS_PER_DAY = 86_400
points_max = 100
"""The newest readings of each series the page draws."""


@dataclass(frozen=True, slots=True)
class Point:
    """One reading: when (µs since the epoch) and the value (basis points or sen)."""

    at_us: int
    value: int


def coverage_series(conn: Connection) -> list[Point]:
    """Reserve coverage (basis points of MSC outstanding) of the stored computations, oldest
    first; a computation with nothing outstanding has no coverage and is left out."""
    found = reserve.history(conn, limit=min(points_max, reserve.history_page_max))
    return [
        Point(c.computed_at_us, c.coverage_bps)
        for c in reversed(found)
        if c.coverage_bps is not None
    ]


def fund_series(conn: Connection) -> list[Point]:
    """The guarantee fund's balance (sen) after each of its newest movements, oldest first."""
    moves = list(reversed(fund.history(conn, min(points_max, fund.history_page_max))))
    balance = fund_balance_before(conn, moves)
    points = []
    for move in moves:
        balance += int(move["amount_units"])
        points.append(Point(_us(str(move["at"])), balance))
    return points


def fund_balance_before(conn: Connection, moves: list[dict[str, object]]) -> int:
    """The fund's balance before the oldest of ``moves``: today's less what they changed."""
    return fund_balance(conn) - sum(int(str(m["amount_units"])) for m in moves)


def days_between(first_us: int, last_us: int) -> int:
    """Whole days from one reading to another (what a chart's span says)."""
    return (last_us - first_us) // (SECONDS_PER_DAY * US_PER_S)


def _us(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * US_PER_S)
