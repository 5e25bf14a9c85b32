"""A merchant's balances per asset, read from the ledger's account totals.

``posted`` is what the treasury owes the merchant now; ``pending_incoming`` is what paid
checkouts hold in escrow for it (pending transfers from ``escrow:checkout:*``, and Pi-Zone
discounts reserved from a campaign budget) until hand-over or auto-release; ``pending_outgoing``
is what pending transfers reserve against the posted balance (a payout on its way). They are
shown apart because only ``available`` can be paid out, and a stall must not count held money
as its own before the Pioneer has the goods.
"""

from __future__ import annotations

from dataclasses import dataclass

from escrow.errors import AccountNotFound
from escrow.model import AccountKind, Balance
from escrow.ports import LedgerProtocol
from settlement.chart import pioneer_balance
from settlement.reports import amount_view, merchant_account_codes

__all__ = ["PIONEER_ASSETS", "AssetBalance", "merchant_balances", "pioneer_balances"]
PIONEER_ASSETS = ("MSC", "MSCP")
"""The assets a Pioneer holds a balance in with the treasury (``pioneer:{uid}:{asset}``)."""


@dataclass(frozen=True, slots=True)
class AssetBalance:
    """One asset of a merchant's balances, in the asset's smallest units."""

    asset: str
    posted_units: int
    pending_incoming_units: int
    pending_outgoing_units: int

    @property
    def available_units(self) -> int:
        """What can be paid out now: posted minus what pending transfers reserve against it."""
        return self.posted_units - self.pending_outgoing_units

    def view(self) -> dict[str, object]:
        """JSON-ready: each figure as an amount with its asset."""
        return {
            "asset": self.asset,
            "posted": amount_view(self.posted_units, self.asset),
            "pending_incoming": amount_view(self.pending_incoming_units, self.asset),
            "pending_outgoing": amount_view(self.pending_outgoing_units, self.asset),
            "available": amount_view(self.available_units, self.asset),
        }


def merchant_balances(ledger: LedgerProtocol, merchant_id: str) -> list[AssetBalance]:
    """Every asset's balance of ``merchant_id`` (one entry per asset of the chart, in its order).

    An account not opened yet is zero: a merchant onboarded this morning has balances before
    its first sale. Reads the account totals the ledger keeps (no scan of transfers).
    """
    return _balances(ledger, merchant_account_codes(merchant_id))


def pioneer_balances(ledger: LedgerProtocol, uid: str) -> list[AssetBalance]:
    """A Pioneer's MSC and MSCP balances (an account not opened yet is zero)."""
    return _balances(ledger, {a: pioneer_balance(uid, a).code for a in PIONEER_ASSETS})


def _balances(ledger: LedgerProtocol, codes: dict[str, str]) -> list[AssetBalance]:
    balances = []
    for code_of_asset, code in codes.items():
        try:
            balance = ledger.balance(code)
        except AccountNotFound:
            balance = Balance(AccountKind.LIABILITY, 0, 0, 0, 0)
        balances.append(
            AssetBalance(code_of_asset, balance.posted, balance.pending_in, balance.pending_out)
        )
    return balances
