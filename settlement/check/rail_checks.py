"""The ledger against the networks it mirrors: the Pi app wallet and the MSC token's supply.
Each takes what its rail answered, so the checks stay free of the rails' clients."""

from __future__ import annotations

from settlement.check.model import CheckResult, failed, held
from settlement.evm.reconcile import Reconciliation as SupplyReconciliation
from settlement.pi.reconcile import Reconciliation as CustodyReconciliation


def pi_custody(found: CustodyReconciliation) -> CheckResult:
    """``treasury:pi_custody`` equals the app wallet's balance on the Pi chain, with no A2U
    payout signed and not yet confirmed."""
    if found.ok:
        return held("pi_custody", f"custody {found.custody_posted_units} = wallet"
                    f" {found.wallet_units} (1e-7 Pi)")  # fmt: skip
    return failed("pi_custody", f"wallet {found.wallet_units} - custody"
                  f" {found.custody_posted_units} = {found.difference_units} (1e-7 Pi),"
                  f" {found.payouts_in_flight} payouts in flight")  # fmt: skip


def msc_onchain(found: SupplyReconciliation) -> CheckResult:
    """The token's ``totalSupply`` plus what is in flight equals ``msc:onchain``, and the
    attested reserve cap covers the supply."""
    detail = (f"supply {found.total_supply} + minting {found.minting} + deposits unbooked"
              f" {found.deposits_unbooked} vs msc:onchain {found.ledger_onchain};"
              f" reserve cap {found.reserve_cap} (sen)")  # fmt: skip
    return held("msc_onchain", detail) if found.ok else failed("msc_onchain", detail)
