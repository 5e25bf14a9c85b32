"""Payment expectations: the service accepts only Pi it was told to expect.

A process that needs Pi (checkout, conversion, lock; operators and tests via `msc pi expect`)
creates an expectation naming the amount, purpose, optional payer and the liability account to
credit. The Pioneer's app passes `metadata_for(expectation)` to `Pi.createPayment`; approval finds
the expectation again through that metadata.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, text

from chain.pi.amounts import to_str
from escrow.calendar import from_us, to_us
from escrow.clock import FixedClock
from settlement.expectations import (
    EXPECTATION_CONFLICT,
    ExpectationRequest,
    ExpectationStatus,
)
from settlement.expectations import Expectation as SharedExpectation
from settlement.pi.accounts import ensure_liability
from settlement.pi.errors import PiRefusal
from settlement.unit_of_work import UnitOfWork, bind

METADATA_KEY = "msc"
METADATA_VERSION = 1
expires_in_s_max = 7 * 24 * 3600
expires_in_s_default = 600
_PURPOSE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_REFERENCE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@dataclass(frozen=True)
class Expectation:
    """One expected Pi payment."""

    id: uuid.UUID
    reference: str
    purpose: str
    amount_units: int
    payer_uid: str | None
    credit_account: str
    status: str
    payment_id: str | None
    expires_at: datetime


def metadata_for(expectation: Expectation) -> dict[str, object]:
    """The `metadata` object the Pioneer's app must pass to `Pi.createPayment`."""
    return {
        METADATA_KEY: {
            "v": METADATA_VERSION,
            "reference": expectation.reference,
            "purpose": expectation.purpose,
        }
    }


def reference_from_metadata(metadata: Mapping[str, object]) -> str | None:
    """The expectation reference a payment's metadata names, if well formed."""
    ours = metadata.get(METADATA_KEY)
    if not isinstance(ours, Mapping) or ours.get("v") != METADATA_VERSION:
        return None
    reference = ours.get("reference")
    return reference if isinstance(reference, str) and _REFERENCE.fullmatch(reference) else None


def purpose_from_metadata(metadata: Mapping[str, object]) -> str | None:
    """The purpose a payment's metadata claims."""
    ours = metadata.get(METADATA_KEY)
    purpose = ours.get("purpose") if isinstance(ours, Mapping) else None
    return purpose if isinstance(purpose, str) else None


_COLUMNS = (
    "id, reference, purpose, amount_units, payer_uid, credit_account, status, payment_id, "
    "expires_at"
)


def create_expectation(
    uow: UnitOfWork,
    *,
    purpose: str,
    amount_units: int,
    credit_account: str,
    payer_uid: str | None = None,
    expires_in_s: int = expires_in_s_default,
    reference: str | None = None,
) -> Expectation:
    """Record an expectation (idempotent by reference) and open its liability account.

    It opens now on the unit of work's clock (µs) and expires ``expires_in_s`` later."""
    if not _PURPOSE.fullmatch(purpose):
        raise PiRefusal("pi_bad_input", "purpose must be 1-32 chars of [a-z0-9_]")
    if amount_units <= 0:
        raise PiRefusal("pi_bad_amount", "amount must be positive")
    if not 0 < expires_in_s <= expires_in_s_max:
        raise PiRefusal("pi_bad_input", f"expires_in must be 1..{expires_in_s_max} s")
    ref = reference or f"exp_{secrets.token_hex(10)}"
    if not _REFERENCE.fullmatch(ref):
        raise PiRefusal("pi_bad_input", "reference has an unexpected shape")
    ensure_liability(uow.ledger, credit_account)
    created = from_us(uow.clock.now_us())
    conn = uow.conn
    conn.execute(
        text(
            "INSERT INTO pi_expectations (id, reference, purpose, amount_units, payer_uid,"
            " credit_account, created_at, expires_at) VALUES (:id, :ref, :purpose, :amount,"
            " :uid, :account, :created, :expires) ON CONFLICT (reference) DO NOTHING"
        ),
        {
            "id": uuid.uuid4(),
            "ref": ref,
            "purpose": purpose,
            "amount": amount_units,
            "uid": payer_uid,
            "account": credit_account,
            "created": created,
            "expires": created + timedelta(seconds=expires_in_s),
        },
    )
    found = find_by_reference(conn, ref, lock=False)
    if found is None or (
        found.purpose,
        found.amount_units,
        found.credit_account,
        found.payer_uid,
    ) != (purpose, amount_units, credit_account, payer_uid):
        raise PiRefusal(EXPECTATION_CONFLICT, f"reference {ref} already names another expectation")
    return found


def find_by_reference(conn: Connection, reference: str, *, lock: bool) -> Expectation | None:
    """The expectation with this reference; `lock` takes its row for the rest of the transaction."""
    suffix = " FOR UPDATE" if lock else ""
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM pi_expectations WHERE reference = :ref{suffix}"),  # noqa: S608 - constant columns
        {"ref": reference},
    ).first()
    return Expectation(**row._mapping) if row else None


def find_by_references(conn: Connection, references: Sequence[str]) -> dict[str, Expectation]:
    """The expectations with these references, by reference (one statement; none asked, none
    read)."""
    if not references:
        return {}
    rows = conn.execute(
        text(f"SELECT {_COLUMNS} FROM pi_expectations WHERE reference = ANY(:refs)"),  # noqa: S608 - constant columns
        {"refs": list(references)},
    )
    return {row.reference: Expectation(**row._mapping) for row in rows}


def describe(expectation: Expectation) -> dict[str, object]:
    """JSON for operators and the Pioneer's app: amount as a decimal string, and the metadata."""
    return {
        "reference": expectation.reference,
        "purpose": expectation.purpose,
        "amount": to_str(expectation.amount_units),
        "amount_units": expectation.amount_units,
        "payer_uid": expectation.payer_uid,
        "credit_account": expectation.credit_account,
        "status": expectation.status,
        "expires_at": expectation.expires_at.isoformat(),
        "metadata": metadata_for(expectation),
    }


_STATUS = {
    "open": ExpectationStatus.PENDING,
    "approved": ExpectationStatus.PENDING,
    "fulfilled": ExpectationStatus.PAID,
    "cancelled": ExpectationStatus.CANCELLED,
}


class PiExpectations:
    """The Pi rail's ``settlement.expectations.ExpectationRail`` over ``pi_expectations``."""

    rail = "pi"
    asset = "PI"

    def create(self, conn: Connection, request: ExpectationRequest) -> SharedExpectation:
        """``create_expectation`` with the shared request; see ``settlement.expectations``."""
        window_s = (request.expires_at_us - request.opens_at_us) // 1_000_000
        created = create_expectation(
            bind(conn, FixedClock(request.opens_at_us)),
            purpose=request.purpose,
            amount_units=request.amount_units,
            credit_account=request.credit_account,
            payer_uid=request.payer,
            expires_in_s=window_s,
            reference=request.reference,
        )
        return self._shared(conn, created)

    def find(self, conn: Connection, reference: str) -> SharedExpectation | None:
        """The expectation with this reference."""
        found = find_by_reference(conn, reference, lock=False)
        return self._shared(conn, found) if found else None

    def mark_paid(
        self, conn: Connection, reference: str, *, paid_at_us: int, by: str
    ) -> SharedExpectation:
        """Open/approved -> fulfilled, paid by the Pi payment ``by``; once."""
        conn.execute(
            text(
                "UPDATE pi_expectations SET status = 'fulfilled',"
                " payment_id = COALESCE(payment_id, :by)"
                " WHERE reference = :ref AND status IN ('open', 'approved')"
            ),
            {"ref": reference, "by": by},
        )
        found = self.find(conn, reference)
        if found is None:
            raise PiRefusal("pi_expectation_not_found", f"no expectation {reference}")
        return found

    def cancel(self, conn: Connection, reference: str) -> bool:
        """An open expectation is no longer wanted (its checkout expired or was refunded); one
        already approved stays, and its payment, if it completes, is refunded by its process."""
        cancelled = conn.execute(
            text(
                "UPDATE pi_expectations SET status = 'cancelled'"
                " WHERE reference = :ref AND status = 'open' RETURNING id"
            ),
            {"ref": reference},
        ).first()
        return cancelled is not None

    def _shared(self, conn: Connection, exp: Expectation) -> SharedExpectation:
        created = conn.execute(
            text("SELECT created_at FROM pi_expectations WHERE id = :id"), {"id": exp.id}
        ).scalar_one()
        return SharedExpectation(
            reference=exp.reference,
            rail=self.rail,
            asset=self.asset,
            amount_units=exp.amount_units,
            credit_account=exp.credit_account,
            purpose=exp.purpose,
            opens_at_us=to_us(created),
            expires_at_us=to_us(exp.expires_at),
            status=_STATUS[exp.status],
            payer=exp.payer_uid,
        )


PI_EXPECTATIONS = PiExpectations()
