"""A conversion of Pi to MSC at a firm quote: asked for, then read (decision 0027).

``create`` takes a live PI to MSC quote the Pioneer holds, checks the limits of their tier and
the latest reserve computation, and expects the quote's Pi from them (an expectation with
purpose ``convert`` crediting ``conversions:PI``, open as long as the quote). One quote is one
conversion: asking again with the same quote answers the same conversion. States:
``quoted`` -> ``converted`` | ``refunded``, each with its time (``settlement.conversions.receipt``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from escrow.calendar import US_PER_S, from_us, iso_or_none
from escrow.money import asset, format_amount
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement import chart
from settlement.conversions.limits import require_within
from settlement.conversions.tiers import tier_of
from settlement.expectations import CONVERT_PURPOSE
from settlement.pi.expectations import create_expectation, payment_metadata
from settlement.rates.firm import QuoteRefused, find_firm_quote, require_live
from settlement.reserves.reserve import CoverageBelowFloor, latest
from settlement.unit_of_work import UnitOfWork

SELL_ASSET, BUY_ASSET = "PI", "MSC"
REFERENCE_PREFIX = "cnv_"
page_max = 100
"""Conversions per page of a listing."""


class ConversionStatus(StrEnum):
    """Where a conversion is in its life."""

    QUOTED = "quoted"
    CONVERTED = "converted"
    REFUNDED = "refunded"


class ConversionNotFound(Refusal, LookupError):
    """No conversion with this id (or not the asking Pioneer's)."""

    code = "conversion_not_found"


@dataclass(frozen=True, slots=True)
class Conversion:
    """One conversion row; amounts in smallest units (PI 1e-7, MSC sen)."""

    id: uuid.UUID
    uid: str
    quote_id: uuid.UUID
    reference: str
    sell_units: int
    buy_units: int
    tier: int
    status: ConversionStatus
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    payment_id: str | None
    converted_at: datetime | None
    converted_units: int | None
    fee_units: int | None
    requote_id: uuid.UUID | None
    refunded_at: datetime | None
    refund_code: str | None

    def view(self) -> dict[str, Any]:
        """The conversion as answered: amounts as decimal text and units, times ISO 8601."""
        return {
            "id": str(self.id),
            "uid": self.uid,
            "status": str(self.status),
            "quote_id": str(self.quote_id),
            "requote_id": None if self.requote_id is None else str(self.requote_id),
            "tier": self.tier,
            "sell_asset": SELL_ASSET,
            "sell_amount": format_amount(self.sell_units, asset(SELL_ASSET).scale),
            "sell_units": self.sell_units,
            "buy_asset": BUY_ASSET,
            "buy_amount": format_amount(self.buy_units, asset(BUY_ASSET).scale),
            "buy_units": self.buy_units,
            "converted_amount": None
            if self.converted_units is None
            else format_amount(self.converted_units, asset(BUY_ASSET).scale),
            "converted_units": self.converted_units,
            "fee_units": self.fee_units,
            "payment_id": self.payment_id,
            "refund_code": self.refund_code,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "paid_at": iso_or_none(self.paid_at),
            "converted_at": iso_or_none(self.converted_at),
            "refunded_at": iso_or_none(self.refunded_at),
            "metadata": payment_metadata(self.reference, CONVERT_PURPOSE),
        }


_COLUMNS = (
    "id, uid, quote_id, reference, sell_units, buy_units, tier, status, created_at, expires_at,"
    " paid_at, payment_id, converted_at, converted_units, fee_units, requote_id, refunded_at,"
    " refund_code"
)


def _of_row(row: Any) -> Conversion:  # noqa: ANN401 - a SQLAlchemy Row
    values = dict(row._mapping)
    values["status"] = ConversionStatus(values["status"])
    return Conversion(**values)


def create(uow: UnitOfWork, *, uid: str, quote_id: uuid.UUID) -> Conversion:
    """Convert at quote ``quote_id`` of Pioneer ``uid``: expect its Pi (idempotent by quote).

    Refused, nothing written: ``quote_not_found`` (no such quote, or another's),
    ``quote_pair_unsupported`` (not PI for MSC), ``quote_expired``,
    ``conversion_limit_exceeded``, ``reserve_coverage_below_floor`` (the latest computation)."""
    conn = uow.conn
    quote = find_firm_quote(conn, quote_id)
    if quote is None or quote.requested_by != f"pioneer:{uid}":
        raise QuoteRefused(f"no quote {quote_id}", code="quote_not_found")
    existing = _find_by_quote(conn, quote_id)
    if existing is not None:
        return existing
    if (quote.sell_asset, quote.buy_asset) != (SELL_ASSET, BUY_ASSET):
        raise QuoteRefused("a conversion sells PI for MSC", code="quote_pair_unsupported")
    now_us = uow.clock.now_us()
    require_live(quote, now_us)
    tier = tier_of(uow, uid)
    require_within(uow, uid, tier, quote.buy_units)
    computed = latest(conn)
    if computed is not None and computed.below_floor:
        raise CoverageBelowFloor(f"coverage {computed.coverage_bps} bps is below the floor")
    conversion_id = uuid.uuid4()
    reference = REFERENCE_PREFIX + conversion_id.hex
    remaining_s = max(1, -(-(quote.expires_at_us - now_us) // US_PER_S))
    expectation = create_expectation(
        uow,
        purpose=CONVERT_PURPOSE,
        amount_units=quote.sell_units,
        credit_account=chart.conversions_pi().code,
        payer_uid=uid,
        expires_in_s=remaining_s,
        reference=reference,
    )
    row = conn.execute(
        sql(
            "INSERT INTO conversions (id, uid, quote_id, reference, sell_units, buy_units, tier,"  # noqa: S608 - constant columns
            " created_at, expires_at) VALUES (:id, :uid, :quote, :ref, :sell, :buy, :tier,"
            f" :created, :expires) RETURNING {_COLUMNS}"
        ),
        {
            "id": conversion_id,
            "uid": uid,
            "quote": quote_id,
            "ref": reference,
            "sell": quote.sell_units,
            "buy": quote.buy_units,
            "tier": tier,
            "created": from_us(now_us),
            "expires": expectation.expires_at,
        },
    ).one()
    return _of_row(row)


def _find_by_quote(conn: Connection, quote_id: uuid.UUID) -> Conversion | None:
    row = conn.execute(
        sql(f"SELECT {_COLUMNS} FROM conversions WHERE quote_id = :q"),  # noqa: S608 - constant columns
        {"q": quote_id},
    ).first()
    return None if row is None else _of_row(row)


def find(conn: Connection, conversion_id: uuid.UUID) -> Conversion | None:
    """The conversion with this id."""
    row = conn.execute(
        sql(f"SELECT {_COLUMNS} FROM conversions WHERE id = :id"),  # noqa: S608 - constant columns
        {"id": conversion_id},
    ).first()
    return None if row is None else _of_row(row)


def find_by_reference(conn: Connection, reference: str, *, lock: bool) -> Conversion | None:
    """The conversion its expectation's ``reference`` names (``lock``: for update)."""
    suffix = " FOR UPDATE" if lock else ""
    row = conn.execute(
        sql(f"SELECT {_COLUMNS} FROM conversions WHERE reference = :ref{suffix}"),  # noqa: S608 - constant columns
        {"ref": reference},
    ).first()
    return None if row is None else _of_row(row)


def require(conn: Connection, conversion_id: uuid.UUID, reader_uid: str | None) -> Conversion:
    """The conversion for its Pioneer (``reader_uid``) or the treasury (None); anyone else, or
    no such conversion: ``conversion_not_found``."""
    found = find(conn, conversion_id)
    if found is None or (reader_uid is not None and found.uid != reader_uid):
        raise ConversionNotFound(f"no conversion {conversion_id}")
    return found


def page(
    conn: Connection,
    *,
    uid: str | None = None,
    status: ConversionStatus | None = None,
    limit: int = page_max,
) -> list[Conversion]:
    """Conversions newest first, optionally of one Pioneer and in one state."""
    if not 0 < limit <= page_max:
        raise ValueError(f"page size must be 1..{page_max}")
    rows = conn.execute(
        sql(
            f"SELECT {_COLUMNS} FROM conversions"  # noqa: S608 - constant columns
            " WHERE (CAST(:uid AS text) IS NULL OR uid = :uid)"
            " AND (CAST(:status AS text) IS NULL OR status = :status)"
            " ORDER BY created_at DESC, id DESC LIMIT :limit"
        ),
        {"uid": uid, "status": None if status is None else str(status), "limit": limit},
    ).all()
    return [_of_row(row) for row in rows]
