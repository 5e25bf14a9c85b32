"""The operator's command line, ``msc``."""

from __future__ import annotations

from typing import Any

import typer

from settlement.cli import (
    audit,
    backup,
    books,
    chain,
    check,
    checkout,
    conversion,
    db,
    demo,
    fund,
    health,
    ledger,
    locks,
    merchant,
    msc,
    outbox,
    payout,
    pi,
    qris,
    rates,
    serve,
    shares,
    treasury,
    worker,
)
from settlement.cli.errors import user_error
from settlement.cli.output import package_version
from settlement.logging import configure_logging


class MscCli(typer.Typer):
    """The ``msc`` entry point: an error the user caused is one line on stderr and an exit code
    (see settlement/cli/errors.py); any other error keeps its traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - click's signature
        """Run the command line."""
        try:
            return super().__call__(*args, **kwargs)
        except Exception as error:
            known = user_error(error)
            if known is None:
                raise
            line, code = known
            typer.echo(f"msc: {line}", err=True)
            raise SystemExit(code) from None


app = MscCli(help="msc-settlement: Pi, QRIS and MSC settlement for Madiun.", no_args_is_help=True)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"msc {package_version()}")
        raise typer.Exit


@app.callback()
def one_shot_logging(
    _version: bool = typer.Option(
        False,
        "--version",
        help="Print the installed msc-settlement version and exit.",
        callback=_print_version,
        is_eager=True,
    ),
) -> None:
    """Log to stderr unless the command is a service (which logs to stdout): stdout is the
    command's result."""
    configure_logging(to="stderr")


app.command("check")(check.check)
app.command("demo")(demo.demo)
app.add_typer(db.app, name="db")
app.add_typer(backup.app, name="backup")
app.add_typer(health.app, name="health")
app.add_typer(checkout.app, name="checkout")
app.add_typer(pi.app, name="pi")
app.add_typer(qris.app, name="qris")
app.add_typer(chain.app, name="chain")
app.add_typer(msc.app, name="msc")
app.add_typer(msc.reserves_app, name="reserves")
app.add_typer(fund.app, name="fund")
app.command("worker")(worker.worker)  # production worker (Celery), see settlement/worker.py
app.command("beat")(worker.beat)
app.add_typer(ledger.app, name="ledger")
app.add_typer(audit.app, name="audit")
app.add_typer(books.app, name="books")
app.add_typer(outbox.app, name="outbox")
app.add_typer(merchant.app, name="merchant")
app.add_typer(merchant.key_app, name="key")
app.add_typer(payout.app, name="payout")
app.command("serve")(serve.serve)
app.add_typer(shares.campaign_app, name="campaign")
app.add_typer(shares.share_app, name="share")
locks.register(shares.points_app)
app.add_typer(shares.points_app, name="points")
app.add_typer(locks.app, name="lock")
app.add_typer(shares.parameter_app, name="parameter")
app.add_typer(rates.rate_app, name="rate")
app.add_typer(rates.quote_app, name="quote")
app.add_typer(conversion.app, name="conversion")
app.add_typer(treasury.app, name="treasury")
