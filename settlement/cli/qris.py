"""CLI: `msc qris ...` (decode, encode, ingest, expect, reconcile, exceptions, decide).

Exit codes: 0 done, 1 refused input (invalid payload, bad report line), 2 bad usage.
"""

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from chain.qris.payload import Payload, QrisError, as_dict, decode, to_dynamic
from chain.qris.reports import ReportError, ReportFormat, load_formats
from escrow.calendar import US_PER_S
from escrow.clock import SystemClock
from escrow.money import IDR, AmountRefused, parse_amount
from settlement.cli.database import migrated_engine, run_refusing
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
from settlement.decisions.qris import decide_qris_exception
from settlement.decisions.record import Outcome, view
from settlement.payouts.details import bank_account
from settlement.qris.exceptions import list_exceptions
from settlement.qris.expectations import ExpectationRefused, create_expectation
from settlement.qris.ingest import ingest_report
from settlement.qris.reconcile import reconcile_day
from settlement.unit_of_work import unit_of_work

DEFAULT_FORMATS_FILE = Path(__file__).resolve().parents[1] / "qris" / "report_formats.json"

app = typer.Typer(
    help="QRIS: payload codec, acquirer reports, reconciliation.", no_args_is_help=True
)

EXIT_USAGE = 2


def rupiah_to_sen(text: str) -> int:
    """Exact sen for a rupiah amount an operator typed ("15000", "15000.50"), else a usage error."""
    try:
        return parse_amount(text, IDR.scale)
    except AmountRefused as refused:
        raise typer.BadParameter(f"{refused} ({refused.code})") from None


@app.command("decode")
def decode_command(
    payload: str = typer.Argument(..., help="The QRIS payload text."),
    output: OutputOption = Output.TEXT,
) -> None:
    """Print the decoded payload, warnings included (exit 1 if it cannot be read)."""
    try:
        decoded = decode(payload)
    except QrisError as error:
        typer.echo(f"invalid QRIS payload: {error}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    emit(as_dict(decoded), output)


@app.command("encode")
def encode_command(
    static: str = typer.Option(..., "--static", help="The merchant's static payload."),
    amount: str = typer.Option(..., help="Amount in rupiah, e.g. 15000 or 15000.50."),
    bill: str | None = typer.Option(None, help="Bill number (62/01), e.g. the checkout reference."),
    reference: str | None = typer.Option(None, help="Reference label (62/05)."),
    output: OutputOption = Output.TEXT,
) -> None:
    """Print a dynamic payload for --amount built from a static one (exit 1 if refused)."""
    sen = rupiah_to_sen(amount)
    try:
        conversion = to_dynamic(static, sen, bill_number=bill, reference_label=reference)
    except QrisError as error:
        typer.echo(f"cannot build the dynamic payload: {error}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    for deviation in conversion.deviations:
        typer.echo(f"warning: tag {deviation.tag}: {deviation.message}", err=True)
    deviations = [{"tag": d.tag, "message": d.message} for d in conversion.deviations]
    result = {"payload": conversion.payload, "deviations": deviations}
    emit(result, output, text=lambda done: str(done["payload"]))


def _formats(settings: Settings) -> dict[str, ReportFormat]:
    path = settings.qris_report_formats_file or DEFAULT_FORMATS_FILE
    try:
        return load_formats(path)
    except ReportError as error:
        typer.echo(f"report formats: {error}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


@app.command("ingest")
def ingest_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Acquirer CSV report.")],
    format_name: str = typer.Option(..., "--format", help="Report format name (configuration)."),
    output: OutputOption = Output.TEXT,
) -> None:
    """Store an acquirer report, streamed; all lines or none (exit 1 on the first bad line)."""
    settings = Settings()
    with migrated_engine(settings) as engine:
        formats = _formats(settings)
        if format_name not in formats:
            typer.echo(f"unknown format {format_name!r}; known: {sorted(formats)}", err=True)
            raise typer.Exit(EXIT_USAGE)
        show_bar = sys.stderr.isatty()
        with tqdm(total=file.stat().st_size, unit="B", unit_scale=True, disable=not show_bar,
                  desc=file.name) as bar:  # fmt: skip

            def progress(done: int) -> None:
                bar.update(done - bar.n)

            try:
                with unit_of_work(engine, SystemClock()) as uow:
                    result = ingest_report(uow, file, formats[format_name], progress)
            except ReportError as error:
                typer.echo(f"{file.name}: {error} (nothing stored)", err=True)
                raise typer.Exit(EXIT_REFUSED) from None
    emit({"file": str(file), "lines": result.lines, "new": result.inserted}, output)


@app.command("expect")
def expect_command(
    amount: str = typer.Option(..., help="Amount in rupiah, e.g. 15000."),
    nmid: str | None = typer.Option(None, help="NMID of the receiving merchant."),
    bill: str | None = typer.Option(None, help="Bill number / reference (dynamic QRIS)."),
    static: str | None = typer.Option(None, help="Merchant's static QRIS: prints the dynamic one."),
    criteria: str | None = typer.Option(None, help="Merchant criteria UMI/UKE/UME/UBE/URE."),
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Record an expected QRIS payment and print it (with the dynamic payload to show)."""
    sen = rupiah_to_sen(amount)
    record_operator("qris expect", by)
    source = _static_payload(static) if static else None
    nmid = nmid or (source.nmid if source else None)
    if not nmid or (source is not None and source.nmid not in (None, nmid)):
        raise typer.BadParameter("give --nmid, or a --static payload with the same NMID")
    dynamic = None
    if static is not None:
        try:
            dynamic = to_dynamic(static, sen, bill_number=bill, reference_label=bill).payload
        except QrisError as error:
            typer.echo(f"cannot build the dynamic payload: {error}", err=True)
            raise typer.Exit(EXIT_REFUSED) from None
    settings = Settings()
    with migrated_engine(settings) as engine:
        try:
            with unit_of_work(engine, SystemClock()) as uow:
                expectation = create_expectation(
                    uow, nmid=nmid, amount_sen=sen,
                    ttl_us=settings.qris_expectation_ttl_s * US_PER_S, reference=bill,
                    criteria=criteria or (source.criteria if source else None) or "UMI",
                )  # fmt: skip
        except ExpectationRefused as error:
            typer.echo(f"expectation refused: {error}", err=True)
            raise typer.Exit(EXIT_REFUSED) from None
    emit(
        {"id": str(expectation.id), "nmid": nmid, "amount_sen": sen, "reference": bill,
         "credit_account": expectation.credit_account,
         "expires_at": expectation.expires_at.isoformat(), "payload": dynamic},
        output,
    )  # fmt: skip


def _static_payload(text: str) -> Payload:
    try:
        return decode(text)
    except QrisError as error:
        typer.echo(f"invalid static QRIS payload: {error}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None


@app.command("reconcile")
def reconcile_command(
    on: str = typer.Option(..., "--date", help="Business day (WIB), YYYY-MM-DD."),
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Reconcile one day, posting the matched receipts, and print its exceptions report (exit 0
    even with exceptions)."""
    try:
        day = date.fromisoformat(on)
    except ValueError:
        raise typer.BadParameter(f"{on!r} is not YYYY-MM-DD") from None
    record_operator("qris reconcile", by)
    settings = Settings()
    with migrated_engine(settings) as engine:
        with unit_of_work(engine, SystemClock()) as uow:
            summary = reconcile_day(
                uow, day, expectation_ttl_max_us=settings.qris_expectation_ttl_s * US_PER_S
            )
        with unit_of_work(engine, SystemClock()) as uow:
            items = list_exceptions(uow, day)
    emit(
        {"date": day.isoformat(), "lines": summary.lines, "matched": summary.matched,
         "confirmed": summary.confirmed, "postings": summary.postings, "exceptions": items},
        output,
    )  # fmt: skip


@app.command("decide")
def decide_command(
    exception_id: int = typer.Argument(..., help="The exception's id (msc qris exceptions)."),
    note: str = typer.Option(..., help="Why: recorded with the decision."),
    merchant: str | None = typer.Option(None, help="The merchant credited (outcome merchant)."),
    amount: str | None = typer.Option(None, help="Rupiah decided, if not all of it."),
    bank_code: str | None = typer.Option(None, help="A refund: the payer's bank code (014)."),
    account_number: str | None = typer.Option(None, help="A refund: the payer's account."),
    holder_name: str | None = typer.Option(None, help="A refund: the account holder's name."),
    *,
    outcome: Annotated[Outcome, typer.Option(help="refund, merchant, suspense or dismiss.")],
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Decide a reconciliation exception and post its ledger effect (exit 1 if refused)."""
    sen = None if amount is None else rupiah_to_sen(amount)
    payer = None
    if bank_code and account_number and holder_name:
        payer = bank_account(bank_code, account_number, holder_name)
    elif bank_code or account_number or holder_name:
        raise typer.BadParameter("a bank account is --bank-code, --account-number, --holder-name")
    record_operator("qris decide", by)
    actor = cli_actor(by)
    decided = run_refusing(
        lambda uow: decide_qris_exception(
            uow, exception_id, outcome, by=actor, note=note, merchant=merchant,
            amount_units=sen, payer_account=payer,
        )
    )  # fmt: skip
    emit(view(decided), output)
