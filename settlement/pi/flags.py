"""Flags for a person: payments the rail could neither finish nor safely undo on its own."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text


def flag(
    conn: Connection, payment_id: str, txid: str | None, reason: str, detail: dict[str, Any]
) -> None:
    """Ask a person to look at a payment (once per payment and reason)."""
    conn.execute(
        text(
            "INSERT INTO pi_flags (payment_id, txid, reason, detail)"
            " VALUES (:payment_id, :txid, :reason, CAST(:detail AS jsonb))"
            " ON CONFLICT (payment_id, reason) DO NOTHING"
        ),
        {"payment_id": payment_id, "txid": txid, "reason": reason, "detail": json.dumps(detail)},
    )


def open_flags(conn: Connection) -> list[dict[str, Any]]:
    """Unresolved flags, oldest first; ``id`` is what ``msc pi decide`` takes."""
    rows = conn.execute(
        text(
            "SELECT id, payment_id, txid, reason, detail, created_at FROM pi_flags"
            " WHERE resolved_at IS NULL ORDER BY id"
        )
    ).all()
    return [
        {
            "id": r.id,
            "payment_id": r.payment_id,
            "txid": r.txid,
            "reason": r.reason,
            "detail": r.detail,
            "at": r.created_at.isoformat(),
        }
        for r in rows
    ]
