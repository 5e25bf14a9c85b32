"""Reconciliation exceptions: each one names what happened and what an operator should do."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, text

from settlement.unit_of_work import UnitOfWork

EXCEPTIONS_PAGE_MAX = 1000

ACTIONS = {
    "unmatched_report": "Find the checkout or merchant for this RRN; create the expectation, "
    "or ask the acquirer to reverse it.",
    "unmatched_event": "No open expectation for this gateway payment: check the bill number "
    "and NMID, then match it by hand.",
    "unmatched_expectation": "Expected payment never arrived: confirm with the payer, then "
    "cancel or extend the checkout leg.",
    "unreported_payment": "Paid per gateway but absent from the acquirer report: chase the "
    "acquirer before the settlement deadline.",
    "duplicate": "Same RRN reported twice with different content: ask the acquirer which "
    "line is right.",
    "amount_mismatch": "Paid amount differs from the expected amount: refund the difference "
    "or collect the rest.",
    "fee_mismatch": "Acquirer's MDR differs from Bank Indonesia's schedule: dispute the fee "
    "with the acquirer.",
    "late": "Paid after the expectation expired: confirm the goods were handed over, or refund.",
    "refund": "Refund reported: reverse the merchant credit through a treasury proposal.",
}


@dataclass(frozen=True, slots=True)
class ExceptionLine:
    """One actionable line of the exceptions report."""

    kind: str
    source: str
    source_id: str
    business_date: date
    detail: str
    action: str
    expectation_id: uuid.UUID | None = None
    rrn: str | None = None
    reference: str | None = None
    nmid: str | None = None
    expected_sen: int | None = None
    actual_sen: int | None = None


def record(conn: Connection, line: ExceptionLine) -> None:
    """Store the exception once, in the caller's transaction; re-running reconciliation does not
    repeat it (``business_date`` is the WIB day of ``escrow.calendar.business_day``)."""
    conn.execute(
        text(
            "INSERT INTO qris_exceptions (business_date, kind, source, source_id, expectation_id,"
            " rrn, reference, nmid, expected_sen, actual_sen, detail, action) VALUES "
            "(:business_date, :kind, :source, :source_id, :expectation_id, :rrn, :reference,"
            " :nmid, :expected_sen, :actual_sen, :detail, :action)"
            " ON CONFLICT (kind, source, source_id) DO NOTHING"
        ),
        {name: getattr(line, name) for name in ExceptionLine.__slots__},
    )


def list_exceptions(
    uow: UnitOfWork, on: date, *, limit: int = EXCEPTIONS_PAGE_MAX, after_id: int = 0
) -> list[dict[str, Any]]:
    """The read model: one business day's exceptions, oldest first, a page at a time."""
    if not 0 < limit <= EXCEPTIONS_PAGE_MAX:
        raise ValueError(f"limit must be 1..{EXCEPTIONS_PAGE_MAX}")
    rows = uow.conn.execute(
        text(
            "SELECT id, business_date, kind, source, source_id, expectation_id, rrn, reference,"
            " nmid, expected_sen, actual_sen, detail, action, created_at, resolved_at"
            " FROM qris_exceptions WHERE business_date = :on AND id > :after"
            " ORDER BY id LIMIT :limit"
        ),
        {"on": on, "after": after_id, "limit": limit},
    ).mappings()
    return [_jsonable(dict(row)) for row in rows]


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            out[key] = value.astimezone(UTC).isoformat()
        elif isinstance(value, date | uuid.UUID):
            out[key] = str(value)
        else:
            out[key] = value
    return out
