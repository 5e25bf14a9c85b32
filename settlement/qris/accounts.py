"""Ledger accounts of the QRIS rail."""

from escrow.ledger import Ledger
from escrow.model import AccountKind

ASSET = "IDR"
CLEARING_ACCOUNT = "qris:clearing:IDR"
MDR_EXPENSE_ACCOUNT = "expense:qris:mdr:IDR"


def merchant_account(nmid: str) -> str:
    """The liability to a merchant, keyed by its NMID unless a checkout names another."""
    return f"merchant:{nmid}:IDR"


def ensure_rail_accounts(ledger: Ledger) -> None:
    """Open the clearing (money at acquirers) and MDR expense accounts once."""
    ledger.ensure_account(CLEARING_ACCOUNT, ASSET, AccountKind.ASSET)
    ledger.ensure_account(MDR_EXPENSE_ACCOUNT, ASSET, AccountKind.EXPENSE)
