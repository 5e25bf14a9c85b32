"""Closing a lock: at maturity, or early at the Pioneer's request (decision 0029).

Closing first accrues the position up to now (``settlement.locks.accrual``), then resolves its
one reservation: ``post_pending`` of the reward earned (the whole maximum at maturity, the vested
part at early unlock; the ledger returns the rest to the budget) or ``void_pending`` when
nothing vested. The principal leaves ``locks:PI`` for ``pioneer:{uid}:PI`` (less the early-unlock
penalty, if the treasury set one, to ``income:lock_penalty:PI``) in the same linked batch, and
one A2U payout is queued. Matured positions are closed in batches: one ledger batch and one
update per chunk.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import structlog
from sqlalchemy import Engine

from escrow.calendar import from_us
from escrow.clock import Clock
from escrow.errors import InvariantViolation
from escrow.model import TransferFlags, TransferRequest, transfer_id
from escrow.sql import sql
from settlement import chart, parameters
from settlement.chart import TransferCode
from settlement.checkout.rules import linked
from settlement.locks.accrual import accrue_positions
from settlement.locks.convert import convert_principal
from settlement.locks.opening import MSCP, queue_payout, reservation_id
from settlement.locks.positions import COLUMNS, LockRefused, LockStatus, Position, of_row, require
from settlement.mscp import lots
from settlement.rates.panel import RatePanel
from settlement.unit_of_work import UnitOfWork, run

log = structlog.get_logger(__name__)
REWARD_NAMESPACE = "lock.reward"
PRINCIPAL_NAMESPACE = "lock.principal"
PENALTY_NAMESPACE = "lock.penalty"
BP = 10_000
positions_per_batch = 2000
"""Positions closed per ledger batch (each is at most three transfers)."""


def principal_transfer_id(position_id: uuid.UUID) -> uuid.UUID:
    """The transfer that returns a closed lock's principal to the Pioneer's Pi account."""
    return transfer_id(PRINCIPAL_NAMESPACE, str(position_id))


def closing_transfers(pos: Position, reward: int, penalty: int) -> list[TransferRequest]:
    """The transfers that close ``pos`` with ``reward`` points and ``penalty`` Pi kept."""
    out: list[TransferRequest] = []
    if pos.reward_max > 0:
        flags = TransferFlags.POST_PENDING if reward > 0 else TransferFlags.VOID_PENDING
        out.append(TransferRequest(
            transfer_id(REWARD_NAMESPACE, str(pos.id)), "", "", reward, MSCP,
            TransferCode.LOCK_REWARD, flags=flags, pending_id=reservation_id(pos.id),
        ))  # fmt: skip
    locks, pioneer = chart.locks_pi().code, chart.pioneer_pi(pos.uid).code
    if pos.principal_units - penalty > 0:
        out.append(TransferRequest(
            principal_transfer_id(pos.id), locks, pioneer, pos.principal_units - penalty, "PI",
            TransferCode.LOCK_PRINCIPAL,
        ))  # fmt: skip
    if penalty > 0:
        out.append(TransferRequest(
            transfer_id(PENALTY_NAMESPACE, str(pos.id)), locks, chart.lock_penalties().code,
            penalty, "PI", TransferCode.LOCK_PENALTY,
        ))  # fmt: skip
    return out


def _post(uow: UnitOfWork, closings: list[tuple[Position, list[TransferRequest]]]) -> None:
    batch = [t for _, transfers in closings for t in linked(transfers)]
    results = uow.ledger.post_batch(batch)
    refused = [r for r in results if not r.ok]
    if refused:
        raise InvariantViolation(f"the ledger refused closing locks: {refused[0].code}")


def _mark(
    uow: UnitOfWork,
    status: LockStatus,
    rows: Sequence[tuple[Position, int, int]],
    now_us: int,
    converted: frozenset[uuid.UUID] = frozenset(),
) -> None:
    uow.conn.execute(
        sql(
            "UPDATE lock_positions p SET status = :status, closed_at = :at,"
            " reward_units = c.reward, penalty_units = c.penalty"
            " FROM unnest(CAST(:ids AS uuid[]), CAST(:rewards AS bigint[]),"
            " CAST(:penalties AS bigint[])) AS c(id, reward, penalty) WHERE p.id = c.id"
        ),
        {
            "status": str(status),
            "at": from_us(now_us),
            "ids": [p.id for p, _, _ in rows],
            "rewards": [r for _, r, _ in rows],
            "penalties": [k for _, _, k in rows],
        },
    )
    rewarded = [(p.uid, transfer_id(REWARD_NAMESPACE, str(p.id)), r) for p, r, _ in rows if r > 0]
    lots.record_many(uow, rewarded, "staking")  # the rewards' lots, for FIFO expiry
    for pos, _, penalty in rows:
        if pos.principal_units - penalty > 0 and pos.id not in converted:
            why = "maturity" if status is LockStatus.MATURED else "unlock"
            queue_payout(
                uow, pos, principal_transfer_id(pos.id), pos.principal_units - penalty, why
            )


def _open_accounts(uow: UnitOfWork, uids: set[str], penalty: bool) -> None:
    chart.ensure_open(uow.ledger, chart.locks_pi())
    if penalty:
        chart.ensure_open(uow.ledger, chart.lock_penalties())
    for uid in sorted(uids):
        chart.ensure_open(uow.ledger, chart.pioneer_pi(uid))


def mature_due(
    uow: UnitOfWork, limit: int = positions_per_batch, panel: RatePanel | None = None
) -> int:
    """Close up to ``limit`` open positions whose term has passed: the whole reward posts, the
    principal returns (A2U queued) or converts to MSC (``panel`` quoting it); the number
    closed."""
    now_us = uow.clock.now_us()
    rows = uow.conn.execute(
        sql(
            f"SELECT {COLUMNS} FROM lock_positions WHERE status = 'open' AND matures_at <= :now"  # noqa: S608 - constant columns
            " ORDER BY matures_at, id LIMIT :limit FOR UPDATE SKIP LOCKED"
        ),
        {"now": from_us(now_us), "limit": limit},
    ).all()
    return _mature(uow, [of_row(r) for r in rows], now_us, panel)


def _mature(uow: UnitOfWork, due: list[Position], now_us: int, panel: RatePanel | None) -> int:
    if not due:
        return 0
    accrue_positions(uow.conn, now_us, [p.id for p in due])
    _open_accounts(uow, {p.uid for p in due}, penalty=False)
    closings = {p.id: closing_transfers(p, p.reward_max, 0) for p in due}
    converting = [p for p in due if p.maturity_action == "convert"]
    converted = frozenset(
        p.id for p in converting if convert_principal(uow, panel, p, _principal(closings[p.id]))
    )
    for position_id in converted:  # its principal went to the conversion instead
        closings[position_id] = [
            t for t in closings[position_id] if t.code != TransferCode.LOCK_PRINCIPAL
        ]
    _post(uow, [(p, closings[p.id]) for p in due])
    _mark(uow, LockStatus.MATURED, [(p, p.reward_max, 0) for p in due], now_us, converted)
    log.info("locks_matured", count=len(due))
    return len(due)


def _principal(transfers: list[TransferRequest]) -> TransferRequest:
    return next(t for t in transfers if t.code == TransferCode.LOCK_PRINCIPAL)


def mature_all(engine: Engine, clock: Clock, panel: RatePanel | None = None) -> int:
    """Close every matured position, one transaction per batch."""
    total = 0
    while True:
        closed = run(engine, clock, lambda uow: mature_due(uow, panel=panel))
        total += closed
        if closed < positions_per_batch:
            return total


def unlock(uow: UnitOfWork, position_id: uuid.UUID, uid: str) -> Position:
    """Close Pioneer ``uid``'s open position early: the vested reward posts, the unvested part
    returns to the budget, the principal (less the treasury's penalty, if set) is paid back."""
    found = require(uow.conn, position_id, uid, lock=True)
    if found.status is not LockStatus.OPEN:
        raise LockRefused(f"lock {position_id} is {found.status}", code="lock_not_open")
    now_us = uow.clock.now_us()
    if found.matures_at is not None and from_us(now_us) >= found.matures_at:
        _mature(uow, [found], now_us, None)
    else:
        accrue_positions(uow.conn, now_us, [found.id])
        pos = require(uow.conn, position_id, uid)
        penalty = found.principal_units * parameters.lock_penalty_bp(uow.conn) // BP
        _open_accounts(uow, {pos.uid}, penalty=penalty > 0)
        _post(uow, [(pos, closing_transfers(pos, pos.vested_units, penalty))])
        _mark(uow, LockStatus.UNLOCKED, [(pos, pos.vested_units, penalty)], now_us)
        log.info("lock_unlocked", position=str(pos.id), vested=pos.vested_units, penalty=penalty)
    return require(uow.conn, position_id, uid)
