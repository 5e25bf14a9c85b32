"""`msc pi reconcile`: does the custody account equal the app wallet's balance on chain?"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import text

from chain.pi.amounts import to_str
from escrow.errors import AccountNotFound
from settlement.pi.accounts import CUSTODY
from settlement.pi.deps import PiDeps
from settlement.telemetry import RECONCILE_DIFFERENCE, set_gauge
from settlement.unit_of_work import UnitOfWork

PI_CUSTODY = "pi_custody"
"""The reconcile gauge's label for this check."""


@dataclass(frozen=True)
class Reconciliation:
    """Both sides in 1e-7 Pi; `ok` when they agree and nothing is in flight."""

    wallet_address: str
    wallet_units: int
    custody_posted_units: int
    custody_reserved_units: int
    difference_units: int
    payouts_in_flight: int
    ok: bool

    def as_json(self) -> dict[str, object]:
        """For the CLI: units and decimal strings."""
        out: dict[str, object] = asdict(self)
        out["wallet"] = to_str(self.wallet_units)
        out["custody_posted"] = to_str(self.custody_posted_units)
        return out


def reconcile(uow: UnitOfWork, deps: PiDeps) -> Reconciliation:
    """Compare the ledger's custody balance with the wallet's on-chain native balance; the
    difference is kept for /metrics (``msc_reconcile_difference_units{check="pi_custody"}``)."""
    try:
        balance = uow.ledger.balance(CUSTODY)
        posted, reserved = balance.posted, balance.pending_out
    except AccountNotFound:
        posted, reserved = 0, 0
    wallet = deps.chain.account(deps.app_address).balance_units
    in_flight = uow.conn.execute(
        text("SELECT count(*) FROM pi_payouts WHERE status = 'signed' AND wallet_address = :w"),
        {"w": deps.app_address},
    ).scalar_one()
    difference = wallet - posted
    set_gauge(uow.conn, RECONCILE_DIFFERENCE, difference, PI_CUSTODY)
    return Reconciliation(
        wallet_address=deps.app_address,
        wallet_units=wallet,
        custody_posted_units=posted,
        custody_reserved_units=reserved,
        difference_units=difference,
        payouts_in_flight=int(in_flight),
        ok=difference == 0 and in_flight == 0,
    )
