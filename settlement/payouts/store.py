"""Payout batches as stored, and their answers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Connection, text

from escrow.calendar import from_us, iso_of_us, to_us
from escrow.money import IDR, format_amount
from settlement.payouts.errors import BATCH_NOT_FOUND, PayoutRefused

batches_page_max = 100
_COLUMNS = (
    "id, business_day, cutoff_at, created_at, created_by, line_count, total_units, file_sha256,"
    " status, confirmed_at, confirmed_by, confirmation_sha256, accepted_count, accepted_units,"
    " rejected_count, rejected_units"
)


@dataclass(frozen=True, slots=True)
class Batch:
    """A written batch: its control figures, and the bank's answer once confirmed."""

    id: str
    business_day: date
    cutoff_at_us: int
    created_at_us: int
    created_by: str
    line_count: int
    total_units: int
    file_sha256: str
    status: str
    confirmed_at_us: int | None
    confirmed_by: str | None
    confirmation_sha256: str | None
    accepted_count: int | None
    accepted_units: int | None
    rejected_count: int | None
    rejected_units: int | None

    def view(self) -> dict[str, Any]:
        """JSON-ready data (the API's answer, the CLI's output)."""
        confirmed = self.confirmed_at_us
        return {
            "id": self.id,
            "business_day": self.business_day.isoformat(),
            "cutoff_at": from_us(self.cutoff_at_us).isoformat(),
            "created_at": from_us(self.created_at_us).isoformat(),
            "created_by": self.created_by,
            "line_count": self.line_count,
            "total": format_amount(self.total_units, IDR.scale),
            "total_units": self.total_units,
            "file_sha256": self.file_sha256,
            "status": self.status,
            "confirmed_at": iso_of_us(confirmed),
            "confirmed_by": self.confirmed_by,
            "confirmation_sha256": self.confirmation_sha256,
            "accepted_count": self.accepted_count,
            "accepted_units": self.accepted_units,
            "rejected_count": self.rejected_count,
            "rejected_units": self.rejected_units,
        }


def _batch(row: Any) -> Batch:  # noqa: ANN401 - a SQLAlchemy row mapping
    values = dict(row)
    confirmed = values.pop("confirmed_at")
    return Batch(
        **{k: v for k, v in values.items() if k not in ("cutoff_at", "created_at")},
        cutoff_at_us=to_us(values["cutoff_at"]),
        created_at_us=to_us(values["created_at"]),
        confirmed_at_us=to_us(confirmed) if confirmed is not None else None,
    )


def find(conn: Connection, batch_id: str, *, lock: bool = False) -> Batch | None:
    """The batch, locked for this transaction when asked."""
    suffix = " FOR UPDATE" if lock else ""
    row = (
        conn.execute(
            text(f"SELECT {_COLUMNS} FROM payout_batches WHERE id = :id{suffix}"),  # noqa: S608 - constant columns
            {"id": batch_id},
        )
        .mappings()
        .one_or_none()
    )
    return _batch(row) if row is not None else None


def get(conn: Connection, batch_id: str) -> Batch:
    """The batch, or ``payout_batch_not_found``."""
    found = find(conn, batch_id)
    if found is None:
        raise PayoutRefused(f"no payout batch {batch_id}", code=BATCH_NOT_FOUND)
    return found


def page(conn: Connection, before: str, limit: int) -> list[Batch]:
    """Batches newest first, before ``before`` (empty: from the newest)."""
    rows = conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM payout_batches"  # noqa: S608 - constant columns
            " WHERE (:before = '' OR id < :before) ORDER BY id DESC LIMIT :limit"
        ),
        {"before": before, "limit": min(limit, batches_page_max)},
    ).mappings()
    return [_batch(row) for row in rows]


class StoredLine(NamedTuple):
    """A batch line as stored (a payout obligation taken into the batch)."""

    id: uuid.UUID
    line_no: int
    kind: str
    source_ref: str
    payee: str
    bank_code: str
    account_number: str
    holder_name: str
    amount_units: int
    debit_account: str
    status: str
    bank_reference: str | None
    bank_reason: str | None


_LINES = (
    f"SELECT {', '.join(StoredLine._fields)} FROM payout_obligations"  # noqa: S608 - constant columns
    " WHERE batch_id = %s AND line_no BETWEEN %s AND %s ORDER BY line_no"
)


def lines(conn: Connection, batch_id: str, first: int, last: int) -> list[StoredLine]:
    """The batch's lines ``first`` to ``last``, in line order.

    A range of line numbers, not "after N, limit M": the rows of a batch cut in this very
    transaction have no statistics yet, and the planner then sorted every line after N for
    each page (an external merge of the rest of the batch, 13 times for 100,000 lines). Read
    through the driver's cursor as tuples: a batch's file is 100,000 lines read twice (held,
    then written), and building SQLAlchemy rows or dicts for them cost a second of the cut.
    """
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        rows = cur.execute(_LINES, (batch_id, first, last)).fetchall()
    return list(map(StoredLine._make, rows))
