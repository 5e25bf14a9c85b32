"""Exact conversion between Pi decimal amounts and integer units of 1e-7 Pi."""

from __future__ import annotations

from decimal import Decimal

from chain.pi.errors import PiInputError
from escrow.money import PI, UNITS_MAX, AmountRefused, Money, format_amount, parse_amount

units_max = UNITS_MAX
"""Stellar amounts are int64 stroops: the same bound as the ledger's BIGINT."""


def to_units(value: Decimal | int | str, *, allow_zero: bool = False) -> int:
    """Convert a Pi amount to 1e-7 units exactly; refuse more than 7 decimals or non-positive.

    `allow_zero` is for balances, which may be empty; payment amounts never are. The refusal's
    `code` is `escrow.money`'s (`amount_invalid`, `amount_too_precise`, `amount_out_of_range`).
    """
    if isinstance(value, bool):
        raise PiInputError(f"not a decimal amount: {value!r}", code="amount_invalid")
    try:
        units = parse_amount(str(value), PI.scale, allow_zero=allow_zero)
    except AmountRefused as refused:
        raise PiInputError(str(refused), code=refused.code) from None
    return units


def to_decimal(units: int) -> Decimal:
    """Render integer units as an exact Decimal with 7 decimals."""
    return Money(PI, units).to_decimal()


def to_str(units: int) -> str:
    """Render integer units as the 7-decimal string Horizon and stellar-sdk use."""
    return format_amount(units, PI.scale)
