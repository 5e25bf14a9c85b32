"""Fixtures of the shares, points, parameters and campaigns tests."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text


def insert_merchant(conn: Connection, merchant_id: str | None = None) -> str:
    """A merchants row written directly (the merchants module is not needed here); its id."""
    merchant_id = merchant_id or f"M{uuid.uuid4().hex[:12]}"
    conn.execute(
        text(
            "INSERT INTO merchants (id, name, kelurahan, tenders, created_at, created_by)"
            " VALUES (:id, 'Warung uji', 'Kejuron', ARRAY['PI'], now(), 'test')"
        ),
        {"id": merchant_id},
    )
    return merchant_id
