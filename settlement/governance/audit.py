"""What the month's audit bundle publishes of governance: the log's entries dated in the month
and the officer set in force at its end (one officer set for the audit and for governance)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from settlement.audit import bundle as b
from settlement.audit.signing import Officers
from settlement.governance import log as store


def month_governance(conn: Connection, month: str) -> tuple[Officers, list[dict[str, Any]]] | None:
    """The officers at the end of ``month`` and its governance entries; None when no officers
    were registered by then (the bundle's officers then come from the officers file)."""
    starts, ends = b.period_range_us(month)
    held = store.officers_at(conn, ends)
    if held is None:
        return None
    return Officers(held.threshold, held.officers), store.entries_between(conn, starts, ends)
