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
    """Store a new checkout, its legs and its ``created`` event in one statement; a merchant
    reference already used by the merchant is ``checkout_reference_reused`` (nothing stored)."""
    legs = checkout.legs
    created = Event("created", None, checkout.status, None, {"price_units": checkout.price_units})
    inserted = conn.execute(
        sql(
            "WITH k AS (INSERT INTO checkouts (id, merchant_id, merchant_reference, price_units,"  # noqa: S608 - constant parts
            " discount_units, campaign_id, pioneer_uid, status, created_at, created_by,"
            " expires_at, auto_release_s) VALUES (:id, :merchant, :reference, :price,"
            " :discount, :campaign, :pioneer, :status, :created, :actor, :expires, :release_s)"
            " ON CONFLICT (merchant_id, merchant_reference) DO NOTHING RETURNING id),"
            " l AS (INSERT INTO checkout_legs (reference, checkout_id, position, tender, asset,"
            " share_bp, idr_units, amount_units, quote_id, qris_payload)"
            " SELECT v.reference, k.id, v.n - 1, v.tender, v.asset, v.share, v.idr, v.amount,"
            " v.quote, v.payload FROM k, unnest(CAST(:leg_refs AS text[]),"
            " CAST(:leg_tenders AS text[]), CAST(:leg_assets AS text[]),"
            " CAST(:leg_shares AS int[]), CAST(:leg_idr AS bigint[]),"
            " CAST(:leg_amounts AS bigint[]), CAST(:leg_quotes AS uuid[]),"
            " CAST(:leg_payloads AS text[])) WITH ORDINALITY"
            " AS v(reference, tender, asset, share, idr, amount, quote, payload, n)),"
            f" e AS ({_EVENTS_FROM.format(gate='k, ')})"
            " SELECT id FROM k"
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
            "leg_refs": [leg.reference for leg in legs],
            "leg_tenders": [str(leg.tender) for leg in legs],
            "leg_assets": [leg.asset for leg in legs],
            "leg_shares": [leg.share_bp for leg in legs],
            "leg_idr": [leg.idr_units for leg in legs],
            "leg_amounts": [leg.amount_units for leg in legs],
            "leg_quotes": [extras[leg.reference].quote_id for leg in legs],
            "leg_payloads": [extras[leg.reference].qris_payload for leg in legs],
            **_event_params(checkout.id, (created,), actor, checkout.created_at_us),
        },
    )
    if inserted.first() is None:  # a concurrent twin waits for the first, then lands here
        raise CheckoutRefused(
            "checkout_reference_reused", f"{checkout.merchant_reference!r} names a checkout"
        )


_EVENTS_FROM = (
    "INSERT INTO checkout_events (checkout_id, leg_reference, kind, from_status, to_status,"
    " actor, at, detail) SELECT :event_checkout, v.leg, v.kind, v.from_, v.to_, :event_actor,"
    " :event_at, CAST(v.detail AS jsonb) FROM {gate}unnest(CAST(:event_legs AS text[]),"
    " CAST(:event_kinds AS text[]), CAST(:event_froms AS text[]), CAST(:event_tos AS text[]),"
    " CAST(:event_details AS text[])) WITH ORDINALITY AS v(leg, kind, from_, to_, detail, n)"
    " ORDER BY v.n"
)
"""The events in their order (ids follow it); ``gate`` (``"k, "``) writes them only if the
statement's ``k`` has a row."""


def _event_params(
    checkout_id: str, events: Sequence[Event], actor: str, at_us: int
) -> dict[str, object]:
    return {
        "event_checkout": checkout_id,
        "event_actor": actor,
        "event_at": from_us(at_us),
        "event_legs": [event.leg_reference for event in events],
        "event_kinds": [event.kind for event in events],
        "event_froms": [None if e.from_status is None else str(e.from_status) for e in events],
        "event_tos": [str(event.to_status) for event in events],
        "event_details": [json.dumps(dict(event.detail), sort_keys=True) for event in events],
    }


def store(conn: Connection, before: Checkout, decision: Decision, actor: str, now_us: int) -> None:
    """Write what ``decision`` changed, in one statement: the checkout row, its changed legs,
    its events and refunds."""
    after = decision.checkout
    parts: list[str] = []
    params: dict[str, object] = {}
    if after != before:
        parts.append(
            "k AS (UPDATE checkouts SET status = :status, paid_at = :paid, release_at = :release,"
            " closed_at = :closed WHERE id = :id)"
        )
        params |= {
            "id": after.id,
            "status": str(after.status),
            "paid": _at(after.paid_at_us),
            "release": _at(after.release_at_us),
            "closed": _at(after.closed_at_us),
        }
    changed = [leg for leg, old in zip(after.legs, before.legs, strict=True) if leg != old]
    if changed:
        parts.append(
            "l AS (UPDATE checkout_legs AS t SET status = v.status, payer = v.payer,"
            " paid_at = v.paid, external_ref = v.ref FROM unnest(CAST(:leg_refs AS text[]),"
            " CAST(:leg_statuses AS text[]), CAST(:leg_payers AS text[]),"
            " CAST(:leg_paid AS timestamptz[]), CAST(:leg_external AS text[]))"
            " AS v(reference, status, payer, paid, ref) WHERE t.reference = v.reference)"
        )
        params |= {
            "leg_refs": [leg.reference for leg in changed],
            "leg_statuses": [str(leg.status) for leg in changed],
            "leg_payers": [leg.payer for leg in changed],
            "leg_paid": [_at(leg.paid_at_us) for leg in changed],
            "leg_external": [leg.external_ref for leg in changed],
        }
    if decision.events:
        parts.append(f"e AS ({_EVENTS_FROM.format(gate='')})")
        params |= _event_params(after.id, decision.events, actor, now_us)
    if decision.refunds:
        parts.append(f"r AS ({_REFUNDS})")
        params |= _refund_params(decision.refunds, now_us)
    if parts:
        conn.execute(sql("WITH " + ", ".join(parts) + " SELECT 1"), params)


_REFUNDS = (
    "INSERT INTO checkout_refunds (transfer_id, checkout_id, leg_reference, cause, reason,"
    " asset, amount_units, payer, destination, status, created_at) SELECT v.*, :refund_at"
    " FROM unnest(CAST(:refund_ids AS uuid[]), CAST(:refund_checkouts AS text[]),"
    " CAST(:refund_legs AS text[]), CAST(:refund_causes AS text[]),"
    " CAST(:refund_reasons AS text[]), CAST(:refund_assets AS text[]),"
    " CAST(:refund_amounts AS bigint[]), CAST(:refund_payers AS text[]),"
    " CAST(:refund_destinations AS text[]), CAST(:refund_statuses AS text[])) AS v"
    " ON CONFLICT (transfer_id) DO NOTHING"
)


def _refund_params(refunds: Sequence[Refund], now_us: int) -> dict[str, object]:
    return {
        "refund_at": from_us(now_us),
        "refund_ids": [refund.transfer_id for refund in refunds],
        "refund_checkouts": [refund.checkout_id for refund in refunds],
        "refund_legs": [refund.leg_reference for refund in refunds],
        "refund_causes": [refund.cause for refund in refunds],
        "refund_reasons": [str(refund.reason) for refund in refunds],
        "refund_assets": [refund.asset for refund in refunds],
        "refund_amounts": [refund.amount_units for refund in refunds],
        "refund_payers": [refund.payer for refund in refunds],
        "refund_destinations": [refund.destination for refund in refunds],
        "refund_statuses": [refund_status(refund) for refund in refunds],
    }


def refund_status(refund: Refund) -> str:
    """``owed`` (QRIS: paid by the payout batch), ``queued`` (Pi: an A2U follows) or ``paid``
    (MSC and points are back in the Pioneer's account)."""
    if refund.tender is Tender.QRIS:
        return "owed"
    return "queued" if refund.tender is Tender.PI else "paid"


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
