"""Offline transaction signing with eth-account (pure: no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain.evm.fees import Fees
from chain.evm.types import SignedTx, TxRequest


def load_account(private_key: str | None, key_file: Path | None) -> LocalAccount:
    """The service's signing key from a hex string or a file holding one (never from source)."""
    if private_key is not None and key_file is not None:
        raise ValueError("configure either an EVM private key or a key file, not both")
    if key_file is not None:
        private_key = key_file.read_text(encoding="ascii").strip()
    if private_key is None:
        raise ValueError("no EVM private key configured")
    account: LocalAccount = Account.from_key(private_key)
    return account


def sign(
    account: LocalAccount, chain_id: int, nonce: int, request: TxRequest, fees: Fees
) -> SignedTx:
    """Sign ``request`` at ``nonce``: the hash is fixed here, before anything is sent."""
    if nonce < 0:
        raise ValueError("nonce must be non-negative")
    tx: dict[str, Any] = {
        "chainId": chain_id,
        "nonce": nonce,
        "gas": request.gas_limit,
        "value": request.value_wei,
        "data": request.data,
        **fees.tx_fields(),
    }
    if request.to is not None:
        tx["to"] = request.to
    signed = account.sign_transaction(tx)
    return SignedTx(
        tx_hash=signed.hash.to_0x_hex(),
        raw=bytes(signed.raw_transaction),
        sender=account.address,
        nonce=nonce,
    )
