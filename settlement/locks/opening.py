"""Where the Pi rail hands a lock's verified payment: open the position, or refuse it, once.

The U2A completion posts the principal to ``locks:PI`` (the expectation's credit account) and
calls ``lock_paid`` in the same unit of work. Opening reserves the position's maximum reward
``floor(principal x rate x term)`` as ONE pending transfer ``mscp:budget`` -> the Pioneer's
points (``lock.reward_reserved``): the budget's available balance drops by it, so no reward is
ever promised unfunded. When the budget cannot cover it (it was spent since the lock was asked
for) the ledger refuses the reservation; the principal goes back to ``pioneer:{uid}:PI``
(``lock.refund``, keyed by the position) and one A2U payout is queued through the outbox.
"""

from __future__ import annotations

import uuid

import structlog

from escrow.calendar import from_us
from escrow.errors import InvariantViolation
from escrow.model import ResultCode, TransferFlags, TransferRequest, transfer_id
from escrow.sql import sql
from settlement import chart
from settlement.chart import TransferCode
from settlement.locks.positions import LockStatus, Position, find_by_reference
from settlement.locks.reward import US_PER_DAY
from settlement.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)
RESERVE_NAMESPACE = "lock.reward_reserved"
REFUND_NAMESPACE = "lock.refund"
OUTBOX_PRINCIPAL = "lock.principal"
"""The outbox kind that pays a lock's Pi (principal or refund) back by A2U."""
MSCP = "MSCP"
BUDGET_EXHAUSTED = "lock_budget_exhausted"


def reservation_id(position_id: uuid.UUID) -> uuid.UUID:
    """The one pending transfer that reserves a position's maximum reward."""
    return transfer_id(RESERVE_NAMESPACE, str(position_id))


def lock_position(uow: UnitOfWork, reference: str) -> None:
    """Take position ``reference``'s row before its payment is posted."""
    find_by_reference(uow.conn, reference, lock=True)


def lock_paid(
    uow: UnitOfWork, reference: str, amount_units: int, payment_id: str
) -> Position | None:
    """``amount_units`` Pi for lock ``reference`` reached ``locks:PI`` in payment ``payment_id``:
    open the position (its reward reserved) or refuse and refund it; a position already decided
    is left as it is. An expectation of purpose ``lock`` that names no position (an operator's
    ``msc pi expect``) is no lock: None, its receipt stays where it was posted."""
    found = find_by_reference(uow.conn, reference, lock=True)
    if found is None:  # an operator's expectation that only names the purpose: posted as it is
        log.info("lock_payment_without_position", reference=reference)
        return None
    if found.status is not LockStatus.EXPECTED:
        return found
    if amount_units != found.principal_units:
        raise InvariantViolation(
            f"{reference} was paid {amount_units}, not {found.principal_units}"
        )
    now_us = uow.clock.now_us()
    if found.reward_max > 0 and not _reserve(uow, found, payment_id):
        _refuse(uow, found, payment_id, now_us)
    else:
        uow.conn.execute(
            sql(
                "UPDATE lock_positions SET status = 'open', payment_id = :p, started_at = :at,"
                " matures_at = :mat WHERE id = :id"
            ),
            {
                "p": payment_id,
                "at": from_us(now_us),
                "mat": from_us(now_us + found.term_days * US_PER_DAY),
                "id": found.id,
            },
        )
        log.info("lock_opened", position=str(found.id), reward_max=found.reward_max)
    after = find_by_reference(uow.conn, reference, lock=False)
    if after is None:
        raise InvariantViolation(f"lock {reference} vanished")
    return after


def reservation(pos: Position, payment_id: str) -> TransferRequest:
    """The pending transfer that reserves ``pos``'s maximum reward from the points budget."""
    return TransferRequest(
        reservation_id(pos.id), chart.mscp_budget().code, chart.pioneer_balance(pos.uid, MSCP).code,
        pos.reward_max, MSCP, TransferCode.LOCK_REWARD_RESERVED, flags=TransferFlags.PENDING,
        external_ref=payment_id, user_data={"position": str(pos.id)},
    )  # fmt: skip


def _reserve(uow: UnitOfWork, pos: Position, payment_id: str) -> bool:
    """The pending reservation of the maximum reward; False when the budget cannot cover it."""
    chart.ensure_open(uow.ledger, chart.mscp_budget())
    chart.ensure_open(uow.ledger, chart.pioneer_balance(pos.uid, MSCP))
    result = uow.ledger.post(reservation(pos, payment_id))
    if result.ok:
        return True
    if result.code is ResultCode.EXCEEDS_CREDITS:
        return False
    raise InvariantViolation(f"the ledger refused reserving lock {pos.id}: {result.code}")


def refund_transfer_id(position_id: uuid.UUID) -> uuid.UUID:
    """The one transfer that returns a refused lock's Pi to its Pioneer."""
    return transfer_id(REFUND_NAMESPACE, str(position_id))


def refund_request(pos: Position, payment_id: str) -> TransferRequest:
    """The transfer that returns refused lock ``pos``'s principal to its Pioneer's account."""
    return TransferRequest(
        refund_transfer_id(pos.id), chart.locks_pi().code, chart.pioneer_pi(pos.uid).code,
        pos.principal_units, "PI", TransferCode.LOCK_REFUND, external_ref=payment_id,
    )  # fmt: skip


def _refuse(uow: UnitOfWork, pos: Position, payment_id: str, now_us: int) -> None:
    chart.ensure_open(uow.ledger, chart.pioneer_pi(pos.uid))
    refund = refund_transfer_id(pos.id)
    result = uow.ledger.post(refund_request(pos, payment_id))
    if not result.ok:
        raise InvariantViolation(f"the ledger refused refunding lock {pos.id}: {result.code}")
    uow.conn.execute(
        sql(
            "UPDATE lock_positions SET status = 'refused', payment_id = :p, refusal_code = :code"
            " WHERE id = :id"
        ),
        {"p": payment_id, "code": BUDGET_EXHAUSTED, "id": pos.id},
    )
    queue_payout(uow, pos, refund, pos.principal_units, "refund")
    log.warning("lock_refused", position=str(pos.id), code=BUDGET_EXHAUSTED)


def queue_payout(
    uow: UnitOfWork, pos: Position, transfer: uuid.UUID, amount_units: int, why: str
) -> None:
    """One A2U payout of ``amount_units`` Pi from the Pioneer's Pi account, keyed by the
    position (the Pi was booked there in this unit of work)."""
    uow.outbox.enqueue(
        OUTBOX_PRINCIPAL,
        str(pos.id),
        {
            "position": str(pos.id),
            "transfer_id": str(transfer),
            "uid": pos.uid,
            "amount_units": amount_units,
            "why": why,
        },
    )
