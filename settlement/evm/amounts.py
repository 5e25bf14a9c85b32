"""MSC amounts as operators type them: decimal strings in Rupiah, stored as int sen."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MSC_SCALE = 2


def parse_msc(amount: str) -> int:
    """``"1000000.50"`` -> 100000050 sen, exactly; more than 2 decimals or negative is refused."""
    try:
        value = Decimal(amount)
    except InvalidOperation as error:
        raise ValueError(f"not a decimal amount: {amount!r}") from error
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount!r}")
    sen = value.scaleb(MSC_SCALE)
    if sen != sen.to_integral_value() or sen < 0:
        raise ValueError(f"MSC has {MSC_SCALE} decimals and is not negative: {amount!r}")
    return int(sen)
