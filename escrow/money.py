"""Amounts from outside: one exact parser of decimal text into integer smallest units.

Every rail reads amounts written by someone else (a gateway's JSON, Pi's API, Horizon, an acquirer's
report, an operator's command line). They all come through ``parse_amount``, which never rounds:
text with more fractional digits than the asset's scale, or beyond the ledger's BIGINT range, or
not a plain decimal number, is refused with a stable ``code``.
"""

from __future__ import annotations

import re
from decimal import (
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Subnormal,
    Underflow,
    localcontext,
)

from escrow.model import amount_max
from escrow.refusals import Refusal

AMOUNT_CHARS_MAX = 64
"""Longest amount text read at all; longer text is refused before any arithmetic."""
SCALE_MAX = 18
"""Largest asset scale this parser serves (the widest known is 18, ERC-20 wei)."""
UNITS_MAX = amount_max
"""The ledger stores amounts as PostgreSQL BIGINT."""

_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
"""Digits, an optional fraction, an optional exponent: no sign, space, '_', NaN or Infinity."""

AMOUNT_INVALID = "amount_invalid"
AMOUNT_TOO_PRECISE = "amount_too_precise"
AMOUNT_OUT_OF_RANGE = "amount_out_of_range"


class AmountRefused(Refusal, ValueError):
    """An outside amount that is not an exact, in-range amount of the asset; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def parse_amount(text: str, scale: int, *, allow_zero: bool = False) -> int:
    """Exact smallest units of the decimal ``text`` for an asset of ``scale`` decimals.

    ``"15000.50"`` at scale 2 is 1500050. Refused (``AmountRefused``): anything but plain decimal
    text (``amount_invalid``); more fractional digits than ``scale``, trailing zeros included
    (``amount_too_precise``); zero unless ``allow_zero``, or more than ``UNITS_MAX`` units
    (``amount_out_of_range``).
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= SCALE_MAX:
        raise ValueError(f"scale must be an int from 0 to {SCALE_MAX}, got {scale!r}")
    if not isinstance(text, str) or len(text) > AMOUNT_CHARS_MAX or not _DECIMAL.fullmatch(text):
        raise AmountRefused(AMOUNT_INVALID, f"not a plain decimal amount: {_shown(text)}")
    with localcontext() as ctx:
        # Wide enough that no accepted text is ever rounded; every loss of digits is an error.
        ctx.prec = AMOUNT_CHARS_MAX + SCALE_MAX
        ctx.Emax = AMOUNT_CHARS_MAX
        ctx.Emin = -AMOUNT_CHARS_MAX
        for signal in (Inexact, Rounded, Overflow, Underflow, Subnormal, InvalidOperation):
            ctx.traps[signal] = True
        try:
            value = ctx.create_decimal(text)
            exponent = value.as_tuple().exponent
            if not isinstance(exponent, int):
                raise AmountRefused(AMOUNT_INVALID, f"not a finite amount: {_shown(text)}")
            if exponent < -scale:
                raise AmountRefused(
                    AMOUNT_TOO_PRECISE, f"{_shown(text)} has more than {scale} decimals"
                )
            units = int(value.scaleb(scale))
        except Overflow:
            raise AmountRefused(AMOUNT_OUT_OF_RANGE, f"{_shown(text)} is too large") from None
        except (Inexact, Rounded, Underflow, Subnormal):
            raise AmountRefused(
                AMOUNT_TOO_PRECISE, f"{_shown(text)} has more than {scale} decimals"
            ) from None
        except InvalidOperation:
            raise AmountRefused(AMOUNT_INVALID, f"not a decimal amount: {_shown(text)}") from None
    if units > UNITS_MAX or (units == 0 and not allow_zero):
        raise AmountRefused(AMOUNT_OUT_OF_RANGE, f"{_shown(text)} is out of range")
    return units


def format_amount(units: int, scale: int) -> str:
    """The exact decimal text of ``units`` with exactly ``scale`` decimals (none for scale 0)."""
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise ValueError(f"units must be a non-negative int, got {units!r}")
    if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= SCALE_MAX:
        raise ValueError(f"scale must be an int from 0 to {SCALE_MAX}, got {scale!r}")
    if scale == 0:
        return str(units)
    whole, fraction = divmod(units, 10**scale)
    return f"{whole}.{fraction:0{scale}d}"


def _shown(text: object) -> str:
    """The refused input for a message, cut short: it came from outside."""
    shown = repr(text)
    return shown if len(shown) <= AMOUNT_CHARS_MAX else shown[:AMOUNT_CHARS_MAX] + "..."
