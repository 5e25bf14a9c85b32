"""CLI: `msc chain ...` (deploy, reconcile, attest, scan-deposits, node)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import typer

from chain.evm.anvil import ANVIL_CHAIN_ID
from escrow.clock import SystemClock
from settlement.bootstrap import build_evm_sender, build_rates
from settlement.cli.database import migrated_engine
from settlement.cli.errors import CommandFailed
from settlement.cli.output import ByOption, Output, OutputOption, emit, record_operator
from settlement.config import Settings
from settlement.evm.deployment import (
    DeploymentLostError,
    configured_roles,
    deploy,
    load_deployment,
)
from settlement.evm.deposits import scan_deposits
from settlement.evm.reconcile import reconcile
from settlement.logging import configure_logging
from settlement.reserves import reserve
from settlement.unit_of_work import run, unit_of_work

app = typer.Typer(help="MSC token and audit anchor on the EVM chain.", no_args_is_help=True)


def lost_contracts_message(lost: DeploymentLostError, chain_id: int, data_dir: Path) -> str:
    """What to say when a recorded contract has no code; advice only for the local anvil (whose
    contracts vanish when it restarts without its state), since on a real network it means a
    wrong RPC or chain id, never a reason to deploy again."""
    if chain_id != ANVIL_CHAIN_ID:
        return str(lost)
    return (
        f"{lost}: the local anvil was started without its state. Restart it with the state of"
        f" this database (`msc chain node` keeps it in {data_dir / 'anvil' / 'state.json'}), or"
        " start over with a new MSC_DATA_DIR (or database) for the new chain"
    )


@app.command("deploy")
def deploy_command(*, by: ByOption, output: OutputOption = Output.TEXT) -> None:
    """Deploy MSC and AuditAnchor (once), grant roles, record and print the addresses."""
    record_operator("chain deploy", by)
    settings = Settings()
    configure_logging(settings.log_level, to="stderr", secrets=settings.secret_values())
    with migrated_engine(settings) as engine:
        sender = build_evm_sender(settings, engine)
        roles = configured_roles(settings, sender.address)
        try:
            deployment = deploy(engine, sender, roles, settings.evm_minter_allowance)
        except DeploymentLostError as lost:
            message = lost_contracts_message(lost, sender.node.chain_id, settings.data_dir)
            raise CommandFailed(message) from None
    emit(
        {
            "chain_id": deployment.chain_id,
            "MadiunStableCoin": deployment.token,
            "AuditAnchor": deployment.anchor,
        },
        output,
    )


@app.command("reconcile")
def reconcile_command(output: OutputOption = Output.TEXT) -> None:
    """Check totalSupply == ledger msc:onchain (+ in flight) and reserve cap >= supply."""
    settings = Settings()
    configure_logging(settings.log_level, to="stderr", secrets=settings.secret_values())
    with migrated_engine(settings) as engine:
        sender = build_evm_sender(settings, engine)
        with unit_of_work(engine, SystemClock()) as uow:
            deployment = load_deployment(uow.conn, sender.node.chain_id)
            result = reconcile(uow, sender.node, deployment, settings.evm_scan_blocks_max)
    emit(
        {
            "total_supply": result.total_supply,
            "ledger_onchain": result.ledger_onchain,
            "minting": result.minting,
            "deposits_unbooked": result.deposits_unbooked,
            "reserve_cap": result.reserve_cap,
        },
        output,
    )
    if not result.supply_matches:
        typer.echo("MISMATCH: supply + in flight != ledger balance of msc:onchain", err=True)
    if not result.reserve_covers:
        typer.echo("MISMATCH: reserve cap below total supply", err=True)
    raise typer.Exit(0 if result.ok else 1)


@app.command("attest")
def attest_command(*, by: ByOption, output: OutputOption = Output.TEXT) -> None:
    """Compute the reserve (stored, at the rate source's price) and post it as the token's
    signed reserve attestation, its mint cap: the figure is never typed by hand."""
    from settlement.reserves.attestation import attest_reserve

    settings = Settings()
    configure_logging(settings.log_level, to="stderr", secrets=settings.secret_values())
    record_operator("chain attest", by)
    clock = SystemClock()
    with migrated_engine(settings) as engine:
        panel = build_rates(settings, clock, engine).panel
        price = run(engine, clock, lambda uow: reserve.reserve_price(uow, panel))
        done = attest_reserve(engine, clock, build_evm_sender(settings, engine), price)
    emit(
        {
            "reserve_cap": done.amount,
            "computation": done.computation.id,
            "coverage_bps": done.computation.coverage_bps,
            "timestamp": done.timestamp,
            "tx_hash": done.tx_hash,
        },
        output,
        text=lambda shown: (
            f"reserve cap {shown['reserve_cap']} sen (computation {shown['computation']})"
            f" attested at {shown['timestamp']} in {shown['tx_hash']}"
        ),
    )


@app.command("scan-deposits")
def scan_deposits_command(*, by: ByOption, output: OutputOption = Output.TEXT) -> None:
    """Credit confirmed Deposit events since the last scan (the worker does this on schedule)."""
    settings = Settings()
    configure_logging(settings.log_level, to="stderr", secrets=settings.secret_values())
    record_operator("chain scan-deposits", by)
    with migrated_engine(settings) as engine:
        sender = build_evm_sender(settings, engine)
        with unit_of_work(engine, SystemClock()) as uow:
            deployment = load_deployment(uow.conn, sender.node.chain_id)
            result = scan_deposits(
                uow,
                sender.node,
                deployment,
                settings.evm_confirmations,
                settings.evm_scan_blocks_max,
            )
    emit(
        {"from_block": result.from_block, "to_block": result.to_block, "credited": result.posted},
        output,
        text=lambda done: (
            f"blocks {done['from_block']}..{done['to_block']}: {done['credited']} deposits"
        ),
    )


@app.command("node")
def node_command() -> None:
    """Run the local anvil at MSC_EVM_RPC_URL with state persisted in data_dir/anvil."""
    import signal
    import threading

    from chain.evm.anvil import AnvilNode, ensure_node_deps

    settings = Settings()
    url = urlparse(settings.evm_rpc_url)
    ensure_node_deps()
    state_dir = settings.data_dir / "anvil"
    node = AnvilNode(
        state_file=state_dir / "state.json",
        chain_id=settings.evm_chain_id,
        log_file=state_dir / "anvil.log",
        host=url.hostname or "127.0.0.1",
        port=url.port or 8545,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with node:
        typer.echo(f"anvil on {node.url} (state {state_dir / 'state.json'}); Ctrl-C stops it")
        stop.wait()
        typer.echo("stopping anvil (it writes its state on exit)")
