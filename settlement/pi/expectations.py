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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from chain.pi.amounts import to_str
from escrow.calendar import US_PER_S, from_us, to_us
from escrow.clock import FixedClock
from escrow.sql import sql
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
    created_at: datetime
    expires_at: datetime


def metadata_for(expectation: Expectation) -> dict[str, object]:
    """The `metadata` object the Pioneer's app must pass to `Pi.createPayment`."""
    return payment_metadata(expectation.reference, expectation.purpose)


def payment_metadata(reference: str, purpose: str) -> dict[str, object]:
    """The `metadata` naming the expectation ``reference`` of ``purpose``."""
    return {METADATA_KEY: {"v": METADATA_VERSION, "reference": reference, "purpose": purpose}}


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
    "created_at, expires_at"
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
    inserted = conn.execute(
        sql(
            "INSERT INTO pi_expectations (id, reference, purpose, amount_units, payer_uid,"  # noqa: S608 - constant columns
            " credit_account, created_at, expires_at) VALUES (:id, :ref, :purpose, :amount,"
            " :uid, :account, :created, :expires) ON CONFLICT (reference) DO NOTHING"
            f" RETURNING {_COLUMNS}"
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
    row = inserted.first()
    if row is not None:
        return Expectation(**row._mapping)
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
        sql(f"SELECT {_COLUMNS} FROM pi_expectations WHERE reference = :ref{suffix}"),  # noqa: S608 - constant columns
        {"ref": reference},
    ).first()
    return Expectation(**row._mapping) if row else None


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
        window_s = (request.expires_at_us - request.opens_at_us) // US_PER_S
        created = create_expectation(
            bind(conn, FixedClock(request.opens_at_us)),
            purpose=request.purpose,
            amount_units=request.amount_units,
            credit_account=request.credit_account,
            payer_uid=request.payer,
            expires_in_s=window_s,
            reference=request.reference,
        )
        return self._shared(created)

    def find(self, conn: Connection, reference: str) -> SharedExpectation | None:
        """The expectation with this reference."""
        found = find_by_reference(conn, reference, lock=False)
        return self._shared(found) if found else None

    def mark_paid(
        self, conn: Connection, reference: str, *, paid_at_us: int, by: str
    ) -> SharedExpectation:
        """Open/approved -> fulfilled, paid by the Pi payment ``by``; once."""
        fulfilled = conn.execute(
            sql(
                "UPDATE pi_expectations SET status = 'fulfilled',"  # noqa: S608 - constant columns
                " payment_id = COALESCE(payment_id, :by)"
                f" WHERE reference = :ref AND status IN ('open', 'approved') RETURNING {_COLUMNS}"
            ),
            {"ref": reference, "by": by},
        ).first()
        if fulfilled is not None:
            return self._shared(Expectation(**fulfilled._mapping))
        found = self.find(conn, reference)  # fulfilled before, or never expected
        if found is None:
            raise PiRefusal("pi_expectation_not_found", f"no expectation {reference}")
        return found

    def cancel(self, conn: Connection, reference: str) -> bool:
        """An open expectation is no longer wanted (its checkout expired or was refunded); one
        already approved stays, and its payment, if it completes, is refunded by its process."""
        cancelled = conn.execute(
            sql(
                "UPDATE pi_expectations SET status = 'cancelled'"
                " WHERE reference = :ref AND status = 'open' RETURNING id"
            ),
            {"ref": reference},
        ).first()
        return cancelled is not None

    def _shared(self, exp: Expectation) -> SharedExpectation:
        return SharedExpectation(
            reference=exp.reference,
            rail=self.rail,
            asset=self.asset,
            amount_units=exp.amount_units,
            credit_account=exp.credit_account,
            purpose=exp.purpose,
            opens_at_us=to_us(exp.created_at),
            expires_at_us=to_us(exp.expires_at),
            status=_STATUS[exp.status],
            payer=exp.payer_uid,
        )


PI_EXPECTATIONS = PiExpectations()
