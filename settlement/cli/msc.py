"""CLI: `msc msc deposit|issue|redeem|withdraw` and `msc reserves show|compute`.

The treasury's path to MSC against Rupiah: book a bank-statement line, issue MSC against it,
redeem MSC to a bank account, withdraw MSC to an EVM address for a holder; and the reserve
coverage. Amounts are decimal text (``15000.00``). ``--by`` is recorded as ``cli:<by>``.

Exit codes: 0 done, 1 refused (the refusal's code is printed), 2 bad usage.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import typer

from escrow.clock import SystemClock
from escrow.refusals import Refusal
from settlement.bootstrap import build_rates
from settlement.cli.database import run_in_database, run_refusing, run_work
from settlement.cli.output import (
    ByOption,
    Output,
    OutputOption,
    cli_actor,
    emit,
    record_operator,
    sen_option,
)
from settlement.config import Settings
from settlement.evm import bridge
from settlement.payouts import details
from settlement.reserves import issuance, redemption, reserve
from settlement.unit_of_work import UnitOfWork

app = typer.Typer(
    help="MSC against Rupiah: deposits, issuance, redemption, withdrawal.", no_args_is_help=True
)
reserves_app = typer.Typer(help="The reserve coverage behind MSC.", no_args_is_help=True)


def _date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()  # noqa: DTZ007 - a calendar date
    except ValueError:
        raise typer.BadParameter("a date is YYYY-MM-DD", param_hint="--value-date") from None


@app.command("deposit")
def deposit_command(
    reference: Annotated[str, typer.Option(help="The bank-statement line's reference.")],
    amount: Annotated[str, typer.Option(help="Rupiah received, e.g. 1500000.00.")],
    value_date: Annotated[str, typer.Option(help="The line's value date, YYYY-MM-DD.")],
    holder: Annotated[
        str | None, typer.Option(help="pioneer:{uid}:MSC or merchant:{id}:MSC; none: capital.")
    ] = None,
    memo: Annotated[str | None, typer.Option(help="The line's text.")] = None,
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Book Rupiah received at the bank into the reserve, once per reference."""
    record_operator("msc deposit", by)
    try:
        wanted = issuance.BankDeposit(
            reference, sen_option(amount, "--amount"), holder, _date(value_date), memo
        )
    except Refusal as refused:
        raise typer.BadParameter(f"{refused.detail} ({refused.code})") from None
    done = run_refusing(lambda uow: issuance.record_bank_deposit(uow, wanted, cli_actor(by)).view())
    emit(done, output)


@app.command("issue")
def issue_command(
    reference: Annotated[str, typer.Option(help="The booked deposit's reference.")],
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Issue MSC 1:1 to the deposit's holder, if the reserve coverage allows."""
    record_operator("msc issue", by)
    panel = build_rates(Settings(), SystemClock()).panel
    done = run_refusing(
        lambda uow: issuance.issue(
            uow, reference, cli_actor(by), reserve.reserve_price(uow, panel)
        ).view()
    )
    emit(done, output)


@app.command("redeem")
def redeem_command(
    holder: Annotated[str, typer.Option(help="pioneer:{uid}:MSC or merchant:{id}:MSC.")],
    amount: Annotated[str, typer.Option(help="MSC to redeem, e.g. 50000.00.")],
    bank_code: Annotated[str, typer.Option(help="The bank's 3-digit code.")],
    account_number: Annotated[str, typer.Option(help="The account number.")],
    account_name: Annotated[str, typer.Option(help="The account holder's name.")],
    request_id: Annotated[str, typer.Option(help="Idempotency key: the same id redeems once.")],
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Burn a holder's MSC and owe the Rupiah to the daily payout batch."""
    record_operator("msc redeem", by)
    try:
        account = details.bank_account(bank_code, account_number, account_name)
        wanted = redemption.RedemptionRequest(
            f"cli:{request_id}", holder, sen_option(amount, "--amount"), account
        )
    except Refusal as refused:
        raise typer.BadParameter(f"{refused.detail} ({refused.code})") from None
    emit(run_refusing(lambda uow: redemption.redeem(uow, wanted, cli_actor(by)).view()), output)


@app.command("withdraw")
def withdraw_command(
    holder: Annotated[str, typer.Option(help="pioneer:{uid}:MSC or merchant:{id}:MSC.")],
    to: Annotated[str, typer.Option(help="The EVM address to mint to.")],
    amount: Annotated[str, typer.Option(help="MSC to withdraw, e.g. 50000.00.")],
    request_id: Annotated[str, typer.Option(help="Idempotency key: the same id mints once.")],
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Move a holder's MSC to an EVM address: the ledger now, the mint through the outbox."""
    record_operator("msc withdraw", by)
    sen = sen_option(amount, "--amount")
    try:
        code = issuance.holder_spec(holder).code
    except Refusal as refused:
        raise typer.BadParameter(f"{refused.detail} ({refused.code})") from None
    chain_id = Settings().evm_chain_id

    def work(uow: UnitOfWork) -> dict[str, Any]:
        done = bridge.withdraw(uow, chain_id, code, to, sen, f"cli:{request_id}")
        return {
            "transfer_id": str(done.transfer_id),
            "holder": done.holder,
            "to_address": done.to_address,
            "amount_units": done.amount,
            "chain_id": chain_id,
        }

    emit(run_refusing(work), output)


@reserves_app.command("compute")
def compute_command(output: OutputOption = Output.TEXT) -> None:
    """Compute the reserve coverage now, at the rate source's price, and store it."""
    panel = build_rates(Settings(), SystemClock()).panel
    emit(
        run_work(lambda uow: reserve.compute(uow, reserve.reserve_price(uow, panel), "cli").view()),
        output,
    )


@reserves_app.command("show")
def show_command(
    limit: Annotated[int, typer.Option(min=1, max=reserve.history_page_max)] = 1,
    output: OutputOption = Output.TEXT,
) -> None:
    """The newest stored computations (newest first)."""
    found = run_in_database(lambda conn: [c.view() for c in reserve.history(conn, limit=limit)])
    emit(found, output)
