"""Build and sign the A2U (app-to-user) Stellar transaction offline. Pure: no clock, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from stellar_sdk import Account, Asset, Keypair, TransactionBuilder

from chain.pi.amounts import to_str
from chain.pi.errors import PiInputError
from chain.pi.ids import check_address, check_payment_id

# Pi's own backend SDKs give A2U transactions 180 s to reach a ledger.
a2u_validity_s = 180


@dataclass(frozen=True)
class SignedEnvelope:
    """A signed transaction ready to submit; the hash is the txid it will have on chain."""

    envelope_xdr: str
    tx_hash: str
    sequence: int
    fee_stroops: int
    valid_until_unix: int


def build_a2u(
    *,
    signer: Keypair,
    account_sequence: int,
    destination: str,
    amount_units: int,
    payment_id: str,
    base_fee_stroops: int,
    network_passphrase: str,
    now_unix: int,
) -> SignedEnvelope:
    """One native payment from the app wallet, memo = payment id, valid for 180 s, signed."""
    if not signer.can_sign():
        raise PiInputError("the app wallet keypair has no secret", code="pi_no_wallet_secret")
    if amount_units <= 0 or base_fee_stroops <= 0:
        raise PiInputError("amount and fee must be positive", code="pi_bad_amount")
    source = Account(signer.public_key, account_sequence)
    valid_until = now_unix + a2u_validity_s
    tx = (
        TransactionBuilder(source, network_passphrase=network_passphrase, base_fee=base_fee_stroops)
        .append_payment_op(check_address(destination), Asset.native(), to_str(amount_units))
        .add_text_memo(check_payment_id(payment_id))
        .add_time_bounds(0, valid_until)
        .build()
    )
    tx.sign(signer)
    return SignedEnvelope(
        envelope_xdr=tx.to_xdr(),
        tx_hash=tx.hash_hex(),
        sequence=account_sequence + 1,
        fee_stroops=base_fee_stroops,
        valid_until_unix=valid_until,
    )
