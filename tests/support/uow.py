"""Units of work over a test's own transaction, on a clock standing at a chosen moment."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from escrow.calendar import from_us
from escrow.clock import FixedClock
from settlement.unit_of_work import UnitOfWork, bind


def us(span: timedelta) -> int:
    """A span of time in whole microseconds (the clock's unit)."""
    return span // timedelta(microseconds=1)


def at(conn: Connection, moment: datetime) -> UnitOfWork:
    """The unit of work over ``conn`` whose clock reads ``moment`` (an aware datetime)."""
    return bind(conn, FixedClock(us(moment - from_us(0))))
