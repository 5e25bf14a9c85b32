"""Bank Indonesia's QRIS MDR schedule as data, and the fee it implies for one payment."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from sqlalchemy import Connection, text

PPM = 1_000_000


@dataclass(frozen=True, slots=True)
class MdrBand:
    """One row of the schedule: criteria, first day, amount band (min < gross <= max), rate."""

    criteria: str
    valid_from: date
    amount_min_sen: int
    amount_max_sen: int | None
    rate_ppm: int


@dataclass(frozen=True, slots=True)
class MdrQuote:
    """The scheduled fee: its floor (what we book when the acquirer reports none) and ceiling."""

    rate_ppm: int
    floor_sen: int
    ceil_sen: int

    def accepts(self, reported_sen: int) -> bool:
        """A reported fee agrees with the schedule if it is the exact fee rounded either way."""
        return self.floor_sen <= reported_sen <= self.ceil_sen


class MdrScheduleMissing(LookupError):
    """No schedule row covers this criteria, date and amount: a configuration gap."""


class MdrScheduleAmbiguous(LookupError):
    """Two bands in force on one day overlap for the same criteria: a configuration error."""


class MdrSchedule:
    """Chooses the newest band valid on the payment's WIB date for its criteria and amount."""

    def __init__(self, bands: Iterable[MdrBand]) -> None:
        self._bands = sorted(bands, key=lambda b: b.valid_from, reverse=True)

    def quote(self, criteria: str, gross_sen: int, on: date) -> MdrQuote:
        """The fee for ``gross_sen``; floor and ceiling of gross x rate, rounding made explicit."""
        for band in self.bands_on(on, criteria):
            if band.amount_min_sen < gross_sen and (
                band.amount_max_sen is None or gross_sen <= band.amount_max_sen
            ):
                floor_sen, rest = divmod(gross_sen * band.rate_ppm, PPM)
                return MdrQuote(band.rate_ppm, floor_sen, floor_sen + (1 if rest else 0))
        raise MdrScheduleMissing(f"no MDR for {criteria} {gross_sen} sen on {on}")

    def bands_on(self, on: date, criteria: str | None = None) -> list[MdrBand]:
        """The bands in force on ``on``: per criteria, those of the newest valid_from <= on.

        Set-based reconciliation prices a whole day in SQL from exactly these rows.
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
