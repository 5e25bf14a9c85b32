"""One expectation concept for every rail: an expected payment of an amount, in an asset,
through a rail, in a window, credited to an account.

Checkout legs, conversions and lock payments are expectations. Each rail keeps its own table
(``pi_expectations``, ``qris_expectations``: their columns serve their matching) and implements
``ExpectationRail`` over it (decision 0013). Shared semantics, tested against both rails:

- ``create`` is idempotent by reference: a repeat with the same fields (amount, credit account,
  purpose, payer) returns the existing expectation unchanged; a repeat with different fields is
  refused with the stable code ``expectation_conflict``; nothing is written either way.
- ``find`` returns the expectation with this reference, or None.
- Paying an expectation is each rail's own step, not part of the interface: it must book the
  money it marks (Pi posts on completion, QRIS books receipts net of MDR), so a shared
  "mark paid" that only changed a status would let money be marked without being booked.
- Times are microseconds since the Unix epoch (the ledger's clock), amounts smallest units.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy import Connection

CHECKOUT_PURPOSE = "checkout"
"""The purpose of every checkout leg's expectation: its rail hands the leg's payments to
``settlement.checkout.receipts`` and never matches it by amount alone (static QRIS)."""
CONVERT_PURPOSE = "convert"
"""The purpose of a Pi to MSC conversion's expectation: its rail hands the payment to
``settlement.conversions.receipt`` (decision 0027)."""
LOCK_PURPOSE = "lock"
"""The purpose of a lock-and-earn position's expectation: its rail hands the payment to
``settlement.locks.opening`` (decision 0029)."""
EXPECTATION_CONFLICT = "expectation_conflict"
"""The refusal code of a reference repeated with different fields, on every rail."""


class ExpectationStatus(StrEnum):
    """Where an expectation is in its life."""

    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class ExpectationRequest:
    """What a process asks a rail to expect; ``payee`` is the merchant (QRIS NMID) if any,
    ``payer`` the one party allowed to pay (Pi uid) if any."""

    reference: str
    amount_units: int
    credit_account: str
    purpose: str
    opens_at_us: int
    expires_at_us: int
    payer: str | None = None
    payee: str | None = None


@dataclass(frozen=True, slots=True)
class Expectation:
    """An expected payment, the same shape on every rail."""

    reference: str
    rail: str
    asset: str
    amount_units: int
    credit_account: str
    purpose: str
    opens_at_us: int
    expires_at_us: int
    status: ExpectationStatus
    payer: str | None = None
    payee: str | None = None


class ExpectationRail(Protocol):
    """What every rail's expectations offer (``settlement.pi.expectations.PI_EXPECTATIONS``,
    ``settlement.qris.expectations.QRIS_EXPECTATIONS``)."""

    rail: str
    asset: str

    def create(self, conn: Connection, request: ExpectationRequest) -> Expectation:
        """Record the expectation, idempotently by reference (see the module docstring)."""
        ...

    def find(self, conn: Connection, reference: str) -> Expectation | None:
        """The expectation with this reference."""
        ...
