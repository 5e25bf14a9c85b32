"""Claims on the guarantee fund, and the treasury's decision on each (decision 0028).

A claim asks the fund for ``amount`` sen for a merchant, with its evidence: an FX shortfall of a
release beyond the fund's caps (filed by the release itself), a failed conversion or a failed
payout (filed by the treasury). The treasury approves (the fund pays the merchant's Rupiah
account, within the per-claim cap, the merchant's WIB month and the balance, or nothing is
posted) or rejects (the reason is recorded). A claim's id is derived from its request key, so
the same request files the same claim once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, text

from escrow.calendar import from_us, iso_or_none
from escrow.model import TransferRequest, amount_max, transfer_id
from settlement import chart
from settlement.chart import TransferCode
from settlement.fund import fund
from settlement.fund.errors import (
    ClaimConflict,
    ClaimDecided,
    ClaimInvalid,
    ClaimOverCap,
    ClaimUnknown,
    FundInsufficient,
)
from settlement.fund.fund import Payment, PaymentKind
from settlement.merchants import service as merchants
from settlement.text import printable
from settlement.unit_of_work import UnitOfWork

CLAIM_PAID_NAMESPACE = "fund.claim_paid"
evidence_chars_max = 2000
reason_chars_max = 500
request_key_chars_max = 300
claims_page_max = 100
_ID_HEX = 16
_ROW = text("SELECT * FROM fund_claims WHERE id = :id")
_ROW_LOCKED = text("SELECT * FROM fund_claims WHERE id = :id FOR UPDATE")


class ClaimKind(StrEnum):
    """What a claim is for."""

    FX_SHORTFALL = "fx_shortfall"
    FAILED_CONVERSION = "failed_conversion"
    FAILED_PAYOUT = "failed_payout"


class Outcome(StrEnum):
    """The treasury's decision."""

    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """A claim of ``amount`` sen for ``merchant_id``, once per ``request_key``."""

    request_key: str
    kind: ClaimKind
    merchant_id: str
    amount: int
    evidence: str
    checkout_id: str | None = None
    leg_reference: str | None = None

    def __post_init__(self) -> None:
        amount = self.amount
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= amount_max:
            raise ClaimInvalid(f"an amount is a positive int of sen, not {amount!r}")
        if not printable(self.evidence, evidence_chars_max):
            raise ClaimInvalid(f"evidence is 1..{evidence_chars_max} printable characters")
        if not printable(self.request_key, request_key_chars_max):
            raise ClaimInvalid(f"a request key is 1..{request_key_chars_max} characters")


def claim_id(request_key: str) -> str:
    """The claim id of ``request_key``: ``fcl_`` and 16 hex digits of its SHA-256."""
    return "fcl_" + hashlib.sha256(request_key.encode()).hexdigest()[:_ID_HEX]


def file_claim(uow: UnitOfWork, wanted: ClaimRequest, actor: str) -> dict[str, Any]:
    """File ``wanted`` (open until decided); the same request again answers the same claim."""
    if merchants.find(uow.conn, wanted.merchant_id) is None:
        raise ClaimInvalid(f"no merchant {wanted.merchant_id}")
    cap = fund.room(uow, wanted.merchant_id).claim_cap
    if wanted.kind is not ClaimKind.FX_SHORTFALL and wanted.amount > cap:
        raise ClaimOverCap(f"{wanted.amount} sen is over the per-claim cap of {cap} sen")
    found_id = claim_id(wanted.request_key)
    existing = _row(uow.conn, found_id, lock=True)
    if existing is not None:
        same = (existing["kind"], existing["merchant_id"], existing["amount"]) == (
            str(wanted.kind), wanted.merchant_id, wanted.amount
        )  # fmt: skip
        if not same or existing["request_key"] != wanted.request_key:
            raise ClaimConflict(f"{wanted.request_key} filed another claim")
        return view(existing)
    uow.conn.execute(
        text(
            "INSERT INTO fund_claims (id, request_key, kind, merchant_id, checkout_id,"
            " leg_reference, amount, evidence, created_at, created_by) VALUES (:id, :key, :kind,"
            " :merchant, :checkout, :leg, :amount, :evidence, :at, :by)"
        ),
        {
            "id": found_id,
            "key": wanted.request_key,
            "kind": str(wanted.kind),
            "merchant": wanted.merchant_id,
            "checkout": wanted.checkout_id,
            "leg": wanted.leg_reference,
            "amount": wanted.amount,
            "evidence": wanted.evidence,
            "at": from_us(uow.clock.now_us()),
            "by": actor,
        },
    )
    return find(uow.conn, found_id)


def decide(
    uow: UnitOfWork,
    found_id: str,
    outcome: Outcome,
    actor: str,
    *,
    reason: str | None = None,
    amount: int | None = None,
    beyond_caps: bool = False,
) -> dict[str, Any]:
    """Approve (pay ``amount``, by default the whole claim) or reject (``reason`` required) an
    open claim. A payment over a cap or the balance is refused and nothing is posted; over the
    caps only ``beyond_caps`` (an executed proposal that says so) pays, never over the balance."""
    if reason is not None and not printable(reason, reason_chars_max):
        raise ClaimInvalid(f"a reason is 1..{reason_chars_max} printable characters")
    row = _row(uow.conn, found_id, lock=True)
    if row is None:
        raise ClaimUnknown(f"no claim {found_id}")
    if row["status"] != "open":
        raise ClaimDecided(f"{found_id} is {row['status']}")
    now = from_us(uow.clock.now_us())
    if outcome is Outcome.REJECT:
        if reason is None:
            raise ClaimInvalid("a rejection says why")
        uow.conn.execute(
            text(
                "UPDATE fund_claims SET status = 'rejected', decided_at = :at, decided_by = :by,"
                " decision_reason = :reason WHERE id = :id"
            ),
            {"at": now, "by": actor, "reason": reason, "id": found_id},
        )
        return find(uow.conn, found_id)
    paid = row["amount"] if amount is None else amount
    if isinstance(paid, bool) or not isinstance(paid, int) or not 0 < paid <= row["amount"]:
        raise ClaimInvalid(f"an approval pays 1..{row['amount']} sen, not {paid!r}")
    _pay(uow, row, paid, beyond_caps)
    uow.conn.execute(
        text(
            "UPDATE fund_claims SET status = 'approved', decided_at = :at, decided_by = :by,"
            " decision_reason = :reason, paid_units = :paid WHERE id = :id"
        ),
        {"at": now, "by": actor, "reason": reason, "paid": paid, "id": found_id},
    )
    return find(uow.conn, found_id)


def _pay(uow: UnitOfWork, row: dict[str, Any], paid: int, beyond_caps: bool) -> None:
    merchant_id = row["merchant_id"]
    room = fund.room(uow, merchant_id)
    if not beyond_caps and paid > room.claim_cap:
        raise ClaimOverCap(f"{paid} sen is over the per-claim cap of {room.claim_cap} sen")
    if not beyond_caps and paid > room.month_left:
        raise ClaimOverCap(
            f"{merchant_id} may be paid {room.month_left} sen more this month",
            code="fund_merchant_month_cap",
        )
    if paid > room.balance:
        raise FundInsufficient(f"the fund holds {room.balance} sen, not {paid}")
    destination = chart.merchant_balance(merchant_id, "IDR")
    chart.ensure_open(uow.ledger, destination)
    tid = transfer_id(CLAIM_PAID_NAMESPACE, row["id"])
    result = uow.ledger.post(
        TransferRequest(
            tid,
            chart.fund_guarantee().code,
            destination.code,
            paid,
            "IDR",
            TransferCode.FUND_CLAIM_PAID,
            external_ref=row["id"],
            user_data={"claim": row["id"], "checkout": row["checkout_id"]},
        )
    )
    if not result.ok:
        raise FundInsufficient(f"the ledger refused the claim's payment: {result.code}")
    fund.record_payment(
        uow,
        Payment(tid, PaymentKind.CLAIM, merchant_id, paid, row["checkout_id"], None, row["id"]),
    )


def find(conn: Connection, found_id: str) -> dict[str, Any]:
    """The claim ``found_id`` as answered (``fund_claim_unknown`` if none)."""
    row = _row(conn, found_id, lock=False)
    if row is None:
        raise ClaimUnknown(f"no claim {found_id}")
    return view(row)


def open_claims(conn: Connection, limit: int = claims_page_max) -> list[dict[str, Any]]:
    """The open claims, oldest first."""
    rows = conn.execute(
        text(
            "SELECT * FROM fund_claims WHERE status = 'open' ORDER BY created_at, id LIMIT :limit"
        ),
        {"limit": min(limit, claims_page_max)},
    ).all()
    return [view(dict(row._mapping)) for row in rows]


def _row(conn: Connection, found_id: str, *, lock: bool) -> dict[str, Any] | None:
    query = _ROW_LOCKED if lock else _ROW
    row = conn.execute(query, {"id": found_id}).one_or_none()
    return None if row is None else dict(row._mapping)


def view(row: dict[str, Any]) -> dict[str, Any]:
    """A claim row as answered."""

    return {
        "id": row["id"],
        "kind": row["kind"],
        "merchant_id": row["merchant_id"],
        "checkout_id": row["checkout_id"],
        "leg_reference": row["leg_reference"],
        "amount_units": row["amount"],
        "evidence": row["evidence"],
        "status": row["status"],
        "created_at": iso_or_none(row["created_at"]),
        "created_by": row["created_by"],
        "decided_at": iso_or_none(row["decided_at"]),
        "decided_by": row["decided_by"],
        "decision_reason": row["decision_reason"],
        "paid_units": row["paid_units"],
    }
