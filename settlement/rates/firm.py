"""Firm quotes in the shape of Stellar SEP-38 (decision 0022): a Pioneer sells Pi for MSC (or
Rupiah) at the panel's median, less the treasury's spread taken as a fee in Pi; the quote is held
until ``expires_at`` and can be read after.

Given the Pi sold ``S`` (units of 1e-7 PI), the rate ``R`` (sen per 1 PI) and the spread ``bp``:
the fee is ``ceil(S * bp / 10000)`` and the MSC bought ``floor((S - fee) * R / 10**7)``. Given
the MSC bought ``B``, the Pi it needs is ``net = ceil(B * 10**7 / R)`` and the Pi sold
``S = ceil(net * 10000 / (10000 - bp))`` with fee ``S - net``. Every rounding is the ledger's
side: the Pioneer never gets a unit more, nor pays a unit less, than the exact price says, and
the two ways agree (quoting ``S`` back buys at least ``B``). In SEP-38's terms the fee is in the
sell asset, so ``sell_amount - fee = price * buy_amount`` (up to the buy asset's decimals) and
``total_price = sell_amount / buy_amount``.

The conversion feature calls ``firm_quote`` and ``find_firm_quote``, and ``require_live`` when
a Pi payment arrives for one.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection

from escrow.calendar import from_us, to_us
from escrow.money import UNITS_MAX, asset, format_amount, parse_amount
from escrow.prices import ratio_text
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement import parameters
from settlement.rates.median import BP
from settlement.rates.panel import RatePanel
from settlement.rates.quotes import Quote, find_quote, lock_quote
from settlement.unit_of_work import UnitOfWork

SELL_ASSETS = frozenset({"PI"})
BUY_ASSETS = {"MSC": "IDR", "IDR": "IDR"}
"""What a Pi quote buys, and the asset its rate is quoted in: MSC is Rupiah 1:1 (same scale)."""
price_decimals = 12
"""Decimals of the ``price`` and ``total_price`` text (rounded half-even; the amounts are exact)."""
requester_chars_max = 128
SPREAD_FEE = "spread"


class QuoteRefused(Refusal, ValueError):
    """A quote that cannot be made or used; nothing quoted. ``code`` is stable."""

    code = "quote_invalid"


@dataclass(frozen=True, slots=True)
class FeeDetail:
    """One part of a quote's fee (SEP-38 ``fee.details[]``)."""

    name: str
    units: int
    description: str


@dataclass(frozen=True, slots=True)
class FirmQuote:
    """A firm quote: ``sell_units`` of ``sell_asset`` for ``buy_units`` of ``buy_asset`` at the
    locked ``rate`` less ``fee_units`` of ``fee_asset`` (the sum of ``fee_details``), held
    until ``expires_at_us``. ``given`` says which amount the requester named."""

    id: uuid.UUID
    requested_by: str
    sell_asset: str
    sell_units: int
    buy_asset: str
    buy_units: int
    given: Literal["sell", "buy"]
    fee_asset: str
    fee_units: int
    fee_details: tuple[FeeDetail, ...]
    spread_bp: int
    rate: Quote
    created_at_us: int
    expires_at_us: int

    def is_live(self, now_us: int) -> bool:
        """Whether the quote still holds at ``now_us`` (until ``expires_at`` inclusive)."""
        return now_us <= self.expires_at_us


@dataclass(frozen=True, slots=True)
class Priced:
    """The amounts of a quote before it is stored."""

    sell_units: int
    buy_units: int
    fee_units: int


def amount_units(text: str, code: str) -> int:
    """Exact units of decimal ``text`` in asset ``code`` (``asset_unknown``, ``amount_*``)."""
    return parse_amount(text, asset(code).scale)


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def price_sell(sell_units: int, rate_units: int, spread_bp: int, sell_scale: int) -> Priced:
    """What ``sell_units`` buy at ``rate_units`` (buy units per whole sell unit) less the spread."""
    fee = _ceil_div(sell_units * spread_bp, BP)
    bought = (sell_units - fee) * rate_units // 10**sell_scale
    return Priced(sell_units, bought, fee)


def price_buy(buy_units: int, rate_units: int, spread_bp: int, sell_scale: int) -> Priced:
    """What buying ``buy_units`` costs at ``rate_units`` plus the spread."""
    net = _ceil_div(buy_units * 10**sell_scale, rate_units)
    sold = _ceil_div(net * BP, BP - spread_bp)
    return Priced(sold, buy_units, sold - net)


def firm_quote(
    uow: UnitOfWork,
    panel: RatePanel,
    *,
    requested_by: str,
    sell_asset: str,
    buy_asset: str,
    sell_units: int | None = None,
    buy_units: int | None = None,
    ttl_s: int,
) -> FirmQuote:
    """Quote selling ``sell_units`` (or buying ``buy_units``: exactly one) and hold it ``ttl_s``.

    Refused: ``quote_pair_unsupported``, ``quote_amount_invalid`` (neither or both amounts, or
    one out of range), ``quote_amount_too_small`` (nothing bought after the fee), and the
    panel's ``rate_stale`` / ``rate_sources_insufficient`` / ``rate_spread_exceeded``.
    """
    if not 1 <= len(requested_by) <= requester_chars_max:
        raise ValueError(f"requested_by is 1 to {requester_chars_max} characters")
    if sell_asset not in SELL_ASSETS or buy_asset not in BUY_ASSETS:
        raise QuoteRefused(
            f"quotes sell {', '.join(sorted(SELL_ASSETS))} for {', '.join(sorted(BUY_ASSETS))},"
            f" not {sell_asset} for {buy_asset}",
            code="quote_pair_unsupported",
        )
    given = _given(sell_units, buy_units)
    spread_bp = parameters.quote_spread_bp(uow.conn)
    rate = lock_quote(uow, panel, sell_asset, BUY_ASSETS[buy_asset], ttl_s)
    if sell_units is not None:
        priced = price_sell(sell_units, rate.price_units, spread_bp, asset(sell_asset).scale)
    else:
        priced = price_buy(buy_units or 0, rate.price_units, spread_bp, asset(sell_asset).scale)
    if priced.sell_units > UNITS_MAX or priced.buy_units > UNITS_MAX:
        raise QuoteRefused("the amount is more than the ledger holds", code="quote_amount_invalid")
    if priced.buy_units <= 0:
        raise QuoteRefused("the amount buys nothing after the fee", code="quote_amount_too_small")
    detail = FeeDetail(
        SPREAD_FEE, priced.fee_units, f"The treasury's spread of {spread_bp} bp of the Pi sold."
    )
    quote = FirmQuote(
        rate.id,
        requested_by,
        sell_asset,
        priced.sell_units,
        buy_asset,
        priced.buy_units,
        given,
        sell_asset,
        priced.fee_units,
        (detail,),
        spread_bp,
        rate,
        rate.created_at_us,
        rate.expires_at_us,
    )
    _insert(uow.conn, quote)
    return quote


def _given(sell_units: int | None, buy_units: int | None) -> Literal["sell", "buy"]:
    if (sell_units is None) == (buy_units is None):
        raise QuoteRefused("name sell_amount or buy_amount, not both", code="quote_amount_invalid")
    units = sell_units if sell_units is not None else buy_units
    if isinstance(units, bool) or not isinstance(units, int) or not 0 < units <= UNITS_MAX:
        raise QuoteRefused(f"an amount is 1 to {UNITS_MAX} units", code="quote_amount_invalid")
    return "sell" if sell_units is not None else "buy"


def _insert(conn: Connection, quote: FirmQuote) -> None:
    details = [
        {"name": d.name, "units": d.units, "description": d.description} for d in quote.fee_details
    ]
    conn.execute(
        sql(
            "INSERT INTO firm_quotes (id, requested_by, sell_asset, sell_units, buy_asset,"
            " buy_units, given, fee_asset, fee_units, fee_details, spread_bp, created_at,"
            " expires_at) VALUES (:id, :by, :sell_asset, :sell, :buy_asset, :buy, :given,"
            " :fee_asset, :fee, CAST(:details AS jsonb), :spread, :created, :expires)"
        ),
        {
            "id": quote.id,
            "by": quote.requested_by,
            "sell_asset": quote.sell_asset,
            "sell": quote.sell_units,
            "buy_asset": quote.buy_asset,
            "buy": quote.buy_units,
            "given": quote.given,
            "fee_asset": quote.fee_asset,
            "fee": quote.fee_units,
            "details": json.dumps(details),
            "spread": quote.spread_bp,
            "created": from_us(quote.created_at_us),
            "expires": from_us(quote.expires_at_us),
        },
    )


def find_firm_quote(conn: Connection, quote_id: uuid.UUID) -> FirmQuote | None:
    """The stored firm quote with this id (expired ones too), or None."""
    row = conn.execute(
        sql(
            "SELECT id, requested_by, sell_asset, sell_units, buy_asset, buy_units, given,"
            " fee_asset, fee_units, fee_details, spread_bp, created_at, expires_at"
            " FROM firm_quotes WHERE id = :id"
        ),
        {"id": quote_id},
    ).first()
    rate = find_quote(conn, quote_id) if row is not None else None
    if row is None or rate is None:
        return None
    details = tuple(
        FeeDetail(d["name"], int(d["units"]), d["description"]) for d in row.fee_details
    )
    return FirmQuote(
        row.id,
        row.requested_by,
        row.sell_asset,
        row.sell_units,
        row.buy_asset,
        row.buy_units,
        row.given,
        row.fee_asset,
        row.fee_units,
        details,
        row.spread_bp,
        rate,
        to_us(row.created_at),
        to_us(row.expires_at),
    )


def require_live(quote: FirmQuote | None, now_us: int) -> FirmQuote:
    """``quote`` if it exists and still holds; else ``quote_not_found`` / ``quote_expired``."""
    if quote is None:
        raise QuoteRefused("no such quote", code="quote_not_found")
    if not quote.is_live(now_us):
        raise QuoteRefused(f"quote {quote.id} expired", code="quote_expired")
    return quote


def sep38(quote: FirmQuote) -> dict[str, Any]:
    """The quote as SEP-38 answers it: amounts as decimal text at each asset's scale, ``price``
    (sell per one buy, without the fee) and ``total_price`` (with it), plus the locked rate."""
    sell, buy = asset(quote.sell_asset), asset(quote.buy_asset)
    rate_asset = asset(quote.rate.quote_asset)
    return {
        "id": str(quote.id),
        "expires_at": from_us(quote.expires_at_us).isoformat(),
        "price": ratio_text(10**buy.scale, quote.rate.price_units, price_decimals),
        "total_price": ratio_text(
            quote.sell_units * 10**buy.scale, quote.buy_units * 10**sell.scale, price_decimals
        ),
        "sell_asset": quote.sell_asset,
        "sell_amount": format_amount(quote.sell_units, sell.scale),
        "buy_asset": quote.buy_asset,
        "buy_amount": format_amount(quote.buy_units, buy.scale),
        "fee": {
            "total": format_amount(quote.fee_units, asset(quote.fee_asset).scale),
            "asset": quote.fee_asset,
            "details": [
                {
                    "name": d.name,
                    "amount": format_amount(d.units, asset(quote.fee_asset).scale),
                    "description": d.description,
                }
                for d in quote.fee_details
            ],
        },
        "given": quote.given,
        "rate": {
            "price": format_amount(quote.rate.price_units, rate_asset.scale),
            "asset": rate_asset.code,
            "base_asset": quote.rate.base_asset,
            "source": quote.rate.source,
            "observed_at": from_us(quote.rate.observed_at_us).isoformat(),
            "reading_ids": list(quote.rate.reading_ids),
        },
        "created_at": from_us(quote.created_at_us).isoformat(),
    }
