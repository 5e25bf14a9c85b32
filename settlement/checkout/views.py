"""A checkout as its payers and its merchant read it: amounts at their asset's scale with the asset
named and the units beside them, times in ISO 8601, and for each leg what pays it (the Pi payment
parameters for ``Pi.createPayment``, the dynamic QRIS payload)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from escrow.calendar import from_us
from escrow.money import asset as money_asset
from escrow.money import format_amount
from settlement.checkout import repository
from settlement.checkout.model import Checkout, Leg
from settlement.checkout.repository import LegExtras
from settlement.expectations import CHECKOUT_PURPOSE
from settlement.pi.expectations import payment_metadata
from settlement.rates.quotes import find_quote
from settlement.tenders import Tender

pi_memo_chars_max = 64


def money(units: int, asset: str) -> dict[str, Any]:
    """``{"amount": "15000.00", "asset": "IDR", "amount_units": 1500000}``."""
    return {
        "amount": format_amount(units, money_asset(asset).scale),
        "asset": asset,
        "amount_units": units,
    }


def _iso(timestamp_us: int | None) -> str | None:
    return None if timestamp_us is None else from_us(timestamp_us).isoformat()


def describe(
    conn: Connection, checkout: Checkout, merchant_name: str | None = None
) -> dict[str, Any]:
    """The checkout's answer (``api.routers.checkouts.CheckoutAnswer``)."""
    extras = repository.leg_extras(conn, checkout.id)
    return {
        "id": checkout.id,
        "merchant_id": checkout.merchant_id,
        "merchant_reference": checkout.merchant_reference,
        "status": str(checkout.status),
        "price": money(checkout.price_units, "IDR"),
        "discount": money(checkout.discount_units, "IDR"),
        "payable": money(checkout.payable_units, "IDR"),
        "campaign_id": checkout.campaign_id,
        "pioneer_uid": checkout.pioneer_uid,
        "created_at": _iso(checkout.created_at_us),
        "expires_at": _iso(checkout.expires_at_us),
        "paid_at": _iso(checkout.paid_at_us),
        "release_at": _iso(checkout.release_at_us),
        "closed_at": _iso(checkout.closed_at_us),
        "legs": [
            _leg(conn, checkout, leg, extras.get(leg.reference, LegExtras()), merchant_name)
            for leg in checkout.legs
        ],
    }


def _leg(
    conn: Connection, checkout: Checkout, leg: Leg, extras: LegExtras, merchant_name: str | None
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "reference": leg.reference,
        "tender": str(leg.tender),
        "share_bp": leg.share_bp,
        "status": str(leg.status),
        "value": money(leg.idr_units, "IDR"),
        "amount": money(leg.amount_units, leg.asset),
        "paid_at": _iso(leg.paid_at_us),
        "quote": None,
        "pi_payment": None,
        "qris": None,
    }
    if leg.tender is Tender.PI:
        answer["quote"], answer["pi_payment"] = _pi(conn, checkout, leg, extras, merchant_name)
    if leg.tender is Tender.QRIS and extras.qris_payload is not None:
        base = f"/v1/checkouts/{checkout.id}/qris"
        answer["qris"] = {
            "payload": extras.qris_payload,
            "svg_url": f"{base}.svg",
            "png_url": f"{base}.png",
        }
    return answer


def _pi(
    conn: Connection, checkout: Checkout, leg: Leg, extras: LegExtras, merchant_name: str | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    quote = find_quote(conn, extras.quote_id) if extras.quote_id else None
    quote_answer = None
    if quote is not None:
        quote_answer = {
            "id": str(quote.id),
            "price": money(quote.price_units, quote.quote_asset),
            "base_asset": quote.base_asset,
            "source": quote.source,
            "observed_at": _iso(quote.observed_at_us),
            "expires_at": _iso(quote.expires_at_us),
        }
    memo = f"{merchant_name or checkout.merchant_id} {checkout.id}"[:pi_memo_chars_max]
    payment = {
        "amount": format_amount(leg.amount_units, money_asset("PI").scale),
        "memo": memo,
        "metadata": payment_metadata(leg.reference, CHECKOUT_PURPOSE),
    }
    return quote_answer, payment


def history(conn: Connection, checkout_id: str) -> list[dict[str, Any]]:
    """The checkout's recorded steps (who, when, from, to), oldest first."""
    return [
        {
            "kind": row["kind"],
            "leg": row["leg_reference"],
            "from_status": row["from_status"],
            "to_status": row["to_status"],
            "actor": row["actor"],
            "at": row["at"].isoformat(),
            "detail": row["detail"],
        }
        for row in repository.events(conn, checkout_id)
    ]
