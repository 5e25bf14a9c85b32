"""CLI: `msc pi ...` (expect, reconcile, deposit, recover, payout, flags).

Exit codes: 0 done (reconcile: books agree), 1 refused or books disagree, 2 bad usage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from chain.pi.amounts import to_str, to_units
from chain.pi.errors import PiInputError
from settlement.bootstrap import Container
from settlement.config import Settings
from settlement.pi.deps import PiDeps
from settlement.pi.errors import PiRefusal

app = typer.Typer(
    help="Pi Network: expectations, payouts, recovery, reconciliation.", no_args_is_help=True
)

EXIT_REFUSED = 1


def _units(amount: str) -> int:
    try:
        return to_units(amount)
    except PiInputError as exc:
        raise typer.BadParameter(f"{amount!r}: {exc}") from None


@contextmanager
def _container() -> Iterator[Container]:
    from settlement.service import running_container

    with running_container(Settings(), in_process_worker=False, create_database=False) as container:
        yield container


def _deps(container: Container) -> PiDeps:
    deps = container.pi
    if deps is None:
        typer.echo("the Pi rail is not configured", err=True)
        raise typer.Exit(EXIT_REFUSED)
    return deps


def _print(obj: object) -> None:
    typer.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


@app.command()
def expect(
    amount: str = typer.Option(..., help="Pi amount, at most 7 decimals, e.g. 3.1415926."),
    purpose: str = typer.Option(..., help="What the Pi is for: test, checkout, convert, lock..."),
    uid: str | None = typer.Option(None, help="Only this Pioneer (app-specific uid) may pay."),
    expires_in: int = typer.Option(600, help="Seconds the expectation stays open."),
    account: str = typer.Option("treasury:pi_suspense", help="Liability account to credit."),
    reference: str | None = typer.Option(None, help="Idempotency reference (default: random)."),
) -> None:
    """Create a payment expectation and print the `metadata` for Pi.createPayment."""
    from settlement.pi.accounts import credit_spec
    from settlement.pi.expectations import create_expectation, describe

    units = _units(amount)
    try:
        credit_spec(account)  # refused before the service starts
    except PiRefusal as refusal:
        typer.echo(f"refused: {refusal}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    with _container() as container:
        try:
            with container.engine.begin() as conn:
                exp = create_expectation(
                    conn,
                    purpose=purpose,
                    amount_units=units,
                    credit_account=account,
                    now=time.time(),
                    payer_uid=uid,
                    expires_in_s=expires_in,
                    reference=reference,
                )
        except PiRefusal as refusal:
            typer.echo(f"refused: {refusal}", err=True)
            raise typer.Exit(EXIT_REFUSED) from None
    _print(describe(exp))


@app.command()
def reconcile() -> None:
    """Compare treasury:pi_custody with the app wallet's balance on chain."""
    from settlement.pi.reconcile import reconcile as run

    with _container() as container, container.engine.begin() as conn:
        result = run(conn, _deps(container))
    _print(result.as_json())
    if not result.ok:
        raise typer.Exit(EXIT_REFUSED)


@app.command()
def deposit(
    tx: str = typer.Option(..., "--tx", help="Hash of the transaction that moved Pi in."),
    by: str = typer.Option(..., "--by", help="Who books it (recorded with the deposit)."),
) -> None:
    """Book Pi the treasury moved into the app wallet (verified on chain, booked once)."""
    from chain.pi.ids import check_txid
    from escrow.clock import SystemClock
    from settlement.pi.custody import book_deposit
    from settlement.unit_of_work import unit_of_work

    try:
        check_txid(tx)
    except PiInputError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tx") from None
    with _container() as container:
        deps = _deps(container)
        try:
            with unit_of_work(container.engine, SystemClock()) as uow:
                booked = book_deposit(uow, deps, tx, by)
        except PiRefusal as refusal:
            typer.echo(str(refusal), err=True)
            raise typer.Exit(EXIT_REFUSED) from None
    _print({**booked.__dict__, "amount": to_str(booked.amount_units)})


@app.command()
def recover() -> None:
    """Decide every incomplete A2U payment now (complete, cancel or flag)."""
    from settlement.pi.recovery import recover_a2u

    with _container() as container:
        actions = recover_a2u(container.engine.begin, _deps(container))
    _print([a.__dict__ for a in actions])


@app.command()
def payout(
    key: str = typer.Option(..., help="Idempotency key, e.g. refund:CO-1."),
    uid: str = typer.Option(..., help="The Pioneer's app-specific uid."),
    amount: str = typer.Option(..., help="Pi amount."),
    account: str = typer.Option(..., help="Liability account the payout settles."),
    memo: str = typer.Option("Madiun settlement payout", help="Shown in the Pioneer's wallet."),
) -> None:
    """Queue an A2U payout; the worker carries it out step by step."""
    from settlement.pi.a2u import request_payout

    units = _units(amount)
    with _container() as container:
        try:
            with container.engine.begin() as conn:
                payout_id = request_payout(
                    conn,
                    _deps(container),
                    key=key,
                    uid=uid,
                    amount_units=units,
                    memo=memo,
                    debit_account=account,
                )
        except (PiRefusal, PiInputError) as refusal:
            typer.echo(f"refused: {refusal}", err=True)
            raise typer.Exit(EXIT_REFUSED) from None
    _print({"payout_id": str(payout_id), "status": "requested"})


@app.command()
def flags() -> None:
    """List payments flagged for a person."""
    from settlement.pi.flags import open_flags

    with _container() as container, container.engine.begin() as conn:
        _print(open_flags(conn))
