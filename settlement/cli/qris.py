"""CLI: `msc qris ...` (decode, encode, ingest, expect, reconcile).

Exit codes: 0 done, 1 refused input (invalid payload, bad report line), 2 bad usage.
"""

import json
from decimal import Decimal, InvalidOperation

import typer

from chain.qris.payload import QrisError, as_dict, decode, to_dynamic

app = typer.Typer(help="QRIS: payload codec, acquirer reports, reconciliation.", no_args_is_help=True)

EXIT_REFUSED = 1
EXIT_USAGE = 2
IDR_SCALE = 2


def rupiah_to_sen(text: str) -> int:
    """Exact sen for a rupiah amount typed by an operator ("15000", "15000.50"); else usage error."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not a rupiah amount") from None
    if not value.is_finite() or value <= 0:
        raise typer.BadParameter(f"{text!r} must be a positive amount")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -IDR_SCALE:
        raise typer.BadParameter(f"{text!r} has more than {IDR_SCALE} decimals")
    return int(value.scaleb(IDR_SCALE))


def _print_json(document: object) -> None:
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


@app.command("decode")
def decode_command(payload: str = typer.Argument(..., help="The QRIS payload text.")) -> None:
    """Print the decoded payload as JSON, warnings included (exit 1 if it cannot be read)."""
    try:
        decoded = decode(payload)
    except QrisError as error:
        typer.echo(f"invalid QRIS payload: {error}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    _print_json(as_dict(decoded))


@app.command("encode")
def encode_command(
    from_static: str = typer.Option(..., "--from-static", help="The merchant's static payload."),
    amount: str = typer.Option(..., help="Amount in rupiah, e.g. 15000 or 15000.50."),
    bill: str | None = typer.Option(None, help="Bill number (62/01), e.g. the checkout reference."),
    reference: str | None = typer.Option(None, help="Reference label (62/05)."),
) -> None:
    """Print a dynamic payload for AMOUNT built from a static one (exit 1 if refused)."""
    sen = rupiah_to_sen(amount)
    try:
        conversion = to_dynamic(from_static, sen, bill_number=bill, reference_label=reference)
    except QrisError as error:
        typer.echo(f"cannot build the dynamic payload: {error}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    for deviation in conversion.deviations:
        typer.echo(f"warning: tag {deviation.tag}: {deviation.message}", err=True)
    typer.echo(conversion.payload)
