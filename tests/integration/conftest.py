"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection

from escrow.clock import FixedClock
from escrow.periods import period, period_of

day_s = 24 * 3600


@pytest.fixture
def clock(module_conn: Connection) -> FixedClock:
    """Three days into a month after every timestamp allocated so far on the module's database
    (the timestamp sequence is never rolled back, so each test starts in a fresh month)."""
    last = module_conn.exec_driver_sql("SELECT last_value FROM ledger_ts_seq").scalar_one()
    start = period(period_of(int(last) + 40 * day_s * 1_000_000)).starts_at_us
    return FixedClock(start + 3 * day_s * 1_000_000)
