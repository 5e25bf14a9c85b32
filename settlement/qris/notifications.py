"""Gateway notifications: verify, confirm, store once, move status only forward, post when paid."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import RowMapping

from chain.qris.gateways.base import GatewayAdapter
from chain.qris.gateways.errors import (
    GatewayUnavailable,
    NotificationError,
    NotificationUnauthenticated,
)
from chain.qris.gateways.event import EventStatus, QrisEvent
from chain.qris.gateways.snap import SNAP_NOTIFY_PATH, SNAP_NOTIFY_SERVICE_CODE
from escrow.calendar import business_day, from_us
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement.expectations import CHECKOUT_PURPOSE
from settlement.qris import exceptions
from settlement.qris.exceptions import ExceptionLine
from settlement.qris.matching import IN_WINDOW, STATIC_KEY, STATIC_ORDER, STATIC_PAYABLE
from settlement.qris.payment import (
    MATCHED,
    LegOutcome,
    Listing,
    Payment,
    claim,
    match_by_reference,
    settle_checkout_leg,
)
from settlement.unit_of_work import UnitOfWork

__all__ = [
    "SNAP_NOTIFY_PATH",
    "SNAP_NOTIFY_SERVICE_CODE",
    "NotificationDeferred",
    "NotificationRefused",
    "NotificationResult",
    "Outcome",
    "ProviderUnknown",
    "QrisEvent",
    "apply_notification",
    "receive_notification",
    "verify_notification",
]
_REFUNDS = frozenset({EventStatus.REFUNDED, EventStatus.PARTIALLY_REFUNDED})


class ProviderUnknown(Refusal, LookupError):
    """No gateway adapter is configured under this name."""

    code = "qris_provider_unknown"


class NotificationRefused(Refusal):
    """A notification that was not stored: not authenticated, or not readable.

    ``code`` is the gateway error's stable code; ``authenticated`` tells the two apart.
    """

    def __init__(self, code: str, detail: str, *, authenticated: bool) -> None:
        super().__init__(detail, code=code)
        self.authenticated = authenticated
        if authenticated:
            self.status_override = 400  # the notification as a whole is unreadable


class NotificationDeferred(Refusal):
    """The gateway could not confirm the notification now; it must send it again later."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail, code=code)


class Outcome(StrEnum):
    """What a notification did; every outcome is a 2xx for the gateway (it must stop retrying)."""

    POSTED = "posted"
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    STALE = "stale"
    EXCEPTION = "exception"


@dataclass(frozen=True, slots=True)
class NotificationResult:
    """The outcome and the event it came from."""

    outcome: Outcome
    event: QrisEvent


def receive_notification(
    uow: UnitOfWork,
    adapters: Mapping[str, GatewayAdapter],
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    path: str,
) -> NotificationResult:
    """Verify, confirm and apply one notification of ``provider``'s gateway in one go.

    For callers already inside a transaction; the API confirms first and opens the transaction
    after (``verify_notification`` then ``apply_notification``), so no network call holds it.
    """
    now_us = uow.clock.now_us()
    event = verify_notification(adapters, provider, headers, body, path=path, now_us=now_us)
    return apply_notification(uow, event)


def verify_notification(
    adapters: Mapping[str, GatewayAdapter],
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    path: str,
    now_us: int,
) -> QrisEvent:
    """The event a notification proves: authenticated, and confirmed with the gateway.

    Raises ``ProviderUnknown``; ``NotificationRefused`` when it is not authentic, not readable
    or not confirmed; ``NotificationDeferred`` when the gateway cannot confirm it now. Nothing
    is stored in any of these cases. ``now_us`` (the clock's) is handed to the gateway's
    adapter as an aware datetime: the edge where the rail's time meets the gateway's.
    """
    adapter = adapters.get(provider)
    if adapter is None:
        raise ProviderUnknown(repr(provider))
    try:
        return adapter.confirm(adapter.parse(headers, body, path=path, now=from_us(now_us)))
    except GatewayUnavailable as unavailable:
        raise NotificationDeferred(unavailable.code, str(unavailable)) from unavailable
    except NotificationUnauthenticated as refused:
        raise NotificationRefused(refused.code, str(refused), authenticated=False) from refused
    except NotificationError as invalid:
        raise NotificationRefused(invalid.code, str(invalid), authenticated=True) from invalid


def apply_notification(uow: UnitOfWork, event: QrisEvent) -> NotificationResult:
    """Store a verified event once, move its payment forward, post it when it is paid.

    A payment's time is the gateway's ``paid_at`` (an aware datetime, bound as it arrives), else
    the unit of work's clock.
    """
    now = from_us(uow.clock.now_us())
    if not _store_event(uow, event):
        return NotificationResult(Outcome.DUPLICATE, event)
    if not _advance_payment(uow, event):
        return NotificationResult(Outcome.STALE, event)
    if event.status in _REFUNDS:
        _exception(uow, event, "refund", None, None, f"{event.provider_status} notified", now)
        return NotificationResult(Outcome.EXCEPTION, event)
    if event.status is not EventStatus.PAID:
        return NotificationResult(Outcome.RECORDED, event)
    return NotificationResult(_apply_paid(uow, event, now), event)


def _store_event(uow: UnitOfWork, event: QrisEvent) -> bool:
    row = uow.conn.execute(
        sql(
            "INSERT INTO qris_events (provider, provider_tx_id, status, provider_status,"
            " amount_sen, fee_sen, rrn, nmid, reference, paid_at) VALUES (:provider,"
            " :provider_tx_id, :status, :provider_status, :amount_sen, :fee_sen, :rrn, :nmid,"
            " :reference, :paid_at) ON CONFLICT (provider, provider_tx_id, status) DO NOTHING"
            " RETURNING id"
        ),
        {name: getattr(event, name) for name in QrisEvent.__slots__} | {"status": event.status},
    ).first()
    return row is not None


def _advance_payment(uow: UnitOfWork, event: QrisEvent) -> bool:
    """Move the payment's status forward only (a paid payment never returns to pending)."""
    row = uow.conn.execute(
        sql(
            "INSERT INTO qris_payments (provider, provider_tx_id, status, status_rank)"
            " VALUES (:provider, :provider_tx_id, :status, :rank)"
            " ON CONFLICT (provider, provider_tx_id) DO UPDATE"
            " SET status = EXCLUDED.status, status_rank = EXCLUDED.status_rank, updated_at = now()"
            " WHERE qris_payments.status_rank < EXCLUDED.status_rank RETURNING status"
        ),
        {"provider": event.provider, "provider_tx_id": event.provider_tx_id, "status": event.status,
         "rank": event.status.rank},
    ).first()  # fmt: skip
    return row is not None


# The matching rule of ``settlement.qris.matching`` applied to one payment ``p``: by reference
# (a reference already paid is found too, so that a second source of the same payment changes
# nothing), else a static payment by NMID and amount.
_MATCH_STATIC = f"""
    {MATCHED} WHERE {STATIC_PAYABLE} AND {STATIC_KEY} AND {IN_WINDOW}
    ORDER BY {STATIC_ORDER} LIMIT 1 FOR UPDATE OF e SKIP LOCKED
"""


def _apply_paid(uow: UnitOfWork, event: QrisEvent, now: datetime) -> Outcome:
    payment = Payment(
        "event",
        event.rrn,
        event.provider_tx_id,
        f"qris:{event.provider}:{event.provider_tx_id}",
        event.reference,
        event.nmid,
        event.amount_sen,
        event.fee_sen,
        event.paid_at or now,
    )
    row = match_by_reference(uow, payment) if event.reference else None
    if row is None and event.nmid:
        row = uow.conn.execute(sql(_MATCH_STATIC), payment.params()).mappings().first()
    if row is None:
        _exception(uow, event, "unmatched_event", None, None, "no open expectation", now)
        return Outcome.EXCEPTION

    def listing(
        kind: str, expectation: uuid.UUID | None, expected: int | None, detail: str
    ) -> None:
        _exception(uow, event, kind, expectation, expected, detail, now)

    if row["purpose"] == CHECKOUT_PURPOSE:
        return _apply_leg(uow, event, payment, row, listing)
    if row["status"] == "paid":
        return Outcome.RECORDED  # the acquirer report (or another gateway) matched it first
    if not row["amount_agrees"]:
        detail = "paid amount differs from the expectation"
        listing("amount_mismatch", row["expectation_id"], row["amount_sen"], detail)
        return Outcome.EXCEPTION
    claim(uow, payment, row, listing)
    _bind(uow, event, row["expectation_id"])
    return Outcome.POSTED


def _apply_leg(
    uow: UnitOfWork, event: QrisEvent, payment: Payment, row: RowMapping, listing: Listing
) -> Outcome:
    """A checkout leg's payment, by the rule both sources follow (``settlement.qris.payment``)."""
    outcome = settle_checkout_leg(uow, payment, row, listing)
    if outcome is LegOutcome.UNCLEAR:
        detail = "a payment of a paid checkout leg with no RRN or transaction id to compare"
        listing("duplicate", row["expectation_id"], row["amount_sen"], detail)
        return Outcome.EXCEPTION
    if outcome is LegOutcome.SEEN:
        return Outcome.RECORDED  # the acquirer report (or another gateway) booked it first
    if outcome is LegOutcome.RECEIPT:
        _bind(uow, event, row["expectation_id"])
    return Outcome.POSTED


def _bind(uow: UnitOfWork, event: QrisEvent, expectation_id: uuid.UUID) -> None:
    """Record which expectation the gateway's payment paid."""
    uow.conn.execute(
        sql(
            "UPDATE qris_payments SET expectation_id = :id"
            " WHERE provider = :provider AND provider_tx_id = :provider_tx_id"
        ),
        {"id": expectation_id, "provider": event.provider, "provider_tx_id": event.provider_tx_id},
    )


def _exception(
    uow: UnitOfWork,
    event: QrisEvent,
    kind: str,
    expectation_id: uuid.UUID | None,
    expected_sen: int | None,
    detail: str,
    now: datetime,
) -> None:
    exceptions.record(
        uow.conn,
        ExceptionLine(
            kind=kind,
            source="event",
            source_id=f"{event.provider}:{event.provider_tx_id}:{event.status}",
            business_date=business_day(event.paid_at or now),
            detail=f"{event.provider} {event.provider_tx_id}: {detail}",
            action=exceptions.ACTIONS[kind],
            expectation_id=expectation_id,
            rrn=event.rrn,
            reference=event.reference,
            nmid=event.nmid,
            expected_sen=expected_sen,
            actual_sen=event.fee_sen if kind == "fee_mismatch" else event.amount_sen,
        ),
    )
