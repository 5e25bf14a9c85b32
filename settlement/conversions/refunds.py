"""The outbox step that pays a refused conversion's Pi back to its Pioneer by A2U.

The refund is booked (``conversions:PI`` to ``pioneer:{uid}:PI``) in the unit of work that
refused the conversion, with this message; the step asks the A2U rail for one payout keyed by
the conversion id, so a retried or duplicated message requests the same payout, which exists
once.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from settlement.conversions.receipt import OUTBOX_PI_REFUND
from settlement.outbox import Dispatcher, OutboxMessage
from settlement.pi.deps import PiDeps
from settlement.pi.payback import payback_step

PAYOUT_KEY_PREFIX = "conversion-refund:"


def pay_pi_refund(deps: PiDeps) -> Callable[[Connection, OutboxMessage], None]:
    """Request the refund's A2U payout from the Pioneer's Pi account (idempotent by its key)."""
    return payback_step(
        deps, PAYOUT_KEY_PREFIX, "conversion", lambda p: f"Refund of conversion {p['conversion']}"
    )


def register(dispatcher: Dispatcher, deps: PiDeps) -> None:
    """Install the conversions' Pi refund step."""
    dispatcher.register(OUTBOX_PI_REFUND, pay_pi_refund(deps))
