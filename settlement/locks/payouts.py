"""The outbox step that pays a lock's Pi back to its Pioneer by A2U (principal or refund).

The Pi is booked to ``pioneer:{uid}:PI`` in the unit of work that closed or refused the lock,
with this message; the step asks the A2U rail for one payout keyed by the position, so a
retried or duplicated message requests the same payout, which exists once.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from settlement.locks.opening import OUTBOX_PRINCIPAL
from settlement.outbox import Dispatcher, OutboxMessage
from settlement.pi.deps import PiDeps
from settlement.pi.payback import payback_step

PAYOUT_KEY_PREFIX = "lock:"


def pay_principal(deps: PiDeps) -> Callable[[Connection, OutboxMessage], None]:
    """Request the lock's A2U payout from the Pioneer's Pi account (idempotent by its key)."""
    return payback_step(
        deps,
        PAYOUT_KEY_PREFIX,
        "position",
        lambda p: f"Lock {str(p['position'])[:8]} {p['why']}",
    )


def register(dispatcher: Dispatcher, deps: PiDeps) -> None:
    """Install the locks' A2U payout step."""
    dispatcher.register(OUTBOX_PRINCIPAL, pay_principal(deps))
