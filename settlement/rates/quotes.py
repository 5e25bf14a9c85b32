"""A rate quote locks the panel's median for a window and records it (``rate_quotes``) with the
readings it is the median of, so that every amount converted at it names the rate id, its
sources and when they observed it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from escrow.calendar import US_PER_S, from_us, to_us
from escrow.sql import sql
from settlement.rates.median import RateRefused
from settlement.rates.panel import RatePanel, current_price
from settlement.unit_of_work import UnitOfWork

__all__ = ["Quote", "RateRefused", "find_quote", "find_quotes", "lock_quote"]


@dataclass(frozen=True, slots=True)
class Quote:
    """``price_units`` of ``quote_asset`` per whole ``base_asset``, until ``expires_at_us``;
    ``source`` is the one source's name or ``median``, ``reading_ids`` the readings used."""

    id: uuid.UUID
    base_asset: str
    quote_asset: str
    price_units: int
    source: str
    observed_at_us: int
    created_at_us: int
    expires_at_us: int
    reading_ids: tuple[int, ...] = ()


def lock_quote(uow: UnitOfWork, panel: RatePanel, base: str, quote: str, ttl_s: int) -> Quote:
    """The panel's median now (sources asked before any row is locked), held for ``ttl_s``;
    ``RateRefused`` (``rate_stale``, ``rate_sources_insufficient``, ``rate_spread_exceeded``)."""
    median = current_price(uow, panel, base, quote)
    now_us = uow.clock.now_us()
    locked = Quote(
        uuid.uuid4(),
        base,
        quote,
        median.price_units,
        median.source,
        median.observed_at_us,
        now_us,
        now_us + ttl_s * US_PER_S,
        tuple(r.id for r in median.used),
    )
    uow.conn.execute(
        sql(
            "INSERT INTO rate_quotes (id, base_asset, quote_asset, price_units, source,"
            " observed_at, created_at, expires_at, reading_ids) VALUES (:id, :base, :quote,"
            " :price, :source, :observed, :created, :expires, :readings)"
        ),
        {
            "id": locked.id,
            "base": base,
            "quote": quote,
            "price": locked.price_units,
            "source": locked.source,
            "observed": from_us(locked.observed_at_us),
            "created": from_us(now_us),
            "expires": from_us(locked.expires_at_us),
            "readings": list(locked.reading_ids),
        },
    )
    return locked


_QUOTE_COLUMNS = (
    "id, base_asset, quote_asset, price_units, source, observed_at, created_at, expires_at,"
    " reading_ids"
)


def find_quotes(conn: Connection, quote_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Quote]:
    """The recorded quotes with these ids, by id (one statement; none asked, none read)."""
    if not quote_ids:
        return {}
    rows = conn.execute(
        sql(f"SELECT {_QUOTE_COLUMNS} FROM rate_quotes WHERE id = ANY(:ids)"),  # noqa: S608 - constant columns
        {"ids": list(quote_ids)},
    )
    return {
        row.id: Quote(
            row.id,
            row.base_asset,
            row.quote_asset,
            row.price_units,
            row.source,
            to_us(row.observed_at),
            to_us(row.created_at),
            to_us(row.expires_at),
            tuple(row.reading_ids),
        )
        for row in rows
    }


def find_quote(conn: Connection, quote_id: uuid.UUID) -> Quote | None:
    """The recorded quote with this id."""
    return find_quotes(conn, [quote_id]).get(quote_id)
