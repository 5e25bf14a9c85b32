"""Expected QRIS payments: what a checkout leg (or an operator) is waiting for."""

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from escrow.calendar import from_us, to_us
from escrow.chart import AccountUndeclared
from escrow.clock import FixedClock
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement.expectations import EXPECTATION_CONFLICT, ExpectationRequest, ExpectationStatus
from settlement.expectations import Expectation as SharedExpectation
from settlement.qris.accounts import ASSET, ensure_credit_account, merchant_account
from settlement.qris.posting import receipt_transfer_id
from settlement.unit_of_work import UnitOfWork, bind

CRITERIA = frozenset({"UMI", "UKE", "UME", "UBE", "URE"})
REFERENCE_CHARS_MAX = 25  # QRIS tag 62/01 and 62/05 hold at most 25 characters
DEFAULT_PURPOSE = "payment"
_PURPOSE = re.compile(r"[a-z][a-z0-9_]{0,31}")


class ExpectationRefused(Refusal, ValueError):
    """The expectation cannot be created (bad field or reference already used)."""

    code = "qris_expectation_invalid"


@dataclass(frozen=True, slots=True)
class Expectation:
    """An expected payment in sen to a merchant (NMID), optionally keyed by a bill reference."""

    id: uuid.UUID
    nmid: str
    criteria: str
    amount_sen: int
    credit_account: str
    created_at: datetime
    expires_at: datetime
    reference: str | None = None
    purpose: str = "payment"
    status: str = "open"

    @property
    def transfer_id(self) -> uuid.UUID:
        """The receipt's ledger transfer id, fixed before any money arrives."""
        return receipt_transfer_id(self.id)


def create_expectation(
    uow: UnitOfWork,
    *,
    nmid: str,
    amount_sen: int,
    ttl_us: int,
    reference: str | None = None,
    criteria: str = "UMI",
    credit_account: str | None = None,
    purpose: str = DEFAULT_PURPOSE,
) -> Expectation:
    """Record the expectation, open from the unit of work's clock for ``ttl_us``, and open the
    merchant's liability account if needed."""
    if isinstance(amount_sen, bool) or not isinstance(amount_sen, int) or amount_sen <= 0:
        raise ExpectationRefused(f"amount must be a positive int of sen, got {amount_sen!r}")
    if criteria not in CRITERIA:
        raise ExpectationRefused(f"criteria must be one of {sorted(CRITERIA)}")
    if reference is not None and not 0 < len(reference) <= REFERENCE_CHARS_MAX:
        raise ExpectationRefused(f"reference must be 1..{REFERENCE_CHARS_MAX} characters")
    if not _PURPOSE.fullmatch(purpose):
        raise ExpectationRefused("purpose must be 1-32 chars of [a-z0-9_]")
    if not nmid or ttl_us <= 0:
        raise ExpectationRefused("NMID is required and the time to live must be positive")
    account = credit_account or merchant_account(nmid)
    try:
        ensure_credit_account(uow.ledger, account, nmid)
    except AccountUndeclared as undeclared:
        raise ExpectationRefused(str(undeclared), code=undeclared.code) from None
    opens_at_us = uow.clock.now_us()
    expectation = Expectation(uuid.uuid4(), nmid, criteria, amount_sen, account,
                              from_us(opens_at_us), from_us(opens_at_us + ttl_us), reference,
                              purpose)  # fmt: skip
    inserted = uow.conn.execute(
        sql(
            "INSERT INTO qris_expectations (id, reference, nmid, criteria, amount_sen,"
            " credit_account, created_at, expires_at, transfer_id, purpose) VALUES (:id,"
            " :reference, :nmid, :criteria, :amount_sen, :credit_account, :created_at,"
            " :expires_at, :transfer_id, :purpose) ON CONFLICT DO NOTHING RETURNING id"
        ),
        {name: getattr(expectation, name) for name in Expectation.__slots__ if name != "status"}
        | {"transfer_id": expectation.transfer_id},
    )
    if inserted.first() is None:  # the reference is taken (a concurrent twin waited for it)
        existing = find_by_reference(uow.conn, reference) if reference is not None else None
        if existing is not None and (
            existing.nmid,
            existing.criteria,
            existing.amount_sen,
            existing.credit_account,
            existing.purpose,
        ) == (nmid, criteria, amount_sen, account, purpose):
            return existing
        raise ExpectationRefused(
            f"reference {reference!r} is already expected", code=EXPECTATION_CONFLICT
        )
    return expectation


_FIELDS = (
    "id, nmid, criteria, amount_sen, credit_account, created_at, expires_at, reference, purpose,"
    " status"
)


def find_by_reference(conn: Connection, reference: str) -> Expectation | None:
    """The QRIS expectation with this bill reference."""
    row = (
        conn.execute(
            sql(f"SELECT {_FIELDS} FROM qris_expectations WHERE reference = :ref"),  # noqa: S608 - constant columns
            {"ref": reference},
        )
        .mappings()
        .first()
    )
    return Expectation(**row) if row else None


_STATUS = {
    "open": ExpectationStatus.PENDING,
    "paid": ExpectationStatus.PAID,
    "expired": ExpectationStatus.EXPIRED,
    "cancelled": ExpectationStatus.CANCELLED,
}
DEFAULT_CRITERIA = "UMI"


class QrisExpectations:
    """The QRIS rail's ``settlement.expectations.ExpectationRail`` over ``qris_expectations``.

    The merchant's NMID is the request's ``payee``; the criteria is the default ``UMI``.
    """

    rail = "qris"
    asset = ASSET

    def create(self, conn: Connection, request: ExpectationRequest) -> SharedExpectation:
        """``create_expectation`` with the shared request, opening at its ``opens_at_us`` (the
        request's time is the clock); see ``settlement.expectations``."""
        if request.payee is None:
            raise ExpectationRefused("a QRIS expectation needs the merchant's NMID as payee")
        created = create_expectation(
            bind(conn, FixedClock(request.opens_at_us)),
            nmid=request.payee,
            amount_sen=request.amount_units,
            ttl_us=request.expires_at_us - request.opens_at_us,
            reference=request.reference,
            criteria=DEFAULT_CRITERIA,
            credit_account=request.credit_account,
            purpose=request.purpose,
        )
        return self._shared(created)

    def find(self, conn: Connection, reference: str) -> SharedExpectation | None:
        """The expectation with this reference."""
        found = find_by_reference(conn, reference)
        return self._shared(found) if found else None

    def _shared(self, exp: Expectation) -> SharedExpectation:
        return SharedExpectation(
            reference=exp.reference or str(exp.id),
            rail=self.rail,
            asset=self.asset,
            amount_units=exp.amount_sen,
            credit_account=exp.credit_account,
            purpose=exp.purpose,
            opens_at_us=to_us(exp.created_at),
            expires_at_us=to_us(exp.expires_at),
            status=_STATUS[exp.status],
            payee=exp.nmid,
        )


QRIS_EXPECTATIONS = QrisExpectations()
