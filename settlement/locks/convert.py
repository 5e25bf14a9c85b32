"""A matured lock whose Pioneer chose ``convert``: the principal becomes MSC through the
conversion's own interface (decision 0027), as if the Pioneer had converted it that moment.

A firm PI -> MSC quote for the principal, a conversion at it (the tier's limits and the
reserve's floor checked as for any conversion), the principal moved from ``locks:PI`` to
``conversions:PI`` (the conversion expectation's credit account, marked paid by the lock) and
handed to ``conversion_paid``, which converts it or refunds it to ``pioneer:{uid}:PI`` with
its own A2U payout. A conversion refused before it exists (no rate, over the limit, coverage
below the floor) leaves the principal to the A2U payout instead: the Pioneer gets their Pi.
"""

from __future__ import annotations

import structlog

from escrow.errors import InvariantViolation
from escrow.model import TransferRequest
from escrow.refusals import Refusal
from settlement import chart
from settlement.chart import TransferCode
from settlement.conversions import conversion as conversions
from settlement.conversions.receipt import conversion_paid
from settlement.locks.positions import Position
from settlement.pi.expectations import PI_EXPECTATIONS
from settlement.rates.firm import firm_quote
from settlement.rates.panel import RatePanel
from settlement.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)
quote_ttl_s = 60
PAYMENT_PREFIX = "lock-"


def convert_principal(
    uow: UnitOfWork, panel: RatePanel | None, pos: Position, transfer: TransferRequest
) -> bool:
    """Convert ``pos``'s principal (``transfer`` is its move out of ``locks:PI``); False when no
    conversion could be made (the caller pays it back by A2U instead)."""
    if panel is None:
        return False
    try:
        with uow.conn.begin_nested():  # a refused conversion request writes nothing
            quote = firm_quote(
                uow, panel, requested_by=f"pioneer:{pos.uid}", sell_asset="PI",
                buy_asset="MSC", sell_units=transfer.amount, ttl_s=quote_ttl_s,
            )  # fmt: skip
            conv = conversions.create(uow, uid=pos.uid, quote_id=quote.id)
    except Refusal as refused:
        log.warning("lock_convert_refused", position=str(pos.id), code=refused.code)
        return False
    chart.ensure_open(uow.ledger, chart.conversions_pi())
    moved = uow.ledger.post(
        TransferRequest(
            transfer.id, transfer.debit, chart.conversions_pi().code, transfer.amount, "PI",
            TransferCode.LOCK_PRINCIPAL, user_data={"conversion": str(conv.id)},
        )
    )  # fmt: skip
    if not moved.ok:
        raise InvariantViolation(f"the ledger refused converting lock {pos.id}: {moved.code}")
    payment = PAYMENT_PREFIX + pos.id.hex
    PI_EXPECTATIONS.mark_paid(uow.conn, conv.reference, paid_at_us=uow.clock.now_us(), by=payment)
    conversion_paid(uow, conv.reference, transfer.amount, payment, None)
    return True
