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
from escrow import model
from escrow.calendar import business_day, from_us, to_us
from escrow.model import TransferRequest
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement.checkout.receipts import leg_paid, lock_leg
from settlement.expectations import CHECKOUT_PURPOSE
from settlement.qris import exceptions
from settlement.qris.accounts import ensure_rail_accounts
from settlement.qris.exceptions import ExceptionLine
from settlement.qris.matching import (
    AMOUNT_AGREES,
    BY_REFERENCE,
    IN_WINDOW,
    LATE,
    PAYABLE,
    STATIC_KEY,
    STATIC_ORDER,
    STATIC_PAYABLE,
)
from settlement.qris.mdr import price
from settlement.qris.posting import (
    PAYMENT_RECEIPT_NAMESPACE,
    Receipt,
    post_receipts,
    post_transfer_groups,
    receipt_transfers,
    transfers_for,
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


# The matching rule of ``settlement.qris.matching`` applied to one payment ``p``; a reference
# already paid is found too, so that a second source of the same payment changes nothing.
_PAYMENT = """(SELECT CAST(:reference AS text) AS reference, CAST(:nmid AS text) AS nmid,
    CAST(:amount AS bigint) AS amount_sen, CAST(:at AS timestamptz) AS transacted_at) p"""
_MATCHED = f"""SELECT e.id AS expectation_id, e.amount_sen, e.credit_account, e.criteria,
    e.expires_at, e.status, e.purpose, e.reference, e.matched_tx_id, e.matched_rrn,
    {AMOUNT_AGREES} AS amount_agrees, {LATE} AS late
    FROM qris_expectations e, {_PAYMENT}"""  # noqa: S608 - constant SQL
_MATCH_BY_REFERENCE = f"""
    {_MATCHED} WHERE {BY_REFERENCE} AND ({PAYABLE} OR e.status = 'paid') FOR UPDATE OF e
"""
_MATCH_STATIC = f"""
    {_MATCHED} WHERE {STATIC_PAYABLE} AND {STATIC_KEY} AND {IN_WINDOW}
    ORDER BY {STATIC_ORDER} LIMIT 1 FOR UPDATE OF e SKIP LOCKED
"""
_MARK_PAID = f"""
    UPDATE qris_expectations e SET status = 'paid', matched_source = 'event', matched_rrn = :rrn,
        matched_tx_id = :provider_tx_id, paid_at = :paid_at, gross_sen = :gross, fee_sen = :fee
    WHERE e.id = :id AND {PAYABLE}
"""  # noqa: S608 - constant SQL


def _apply_paid(uow: UnitOfWork, event: QrisEvent, now: datetime) -> Outcome:
    paid_at = event.paid_at or now
    params = {"reference": event.reference, "nmid": event.nmid, "amount": event.amount_sen,
              "at": paid_at}  # fmt: skip
    row = None
    if event.reference:
        row = uow.conn.execute(sql(_MATCH_BY_REFERENCE), params).mappings().first()
    if row is None and event.nmid:
        row = uow.conn.execute(sql(_MATCH_STATIC), params).mappings().first()
    if row is None:
        _exception(uow, event, "unmatched_event", None, None, "no open expectation", now)
        return Outcome.EXCEPTION
    expectation_id: uuid.UUID = row["expectation_id"]
    checkout_leg = row["purpose"] == CHECKOUT_PURPOSE
    if checkout_leg:
        lock_leg(uow, row["reference"])  # the checkout's row before the escrow account's
        seen = _seen_before(row, event)
        if seen is None:
            detail = "a payment of a paid checkout leg with no RRN or transaction id to compare"
            _exception(uow, event, "duplicate", expectation_id, row["amount_sen"], detail, now)
            return Outcome.EXCEPTION
        if not seen and (row["status"] == "paid" or event.amount_sen < row["amount_sen"]):
            return _book_for_refund(uow, event, row, paid_at, now)
    if row["status"] == "paid":
        return Outcome.RECORDED  # the acquirer report (or another gateway) matched it first
    if not row["amount_agrees"] and not checkout_leg:
        detail = "paid amount differs from the expectation"
        _exception(uow, event, "amount_mismatch", expectation_id, row["amount_sen"], detail, now)
        return Outcome.EXCEPTION
    fee = _fee(uow, event, row["criteria"], paid_at, expectation_id, now)
    receipt = Receipt(expectation_id, row["credit_account"], event.amount_sen, fee, event.rrn,
                      "event")  # fmt: skip
    ensure_rail_accounts(uow.ledger)
    post_receipts(uow, [receipt])
    booked = _booked(uow, transfers_for(receipt))
    uow.conn.execute(
        sql(_MARK_PAID),
        {"id": expectation_id, "rrn": event.rrn, "provider_tx_id": event.provider_tx_id,
         "paid_at": paid_at, "gross": event.amount_sen, "fee": fee},
    )  # fmt: skip
    uow.conn.execute(
        sql(
            "UPDATE qris_payments SET expectation_id = :id"
            " WHERE provider = :provider AND provider_tx_id = :provider_tx_id"
        ),
        {"id": expectation_id, "provider": event.provider, "provider_tx_id": event.provider_tx_id},
    )
    if row["late"]:
        detail = f"paid at {paid_at.isoformat()} after expiry {row['expires_at'].isoformat()}"
        _exception(uow, event, "late", expectation_id, row["amount_sen"], detail, now)
    if checkout_leg and booked:  # money in suspense is not the escrow's to hold
        leg_paid(uow, row["reference"], event.amount_sen, None, _payment_ref(event),
                 to_us(paid_at))  # fmt: skip
    return Outcome.POSTED


def _payment_ref(event: QrisEvent) -> str:
    return f"qris:{event.provider}:{event.provider_tx_id}"


def _booked(uow: UnitOfWork, transfers: list[TransferRequest]) -> bool:
    """Whether a receipt's transfers reached their credit account (not suspense)."""
    return all(uow.ledger.transfer(request.id) is not None for request in transfers)


def _seen_before(row: RowMapping, event: QrisEvent) -> bool | None:
    """Whether this payment is the one that already paid the leg (the same payment seen again,
    from the report or another notification): by RRN when both sides carry one, else by the
    gateway's transaction id; False for a leg not yet paid; None when nothing can tell."""
    if row["status"] != "paid":
        return False
    if row["matched_rrn"] is not None and event.rrn is not None:
        same_rrn: bool = row["matched_rrn"] == event.rrn
        return same_rrn
    if row["matched_tx_id"] is not None:
        same_tx: bool = row["matched_tx_id"] == event.provider_tx_id
        return same_tx
    return None


def _book_for_refund(
    uow: UnitOfWork, event: QrisEvent, row: RowMapping, paid_at: datetime, now: datetime
) -> Outcome:
    """Book a checkout leg's payment the leg cannot take under the payment's own id (the
    expectation stays as it is) and hand it to the checkout, which refunds it."""
    fee = _fee(uow, event, row["criteria"], paid_at, row["expectation_id"], now)
    key = _payment_ref(event)
    ensure_rail_accounts(uow.ledger)
    transfers = receipt_transfers(
        row["expectation_id"], model.transfer_id(PAYMENT_RECEIPT_NAMESPACE, key),
        row["credit_account"], event.amount_sen, fee, event.rrn, "event", mdr_key=key,
    )  # fmt: skip
    post_transfer_groups(uow, [transfers])
    if _booked(uow, transfers):
        leg_paid(uow, row["reference"], event.amount_sen, None, key, to_us(paid_at))
    return Outcome.POSTED


def _fee(
    uow: UnitOfWork,
    event: QrisEvent,
    criteria: str,
    paid_at: datetime,
    expectation_id: uuid.UUID,
    now: datetime,
) -> int:
    """The fee booked (``settlement.qris.mdr``); a reported fee off the schedule is listed."""
    mdr = price(uow.conn, criteria, event.amount_sen, event.fee_sen, business_day(paid_at))
    if mdr.disputed:
        detail = f"reported MDR {event.fee_sen} sen, schedule {mdr.floor_sen} sen"
        _exception(uow, event, "fee_mismatch", expectation_id, mdr.floor_sen, detail, now)
    return mdr.fee_sen


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
