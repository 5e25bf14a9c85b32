"""``msc chain deploy``: deploy the token and the anchor once, grant roles, remember addresses."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, Engine, text

from chain.evm.abi import ANCHOR, TOKEN, encode_deploy
from chain.evm.types import TxRequest
from settlement.config import Settings
from settlement.evm import token
from settlement.evm.sender import TxSender
from settlement.unit_of_work import transaction

log = structlog.get_logger(__name__)
deploy_gas_limit = 5_000_000


class DeploymentMissingError(LookupError):
    """The contracts are not deployed on this chain yet (run ``msc chain deploy``)."""


class DeploymentLostError(RuntimeError):
    """The database names a contract address where the chain has no code (chain reset?)."""


@dataclass(frozen=True, slots=True)
class RoleHolders:
    """Addresses that receive each role; the deployer keeps admin and minter-admin."""

    admin: str
    minter: str
    pauser: str
    blocklister: str
    attester: str
    publisher: str


def configured_roles(settings: Settings, service_address: str) -> RoleHolders:
    """The role holders from configuration; each one not configured is the service key."""
    return RoleHolders(
        admin=settings.evm_admin_address or service_address,
        minter=settings.evm_minter_address or service_address,
        pauser=settings.evm_pauser_address or service_address,
        blocklister=settings.evm_blocklister_address or service_address,
        attester=settings.evm_attester_address or service_address,
        publisher=settings.evm_publisher_address or service_address,
    )


@dataclass(frozen=True, slots=True)
class Deployment:
    """Where the contracts live on one chain, and the block the token was created in."""

    chain_id: int
    token: str
    anchor: str
    token_block: int


def load_deployment(conn: Connection, chain_id: int) -> Deployment:
    """The recorded deployment of this chain; DeploymentMissingError when incomplete."""
    rows = conn.execute(
        text("SELECT contract, address, block_number FROM evm_deployments WHERE chain_id = :c"),
        {"c": chain_id},
    ).all()
    found = {str(row.contract): (str(row.address), int(row.block_number)) for row in rows}
    if TOKEN not in found or ANCHOR not in found:
        raise DeploymentMissingError(f"contracts not deployed on chain {chain_id}")
    return Deployment(chain_id, found[TOKEN][0], found[ANCHOR][0], found[TOKEN][1])


def deploy(
    engine: Engine, sender: TxSender, roles: RoleHolders, minter_allowance: int
) -> Deployment:
    """Deploy what is missing and grant what is not granted; a second run sends nothing."""
    addresses = {name: _ensure_contract(engine, sender, name) for name in (TOKEN, ANCHOR)}
    token_address, anchor_address = addresses[TOKEN], addresses[ANCHOR]
    grants = [
        (token_address, TOKEN, "MINTER_ADMIN_ROLE", sender.address),
        (token_address, TOKEN, "PAUSER_ROLE", roles.pauser),
        (token_address, TOKEN, "BLOCKLISTER_ROLE", roles.blocklister),
        (token_address, TOKEN, "ATTESTER_ROLE", roles.attester),
        (anchor_address, ANCHOR, "PUBLISHER_ROLE", roles.publisher),
        (token_address, TOKEN, "DEFAULT_ADMIN_ROLE", roles.admin),
        (anchor_address, ANCHOR, "DEFAULT_ADMIN_ROLE", roles.admin),
    ]
    for contract, name, role, account in grants:
        _ensure_role(sender, contract, name, role, account)
    if not token.has_role(sender.node, token_address, TOKEN, "MINTER_ROLE", roles.minter):
        sender.execute(
            "configure-minter",
            f"{token_address}:{roles.minter}",
            lambda: token.configure_minter_request(token_address, roles.minter, minter_allowance),
        )
    with engine.connect() as conn:
        return load_deployment(conn, sender.node.chain_id)


def _ensure_contract(engine: Engine, sender: TxSender, name: str) -> str:
    chain_id = sender.node.chain_id
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT address FROM evm_deployments WHERE chain_id = :c AND contract = :n"),
            {"c": chain_id, "n": name},
        ).first()
    if row is not None:
        address = str(row.address)
        if not sender.node.has_code(address):
            raise DeploymentLostError(
                f"{name} recorded at {address} but chain {chain_id} has no code"
            )
        return address
    receipt = sender.execute(
        "deploy",
        name,
        lambda: TxRequest(
            to=None, data=encode_deploy(name, [sender.address]), gas_limit=deploy_gas_limit
        ),
    )
    if receipt.contract_address is None:
        raise DeploymentLostError(f"deployment of {name} in {receipt.tx_hash} created no contract")
    with transaction(engine) as conn:
        conn.execute(
            text(
                "INSERT INTO evm_deployments (chain_id, contract, address, tx_hash, block_number)"
                " VALUES (:c, :n, :a, :h, :b) ON CONFLICT (chain_id, contract) DO NOTHING"
            ),
            {
                "c": chain_id,
                "n": name,
                "a": receipt.contract_address,
                "h": receipt.tx_hash,
                "b": receipt.block_number,
            },
        )
    log.info("evm_contract_deployed", contract=name, address=receipt.contract_address)
    return receipt.contract_address


def _ensure_role(sender: TxSender, contract: str, name: str, role: str, account: str) -> None:
    if token.has_role(sender.node, contract, name, role, account):
        return
    sender.execute(
        "grant",
        f"{contract}:{role}:{account}",
        lambda: token.grant_role_request(contract, name, role, account),
    )
