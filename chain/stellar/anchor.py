"""Build and sign the audit anchor: a Stellar-family transaction whose memo hash is a month's
digest. Pure: no clock, no I/O.

Its one operation is ``bump_sequence`` to 0, a no-op that moves no value and creates no ledger
entry: the transaction exists only to carry the memo, signed by the pinned anchor account.
"""

from __future__ import annotations

from dataclasses import dataclass

from stellar_sdk import Account, Keypair, TransactionBuilder

from chain.pi.errors import PiInputError

digest_bytes = 32
anchor_validity_s = 300
"""An anchor that has not reached a ledger this long after signing can never land; only then is
it rebuilt (so a month never gets two anchor transactions)."""


@dataclass(frozen=True)
class AnchorEnvelope:
    """A signed anchor transaction; ``tx_hash`` is the id it will have on the network."""

    envelope_xdr: str
    tx_hash: str
    sequence: int
    valid_until_unix: int


def build_anchor(
    *,
    signer: Keypair,
    account_sequence: int,
    digest: bytes,
    base_fee_stroops: int,
    network_passphrase: str,
    now_unix: int,
) -> AnchorEnvelope:
    """One ``bump_sequence(0)`` from the anchor account, memo hash = ``digest``, signed."""
    if not signer.can_sign():
        raise PiInputError("the anchor keypair has no secret")
    if len(digest) != digest_bytes or base_fee_stroops <= 0:
        raise PiInputError("an anchor needs a 32-byte digest and a positive fee")
    valid_until = now_unix + anchor_validity_s
    tx = (
        TransactionBuilder(
            Account(signer.public_key, account_sequence),
            network_passphrase=network_passphrase,
            base_fee=base_fee_stroops,
        )
        .append_bump_sequence_op(0)
        .add_hash_memo(digest)
        .add_time_bounds(0, valid_until)
        .build()
    )
    tx.sign(signer)
    return AnchorEnvelope(tx.to_xdr(), tx.hash_hex(), account_sequence + 1, valid_until)
