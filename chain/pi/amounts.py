"""Exact conversion between Pi decimal amounts and integer units of 1e-7 Pi."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from chain.pi.errors import PiInputError

PI_SCALE = 7
_UNITS_PER_PI = 10**PI_SCALE
# Stellar amounts are int64 stroops.
units_max = 2**63 - 1


def to_units(value: Decimal | int | str, *, allow_zero: bool = False) -> int:
    """Convert a Pi amount to 1e-7 units exactly; refuse more than 7 decimals or non-positive.

    `allow_zero` is for balances, which may be empty; payment amounts never are.
    """
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise PiInputError(f"not a decimal amount: {value!r}", code="pi_bad_amount") from exc
    if not amount.is_finite():
        raise PiInputError("amount must be finite", code="pi_bad_amount")
    scaled = amount * _UNITS_PER_PI
    if scaled != scaled.to_integral_value():
        raise PiInputError("amount has more than 7 decimals", code="pi_bad_amount")
    units = int(scaled)
    if units < (0 if allow_zero else 1) or units > units_max:
        raise PiInputError("amount must be positive and fit in int64 stroops", code="pi_bad_amount")
    return units


def to_decimal(units: int) -> Decimal:
    """Render integer units as an exact Decimal with 7 decimals."""
    return Decimal(units).scaleb(-PI_SCALE).quantize(Decimal(1).scaleb(-PI_SCALE))


def to_str(units: int) -> str:
    """Render integer units as the 7-decimal string Horizon and stellar-sdk use."""
    return format(to_decimal(units), "f")
