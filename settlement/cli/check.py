"""CLI: `msc check`: every invariant of the books, one line each; exit 0 only when all hold.

Exit codes: 0 every check held (skipped ones named), 1 a check failed, 2 bad usage.
"""

from __future__ import annotations

import typer
from sqlalchemy import Engine

from escrow.clock import SystemClock
from settlement.check.model import CheckResult, skipped
from settlement.check.runner import CheckPolicy, RailCheck, run_checks
from settlement.cli.database import migrated_engine
from settlement.cli.output import EXIT_REFUSED, Output, OutputOption, emit
from settlement.config import Settings
from settlement.logging import configure_logging
from settlement.telemetry import CHECK_FAILURES, set_gauge
from settlement.unit_of_work import transaction


def check(
    offline: bool = typer.Option(
        False, "--offline", help="Skip the checks that ask the Pi chain and the EVM node."
    ),
    output: OutputOption = Output.TEXT,
) -> None:
    """Check double entry, account flags, running totals, closed months, reserve coverage,
    escrow holds, paid expectations, the outbox, Pi custody and the on-chain MSC supply."""
    settings = Settings()
    configure_logging(settings.log_level, to="stderr", secrets=settings.secret_values())
    policy = CheckPolicy(
        outbox_lag_max_s=settings.check_outbox_lag_max_s,
        pseudonym_key=settings.pseudonym_key.get_secret_value().encode("utf-8"),
    )
    with migrated_engine(settings) as engine:
        rails = [] if offline else _rail_checks(settings, engine)
        results = run_checks(engine, SystemClock(), policy, rails)
        failures = sum(1 for result in results if result.failed)
        with transaction(engine) as conn:  # the alert rule MscCheckFailing reads it
            set_gauge(conn, CHECK_FAILURES, failures)
    if offline:
        results += [skipped(name, "--offline") for name in ("pi_custody", "msc_onchain")]
    _print(results, output)
    if any(result.failed for result in results):
        raise typer.Exit(EXIT_REFUSED)


def _print(results: list[CheckResult], output: Output) -> None:
    if output is Output.JSON:
        emit({"ok": not any(r.failed for r in results), "checks": [r.view() for r in results]},
             output)  # fmt: skip
        return
    width = max(len(result.name) for result in results)
    for result in results:
        typer.echo(f"{result.outcome.upper():<7} {result.name:<{width}}  {result.detail}")


def _rail_checks(settings: Settings, engine: Engine) -> list[tuple[str, RailCheck]]:
    """The Pi custody and on-chain supply checks, each opening its rail when it runs."""
    return [
        ("pi_custody", lambda: _pi_custody(settings, engine)),
        ("msc_onchain", lambda: _msc_onchain(settings, engine)),
    ]


def _pi_custody(settings: Settings, engine: Engine) -> CheckResult:
    from settlement.bootstrap import build_pi, build_rates
    from settlement.check.rail_checks import pi_custody
    from settlement.pi.reconcile import reconcile
    from settlement.unit_of_work import unit_of_work

    deps, _sandbox = build_pi(settings, build_rates(settings, None, engine).panel)
    with unit_of_work(engine, deps.clock) as uow:
        return pi_custody(reconcile(uow, deps))


def _msc_onchain(settings: Settings, engine: Engine) -> CheckResult:
    from settlement.bootstrap import build_evm_sender
    from settlement.check.rail_checks import msc_onchain
    from settlement.evm.deployment import load_deployment
    from settlement.evm.reconcile import reconcile
    from settlement.unit_of_work import unit_of_work

    sender = build_evm_sender(settings, engine)
    with unit_of_work(engine, SystemClock()) as uow:
        deployment = load_deployment(uow.conn, sender.node.chain_id)
        return msc_onchain(reconcile(uow, sender.node, deployment, settings.evm_scan_blocks_max))
