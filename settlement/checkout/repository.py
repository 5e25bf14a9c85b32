"""Checkouts in PostgreSQL: load (locked), insert, and store a decision with who and when.

Only the use cases of ``settlement.checkout.service`` call this module, always inside their unit
of work; it never commits. Every stored decision writes its ``checkout_events`` and
``checkout_refunds`` rows in the same transaction as the status it changes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row

from escrow.calendar import from_us, to_us
from escrow.sql import sql
from settlement.checkout.errors import CheckoutRefused
from settlement.checkout.model import Checkout, CheckoutStatus, Leg, LegStatus
from settlement.checkout.rules import Decision, Event, Refund
from settlement.tenders import Tender

_CHECKOUT_COLUMNS = (
    "id, merchant_id, merchant_reference, price_units, discount_units, campaign_id, pioneer_uid,"
    " status, created_at, expires_at, auto_release_s, paid_at, release_at, closed_at,"
    " (SELECT m.status = 'suspended' FROM merchants m WHERE m.id = checkouts.merchant_id)"
    " AS merchant_suspended"
)
_LEG_COLUMNS = (
    "reference, checkout_id, tender, asset, share_bp, idr_units, amount_units, status, payer,"
    " paid_at, external_ref"
)


@dataclass(frozen=True, slots=True)
class LegExtras:
    """What a leg's answer shows beyond its state: its quote and its dynamic QRIS payload."""

    quote_id: uuid.UUID | None = None
    qris_payload: str | None = None


def _us(moment: Any) -> int | None:  # noqa: ANN401 - a timestamptz column, or NULL
    return None if moment is None else to_us(moment)


def _at(timestamp_us: int | None) -> Any:  # noqa: ANN401 - bound as a timestamptz
    return None if timestamp_us is None else from_us(timestamp_us)


def _leg(row: Row[Any]) -> Leg:
    return Leg(
        row.reference,
        Tender(row.tender),
        row.asset,
        row.share_bp,
        row.idr_units,
        row.amount_units,
        LegStatus(row.status),
        row.payer,
        _us(row.paid_at),
        row.external_ref,
    )


def _checkout(row: Row[Any], legs: Sequence[Leg]) -> Checkout:
    return Checkout(
        id=row.id,
        merchant_id=row.merchant_id,
        price_units=row.price_units,
        discount_units=row.discount_units,
        campaign_id=row.campaign_id,
        pioneer_uid=row.pioneer_uid,
        status=CheckoutStatus(row.status),
        created_at_us=to_us(row.created_at),
        expires_at_us=to_us(row.expires_at),
        auto_release_s=row.auto_release_s,
        legs=tuple(legs),
        paid_at_us=_us(row.paid_at),
        release_at_us=_us(row.release_at),
        closed_at_us=_us(row.closed_at),
        merchant_reference=row.merchant_reference,
        merchant_suspended=bool(row.merchant_suspended),
    )


def load(conn: Connection, checkout_id: str, *, lock: bool) -> Checkout | None:
    """The checkout with its legs; ``lock`` holds its row until the transaction ends."""
    return _load(conn, "id = :id", {"id": checkout_id}, lock=lock)


def lock_of_leg(conn: Connection, reference: str) -> None:
    """Lock the row of the checkout ``reference`` is a leg of (one statement, nothing read)."""
    conn.execute(
        sql(
            "SELECT id FROM checkouts WHERE id ="
            " (SELECT checkout_id FROM checkout_legs WHERE reference = :ref) FOR UPDATE"
        ),
        {"ref": reference},
    )


def merchant_suspended_of_leg(conn: Connection, reference: str) -> bool:
    """Whether the merchant of the checkout ``reference`` is a leg of is suspended."""
    suspended = conn.execute(
        sql(
            "SELECT m.status = 'suspended' FROM checkout_legs l JOIN checkouts k"
            " ON k.id = l.checkout_id JOIN merchants m ON m.id = k.merchant_id"
            " WHERE l.reference = :ref"
        ),
        {"ref": reference},
    ).scalar_one_or_none()
    return bool(suspended)


def load_of_leg(conn: Connection, reference: str, *, lock: bool) -> Checkout | None:
    """The checkout ``reference`` is a leg of, found (and locked) in one statement."""
    where = "id = (SELECT checkout_id FROM checkout_legs WHERE reference = :ref)"
    return _load(conn, where, {"ref": reference}, lock=lock)


def _load(
    conn: Connection, where: str, params: Mapping[str, str], *, lock: bool
) -> Checkout | None:
    """The checkout row first (locked if asked, so the newest), then its legs in a statement of
    their own: after a wait for the lock, that one reads the legs as last committed."""
    suffix = " FOR UPDATE" if lock else ""
    row = conn.execute(
        sql(f"SELECT {_CHECKOUT_COLUMNS} FROM checkouts WHERE {where}{suffix}"),  # noqa: S608 - constant columns and conditions
        params,
    ).first()
    if row is None:
        return None
    legs = conn.execute(
        sql(f"SELECT {_LEG_COLUMNS} FROM checkout_legs WHERE checkout_id = :id ORDER BY position"),  # noqa: S608 - constant columns
        {"id": row.id},
    ).all()
    return _checkout(row, [_leg(leg) for leg in legs])


def leg_extras(conn: Connection, checkout_ids: Sequence[str]) -> dict[str, LegExtras]:
    """The quote id and QRIS payload of every leg of these checkouts, by reference (one
    statement)."""
    rows = conn.execute(
        sql(
            "SELECT reference, quote_id, qris_payload FROM checkout_legs"
            " WHERE checkout_id = ANY(:ids)"
        ),
        {"ids": list(checkout_ids)},
    ).all()
    return {row.reference: LegExtras(row.quote_id, row.qris_payload) for row in rows}


def insert(
    conn: Connection, checkout: Checkout, extras: Mapping[str, LegExtras], actor: str
) -> None:
    """Store a new checkout, its legs and its ``created`` event; a merchant reference already
    used by the merchant is ``checkout_reference_reused``."""
    inserted = conn.execute(
        sql(
            "INSERT INTO checkouts (id, merchant_id, merchant_reference, price_units,"
            " discount_units, campaign_id, pioneer_uid, status, created_at, created_by,"
            " expires_at, auto_release_s) VALUES (:id, :merchant, :reference, :price,"
            " :discount, :campaign, :pioneer, :status, :created, :actor, :expires, :release_s)"
            " ON CONFLICT (merchant_id, merchant_reference) DO NOTHING RETURNING id"
        ),
        {
            "id": checkout.id,
            "merchant": checkout.merchant_id,
            "reference": checkout.merchant_reference,
            "price": checkout.price_units,
            "discount": checkout.discount_units,
            "campaign": checkout.campaign_id,
            "pioneer": checkout.pioneer_uid,
            "status": checkout.status,
            "created": from_us(checkout.created_at_us),
            "actor": actor,
            "expires": from_us(checkout.expires_at_us),
            "release_s": checkout.auto_release_s,
        },
    )
    if inserted.first() is None:  # a concurrent twin waits for the first, then lands here
        raise CheckoutRefused(
            "checkout_reference_reused", f"{checkout.merchant_reference!r} names a checkout"
        )
    conn.execute(
        sql(
            "INSERT INTO checkout_legs (reference, checkout_id, position, tender, asset,"
            " share_bp, idr_units, amount_units, quote_id, qris_payload) VALUES (:reference,"
            " :checkout, :position, :tender, :asset, :share, :idr, :amount, :quote, :payload)"
        ),
        [
            {
                "reference": leg.reference,
                "checkout": checkout.id,
                "position": position,
                "tender": leg.tender,
                "asset": leg.asset,
                "share": leg.share_bp,
                "idr": leg.idr_units,
                "amount": leg.amount_units,
                "quote": extras[leg.reference].quote_id,
                "payload": extras[leg.reference].qris_payload,
            }
            for position, leg in enumerate(checkout.legs)
        ],
    )
    created = Event("created", None, checkout.status, None, {"price_units": checkout.price_units})
    _events(conn, checkout.id, (created,), actor, checkout.created_at_us)


def store(conn: Connection, before: Checkout, decision: Decision, actor: str, now_us: int) -> None:
    """Write what ``decision`` changed: the checkout row, its changed legs, events and refunds."""
    after = decision.checkout
    if after != before:
        conn.execute(
            sql(
                "UPDATE checkouts SET status = :status, paid_at = :paid, release_at = :release,"
                " closed_at = :closed WHERE id = :id"
            ),
            {
                "id": after.id,
                "status": after.status,
                "paid": _at(after.paid_at_us),
                "release": _at(after.release_at_us),
                "closed": _at(after.closed_at_us),
            },
        )
    changed = [leg for leg, old in zip(after.legs, before.legs, strict=True) if leg != old]
    if changed:
        conn.execute(
            sql(
                "UPDATE checkout_legs SET status = :status, payer = :payer, paid_at = :paid,"
                " external_ref = :ref WHERE reference = :reference"
            ),
            [
                {
                    "reference": leg.reference,
                    "status": leg.status,
                    "payer": leg.payer,
                    "paid": _at(leg.paid_at_us),
                    "ref": leg.external_ref,
                }
                for leg in changed
            ],
        )
    if decision.events:
        _events(conn, after.id, decision.events, actor, now_us)
    if decision.refunds:
        _refunds(conn, decision.refunds, now_us)


def _refunds(conn: Connection, refunds: Sequence[Refund], now_us: int) -> None:
    conn.execute(
        sql(
            "INSERT INTO checkout_refunds (transfer_id, checkout_id, leg_reference, cause,"
            " reason, asset, amount_units, payer, destination, status, created_at) VALUES"
            " (:id, :checkout, :leg, :cause, :reason, :asset, :amount, :payer, :destination,"
            " :status, :at) ON CONFLICT (transfer_id) DO NOTHING"
        ),
        [
            {
                "id": refund.transfer_id,
                "checkout": refund.checkout_id,
                "leg": refund.leg_reference,
                "cause": refund.cause,
                "reason": refund.reason,
                "asset": refund.asset,
                "amount": refund.amount_units,
                "payer": refund.payer,
                "destination": refund.destination,
                "status": refund_status(refund),
                "at": from_us(now_us),
            }
            for refund in refunds
        ],
    )


def refund_status(refund: Refund) -> str:
    """``owed`` (QRIS: paid by the payout batch), ``queued`` (Pi: an A2U follows) or ``paid``
    (MSC and points are back in the Pioneer's account)."""
    if refund.tender is Tender.QRIS:
        return "owed"
    return "queued" if refund.tender is Tender.PI else "paid"


def _events(
    conn: Connection, checkout_id: str, events: Sequence[Event], actor: str, at_us: int
) -> None:
    """Record ``events`` in their order, in one call (pipelined when there are several)."""
    conn.execute(
        sql(
            "INSERT INTO checkout_events (checkout_id, leg_reference, kind, from_status,"
            " to_status, actor, at, detail) VALUES (:checkout, :leg, :kind, :from_, :to,"
            " :actor, :at, CAST(:detail AS jsonb))"
        ),
        [
            {
                "checkout": checkout_id,
                "leg": event.leg_reference,
                "kind": event.kind,
                "from_": event.from_status,
                "to": event.to_status,
                "actor": actor,
                "at": from_us(at_us),
                "detail": json.dumps(dict(event.detail), sort_keys=True),
            }
            for event in events
        ],
    )


def events(conn: Connection, checkout_id: str) -> list[dict[str, Any]]:
    """The checkout's recorded steps, oldest first."""
    rows = conn.execute(
        sql(
            "SELECT kind, leg_reference, from_status, to_status, actor, at, detail"
            " FROM checkout_events WHERE checkout_id = :id ORDER BY id"
        ),
        {"id": checkout_id},
    ).mappings()
    return [dict(row) for row in rows]


_DUE = {
    CheckoutStatus.OPEN: ("expires_at", ""),
    CheckoutStatus.PAID: (
        "release_at",
        " AND NOT EXISTS (SELECT 1 FROM merchants m WHERE m.id = checkouts.merchant_id"
        " AND m.status = 'suspended')",
    ),
}
"""What the scheduler takes: open checkouts past expiry (a suspended merchant's too: its payers
get their money back), paid ones past their auto-release, except a suspended merchant's (its
escrow waits for the treasury or a reactivation, decision 0021)."""


def due(conn: Connection, status: CheckoutStatus, now_us: int, limit: int) -> list[str]:
    """Checkouts due for the scheduler: open past expiry, or paid past their auto-release."""
    column, unless = _DUE[status]
    rows = conn.execute(
        sql(
            f"SELECT id FROM checkouts WHERE status = :status AND {column} <= :now{unless}"  # noqa: S608 - from a fixed map
            f" ORDER BY {column} LIMIT :limit FOR UPDATE SKIP LOCKED"
        ),
        {"status": status, "now": from_us(now_us), "limit": limit},
    ).scalars()
    return [str(found) for found in rows]


def page(
    conn: Connection,
    merchant_id: str | None,
    status: CheckoutStatus | None,
    after: str,
    limit: int,
) -> list[Checkout]:
    """Checkouts in id order after ``after``, of one merchant (or all) and status (or any): the
    page's rows in one statement and all their legs in another, whatever the page's size."""
    rows = conn.execute(
        sql(
            f"SELECT {_CHECKOUT_COLUMNS} FROM checkouts WHERE id > :after"  # noqa: S608 - constant columns
            " AND (CAST(:merchant AS text) IS NULL OR merchant_id = :merchant)"
            " AND (CAST(:status AS text) IS NULL OR status = :status)"
            " ORDER BY id LIMIT :limit"
        ),
        {"after": after, "merchant": merchant_id, "status": status, "limit": limit},
    ).all()
    if not rows:
        return []
    legs: dict[str, list[Leg]] = {row.id: [] for row in rows}
    for leg in conn.execute(
        sql(
            f"SELECT {_LEG_COLUMNS} FROM checkout_legs WHERE checkout_id = ANY(:ids)"  # noqa: S608 - constant columns
            " ORDER BY checkout_id, position"
        ),
        {"ids": list(legs)},
    ):
        legs[leg.checkout_id].append(_leg(leg))
    return [_checkout(row, legs[row.id]) for row in rows]
