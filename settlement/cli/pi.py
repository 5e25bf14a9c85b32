"""CLI: `msc pi ...` (expect, reconcile, deposit, recover, payout, flags, decide).

Each command starts only what it needs: the database, and the Pi clients for those that ask Pi
or the Pi chain (never anvil or the HTTP service).

Exit codes: 0 done (reconcile: books agree), 1 refused or books disagree, 2 bad usage.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

import typer
from sqlalchemy import Engine

from chain.pi.amounts import to_str, to_units
from chain.pi.errors import PiInputError
from settlement.cli.database import migrated_engine, run_in_database, run_refusing, run_work
from settlement.cli.output import (
    EXIT_REFUSED,
    ByOption,
    Output,
    OutputOption,
    cli_actor,
    emit,
    record_operator,
)
from settlement.config import Settings
from settlement.decisions.record import Outcome
from settlement.pi.deps import PiDeps
from settlement.pi.errors import PiRefusal

app = typer.Typer(
    help="Pi Network: expectations, payouts, recovery, reconciliation.", no_args_is_help=True
)


def _units(amount: str) -> int:
    try:
        return to_units(amount)
    except PiInputError as exc:
        raise typer.BadParameter(f"{amount!r}: {exc}") from None


@dataclass(frozen=True)
class _PiRail:
    """The migrated database and the Pi clients: all a `msc pi` command talks to."""

    engine: Engine
    deps: PiDeps


@contextmanager
def _pi_rail() -> Iterator[_PiRail]:
    from settlement.bootstrap import build_pi, build_rates

    settings = Settings()
    with migrated_engine(settings) as engine:
        deps, _sandbox = build_pi(settings, build_rates(settings, None, engine).panel)
        yield _PiRail(engine, deps)


@app.command()
def expect(
    amount: str = typer.Option(..., help="Pi amount, at most 7 decimals, e.g. 3.1415926."),
    purpose: str = typer.Option(..., help="What the Pi is for: test, checkout, convert, lock..."),
    uid: str | None = typer.Option(None, help="Only this Pioneer (app-specific uid) may pay."),
    expires_in: int = typer.Option(600, help="Seconds the expectation stays open."),
    account: str = typer.Option("treasury:pi_suspense", help="Liability account to credit."),
    reference: str | None = typer.Option(None, help="Idempotency reference (default: random)."),
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Create a payment expectation and print the `metadata` for Pi.createPayment (starts only
    the database)."""
    from settlement.pi.accounts import credit_spec
    from settlement.pi.expectations import create_expectation, describe

    units = _units(amount)
    try:
        credit_spec(account)  # refused before the database starts
    except PiRefusal as refusal:
        typer.echo(f"refused: {refusal}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    record_operator("pi expect", by)
    try:
        exp = run_work(
            lambda uow: create_expectation(
                uow,
                purpose=purpose,
                amount_units=units,
                credit_account=account,
                payer_uid=uid,
                expires_in_s=expires_in,
                reference=reference,
            )
        )
    except PiRefusal as refusal:
        typer.echo(f"refused: {refusal}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    emit(describe(exp), output)


@app.command()
def reconcile(output: OutputOption = Output.TEXT) -> None:
    """Compare treasury:pi_custody with the app wallet's balance on chain."""
    from settlement.pi.reconcile import reconcile as run
    from settlement.unit_of_work import unit_of_work

    with _pi_rail() as rail, unit_of_work(rail.engine, rail.deps.clock) as uow:
        result = run(uow, rail.deps)
    emit(result.as_json(), output)
    if not result.ok:
        raise typer.Exit(EXIT_REFUSED)


@app.command()
def deposit(
    txid: str = typer.Option(
        ..., "--txid", "--tx", help="Hash of the transaction that moved Pi in."
    ),
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Book Pi the treasury moved into the app wallet (verified on chain, booked once)."""
    from chain.pi.ids import check_txid
    from settlement.pi.custody import book_deposit
    from settlement.unit_of_work import unit_of_work

    try:
        check_txid(txid)
    except PiInputError as exc:
        raise typer.BadParameter(str(exc), param_hint="--txid") from None
    record_operator("pi deposit", by)
    with _pi_rail() as rail:
        try:
            with unit_of_work(rail.engine, rail.deps.clock) as uow:
                booked = book_deposit(uow, rail.deps, txid, by)
        except PiRefusal as refusal:
            typer.echo(str(refusal), err=True)
            raise typer.Exit(EXIT_REFUSED) from None
    emit({**booked.__dict__, "amount": to_str(booked.amount_units)}, output)


@app.command()
def recover(*, by: ByOption, output: OutputOption = Output.TEXT) -> None:
    """Decide every incomplete A2U payment now (complete, cancel or flag)."""
    from settlement.pi.recovery import recover_a2u
    from settlement.unit_of_work import unit_of_work

    record_operator("pi recover", by)
    with _pi_rail() as rail:
        engine, clock = rail.engine, rail.deps.clock
        actions = recover_a2u(lambda: unit_of_work(engine, clock), rail.deps)
    emit([a.__dict__ for a in actions], output)


@app.command()
def payout(
    key: str = typer.Option(..., help="Idempotency key, e.g. refund:CO-1."),
    uid: str = typer.Option(..., help="The Pioneer's app-specific uid."),
    amount: str = typer.Option(..., help="Pi amount."),
    account: str = typer.Option(..., help="Liability account the payout settles."),
    memo: str = typer.Option("Madiun settlement payout", help="Shown in the Pioneer's wallet."),
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Queue an A2U payout; the worker carries it out step by step."""
    from settlement.pi.a2u import request_payout
    from settlement.unit_of_work import unit_of_work

    units = _units(amount)
    record_operator("pi payout", by)
    with _pi_rail() as rail:
        try:
            with unit_of_work(rail.engine, rail.deps.clock) as uow:
                payout_id = request_payout(
                    uow,
                    rail.deps,
                    key=key,
                    uid=uid,
                    amount_units=units,
                    memo=memo,
                    debit_account=account,
                )
        except (PiRefusal, PiInputError) as refusal:
            typer.echo(f"refused: {refusal}", err=True)
            raise typer.Exit(EXIT_REFUSED) from None
    emit({"payout_id": str(payout_id), "status": "requested"}, output)


@app.command()
def flags(output: OutputOption = Output.TEXT) -> None:
    """List payments flagged for a person."""
    from settlement.pi.flags import open_flags

    emit(run_in_database(open_flags), output)


@app.command()
def decide(
    flag_id: int = typer.Argument(..., help="The flag's id (msc pi flags)."),
    note: str = typer.Option(..., help="Why: recorded with the decision."),
    merchant: str | None = typer.Option(None, help="The merchant credited (outcome merchant)."),
    pioneer: str | None = typer.Option(None, help="The Pioneer refunded, if no payment names one."),
    amount: str | None = typer.Option(None, help="Pi decided, if not all of it."),
    *,
    outcome: Annotated[Outcome, typer.Option(help="refund, merchant, suspense or dismiss.")],
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Decide a flag and post its ledger effect; a refund is paid by A2U (exit 1 if refused)."""
    from settlement.decisions.pi import decide_pi_flag
    from settlement.decisions.record import view

    units = None if amount is None else _units(amount)
    record_operator("pi decide", by)
    actor = cli_actor(by)
    decided = run_refusing(
        lambda uow: decide_pi_flag(
            uow, flag_id, outcome, by=actor, note=note, merchant=merchant,
            pioneer=pioneer, amount_units=units,
        )
    )  # fmt: skip
    emit(view(decided), output)
