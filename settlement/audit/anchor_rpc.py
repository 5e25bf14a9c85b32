"""The auditor's on-chain check of an EVM anchor (``msc-audit verify --rpc``).

Imported only when ``--rpc`` is given, so the rest of the verifier needs no web3. The contract's
ABI is written out here (not read from the repository's artifacts): an auditor installs the
verifier alone.
"""

from __future__ import annotations

from typing import Any

from settlement.audit.bundle import BundleError, EvmAnchor

rpc_timeout_s = 20.0

_ANCHOR_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "anchorOf",
        "stateMutability": "view",
        "inputs": [{"name": "period", "type": "uint64"}],
        "outputs": [
            {
                "name": "",
                "type": "tuple",
                "components": [
                    {"name": "digest", "type": "bytes32"},
                    {"name": "prevDigest", "type": "bytes32"},
                    {"name": "publisher", "type": "address"},
                    {"name": "blockNumber", "type": "uint64"},
                    {"name": "timestamp", "type": "uint64"},
                ],
            }
        ],
    },
    {
        "type": "event",
        "name": "Anchored",
        "anonymous": False,
        "inputs": [
            {"name": "period", "type": "uint64", "indexed": True},
            {"name": "digest", "type": "bytes32", "indexed": True},
            {"name": "prevDigest", "type": "bytes32", "indexed": False},
            {"name": "publisher", "type": "address", "indexed": True},
        ],
    },
]


def check_evm_anchor(rpc_url: str, anchor: EvmAnchor, number: int, publisher: str) -> str:
    """Read anchor ``number`` back from the chain at ``rpc_url``: the contract holds the digest
    and previous digest for the period, published by ``publisher``, and the named transaction
    succeeded and emitted ``Anchored`` with them in the named block. A line saying what held;
    BundleError otherwise."""
    try:
        from web3 import Web3
        from web3.exceptions import ContractLogicError, TransactionNotFound, Web3Exception
        from web3.logs import DISCARD
    except ImportError:
        raise BundleError("anchors", "--rpc needs web3 (pip install web3)") from None
    where = f"anchor {number}"
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": rpc_timeout_s}))
    try:
        chain_id = int(w3.eth.chain_id)
        if chain_id != anchor.chain_id:
            raise BundleError(
                "anchor_chain",
                f"{where} is on chain {anchor.chain_id}, {rpc_url} serves {chain_id}",
            )
        address = Web3.to_checksum_address(anchor.contract)
        contract = w3.eth.contract(address=address, abi=_ANCHOR_ABI)
        try:
            held = contract.functions.anchorOf(anchor.period).call()
        except ContractLogicError:
            raise BundleError(
                "anchor_digest", f"{where}: {address} holds no digest for {anchor.period}"
            ) from None
        digest, prev_digest, block_number = bytes(held[0]).hex(), bytes(held[1]).hex(), held[3]
        if str(held[2]).lower() != publisher.lower():
            raise BundleError(
                "anchor_publisher", f"{where}: published by {held[2]}, {publisher} pinned"
            )
        if digest != anchor.digest:
            raise BundleError(
                "anchor_digest", f"{where}: {address} holds {digest} for {anchor.period}"
            )
        if prev_digest != anchor.prev_digest:
            raise BundleError(
                "anchor_digest", f"{where}: {address} holds previous digest {prev_digest}"
            )
        try:
            receipt = w3.eth.get_transaction_receipt(anchor.tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            raise BundleError(
                "anchor_tx", f"{where}: no mined transaction {anchor.tx_hash}"
            ) from None
        if int(receipt["status"]) != 1:
            raise BundleError("anchor_tx", f"{where}: transaction {anchor.tx_hash} reverted")
        if int(receipt["blockNumber"]) != anchor.block_number or block_number != (
            anchor.block_number
        ):
            raise BundleError("anchor_tx", f"{where}: not published in block {anchor.block_number}")
        events = contract.events.Anchored().process_receipt(receipt, errors=DISCARD)
    except Web3Exception as failure:
        raise BundleError("anchor_rpc", f"{where}: {rpc_url} answered {failure}") from None
    except OSError as failure:
        raise BundleError("anchor_rpc", f"{where}: cannot reach {rpc_url}: {failure}") from None
    emitted = {
        (
            int(e["args"]["period"]),
            bytes(e["args"]["digest"]).hex(),
            bytes(e["args"]["prevDigest"]).hex(),
            str(e["args"]["publisher"]).lower(),
        )
        for e in events
        if e["address"] == address
    }
    if (anchor.period, anchor.digest, anchor.prev_digest, publisher.lower()) not in emitted:
        raise BundleError("anchor_event", f"{where}: {anchor.tx_hash} emitted no such Anchored")
    return (
        f"anchor: {anchor.period} anchored on chain {chain_id} at {address},"
        f" block {anchor.block_number}, tx {anchor.tx_hash}, published by {publisher}"
    )
