"""The chart of accounts: every account and every transfer code the service may post with.

Call sites build their requests from here (``pioneer_pi(uid)``, ``TransferCode.PI_RECEIVED``)
and open accounts only through ``open_account``; the ledger built with ``policy=CHART`` refuses
any other account or transfer code. The README's chart table is generated from this module
(``python -m settlement.chart``) and a test keeps it current.
"""

from __future__ import annotations

import sys
from enum import StrEnum

from escrow.chart import (
    AccountPattern,
    AccountSpec,
    AccountUndeclared,
    Chart,
    TransferCodeDecl,
    TransferCodeUndeclared,
)
from escrow.model import Account, AccountFlags, AccountKind
from escrow.ports import LedgerProtocol
from escrow.rules import PENDING_EXPIRED_CODE

__all__ = [
    "CHART",
    "AccountSpec",
    "AccountUndeclared",
    "TransferCode",
    "TransferCodeUndeclared",
    "markdown_table",
    "open_account",
]

_NEVER_NEGATIVE_ASSET = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
_NEVER_NEGATIVE_LIABILITY = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS

PI_CUSTODY = AccountPattern(
    "treasury:pi_custody", "PI", AccountKind.ASSET,
    "Pi held in the app wallet; equals the wallet's balance on chain.",
    owner="treasury", flags=_NEVER_NEGATIVE_ASSET,
)  # fmt: skip
PI_NETWORK_FEES = AccountPattern(
    "treasury:pi_network_fees", "PI", AccountKind.EXPENSE,
    "Fees the app wallet paid to the Pi network for A2U transactions.", owner="treasury",
)  # fmt: skip
PI_CAPITAL = AccountPattern(
    "treasury:pi_capital", "PI", AccountKind.EQUITY,
    "The treasury's own Pi, put into custody by custody deposits.", owner="treasury",
)  # fmt: skip
PI_UNCLAIMED = AccountPattern(
    "treasury:pi_suspense", "PI", AccountKind.LIABILITY,
    "Pi expected by an operator (`msc pi expect`) for no named Pioneer.", owner="treasury",
)  # fmt: skip
PIONEER_PI = AccountPattern(
    "pioneer:{uid}:PI", "PI", AccountKind.LIABILITY,
    "What the treasury owes a Pioneer in Pi.", owner="{uid}",
)  # fmt: skip
QRIS_CLEARING = AccountPattern(
    "qris:clearing:IDR", "IDR", AccountKind.ASSET,
    "Rupiah at the QRIS acquirers, not yet settled to the treasury's bank.",
)  # fmt: skip
QRIS_MDR = AccountPattern(
    "expense:qris:mdr:IDR", "IDR", AccountKind.EXPENSE,
    "The merchant discount rate the acquirers keep.",
)  # fmt: skip
MERCHANT_IDR = AccountPattern(
    "merchant:{nmid}:IDR", "IDR", AccountKind.LIABILITY,
    "What the treasury owes a merchant (by NMID) in Rupiah.", owner="{nmid}",
)  # fmt: skip
MSC_ONCHAIN = AccountPattern(
    "msc:onchain", "MSC", AccountKind.LIABILITY,
    "MSC minted on chain; equals the token's totalSupply.", flags=_NEVER_NEGATIVE_LIABILITY,
)  # fmt: skip
MSC_UNMATCHED = AccountPattern(
    "msc:onchain:unmatched", "MSC", AccountKind.LIABILITY,
    "MSC burnt on chain with a deposit reference nobody registered.",
    flags=_NEVER_NEGATIVE_LIABILITY,
)  # fmt: skip
SUSPENSE = {
    asset: AccountPattern(
        f"suspense:{asset}",
        asset,
        AccountKind.LIABILITY,
        f"{asset} that verifiably arrived (or left) but the ledger refused to book where it"
        " belongs; an operator resolves each item (settlement/suspense.py).",
        owner="treasury",
    )
    for asset in ("IDR", "PI", "MSC")
}


class TransferCode(StrEnum):
    """Every transfer code, as auditors read it in the bundle."""

    PI_RECEIVED = "pi.received"
    PI_PAYOUT = "pi.payout"
    PI_NETWORK_FEE = "pi.network_fee"
    PI_CUSTODY_DEPOSIT = "pi.custody_deposit"
    QRIS_RECEIVED = "qris.received"
    QRIS_MDR = "qris.mdr"
    MSC_ONCHAIN_WITHDRAW = "msc.onchain.withdraw"
    MSC_ONCHAIN_DEPOSIT = "msc.onchain.deposit"
    SUSPENSE = "suspense"
    LEDGER_PENDING_EXPIRED = PENDING_EXPIRED_CODE


_MEANINGS = {
    TransferCode.PI_RECEIVED: "A Pioneer's U2A payment, verified on chain: custody to the "
    "expectation's credit account.",
    TransferCode.PI_PAYOUT: "An A2U payout: reserved (pending) from the Pioneer's account to "
    "custody, posted once confirmed on chain, voided if it failed.",
    TransferCode.PI_NETWORK_FEE: "The Pi network fee charged for an A2U transaction.",
    TransferCode.PI_CUSTODY_DEPOSIT: "Pi the treasury moved into the app wallet, from capital.",
    TransferCode.QRIS_RECEIVED: "A QRIS payment net of MDR: clearing to the merchant.",
    TransferCode.QRIS_MDR: "The MDR of a QRIS payment, credited to the merchant with the net.",
    TransferCode.MSC_ONCHAIN_WITHDRAW: "MSC from a holder to the on-chain float (mint follows).",
    TransferCode.MSC_ONCHAIN_DEPOSIT: "MSC burnt on chain, from the float back to its holder.",
    TransferCode.SUSPENSE: "Money that arrived (or left) booked to suspense because the ledger "
    "refused its own transfer.",
    TransferCode.LEDGER_PENDING_EXPIRED: "The ledger's own void of a pending transfer whose "
    "timeout passed (escrow.rules).",
}

CHART = Chart(
    (
        PI_CUSTODY,
        PI_NETWORK_FEES,
        PI_CAPITAL,
        PI_UNCLAIMED,
        PIONEER_PI,
        QRIS_CLEARING,
        QRIS_MDR,
        MERCHANT_IDR,
        MSC_ONCHAIN,
        MSC_UNMATCHED,
        *SUSPENSE.values(),
    ),
    (TransferCodeDecl(str(code), _MEANINGS[code]) for code in TransferCode),
)
"""The service's chart; pass it as ``policy=`` to ``Ledger``/``MemoryLedger``."""


def pi_custody() -> AccountSpec:
    """``treasury:pi_custody``."""
    return PI_CUSTODY.spec()


def pi_network_fees() -> AccountSpec:
    """``treasury:pi_network_fees``."""
    return PI_NETWORK_FEES.spec()


def pi_capital() -> AccountSpec:
    """``treasury:pi_capital``."""
    return PI_CAPITAL.spec()


def pioneer_pi(uid: str) -> AccountSpec:
    """``pioneer:{uid}:PI``."""
    return PIONEER_PI.spec(uid=uid)


def qris_clearing() -> AccountSpec:
    """``qris:clearing:IDR``."""
    return QRIS_CLEARING.spec()


def qris_mdr() -> AccountSpec:
    """``expense:qris:mdr:IDR``."""
    return QRIS_MDR.spec()


def merchant_idr(nmid: str) -> AccountSpec:
    """``merchant:{nmid}:IDR``."""
    return MERCHANT_IDR.spec(nmid=nmid)


def msc_onchain() -> AccountSpec:
    """``msc:onchain``."""
    return MSC_ONCHAIN.spec()


def msc_unmatched() -> AccountSpec:
    """``msc:onchain:unmatched``."""
    return MSC_UNMATCHED.spec()


def suspense(asset: str) -> AccountSpec:
    """``suspense:{asset}``; ``AccountUndeclared`` for an asset without one."""
    pattern = SUSPENSE.get(asset)
    if pattern is None:
        raise AccountUndeclared(f"no suspense account for {asset!r}")
    return pattern.spec()


def open_account(ledger: LedgerProtocol, spec: AccountSpec) -> Account:
    """Open (or find) the declared account ``spec``; the only way settlement opens accounts."""
    CHART.check_account(spec.code, spec.asset, spec.kind, spec.flags)
    return ledger.ensure_account(spec.code, spec.asset, spec.kind, spec.owner, spec.flags)


def markdown_table() -> str:
    """The README's chart section (between its markers), generated from ``CHART``."""
    lines = [
        "| account | asset | kind | flags | meaning |",
        "|---|---|---|---|---|",
    ]
    for p in CHART.accounts:
        flags = "never negative" if p.flags else ""
        lines.append(f"| `{p.pattern}` | {p.asset} | {p.kind} | {flags} | {p.meaning} |")
    lines += ["", "| transfer code | meaning |", "|---|---|"]
    lines += [f"| `{d.code}` | {d.meaning} |" for d in CHART.transfer_codes]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - prints the README section
    sys.stdout.write(markdown_table())
