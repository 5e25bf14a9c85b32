"""``msc chain reconcile``: token supply against the ledger float ``msc:onchain``, and reserve."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from chain.evm.interfaces import EvmNode
from settlement.evm import token
from settlement.evm.bridge import ONCHAIN_ACCOUNT, ensure_bridge_accounts
from settlement.evm.deployment import Deployment
from settlement.evm.deposits import DEPOSIT_TOPIC, decode_deposit, pending_deposit_range
from settlement.telemetry import RECONCILE_DIFFERENCE, set_gauge
from settlement.unit_of_work import UnitOfWork

ONCHAIN_SUPPLY = "onchain_supply"
"""The reconcile gauge's label for this check."""


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Both sides of the invariant, with what is legitimately in flight between them."""

    total_supply: int
    ledger_onchain: int
    minting: int
    deposits_unbooked: int
    reserve_cap: int

    @property
    def supply_matches(self) -> bool:
        """Supply + withdrawals not yet minted + deposits not yet booked = ledger float."""
        return self.total_supply + self.minting + self.deposits_unbooked == self.ledger_onchain

    @property
    def reserve_covers(self) -> bool:
        """The attested reserve cap is not below the supply."""
        return self.reserve_cap >= self.total_supply

    @property
    def ok(self) -> bool:
        """Both invariants hold."""
        return self.supply_matches and self.reserve_covers


def reconcile(
    uow: UnitOfWork, node: EvmNode, deployment: Deployment, blocks_max: int
) -> Reconciliation:
    """Read both sides (deposits in blocks not yet scanned count as in flight); the supply's
    difference is kept for /metrics (``msc_reconcile_difference_units{check="onchain_supply"}``)."""
    conn, ledger = uow.conn, uow.ledger
    ensure_bridge_accounts(ledger)
    minting = conn.execute(
        text(
            "SELECT coalesce(sum(amount), 0) FROM evm_withdrawals"
            " WHERE chain_id = :c AND status = 'pending'"
        ),
        {"c": deployment.chain_id},
    ).scalar_one()
    first, _ = pending_deposit_range(conn, node, deployment, 1, blocks_max)
    head = node.block_number()
    unbooked = 0
    if first <= head:
        entries = node.logs(deployment.token, [DEPOSIT_TOPIC], first, head)
        unbooked = sum(decode_deposit(entry).amount for entry in entries)
    found = Reconciliation(
        total_supply=token.total_supply(node, deployment.token),
        ledger_onchain=ledger.balance(ONCHAIN_ACCOUNT).posted,
        minting=int(minting),
        deposits_unbooked=unbooked,
        reserve_cap=token.reserve_cap(node, deployment.token),
    )
    outside = found.total_supply + found.minting + found.deposits_unbooked
    set_gauge(conn, RECONCILE_DIFFERENCE, outside - found.ledger_onchain, ONCHAIN_SUPPLY)
    return found
