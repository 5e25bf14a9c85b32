"""Read models of a merchant's money: balances, history, the monthly statement.

They read and never write: each takes a ledger or a connection inside the caller's transaction
(a route opens a unit of work and passes it on). Every account they read is built with the
chart's builders (``settlement.chart.merchant_balance``); an account not opened yet reads as zero.
Amounts stay integers of the asset's smallest unit; text is made by ``escrow.money`` alone.
"""

from __future__ import annotations

from escrow.money import IDR, Money, asset, format_idr_display
from escrow.refusals import Refusal
from settlement.chart import MERCHANT_ACCOUNTS, merchant_balance

__all__ = [
    "MERCHANT_ASSETS",
    "ReportRefused",
    "amount_display",
    "amount_text",
    "amount_view",
    "merchant_account_codes",
]

MERCHANT_ASSETS: tuple[str, ...] = tuple(MERCHANT_ACCOUNTS)
"""The assets a merchant may hold a balance in, in the chart's order (IDR, PI, MSC, MSCP)."""


class ReportRefused(Refusal, ValueError):
    """A read the service cannot answer as asked (bad month, bad cursor, unknown merchant)."""


def merchant_account_codes(merchant_id: str) -> dict[str, str]:
    """Asset -> the merchant's account code in it (``merchant:{mid}:{asset}``)."""
    return {code: merchant_balance(merchant_id, code).code for code in MERCHANT_ASSETS}


def amount_text(units: int, asset_code: str) -> str:
    """The machine text of a signed amount at its asset's scale: ``"15000.00"``, ``"-0.5000000"``.

    A merchant account has no balance limit in the chart, so a balance may in principle be below
    zero; ``Money`` is never negative, hence the sign is put in front here.
    """
    sign = "-" if units < 0 else ""
    return sign + str(Money(asset(asset_code), abs(units)))


def amount_display(units: int, asset_code: str) -> str:
    """A signed amount as people in Indonesia read it: ``Rp 15.000``, ``0,5000000 PI``.

    Rupiah through ``format_idr_display``; every other asset at its own scale, with Indonesian
    separators (``.`` groups thousands, ``,`` before the decimals) and the asset's code after.
    """
    sign = "-" if units < 0 else ""
    money = Money(asset(asset_code), abs(units))
    if money.asset == IDR:
        return sign + format_idr_display(money)
    whole, _, fraction = str(money).partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return f"{sign}{grouped}{',' + fraction if fraction else ''} {asset_code}"


def amount_view(units: int, asset_code: str) -> dict[str, object]:
    """An amount as the API answers it: ``{"amount": "15000.00", "asset": "IDR",
    "amount_units": 1500000}``."""
    return {"amount": amount_text(units, asset_code), "asset": asset_code, "amount_units": units}
