"""MSC against Rupiah: bank deposits (booked once), issuance (1:1, linked to its deposit) and
redemption (MSC burnt first, then the Rupiah owed by the payout batch).

A bank deposit is a bank-statement line: its reference is booked once (the same line again
replays, another line under the same reference is refused). A deposit naming a holder is
Rupiah waiting on ``msc:deposits:IDR`` until issued; one naming none is reserve capital. Issuing
posts one linked pair (the deposit's Rupiah to ``msc:backing:IDR``, new MSC from
``msc:issued`` to the holder), so MSC never exists without its Rupiah entry, and only while
the reserve coverage meets the floor before and after it. Redemption posts the mirror pair and
records the obligation in ``msc_redemptions`` for the payout batch.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from chain.rates.ports import PriceObservation
from escrow import money
from escrow.calendar import from_us, to_us
from escrow.errors import InvariantViolation
from escrow.model import ResultCode, TransferRequest, amount_max
from escrow.model import transfer_id as make_transfer_id
from escrow.money import parse_amount
from escrow.refusals import Refusal
from settlement import chart, parameters
from settlement.chart import AccountSpec, TransferCode
from settlement.checkout.rules import linked
from settlement.reserves.reserve import compute, require_coverage
from settlement.text import printable
from settlement.unit_of_work import UnitOfWork

IDR, MSC = "IDR", "MSC"
DEPOSIT_NAMESPACE = "bank.deposit"
ISSUE_NAMESPACE = "msc.issue"
ISSUE_BACKING_NAMESPACE = "msc.issue.backing"
REFERENCE_PATTERN = r"^[A-Za-z0-9_./:-]{1,64}$"
memo_chars_max = 140
_HOLDER = re.compile(
    r"^(?:pioneer:(?P<uid>[A-Za-z0-9_.:-]{1,64})|merchant:(?P<m>[A-Za-z0-9_-]{1,32})):MSC$"
)
_REFERENCE = re.compile(REFERENCE_PATTERN)


class HolderInvalid(Refusal, ValueError):
    """Not an MSC holder's account: ``pioneer:{uid}:MSC`` or ``merchant:{id}:MSC``."""

    code = "msc_holder_invalid"


class BankDepositInvalid(Refusal, ValueError):
    """A reference, amount or memo the deposit cannot have."""

    code = "bank_deposit_invalid"


class BankDepositConflict(Refusal, ValueError):
    """This reference is already booked, for another amount, holder or date."""

    code = "bank_deposit_conflict"


class BankDepositUnknown(Refusal, LookupError):
    """No bank deposit has this reference."""

    code = "bank_deposit_unknown"


class BankDepositNotIssuable(Refusal, ValueError):
    """The deposit named no holder: it is reserve capital, not a purchase of MSC."""

    code = "bank_deposit_not_issuable"


class RedemptionInvalid(Refusal, ValueError):
    """An amount or bank account a redemption cannot have."""

    code = "redemption_invalid"


class RedemptionConflict(Refusal, ValueError):
    """This request key already redeemed other MSC (another holder, amount or account)."""

    code = "redemption_conflict"


class RedemptionRefused(Refusal, ValueError):
    """The ledger refused the redemption: ``redemption_exceeds_balance`` (the holder has less)
    or ``redemption_exceeds_backing`` (less MSC was issued against Rupiah than asked)."""


class NeedsGovernance(Refusal, PermissionError):
    """More MSC than one officer may issue or burn at once (``governance_required``)."""

    code = "governance_required"


def check_one_officer(conn: Connection, amount: int, governed: bool) -> None:
    """Refuse an issuance or burn above ``msc_one_officer_limit`` unless a proposal does it."""
    limit = parameters.msc_one_officer_limit_units(conn)
    if not governed and limit is not None and amount > limit:
        raise NeedsGovernance(
            f"{amount} MSC sen is above the one-officer limit {limit}"
            f" (parameter {parameters.MSC_ONE_OFFICER_LIMIT}): a signed proposal does it"
        )


def holder_spec(holder: str) -> AccountSpec:
    """The chart's account of an MSC holder code; ``msc_holder_invalid`` for anything else."""
    found = _HOLDER.match(holder) if isinstance(holder, str) else None
    if found is None:
        raise HolderInvalid(f"{holder!r} is not pioneer:{{uid}}:MSC or merchant:{{id}}:MSC")
    if found["uid"] is not None:
        return chart.pioneer_balance(found["uid"], MSC)
    return chart.merchant_balance(found["m"], MSC)


def parse_sen(amount: str) -> int:
    """Rupiah or MSC decimal text (``"15000.00"``) to sen, exactly; else ``AmountRefused``."""
    return parse_amount(amount, money.IDR.scale)  # MSC has the same scale: Rp 1 = 1 MSC


def _amount(value: object, refusal: type[Refusal]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= amount_max:
        raise refusal(f"an amount is a positive int of sen up to {amount_max}, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class BankDeposit:
    """A bank-statement line: ``amount`` sen received under ``reference`` on ``value_date``,
    for ``holder`` (an MSC holder code), or reserve capital when ``holder`` is None."""

    reference: str
    amount: int
    holder: str | None
    value_date: date
    memo: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.reference, str) or not _REFERENCE.match(self.reference):
            raise BankDepositInvalid(f"a reference matches {REFERENCE_PATTERN}")
        _amount(self.amount, BankDepositInvalid)
        if self.holder is not None:
            holder_spec(self.holder)
        if self.memo is not None and not printable(self.memo, memo_chars_max):
            raise BankDepositInvalid(f"a memo is 1..{memo_chars_max} printable characters")


@dataclass(frozen=True, slots=True)
class DepositRecord:
    """A booked deposit; ``created`` is False on a replay."""

    deposit: BankDeposit
    transfer_id: uuid.UUID
    recorded_at_us: int
    issue_transfer_id: uuid.UUID | None
    issued_at_us: int | None
    created: bool

    def view(self) -> dict[str, Any]:
        """The deposit as answered (amounts in sen)."""
        d = self.deposit
        return {
            "reference": d.reference,
            "amount_units": d.amount,
            "holder": d.holder,
            "value_date": d.value_date.isoformat(),
            "memo": d.memo,
            "transfer_id": str(self.transfer_id),
            "recorded_at": from_us(self.recorded_at_us).isoformat(),
            "status": "issued" if self.issued_at_us is not None else "received",
            "issue_transfer_id": None
            if self.issue_transfer_id is None
            else str(self.issue_transfer_id),
            "issued_at": None
            if self.issued_at_us is None
            else from_us(self.issued_at_us).isoformat(),
        }


def ensure_accounts(uow: UnitOfWork) -> None:
    """Open the reserve's accounts (idempotent)."""
    for spec in (
        chart.reserve_bank(),
        chart.msc_deposits(),
        chart.msc_backing(),
        chart.reserve_capital(),
        chart.redemptions_payable(),
        chart.msc_issued(),
    ):
        chart.open_account(uow.ledger, spec)


def record_bank_deposit(uow: UnitOfWork, deposit: BankDeposit, by: str) -> DepositRecord:
    """Book ``deposit`` into ``reserve:bank:IDR`` once per reference (a replay books nothing;
    the reference with other fields is ``bank_deposit_conflict``)."""
    found = find_deposit(uow, deposit.reference, lock=True)
    if found is not None:
        if found.deposit != deposit:
            raise BankDepositConflict(
                f"reference {deposit.reference!r} is booked with other fields"
            )
        return found
    ensure_accounts(uow)
    credit = chart.reserve_capital() if deposit.holder is None else chart.msc_deposits()
    transfer_id = make_transfer_id(DEPOSIT_NAMESPACE, deposit.reference)
    result = uow.ledger.post(
        TransferRequest(
            id=transfer_id,
            debit=chart.reserve_bank().code,
            credit=credit.code,
            amount=deposit.amount,
            asset=IDR,
            code=TransferCode.BANK_DEPOSIT,
            external_ref=deposit.reference,
            user_data={"holder": deposit.holder, "value_date": deposit.value_date.isoformat()},
        )
    )
    if result.code is not ResultCode.OK:
        raise BankDepositConflict(
            f"the ledger refused deposit {deposit.reference!r}: {result.code}"
        )
    now_us = uow.clock.now_us()
    uow.conn.execute(
        text(
            "INSERT INTO msc_bank_deposits (reference, amount, holder, value_date, memo,"
            " transfer_id, recorded_at, recorded_by) VALUES (:r, :a, :h, :d, :m, :t, :at, :by)"
        ),
        {
            "r": deposit.reference,
            "a": deposit.amount,
            "h": deposit.holder,
            "d": deposit.value_date,
            "m": deposit.memo,
            "t": transfer_id,
            "at": from_us(now_us),
            "by": by,
        },
    )
    compute(uow, None, "bank_deposit")
    return DepositRecord(deposit, transfer_id, now_us, None, None, True)


_SELECT_DEPOSIT = (
    "SELECT reference, amount, holder, value_date, memo, transfer_id, recorded_at,"
    " issue_transfer_id, issued_at FROM msc_bank_deposits WHERE reference = :r"
)
_SELECT_DEPOSIT_FOR_UPDATE = _SELECT_DEPOSIT + " FOR UPDATE"


def find_deposit(uow: UnitOfWork, reference: str, *, lock: bool = False) -> DepositRecord | None:
    """The deposit booked under ``reference`` (locked for update when ``lock``)."""
    row = uow.conn.execute(
        text(_SELECT_DEPOSIT_FOR_UPDATE if lock else _SELECT_DEPOSIT),
        {"r": reference},
    ).first()
    if row is None:
        return None
    deposit = BankDeposit(row.reference, int(row.amount), row.holder, row.value_date, row.memo)
    issued = None if row.issued_at is None else to_us(row.issued_at)
    return DepositRecord(
        deposit, row.transfer_id, to_us(row.recorded_at), row.issue_transfer_id, issued, False
    )


def issue(
    uow: UnitOfWork,
    reference: str,
    by: str,
    price: PriceObservation | None = None,
    governed: bool = False,
) -> DepositRecord:
    """Issue the deposit's amount in MSC to its holder, once (a replay posts nothing).

    Refused with ``reserve_coverage_below_floor`` when the coverage is below the floor now or
    would be after the issuance; then nothing is posted. ``price`` values the Pi inventory
    (None: the newest recorded quote, ``reserve.require_coverage``). More than
    ``msc_one_officer_limit`` is refused ``governance_required`` unless ``governed`` (an
    executed ``msc.issue`` proposal)."""
    found = find_deposit(uow, reference, lock=True)
    if found is None:
        raise BankDepositUnknown(f"no bank deposit {reference!r}")
    if found.issued_at_us is not None:
        return found
    holder = found.deposit.holder
    if holder is None:
        raise BankDepositNotIssuable(f"deposit {reference!r} is reserve capital, not for a holder")
    check_one_officer(uow.conn, found.deposit.amount, governed)
    require_coverage(uow, price)
    with uow.conn.begin_nested():  # a refusal after posting takes the posting back with it
        issue_id = _post_issue(uow, reference, holder_spec(holder), found.deposit.amount)
        now_us = uow.clock.now_us()
        uow.conn.execute(
            text(
                "UPDATE msc_bank_deposits SET issued_at = :at, issued_by = :by,"
                " issue_transfer_id = :t WHERE reference = :r"
            ),
            {"at": from_us(now_us), "by": by, "t": issue_id, "r": reference},
        )
        require_coverage(uow, price)
    return DepositRecord(
        found.deposit, found.transfer_id, found.recorded_at_us, issue_id, now_us, True
    )


def _post_issue(uow: UnitOfWork, reference: str, holder: AccountSpec, amount: int) -> uuid.UUID:
    """Post the issuance pair; returns the MSC transfer's id."""
    chart.open_account(uow.ledger, holder)
    pair = [
        TransferRequest(
            make_transfer_id(ISSUE_BACKING_NAMESPACE, reference), chart.msc_deposits().code,
            chart.msc_backing().code, amount, IDR, TransferCode.MSC_ISSUE, external_ref=reference,
        ),
        TransferRequest(
            make_transfer_id(ISSUE_NAMESPACE, reference), chart.msc_issued().code, holder.code,
            amount, MSC, TransferCode.MSC_ISSUE, external_ref=reference,
        ),
    ]  # fmt: skip
    results = uow.ledger.post_batch(linked(pair))
    if not all(r.code is ResultCode.OK for r in results):
        codes = ", ".join(str(r.code) for r in results)
        raise InvariantViolation(f"the ledger refused issuing {reference!r}: {codes}")
    return pair[1].id
