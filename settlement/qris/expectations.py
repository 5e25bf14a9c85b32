"""Expected QRIS payments: what a checkout leg (or an operator) is waiting for."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from escrow.ledger import Ledger
from escrow.model import AccountKind
from escrow.refusals import Refusal
from settlement.qris.accounts import ASSET, merchant_account
from settlement.qris.posting import receipt_transfer_id

CRITERIA = frozenset({"UMI", "UKE", "UME", "UBE", "URE"})
REFERENCE_CHARS_MAX = 25  # QRIS tag 62/01 and 62/05 hold at most 25 characters


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

    @property
    def transfer_id(self) -> uuid.UUID:
        """The receipt's ledger transfer id, fixed before any money arrives."""
        return receipt_transfer_id(self.id)


def create_expectation(
    conn: Connection,
    *,
    nmid: str,
    amount_sen: int,
    now: datetime,
    ttl: timedelta,
    reference: str | None = None,
    criteria: str = "UMI",
    credit_account: str | None = None,
) -> Expectation:
    """Record the expectation and open the merchant's liability account if needed."""
    if isinstance(amount_sen, bool) or not isinstance(amount_sen, int) or amount_sen <= 0:
        raise ExpectationRefused(f"amount must be a positive int of sen, got {amount_sen!r}")
    if criteria not in CRITERIA:
        raise ExpectationRefused(f"criteria must be one of {sorted(CRITERIA)}")
    if reference is not None and not 0 < len(reference) <= REFERENCE_CHARS_MAX:
        raise ExpectationRefused(f"reference must be 1..{REFERENCE_CHARS_MAX} characters")
    if not nmid or ttl <= timedelta(0):
        raise ExpectationRefused("NMID is required and the time to live must be positive")
    account = credit_account or merchant_account(nmid)
    Ledger(conn).ensure_account(account, ASSET, AccountKind.LIABILITY, owner=nmid)
    expectation = Expectation(
        uuid.uuid4(), nmid, criteria, amount_sen, account, now, now + ttl, reference
    )
    try:
        with conn.begin_nested():
            conn.execute(
                text(
                    "INSERT INTO qris_expectations (id, reference, nmid, criteria, amount_sen,"
                    " credit_account, created_at, expires_at, transfer_id) VALUES (:id, :reference,"
                    " :nmid, :criteria, :amount_sen, :credit_account, :created_at, :expires_at,"
                    " :transfer_id)"
                ),
                {name: getattr(expectation, name) for name in Expectation.__slots__}
                | {"transfer_id": expectation.transfer_id},
            )
    except IntegrityError:
        raise ExpectationRefused(f"reference {reference!r} is already expected") from None
    return expectation
