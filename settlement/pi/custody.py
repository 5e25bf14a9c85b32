"""Custody deposits: Pi the treasury moves into the app wallet (an opening balance, a fee float).

The custody account equals the app wallet's balance on chain only if every Pi that entered the
wallet is booked. Pioneers' payments are booked by U2A; Pi the treasury itself sends in (or the
starting balance the wallet was opened with) is booked here, from its transaction on chain:
verified, then posted once (debit custody, credit the treasury's Pi capital). A transaction that
paid for a Pioneer's payment or left in a payout can never be booked as a deposit, nor the other
way round.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, text

from chain.pi import errors as chain_errors
from chain.pi.ids import check_txid
from chain.pi.verify import verify_deposit
from escrow.model import TransferRequest, transfer_id
from escrow.ports import LedgerProtocol
from settlement import chart
from settlement.chart import TransferCode
from settlement.pi.accounts import CUSTODY, PI, ensure_custody
from settlement.pi.deps import PiDeps
from settlement.pi.errors import PiRefusal
from settlement.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)
CAPITAL = chart.pi_capital().code
"""The treasury's own Pi, put into custody by deposits."""
TRANSFER_NAMESPACE = "pi.custody_deposit"
"""Transfer id namespace of a deposit (with its txid); never change it: ids are idempotency keys.
The transfer's code is ``TransferCode.PI_CUSTODY_DEPOSIT``, a separate name that may differ."""


@dataclass(frozen=True)
class CustodyDeposit:
    """A booked deposit; ``new`` is False when it had been booked before."""

    txid: str
    from_address: str
    amount_units: int
    transfer_id: uuid.UUID
    booked_by: str
    new: bool


def lock_txid(conn: Connection, txid: str) -> None:
    """Serialise every booking of this transaction hash until the end of the transaction."""
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:txid, 7305002))"), {"txid": txid}
    )


def book_deposit(uow: UnitOfWork, deps: PiDeps, txid: str, booked_by: str) -> CustodyDeposit:
    """Verify the transaction on chain and book it into custody, once.

    Pi's chain is asked before any lock is taken; under the lock the booking is checked again
    and decided, so no row or advisory lock is held across the network call.
    """
    try:
        txid = check_txid(txid)
    except chain_errors.PiInputError as exc:
        raise PiRefusal(exc.code, str(exc)) from exc
    booked = _booked(uow.conn, txid)
    if booked is not None:
        return booked
    _refuse_reused(uow.conn, txid)
    try:
        deposit = verify_deposit(deps.chain.transaction(txid), txid, deps.app_address, deps.network)
    except chain_errors.PiError as exc:
        raise PiRefusal(exc.code, str(exc)) from exc
    lock_txid(uow.conn, txid)
    booked = _booked(uow.conn, txid)
    if booked is not None:
        return booked
    _refuse_reused(uow.conn, txid)
    transfer_id = _post(uow.ledger, txid, deposit.from_address, deposit.amount_units)
    uow.conn.execute(
        text(
            "INSERT INTO pi_custody_deposits (txid, from_address, amount_units, transfer_id,"
            " booked_by) VALUES (:txid, :source, :units, :transfer_id, :by)"
        ),
        {
            "txid": txid,
            "source": deposit.from_address,
            "units": deposit.amount_units,
            "transfer_id": transfer_id,
            "by": booked_by,
        },
    )
    log.info("pi_custody_deposit", txid=txid, amount_units=deposit.amount_units, by=booked_by)
    return CustodyDeposit(
        txid, deposit.from_address, deposit.amount_units, transfer_id, booked_by, new=True
    )


def _booked(conn: Connection, txid: str) -> CustodyDeposit | None:
    row = conn.execute(
        text(
            "SELECT from_address, amount_units, transfer_id, booked_by FROM pi_custody_deposits"
            " WHERE txid = :txid"
        ),
        {"txid": txid},
    ).first()
    if row is None:
        return None
    return CustodyDeposit(
        txid, row.from_address, row.amount_units, row.transfer_id, row.booked_by, new=False
    )


def _refuse_reused(conn: Connection, txid: str) -> None:
    used = conn.execute(
        text(
            "SELECT 1 FROM pi_payments WHERE txid = :txid"
            " UNION ALL SELECT 1 FROM pi_payouts WHERE tx_hash = :txid"
        ),
        {"txid": txid},
    ).first()
    if used is not None:
        raise PiRefusal("pi_txid_reused", "this transaction is a Pioneer's payment or a payout")


def _post(ledger: LedgerProtocol, txid: str, source: str, units: int) -> uuid.UUID:
    ensure_custody(ledger)
    chart.ensure_open(ledger, chart.pi_capital())
    deposit_id = transfer_id(TRANSFER_NAMESPACE, txid)
    result = ledger.post(
        TransferRequest(
            id=deposit_id,
            debit=CUSTODY,
            credit=CAPITAL,
            amount=units,
            asset=PI,
            code=TransferCode.PI_CUSTODY_DEPOSIT,
            external_ref=txid,
            user_data={"from": source},
        )
    )
    if not result.ok:
        raise PiRefusal("pi_bad_input", f"ledger refused the deposit: {result.code}")
    return deposit_id
