"""MSC amounts as operators type them: decimal strings in Rupiah, stored as int sen."""

from __future__ import annotations

from escrow.money import MSC, parse_amount


def parse_msc(amount: str) -> int:
    """``"1000000.50"`` -> 100000050 sen, exactly; anything else is ``AmountRefused`` (ValueError).

    More than 2 decimals, a sign, or more than the ledger's BIGINT holds is refused, never rounded.
    """
    return parse_amount(amount, MSC.scale, allow_zero=True)
