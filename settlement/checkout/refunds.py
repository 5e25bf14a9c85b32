"""The outbox step that pays a checkout's Pi refund back to its Pioneer by A2U.

The refund itself is already booked (escrow to ``pioneer:{uid}:PI``) in the unit of work that
decided it, with this message; the step asks the A2U rail for one payout keyed by the refund's
transfer id, so a retried or duplicated message requests the same payout, which exists once.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from settlement.checkout.apply import OUTBOX_PI_REFUND
from settlement.outbox import Dispatcher, OutboxMessage
from settlement.pi.deps import PiDeps
from settlement.pi.payback import payback_step

PAYOUT_KEY_PREFIX = "checkout-refund:"


def pay_pi_refund(deps: PiDeps) -> Callable[[Connection, OutboxMessage], None]:
    """Request the refund's A2U payout from the Pioneer's Pi account (idempotent by its key).

    The refund stays ``queued``: the payout (``pi_payouts``, key ``checkout-refund:<id>``) is
    the A2U rail's, which completes it or voids it back to the Pioneer's account."""
    return payback_step(deps, PAYOUT_KEY_PREFIX, "transfer_id", lambda p: f"Refund {p['checkout']}")


def register(dispatcher: Dispatcher, deps: PiDeps) -> None:
    """Install the checkout's Pi refund step."""
    dispatcher.register(OUTBOX_PI_REFUND, pay_pi_refund(deps))
