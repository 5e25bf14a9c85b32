"""The guarantee fund's money: its balance, its caps and what it may pay, contributions in, and
the record of every payment out (decision 0028).

The fund is ``fund:guarantee:IDR`` (never below zero, so the ledger itself refuses a payment
past the balance). A contribution is a bank line into ``fund:bank:IDR``, booked once by its
reference. Every payment is a row of ``fund_payments`` naming its checkout leg or its claim;
the cap per merchant per WIB month is summed from those rows. Payers take the fund's
transaction-level lock first, so two payments never both spend the same room under a cap.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, text

from escrow.calendar import from_us, month_of
from escrow.model import ResultCode, TransferRequest, amount_max, transfer_id
from settlement import chart, parameters
from settlement.chart import TransferCode
from settlement.fund.errors import ContributionConflict, ContributionInvalid, FundInsufficient
from settlement.text import printable
from settlement.unit_of_work import UnitOfWork

CONTRIBUTION_NAMESPACE = "fund.contribution"
FUND_LOCK = "guarantee_fund"
REFERENCE_PATTERN = r"^[A-Za-z0-9_./:-]{1,64}$"
contributor_chars_max = 140
memo_chars_max = 140
history_page_max = 100
_REFERENCE = re.compile(REFERENCE_PATTERN)
_CONTRIBUTION_SQL = (
    "SELECT reference, source, contributor, amount, memo, transfer_id, recorded_at, recorded_by"
    " FROM fund_contributions WHERE reference = :reference"
)
_CONTRIBUTION = text(_CONTRIBUTION_SQL)
_CONTRIBUTION_LOCKED = text(_CONTRIBUTION_SQL + " FOR UPDATE")


class ContributionSource(StrEnum):
    """Where a contribution comes from."""

    CSR = "csr"
    PILOT_BUDGET = "pilot_budget"
    APBD = "apbd"


class PaymentKind(StrEnum):
    """What a payment of the fund answers: an FX shortfall at release, or an approved claim."""

    FX_SHORTFALL = "fx_shortfall"
    CLAIM = "claim"


def lock(uow: UnitOfWork) -> None:
    """The fund's transaction-level lock: taken by every payer before it reads the room."""
    uow.conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": FUND_LOCK}
    )


def balance(uow: UnitOfWork) -> int:
    """Sen the fund can still pay (posted credits less posted and pending debits)."""
    found = chart.open_account(uow.ledger, chart.fund_guarantee())
    return max(found.credits_posted - found.debits_posted - found.debits_pending, 0)


def paid_this_month(conn: Connection, merchant_id: str, now_us: int) -> int:
    """Sen the fund paid ``merchant_id`` in the WIB month of ``now_us``."""
    return int(
        conn.execute(
            text(
                "SELECT coalesce(sum(amount), 0) FROM fund_payments"
                " WHERE merchant_id = :merchant AND month = :month"
            ),
            {"merchant": merchant_id, "month": month_of(now_us)},
        ).scalar_one()
    )


@dataclass(frozen=True, slots=True)
class Room:
    """What the fund may pay a merchant now: the per-claim cap, what is left of the merchant's
    WIB month and the fund's balance; ``payable`` is the least of them."""

    claim_cap: int
    month_left: int
    balance: int

    def payable(self, wanted: int) -> int:
        """The part of ``wanted`` sen the fund pays: never past a cap or the balance."""
        return max(min(wanted, self.claim_cap, self.month_left, self.balance), 0)


def room(uow: UnitOfWork, merchant_id: str) -> Room:
    """The fund's room for ``merchant_id`` now; takes the fund's lock first."""
    lock(uow)
    month_cap = parameters.fund_merchant_month_cap_units(uow.conn)
    paid = paid_this_month(uow.conn, merchant_id, uow.clock.now_us())
    return Room(parameters.fund_claim_cap_units(uow.conn), max(month_cap - paid, 0), balance(uow))


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment of the fund, traceable to its checkout leg or its claim."""

    transfer_id: uuid.UUID
    kind: PaymentKind
    merchant_id: str
    amount: int
    checkout_id: str | None = None
    leg_reference: str | None = None
    claim_id: str | None = None


def record_payment(uow: UnitOfWork, payment: Payment) -> None:
    """Store ``payment`` (its transfer already posted in this unit of work)."""
    now_us = uow.clock.now_us()
    uow.conn.execute(
        text(
            "INSERT INTO fund_payments (transfer_id, kind, merchant_id, checkout_id,"
            " leg_reference, claim_id, amount, month, paid_at) VALUES (:id, :kind, :merchant,"
            " :checkout, :leg, :claim, :amount, :month, :at)"
        ),
        {
            "id": payment.transfer_id,
            "kind": str(payment.kind),
            "merchant": payment.merchant_id,
            "checkout": payment.checkout_id,
            "leg": payment.leg_reference,
            "claim": payment.claim_id,
            "amount": payment.amount,
            "month": month_of(now_us),
            "at": from_us(now_us),
        },
    )


@dataclass(frozen=True, slots=True)
class Contribution:
    """``amount`` sen given to the fund by ``contributor`` from ``source``, under ``reference``
    (the bank line or the budget document: booked once)."""

    reference: str
    source: ContributionSource
    contributor: str
    amount: int
    memo: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.reference, str) or not _REFERENCE.match(self.reference):
            raise ContributionInvalid(f"a reference matches {REFERENCE_PATTERN}")
        if not printable(self.contributor, contributor_chars_max):
            raise ContributionInvalid(
                f"a contributor is 1..{contributor_chars_max} printable characters"
            )
        amount = self.amount
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= amount_max:
            raise ContributionInvalid(f"an amount is a positive int of sen, not {amount!r}")
        if self.memo is not None and not printable(self.memo, memo_chars_max):
            raise ContributionInvalid(f"a memo is 1..{memo_chars_max} printable characters")


def contribution_transfer_id(reference: str) -> uuid.UUID:
    """The ledger transfer of the contribution under ``reference``."""
    return transfer_id(CONTRIBUTION_NAMESPACE, reference)


def contribute(uow: UnitOfWork, wanted: Contribution, actor: str) -> dict[str, Any]:
    """Book ``wanted`` into the fund once; the same contribution again replays, another one
    under the same reference is refused (``fund_contribution_conflict``)."""
    row = _contribution_row(uow.conn, wanted.reference, lock=True)
    if row is not None:
        same = (row["source"], row["contributor"], row["amount"], row["memo"]) == (
            str(wanted.source), wanted.contributor, wanted.amount, wanted.memo
        )  # fmt: skip
        if not same:
            raise ContributionConflict(f"{wanted.reference} is booked as another contribution")
        return _contribution_view(row) | {"created": False}
    for spec in (chart.fund_bank(), chart.fund_guarantee()):
        chart.ensure_open(uow.ledger, spec)
    tid = contribution_transfer_id(wanted.reference)
    result = uow.ledger.post(
        TransferRequest(
            tid,
            chart.fund_bank().code,
            chart.fund_guarantee().code,
            wanted.amount,
            "IDR",
            TransferCode.FUND_CONTRIBUTION,
            external_ref=wanted.reference,
            user_data={"source": str(wanted.source), "contributor": wanted.contributor},
        )
    )
    if result.code not in (ResultCode.OK, ResultCode.EXISTS):
        raise ContributionConflict(f"the ledger refused the contribution: {result.code}")
    uow.conn.execute(
        text(
            "INSERT INTO fund_contributions (reference, source, contributor, amount, memo,"
            " transfer_id, recorded_at, recorded_by) VALUES (:reference, :source, :contributor,"
            " :amount, :memo, :tid, :at, :by)"
        ),
        {
            "reference": wanted.reference,
            "source": str(wanted.source),
            "contributor": wanted.contributor,
            "amount": wanted.amount,
            "memo": wanted.memo,
            "tid": tid,
            "at": from_us(uow.clock.now_us()),
            "by": actor,
        },
    )
    stored = _contribution_row(uow.conn, wanted.reference, lock=False)
    assert stored is not None
    return _contribution_view(stored) | {"created": True}


def _contribution_row(conn: Connection, reference: str, *, lock: bool) -> dict[str, Any] | None:
    query = _CONTRIBUTION_LOCKED if lock else _CONTRIBUTION
    row = conn.execute(query, {"reference": reference}).one_or_none()
    return None if row is None else dict(row._mapping)


def _contribution_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "reference": row["reference"],
        "source": row["source"],
        "contributor": row["contributor"],
        "amount_units": row["amount"],
        "memo": row["memo"],
        "transfer_id": str(row["transfer_id"]),
        "recorded_at": row["recorded_at"].isoformat(),
    }


def require_balance(uow: UnitOfWork, amount: int) -> None:
    """Refuse (``fund_insufficient_balance``) unless the fund holds ``amount`` sen."""
    held = balance(uow)
    if amount > held:
        raise FundInsufficient(f"the fund holds {held} sen, not {amount}")


def history(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """The fund's movements, newest first: contributions in and payments out."""
    rows = conn.execute(
        text(
            "SELECT * FROM ("
            " SELECT 'contribution' AS kind, recorded_at AS at, amount, reference, source,"
            " contributor, NULL AS merchant_id, NULL AS checkout_id, NULL AS leg_reference,"
            " NULL AS claim_id, transfer_id FROM fund_contributions"
            " UNION ALL"
            " SELECT kind, paid_at, -amount, NULL, NULL, NULL, merchant_id, checkout_id,"
            " leg_reference, claim_id, transfer_id FROM fund_payments"
            ") moves ORDER BY at DESC, transfer_id LIMIT :limit"
        ),
        {"limit": min(limit, history_page_max)},
    ).all()
    return [
        {
            "kind": row.kind,
            "at": row.at.isoformat(),
            "amount_units": row.amount,
            "reference": row.reference,
            "source": row.source,
            "contributor": row.contributor,
            "merchant_id": row.merchant_id,
            "checkout_id": row.checkout_id,
            "leg_reference": row.leg_reference,
            "claim_id": row.claim_id,
            "transfer_id": str(row.transfer_id),
        }
        for row in rows
    ]
