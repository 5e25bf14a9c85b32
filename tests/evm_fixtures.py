"""pytest plugin: a real anvil node per test worker and per-test chain snapshots.

Registered by ``pytest_plugins = ["tests.evm_fixtures"]``. Each test runs between an anvil
``evm_snapshot`` and ``evm_revert``, so contracts deployed once per session start clean every time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import Web3

from chain.evm.anvil import ANVIL_CHAIN_ID, AnvilNode, ensure_node_deps
from tests.evm_support import DEV_ACCOUNTS_COUNT, Chain, DevAccounts, dev_account


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[AnvilNode]:
    """One anvil per test worker (installs the pinned npm toolchain first when missing)."""
    ensure_node_deps()
    with AnvilNode(chain_id=ANVIL_CHAIN_ID) as node:
        yield node


@pytest.fixture(scope="session")
def anvil_url(anvil_node: AnvilNode) -> str:
    return anvil_node.url


@pytest.fixture(scope="session")
def dev_accounts() -> DevAccounts:
    accounts = [dev_account(i) for i in range(DEV_ACCOUNTS_COUNT)]
    return DevAccounts(*accounts)


@pytest.fixture(scope="session")
def evm_chain(anvil_url: str) -> Chain:
    return Chain(Web3(Web3.HTTPProvider(anvil_url)))


@pytest.fixture
def evm_snapshot(evm_chain: Chain) -> Iterator[Chain]:
    """Run the test between anvil evm_snapshot / evm_revert."""
    provider = evm_chain.w3.provider
    snapshot = provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield evm_chain
    provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
