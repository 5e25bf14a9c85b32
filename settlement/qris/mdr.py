"""Bank Indonesia's QRIS MDR schedule as data, and the fee it implies: one definition.

The schedule is chosen in Python (``MdrSchedule.bands_on``: the bands in force on a WIB day,
checked disjoint); the price is one SQL statement (``priced``): the band covering the gross,
floor and ceiling of gross x rate, the fee booked (the acquirer's reported fee is the money kept,
never above the gross; else the floor, in the ledger's favour) and whether the reported fee is
disputed (outside floor..ceiling). Reconciliation prices a day's report lines with it; a gateway
notification prices its one payment with it (``price``).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, text

from escrow.refusals import Refusal

PPM = 1_000_000

BANDS = """
    SELECT * FROM unnest(%(band_criteria)s::text[], %(band_amount_min)s::bigint[],
                         %(band_amount_max)s::bigint[], %(band_rate)s::integer[])
        AS m(criteria, amount_min_sen, amount_max_sen, rate_ppm)
"""


@dataclass(frozen=True, slots=True)
class MdrBand:
    """One row of the schedule: criteria, first day, amount band (min < gross <= max), rate."""

    criteria: str
    valid_from: date
    amount_min_sen: int
    amount_max_sen: int | None
    rate_ppm: int


@dataclass(frozen=True, slots=True)
class MdrPrice:
    """What ``priced`` says of one payment."""

    rate_ppm: int
    floor_sen: int
    ceil_sen: int
    fee_sen: int
    disputed: bool


class MdrScheduleMissing(Refusal, LookupError):
    """No schedule row covers this criteria, date and amount: a configuration gap. Nothing is
    stored; the gateway's retry (or the next reconciliation) books it once the treasury has
    filled the gap."""

    code = "qris_mdr_missing"


class MdrScheduleAmbiguous(Refusal, LookupError):
    """Two bands in force on one day overlap for the same criteria: a configuration error."""

    code = "qris_mdr_ambiguous"


class MdrSchedule:
    """Chooses the newest band valid on the payment's WIB date for its criteria and amount."""

    def __init__(self, bands: Iterable[MdrBand]) -> None:
        self._bands = sorted(bands, key=lambda b: b.valid_from, reverse=True)

    def bands_on(self, on: date, criteria: str | None = None) -> list[MdrBand]:
        """The bands in force on ``on``: per criteria, those of the newest valid_from <= on.

        Both sources price from exactly these rows (``band_params``, then ``priced``).
        """
        newest: dict[str, date] = {}
        chosen: list[MdrBand] = []
        for band in self._bands:  # newest first
            if band.valid_from > on or (criteria is not None and band.criteria != criteria):
                continue
            first = newest.setdefault(band.criteria, band.valid_from)
            if band.valid_from == first:
                chosen.append(band)
        _check_disjoint(chosen)
        return chosen


def _check_disjoint(bands: list[MdrBand]) -> None:
    """At most one band may price a given criteria and amount."""
    ordered = sorted(bands, key=lambda b: (b.criteria, b.amount_min_sen))
    for before, after in pairwise(ordered):
        if before.criteria == after.criteria and (
            before.amount_max_sen is None or before.amount_max_sen > after.amount_min_sen
        ):
            raise MdrScheduleAmbiguous(
                f"MDR bands for {after.criteria} from {after.valid_from} overlap"
            )


def load_schedule(conn: Connection) -> MdrSchedule:
    """The schedule as configured in qris_mdr_schedule."""
    rows = conn.execute(
        text(
            "SELECT criteria, valid_from, amount_min_sen, amount_max_sen, rate_ppm "
            "FROM qris_mdr_schedule"
        )
    ).all()
    return MdrSchedule(MdrBand(*row) for row in rows)


def priced(payments: str, bands: str) -> str:
    """SQL pricing each row of ``payments`` (``criteria``, ``gross_sen``, ``reported_sen``, any
    other columns pass through) under the row of ``bands`` (``BANDS`` or a table of its rows)
    covering it. Adds ``rate_ppm`` (NULL when no band covers it: ``MdrScheduleMissing``),
    ``floor_sen``, ``ceil_sen``, ``fee_sen`` (booked) and ``fee_disputed``."""
    exact = "p.gross_sen::numeric * m.rate_ppm"
    return f"""
    SELECT q.*, CASE WHEN q.reported_sen IS NULL THEN q.floor_sen
            ELSE least(q.reported_sen, q.gross_sen) END AS fee_sen,
        coalesce(q.reported_sen NOT BETWEEN q.floor_sen AND q.ceil_sen, false) AS fee_disputed
    FROM (
        SELECT p.*, m.rate_ppm, div({exact}, {PPM})::bigint AS floor_sen,
            div({exact}, {PPM})::bigint + (mod({exact}, {PPM}) > 0)::integer AS ceil_sen
        FROM ({payments}) p LEFT JOIN {bands} m ON m.criteria = p.criteria
            AND m.amount_min_sen < p.gross_sen
            AND (m.amount_max_sen IS NULL OR p.gross_sen <= m.amount_max_sen)
    ) q
"""  # noqa: S608 - composed of constant SQL, values are parameters


def band_params(bands: list[MdrBand]) -> dict[str, list[Any]]:
    """The bands as the column arrays ``BANDS`` reads."""
    return {
        "band_criteria": [b.criteria for b in bands],
        "band_amount_min": [b.amount_min_sen for b in bands],
        "band_amount_max": [b.amount_max_sen for b in bands],
        "band_rate": [b.rate_ppm for b in bands],
    }


_PRICE_ONE = priced(
    "SELECT %(criteria)s::text AS criteria, %(gross_sen)s::bigint AS gross_sen,"
    " %(reported_sen)s::bigint AS reported_sen",
    f"({BANDS})",
)


def price(
    conn: Connection, criteria: str, gross_sen: int, reported_sen: int | None, on: date
) -> MdrPrice:
    """The MDR of one payment on its WIB date, by the same statement that prices a report day."""
    bands = load_schedule(conn).bands_on(on, criteria)
    params = {"criteria": criteria, "gross_sen": gross_sen, "reported_sen": reported_sen}
    row = conn.exec_driver_sql(_PRICE_ONE, params | band_params(bands)).mappings().one()
    if row["rate_ppm"] is None:
        raise MdrScheduleMissing(f"no MDR for {criteria} {gross_sen} sen on {on}")
    return MdrPrice(
        row["rate_ppm"], row["floor_sen"], row["ceil_sen"], row["fee_sen"], row["fee_disputed"]
    )
