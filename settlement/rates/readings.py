"""Every price reading, stored (``rate_readings``): what a source said (a price in sen per 1 PI
with when it was observed), or why it said nothing, and when it was fetched. A treasury-set rate
is a reading of the source ``treasury``, entered by an officer and fresh until its ``valid_until``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from chain.rates.ports import PriceObservation, RateUnavailable
from escrow.calendar import US_PER_S, from_us, to_us
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement.config import TREASURY_RATE_SOURCE
from settlement.unit_of_work import UnitOfWork

TREASURY_SOURCE = TREASURY_RATE_SOURCE
"""The source name of rates an officer enters (``msc rate set``, ``POST /v1/rates/treasury``)."""
detail_chars_max = 200
actor_chars_max = 64
treasury_valid_s_max = 24 * 3600
"""Longest a treasury-set rate counts as fresh; after that it is stale like any reading."""


class TreasuryRateRefused(Refusal, ValueError):
    """A treasury rate that cannot be entered: nothing recorded (``rate_treasury_invalid``)."""

    code = "rate_treasury_invalid"


@dataclass(frozen=True, slots=True)
class Reading:
    """One stored reading: ``price_units`` (None when the source failed, ``failure`` says why)
    observed at ``observed_at_us``; a treasury reading is fresh until ``valid_until_us``."""

    id: int
    source: str
    base: str
    quote: str
    price_units: int | None
    failure: str | None
    observed_at_us: int | None
    fetched_at_us: int
    valid_until_us: int | None = None
    entered_by: str | None = None
    detail: str | None = None


_COLUMNS = (
    "id, source, base_asset, quote_asset, price_units, failure, observed_at, fetched_at,"
    " valid_until, entered_by, detail"
)


def _insert(conn: Connection, values: dict[str, object]) -> int:
    return int(
        conn.execute(
            sql(
                "INSERT INTO rate_readings (source, base_asset, quote_asset, price_units, failure,"
                " detail, observed_at, fetched_at, valid_until, entered_by) VALUES (:source, :base,"
                " :quote, :price, :failure, :detail, :observed, :fetched, :valid, :by) RETURNING id"
            ),
            values,
        ).scalar_one()
    )


def record_observation(
    conn: Connection, seen: PriceObservation, fetched_at_us: int, source: str
) -> Reading:
    """Store a price a source gave (``source`` is the configured name, whatever it says)."""
    values: dict[str, object] = {
        "source": source,
        "base": seen.base,
        "quote": seen.quote,
        "price": seen.price_units,
        "failure": None,
        "detail": None,
        "observed": from_us(seen.observed_at_us),
        "fetched": from_us(fetched_at_us),
        "valid": None,
        "by": None,
    }
    row_id = _insert(conn, values)
    return Reading(
        row_id, source, seen.base, seen.quote, seen.price_units, None, seen.observed_at_us,
        fetched_at_us,
    )  # fmt: skip


def record_failure(
    conn: Connection,
    source: str,
    base: str,
    quote: str,
    failed: RateUnavailable,
    fetched_at_us: int,
) -> Reading:
    """Store that ``source`` gave no price, and why."""
    detail = str(failed)[:detail_chars_max] or None
    values: dict[str, object] = {
        "source": source,
        "base": base,
        "quote": quote,
        "price": None,
        "failure": failed.reason,
        "detail": detail,
        "observed": None,
        "fetched": from_us(fetched_at_us),
        "valid": None,
        "by": None,
    }
    row_id = _insert(conn, values)
    return Reading(
        row_id, source, base, quote, None, failed.reason, None, fetched_at_us, detail=detail
    )


def enter_treasury_rate(
    uow: UnitOfWork, base: str, quote: str, price_units: int, valid_s: int, by: str
) -> Reading:
    """An officer's rate: fresh from now for ``valid_s`` seconds, recorded with who entered it."""
    if not isinstance(by, str) or not 1 <= len(by) <= actor_chars_max:
        raise TreasuryRateRefused(f"say who enters the rate in 1 to {actor_chars_max} characters")
    if not 1 <= valid_s <= treasury_valid_s_max:
        raise TreasuryRateRefused(f"a treasury rate holds 1 to {treasury_valid_s_max} seconds")
    if price_units <= 0:
        raise TreasuryRateRefused("a rate is positive")
    now_us = uow.clock.now_us()
    valid_until_us = now_us + valid_s * US_PER_S
    values: dict[str, object] = {
        "source": TREASURY_SOURCE,
        "base": base,
        "quote": quote,
        "price": price_units,
        "failure": None,
        "detail": None,
        "observed": from_us(now_us),
        "fetched": from_us(now_us),
        "valid": from_us(valid_until_us),
        "by": by,
    }
    row_id = _insert(uow.conn, values)
    return Reading(
        row_id, TREASURY_SOURCE, base, quote, price_units, None, now_us, now_us, valid_until_us, by
    )


def latest_of(conn: Connection, sources: list[str], base: str, quote: str) -> list[Reading]:
    """The newest stored reading of each of ``sources`` that has one, in their order (one
    statement: each source's is one look-up on ``rate_readings_latest``)."""
    rows = conn.execute(
        sql(
            f"SELECT r.* FROM unnest(CAST(:sources AS text[])) WITH ORDINALITY AS s(name, n)"  # noqa: S608 - constant columns
            f" CROSS JOIN LATERAL (SELECT {_COLUMNS} FROM rate_readings WHERE source = s.name"
            " AND base_asset = :base AND quote_asset = :quote"
            " ORDER BY fetched_at DESC, id DESC LIMIT 1) AS r ORDER BY s.n"
        ),
        {"sources": sources, "base": base, "quote": quote},
    )
    return [_reading(row) for row in rows]


def find(conn: Connection, reading_ids: list[int]) -> list[Reading]:
    """The stored readings with these ids, in id order."""
    rows = conn.execute(
        sql(f"SELECT {_COLUMNS} FROM rate_readings WHERE id = ANY(:ids) ORDER BY id"),  # noqa: S608 - constant columns
        {"ids": reading_ids},
    )
    return [_reading(row) for row in rows]


def _reading(row: object) -> Reading:
    def us(value: object) -> int | None:
        return None if value is None else to_us(value)  # type: ignore[arg-type]

    fields = row._mapping  # type: ignore[attr-defined]
    return Reading(
        int(fields["id"]),
        fields["source"],
        fields["base_asset"],
        fields["quote_asset"],
        fields["price_units"],
        fields["failure"],
        us(fields["observed_at"]),
        to_us(fields["fetched_at"]),
        us(fields["valid_until"]),
        fields["entered_by"],
        fields["detail"],
    )
