"""Prices: a rate read from outside (decimal text or an exact JSON number) into integer smallest
units per whole base unit, and the exact text of a ratio of two amounts.

The sibling of ``escrow.money``: an amount is never rounded (``parse_amount`` refuses extra
digits), but a price is a ratio, and a source may quote it inversely or with more digits than
the quote asset has; it is rounded **down** here, explicitly (decision 0022). No float on the way.
"""

from __future__ import annotations

import re
from decimal import (
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

from escrow.calendar import US_PER_S
from escrow.money import UNITS_MAX

PRICE_CHARS_MAX = 64
"""Longest price text read at all."""
DIGITS_MAX = 80
"""Precision of the arithmetic: wider than any accepted text, so only the final step rounds."""
_DECIMAL_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,3})?")


class PriceInvalid(ValueError):
    """Not a positive, finite, in-range price (or time) given as decimal text or a number."""


def _exact(value: object) -> Decimal:
    """A JSON number (``int`` or the ``Decimal`` of ``parse_float=Decimal``) or plain decimal
    text, exactly; booleans, floats and anything else refused."""
    if isinstance(value, bool):
        raise PriceInvalid("a boolean is not a number")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str) and len(value) <= PRICE_CHARS_MAX and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    raise PriceInvalid(f"not a decimal number: {str(value)[:PRICE_CHARS_MAX]!r}")


def price_units(value: object, scale: int, *, inverse: bool) -> int:
    """Smallest units (``scale`` decimals) of the quote asset per whole base unit, rounded down:
    ``value * 10**scale``, or ``10**scale / value`` when ``value`` is the inverse price."""
    number = _exact(value)
    with localcontext() as ctx:
        ctx.prec = DIGITS_MAX
        ctx.traps[InvalidOperation] = ctx.traps[DivisionByZero] = ctx.traps[Overflow] = True
        try:
            if not number.is_finite() or number <= 0:
                raise PriceInvalid(f"a price must be positive, not {number}")
            exact = Decimal(10) ** scale / number if inverse else number.scaleb(scale)
            units = int(exact.to_integral_value(rounding=ROUND_FLOOR))
        except (InvalidOperation, DivisionByZero, Overflow):
            raise PriceInvalid(f"{number} is out of range") from None
    if not 1 <= units <= UNITS_MAX:
        raise PriceInvalid(f"{number} is out of range")
    return units


def epoch_seconds_us(value: object) -> int:
    """Microseconds (rounded down) of epoch seconds given as a number or decimal text."""
    seconds = _exact(value)
    with localcontext() as ctx:
        ctx.prec = DIGITS_MAX
        return int((seconds * US_PER_S).to_integral_value(rounding=ROUND_FLOOR))


def ratio_text(numerator: int, denominator: int, places: int) -> str:
    """``numerator / denominator`` as decimal text with ``places`` decimals, half-even (for
    showing a price; amounts are never derived from it)."""
    with localcontext() as ctx:
        ctx.prec = DIGITS_MAX
        exact = Decimal(numerator) / Decimal(denominator)
        return str(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))
