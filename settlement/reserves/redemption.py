"""Redemption: MSC burnt in the ledger first, and the Rupiah owed to the holder's bank account.

One linked pair per redemption: the holder's MSC back to ``msc:issued`` (the burn) and as much
``msc:backing:IDR`` to ``payable:redemptions:IDR``. The obligation is a row of
``msc_redemptions`` with status ``owed``.

The daily payout batch (``settlement.payouts``) takes the ``owed`` rows by its cut-off: their
Rupiah held from ``payable:redemptions:IDR`` towards ``reserve:bank:IDR`` (the reserve's own
bank account pays them), posted and the row ``paid`` when the bank confirms the line; a line the
bank rejects is voided, the Rupiah back on the payable and the row still ``owed``, for the next
day's cut. The bank account is ``chain.bank.account.BankAccount``, checked when the redemption is
asked for, so the batch never meets one its file cannot carry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from chain.bank.account import BankAccount
from escrow.calendar import from_us, to_us
from escrow.model import ResultCode, TransferRequest, amount_max
from escrow.model import transfer_id as make_transfer_id
from settlement import chart
from settlement.chart import TransferCode
from settlement.checkout.rules import linked
from settlement.reserves.issuance import (
    IDR,
    MSC,
    RedemptionConflict,
    RedemptionInvalid,
    RedemptionRefused,
    check_one_officer,
    ensure_accounts,
    holder_spec,
)
from settlement.reserves.reserve import compute
from settlement.unit_of_work import UnitOfWork

REDEEM_NAMESPACE = "msc.redeem"
REDEEM_PAYABLE_NAMESPACE = "msc.redeem.payable"
request_key_chars_max = 300


@dataclass(frozen=True, slots=True)
class RedemptionRequest:
    """Redeem ``amount`` MSC sen of ``holder`` to ``account``; ``request_key`` makes it once."""

    request_key: str
    holder: str
    amount: int
    account: BankAccount

    def __post_init__(self) -> None:
        key = self.request_key
        if not isinstance(key, str) or not 1 <= len(key) <= request_key_chars_max:
            raise RedemptionInvalid(f"a request key has 1 to {request_key_chars_max} characters")
        holder_spec(self.holder)
        amount = self.amount
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= amount_max:
            raise RedemptionInvalid(f"an amount is a positive int of sen, not {amount!r}")


@dataclass(frozen=True, slots=True)
class Redemption:
    """A booked redemption (``created`` False on a replay)."""

    id: uuid.UUID
    request: RedemptionRequest
    status: str
    payable_transfer_id: uuid.UUID
    created_at_us: int
    created: bool

    def view(self) -> dict[str, Any]:
        """The redemption as answered (amounts in sen)."""
        r, a = self.request, self.request.account
        return {
            "id": str(self.id),
            "holder": r.holder,
            "amount_units": r.amount,
            "bank_code": a.bank_code,
            "account_number": a.account_number,
            "account_name": a.holder_name,
            "status": self.status,
            "burn_transfer_id": str(self.id),
            "payable_transfer_id": str(self.payable_transfer_id),
            "created_at": from_us(self.created_at_us).isoformat(),
        }


def redeem(
    uow: UnitOfWork, request: RedemptionRequest, by: str, governed: bool = False
) -> Redemption:
    """Burn the MSC and owe the Rupiah, once per request key (a replay posts nothing; the key
    with other fields is ``redemption_conflict``); above ``msc_one_officer_limit`` only when
    ``governed`` (an executed ``msc.redeem`` proposal), else ``governance_required``."""
    found = find_redemption(uow, request.request_key)
    if found is not None:
        if found.request != request:
            raise RedemptionConflict(f"request {request.request_key!r} redeemed other MSC")
        return found
    check_one_officer(uow.conn, request.amount, governed)
    ensure_accounts(uow)
    holder = holder_spec(request.holder)
    chart.open_account(uow.ledger, holder)
    burn_id = make_transfer_id(REDEEM_NAMESPACE, request.request_key)
    payable_id = make_transfer_id(REDEEM_PAYABLE_NAMESPACE, request.request_key)
    pair = [
        TransferRequest(burn_id, holder.code, chart.msc_issued().code, request.amount, MSC,
                        TransferCode.MSC_REDEEM),
        TransferRequest(payable_id, chart.msc_backing().code, chart.redemptions_payable().code,
                        request.amount, IDR, TransferCode.MSC_REDEEM),
    ]  # fmt: skip
    results = uow.ledger.post_batch(linked(pair))
    _refuse_unless_posted(results[0].code, results[1].code)
    now_us = uow.clock.now_us()
    a = request.account
    uow.conn.execute(
        text(
            "INSERT INTO msc_redemptions (id, request_key, holder, amount, bank_code,"
            " account_number, account_name, burn_transfer_id, payable_transfer_id, created_at,"
            " created_by) VALUES (:id, :k, :h, :amt, :bc, :an, :name, :id, :p, :at, :by)"
        ),
        {
            "id": burn_id,
            "k": request.request_key,
            "h": request.holder,
            "amt": request.amount,
            "bc": a.bank_code,
            "an": a.account_number,
            "name": a.holder_name,
            "p": payable_id,
            "at": from_us(now_us),
            "by": by,
        },
    )
    compute(uow, None, "redemption")
    return Redemption(burn_id, request, "owed", payable_id, now_us, True)


def _refuse_unless_posted(burn: ResultCode, payable: ResultCode) -> None:
    if burn is ResultCode.OK and payable is ResultCode.OK:
        return
    if burn is ResultCode.EXCEEDS_CREDITS:
        raise RedemptionRefused("the holder has less MSC", code="redemption_exceeds_balance")
    if payable is ResultCode.EXCEEDS_CREDITS:
        raise RedemptionRefused(
            "less MSC was issued against Rupiah than this", code="redemption_exceeds_backing"
        )
    raise RedemptionRefused(f"the ledger refused the redemption: {burn}, {payable}", code=str(burn))


def find_redemption(uow: UnitOfWork, request_key: str) -> Redemption | None:
    """The redemption booked under ``request_key``."""
    row = uow.conn.execute(
        text(
            "SELECT id, request_key, holder, amount, bank_code, account_number, account_name,"
            " status, payable_transfer_id, created_at FROM msc_redemptions WHERE request_key = :k"
        ),
        {"k": request_key},
    ).first()
    if row is None:
        return None
    account = BankAccount(row.bank_code, row.account_number, row.account_name)
    request = RedemptionRequest(row.request_key, row.holder, int(row.amount), account)
    return Redemption(
        row.id, request, str(row.status), row.payable_transfer_id, to_us(row.created_at), False
    )
