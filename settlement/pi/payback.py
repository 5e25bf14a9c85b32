"""The outbox step that pays Pi booked back to a Pioneer out by A2U.

The Pi is already on ``pioneer:{uid}:PI``, booked in the unit of work that decided it (a
checkout refund, a refused conversion, a lock's principal, a decided flag) together with this
message; the step asks the A2U rail for one payout keyed by the message's own id, so a retried or
duplicated message requests the same payout, which exists once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import Connection

from settlement import chart
from settlement.outbox import OutboxMessage
from settlement.pi import a2u
from settlement.pi.deps import PiDeps
from settlement.unit_of_work import bind

Memo = Callable[[Mapping[str, object]], str]


def payback_step(
    deps: PiDeps, key_prefix: str, id_field: str, memo: Memo
) -> Callable[[Connection, OutboxMessage], None]:
    """The step paying a message's ``amount_units`` to its ``uid`` from the Pioneer's Pi
    account, keyed ``key_prefix + payload[id_field]``; ``memo`` words the payment."""

    def handle(conn: Connection, message: OutboxMessage) -> None:
        uid = str(message.payload["uid"])
        a2u.request_payout(
            bind(conn, deps.clock),
            deps,
            key=key_prefix + str(message.payload[id_field]),
            uid=uid,
            amount_units=int(str(message.payload["amount_units"])),
            memo=memo(message.payload),
            debit_account=chart.pioneer_pi(uid).code,
        )

    return handle
