"""Calls to the deployed MSC token and audit anchor, built offline and read through an EvmNode."""

from __future__ import annotations

import uuid

from chain.evm.abi import ANCHOR, TOKEN, decode_result, encode_call, role_id
from chain.evm.interfaces import EvmNode
from chain.evm.types import TxRequest

mint_gas_limit = 200_000
grant_gas_limit = 120_000
configure_minter_gas_limit = 120_000
attest_gas_limit = 150_000
publish_gas_limit = 250_000


def ledger_ref32(transfer_id: uuid.UUID) -> bytes:
    """The on-chain ``bytes32`` ledger reference of a transfer: its 16 uuid bytes, left-padded."""
    return transfer_id.bytes.rjust(32, b"\x00")


def mint_request(token: str, to: str, amount: int, transfer_id: uuid.UUID) -> TxRequest:
    """``mint(to, amount, ref)`` for the withdrawal transfer ``transfer_id``."""
    data = encode_call(TOKEN, "mint", [to, amount, ledger_ref32(transfer_id)])
    return TxRequest(to=token, data=data, gas_limit=mint_gas_limit)


def grant_role_request(contract: str, name: str, role: str, account: str) -> TxRequest:
    """``grantRole(role, account)`` on the contract ``name`` at ``contract``."""
    data = encode_call(name, "grantRole", [role_id(role), account])
    return TxRequest(to=contract, data=data, gas_limit=grant_gas_limit)


def configure_minter_request(token: str, minter: str, allowance: int) -> TxRequest:
    """``configureMinter(minter, allowance)``: sets the remaining allowance exactly."""
    data = encode_call(TOKEN, "configureMinter", [minter, allowance])
    return TxRequest(to=token, data=data, gas_limit=configure_minter_gas_limit)


def attest_request(token: str, amount: int, timestamp: int, signature: bytes) -> TxRequest:
    """``attestReserve(amount, timestamp, signature)``."""
    data = encode_call(TOKEN, "attestReserve", [amount, timestamp, signature])
    return TxRequest(to=token, data=data, gas_limit=attest_gas_limit)


def publish_request(anchor: str, period: int, digest: bytes, prev_digest: bytes) -> TxRequest:
    """``publish(period, digest, prevDigest)`` on the audit anchor."""
    data = encode_call(ANCHOR, "publish", [period, digest, prev_digest])
    return TxRequest(to=anchor, data=data, gas_limit=publish_gas_limit)


def _uint(node: EvmNode, contract: str, name: str, function: str, args: list[object]) -> int:
    return int(
        decode_result(["uint256"], node.call(contract, encode_call(name, function, args)))[0]
    )


def total_supply(node: EvmNode, token: str) -> int:
    """The token's totalSupply in MSC sen."""
    return _uint(node, token, TOKEN, "totalSupply", [])


def reserve_cap(node: EvmNode, token: str) -> int:
    """The last attested reserve in MSC sen."""
    return _uint(node, token, TOKEN, "reserveCap", [])


def minter_allowance(node: EvmNode, token: str, minter: str) -> int:
    """What ``minter`` may still mint."""
    return _uint(node, token, TOKEN, "minterAllowance", [minter])


def is_mint_ref_used(node: EvmNode, token: str, transfer_id: uuid.UUID) -> bool:
    """True when the token already minted for this withdrawal."""
    data = encode_call(TOKEN, "isMintRefUsed", [ledger_ref32(transfer_id)])
    return bool(decode_result(["bool"], node.call(token, data))[0])


def has_role(node: EvmNode, contract: str, name: str, role: str, account: str) -> bool:
    """AccessControl ``hasRole``."""
    data = encode_call(name, "hasRole", [role_id(role), account])
    return bool(decode_result(["bool"], node.call(contract, data))[0])
