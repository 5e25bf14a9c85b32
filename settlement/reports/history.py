"""A merchant's ledger history: every transfer that debits or credits one of its accounts.

Read in ledger timestamp order, a page at a time. The cursor is opaque to clients (URL-safe
base64 of a version tag and the last ledger timestamp shown), so the service may change what it
holds without breaking a client that stores it. Each page is at most ``history_page_max``
transfers and costs at most eight index range scans (``transfers_debit_history`` and
``transfers_credit_history``, one per account and side), each stopped at the page size, then a
merge: the cost of a page does not grow with the merchant's history.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, text

from escrow.calendar import from_us
from escrow.model import TransferFlags, amount_max
from settlement.reports import ReportRefused, amount_text, amount_view, merchant_account_codes

__all__ = [
    "HistoryEntry",
    "HistoryPage",
    "decode_cursor",
    "encode_cursor",
    "history_page_default",
    "history_page_max",
    "merchant_history",
]

history_page_max = 200
"""Transfers per page at most (a till shows a day's sales; an export pages on)."""
history_page_default = 50
cursor_chars_max = 64
"""A cursor longer than this is no cursor of ours; refused before decoding."""
_CURSOR_TAG = "h1:"
_TIMESTAMP = re.compile(r"[0-9]{1,19}")

_PAGE = text(
    """
    SELECT t.id, t.ts, t.code, t.asset, t.amount, t.flags, t.pending_id, t.external_ref,
           t.user_data ->> 'checkout' AS checkout_id,
           (SELECT code FROM accounts WHERE id = t.debit_account_id) AS debit,
           (SELECT code FROM accounts WHERE id = t.credit_account_id) AS credit
    FROM accounts a
    CROSS JOIN LATERAL (
        (SELECT * FROM transfers d
         WHERE d.debit_account_id = a.id AND d.ts > :after ORDER BY d.ts LIMIT :limit)
        UNION ALL
        (SELECT * FROM transfers c
         WHERE c.credit_account_id = a.id AND c.ts > :after ORDER BY c.ts LIMIT :limit)
    ) t
    WHERE a.code = ANY(:codes)
    ORDER BY t.ts
    LIMIT :limit
    """
)
"""Two transfers of one page never share an id: a transfer moves one asset, and a merchant
has one account per asset, so no transfer is both a debit and a credit of the merchant's."""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One transfer as the merchant sees it: in or out of its account, with the other side."""

    transfer_id: uuid.UUID
    timestamp_us: int
    code: str
    asset: str
    amount_units: int
    direction: str
    """``in`` (credits the merchant) or ``out`` (debits it)."""
    counterparty: str
    """The account on the other side (``escrow:checkout:PI``, ``campaign:PZ1:IDR``, ...)."""
    effect: str
    """``posted``, ``pending`` (held, not yet the merchant's), ``pending_posted`` or
    ``pending_voided`` (a hold resolved)."""
    pending_id: uuid.UUID | None
    external_ref: str | None
    """What the transfer records outside the ledger (a payment id, a txid), where it names one."""
    checkout_id: str | None = None
    """The checkout the transfer belongs to, where the checkout recorded it (``user_data``)."""

    @property
    def amount(self) -> str:
        """The amount as decimal text at the asset's scale."""
        return amount_text(self.amount_units, self.asset)

    def view(self) -> dict[str, object]:
        """JSON-ready; ``at`` is ISO 8601 (UTC) of the ledger timestamp."""
        return {
            "transfer_id": str(self.transfer_id),
            "timestamp_us": self.timestamp_us,
            "at": from_us(self.timestamp_us).isoformat(),
            "code": self.code,
            "direction": self.direction,
            "counterparty": self.counterparty,
            "effect": self.effect,
            "pending_id": str(self.pending_id) if self.pending_id else None,
            "external_ref": self.external_ref,
            "checkout_id": self.checkout_id,
            **amount_view(self.amount_units, self.asset),
        }


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """A page of history; ``next_after`` resumes after its last entry (None: nothing more)."""

    entries: tuple[HistoryEntry, ...]
    next_after: str | None

    def view(self) -> dict[str, object]:
        """JSON-ready."""
        return {"items": [e.view() for e in self.entries], "next_after": self.next_after}


def encode_cursor(timestamp_us: int) -> str:
    """The opaque cursor that resumes after ledger timestamp ``timestamp_us``."""
    if timestamp_us < 0:
        raise ValueError("a ledger timestamp is never negative")
    raw = f"{_CURSOR_TAG}{timestamp_us}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The ledger timestamp a cursor resumes after; ``history_cursor_invalid`` if it is none of
    ours (any other text, including a cursor edited by hand or spelt another way)."""
    refused = ReportRefused("not a cursor this service issued", code="history_cursor_invalid")
    if not 0 < len(cursor) <= cursor_chars_max or not cursor.isascii():
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    digits = raw.removeprefix(_CURSOR_TAG)
    if not raw.startswith(_CURSOR_TAG) or not _TIMESTAMP.fullmatch(digits):
        raise refused
    timestamp_us = int(digits)
    if timestamp_us > amount_max or encode_cursor(timestamp_us) != cursor:
        raise refused
    return timestamp_us


def merchant_history(
    conn: Connection, merchant_id: str, *, after: str | None, limit: int
) -> HistoryPage:
    """The transfers touching ``merchant:{merchant_id}:*``, in ledger order, after ``after``.

    ``limit`` is 1..``history_page_max`` (``history_limit_invalid`` otherwise). A merchant
    with no account yet has an empty history. One row more than the page is read, so
    ``next_after`` is None exactly when nothing follows.
    """
    if not 1 <= limit <= history_page_max:
        raise ReportRefused(
            f"page size must be 1..{history_page_max}", code="history_limit_invalid"
        )
    after_ts = decode_cursor(after) if after is not None else 0
    mine = set(merchant_account_codes(merchant_id).values())
    rows = conn.execute(_PAGE, {"codes": sorted(mine), "after": after_ts, "limit": limit + 1})
    entries = tuple(_entry(row, mine) for row in rows)
    if len(entries) <= limit:
        return HistoryPage(entries, None)
    return HistoryPage(entries[:limit], encode_cursor(entries[limit - 1].timestamp_us))


def _entry(row: Row[Any], mine: set[str]) -> HistoryEntry:
    incoming = row.credit in mine
    return HistoryEntry(
        transfer_id=row.id,
        timestamp_us=int(row.ts),
        code=row.code,
        asset=row.asset,
        amount_units=int(row.amount),
        direction="in" if incoming else "out",
        counterparty=row.debit if incoming else row.credit,
        effect=_effect(TransferFlags(row.flags)),
        pending_id=row.pending_id,
        external_ref=row.external_ref,
        checkout_id=row.checkout_id,
    )


def _effect(flags: TransferFlags) -> str:
    if flags & TransferFlags.PENDING:
        return "pending"
    if flags & TransferFlags.POST_PENDING:
        return "pending_posted"
    if flags & TransferFlags.VOID_PENDING:
        return "pending_voided"
    return "posted"
