"""First in, first out: which issuance lots the points a Pioneer no longer holds came from.

Every point credited to a Pioneer is a lot (``mscp_lots``). What left the Pioneer's balance by
spending is ``issued - expired - balance``; it is taken from the lots in the order they were
issued, each lot's expired part excluded, so the oldest points are the first spent and the
first to expire. Pure, so the invariants are tested on any history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Lot:
    """One issuance: ``units`` points, ``expired`` of them already expired."""

    units: int
    expired: int


def remaining(lots: Sequence[Lot], balance: int) -> list[int]:
    """The points of each lot (in issuance order) the Pioneer still holds, given the balance."""
    spent = max(0, sum(lot.units - lot.expired for lot in lots) - max(0, balance))
    out = []
    for lot in lots:
        available = lot.units - lot.expired
        taken = min(available, spent)
        spent -= taken
        out.append(available - taken)
    return out
