"""The outbox step that pays a checkout's Pi refund back to its Pioneer by A2U.

The refund itself is already booked (escrow to ``pioneer:{uid}:PI``) in the unit of work that
decided it, with this message; the step asks the A2U rail for one payout keyed by the refund's
transfer id, so a retried or duplicated message requests the same payout, which exists once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import Connection

from settlement import chart
from settlement.checkout.apply import OUTBOX_PI_REFUND
from settlement.outbox import Dispatcher, OutboxMessage
from settlement.pi import a2u
from settlement.pi.deps import PiDeps
from settlement.unit_of_work import bind

PAYOUT_KEY_PREFIX = "checkout-refund:"


def a2u_refund_step(
    deps: PiDeps, key_prefix: str, memo: Callable[[Mapping[str, object]], str]
) -> Callable[[Connection, OutboxMessage], None]:
    """The outbox step paying a booked Pi refund (payload ``transfer_id``, ``uid``,
    ``amount_units``) from the Pioneer's Pi account by A2U, keyed ``key_prefix + transfer_id``
    so that a retried or duplicated message requests the one payout; ``memo`` words it."""

    def handle(conn: Connection, message: OutboxMessage) -> None:
        uid = str(message.payload["uid"])
        refund_id = str(message.payload["transfer_id"])
        a2u.request_payout(
            bind(conn, deps.clock),
            deps,
            key=key_prefix + refund_id,
            uid=uid,
            amount_units=int(str(message.payload["amount_units"])),
            memo=memo(message.payload),
            debit_account=chart.pioneer_pi(uid).code,
        )

    return handle


def pay_pi_refund(deps: PiDeps) -> Callable[[Connection, OutboxMessage], None]:
    """Request the refund's A2U payout from the Pioneer's Pi account (idempotent by its key).

    The refund stays ``queued``: the payout (``pi_payouts``, key ``checkout-refund:<id>``) is
    the A2U rail's, which completes it or voids it back to the Pioneer's account."""
    return a2u_refund_step(deps, PAYOUT_KEY_PREFIX, lambda p: f"Refund {p['checkout']}")


def register(dispatcher: Dispatcher, deps: PiDeps) -> None:
    """Install the checkout's Pi refund step."""
    dispatcher.register(OUTBOX_PI_REFUND, pay_pi_refund(deps))
