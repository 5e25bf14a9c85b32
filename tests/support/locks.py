"""Locks in tests: the treasury's rates and budget, a lock paid as the U2A completion pays it."""

from __future__ import annotations

import uuid

from escrow.model import TransferRequest
from settlement import chart, parameters
from settlement.chart import TransferCode
from settlement.locks import positions
from settlement.locks.opening import lock_paid
from settlement.pi.accounts import CUSTODY, ensure_custody
from settlement.pi.u2a import receipt_transfer_id
from settlement.points import fund_budget
from settlement.unit_of_work import UnitOfWork


def offer(uow: UnitOfWork, rates: dict[int, str], budget: int = 0) -> None:
    """Set the lock rates by term and put ``budget`` points into the points budget."""
    for term, rate in rates.items():
        parameters.set_(uow, parameters.lock_rate_name(term), rate, "test")
    if budget:
        fund_budget(uow, budget, by="test", key=f"test-{uuid.uuid4().hex[:12]}")


def receive(uow: UnitOfWork, pos: positions.Position, payment_id: str | None = None) -> str:
    """What the U2A completion does for a lock: post the Pi to ``locks:PI``, hand it over."""
    pid = payment_id or f"pid{uuid.uuid4().hex[:20]}"
    ensure_custody(uow.ledger)
    receipt = TransferRequest(
        receipt_transfer_id(pid), CUSTODY, chart.locks_pi().code, pos.principal_units, "PI",
        TransferCode.PI_RECEIVED, external_ref=pid,
    )  # fmt: skip
    if not uow.ledger.post(receipt).ok:
        raise AssertionError("the test receipt was refused")
    lock_paid(uow, pos.reference, pos.principal_units, pid)
    return pid


def open_lock(
    uow: UnitOfWork, uid: str, term: int, principal_units: int, action: str = "a2u"
) -> positions.Position:
    """Ask for a lock and pay it; the position as it is then (open or refused)."""
    pos = positions.create(
        uow, uid=uid, term_days=term, principal_units=principal_units, action=action,
        key=uuid.uuid4().hex,
    )  # fmt: skip
    receive(uow, pos)
    found = positions.find(uow.conn, pos.id)
    if found is None:
        raise AssertionError("the lock vanished")
    return found
