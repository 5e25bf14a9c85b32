"""Outbox handlers of the Pi rail: Pi `complete` for U2A, and each A2U payout step."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import Connection

from chain.pi import errors as chain_errors
from settlement.outbox import Dispatcher, OutboxMessage
from settlement.pi import a2u
from settlement.pi.deps import PiDeps
from settlement.pi.flags import flag
from settlement.pi.u2a import OUTBOX_COMPLETE, mark_completed
from settlement.unit_of_work import bind


def complete_u2a(deps: PiDeps) -> Callable[[Connection, OutboxMessage], None]:
    """Tell Pi we completed a posted U2A payment; `already_completed` counts as done.

    The handler runs in the dispatcher's transaction, which it takes as its unit of work."""

    def handle(conn: Connection, message: OutboxMessage) -> None:
        payment_id, txid = str(message.payload["payment_id"]), str(message.payload["txid"])
        try:
            deps.platform.complete(payment_id, txid)
        except chain_errors.AlreadyCompletedError:
            pass
        except (chain_errors.CancelledPaymentError, chain_errors.TxidMismatchError) as exc:
            # The Pi is posted; only Pi's own record disagrees. A person decides, from the flag
            # (committed with this message's end: raising would roll the flag back with it).
            flag(conn, payment_id, txid, "u2a_complete_refused", {"code": exc.api_code})
            return
        mark_completed(bind(conn, deps.clock), payment_id)

    return handle


def advance_a2u(deps: PiDeps) -> Callable[[Connection, OutboxMessage], None]:
    """Run the payout step this message names; a message for an older step is a no-op."""

    def handle(conn: Connection, message: OutboxMessage) -> None:
        uow = bind(conn, deps.clock)
        payout_id = uuid.UUID(str(message.payload["payout_id"]))
        expected = message.key.rsplit(":", 1)[-1]
        if a2u.load(uow, payout_id).status != expected:
            return
        a2u.advance(uow, deps, payout_id)

    return handle


def register(dispatcher: Dispatcher, deps: PiDeps) -> None:
    """Install the Pi rail's handlers."""
    dispatcher.register(OUTBOX_COMPLETE, complete_u2a(deps))
    dispatcher.register(a2u.OUTBOX_A2U, advance_a2u(deps))
