"""The committed contract artifacts (contracts/artifacts) and offline ABI encoding."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3

ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "contracts" / "artifacts"

TOKEN = "MadiunStableCoin"  # noqa: S105 - a contract name, not a secret
ANCHOR = "AuditAnchor"


@dataclass(frozen=True, slots=True)
class Artifact:
    """ABI and bytecode of one compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    deployed_bytecode: bytes


@cache
def artifact(name: str, directory: Path = ARTIFACTS_DIR) -> Artifact:
    """Load ``<directory>/<name>.json`` written by scripts/build-contracts."""
    data = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
    return Artifact(
        name=name,
        abi=data["abi"],
        bytecode=bytes.fromhex(data["bytecode"].removeprefix("0x")),
        deployed_bytecode=bytes.fromhex(data["deployedBytecode"].removeprefix("0x")),
    )


_offline = Web3()


def encode_call(name: str, function: str, args: list[Any]) -> bytes:
    """Calldata for ``function(args)`` of contract ``name``."""
    contract = _offline.eth.contract(abi=artifact(name).abi)
    return bytes.fromhex(contract.encode_abi(function, args=args).removeprefix("0x"))


def encode_deploy(name: str, args: list[Any]) -> bytes:
    """Init code: bytecode followed by the ABI-encoded constructor arguments."""
    compiled = artifact(name)
    contract = _offline.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    data: str = contract.constructor(*args).data_in_transaction
    return bytes.fromhex(data.removeprefix("0x"))


def decode_result(types: list[str], data: bytes) -> tuple[Any, ...]:
    """Decode an eth_call result."""
    return tuple(abi_decode(types, data))


def event_topic(signature: str) -> bytes:
    """topic0 of an event, e.g. ``Deposit(address,uint256,bytes32)``."""
    return keccak(text=signature)


def role_id(role: str) -> bytes:
    """The AccessControl role id (keccak of its name; DEFAULT_ADMIN_ROLE is zero)."""
    if role == "DEFAULT_ADMIN_ROLE":
        return bytes(32)
    return keccak(text=role)


def topic_address(topic: bytes) -> str:
    """An indexed address topic as a checksum address."""
    return to_checksum_address(topic[-20:])
