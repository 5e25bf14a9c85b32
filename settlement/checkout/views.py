"""A checkout as its payers and its merchant read it: amounts at their asset's scale with the asset
named and the units beside them, times in ISO 8601, and for each leg what pays it (the Pi payment
parameters for ``Pi.createPayment``, the dynamic QRIS payload)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from escrow.calendar import iso_of_us
from escrow.money import asset as money_asset
from escrow.money import format_amount
from settlement.checkout import repository
from settlement.checkout.model import Checkout, Leg
from settlement.checkout.repository import LegExtras
from settlement.expectations import CHECKOUT_PURPOSE
from settlement.pi.expectations import payment_metadata
from settlement.rates.quotes import Quote, find_quotes
from settlement.tenders import Tender

pi_memo_chars_max = 64


def money(units: int, asset: str) -> dict[str, Any]:
    """``{"amount": "15000.00", "asset": "IDR", "amount_units": 1500000}``."""
    return {
        "amount": format_amount(units, money_asset(asset).scale),
        "asset": asset,
        "amount_units": units,
    }


@dataclass(frozen=True, slots=True)
class _Page:
    """What the answers of a page of checkouts read beyond the checkouts, each in one statement
    for the whole page: the legs' extras and their quotes (and the merchants' names, given)."""

    extras: Mapping[str, LegExtras]
    quotes: Mapping[uuid.UUID, Quote]
    names: Mapping[str, str]


def describe(
    conn: Connection, checkout: Checkout, merchant_name: str | None = None
) -> dict[str, Any]:
    """The checkout's answer (``api.routers.checkouts.CheckoutAnswer``)."""
    names = {checkout.merchant_id: merchant_name} if merchant_name is not None else {}
    return describe_page(conn, [checkout], names)[0]


def describe_opened(
    checkout: Checkout,
    merchant_name: str,
    extras: Mapping[str, LegExtras],
    quote: Quote | None,
) -> dict[str, Any]:
    """The answer of a checkout just opened, from what opening it wrote (nothing read back)."""
    quotes = {quote.id: quote} if quote is not None else {}
    return _checkout(_Page(extras, quotes, {checkout.merchant_id: merchant_name}), checkout)


def describe_page(
    conn: Connection, checkouts: Sequence[Checkout], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The answers of a page of checkouts, in a bounded number of statements whatever its size
    (``names``: the merchants' names by id, for the Pi memo)."""
    extras = repository.leg_extras(conn, [checkout.id for checkout in checkouts])
    quote_ids = sorted({e.quote_id for e in extras.values() if e.quote_id is not None})
    page = _Page(extras, find_quotes(conn, quote_ids), names)
    return [_checkout(page, checkout) for checkout in checkouts]


def _checkout(page: _Page, checkout: Checkout) -> dict[str, Any]:
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
        "created_at": iso_of_us(checkout.created_at_us),
        "expires_at": iso_of_us(checkout.expires_at_us),
        "paid_at": iso_of_us(checkout.paid_at_us),
        "release_at": iso_of_us(checkout.release_at_us),
        "closed_at": iso_of_us(checkout.closed_at_us),
        "legs": [_leg(page, checkout, leg) for leg in checkout.legs],
    }


def _leg(page: _Page, checkout: Checkout, leg: Leg) -> dict[str, Any]:
    extras = page.extras.get(leg.reference, LegExtras())
    answer: dict[str, Any] = {
        "reference": leg.reference,
        "tender": str(leg.tender),
        "share_bp": leg.share_bp,
        "status": str(leg.status),
        "value": money(leg.idr_units, "IDR"),
        "amount": money(leg.amount_units, leg.asset),
        "paid_at": iso_of_us(leg.paid_at_us),
        "quote": None,
        "pi_payment": None,
        "qris": None,
    }
    if leg.tender is Tender.PI:
        answer["quote"], answer["pi_payment"] = _pi(page, checkout, leg, extras)
    if leg.tender is Tender.QRIS and extras.qris_payload is not None:
        base = f"/v1/checkouts/{checkout.id}/qris"
        answer["qris"] = {
            "payload": extras.qris_payload,
            "svg_url": f"{base}.svg",
            "png_url": f"{base}.png",
        }
    return answer


def _pi(
    page: _Page, checkout: Checkout, leg: Leg, extras: LegExtras
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    quote = page.quotes.get(extras.quote_id) if extras.quote_id else None
    quote_answer = None
    if quote is not None:
        quote_answer = {
            "id": str(quote.id),
            "price": money(quote.price_units, quote.quote_asset),
            "base_asset": quote.base_asset,
            "source": quote.source,
            "observed_at": iso_of_us(quote.observed_at_us),
            "expires_at": iso_of_us(quote.expires_at_us),
        }
    name = page.names.get(checkout.merchant_id) or checkout.merchant_id
    memo = f"{name} {checkout.id}"[:pi_memo_chars_max]
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
