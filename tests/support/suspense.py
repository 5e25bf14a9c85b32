"""Helpers of the suspense tests (tests/integration/test_suspense.py and pi/test_pi_suspense.py)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, text

from escrow.clock import SystemClock
from escrow.ledger import Ledger
from escrow.model import AccountFlags, AccountKind
from settlement import chart
from settlement.metrics import read_snapshot, snapshot_metrics
from settlement.unit_of_work import bind


def open_refusing_credits(conn: Connection, code: str, asset: str) -> None:
    """Open a liability flagged so that any credit exceeds its debits: the ledger refuses it
    (opened outside the chart, which declares no such account; flags never change after)."""
    Ledger(conn).ensure_account(
        code, asset, AccountKind.LIABILITY, flags=AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    )


def item(conn: Connection, refused: uuid.UUID) -> Any:
    return conn.execute(
        text("SELECT * FROM suspense_items WHERE transfer_id = :t"), {"t": refused}
    ).one()


def alarm(logs: list[dict[str, Any]], rail: str) -> dict[str, Any]:
    alarms = [e for e in logs if e["event"] == "money_in_suspense" and e["rail"] == rail]
    assert len(alarms) == 1, logs
    assert alarms[0]["log_level"] == "error"
    return alarms[0]


def metric(conn: Connection, rail: str, asset: str) -> float:
    conn.execute(text("SAVEPOINT scrape"))
    families = list(snapshot_metrics(read_snapshot(bind(conn, SystemClock()))))
    conn.execute(text("ROLLBACK TO SAVEPOINT scrape"))
    family = next(f for f in families if f.name == "msc_money_in_suspense")
    return sum(s.value for s in family.samples if s.labels == {"rail": rail, "asset": asset})


def suspense_balance(ledger: Ledger, asset: str) -> int:
    chart.open_account(ledger, chart.suspense(asset))
    return ledger.balance(chart.suspense(asset).code).posted
