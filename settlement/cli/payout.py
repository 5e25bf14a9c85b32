"""CLI: ``msc payout cut|file|confirm|list|show|details|refund-account`` (decision 0023).

The treasury's daily bank batch: cut the day once its WIB cut-off passed, write its transfer file
(the same bytes every time), ingest the bank's confirmation file (streamed: any size), and record
where payouts go. ``--by`` is recorded as ``cli:<by>``. Exit codes: 0 done, 1 refused (the
refusal's code is printed), 2 bad usage.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from escrow.clock import SystemClock
from settlement.cli.database import migrated_engine, run_in_database, run_work
from settlement.cli.output import ByOption, Output, OutputOption, cli_actor, emit, record_operator
from settlement.config import Settings
from settlement.payouts import details, service, store
from settlement.unit_of_work import UnitOfWork, run, transaction

app = typer.Typer(help="The daily payout batch to the bank.", no_args_is_help=True)


@app.command("cut")
def cut_command(
    day: Annotated[
        str | None, typer.Option(help="Business day YYYY-MM-DD (WIB); today when left out.")
    ] = None,
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Cut the day's batch: hold every due line's money, pay Pi merchants by A2U."""
    from settlement.bootstrap import build_pi

    record_operator("payout cut", by)
    actor = cli_actor(by)
    wanted = _day(day)
    settings = Settings()
    pi, _sandbox = build_pi(settings)
    policy = service.policy(settings)
    with migrated_engine(settings) as engine:
        result = run(engine, SystemClock(), lambda uow: service.cut(uow, wanted, policy, actor, pi))
    batch = result.batch.view() if result.batch is not None else None
    emit({"batch": batch, "pi_payouts": result.pi_payouts, "written": result.written}, output)


@app.command("file")
def file_command(
    batch_id: Annotated[str, typer.Argument(help="The batch, e.g. PO20261201.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the file.")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Write the batch's bank transfer file (the same bytes every time) and print its figures."""
    written = 0
    with migrated_engine(Settings()) as engine:
        with out.open("wb") as sink:
            for chunk in service.stream_file(engine, batch_id):
                written += sink.write(chunk)
        with transaction(engine) as conn:
            batch = store.get(conn, batch_id)
    emit(
        {"batch": batch.id, "file": str(out), "bytes": written, "line_count": batch.line_count,
         "total": batch.view()["total"], "file_sha256": batch.file_sha256},
        output,
    )  # fmt: skip


@app.command("confirm")
def confirm_command(
    path: Annotated[Path, typer.Argument(help="The bank's confirmation file.", exists=True)],
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Ingest the bank's confirmation: accepted lines leave, rejected lines return."""
    record_operator("payout confirm", by)
    actor = cli_actor(by)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        with path.open("rb") as stream:
            done = service.confirm(uow, stream, actor)
        return {"batch": done.batch.view(), "applied": done.applied}

    emit(run_work(work), output)


@app.command("list")
def list_command(
    before: Annotated[str, typer.Option(help="The last id of the previous page.")] = "",
    limit: Annotated[
        int, typer.Option(min=1, max=store.batches_page_max, help="At most this many.")
    ] = store.batches_page_max,
    output: OutputOption = Output.TEXT,
) -> None:
    """Print batches, newest first."""
    found = run_in_database(lambda conn: store.page(conn, before, limit))
    emit([batch.view() for batch in found], output)


@app.command("show")
def show_command(
    batch_id: Annotated[str, typer.Argument(help="The batch, e.g. PO20261201.")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Print one batch."""
    emit(run_in_database(lambda conn: store.get(conn, batch_id)).view(), output)


@app.command("details")
def details_command(
    merchant_id: Annotated[str, typer.Argument(help="Merchant id.")],
    bank_code: Annotated[str | None, typer.Option(help="Bank code, e.g. 014.")] = None,
    account_number: Annotated[str | None, typer.Option(help="Account number.")] = None,
    holder_name: Annotated[str | None, typer.Option(help="Account holder's name.")] = None,
    pi_uid: Annotated[str | None, typer.Option(help="Pi uid to pay kept Pi to (A2U).")] = None,
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Set where a merchant is paid, whole (an option left out clears its detail)."""
    record_operator("payout details", by)
    actor = cli_actor(by)
    fields = (bank_code, account_number, holder_name)
    if any(field is not None for field in fields) and None in fields:
        raise typer.BadParameter(
            "a bank account needs --bank-code, --account-number, --holder-name"
        )

    def work(uow: UnitOfWork) -> dict[str, Any]:
        bank = details.bank_account(*fields) if None not in fields else None  # type: ignore[arg-type]
        return details.set_merchant_details(uow, merchant_id, bank, pi_uid, actor)

    emit(run_work(work), output)


@app.command("refund-account")
def refund_account_command(
    refund_id: Annotated[uuid.UUID, typer.Argument(help="The refund's id (its transfer id).")],
    bank_code: Annotated[str, typer.Option(help="Bank code, e.g. 014.")],
    account_number: Annotated[str, typer.Option(help="Account number.")],
    holder_name: Annotated[str, typer.Option(help="Account holder's name.")],
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Record the bank account an owed QRIS refund is paid to."""
    record_operator("payout refund-account", by)
    bank = (bank_code, account_number, holder_name)
    emit(
        run_work(
            lambda uow: details.set_refund_account(uow, refund_id, details.bank_account(*bank))
        ),
        output,
    )


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("YYYY-MM-DD", param_hint="--day") from None
