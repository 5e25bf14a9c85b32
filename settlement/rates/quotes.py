"""A quote locks a source's price for a window and records it (``rate_quotes``), so that every
amount converted at it names the rate id, the source and the time it was observed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from chain.rates.ports import RateSource, RateUnavailable
from escrow.calendar import from_us, to_us
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement.unit_of_work import UnitOfWork

observation_age_s_max = 300
"""A price observed longer ago than this is stale and quotes nothing."""


class RateRefused(Refusal, LookupError):
    """No fresh price to quote at: nothing is quoted, nothing written."""

    code = "rate_unavailable"


@dataclass(frozen=True, slots=True)
class Quote:
    """``price_units`` of ``quote_asset`` per whole ``base_asset``, until ``expires_at_us``."""

    id: uuid.UUID
    base_asset: str
    quote_asset: str
    price_units: int
    source: str
    observed_at_us: int
    created_at_us: int
    expires_at_us: int


def lock_quote(uow: UnitOfWork, source: RateSource, base: str, quote: str, ttl_s: int) -> Quote:
    """Ask ``source`` for the price (before any row is locked) and record it for ``ttl_s``."""
    try:
        seen = source.price(base, quote)
    except RateUnavailable as unavailable:
        raise RateRefused(str(unavailable)) from None
    now_us = uow.clock.now_us()
    if seen.price_units <= 0 or now_us - seen.observed_at_us > observation_age_s_max * 1_000_000:
        raise RateRefused(f"{source.name} has no fresh {base} price")
    locked = Quote(
        uuid.uuid4(),
        base,
        quote,
        seen.price_units,
        seen.source,
        seen.observed_at_us,
        now_us,
        now_us + ttl_s * 1_000_000,
    )
    uow.conn.execute(
        sql(
            "INSERT INTO rate_quotes (id, base_asset, quote_asset, price_units, source,"
            " observed_at, created_at, expires_at) VALUES (:id, :base, :quote, :price, :source,"
            " :observed, :created, :expires)"
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
        },
    )
    return locked


_QUOTE_COLUMNS = (
    "id, base_asset, quote_asset, price_units, source, observed_at, created_at, expires_at"
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
        )
        for row in rows
    }
