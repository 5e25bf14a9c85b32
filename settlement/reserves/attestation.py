"""The on-chain reserve attestation, fed from a stored reserve computation (never typed).

The token mints only while its supply stays at or under the last attested reserve; the figure
attested is the computation's reserve value (``reserve.attested_amount``), and the computation
is stored first, so every attestation names the computation (and its inputs) behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from chain.evm.attestation import sign_reserve_attestation
from chain.rates.ports import PriceObservation
from escrow.clock import Clock
from settlement.evm.deployment import load_deployment
from settlement.evm.sender import TxSender
from settlement.evm.token import attest_request
from settlement.reserves import reserve
from settlement.unit_of_work import unit_of_work

ATTEST_PURPOSE = "attest"


@dataclass(frozen=True, slots=True)
class Attested:
    """An attestation posted on chain, and the computation it states."""

    computation: reserve.ReserveComputation
    amount: int
    timestamp: int
    tx_hash: str | None


def attest_reserve(
    engine: Engine, clock: Clock, sender: TxSender, price: PriceObservation | None
) -> Attested:
    """Compute (and store) the reserve, then sign and post it as the token's reserve cap."""
    with unit_of_work(engine, clock) as uow:
        deployment = load_deployment(uow.conn, sender.node.chain_id)
        computed = reserve.compute(uow, price, ATTEST_PURPOSE)
    amount = reserve.attested_amount(computed)
    timestamp = sender.node.latest_timestamp()
    signature = sign_reserve_attestation(
        sender.account, deployment.chain_id, deployment.token, amount, timestamp
    )
    receipt = sender.execute(
        ATTEST_PURPOSE,
        f"{amount}:{timestamp}",
        lambda: attest_request(deployment.token, amount, timestamp, signature),
    )
    return Attested(computed, amount, timestamp, receipt.tx_hash)
