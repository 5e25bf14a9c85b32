"""Ledger accounts the Pi rail posts to."""

from __future__ import annotations

from escrow.errors import AccountNotFound
from escrow.model import Account, AccountFlags, AccountKind
from escrow.ports import LedgerProtocol

PI = "PI"
CUSTODY = "treasury:pi_custody"
"""Pi held in the app wallet, as the treasury's asset; equals the wallet's on-chain balance."""
NETWORK_FEES = "treasury:pi_network_fees"
"""Fees the app wallet paid to the Pi network for A2U transactions."""


def ensure_custody(ledger: LedgerProtocol) -> None:
    """Open the custody and fee accounts; custody can never go below zero."""
    ledger.ensure_account(
        CUSTODY,
        PI,
        AccountKind.ASSET,
        owner="treasury",
        flags=AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
    )
    ledger.ensure_account(NETWORK_FEES, PI, AccountKind.EXPENSE, owner="treasury")


def ensure_liability(ledger: LedgerProtocol, code: str, owner: str | None = None) -> Account:
    """Use the liability account if it exists (whoever opened it), else open it in PI."""
    try:
        return ledger.account(code)
    except AccountNotFound:
        return ledger.ensure_account(code, PI, AccountKind.LIABILITY, owner=owner)
