"""What the Pioneer's Pi app and wallet do in the sandbox: sign and submit the U2A transaction."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from stellar_sdk import Account, Asset, TransactionBuilder

from chain.pi.amounts import to_str, to_units
from chain.pi.sandbox.chain import sandbox_base_fee_stroops
from chain.pi.sandbox.platform import SandboxPlatform, SandboxRefusal


@dataclass(frozen=True)
class PayOverrides:
    """Faults a test can ask for: a transaction that does not match its payment."""

    amount: Decimal | None = None
    memo: str | None = None
    destination: str | None = None


def pay(
    platform: SandboxPlatform, pid: str, overrides: PayOverrides, now_unix: int
) -> dict[str, object]:
    """Sign and submit the payment's transaction from the Pioneer's wallet; link its txid."""
    payment = platform.get(pid)
    status = payment["status"]
    if not isinstance(status, dict) or not status["developer_approved"]:
        raise SandboxRefusal(400, "payment_not_approved", "the developer has not approved yet")
    if status["cancelled"] or status["user_cancelled"]:
        raise SandboxRefusal(400, "cancelled_payment", "payment cancelled", payment)
    if payment["transaction"] is not None:
        raise SandboxRefusal(400, "payment_tx_present", "payment already has a transaction")
    if payment["direction"] != "user_to_app":
        raise SandboxRefusal(400, "invalid_arguments", "only U2A payments are paid by the Pioneer")
    pioneer = platform.pioneers[str(payment["user_uid"])]
    row = platform.chain.accounts[pioneer.keypair.public_key]
    amount = overrides.amount if overrides.amount is not None else Decimal(str(payment["amount"]))
    tx = (
        TransactionBuilder(
            Account(pioneer.keypair.public_key, row.sequence),
            network_passphrase=platform.chain.network_passphrase,
            base_fee=sandbox_base_fee_stroops,
        )
        .append_payment_op(
            overrides.destination or str(payment["to_address"]),
            Asset.native(),
            to_str(to_units(amount)),
        )
        .add_text_memo(overrides.memo if overrides.memo is not None else str(payment["identifier"]))
        .add_time_bounds(0, now_unix + 180)
        .build()
    )
    tx.sign(pioneer.keypair)
    outcome = platform.chain.submit(tx.to_xdr())
    txid = tx.hash_hex()
    if txid in platform.chain.transactions:
        platform.link(payment, txid)
    return {"txid": txid, "horizon_status": outcome.status, "submit": outcome.body}


def user_cancel(platform: SandboxPlatform, pid: str) -> dict[str, object]:
    """The Pioneer closes the payment dialog before paying."""
    payment = platform.get(pid)
    if payment["transaction"] is not None:
        raise SandboxRefusal(400, "payment_tx_present", "payment already has a transaction")
    status = payment["status"]
    if isinstance(status, dict):
        status["user_cancelled"] = True
    return payment


def network_cancel(platform: SandboxPlatform, pid: str) -> dict[str, object]:
    """Pi Network cancels the payment (e.g. approval timed out)."""
    payment = platform.get(pid)
    status = payment["status"]
    if isinstance(status, dict):
        status["cancelled"] = True
    return payment
