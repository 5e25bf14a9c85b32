"""A merchant's ledger history: every transfer that debits or credits one of its accounts.

Read in ledger timestamp order, a page at a time. The cursor is opaque to clients (URL-safe
base64 of a version tag and, per account, the last ledger timestamp shown), so the service may
change what it holds without breaking a client that stores it. Each page is at most
``history_page_max`` transfers and costs at most eight index range scans
(``transfers_debit_history`` and ``transfers_credit_history``, one per account and side), each
stopped at the page size, then a merge: the cost of a page does not grow with the merchant's
history.

Why a position per account, not one timestamp: the ledger takes a transfer's timestamp after it
has locked the transfer's accounts and holds the locks until commit (decision 0001), so the
timestamps of one account's transfers increase in commit order, but two accounts' do not: a
transfer to the merchant's IDR account may take its timestamp, then commit after a later one to
its PI account, which a reader has already been shown. Resuming every account after the one
timestamp last shown would skip it for good. Resuming each account after its own last shown
transfer cannot: whatever commits later on that account has a later timestamp. Such a
transfer then comes first on the next page (a page is in timestamp order; a transfer that
committed late is served on the page after the one that would have held it), and no transfer
is ever served twice or missed. Nothing waits: no lock, no horizon.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, text

from escrow.calendar import from_us
from escrow.model import TransferFlags, amount_max
from settlement.reports import (
    MERCHANT_ASSETS,
    ReportRefused,
    amount_text,
    amount_view,
    merchant_account_codes,
)

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
cursor_chars_max = 160
"""A cursor longer than this is no cursor of ours; refused before decoding (a position for each
of the merchant's four accounts takes about 140)."""
_CURSOR_TAG = "h2:"
_UNIFORM_TAG = "h1:"
"""The first cursors held one timestamp for every account; they are still read as such."""
_TIMESTAMP = re.compile(r"0|[1-9][0-9]{0,18}")

_PAGE = text(
    """
    SELECT t.id, t.ts, t.code, t.asset, t.amount, t.flags, t.pending_id, t.external_ref,
           t.user_data ->> 'checkout' AS checkout_id,
           (SELECT code FROM accounts WHERE id = t.debit_account_id) AS debit,
           (SELECT code FROM accounts WHERE id = t.credit_account_id) AS credit
    FROM unnest(CAST(:codes AS text[]), CAST(:afters AS bigint[])) AS p(code, after)
    JOIN accounts a ON a.code = p.code
    CROSS JOIN LATERAL (
        (SELECT * FROM transfers d
         WHERE d.debit_account_id = a.id AND d.ts > p.after ORDER BY d.ts LIMIT :limit)
        UNION ALL
        (SELECT * FROM transfers c
         WHERE c.credit_account_id = a.id AND c.ts > p.after ORDER BY c.ts LIMIT :limit)
    ) t
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


Positions = Mapping[str, int]
"""Asset -> the ledger timestamp of the last transfer shown of the merchant's account in it
(an asset left out: nothing shown yet)."""


def encode_cursor(positions: Positions) -> str:
    """The opaque cursor that resumes each of the merchant's accounts after its position."""
    unknown = set(positions) - set(MERCHANT_ASSETS)
    if unknown or any(timestamp_us < 0 for timestamp_us in positions.values()):
        raise ValueError(f"positions are of {MERCHANT_ASSETS}, never negative: {positions}")
    held = ";".join(
        f"{code}={positions[code]}" for code in MERCHANT_ASSETS if positions.get(code, 0) > 0
    )
    raw = f"{_CURSOR_TAG}{held}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> dict[str, int]:
    """The positions a cursor resumes after; ``history_cursor_invalid`` if it is none of ours
    (any other text, including a cursor edited by hand or spelt another way)."""
    refused = ReportRefused("not a cursor this service issued", code="history_cursor_invalid")
    if not 0 < len(cursor) <= cursor_chars_max or not cursor.isascii():
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    positions = _positions(raw)
    if positions is None:
        raise refused
    canonical = base64.urlsafe_b64encode(raw.encode("ascii")).decode("ascii").rstrip("=")
    if cursor != canonical or any(ts > amount_max for ts in positions.values()):
        raise refused
    if raw.startswith(_CURSOR_TAG) and encode_cursor(positions) != cursor:
        raise refused
    return positions


def _positions(raw: str) -> dict[str, int] | None:
    """The positions ``raw`` spells, or None if it spells none."""
    if raw.startswith(_UNIFORM_TAG):
        digits = raw.removeprefix(_UNIFORM_TAG)
        if not _TIMESTAMP.fullmatch(digits):
            return None
        return dict.fromkeys(MERCHANT_ASSETS, int(digits))
    if not raw.startswith(_CURSOR_TAG):
        return None
    held = raw.removeprefix(_CURSOR_TAG)
    positions: dict[str, int] = {}
    for part in held.split(";") if held else ():
        code, _, digits = part.partition("=")
        if code not in MERCHANT_ASSETS or code in positions or not _TIMESTAMP.fullmatch(digits):
            return None
        positions[code] = int(digits)
    return positions


def merchant_history(
    conn: Connection, merchant_id: str, *, after: str | None, limit: int
) -> HistoryPage:
    """The transfers touching ``merchant:{merchant_id}:*``, in ledger order, after ``after``.

    ``limit`` is 1..``history_page_max`` (``history_limit_invalid`` otherwise). A merchant
    with no account yet has an empty history. One row more than the page is read, so
    ``next_after`` is None exactly when nothing follows (nothing committed yet).
    """
    if not 1 <= limit <= history_page_max:
        raise ReportRefused(
            f"page size must be 1..{history_page_max}", code="history_limit_invalid"
        )
    positions = decode_cursor(after) if after is not None else {}
    accounts = merchant_account_codes(merchant_id)
    mine = set(accounts.values())
    rows = conn.execute(
        _PAGE,
        {
            "codes": [accounts[code] for code in MERCHANT_ASSETS],
            "afters": [positions.get(code, 0) for code in MERCHANT_ASSETS],
            "limit": limit + 1,
        },
    )
    entries = tuple(_entry(row, mine) for row in rows)
    if len(entries) <= limit:
        return HistoryPage(entries, None)
    shown = dict(positions)
    for entry in entries[:limit]:  # in timestamp order: each account's last one stays
        shown[entry.asset] = entry.timestamp_us
    return HistoryPage(entries[:limit], encode_cursor(shown))


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
