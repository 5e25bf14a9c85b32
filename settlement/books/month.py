"""A closed month's books, read from the ledger as the month's audit bundle reads it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from escrow.refusals import Refusal
from settlement.audit import store
from settlement.books.figures import (
    LabaRugi,
    Neraca,
    TrialBalance,
    laba_rugi,
    neraca,
    trial_balance,
)
from settlement.reports.statement import parse_month


class BooksRefused(Refusal, ValueError):
    """The books of this month cannot be read (``books_month_not_closed``)."""

    code = "books_month_not_closed"


@dataclass(frozen=True, slots=True)
class MonthBooks:
    """A closed month's neraca, laba rugi and trial balance, per asset."""

    month: str
    starts_at_us: int
    ends_at_us: int
    """The month's last microsecond (WIB)."""
    transfer_count: int
    neraca: tuple[Neraca, ...]
    laba_rugi: tuple[LabaRugi, ...]
    trial_balance: tuple[TrialBalance, ...]


def month_books(conn: Connection, month: str, now_us: int) -> MonthBooks:
    """The books of ``month`` (``YYYY-MM``, WIB), which must be closed (``period.close``):
    refused ``statement_month_invalid``, ``statement_month_not_started`` or
    ``books_month_not_closed``."""
    start, following = parse_month(month, now_us)
    closed = store.closed_transfer_count(conn, month)
    if closed is None:
        raise BooksRefused(f"{month} is not closed: close it first (a period.close proposal)")
    end = following - 1
    at_end = store.balances_at(conn, end)
    before = store.balances_at(conn, start - 1)
    return MonthBooks(
        month,
        start,
        end,
        closed,
        neraca(at_end, before),
        laba_rugi(at_end, before),
        trial_balance(at_end),
    )
