"""Allotments: one integer amount split into parts that sum to it exactly (pure).

A portion is a ``Percent`` (basis points), a ``Fixed`` amount (units per asset) or the
``Remaining``. The rule, in three steps, on an amount ``total`` of one ``asset``:

1. **Fixed parts first, exact, capped.** In clause order each ``Fixed`` portion takes its units
   of ``asset`` (0 when it names no amount of that asset), capped at what the fixed parts
   before it left of ``total``. The ``base`` is what all fixed parts leave: ``total - fixed``.
   A fixed part is never rounded and never receives a leftover unit.
2. **Percents and the remaining share the base, floored.** A ``Percent(bp)`` has the exact
   share ``base * bp / 10000``; the ``Remaining`` has ``base * (10000 - Σbp) / 10000``. Each
   gets the floor of its exact share.
3. **Leftover units by largest remainder.** The flooring leaves ``L`` units unallotted (``L`` is
   the sum of the fractional parts, so it is fewer than the portions with a fraction). They go
   one each to the portions whose exact share had the largest fractional part; equal fractions
   go in clause order, the first clause first.

So every part is its exact share rounded down or up (never by a whole unit), no unit is lost
or made, and the same input always gives the same parts.

Source: Formance Numscript floors each part and hands the leftover out one unit each "as fairly
as possible starting from top to bottom", i.e. in clause order
(https://docs.formance.com/modules/numscript/reference/rounding; the interpreter's
``Allotment.Allocate`` in github.com/formancehq/numscript). We keep its floor and its clause
order as the tie-break, and change two things (decision 0018): leftover units go by largest
remainder first (Numscript's rule can give a unit to a part whose share was already whole, so
a part may end a whole unit off its share, and its own documentation shows a fixed fee of 7
cents receiving 8), and fixed amounts are taken before the percents instead of being
fractions of the total. As in Numscript, at most one portion is the remaining, and the percents
must leave it something (Σbp < 10000); without a remaining the percents must sum to 10000.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from escrow.refusals import Refusal

BP_WHOLE = 10_000
"""Basis points of the whole: 10000 bp = 100%."""
portions_max = 8
"""Most portions one allotment may have."""


class AllotmentInvalid(Refusal, ValueError):
    """The portions do not make a valid allotment (stable code ``share_rule_invalid``)."""

    code = "share_rule_invalid"


@dataclass(frozen=True, slots=True)
class Percent:
    """A share of the base (what the fixed parts leave), in basis points (1..10000)."""

    bp: int


@dataclass(frozen=True, slots=True)
class Fixed:
    """A fixed amount in each asset's smallest units; an asset it does not name is 0."""

    units: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Remaining:
    """What the percents leave of the base."""


Portion = Percent | Fixed | Remaining


def validate(portions: Sequence[Portion]) -> None:
    """Refuse (``AllotmentInvalid``) portions that do not always allot a whole amount."""
    if not 1 <= len(portions) <= portions_max:
        raise AllotmentInvalid(f"an allotment has 1 to {portions_max} portions")
    percent_bp = 0
    remaining = 0
    for portion in portions:
        if isinstance(portion, Percent):
            if not _is_int(portion.bp) or not 1 <= portion.bp <= BP_WHOLE:
                raise AllotmentInvalid(f"a percent is 1 to {BP_WHOLE} bp, not {portion.bp!r}")
            percent_bp += portion.bp
        elif isinstance(portion, Fixed):
            for asset, units in portion.units.items():
                if not isinstance(asset, str) or not _is_int(units) or units < 0:
                    raise AllotmentInvalid(f"a fixed amount is whole units >= 0: {asset}={units}")
        elif isinstance(portion, Remaining):
            remaining += 1
        else:
            raise AllotmentInvalid(f"not a portion: {portion!r}")
    if remaining > 1:
        raise AllotmentInvalid("at most one portion is the remaining")
    if remaining and percent_bp >= BP_WHOLE:
        raise AllotmentInvalid(f"the percents ({percent_bp} bp) leave the remaining nothing")
    if not remaining and percent_bp != BP_WHOLE:
        raise AllotmentInvalid(
            f"without a remaining the percents must sum to {BP_WHOLE} bp, not {percent_bp}"
        )


def allot(total: int, portions: Sequence[Portion], asset: str) -> list[int]:
    """The part of each portion, in order, of ``total`` units of ``asset``; they sum to
    ``total`` exactly (the module's rule). Invalid portions are ``AllotmentInvalid``."""
    if not _is_int(total) or total < 0:
        raise ValueError(f"total must be an int of units >= 0, not {total!r}")
    validate(portions)
    parts = [0] * len(portions)
    left = total
    for i, portion in enumerate(portions):
        if isinstance(portion, Fixed):
            parts[i] = min(portion.units.get(asset, 0), left)
            left -= parts[i]
    base = left
    percent_bp = sum(p.bp for p in portions if isinstance(p, Percent))
    fractions: list[tuple[int, int]] = []  # (-fraction numerator, clause) of each floored part
    for i, portion in enumerate(portions):
        if isinstance(portion, Fixed):
            continue
        bp = portion.bp if isinstance(portion, Percent) else BP_WHOLE - percent_bp
        parts[i], fraction = divmod(base * bp, BP_WHOLE)
        left -= parts[i]
        if fraction:
            fractions.append((-fraction, i))
    for _, i in sorted(fractions)[:left]:
        parts[i] += 1
    return parts


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
