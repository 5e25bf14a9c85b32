"""EIP-712 reserve attestations the token accepts from its ATTESTER_ROLE (signed offline)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

TOKEN_EIP712_NAME = "Madiun Stable Coin"  # noqa: S105 - EIP-712 domain name, not a secret
TOKEN_EIP712_VERSION = "1"  # noqa: S105 - EIP-712 domain version

RESERVE_ATTESTATION_TYPES = {
    "ReserveAttestation": [
        {"name": "amount", "type": "uint256"},
        {"name": "timestamp", "type": "uint256"},
    ]
}


def token_domain(chain_id: int, token_address: str) -> dict[str, object]:
    """The token's EIP-712 domain (shared by permits and reserve attestations)."""
    return {
        "name": TOKEN_EIP712_NAME,
        "version": TOKEN_EIP712_VERSION,
        "chainId": chain_id,
        "verifyingContract": token_address,
    }


def sign_reserve_attestation(
    attester: LocalAccount, chain_id: int, token_address: str, amount: int, timestamp: int
) -> bytes:
    """Signature over (amount in MSC sen, unix timestamp) for ``attestReserve``."""
    if amount < 0 or timestamp <= 0:
        raise ValueError("reserve amount must be >= 0 and timestamp positive")
    signed = attester.sign_typed_data(
        token_domain(chain_id, token_address),
        RESERVE_ATTESTATION_TYPES,
        {"amount": amount, "timestamp": timestamp},
    )
    return bytes(signed.signature)
