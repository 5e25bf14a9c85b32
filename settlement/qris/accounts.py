"""Ledger accounts of the QRIS rail, as the chart of accounts declares them."""

from escrow.ports import LedgerProtocol
from settlement import chart

ASSET = "IDR"
CLEARING_ACCOUNT = chart.qris_clearing().code
MDR_EXPENSE_ACCOUNT = chart.qris_mdr().code


def merchant_account(nmid: str) -> str:
    """The liability to a merchant, keyed by its NMID unless a checkout names another."""
    return chart.merchant_idr(nmid).code


def ensure_rail_accounts(ledger: LedgerProtocol) -> None:
    """Open the clearing (money at acquirers) and MDR expense accounts once."""
    chart.ensure_open(ledger, chart.qris_clearing())
    chart.ensure_open(ledger, chart.qris_mdr())


def ensure_credit_account(ledger: LedgerProtocol, code: str, nmid: str) -> None:
    """Open the IDR liability an expectation credits: a declared account of the chart."""
    spec = chart.CHART.spec_of(code)
    if spec.owner is None or code == merchant_account(nmid):
        spec = chart.AccountSpec(spec.code, spec.asset, spec.kind, nmid, spec.flags)
    chart.ensure_open(ledger, spec)
