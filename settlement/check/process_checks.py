"""The processes' promises about the ledger: holds belong to live checkouts, paid expectations
are booked, and side effects do not sit in the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from escrow.calendar import US_PER_S, from_us
from escrow.sql import sql
from settlement.chart import TransferCode
from settlement.check.model import CheckResult, failed, held, some
from settlement.checkout.rules import hold_id
from settlement.locks.opening import reservation_id

_LIVE_PAID_LEGS = sql(
    "SELECT l.reference FROM checkout_legs l JOIN checkouts c ON c.id = l.checkout_id"
    " WHERE l.status = 'paid' AND c.status IN ('open', 'paid', 'disputed')"
)
_PENDING_HOLDS = sql(
    "SELECT p.id, t.external_ref, t.user_data ->> 'leg' FROM pending_transfers p"
    " JOIN transfers t ON t.id = p.id WHERE p.status = 'pending' AND t.code = :code"
)


def escrow_holds(conn: Connection) -> CheckResult:
    """Every pending checkout hold is a paid leg of a live checkout, and every paid leg of a
    live checkout is held."""
    legs = {hold_id(row[0]): row[0] for row in conn.execute(_LIVE_PAID_LEGS)}
    holds = {row[0]: row[2] or str(row[0]) for row in
             conn.execute(_PENDING_HOLDS, {"code": str(TransferCode.CHECKOUT_HOLD)})}  # fmt: skip
    orphans = sorted(holds[hold] for hold in holds.keys() - legs.keys())
    unheld = sorted(legs[hold] for hold in legs.keys() - holds.keys())
    problems = []
    if orphans:
        problems.append(f"{len(orphans)} holds of no live paid leg: {some(orphans)}")
    if unheld:
        problems.append(f"{len(unheld)} live paid legs not held: {some(unheld)}")
    if problems:
        return failed("escrow_holds", "; ".join(problems))
    return held("escrow_holds", f"{len(legs)} live paid legs, each held once")


_PI_UNBOOKED = sql(
    "SELECT e.reference FROM pi_expectations e LEFT JOIN pi_payments p ON p.expectation_id = e.id"
    " WHERE e.status = 'fulfilled' AND NOT (p.status IN ('credited', 'completed') AND ("
    " EXISTS (SELECT 1 FROM transfers t WHERE t.id = p.transfer_id)"
    " OR EXISTS (SELECT 1 FROM suspense_items s WHERE s.external_ref = p.txid)))"
    " ORDER BY e.reference"
)
_QRIS_UNBOOKED = sql(
    "SELECT e.reference FROM qris_expectations e WHERE e.status = 'paid' AND NOT ("
    " EXISTS (SELECT 1 FROM transfers t WHERE t.id = e.transfer_id)"
    " OR EXISTS (SELECT 1 FROM suspense_items s WHERE s.transfer_id = e.transfer_id))"
    " ORDER BY e.reference"
)


def expectations_booked(conn: Connection) -> CheckResult:
    """No expectation is paid without its booking: a Pi payment fulfilled and a QRIS leg paid
    each have their receipt in the ledger (or, refused there, in suspense)."""
    unbooked = [f"pi:{row[0]}" for row in conn.execute(_PI_UNBOOKED)]
    unbooked += [f"qris:{row[0]}" for row in conn.execute(_QRIS_UNBOOKED)]
    if unbooked:
        return failed("expectations_booked", f"{len(unbooked)} paid but not booked:"
                      f" {some(unbooked)}")  # fmt: skip
    return held("expectations_booked", "every paid expectation is booked")


_OVERDUE = sql(
    "SELECT kind || ':' || key FROM outbox WHERE status = 'pending' AND next_attempt_at < :before"
    " ORDER BY next_attempt_at, id LIMIT 10"
)
_OVERDUE_COUNT = sql(
    "SELECT count(*) FROM outbox WHERE status = 'pending' AND next_attempt_at < :before"
)


def outbox_moving(conn: Connection, now_us: int, lag_max_s: int) -> CheckResult:
    """No side effect waits past its due time by more than ``lag_max_s``: a message a worker
    claimed is a row lock, released when that worker dies, so one that sits is one nobody
    dispatches (no worker running, or a dispatcher that cannot claim it)."""
    before: datetime = from_us(now_us - lag_max_s * US_PER_S)
    count = int(conn.execute(_OVERDUE_COUNT, {"before": before}).scalar_one())
    if count:
        late = [row[0] for row in conn.execute(_OVERDUE, {"before": before})]
        return failed("outbox_moving", f"{count} messages due more than {lag_max_s} s ago:"
                      f" {some(late)}")  # fmt: skip
    return held("outbox_moving", f"nothing due for more than {lag_max_s} s")


_OPEN_POSITIONS = sql(
    "SELECT id, reward_max FROM lock_positions WHERE status = 'open' AND reward_max > 0"
)
_PENDING_RESERVATIONS = sql(
    "SELECT p.id, p.amount FROM pending_transfers p JOIN transfers t ON t.id = p.id"
    " WHERE p.status = 'pending' AND t.code = :code"
)


def lock_reservations(conn: Connection) -> CheckResult:
    """Every pending reward reservation belongs to an open lock position, for its maximum
    reward, and every open position with a reward has its one reservation."""
    wanted = {
        reservation_id(row[0]): (str(row[0]), int(row[1])) for row in conn.execute(_OPEN_POSITIONS)
    }
    found = {
        row[0]: int(row[1])
        for row in conn.execute(
            _PENDING_RESERVATIONS, {"code": str(TransferCode.LOCK_REWARD_RESERVED)}
        )
    }
    orphans = sorted(str(r) for r in found.keys() - wanted.keys())
    missing = sorted(wanted[r][0] for r in wanted.keys() - found.keys())
    wrong = sorted(wanted[r][0] for r in wanted.keys() & found.keys() if found[r] != wanted[r][1])
    problems = []
    if orphans:
        problems.append(f"{len(orphans)} reservations of no open position: {some(orphans)}")
    if missing:
        problems.append(f"{len(missing)} open positions without their reservation: {some(missing)}")
    if wrong:
        problems.append(f"{len(wrong)} reservations not of the position's maximum: {some(wrong)}")
    if problems:
        return failed("lock_reservations", "; ".join(problems))
    return held("lock_reservations", f"{len(wanted)} open positions, each reserved once")
