"""Ledger accounts the Pi rail posts to, as the chart of accounts declares them."""

from __future__ import annotations

from contextlib import suppress

from escrow.errors import AccountConflict
from escrow.model import AccountKind
from escrow.ports import LedgerProtocol
from settlement import chart
from settlement.pi.errors import PiRefusal

PI = "PI"
CUSTODY = chart.pi_custody().code
"""Pi held in the app wallet, as the treasury's asset; equals the wallet's on-chain balance."""
NETWORK_FEES = chart.pi_network_fees().code
"""Fees the app wallet paid to the Pi network for A2U transactions."""


def ensure_custody(ledger: LedgerProtocol) -> None:
    """Open the custody and fee accounts; custody can never go below zero."""
    chart.ensure_open(ledger, chart.pi_custody())
    chart.ensure_open(ledger, chart.pi_network_fees())


def credit_spec(code: str) -> chart.AccountSpec:
    """The declared Pi liability ``code`` names; ``account_undeclared`` for anything else.

    Pure: refused before any database is touched (``msc pi expect --account nope:nope``).
    """
    try:
        spec = chart.CHART.spec_of(code)
    except chart.AccountUndeclared as undeclared:
        raise PiRefusal(undeclared.code, str(undeclared)) from None
    if (spec.asset, spec.kind) != (PI, AccountKind.LIABILITY):
        raise PiRefusal("account_undeclared", f"{code!r} is not a Pi liability of the chart")
    return spec


def ensure_liability(ledger: LedgerProtocol, code: str, owner: str | None = None) -> None:
    """Open the declared liability account in PI (``owner``'s) unless it is open already,
    whoever opened it."""
    spec = credit_spec(code)
    if owner is not None:
        spec = chart.AccountSpec(spec.code, spec.asset, spec.kind, owner, spec.flags)
    with suppress(AccountConflict):  # opened with other flags by whoever opened it: used as it is
        chart.ensure_open(ledger, spec)
